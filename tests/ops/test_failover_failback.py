"""``./dev failback``: the checks in the other direction, then every fence deleted, primary first.

moto: DynamoDB in both regions, CloudWatch, STS, RDS. Stubber: Lambda. Fakes: health routes, DNS,
clock. moto does not replicate, so the fake Route 53 reads the primary's replica here: the one
failback writes first.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from dr_ops.aws import AwsClients
from dr_ops.switch.io import HttpAnswer
from tests.ops.database_world import DatabaseWorld
from tests.ops.failover_world import DR, PRIMARY, SERVERS, World, fenced_body


def after_a_failover(world: World) -> World:
    """The primary fenced in both replicas, and Route 53 answering DR."""
    world.route53_reads = PRIMARY
    world.delays = dict.fromkeys(SERVERS, 0.0)
    for via in (PRIMARY, DR):
        world.put_fence(PRIMARY, via=via)
    world.http.answers = {PRIMARY: fenced_body(PRIMARY, PRIMARY), DR: fenced_body(DR, PRIMARY)}
    return world


@pytest.fixture
def failed_over(aws: AwsClients) -> World:
    """After a failover."""
    return after_a_failover(World(aws))


@pytest.fixture
def copied_back(aws: AwsClients) -> DatabaseWorld:
    """After a failover that promoted DR's PostgreSQL, and failback --database: its replica in the
    primary region."""
    world = DatabaseWorld(aws)
    world.copied_back()
    after_a_failover(world)
    return world


def test_failback_clears_the_fences_in_both_replicas_and_verifies_dns(failed_over: World) -> None:
    # Given a failed-over world
    world = failed_over

    # When the operator fails back
    code = world.run("failback")

    # Then no fence is left in either replica, and every name server answers the primary again
    assert all(world.fence(fenced, via=via) is None for fenced in (PRIMARY, DR) for via in (PRIMARY, DR))
    assert ["every server answers us-east-1 (since write)", "0.0", "4/4 us-east-1"] in world.report()
    assert code == 0


def test_failback_checks_the_way_back_from_dr_to_the_primary(failed_over: World) -> None:
    # Given a failed-over world
    world = failed_over

    # When the operator fails back
    world.run("failback")

    # Then the primary's health was asked; DynamoDB's lag was read from DR's CloudWatch towards
    # the primary; the stores that replicate primary -> DR only were skipped; capacity compares
    # the primary's function with DR's peak
    assert world.http.asked == [
        "https://api-us-east-1.orders-dr.internal.test/health/b1e2aef643ccccb15642f7b1"
    ]
    assert "us-west-2 -> us-east-1: max 600 ms" in world.line("lag dynamodb")
    for store in ("s3", "sns", "ssm"):
        assert world.line(f"lag {store}").startswith("SKIP"), store
    assert world.line("capacity").startswith(
        "PASS     capacity         dev-us-east-1-orders-v1 can run 990 (the unreserved pool of us-east-1); "
        "dev-us-west-2-orders-v1 peaked at 3"
    )
    assert world.line("fences").startswith(
        "PASS     fences           us-east-1 since 2026-05-04T11:00:00+00:00"
    )


def test_an_unhealthy_primary_stops_the_failback_and_the_fences_stay(failed_over: World) -> None:
    # Given the primary still answering 503
    world = failed_over
    world.http.answers[PRIMARY] = HttpAnswer(503, b'{"status":"unavailable"}')

    # When the operator fails back
    code = world.run("failback")

    # Then nothing was deleted
    assert world.fence(PRIMARY, via=PRIMARY) is not None
    assert world.fence(PRIMARY, via=DR) is not None
    assert code == 1


def test_a_lag_back_over_its_rpo_stops_the_failback(failed_over: World) -> None:
    # Given DR's writes replicating to the primary 7 s behind (RPO 5 s)
    world = failed_over
    world.lag["dynamodb back"] = 7000.0

    # When the operator fails back
    code = world.run("failback")

    # Then the lag check fails, and the fences stay
    assert world.line("lag dynamodb").startswith(
        "FAIL     lag dynamodb     us-west-2 -> us-east-1: max 7000 ms"
    )
    assert world.fence(PRIMARY, via=PRIMARY) is not None
    assert code == 1


def test_a_failback_dry_run_deletes_nothing(failed_over: World) -> None:
    # Given a failed-over world
    world = failed_over

    # When the operator asks for a dry run
    code = world.run("failback", "--dry-run")

    # Then it says what it would write, and the fences stay
    assert 'would put {"order_id": "control#fence#us-west-2"' in world.out
    assert "and delete control#fence#us-east-1 in dev-us-east-1-orders-v1 through us-east-1" in world.out
    assert world.fence(PRIMARY, via=PRIMARY) is not None
    assert world.fence(PRIMARY, via=DR) is not None
    assert code == 0


def test_a_failed_best_effort_delete_in_dr_does_not_stop_the_failback(failed_over: World) -> None:
    # Given DR's DynamoDB refusing the delete
    world = failed_over
    stubber = Stubber(world.aws.client("dynamodb", DR))
    stubber.add_client_error("put_item", "InternalServerError", "impaired", http_status_code=500)
    world.stubs.append(stubber)

    # When the operator fails back
    code = world.run("failback")

    # Then the primary's replica is clear, the report says the DR write failed, and it exits 0
    assert world.fence(PRIMARY, via=PRIMARY) is None
    assert (
        "failback: the same write through us-west-2 (best effort): failed: InternalServerError: impaired"
        in (world.out)
    )
    assert code == 0


def test_dr_refuses_writes_from_the_failback_until_the_ttl_after_dns_moved(failed_over: World) -> None:
    # Given a failed-over world whose name servers answer the primary only after 30 s
    world = failed_over
    world.delays = dict.fromkeys(SERVERS, 30.0)

    # When the operator fails back
    code = world.run("failback")

    # Then DR was fenced in the same write that lifted the primary's fence, and its own fence was
    # lifted only after every server answered the primary and the records' 15 s TTL passed:
    # at no moment did both regions take writes
    assert world.clock.slept[-1] == 15
    lifted = world.out.index("failback: delete control#fence#us-west-2")
    assert world.out.index("answers api-us-east-1.orders-dr.internal.test.") < lifted
    assert world.fence(DR, via=PRIMARY) is None
    assert code == 0


def test_dr_stays_fenced_when_dns_does_not_move_in_time(failed_over: World) -> None:
    # Given name servers that keep answering DR (the fake Route 53 keeps seeing the primary fenced)
    world = failed_over
    world.delays = dict.fromkeys(SERVERS, 0.0)
    world.route53.primary_fenced = lambda: True

    # When the operator fails back with a short timeout
    code = world.run("failback", "--timeout", "30")

    # Then the primary is unfenced, DR is fenced (it refuses writes while clients may still reach it)
    assert world.fence(PRIMARY, via=PRIMARY) is None
    assert world.fence(DR, via=PRIMARY) is not None
    assert "us-west-2 stays fenced" in world.out
    assert code == 5


def test_failback_skips_the_postgres_lag_without_a_replica_in_the_primary(failed_over: World) -> None:
    # Given a failed-over world whose primary region has no replica of DR's PostgreSQL
    world = failed_over

    # When the operator fails back
    code = world.run("failback")

    # Then the check is skipped, naming what would make one, and the failback goes on
    assert world.line("lag postgres") == (
        "SKIP     lag postgres     PostgreSQL replicates primary -> DR only; no "
        "dev-us-east-1-orders-db-failback-v1 in us-east-1 (./dev failback --database makes one)"
    )
    assert code == 0


def test_failback_reads_the_lag_of_the_replica_failback_database_made(copied_back: DatabaseWorld) -> None:
    # Given the primary region's replica of DR's PostgreSQL 3 s behind (RPO 60 s), published there
    world = copied_back
    world.lag["postgres back"] = 3.0

    # When the operator fails back
    code = world.run("failback")

    # Then the check read it through the primary's RDS and CloudWatch, and passes
    assert world.line("lag postgres") == (
        "PASS     lag postgres     dev-us-east-1-orders-db-failback-v1 in us-east-1: max 3 s (last 5 min), "
        "RPO 60 s"
    )
    assert {call.region for call in world.calls} == {PRIMARY}
    assert code == 0


def test_a_failback_replica_over_its_rpo_stops_the_failback(copied_back: DatabaseWorld) -> None:
    # Given the primary region's replica 75 s behind DR (RPO 60 s)
    world = copied_back
    world.lag["postgres back"] = 75.0

    # When the operator fails back
    code = world.run("failback")

    # Then the check fails and the fences stay
    assert world.line("lag postgres").startswith(
        "FAIL     lag postgres     dev-us-east-1-orders-db-failback-v1 in us-east-1: max 75 s"
    )
    assert world.fence(PRIMARY, via=PRIMARY) is not None
    assert code == 1
