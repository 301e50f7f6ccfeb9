"""``./dev failover --to <dr> --promote-database``: once the switch is verified, the DR replica becomes
the primary's database, through DR's endpoints only, after a yes; timed, and safe to run again.

moto: RDS (with time and the promotion's end laid over it), DynamoDB, CloudWatch, STS. Stubber:
Lambda, and DR's Secrets Manager (no StopReplicationToReplica in moto 5.2.5). Fakes: health
routes, DNS, clock (tests/ops/failover_world.py, tests/ops/database_world.py).
"""

from __future__ import annotations

import pytest

from dr_ops.aws import AwsClients
from tests.ops.database_world import Call, DatabaseWorld
from tests.ops.failover_world import DR, NAMES, PRIMARY, SERVERS, World

REPLICA = NAMES.database_replica  # dev-us-west-2-orders-db-replica-v1
SECRET = NAMES.database_secret  # dev-us-east-1-orders-db-admin-v1
SOURCE = f"arn:aws:rds:{PRIMARY}:123456789012:db:{NAMES.database_instance}"
PROMOTE = ("failover", "--to", DR, "--promote-database")


@pytest.fixture
def world(aws: AwsClients) -> DatabaseWorld:
    """Before a failover: the primary's PostgreSQL, replicated to DR; promotion takes 120 s."""
    world = DatabaseWorld(aws)
    world.replicating()
    return world


def test_the_dr_replica_is_promoted_through_the_dr_region_once_dns_answers_it(world: DatabaseWorld) -> None:
    # Given a healthy world and a replica in DR
    # When the operator fails over to DR with --promote-database --yes
    code = world.run(*PROMOTE, "--yes")

    # Then PromoteReadReplica went to DR's RDS for the replica, and nothing went to the primary's
    assert world.called("PromoteReadReplica") == [
        Call(DR, "PromoteReadReplica", {"DBInstanceIdentifier": REPLICA})
    ]
    assert {call.region for call in world.calls} == {DR}
    # and only after every name server answered DR
    assert world.out.index("(40.0 s after the write)") < world.out.index("PromoteReadReplica")
    assert code == 0


def test_the_dr_copy_of_the_secret_is_made_standalone_in_the_dr_region(world: DatabaseWorld) -> None:
    # Given DR's copy of the admin secret, a replica of the primary's
    # When the operator fails over to DR with --promote-database --yes
    world.run(*PROMOTE, "--yes")

    # Then StopReplicationToReplica went to DR's Secrets Manager, after the instance's promotion
    operations = [call.operation for call in world.calls if call.operation != "DescribeDBInstances"]
    assert operations == ["DescribeSecret", "PromoteReadReplica", "StopReplicationToReplica"]
    assert world.called("StopReplicationToReplica") == [
        Call(DR, "StopReplicationToReplica", {"SecretId": SECRET})
    ]
    assert f"StopReplicationToReplica {SECRET} through {DR}: standalone" in world.out


def test_a_promotion_is_timed_until_the_instance_is_available_and_standalone(world: DatabaseWorld) -> None:
    # Given a promotion RDS finishes 120 s after PromoteReadReplica, read every 15 s
    # When the operator fails over to DR with --promote-database --yes
    world.run(*PROMOTE, "--yes")

    # Then the report times the promotion after the switch's rows, and the total includes it
    assert world.report() == [
        ["checks", "0.2", "10 pass"],
        ["write via us-west-2", "0.0", "done"],
        ["write via us-east-1 (best effort)", "-", "landed"],
        ["first server answers us-west-2 (since write)", "30.0", SERVERS[0]],
        ["every server answers us-west-2 (since write)", "40.0", "4/4 us-west-2"],
        ["PromoteReadReplica via us-west-2", "0.0", "accepted"],
        ["StopReplicationToReplica via us-west-2", "0.0", "standalone"],
        [f"{REPLICA} available, standalone (since PromoteReadReplica)", "120.0", "available, standalone"],
        ["total", "160.2", "switched to us-west-2, database promoted"],
    ]
    assert world.clock.slept[-8:] == [15.0] * 8
    assert world.lines("RDS") == [
        f"RDS      {REPLICA}: modifying, a read replica (0.0 s after PromoteReadReplica)",
        f"RDS      {REPLICA}: available, standalone (120.0 s after PromoteReadReplica)",
    ]


