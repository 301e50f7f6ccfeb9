"""What the game day's tests share: each function's environment, the asset as Lambda loads it (its
steps called through the deployed entry point, `step`, as the state machine calls them), a fake
clock, and the world the watch looks at.

moto stands in for DynamoDB, S3, SNS, SQS, CloudWatch, Secrets Manager and FIS where it models the
call. Where it does not, the world answers through botocore's own stubbing hook, checked against
the service's output shape as botocore's Stubber checks it: Route 53's GetHealthCheckStatus
(moto always answers one "Success"), and the FIS statuses moto never reaches ("failed", an
experiment that stays "initiating"). DNS and HTTP are injected functions on the fake clock:
nothing here sleeps or reaches the network.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from dr_core.config import AppConfig
from dr_core.game_day import GameDayPlan
from tests.conftest import default_context
from tests.handlers.conftest import ACCOUNT, DR, PRIMARY, FakeLambdaContext
from tests.handlers.loader import load_handler

SERVICE = "game_day"
GAME_DAY_ID = "gameday-2025-06-01-7c1e9a55"
OBSERVER = DR
DOMAIN = "orders-dr.internal.test"
API_NAME = f"api.{DOMAIN}"
REGIONAL_NAMES = {region: f"api-{region}.{DOMAIN}" for region in (PRIMARY, DR)}
# The health route's token: it must never be logged, traced or returned.
HEALTH_TOKEN = "b1e2aef643ccccb15642f7b1"
HEALTH_URLS = {region: f"https://{name}/health/{HEALTH_TOKEN}" for region, name in REGIONAL_NAMES.items()}
HEALTH_CHECK_IDS = {
    PRIMARY: "4a1f7c3e-0d2b-4e8f-9a6c-1b2d3e4f5a6b",
    DR: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
}
# A Route 53 hosted zone's delegation set, as query_ns answers it (lower case, trailing dot, sorted).
NAME_SERVERS = sorted(
    ["ns-1536.awsdns-00.co.uk.", "ns-0.awsdns-00.com.", "ns-1024.awsdns-00.org.", "ns-512.awsdns-00.net."]
)
RESOLVERS = ["1.1.1.1", "8.8.8.8"]
# Route 53's checkers: one observation each in GetHealthCheckStatus.
CHECKERS = 16
SUCCESS_REPORT = "Success: HTTP Status Code 200, OK"
FAILURE_REPORT = "Failure: HTTP Status Code 503, Service Unavailable"
RTO_BUDGET = 120
HEALTHY_BODY = (
    '{"status":"ok","region":"%s","checks":{"table":"ok","decrypt":"ok","parameters":"ok"},"fences":[]}'
)
UNAVAILABLE_BODY = (
    '{"status":"unavailable","region":"%s","checks":{"table":"failed","decrypt":"ok","parameters":"ok"},'
    '"fences":[]}'
)
TOKEN_URL = "https://login.orders-idp.test/oauth2/token"
CLIENT_ID = "dr-game-day-client"
CLIENT_SECRET = "cs-9f2b7d41e06a4c58b3d1-secret"
ACCESS_TOKEN = "at-5c3e8a1f94b04d7e8f62-token"
CLIENT_SECRET_ID = "dev-us-west-2-game-day-client-v1"
TEMPLATES = {
    "primary-path": "EXTa1b2c3d4e5f6a7",
    "dynamodb-pause": "EXTb1b2c3d4e5f6a7",
    "s3-pause": "EXTc1b2c3d4e5f6a7",
}
TABLE_NAME = "dev-orders-v1"
SOURCE_BUCKET = "dev-us-east-1-orders-data-v1"
REPLICA_BUCKET = "dev-us-west-2-orders-data-v1"
# The alarms and windows the app ships with its defaults (tests/app/test_monitoring_wiring.py
# holds the names to the primary stack's alarms).
PAUSE_ALARMS = {
    "dynamodb-pause": ["dev-us-east-1-orders-v1-dynamodb-replication-to-us-west-2"],
    "s3-pause": [
        "dev-us-east-1-orders-v1-s3-replication-latency",
        "dev-us-east-1-orders-v1-s3-replication-pending",
    ],
}
_PLAN = GameDayPlan.of(AppConfig.from_context(default_context()))
ALARM_WINDOWS = _PLAN.alarm_window
RESUME_WINDOWS = _PLAN.resume_window
SETTLE_SECONDS = _PLAN.settle_seconds
STEADY_ALARMS = ["dev-us-east-1-serving-us-east-1-v1", "dev-us-east-1-orders-errors-v1"]
GAME_DAY_MACHINE = "dev-us-west-2-dr-game-day-v1"
STATE_MACHINE_ARN = f"arn:aws:states:{OBSERVER}:{ACCOUNT}:stateMachine:{GAME_DAY_MACHINE}"
EVIDENCE_BUCKET = f"dev-{OBSERVER}-drevidence-{ACCOUNT}-v1"
REPORT_TOPIC_ARN = f"arn:aws:sns:{OBSERVER}:{ACCOUNT}:dev-us-west-2-game-day-reports-v1"

_COMMON = {
    # Neither region: a client that ignored its configured region would miss every resource.
    "AWS_DEFAULT_REGION": "eu-central-1",
    "POWERTOOLS_SERVICE_NAME": SERVICE,
    "POWERTOOLS_METRICS_NAMESPACE": "OrdersDr",
}
EXPERIMENT_ENV = {
    **_COMMON,
    "FIS_REGION": PRIMARY,
    "EXPERIMENT_TEMPLATES": json.dumps(TEMPLATES),
}
WATCH_ENV = {
    **_COMMON,
    "PRIMARY_REGION": PRIMARY,
    "DR_REGION": DR,
    "OBSERVER_REGION": OBSERVER,
    "ZONE_NAME": DOMAIN,
    "API_NAME": API_NAME,
    "REGIONAL_NAMES": ",".join(f"{region}={name}" for region, name in REGIONAL_NAMES.items()),
    "HEALTH_URLS": ",".join(f"{region}={url}" for region, url in HEALTH_URLS.items()),
    "HEALTH_CHECK_IDS": ",".join(f"{region}={check}" for region, check in HEALTH_CHECK_IDS.items()),
    "RTO_BUDGET_SECONDS": str(RTO_BUDGET),
    "CLIENT_SECRET_ID": CLIENT_SECRET_ID,
    "STEADY_ALARMS": json.dumps(STEADY_ALARMS),
    "STATE_MACHINE_ARN": STATE_MACHINE_ARN,
}
PAUSE_ENV = {
    **_COMMON,
    "PRIMARY_REGION": PRIMARY,
    "DR_REGION": DR,
    "TABLE_NAME": TABLE_NAME,
    "SOURCE_BUCKET": SOURCE_BUCKET,
    "REPLICA_BUCKET": REPLICA_BUCKET,
    "PAUSE_ALARMS": json.dumps(PAUSE_ALARMS),
    "ALARM_WINDOW_SECONDS": json.dumps(ALARM_WINDOWS),
    "RESUME_WINDOW_SECONDS": json.dumps(RESUME_WINDOWS),
    "SETTLE_SECONDS": str(SETTLE_SECONDS),
}
REPORT_ENV = {
    **_COMMON,
    "OBSERVER_REGION": OBSERVER,
    "EVIDENCE_BUCKET": EVIDENCE_BUCKET,
    "REPORT_TOPIC_ARN": REPORT_TOPIC_ARN,
}


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


class FakeClock:
    """Epoch time that moves only when a step sleeps (or a fake takes time); scheduled changes to
    the world happen as it passes."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self._scheduled: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.now

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        self._scheduled.append((self.now + seconds, action))
        self.advance(0)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in sorted((e for e in self._scheduled if e[0] <= self.now), key=lambda e: e[0]):
            self._scheduled.remove(entry)
            entry[1]()


