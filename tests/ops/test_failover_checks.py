"""The checks before a failover: each failing or unknown check stops it before any write, and
--force, --accept-unknown or a person at the terminal let it go on where they may.

moto: DynamoDB, CloudWatch, STS, RDS. Stubber: Lambda. Fakes: health routes, DNS, clock.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from dr_ops.aws import AwsClients
from dr_ops.switch.io import HttpAnswer
from tests.ops.database_world import DatabaseWorld
from tests.ops.failover_world import DR, PRIMARY, Capacity, World, fenced_body
from tests.ops.helpers import FakeResolver


@pytest.fixture
def world(aws: AwsClients) -> World:
    return World(aws)


def nothing_written(world: World) -> bool:
    return all(world.fence(fenced, via=via) is None for fenced in (PRIMARY, DR) for via in (PRIMARY, DR))


def test_an_unhealthy_target_stops_the_failover_even_with_force(world: World) -> None:
    # Given DR's health route answering 503 "unavailable"
    world.http.answers[DR] = HttpAnswer(503, b'{"status":"unavailable","region":"us-west-2"}')

    # When the operator fails over to DR with --force
    code = world.run("failover", "--to", DR, "--force")

    # Then the health check fails with what it got, nothing is written, and the exit code is 1
    assert world.line("target health").startswith(
        "FAIL     target health    GET https://api-us-west-2.orders-dr.internal.test/health/<token>: 503, "
        "status unavailable, in 0.2 s"
    )
    assert "stopped before any write: target health failed, which --force does not override" in world.out
    assert nothing_written(world)
    assert code == 1


def test_a_target_that_does_not_answer_is_unhealthy(world: World) -> None:
    # Given DR's health route not answering at all
    world.http.answers[DR] = "timed out"

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the health check fails, saying so, and nothing is written
    assert world.line("target health").startswith("FAIL     target health    GET https://api-us-west-2")
    assert "no answer (timed out)" in world.line("target health")
    assert nothing_written(world)
    assert code == 1


def test_a_dynamodb_lag_over_its_rpo_stops_the_failover(world: World) -> None:
    # Given DynamoDB replicating to DR 9 s behind (RPO 5 s)
    world.lag["dynamodb"] = 9000.0

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the lag check fails with its numbers and the way on, and nothing is written
    assert world.line("lag dynamodb") == (
        "FAIL     lag dynamodb     us-east-1 -> us-west-2: max 9000 ms (average per minute, last 5 min), "
        "RPO 5 s -- wait until replication catches up, or --force to switch and lose what has not replicated"
    )
    assert "stopped before any write: lag dynamodb failed: fix it, or --force to switch anyway" in world.out
    assert nothing_written(world)
    assert code == 1


def test_force_switches_despite_a_lag_over_its_rpo(world: World) -> None:
    # Given S3 replicating 20 minutes behind (RPO 15)
    world.lag["s3"] = 1200.0

    # When the operator fails over to DR with --force
    code = world.run("failover", "--to", DR, "--force")

    # Then the primary is fenced and the write line says what was forced
    assert world.line("lag s3").startswith("FAIL")
    assert world.fence(PRIMARY, via=DR) is not None
    assert "through us-west-2 in 0.0 s (lag s3 forced)" in world.out
    assert code == 0


def test_a_lag_without_a_recent_drill_measurement_is_unknown_and_stops(world: World) -> None:
    # Given no drill measurement of SSM replication in the last 12 hours
    world.lag["ssm"] = None

    # When the operator fails over to DR (no terminal: nobody to ask)
    code = world.run("failover", "--to", DR)

    # Then the check is UNKNOWN, not PASS, naming what it looked for, and nothing is written
    line = world.line("lag ssm")
    assert line.startswith(
        "UNKNOWN  lag ssm          no datapoints of OrdersDr DrillReplicationLagSeconds Maximum "
        "(Store=ssm, service=dr_drill) in us-west-2 in the last 720 min"
    )
    assert line.endswith("-- --accept-unknown to switch without it")
    assert "stopped before any write: lag ssm unknown: --accept-unknown to switch without" in world.out
    assert nothing_written(world)
    assert code == 1


def test_accept_unknown_switches_despite_an_unknown_lag(world: World) -> None:
    # Given no DynamoDB replication datapoints (no writes in the last 5 minutes)
    world.lag["dynamodb"] = None

    # When the operator fails over to DR with --accept-unknown
    code = world.run("failover", "--to", DR, "--accept-unknown")

    # Then the primary is fenced
    assert world.line("lag dynamodb").startswith("UNKNOWN")
    assert world.fence(PRIMARY, via=DR) is not None
    assert "(lag dynamodb accepted)" in world.out
    assert code == 0


def test_a_person_at_the_terminal_is_asked_about_unknowns_and_may_go_on(world: World) -> None:
    # Given an unknown SNS lag and a person at the terminal who answers yes
    world.lag["sns"] = None
    questions: list[str] = []

    def yes(question: str) -> bool:
        questions.append(question)
        return True

    world.confirm = yes

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the person was asked once, naming the unknown check, and the primary is fenced
    assert questions == ["lag sns could not be measured. Switch anyway?"]
    assert world.fence(PRIMARY, via=DR) is not None
    assert code == 0


def test_a_person_who_declines_stops_the_failover(world: World) -> None:
    # Given an unknown SNS lag and a person at the terminal who answers no
    world.lag["sns"] = None
    world.confirm = lambda _question: False

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then nothing is written
    assert nothing_written(world)
    assert code == 1


def test_a_dry_run_asks_nobody(world: World) -> None:
    # Given an unknown SNS lag and a person at the terminal
    world.lag["sns"] = None
    world.confirm = lambda _question: pytest.fail("a dry run asked")

    # When the operator asks for a dry run
    code = world.run("failover", "--to", DR, "--dry-run")

    # Then it says a real run would stop there
    assert "dry run: a real run would stop: lag sns unknown" in world.out
    assert code == 1


def test_a_target_reservation_below_the_source_peak_fails_capacity(world: World) -> None:
    # Given DR's order function reserving 20 executions (its cap too) while the primary's peaked at 40
    world.capacity[DR] = Capacity(unreserved=990, reserved=20)

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then capacity fails with both numbers, and nothing is written
    assert world.line("capacity").startswith(
        "FAIL     capacity         dev-us-west-2-orders-v1 can run 20 (its reservation); "
        "dev-us-east-1-orders-v1 peaked at 40 in the last 60 min"
    )
    assert nothing_written(world)
    assert code == 1


def test_a_small_unreserved_pool_fails_capacity(world: World) -> None:
    # Given DR's order function on an unreserved pool of 30 while the primary's peaked at 40
    world.capacity[DR] = Capacity(unreserved=30)

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then capacity fails, and nothing is written
    assert "can run 30 (the unreserved pool of us-west-2)" in world.line("capacity")
    assert world.line("capacity").startswith("FAIL")
    assert code == 1


def test_capacity_is_unknown_without_the_source_peak(world: World) -> None:
    # Given no ConcurrentExecutions datapoints of the primary's order function in the last hour
    world.peak[PRIMARY] = None

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then capacity is UNKNOWN, with what DR can run, and nothing is written
    assert world.line("capacity").startswith(
        "UNKNOWN  capacity         dev-us-west-2-orders-v1 can run 990 (the unreserved pool of us-west-2); "
        "source peak: no datapoints of AWS/Lambda ConcurrentExecutions Maximum"
    )
    assert nothing_written(world)
    assert code == 1


def test_an_unreachable_source_cloudwatch_is_asked_once_and_every_read_there_is_unknown(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the primary's CloudWatch endpoint not answering at all
    calls: list[object] = []

    def unreachable(**request: object) -> None:
        calls.append(request)
        raise EndpointConnectionError(endpoint_url="https://monitoring.us-east-1.amazonaws.com/")

    monkeypatch.setattr(world.aws.client("cloudwatch", PRIMARY), "get_metric_data", unreachable)

    # When the operator fails over to DR with --accept-unknown
    code = world.run("failover", "--to", DR, "--accept-unknown")

    # Then it was asked once; both its lags and capacity are UNKNOWN; the switch went on
    assert len(calls) == 1
    for check in ("lag dynamodb", "lag s3", "capacity"):
        assert world.line(check).startswith("UNKNOWN"), check
    assert "us-east-1's CloudWatch did not answer" in world.line("capacity")
    assert world.fence(PRIMARY, via=DR) is not None
    assert code == 0


def test_a_fenced_target_stops_the_failover_even_with_force(world: World) -> None:
    # Given DR already fenced (a failover to the primary earlier)
    world.put_fence(DR, via=DR)
    world.http.answers[DR] = fenced_body(DR, DR)

    # When the operator fails over to DR with --force
    code = world.run("failover", "--to", DR, "--force")

    # Then the fence check fails: fencing the primary too would leave no region taking writes
    assert world.line("fences").startswith(
        "FAIL     fences           us-west-2 itself is fenced (us-west-2 since 2026-05-04T11:00:00+00:00): "
        "fencing us-east-1 too would leave no region taking writes -- ./dev failback clears every fence"
    )
    assert world.line("target health").endswith("it lists fenced: us-west-2")
    assert world.fence(PRIMARY, via=DR) is None
    assert code == 1


def test_a_fence_already_in_place_is_renewed(world: World) -> None:
    # Given the primary fenced an hour ago
    world.put_fence(PRIMARY, via=DR)

    # When the operator fails over to DR again
    code = world.run("failover", "--to", DR)

    # Then the check says so, and the item carries the new time
    assert world.line("fences").startswith(
        "PASS     fences           us-east-1 since 2026-05-04T11:00:00+00:00"
    )
    assert (world.fence(PRIMARY, via=DR) or {})["fenced_at"] == "2026-05-04T12:00:00+00:00"
    assert code == 0


def test_unreachable_name_servers_are_unknown_and_the_switch_goes_unverified(world: World) -> None:
    # Given no public resolver answering the zone's NS
    world.lookup = FakeResolver({}, default="SERVFAIL")

    # When the operator fails over to DR accepting unknowns
    code = world.run("failover", "--to", DR, "--accept-unknown")

    # Then the check is UNKNOWN, the fence is written, and the exit code says it is not verified
    assert world.line("name servers").startswith(
        "UNKNOWN  name servers     no name servers for orders-dr.internal.test: 8.8.8.8: SERVFAIL"
    )
    assert world.fence(PRIMARY, via=DR) is not None
    assert code == 5


def test_the_postgres_lag_is_the_dr_replicas_replica_lag_against_its_rpo(world: World) -> None:
    # Given the DR replica 4 s behind the primary (RPO 60 s), as RDS publishes it in DR
    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the check passes with the replica's name, its region, the window and the RPO
    assert world.line("lag postgres") == (
        "PASS     lag postgres     dev-us-west-2-orders-db-replica-v1 in us-west-2: max 4 s (last 5 min), "
        "RPO 60 s"
    )
    assert code == 0


def test_a_postgres_lag_over_its_rpo_stops_the_failover(world: World) -> None:
    # Given the DR replica 90 s behind (RPO 60 s)
    world.lag["postgres"] = 90.0

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the check fails with its numbers and the way on, and nothing is written
    assert world.line("lag postgres") == (
        "FAIL     lag postgres     dev-us-west-2-orders-db-replica-v1 in us-west-2: max 90 s (last 5 min), "
        "RPO 60 s -- wait until replication catches up, or --force to switch and lose what has not replicated"
    )
    assert "stopped before any write: lag postgres failed: fix it, or --force to switch anyway" in world.out
    assert nothing_written(world)
    assert code == 1


def test_a_postgres_replica_without_lag_datapoints_is_unknown_and_stops(world: World) -> None:
    # Given no ReplicaLag datapoints of the DR replica in the last 5 minutes
    world.lag["postgres"] = None

    # When the operator fails over to DR (no terminal: nobody to ask)
    code = world.run("failover", "--to", DR)

    # Then the check is UNKNOWN, naming the metric it looked for, and nothing is written
    assert world.line("lag postgres") == (
        "UNKNOWN  lag postgres     no datapoints of AWS/RDS ReplicaLag Maximum "
        "(DBInstanceIdentifier=dev-us-west-2-orders-db-replica-v1) in us-west-2 in the last 5 min "
        "-- --accept-unknown to switch without it"
    )
    assert nothing_written(world)
    assert code == 1


def test_a_promoted_dr_instance_without_lag_datapoints_skips_the_postgres_lag(aws: AwsClients) -> None:
    # Given a DR instance promoted by an earlier failover (standalone: RDS publishes no ReplicaLag)
    world = DatabaseWorld(aws)
    world.promoted()
    world.lag["postgres"] = None

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the check is skipped, saying why, and the failover goes on
    assert world.line("lag postgres") == (
        "SKIP     lag postgres     dev-us-west-2-orders-db-replica-v1 in us-west-2 is standalone (promoted): "
        "nothing replicates to it"
    )
    assert code == 0


def test_a_negative_postgres_replica_lag_is_unknown_not_a_pass(world: World) -> None:
    # Given the DR replica reporting a ReplicaLag of -1 (RDS's word for replication not running)
    world.lag["postgres"] = -1.0

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the check is UNKNOWN, saying why, and nothing is written
    assert world.line("lag postgres").startswith(
        "UNKNOWN  lag postgres     dev-us-west-2-orders-db-replica-v1 in us-west-2: max -1 s (last 5 min), "
        "RPO 60 s: a negative lag is RDS's word for replication not running"
    )
    assert nothing_written(world)
    assert code == 1
