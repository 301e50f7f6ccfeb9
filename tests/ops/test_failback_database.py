"""``./dev failback --database``: PostgreSQL's way back, before the traffic's. It checks, asks, creates a
replica of the promoted DR instance in the primary region, waits until it is available and under
the RPO, and prints the steps it leaves to a person.

moto: RDS (with time laid over it), EC2 (the old primary's subnets and security group), CloudWatch.
Fakes: the clock, the person at the terminal (tests/ops/database_world.py).
"""

from __future__ import annotations

import pytest

from dr_ops.aws import AwsClients
from tests.ops.database_world import SUBNET_GROUP, Call, DatabaseWorld
from tests.ops.failover_world import DR, FAILBACK_REPLICA, NAMES, PRIMARY, World

COPY = FAILBACK_REPLICA  # dev-us-east-1-orders-db-failback-v1
SOURCE = f"arn:aws:rds:{DR}:123456789012:db:{NAMES.database_replica}"
BACK = ("failback", "--database")


@pytest.fixture
def world(aws: AwsClients) -> DatabaseWorld:
    """After failover --promote-database: DR's instance standalone, the old primary stale. The copy
    takes 300 s to create, and its ReplicaLag is 3 s from 350 s on."""
    world = DatabaseWorld(aws)
    world.failed_over()
    return world


def created(world: DatabaseWorld) -> list[Call]:
    return world.called("CreateDBInstanceReadReplica")


def test_the_way_back_creates_a_replica_of_the_dr_instance_through_the_primary_region(
    world: DatabaseWorld,
) -> None:
    # Given DR's promoted instance and the old primary's placement
    # When the operator runs the database's way back with --yes
    code = world.run(*BACK, "--yes")

    # Then one CreateDBInstanceReadReplica went to the primary's RDS: DR's instance by ARN as the
    # source, the primary's key, the old primary's subnet group and security group, private
    assert created(world) == [
        Call(
            PRIMARY,
            "CreateDBInstanceReadReplica",
            {
                "DBInstanceIdentifier": COPY,
                "SourceDBInstanceIdentifier": SOURCE,
                "SourceRegion": DR,
                "KmsKeyId": NAMES.primary.key_alias,
                "DBInstanceClass": "db.t4g.medium",
                "MultiAZ": True,
                "DBSubnetGroupName": SUBNET_GROUP,
                "VpcSecurityGroupIds": [world.security_group],
                "PubliclyAccessible": False,
                "DeletionProtection": True,
                "EnableIAMDatabaseAuthentication": True,
                "CopyTagsToSnapshot": True,
            },
        )
    ]
    # and moto holds it, a replica of DR's instance
    assert (world.instance(PRIMARY, COPY) or {})["ReadReplicaSourceDBInstanceIdentifier"] == SOURCE
    assert code == 0


def test_the_way_back_checks_each_step_on_one_line(world: DatabaseWorld) -> None:
    # Given DR's promoted instance and the old primary's placement
    # When the operator runs the database's way back with --yes
    world.run(*BACK, "--yes")

    # Then each check and each step said PASS, in order
    assert [line[9:25].strip() for line in world.lines("PASS")] == [
        "dr database",
        "placement",
        "failback replica",
        "create replica",
        "available",
        "replica lag",
    ]
    assert world.line("dr database") == (
        f"PASS     dr database      {NAMES.database_replica} in {DR}: available, standalone (promoted): the "
        "primary's database since the failover"
    )
    assert world.line("replica lag") == (
        f"PASS     replica lag      {COPY}: ReplicaLag max 3 s (last 5 min), RPO 60 s, 360.0 s "
        "(since the create)"
    )


def test_the_way_back_times_the_wait_until_the_replica_is_available_and_caught_up(
    world: DatabaseWorld,
) -> None:
    # Given a copy RDS creates in 300 s, whose ReplicaLag appears at 350 s, read every 15 s
    # When the operator runs the database's way back with --yes
    world.run(*BACK, "--yes")

    # Then the report times each step, the waits since the create
    assert world.report() == [
        ["checks", "0.0", "3 pass"],
        [f"create {COPY} via us-east-1", "0.0", "accepted"],
        [f"{COPY} available (since the create)", "300.0", "available, a read replica"],
        [
            f"{COPY} lag under the RPO (since the create)",
            "360.0",
            "ReplicaLag max 3 s (last 5 min), RPO 60 s",
        ],
        ["total", "360.0", f"{COPY} available and caught up; the NEXT steps are yours"],
    ]
    assert set(world.clock.slept) == {15.0}


