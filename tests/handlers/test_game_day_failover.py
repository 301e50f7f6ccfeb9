"""The primary-path game day's watch: preflight, the failover's four phases, and the way back.

The world (game_day_fakes.FailoverWorld) changes on a fake clock as the FIS fault and Route 53
would change it; the steps run as Step Functions calls them, through the handler's own clients.
Route 53's 18 % rule is encoded in route53_view and checked here at its boundary
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import socket
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from moto import mock_aws

from tests.handlers.conftest import DR, PRIMARY
from tests.handlers.game_day_fakes import (
    ACCESS_TOKEN,
    API_NAME,
    CHECKERS,
    CLIENT_ID,
    CLIENT_SECRET,
    GAME_DAY_ID,
    HEALTH_TOKEN,
    NAME_SERVERS,
    OBSERVER,
    RTO_BUDGET,
    STATE_MACHINE_ARN,
    STEADY_ALARMS,
    TEMPLATES,
    TOKEN_URL,
    WATCH_ENV,
    FailoverWorld,
    FakeClock,
    GameDay,
    OrderAnswer,
    aws_client,
    create_alarm,
    put_client_secret,
    set_alarm,
    set_env,
)

# The watch emits no metric; Powertools warns about that on every flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

START = 1_750_000_000.0
# What the start step returned: the experiment started half a minute before the measurement.
RUN = {
    "id": "EXP7Hk2b9dQm4Lp",
    "template_id": TEMPLATES["primary-path"],
    "started_at": START - 30,
    "status": "running",
}
PHASE_TIMEOUT = 180.0
FAULT_TIMEOUT = 180.0


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    set_env(monkeypatch, WATCH_ENV)
    with mock_aws():
        secrets, cloudwatch = aws_client("secretsmanager", OBSERVER), aws_client("cloudwatch", PRIMARY)
        put_client_secret(secrets)
        for name in STEADY_ALARMS:
            create_alarm(cloudwatch, name)
        sfn = aws_client("stepfunctions", OBSERVER)
        sfn.create_state_machine(
            name=STATE_MACHINE_ARN.rsplit(":", 1)[1],
            definition=json.dumps({"StartAt": "Begin", "States": {"Begin": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/dev-us-west-2-game-day-v1",
        )
        yield SimpleNamespace(secrets=secrets, cloudwatch=cloudwatch, sfn=sfn)


@pytest.fixture
def game_day(aws: SimpleNamespace) -> GameDay:
    return GameDay()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def world(game_day: GameDay, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> FailoverWorld:
    # Installed by the step itself, inside the test: the asset loads there, so that Powertools'
    # log handler writes to the stdout capsys reads.
    return FailoverWorld(clock, game_day, monkeypatch)


def measure(world: FailoverWorld, invocation: float = 900.0) -> dict[str, Any]:
    return world.step("measure_failover", {"game_day_id": GAME_DAY_ID, "run": RUN}, invocation)


def preflight(world: FailoverWorld, experiment: str = "primary-path") -> dict[str, Any]:
    return world.step("preflight", {"experiment": experiment, "game_day_id": GAME_DAY_ID})


def restore(world: FailoverWorld) -> dict[str, Any]:
    stop = {"id": RUN["id"], "status": "stopped", "reason": "Experiment stopped", "stopped_at": START}
    return world.step("restore", {"game_day_id": GAME_DAY_ID, "stop": stop})


# Measuring the failover


def test_failover_within_budget_passes_with_each_phase_timed_from_the_fault(game_day, world, clock):
    # Given the fault begins 40 s in, Route 53 sees it 25 s later, every server answers DR 15 s
    # after that, and clients reach DR 5 s after that
    world.failover(fault=40, unhealthy=25, dns=15, order=5)

    # When the failover is measured, polling every second
    result = measure(world)

    # Then the clock starts at the last poll that saw the route ok (39 s in: the outage may have
    # begun right after it), each phase is timed cumulatively from there, and 46 s is within budget
    assert {key: value for key, value in result.items() if key != "detail"} == {
        "fault_at": START + 39,
        "phases": {"unhealthy": 26.0, "dns": 41.0, "order": 46.0},
        "measured_rto_seconds": 46.0,
        "budget_seconds": RTO_BUDGET,
        "within_budget": True,
        "failed_phase": None,
    }
    assert result["detail"] == (
        "fault: primary health HTTP 503; unhealthy: after 26 s (0/16 checkers Success); "
        "dns: after 41 s (4/4 servers answer us-west-2); order: after 46 s (HTTP 201 from us-west-2)"
    )


def test_failover_over_budget_is_measured_and_not_within_budget(game_day, world, clock):
    # Given every phase is seen in time, but the order reaches DR 130 s after the fault
    world.failover(fault=10, unhealthy=60, dns=40, order=30)

    # When the failover is measured
    result = measure(world)

    # Then the RTO is measured from the last ok poll, and over the 120 s budget
    assert (result["measured_rto_seconds"], result["within_budget"]) == (131.0, False)
    assert result["failed_phase"] is None


def test_unhealthy_and_dns_phases_keep_asking_the_resolver_for_the_api_name_as_clients_do(
    game_day, world, clock
):
    # Given a failover whose unhealthy and dns phases last from 10 s to 45 s
    world.failover(fault=10, unhealthy=20, dns=15, order=5)

    # When the failover is measured
    measure(world)

    # Then the API name was asked for on every poll of those phases, so a cached answer lasts as
    # long for the order phase as for a busy client
    times = [at for name, at in world.resolved if name == API_NAME]
    assert len(times) == len(world.resolved)
    # (at 30 s the unhealthy phase's last poll and the dns phase's first)
    assert times == [START + second for second in [*range(10, 31), *range(30, 46)]]


def test_fault_phase_starts_the_clock_at_the_last_ok_health_poll_not_at_experiment_start(
    game_day, world, clock
):
    # Given an experiment started 30 s before the measurement, whose fault (the FIS extension
    # polls its configuration every 60 s) begins 55 s after the measurement started
    world.failover(fault=55, unhealthy=20, dns=10, order=5)

    # When the failover is measured
    result = measure(world)

    # Then the outage starts at the last poll that saw the route ok, and the phases count from there
    assert result["fault_at"] == START + 54
    assert result["fault_at"] - RUN["started_at"] == 84
    assert result["phases"] == {"unhealthy": 21.0, "dns": 31.0, "order": 36.0}


def test_fault_already_on_at_the_first_poll_starts_the_clock_at_the_experiments_start(game_day, world, clock):
    # Given a fault that began before the watch's first poll (the experiment started 30 s earlier)
    world.failover(fault=0, unhealthy=20, dns=10, order=5)

    # When the failover is measured
    result = measure(world)

    # Then the clock starts at the experiment's start: the outage is never measured shorter than it was
    assert result["fault_at"] == RUN["started_at"]
    assert result["phases"] == {"unhealthy": 50.0, "dns": 60.0, "order": 65.0}
    assert "the first poll already failed: the clock starts at the experiment's start" in result["detail"]


def test_fault_already_on_without_a_known_start_says_the_rto_is_short(game_day, world, clock):
    # Given a fault on at the first poll and a run that does not say when it started
    world.failover(fault=0, unhealthy=20, dns=10, order=5)
    run = {key: value for key, value in RUN.items() if key != "started_at"}

    # When the failover is measured
    result = world.step("measure_failover", {"game_day_id": GAME_DAY_ID, "run": run}, 900.0)

    # Then the clock starts at the first poll, and the detail says the RTO is understated
    assert result["fault_at"] == START
    assert "the experiment's start is unknown: the RTO is short" in result["detail"]


@pytest.mark.parametrize(
    ("phase", "failover", "seen", "ends_after"),
    [
        # the fault never begins: bounded by FAULT_TIMEOUT from the call
        ("fault", {}, {}, FAULT_TIMEOUT),
        # Route 53 never sees it: bounded by PHASE_TIMEOUT from the fault's end (10 s in)
        ("unhealthy", {"fault": 10}, {}, 10 + PHASE_TIMEOUT),
        ("dns", {"fault": 10, "unhealthy": 20}, {"unhealthy": 21.0}, 30 + PHASE_TIMEOUT),
        (
            "order",
            {"fault": 10, "unhealthy": 20, "dns": 15},
            {"unhealthy": 21.0, "dns": 36.0},
            45 + PHASE_TIMEOUT,
        ),
    ],
)
def test_phase_that_times_out_is_named_not_raised(game_day, world, clock, phase, failover, seen, ends_after):
    # Given a failover that stops short of `phase`
    steps = {"fault": None, "unhealthy": None, "dns": None, "order": None, **failover}
    if steps["fault"] is not None:
        world.at(steps["fault"], healthy={PRIMARY: False})
    if steps["unhealthy"] is not None:
        world.at(steps["fault"] + steps["unhealthy"], checkers={PRIMARY: 0})
    if steps["dns"] is not None:
        world.at(steps["fault"] + steps["unhealthy"] + steps["dns"], dns=dict.fromkeys(NAME_SERVERS, DR))

    # When the failover is measured
    result = measure(world)

    # Then the step answers, naming the phase that was not seen, with the phases seen before it
    assert result["failed_phase"] == phase
    assert result["phases"] == {"unhealthy": None, "dns": None, "order": None, **seen}
    assert (result["measured_rto_seconds"], result["within_budget"]) == (None, None)
    assert f"{phase}: not seen within 180 s" in result["detail"]
    # And the phase was given its whole time, from the end of the one before, and no more
    assert clock.now - START == ends_after


def test_order_phase_counts_only_an_answer_from_the_dr_region(game_day, world, clock):
    # Given the failover's first three phases, and an orders API that keeps answering 201 from the
    # primary region (a client whose cache still holds the primary's name)
    world.failover(fault=10, unhealthy=20, dns=15, order=1_000)
    world.order_override = OrderAnswer(201, PRIMARY)

    # When the failover is measured
    result = measure(world)

    # Then the primary's 201 is no failover: the order phase is not seen
    assert result["failed_phase"] == "order"
    assert world.orders and {order.region for order in world.orders} == {PRIMARY}
    assert result["detail"].endswith("order: not seen within 180 s (HTTP 201 from us-east-1)")


def test_order_is_placed_with_the_same_content_every_time(game_day, world, clock):
    # Given clients reach DR only after a few failed orders
    world.failover(fault=5, unhealthy=5, dns=5, order=5)

    # When the failover is measured
    measure(world)

    # Then every attempt posted the same order to the shared API name, with the game day's id
    posts = [request for request in world.requests if request.url == f"https://{API_NAME}/orders"]
    assert len(posts) > 1
    bodies = {request.body for request in posts}
    (body,) = bodies
    order = json.loads(body)
    assert order["order_id"] == "gameday-" + hashlib.sha256(GAME_DAY_ID.encode()).hexdigest()[:40]
    assert order["items"] == [{"sku": "dr-game-day", "quantity": 1, "unit_price": "0.01"}]
    assert (order["customer_id"], order["currency"]) == ("dr-game-day", "USD")


def test_token_is_fetched_by_client_credentials_once_and_never_exposed(
    game_day, world, clock, monkeypatch, capsys, caplog
):
    # Given every logger open down to DEBUG, and a failover that takes a few order attempts
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    world.failover(fault=5, unhealthy=5, dns=5, order=5)

    # When the failover is measured
    result = measure(world)

    # Then one client-credentials request got the token, which every order then carried
    assert result["failed_phase"] is None
    (token_request,) = world.token_requests()
    assert token_request.method == "POST"
    assert urllib.parse.parse_qs(token_request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    posts = [request for request in world.requests if request.url.endswith("/orders")]
    assert {request.headers["Authorization"] for request in posts} == {f"Bearer {ACCESS_TOKEN}"}
    # And no output holds the token, the client secret or the health route's token
    captured = capsys.readouterr()
    assert "Failover measured" in captured.out
    seen = "\n".join([captured.out, captured.err, caplog.text, json.dumps(result), repr(result)])
    for secret in (ACCESS_TOKEN, CLIENT_SECRET, HEALTH_TOKEN):
        assert secret not in seen


def test_token_is_asked_again_after_the_api_refuses_it(game_day, world, clock, monkeypatch):
    # Given an orders API that refuses the first token it sees
    world.failover(fault=5, unhealthy=5, dns=5, order=0)
    refusals = iter([True])
    answer = world._order

    def refuse_once(request: Any) -> Any:
        if next(refusals, False):
            return game_day.part("oauth").HttpAnswer(401, '{"message":"Unauthorized"}', {})
        return answer(request)

    monkeypatch.setattr(world, "_order", refuse_once)

    # When the failover is measured
    result = measure(world)

    # Then the refused token was dropped and a fresh one fetched for the next attempt
    assert result["failed_phase"] is None
    assert len(world.token_requests()) == 2


def test_phase_stops_when_the_invocation_has_less_than_45_s_left(game_day, world, clock):
    # Given an invocation of 100 s, and DNS that never moves to DR
    world.at(10, healthy={PRIMARY: False})
    world.at(20, checkers={PRIMARY: 0})

    # When the failover is measured
    result = measure(world, invocation=100)

    # Then the DNS phase ends as a timeout at the first poll with less than 45 s left (time for
    # one more poll at its slowest): polled with exactly 45 s left, and stopped with 44 s left
    assert result["failed_phase"] == "dns"
    assert "dns: not seen before the invocation had 45 s left" in result["detail"]
    assert clock.now - START == 56


def test_dns_phase_waits_for_every_authoritative_server(game_day, world, clock):
    # Given three servers answering DR 10 s after Route 53 saw the fault, the fourth 20 s after
    world.at(5, healthy={PRIMARY: False})
    world.at(10, checkers={PRIMARY: 0})
    world.at(20, dns=dict.fromkeys(NAME_SERVERS[:3], DR))
    world.at(30, dns={NAME_SERVERS[3]: DR}, client_region=DR)

    # When the failover is measured
    result = measure(world)

    # Then DNS counts from the last ok poll (4 s in) to the moment the last server answered DR
    assert result["phases"]["dns"] == 26.0


@pytest.mark.parametrize(
    ("succeeding", "total", "healthy"),
    [(10, 50, True), (9, 50, False), (3, 16, True), (2, 16, False), (0, 0, None)],
    ids=["20%", "18%-exactly", "18.75%", "12.5%", "no-reports"],
)
def test_health_check_is_healthy_only_while_more_than_18_percent_of_checkers_succeed(
    game_day, succeeding, total, healthy
):
    # Given `succeeding` of `total` checkers reporting Success
    view = game_day.part("route53_view").CheckView(succeeding, total)

    # When Route 53's rule judges them
    # Then the endpoint is healthy only above 18 %, and unknown with no report at all
    assert view.healthy is healthy


def test_unhealthy_phase_waits_until_no_more_than_18_percent_of_checkers_succeed(game_day, world, clock):
    # Given the fault, then 3 of 16 checkers still succeeding (18.75 %: healthy), then 2 (12.5 %)
    world.at(10, healthy={PRIMARY: False})
    world.at(20, checkers={PRIMARY: 3})
    world.at(30, checkers={PRIMARY: 2}, dns=dict.fromkeys(NAME_SERVERS, DR), client_region=DR)

    # When the failover is measured
    result = measure(world)

    # Then the check counts as unhealthy only at 2 of 16 (timed from the last ok poll, 9 s in)
    assert result["phases"]["unhealthy"] == 21.0


# Preflight


def test_preflight_of_a_steady_world_checks_everything_the_primary_path_needs(game_day, world, clock):
    # Given both regions healthy, Route 53 and DNS on the primary, no alarm, a usable client
    # When the preflight runs for the primary path
    result = preflight(world)

    # Then every check is ok, the client's included
    assert result == {
        "steady": True,
        "checks": {
            "health us-east-1": "ok",
            "health us-west-2": "ok",
            "route53 us-east-1": "ok",
            "route53 us-west-2": "ok",
            "dns": "ok",
            "alarms": "ok",
            "alone": "ok",
            "client": "ok",
        },
    }


def test_preflight_does_not_count_its_own_execution_as_another_game_day(game_day, world, aws, clock):
    # Given this game day's own execution running (the state machine runs the preflight)
    aws.sfn.start_execution(stateMachineArn=STATE_MACHINE_ARN, name=GAME_DAY_ID)

    # When the preflight runs
    # Then the game day is alone
    assert preflight(world)["checks"]["alone"] == "ok"


def test_preflight_of_a_pause_does_not_need_the_client(game_day, world, clock):
    # Given a steady world
    # When the preflight runs for a replication pause
    result = preflight(world, "s3-pause")

    # Then the client is not checked, nor is a token asked for
    assert result["steady"] is True
    assert "client" not in result["checks"]
    assert world.token_requests() == []


@pytest.mark.parametrize(
    ("unsteady", "check", "reason"),
    [
        (lambda w, a: w.healthy.update({DR: False}), "health us-west-2", "HTTP 503"),
        (
            lambda w, a: w.checkers.update({PRIMARY: 2}),
            "route53 us-east-1",
            f"not healthy (2/{CHECKERS} checkers Success)",
        ),
        (
            lambda w, a: w.dns.update({NAME_SERVERS[1]: DR}),
            "dns",
            "not every server answers us-east-1 (ns-0.awsdns-00.com: us-east-1; "
            "ns-1024.awsdns-00.org: us-west-2; ns-1536.awsdns-00.co.uk: us-east-1; "
            "ns-512.awsdns-00.net: us-east-1)",
        ),
        (
            lambda w, a: set_alarm(a.cloudwatch, STEADY_ALARMS[1], "ALARM"),
            "alarms",
            f"{STEADY_ALARMS[1]} in ALARM",
        ),
        (
            lambda w, a: a.sfn.start_execution(stateMachineArn=STATE_MACHINE_ARN, name="gameday-other"),
            "alone",
            "another game day is running: gameday-other",
        ),
        (
            lambda w, a: setattr(w, "token_status", 401),
            "client",
            "no token (token endpoint answered HTTP 401 (invalid_client))",
        ),
        (
            lambda w, a: a.secrets.put_secret_value(
                SecretId="dev-us-west-2-game-day-client-v1", SecretString="{}"
            ),
            "client",
            "the client secret is not the expected JSON: client_id, client_secret, token_url",
        ),
    ],
    ids=[
        "dr-health",
        "route53-minority",
        "dns-split",
        "alarm",
        "another-game-day",
        "token-refused",
        "secret-malformed",
    ],
)
def test_preflight_of_an_unsteady_world_names_the_check_and_raises_nothing(
    game_day, world, aws, clock, unsteady, check, reason
):
    # Given one thing not steady
    unsteady(world, aws)

    # When the preflight runs
    result = preflight(world)

    # Then it is not steady, that check says why, and every other check is ok
    assert result["steady"] is False
    assert result["checks"][check] == reason
    assert [name for name, why in result["checks"].items() if why != "ok"] == [check]


def test_preflight_names_a_steady_alarm_that_does_not_exist(game_day, world, aws, clock):
    # Given one of the steady alarms was never created
    aws.cloudwatch.delete_alarms(AlarmNames=[STEADY_ALARMS[0]])

    # When the preflight runs
    result = preflight(world)

    # Then the alarms check fails, naming it: a missing alarm proves nothing
    assert result["checks"]["alarms"] == f"{STEADY_ALARMS[0]} not found"


def test_preflight_reads_metric_alarms_only_and_a_composite_one_is_not_found(game_day, world, aws, clock):
    # Given one of the steady alarms is a composite alarm, and an answer that holds it whatever was
    # asked (as moto's would, could it make one)
    aws.cloudwatch.delete_alarms(AlarmNames=[STEADY_ALARMS[1]])
    composite = {"AlarmName": STEADY_ALARMS[1], "StateValue": "OK", "AlarmRule": 'ALARM("x")'}
    requests: list[dict[str, Any]] = []
    cloudwatch = game_day.module.client("cloudwatch", PRIMARY)
    cloudwatch.meta.events.register(
        "before-parameter-build.cloudwatch.DescribeAlarms", lambda params, **_: requests.append(dict(params))
    )
    cloudwatch.meta.events.register(
        "after-call.cloudwatch.DescribeAlarms",
        lambda parsed, **_: parsed.setdefault("CompositeAlarms", []).append(composite),
    )

    # When the preflight runs
    result = preflight(world)

    # Then it asked for metric alarms only, which its role (scoped to its alarms) may read: CloudWatch
    # returns composite alarms only to DescribeAlarms on "*"
    # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html),
    # which moto does not model. The composite alarm is a failure to find, never a silent pass
    (request,) = requests
    assert request["AlarmTypes"] == ["MetricAlarm"]
    assert request["AlarmNames"] == STEADY_ALARMS
    assert result["checks"]["alarms"] == f"{STEADY_ALARMS[1]} not found"


def test_preflight_finds_the_name_servers_through_the_next_resolver(game_day, world, clock):
    # Given the first resolver does not answer
    world.failing_resolvers.add("1.1.1.1")

    # When the preflight runs
    result = preflight(world)

    # Then the second resolver's answer is used
    assert result["checks"]["dns"] == "ok"


# Restore


def test_restore_waits_for_health_route53_and_dns_all_at_once(game_day, world, clock):
    # Given a failed-over world whose way back takes 30 s (health), 50 s (Route 53), 60 s (DNS)
    world.healthy[PRIMARY], world.checkers[PRIMARY] = False, 0
    world.dns.update(dict.fromkeys(NAME_SERVERS, DR))
    world.at(30, healthy={PRIMARY: True})
    world.at(50, checkers={PRIMARY: CHECKERS})
    world.at(60, dns=dict.fromkeys(NAME_SERVERS, PRIMARY))

    # When the restore step watches
    result = restore(world)

    # Then traffic is back on the primary when the last of the three is
    assert (result["restored"], result["restored_after"]) == (True, 60.0)


def test_restore_that_does_not_happen_says_what_is_still_wrong_and_what_to_run(game_day, world, clock):
    # Given the primary healthy again, but DNS still answering DR
    world.dns.update(dict.fromkeys(NAME_SERVERS, DR))

    # When the restore step watches
    result = restore(world)

    # Then it gives up after 600 s, naming the condition still false and the way to move traffic now
    assert (result["restored"], result["restored_after"]) == (False, None)
    assert result["detail"].startswith(
        "us-east-1 not restored: not within 600 s: dns not every server answers us-east-1"
    )
    assert result["detail"].endswith("run ./dev failback if traffic must move now")
    assert clock.now - START == 600


def test_no_watch_output_holds_the_health_route_token(game_day, world, clock, capsys, monkeypatch):
    # Given a primary whose health route does not answer at all
    oauth = game_day.part("oauth")
    world.healthy[PRIMARY] = False
    fetch = world.fetch

    def unreachable(request: Any) -> Any:
        if HEALTH_TOKEN in request.url:
            raise oauth.FetchFailed("TimeoutError")
        return fetch(request)

    monkeypatch.setattr(world, "fetch", unreachable)

    # When the preflight runs
    result = preflight(world)

    # Then it names the failure by type, never by URL
    assert result["checks"]["health us-east-1"] == "no answer (FetchFailed: TimeoutError)"
    assert HEALTH_TOKEN not in json.dumps(result) + capsys.readouterr().out


def test_measure_with_an_unusable_client_secret_raises_the_input_error_before_watching(
    game_day, world, aws, clock
):
    # Given a client secret without its token URL
    aws.secrets.put_secret_value(
        SecretId="dev-us-west-2-game-day-client-v1",
        SecretString=json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
    )

    # When the failover is measured
    # Then the step fails at once, naming the field, not its value, and polls nothing
    with pytest.raises(game_day.settings.GameDayInputError, match="token_url") as raised:
        measure(world)
    assert CLIENT_SECRET not in str(raised.value)
    assert world.requests == []
    assert TOKEN_URL not in str(raised.value)


# The client-credentials grant and the HTTP under it


@dataclass
class TokenEndpoint:
    """A token endpoint that answers `answer` (status, JSON) and records each request."""

    answer: tuple[int, dict[str, Any]] = (
        200,
        {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300},
    )
    requests: list[Any] = field(default_factory=list)

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        return SimpleNamespace(status=self.answer[0], body=json.dumps(self.answer[1]), headers={})


def token_source(game_day: GameDay, endpoint: TokenEndpoint, clock: FakeClock, **secret: Any) -> Any:
    oauth = game_day.part("oauth")
    fields = {"token_url": TOKEN_URL, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **secret}
    return oauth.TokenSource(oauth.ClientCredentials.model_validate(fields), endpoint, clock)


def test_token_request_adds_scope_and_audience_when_the_secret_has_them(game_day, clock):
    # Given a client whose secret names a scope and an audience
    endpoint = TokenEndpoint()
    tokens = token_source(game_day, endpoint, clock, scope="orders/write", audience="https://orders.example")

    # When a token is asked for
    assert tokens.token() == ACCESS_TOKEN

    # Then the form carries them next to the grant and the client's credentials
    (request,) = endpoint.requests
    assert urllib.parse.parse_qs(request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "scope": ["orders/write"],
        "audience": ["https://orders.example"],
    }


def test_token_request_can_authenticate_the_client_with_http_basic(game_day, clock):
    # Given a client whose token endpoint takes client_secret_basic (RFC 6749 2.3.1)
    endpoint = TokenEndpoint()
    tokens = token_source(game_day, endpoint, clock, token_endpoint_auth_method="client_secret_basic")

    # When a token is asked for
    tokens.token()

    # Then the credentials go form-encoded in the Authorization header, and not in the form
    (request,) = endpoint.requests
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert urllib.parse.parse_qs(request.body.decode()) == {"grant_type": ["client_credentials"]}


def test_token_is_cached_for_its_lifetime_less_a_margin(game_day, clock):
    # Given a token that lives 300 s
    endpoint = TokenEndpoint()
    tokens = token_source(game_day, endpoint, clock)
    tokens.token()

    # When it is asked for again 269 s later, and again at 270 s (30 s before it expires)
    clock.advance(269)
    tokens.token()
    cached = len(endpoint.requests)
    clock.advance(1)
    tokens.token()

    # Then the first repeat is answered from the cache, the second fetches a fresh token
    assert (cached, len(endpoint.requests)) == (1, 2)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((401, {"error": "invalid_client"}), "token endpoint answered HTTP 401 (invalid_client)"),
        ((400, {"error": CLIENT_SECRET}), "token endpoint answered HTTP 400"),
        ((200, {"token_type": "Bearer"}), "token endpoint answered 200 without an access_token"),
        ((200, {"access_token": ACCESS_TOKEN, "token_type": "mac"}), "a token that is not a bearer token"),
    ],
    ids=["refused", "odd-error-code", "no-token", "not-bearer"],
)
def test_unusable_token_answer_is_refused_without_repeating_it(game_day, clock, answer, message):
    # Given a token endpoint that answers something the orders API could not take
    tokens = token_source(game_day, TokenEndpoint(answer), clock)

    # When a token is asked for
    # Then TokenUnavailable says why, by status and OAuth error code alone
    with pytest.raises(game_day.part("oauth").TokenUnavailable, match=re.escape(message)) as raised:
        tokens.token()
    assert ACCESS_TOKEN not in str(raised.value)
    assert CLIENT_SECRET not in str(raised.value)


def test_fetch_refuses_anything_but_https(game_day):
    # Given a plain-HTTP URL
    oauth = game_day.part("oauth")

    # When it is fetched
    # Then nothing is sent: a bearer token or a client secret never travels in clear
    with pytest.raises(ValueError, match="only https"):
        oauth.fetch_https(oauth.HttpRequest("GET", f"http://127.0.0.1/health/{HEALTH_TOKEN}"))


def test_fetch_with_no_answer_fails_by_type_without_the_url(game_day):
    # Given a port nothing listens on
    oauth = game_day.part("oauth")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    # When it is fetched
    # Then FetchFailed names the underlying error's type, and not the URL with its token
    with pytest.raises(oauth.FetchFailed) as raised:
        oauth.fetch_https(oauth.HttpRequest("GET", f"https://127.0.0.1:{port}/health/{HEALTH_TOKEN}"))
    assert str(raised.value) == "URLError"