def test_the_promotion_is_asked_for_at_the_terminal(world: DatabaseWorld) -> None:
    # Given a person at the terminal who answers yes
    questions: list[str] = []

    def yes(question: str) -> bool:
        questions.append(question)
        return True

    world.confirm = yes

    # When the operator fails over to DR with --promote-database (no --yes)
    code = world.run(*PROMOTE)

    # Then the person was asked once, after the switch, naming both promotions and that it is for good
    assert questions == [
        f"Traffic is on {DR}: promote {REPLICA} (available, a read replica of {SOURCE}) to a standalone "
        f"instance and make {DR}'s copy of {SECRET} standalone (a replica of {PRIMARY}'s)? This cannot be "
        f"undone: {NAMES.database_instance} stops being its source."
    ]
    assert len(world.called("PromoteReadReplica")) == 1
    assert code == 0


def test_a_promotion_declined_at_the_prompt_leaves_the_replica_and_exits_6(world: DatabaseWorld) -> None:
    # Given a person at the terminal who answers no
    world.confirm = lambda _question: False

    # When the operator fails over to DR with --promote-database
    code = world.run(*PROMOTE)

    # Then traffic moved (the primary is fenced), nothing was promoted, and the exit code says so
    assert world.fence(PRIMARY, via=DR) is not None
    assert world.called("PromoteReadReplica") == []
    assert world.called("StopReplicationToReplica") == []
    assert (
        f"failover: traffic is on {DR}, but the promotion is not done: declined at the prompt. To finish it, "
        f"run ./dev failover --to {DR} --promote-database again" in world.out
    )
    assert world.report()[-2:] == [
        ["promote database", "-", "declined"],
        ["total", "40.2", f"switched to {DR}, database not promoted"],
    ]
    assert code == 6


def test_nothing_is_promoted_when_dns_does_not_answer_dr_in_time(world: DatabaseWorld) -> None:
    # Given one authoritative server that never answers DR, and a person who must not be asked
    world.delays[SERVERS[3]] = None
    world.confirm = lambda _question: pytest.fail("asked to promote although DNS did not move")

    # When the operator fails over to DR with --promote-database, waiting 60 s for DNS
    code = world.run(*PROMOTE, "--timeout", "60")

    # Then the replica was left as it is: the old primary's writers may not have stopped yet
    assert world.called("PromoteReadReplica") == []
    assert (
        "failover: the database was not promoted: PostgreSQL moves only once every name server answers"
        in (world.out)
    )
    assert ["promote database", "-", "not attempted: DNS not verified"] in world.report()
    assert code == 5


def test_a_promotion_not_finished_in_time_exits_7(world: DatabaseWorld) -> None:
    # Given a promotion that does not finish
    world.promotion_seconds = None

    # When the operator fails over to DR with --promote-database --yes, waiting 60 s for it
    code = world.run(*PROMOTE, "--yes", "--promote-timeout", "60")

    # Then it read the instance every 15 s until 60 s had passed, and says RDS goes on by itself
    assert world.clock.slept[-5:] == [5.0, 15.0, 15.0, 15.0, 15.0]
    assert world.report()[-2:] == [
        [
            f"{REPLICA} available, standalone (since PromoteReadReplica)",
            "-",
            "not after 60 s: modifying, a read replica",
        ],
        ["total", "100.2", f"switched to {DR}, promotion not finished in 60 s"],
    ]
    assert "RDS goes on by itself; until it is done the database takes no writes" in world.out
    assert code == 7


def test_a_refused_promote_call_exits_6_and_leaves_the_secret(world: DatabaseWorld) -> None:
    # Given DR's RDS refusing PromoteReadReplica
    world.refuse["PromoteReadReplica"] = "InvalidDBInstanceState"

    # When the operator fails over to DR with --promote-database --yes
    code = world.run(*PROMOTE, "--yes")

    # Then the report says the call failed, the secret was not touched, and the exit code is 6
    assert [
        "PromoteReadReplica via us-west-2",
        "0.0",
        "failed: InvalidDBInstanceState: refused by the test",
    ] in world.report()
    assert f"it is still available, a read replica of {SOURCE}" in world.out
    assert world.called("StopReplicationToReplica") == []
    assert code == 6