def test_the_way_back_prints_the_steps_it_leaves_to_a_person(world: DatabaseWorld) -> None:
    # Given an operator whose context flags the printed commands must carry
    # When the operator runs the database's way back with --yes and a -c flag
    world.run(*BACK, "--yes", "-c", "drillEveryHours=6")

    # Then five NEXT lines, in order: traffic, promotion, the app, the secret, the DR replica
    steps = world.lines("NEXT")
    assert [line[9:25].strip() for line in steps] == [
        "1 traffic",
        "2 promote",
        "3 app",
        "4 secret",
        "5 dr replica",
    ]
    traffic, promote, app, secret, dr_replica = steps
    assert (
        "./dev failback -c drillEveryHours=6: moves the traffic to us-east-1, fencing us-west-2 first"
        in traffic
    )
    assert f"aws rds promote-read-replica --db-instance-identifier {COPY} --region us-east-1" in promote
    assert (
        f"aws rds modify-db-instance --db-instance-identifier {COPY} --new-db-instance-identifier "
        f"{NAMES.database_instance} --apply-immediately --region us-east-1" in app
    )
    assert "./dev cdk deploy PrimaryRegion -c drillEveryHours=6" in app
    assert (
        f"aws secretsmanager put-secret-value --secret-id {NAMES.database_secret} --region us-east-1"
        in secret
    )
    assert (
        f"--add-replica-regions Region=us-west-2,KmsKeyId={NAMES.dr.key_alias} --force-overwrite"
        in dr_replica
    )
    assert "./dev cdk deploy DatabaseReplica -c drillEveryHours=6" in dr_replica


def test_the_person_is_asked_before_the_replica_is_created(world: DatabaseWorld) -> None:
    # Given a person at the terminal who answers yes
    questions: list[str] = []

    def yes(question: str) -> bool:
        questions.append(question)
        return True

    world.confirm = yes

    # When the operator runs the database's way back (no --yes)
    code = world.run(*BACK)

    # Then the person was asked once, with everything the create will name
    assert questions == [
        f"Create {COPY} in us-east-1, a read replica of {SOURCE}: db.t4g.medium, Multi-AZ, encrypted with "
        f"{NAMES.primary.key_alias}, subnet group {SUBNET_GROUP}, security groups {world.security_group}? It "
        "copies the whole database across regions, and is billed as one more Multi-AZ instance."
    ]
    assert len(created(world)) == 1
    assert code == 0


def test_a_declined_create_creates_nothing_and_exits_1(world: DatabaseWorld) -> None:
    # Given a person at the terminal who answers no
    world.confirm = lambda _question: False

    # When the operator runs the database's way back
    code = world.run(*BACK)

    # Then nothing was created, and the report says it was declined
    assert created(world) == []
    assert world.instance(PRIMARY, COPY) is None
    assert world.report()[-2:] == [
        [f"create {COPY} via us-east-1", "-", "declined"],
        ["total", "0.0", "declined, nothing created"],
    ]
    assert code == 1


def test_a_dr_instance_that_is_still_a_replica_stops_the_way_back(aws: AwsClients) -> None:
    # Given a DR instance still replicating from the primary (no failover promoted it)
    world = DatabaseWorld(aws)
    world.replicating()

    # When the operator runs the database's way back with --yes
    code = world.run(*BACK, "--yes")

    # Then the first check fails, saying there is nothing to bring back, and nothing is created
    assert world.line("dr database") == (
        f"FAIL     dr database      {NAMES.database_replica} in {DR}: available, a read replica of "
        f"arn:aws:rds:{PRIMARY}:123456789012:db:{NAMES.database_instance} -- PostgreSQL never failed over "
        f"({NAMES.database_instance} is still its source): ./dev failback alone moves the traffic back"
    )
    assert created(world) == []
    assert code == 1


def test_without_the_old_primary_there_is_no_placement_and_nothing_is_created(aws: AwsClients) -> None:
    # Given DR's promoted instance, and no old primary in the primary region to take a placement from
    world = DatabaseWorld(aws)
    world.promoted()

    # When the operator runs the database's way back with --yes
    code = world.run(*BACK, "--yes")

    # Then the placement check fails (RDS would put the copy in the default VPC), nothing is created
    assert world.line("placement").startswith(
        f"FAIL     placement        no {NAMES.database_instance} in us-east-1 to take the subnet group and "
        f"security groups from -- create {COPY} by hand"
    )
    assert created(world) == []
    assert code == 1