@dataclass
class ClockedContext(FakeLambdaContext):
    """A Lambda context whose remaining time runs on the fake clock."""

    clock: FakeClock | None = None
    ends_at: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        assert self.clock is not None
        return max(0, int((self.ends_at - self.clock.now) * 1000))


def context_on(clock: FakeClock, seconds: float = 900.0, name: str = "game-day") -> ClockedContext:
    return ClockedContext(
        function_name=name, timeout_seconds=seconds, clock=clock, ends_at=clock.now + seconds
    )


class GameDay:
    """The asset as Lambda loads it, imported on first use inside the test itself.

    Powertools binds its log handler to the sys.stdout current at import, and pytest gives each
    test phase its own, so importing in a fixture would hide log lines from capsys.
    """

    def __init__(self) -> None:
        self._module: ModuleType | None = None

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            logging.Logger.manager.loggerDict.pop(SERVICE, None)
            self._module = load_handler("game_day")
        return self._module

    def part(self, name: str) -> ModuleType:
        """One of the asset's modules, as the handler imported it."""
        self.module  # noqa: B018  (loads the asset first)
        return sys.modules[name]

    @property
    def settings(self) -> ModuleType:
        return self.part("settings")

    def config(self, name: str) -> Any:
        return self.settings.configuration(getattr(self.settings, name))

    def use(self, monkeypatch: pytest.MonkeyPatch, **io: Any) -> None:
        """Replace what the handler reaches the world through (fetch, query_ns, query_cname, clock, sleep)."""
        monkeypatch.setattr(self.module, "IO", self.module.Io(**{**vars(self.module.IO), **io}))

    def step(self, name: str, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Run step `name` as the state machine does: through the deployed entry point `step`, with
        the event as the whole state, and a tick's phase beside it rather than in it."""
        state = dict(event)
        extra = {"phase": state.pop("phase")} if "phase" in state else {}
        return self.entry("step", {"step": name, "state": state, **extra}, context or FakeLambdaContext(name))

    def entry(self, entry_point: str, data: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Call one of the handler's entry points directly."""
        result: dict[str, Any] = getattr(self.module, entry_point)(
            data, context or FakeLambdaContext(entry_point)
        )
        return result


# AWS calls moto does not model


@dataclass(frozen=True)
class AwsError:
    """What a handler returns to make the call raise ClientError, as AWS answers an error."""

    code: str
    status: int = 400
    message: str = ""


@dataclass
class Answers:
    """Answers a client's calls from Python, computed at call time, through the hook botocore's
    Stubber uses (before-call); every answer is checked against the operation's output shape, as
    Stubber checks its canned ones. A call with no handler fails the test."""

    client: Any
    handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        events = self.client.meta.events
        events.register_first("before-parameter-build.*.*", self._keep_params)
        events.register("before-call.*.*", self._answer)

    def on(self, operation: str, handler: Callable[..., Any]) -> Answers:
        self.handlers[operation] = handler
        return self

    def _keep_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["answers_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context.get("answers_params", {})
        self.calls.append((model.name, params))
        if model.name not in self.handlers:
            raise AssertionError(f"unexpected call: {model.name}")
        answer = self.handlers[model.name](**params)
        if isinstance(answer, AwsError):
            error = {"Code": answer.code, "Message": answer.message or answer.code}
            metadata = {"HTTPStatusCode": answer.status}
            return AWSResponse(None, answer.status, {}, None), {"Error": error, "ResponseMetadata": metadata}
        validate_parameters(answer, model.output_shape)
        return AWSResponse(None, 200, {}, None), {**answer, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@cache
def _session() -> boto3.Session:
    # One session for every test: it loads each service's model once (mock_aws patches them all alike).
    return boto3.Session()


def aws_client(service: str, region: str) -> Any:
    return _session().client(service, region_name=region)


def observations(succeeding: int, total: int = CHECKERS) -> list[dict[str, Any]]:
    """GetHealthCheckStatus's observations: `succeeding` checkers reporting Success, the rest Failure."""
    return [
        {
            "Region": "us-east-1",
            "IPAddress": f"15.177.0.{index + 1}",
            "StatusReport": {"Status": SUCCESS_REPORT if index < succeeding else FAILURE_REPORT},
        }
        for index in range(total)
    ]


# The primary-path world


@dataclass(frozen=True)
class OrderAnswer:
    status: int
    region: str | None


class FailoverWorld:
    """Both regions as the watch sees them from outside, changing on the fake clock.

    Health routes answer from `healthy`; Route 53's checkers report from `checkers`; each
    authoritative server answers the API name from `dns`; the orders API, through the normal
    resolver, reaches `client_region` (what a client's cache holds), and a region whose health
    fails fails its orders too (the FIS fault fails the whole function).
    """

    def __init__(self, clock: FakeClock, game_day: GameDay, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock, self.game_day, self._monkeypatch = clock, game_day, monkeypatch
        self.healthy = {PRIMARY: True, DR: True}
        self.checkers = {PRIMARY: CHECKERS, DR: CHECKERS}
        self.dns = dict.fromkeys(NAME_SERVERS, PRIMARY)
        self.client_region = PRIMARY
        self.failing_resolvers: set[str] = set()
        self.token_status = 200
        self.requests: list[Any] = []
        self.orders: list[OrderAnswer] = []
        self.placed: set[str] = set()
        self.order_override: OrderAnswer | None = None
        self.route53: Answers | None = None
        # What the watch asked the normal resolver, and when.
        self.resolved: list[tuple[str, float]] = []

    def install(self) -> None:
        """Put the world behind the handler: its DNS, HTTP and clock, and its own Route 53 client
        answering for the checkers. Call inside the test: it loads the asset."""
        if self.route53 is None:
            route53 = self.game_day.module.client("route53", OBSERVER)
            self.route53 = Answers(route53).on("GetHealthCheckStatus", self._status)
            self.game_day.use(self._monkeypatch, **self.io())

    # What the game day's experiment and Route 53 do, scheduled on the clock

    def at(self, seconds: float, **changes: Any) -> None:
        """After `seconds`, set the given attributes' entries: healthy=..., checkers=..., dns=..."""

        def apply() -> None:
            for name, value in changes.items():
                current = getattr(self, name)
                if isinstance(current, dict):
                    current.update(value)
                else:
                    setattr(self, name, value)

        self.clock.after(seconds, apply)

    def failover(self, fault: float, unhealthy: float, dns: float, order: float) -> None:
        """The fault begins `fault` s from now; Route 53 sees it `unhealthy` s later; every server
        answers DR `dns` s after that; clients reach DR `order` s after that."""
        self.at(fault, healthy={PRIMARY: False})
        self.at(fault + unhealthy, checkers={PRIMARY: 0})
        self.at(fault + unhealthy + dns, dns=dict.fromkeys(NAME_SERVERS, DR))
        self.at(fault + unhealthy + dns + order, client_region=DR)

    # The fakes the handler is given

    def fetch(self, request: Any) -> Any:
        self.requests.append(request)
        answer = self._answer
        for region, url in HEALTH_URLS.items():
            if request.url == url:
                assert request.method == "GET"
                body = (HEALTHY_BODY if self.healthy[region] else UNAVAILABLE_BODY) % region
                return answer(
                    200 if self.healthy[region] else 503, body, {"content-type": "application/json"}
                )
        if request.url == TOKEN_URL:
            return self._token(request)
        if request.url == f"https://{API_NAME}/orders":
            return self._order(request)
        raise AssertionError("a URL the game day has no business with")

    def query_ns(self, resolver: str, zone: str, *, timeout: float) -> list[str]:
        assert zone == DOMAIN and timeout > 0
        if resolver in self.failing_resolvers:
            raise self.game_day.part("dns_wire").DnsQueryFailed(
                f"no answer from {resolver} port 53 (UDP) for {zone} within 2.0 s"
            )
        return list(NAME_SERVERS)

    def query_cname(self, server: str, name: str, *, timeout: float) -> str:
        assert name == API_NAME and timeout > 0
        region = self.dns[server]
        if region is None:
            raise self.game_day.part("dns_wire").DnsQueryFailed(
                f"no answer from {server} port 53 (UDP) for {name} within 2.0 s"
            )
        return f"{REGIONAL_NAMES[region]}."

    def step(self, name: str, event: dict[str, Any], invocation: float = 900.0) -> dict[str, Any]:
        """Run a watch step in this world, in an invocation of `invocation` s on the fake clock."""
        self.install()
        return self.game_day.step(name, event, context_on(self.clock, invocation))

    def io(self) -> dict[str, Any]:
        return {
            "fetch": self.fetch,
            "query_ns": self.query_ns,
            "query_cname": self.query_cname,
            "clock": self.clock,
            "sleep": self.clock.sleep,
            "resolve": self.resolve,
        }

    def resolve(self, name: str) -> None:
        self.resolved.append((name, self.clock.now))

    @property
    def _answer(self) -> Any:
        return self.game_day.part("oauth").HttpAnswer

    def token_requests(self) -> list[Any]:
        return [request for request in self.requests if request.url == TOKEN_URL]

    def _status(self, HealthCheckId: str) -> dict[str, Any]:
        (region,) = (region for region, check in HEALTH_CHECK_IDS.items() if check == HealthCheckId)
        return {"HealthCheckObservations": observations(self.checkers[region])}

    def _token(self, request: Any) -> Any:
        form = urllib.parse.parse_qs(request.body.decode())
        assert request.method == "POST"
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        valid = form == {
            "grant_type": ["client_credentials"],
            "client_id": [CLIENT_ID],
            "client_secret": [CLIENT_SECRET],
        }
        if self.token_status != 200 or not valid:
            return self._answer(self.token_status if valid else 401, '{"error":"invalid_client"}', {})
        body = json.dumps({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600})
        return self._answer(200, body, {"content-type": "application/json", "cache-control": "no-store"})

    def _order(self, request: Any) -> Any:
        assert request.method == "POST"
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return self._answer(401, '{"message":"Unauthorized"}', {})
        region = self.client_region
        if self.order_override is not None:
            answer = self.order_override
        elif not self.healthy[region]:
            # The FIS fault fails the function: API Gateway answers for it, without the region header.
            answer = OrderAnswer(500, None)
        else:
            order_id = json.loads(request.body)["order_id"]
            answer = OrderAnswer(200 if order_id in self.placed else 201, region)
            self.placed.add(order_id)
        self.orders.append(answer)
        headers = {"content-type": "application/json"}
        if answer.region:
            headers["x-orders-region"] = answer.region
        return self._answer(answer.status, "{}", headers)


def put_client_secret(secrets: Any, **overrides: Any) -> None:
    value = {"token_url": TOKEN_URL, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **overrides}
    secrets.create_secret(Name=CLIENT_SECRET_ID, SecretString=json.dumps(value))


def create_alarm(cloudwatch: Any, name: str, state: str = "OK") -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/DynamoDB",
        MetricName="ReplicationLatency",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=5,
        DatapointsToAlarm=3,
        Threshold=60000,
        ComparisonOperator="GreaterThanThreshold",
    )
    if state != "OK":
        set_alarm(cloudwatch, name, state)


def set_alarm(cloudwatch: Any, name: str, state: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="game day test")


def emitted_metrics(out: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], tuple[list[float], str]]:
    """The EMF documents in a step's output: (name, dimensions) -> (values, unit)."""
    metrics = {}
    for line in (json.loads(line) for line in out.splitlines() if line.startswith("{")):
        if "_aws" not in line:
            continue
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "OrdersDr"
        (metric,) = directive["Metrics"]
        (dimensions,) = directive["Dimensions"]
        key = (metric["Name"], tuple((name, line[name]) for name in dimensions))
        metrics[key] = (line[metric["Name"]], metric["Unit"])
    return metrics