def test_a_refused_secret_promotion_exits_6_with_the_instance_promoted(world: DatabaseWorld) -> None:
    # Given DR's Secrets Manager refusing StopReplicationToReplica
    world.secret_refusal = "InternalServiceError"

    # When the operator fails over to DR with --promote-database --yes
    code = world.run(*PROMOTE, "--yes")

    # Then the instance was promoted and waited for, and the run says the secret is still a replica
    assert [
        f"{REPLICA} available, standalone (since PromoteReadReplica)",
        "120.0",
        "available, standalone",
    ] in (world.report())
    assert f"{REPLICA} is promoted, but StopReplicationToReplica of {SECRET} failed" in world.out
    assert world.report()[-1] == [
        "total",
        "160.2",
        f"switched to {DR}, database promoted, secret still a replica",
    ]
    assert code == 6


def test_a_promoting_dry_run_checks_the_replica_and_promotes_nothing(world: DatabaseWorld) -> None:
    # Given a person at the terminal who must not be asked
    world.confirm = lambda _question: pytest.fail("a dry run asked")

    # When the operator asks for a dry run with --promote-database
    code = world.run(*PROMOTE, "--dry-run")

    # Then the replica was checked, and the run says what a real one would do, and did none of it
    assert world.line("db replica") == (
        f"PASS     db replica       {REPLICA} in {DR}: available, a read replica of {SOURCE}"
    )
    assert (
        f"failover: dry run: once every name server answers {DR}, it would ask, then PromoteReadReplica "
        f"{REPLICA} and StopReplicationToReplica {SECRET} through {DR}, and wait up to 1800 s" in world.out
    )
    assert [call.operation for call in world.calls] == ["DescribeDBInstances"]
    assert code == 0


def test_a_missing_dr_replica_stops_a_promoting_failover_before_any_write(aws: AwsClients) -> None:
    # Given no replica in DR
    world = DatabaseWorld(aws)

    # When the operator fails over to DR with --promote-database --yes, even with --force
    code = world.run(*PROMOTE, "--yes", "--force")

    # Then the check fails, nothing is written, and the exit code is 1
    assert world.line("db replica") == (
        f"FAIL     db replica       no {REPLICA} in {DR} -- deploy its stack first, or fail over without "
        "--promote-database"
    )
    assert world.fence(PRIMARY, via=DR) is None
    assert code == 1


def test_a_second_run_after_a_promotion_promotes_nothing_again(world: DatabaseWorld) -> None:
    # Given a failover that promoted the replica and the secret
    world.run(*PROMOTE, "--yes")
    world.secret_standalone = True

    # When the operator runs it again
    code = world.run(*PROMOTE, "--yes")

    # Then the check saw the promotion, the second run promoted nothing, and it exits 0
    assert (
        f"PASS     db replica       {REPLICA} in {DR}: available, standalone (promoted before)" in world.out
    )
    assert f"failover: {REPLICA} and {SECRET} in {DR} are standalone already: nothing to promote" in world.out
    assert len(world.called("PromoteReadReplica")) == 1
    assert len(world.called("StopReplicationToReplica")) == 1
    assert code == 0


def test_promoting_while_failing_over_to_the_primary_is_a_usage_error(
    aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a world
    world = World(aws)

    # When the operator fails over to the primary with --promote-database
    code = world.run("failover", "--to", PRIMARY, "--promote-database", "--yes")

    # Then one usage line says where it applies, nothing ran, and the exit code is 2
    assert capsys.readouterr().err.startswith(
        f"usage error: --promote-database promotes the replica in {DR}: only with --to {DR}"
    )
    assert world.out == ""
    assert code == 2


def test_a_promotion_without_a_terminal_to_ask_at_needs_yes(
    aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given nobody at a terminal (no confirm)
    world = World(aws, confirm=None)

    # When the operator fails over to DR with --promote-database and without --yes
    code = world.run(*PROMOTE)

    # Then it refuses before anything runs: it could not ask before the promotion
    assert capsys.readouterr().err.startswith(
        "usage error: --promote-database asks before the promotion, which cannot be undone, and there is no "
        "terminal to ask at: add --yes to go on without asking"
    )
    assert world.out == ""
    assert code == 2
