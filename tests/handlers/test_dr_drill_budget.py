"""The DR drill's probes finish within their budget, and clean up, however slow AWS is.

Each call is bounded by its client's Config; a probe starts no call that could end after its
budget, and keeps the clean-up's worst case back from the invocation's time. Against an endpoint
that never answers (conftest's silent_endpoint) every step gives up before its Lambda timeout.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from tests.handlers.conftest import DR, PRIMARY, FakeLambdaContext
from tests.handlers.drill_fakes import (
    DRILL_ID,
    POLL_TIMEOUT,
    PROBE_FUNCTION_TIMEOUT,
    PROBES,
    Aws,
    Drill,
    FakeClock,
    SlowClient,
    build_aws,
    run_probe,
    set_env,
    worst_case,
)

CLEAN_UPS = {"delete_item", "delete_object", "delete_message_batch"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)


@pytest.fixture
def aws(env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        yield build_aws(monkeypatch)


def slow_clients(drill: Drill, probe: str, clock: FakeClock) -> tuple[SlowClient, SlowClient]:
    primary, dr, _ = PROBES[probe]
    return SlowClient(drill.client(primary, PRIMARY), clock), SlowClient(drill.client(dr, DR), clock)


@pytest.mark.parametrize(
    ("step", "service", "sent"),
    [
        ("dynamodb_probe", "dynamodb", ["PutItem", "DeleteItem"]),
        ("s3_probe", "s3", ["PutObject", "DeleteObject"]),
        ("sns_probe", "sns", ["Publish"]),
        ("ssm_probe", "ssm", ["PutParameter"]),
    ],
)
def test_step_against_stalled_aws_raises_before_its_timeout_after_trying_the_clean_up(
    env, monkeypatch, silent_endpoint, step, service, sent
):
    # Given endpoints that accept connections and never answer, and a 25 s invocation
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    drill = Drill()
    requests: list[str] = []
    drill.client(service, PRIMARY).meta.events.register(
        "before-send", lambda event_name, **_: requests.append(event_name.rsplit(".", 1)[1])
    )
    context = FakeLambdaContext(function_name=step, timeout_seconds=25)

    # When the step runs
    with pytest.raises(ReadTimeoutError):
        drill.step(step, {"drill_id": DRILL_ID}, context)

    # Then it gave up on the write with time to spare, having sent the canary's clean-up (if any) too
    assert context.get_remaining_time_in_millis() > 0
    assert requests == sent


def test_stalled_dr_replica_ends_the_step_before_its_timeout_with_the_canary_removed(
    aws, monkeypatch, silent_endpoint
):
    # Given a DR replica whose endpoint accepts connections and never answers, and a 15 s invocation
    drill = Drill()
    made = drill.module.client
    config = made("dynamodb", DR).meta.config
    stalled = boto3.client("dynamodb", region_name=DR, endpoint_url=silent_endpoint, config=config)
    monkeypatch.setattr(
        drill.module, "client", lambda service, region: stalled if region == DR else made(service, region)
    )
    context = FakeLambdaContext(function_name="dynamodb_probe", timeout_seconds=15)

    # When the step runs
    with pytest.raises(ReadTimeoutError):
        drill.step("dynamodb_probe", {"drill_id": DRILL_ID}, context)

    # Then it gave up on the poll with time to spare, and the canary is gone from the primary
    assert context.get_remaining_time_in_millis() > 0
    assert aws.canaries_left("dynamodb") == []


@pytest.mark.parametrize("probe", PROBES)
def test_at_worst_case_call_times_polls_end_within_the_budget_and_all_calls_within_the_timeout(aws, probe):
    # Given production's 120 s poll budget in a 150 s invocation, nothing replicating, and every
    # call taking as long as its client's Config allows
    drill, clock = Drill(), FakeClock()
    primary, dr = slow_clients(drill, probe, clock)
    started = clock.now

    # When the probe runs
    result = run_probe(drill, probe, clock.budget(drill, 120, invocation=PROBE_FUNCTION_TIMEOUT), primary, dr)

    # Then every write and poll ended within the poll budget, and every call, the clean-up's
    # included, a second before the function's timeout, leaving it time to answer
    calls = primary.calls + dr.calls
    assert result.status == "FAILED"
    assert max(end for name, _, end in calls if name not in CLEAN_UPS) <= started + 120
    assert max(end for _, _, end in calls) <= started + PROBE_FUNCTION_TIMEOUT - 1


def test_last_poll_starts_when_a_worst_case_poll_would_still_end_within_the_budget(aws):
    # Given replication that never delivers, on a fake clock where calls take no time
    drill, clock = Drill(), FakeClock()

    # When the DynamoDB probe runs, polling every 2 s
    run_probe(drill, "dynamodb", clock.budget(drill))

    # Then it polled until one poll's worst case before the budget's end, and not after
    assert sum(clock.slept) == POLL_TIMEOUT - worst_case(drill.client("dynamodb", DR))


def test_probe_without_time_for_a_write_and_a_poll_writes_nothing(aws):
    # Given an invocation with 8 s left: less than a write and a poll, the clean-up's reserve and a margin
    drill, clock = Drill(), FakeClock()
    primary, dr = slow_clients(drill, "dynamodb", clock)

    # When the probe runs
    # Then it raises the input error, naming what to raise, and has called nothing
    with pytest.raises(drill.models.DrillInputError, match="POLL_TIMEOUT_SECONDS"):
        run_probe(drill, "dynamodb", clock.budget(drill, invocation=8), primary, dr)
    assert primary.calls == dr.calls == []


def test_failover_probe_worst_case_fits_its_function_timeout(env):
    # Given the failover probe's calls: its health fetch (urllib's timeout bounds the connect and the
    # read), the DR order function's Invoke and one Route 53 status per region
    drill = Drill()
    health = 2 * drill.probes.HEALTH_TIMEOUT_SECONDS
    invoke, route53 = worst_case(drill.client("lambda", DR)), worst_case(drill.client("route53", PRIMARY))

    # When each takes the longest its client allows
    worst = health + invoke + 2 * route53

    # Then the probe still answers within its function's timeout
    assert worst <= PROBE_FUNCTION_TIMEOUT - 1
