"""``./dev failover --to <region>``: the healthy switch end to end, its write, and its report.

moto: DynamoDB in both regions, CloudWatch, STS. Stubber: Lambda (no GetAccountSettings in moto
5.2.5) and the DynamoDB client of a region a test makes fail. Fakes: the health routes, the
resolvers and authoritative servers, the clock (tests/ops/failover_world.py).
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from dr_ops.aws import AwsClients
from tests.ops.failover_world import API, DR, PRIMARY, SERVERS, World

FENCE_ITEM = {
    "order_id": "control#fence#us-east-1",
    "fenced_at": "2026-05-04T12:00:00+00:00",
    "fenced_by": "arn:aws:sts::123456789012:user/moto",
    "reason": "manual failover (./dev failover)",
}


@pytest.fixture
def world(aws: AwsClients) -> World:
    return World(aws)


def test_a_healthy_failover_fences_the_primary_through_the_dr_region(world: World) -> None:
    # Given both regions healthy, lags under their RPOs, room in DR, and Route 53 following the fence
    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the primary's fence is in DR's replica, saying when, who and why, and the exit code is 0
    assert world.fence(PRIMARY, via=DR) == FENCE_ITEM
    assert code == 0


def test_a_failover_prints_one_line_per_check_then_each_name_server_as_it_answers(world: World) -> None:
    # Given a healthy world
    # When the operator fails over to DR
    world.run("failover", "--to", DR)

    # Then every check has one line, in order, each passing with its numbers
    checks = [line[:25].split(maxsplit=1) for line in world.lines("PASS")]
    assert [name.strip() for _, name in checks] == [
        "target health",
        "fences",
        "lag dynamodb",
        "lag s3",
        "lag sns",
        "lag ssm",
        "lag postgres",
        "capacity",
        "name servers",
    ]
    assert world.line("lag dynamodb").endswith(
        "us-east-1 -> us-west-2: max 800 ms (average per minute, last 5 min), RPO 5 s"
    )
    # and each authoritative server is named once, when it first answers the DR region
    assert [line.split()[1] for line in world.lines("DNS")] == list(SERVERS)
    assert world.lines("DNS")[-1].endswith("api-us-west-2.orders-dr.internal.test. (40.0 s after the write)")


def test_a_failover_ends_with_a_timed_report(world: World) -> None:
    # Given a healthy world whose name servers answer DR 30 to 40 s after the fence appears
    # When the operator fails over to DR
    world.run("failover", "--to", DR)

    # Then the report times the checks (one 0.2 s health GET), the write, the first and every answer
    assert "failover us-east-1 -> us-west-2: switched to us-west-2" in world.out
    assert world.report() == [
        ["checks", "0.2", "9 pass"],
        ["write via us-west-2", "0.0", "done"],
        ["write via us-east-1 (best effort)", "-", "landed"],
        ["first server answers us-west-2 (since write)", "30.0", SERVERS[0]],
        ["every server answers us-west-2 (since write)", "40.0", "4/4 us-west-2"],
        ["total", "40.2", "switched to us-west-2"],
    ]


def test_the_fence_is_also_written_through_the_old_primary_when_it_answers(world: World) -> None:
    # Given a primary whose DynamoDB still answers
    # When the operator fails over to DR
    world.run("failover", "--to", DR)

    # Then the same item landed in the primary's replica too (moto does not replicate: the second write did)
    assert world.fence(PRIMARY, via=PRIMARY) == FENCE_ITEM
    assert "failover: the same write through us-east-1 (best effort): landed" in world.out


def test_a_failed_best_effort_write_is_reported_and_does_not_stop_the_switch(world: World) -> None:
    # Given a primary whose DynamoDB answers 500 (the primary is impaired)
    stubber = Stubber(world.aws.client("dynamodb", PRIMARY))
    stubber.add_client_error("put_item", "InternalServerError", "impaired", http_status_code=500)
    world.stubs.append(stubber)

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then the switch completed through DR, and the report says the best-effort write failed
    assert code == 0
    assert world.fence(PRIMARY, via=DR) == FENCE_ITEM
    assert "best effort): failed: InternalServerError: impaired" in world.out
    assert [
        "write via us-east-1 (best effort)",
        "-",
        "failed: InternalServerError: impaired",
    ] in world.report()


def test_a_failed_write_through_the_target_switches_nothing_and_exits_4(world: World) -> None:
    # Given DR's DynamoDB reading fine for the checks, then refusing the write
    stubber = Stubber(world.aws.client("dynamodb", DR))
    for _ in range(2):  # the fence check reads both fence keys
        stubber.add_response("get_item", {})
    stubber.add_client_error("put_item", "InternalServerError", "no", http_status_code=500)
    world.stubs.append(stubber)

    # When the operator fails over to DR
    code = world.run("failover", "--to", DR)

    # Then nothing was written anywhere, the name servers were not watched, and the exit code is 4
    assert world.fence(PRIMARY, via=PRIMARY) is None
    assert (
        "failover: the write through us-west-2 failed: InternalServerError: no; nothing switched" in world.out
    )
    assert world.lines("DNS") == []
    assert world.clock.slept == []
    assert code == 4


def test_dns_that_does_not_follow_within_the_timeout_exits_5_with_the_fence_in_place(world: World) -> None:
    # Given one authoritative server that never answers DR
    world.delays[SERVERS[3]] = None

    # When the operator fails over to DR, waiting at most 60 s
    code = world.run("failover", "--to", DR, "--timeout", "60")

    # Then it asked every 5 s of the (fake) clock, the last time at 60 s, and stopped waiting
    assert world.clock.slept == [5.0] * 12
    # and the report says which step failed, with what the servers answered
    assert world.report()[-2:] == [
        ["every server answers us-west-2 (since write)", "-", "not after 60 s: 3 us-west-2, 1 us-east-1"],
        ["total", "60.2", "written, not verified in 60 s"],
    ]
    assert "./dev failback undoes it" in world.out
    # and the fence stays: the primary refuses writes
    assert world.fence(PRIMARY, via=DR) is not None
    assert code == 5


def test_a_dry_run_runs_the_checks_and_writes_nothing(world: World) -> None:
    # Given a healthy world
    # When the operator asks for a dry run
    code = world.run("failover", "--to", DR, "--dry-run")

    # Then every check ran, the item it would write is printed, and no replica holds it
    assert len(world.lines("PASS")) == 9
    assert 'would put {"order_id": "control#fence#us-east-1", "fenced_at": ' in world.out
    assert world.fence(PRIMARY, via=DR) is None
    assert world.fence(PRIMARY, via=PRIMARY) is None
    # and only the baseline question went to the name servers
    assert len(world.route53.asked) == len(SERVERS)
    assert code == 0


def test_failing_over_to_the_primary_fences_the_dr_region_through_the_primary(world: World) -> None:
    # Given a healthy world (Route 53 answers the primary while it is not fenced)
    # When the operator fails over to the primary
    code = world.run("failover", "--to", PRIMARY)

    # Then DR's fence is in the primary's replica, the stores that replicate one way are skipped,
    # and every name server answered the primary at once
    assert world.fence(DR, via=PRIMARY) is not None
    assert world.fence(PRIMARY, via=PRIMARY) is None
    assert world.line("lag s3").startswith("SKIP")
    assert ["every server answers us-east-1 (since write)", "0.0", "4/4 us-east-1"] in world.report()
    assert code == 0


def test_a_region_outside_the_app_is_a_usage_error(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a region the app does not run in
    # When the operator fails over to it
    code = world.run("failover", "--to", "eu-west-1")

    # Then one usage line names the two allowed regions, nothing ran, and the exit code is 2
    assert capsys.readouterr().err.startswith(
        "usage error: --to must be us-west-2 (the DR region) or us-east-1 (the primary), not 'eu-west-1'"
    )
    assert world.out == ""
    assert code == 2


def test_the_shared_name_is_what_the_name_servers_are_asked(world: World) -> None:
    # Given a healthy world
    # When the operator fails over to DR
    world.run("failover", "--to", DR)

    # Then every question to an authoritative server was for the API's shared name
    assert {name for _, name in world.route53.asked} == {API}