def test_an_instance_of_the_copys_name_that_is_no_replica_of_dr_stops_the_way_back(
    world: DatabaseWorld,
) -> None:
    # Given a standalone instance already under the copy's name in the primary region
    world.own.client("rds", PRIMARY).create_db_instance(
        DBInstanceIdentifier=COPY,
        Engine="postgres",
        DBInstanceClass="db.t4g.medium",
        MasterUsername="orders_admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )

    # When the operator runs the database's way back with --yes
    code = world.run(*BACK, "--yes")

    # Then the check fails, and nothing is created
    assert world.line("failback replica").startswith(
        f"FAIL     failback replica {COPY} in us-east-1: available, standalone -- not a read replica of "
        f"{NAMES.database_replica}"
    )
    assert created(world) == []
    assert code == 1


def test_a_refused_create_exits_4(world: DatabaseWorld) -> None:
    # Given the primary's RDS refusing CreateDBInstanceReadReplica
    world.refuse["CreateDBInstanceReadReplica"] = "KMSKeyNotAccessibleFault"

    # When the operator runs the database's way back with --yes
    code = world.run(*BACK, "--yes")

    # Then the step fails on its line with the error, and nothing waits on it
    assert world.line("create replica") == (
        f"FAIL     create replica   CreateDBInstanceReadReplica {COPY} through us-east-1: "
        "KMSKeyNotAccessibleFault: refused by the test -- nothing created; fix it and run again"
    )
    assert world.clock.slept == []
    assert code == 4


def test_a_replica_not_available_in_time_exits_5(world: DatabaseWorld) -> None:
    # Given a copy RDS takes 300 s to create
    # When the operator runs the database's way back with --yes, waiting at most 120 s
    code = world.run(*BACK, "--yes", "--replica-timeout", "120")

    # Then the wait stops at 120 s, saying how to wait on
    assert world.line("available") == (
        f"FAIL     available        {COPY} not available after 120 s (creating, a read replica) -- run "
        f"./dev failback --database again to wait on: it finds {COPY} and creates nothing"
    )
    assert world.lines("NEXT") == []
    assert code == 5


def test_a_second_run_waits_on_the_replica_the_first_created(world: DatabaseWorld) -> None:
    # Given a first run that created the copy and stopped waiting at 120 s
    world.run(*BACK, "--yes", "--replica-timeout", "120")

    # When the operator runs it again
    code = world.run(*BACK, "--yes")

    # Then it found the copy, created nothing more, and waited until it was available and caught up
    assert (
        f"PASS     failback replica {COPY} in us-east-1: creating, a read replica of {SOURCE}: an earlier"
        in (world.out)
    )
    assert len(created(world)) == 1
    assert world.report()[-3][:2] == [f"{COPY} available (waited)", "180.0"]
    assert code == 0


def test_a_replica_lag_over_the_rpo_until_the_timeout_exits_5(world: DatabaseWorld) -> None:
    # Given a copy whose ReplicaLag stays at 120 s (RPO 60 s)
    world.lag_back = [(350.0, 120.0)]

    # When the operator runs the database's way back with --yes, waiting at most 600 s
    code = world.run(*BACK, "--yes", "--replica-timeout", "600")

    # Then it waited for the lag to the end and says the copy is not caught up
    assert world.line("replica lag").startswith(
        f"FAIL     replica lag      {COPY}: ReplicaLag max 120 s (last 5 min), RPO 60 s, after 600 s"
    )
    assert world.report()[-1] == ["total", "600.0", f"{COPY} not under the RPO in 600 s"]
    assert code == 5


def test_a_database_dry_run_checks_and_creates_nothing(world: DatabaseWorld) -> None:
    # Given a person at the terminal who must not be asked
    world.confirm = lambda _question: pytest.fail("a dry run asked")

    # When the operator asks for a dry run of the database's way back
    code = world.run(*BACK, "--dry-run")

    # Then the checks ran, the create it would ask for is printed, and the next steps too
    assert len(world.lines("PASS")) == 3
    assert f"failback --database: dry run, nothing created; would ask, then create {COPY} in us-east-1" in (
        world.out
    )
    assert len(world.lines("NEXT")) == 5
    assert created(world) == []
    assert code == 0


def test_force_with_database_is_a_usage_error(aws: AwsClients, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a world
    world = World(aws)

    # When the operator runs the database's way back with --force
    code = world.run(*BACK, "--yes", "--force")

    # Then one usage line says why, nothing ran, and the exit code is 2
    assert capsys.readouterr().err.startswith(
        "usage error: --force: not with --database, which moves no traffic and goes on only when every step "
        "passed"
    )
    assert world.out == ""
    assert code == 2


def test_the_way_back_without_a_terminal_to_ask_at_needs_yes(
    aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given nobody at a terminal (no confirm)
    world = World(aws, confirm=None)

    # When the operator runs the database's way back without --yes
    code = world.run(*BACK)

    # Then it refuses before anything runs
    assert capsys.readouterr().err.startswith(
        "usage error: --database asks before it creates the replica, and there is no terminal to ask at"
    )
    assert world.out == ""
    assert code == 2
