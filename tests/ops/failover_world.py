"""One world for the failover and failback tests: two regions in moto, and fakes for the rest.

moto holds the orders table in each region (it does not replicate between them: a test reads the
replica the write went to), CloudWatch's datapoints (matched by moto with the dimensions in the
order they were put, as the commands ask), STS, DynamoDB and RDS (empty here: tests/ops/
database_world.py adds the instances and what moto does not model of them). Lambda's GetAccountSettings is not
in moto 5.2.5, so each region's Lambda client is stubbed whole (botocore Stubber). HTTP (the
health routes), the public resolvers, the authoritative name servers and the clock are fakes:
no network, no real sleep. The fake Route 53 answers with the DR region once the primary's fence
is in the replica it reads, each name server after its own delay.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import Stubber
from rich.console import Console

from dr_core.failover import fence_key, fenced_token
from dr_core.shared_names import SharedNames
from dr_ops.aws import AwsClients
from dr_ops.cli import main
from dr_ops.dns_delegation import LookupFailed, NsLookup
from dr_ops.switch.database import failback_replica
from dr_ops.switch.io import HttpAnswer, HttpFailed, SwitchIo
from dr_ops.tools import Tools
from tests.ops.helpers import MOTO_NAME_SERVERS, ROOT, config, delegated_to

PRIMARY, DR = "us-east-1", "us-west-2"
NAMES = SharedNames.of(config())
TABLE = NAMES.orders_table
FAILBACK_REPLICA = failback_replica(config())
HEALTH_PATH = config().traffic.health_path
API = "api.orders-dr.internal.test"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
CNAME = {
    PRIMARY: "api-us-east-1.orders-dr.internal.test.",
    DR: "api-us-west-2.orders-dr.internal.test.",
}
SERVERS = tuple(sorted(MOTO_NAME_SERVERS))
# Seconds after the fence appears until each authoritative server answers DR: first at 30, all at 40.
DELAYS = dict(zip(SERVERS, (30.0, 30.0, 35.0, 40.0), strict=True))
HEALTH_LATENCY_SECONDS = 0.2


def health_url(region: str) -> str:
    return f"https://api-{region}.orders-dr.internal.test{HEALTH_PATH}"


def healthy(region: str, fenced: tuple[str, ...] = ()) -> HttpAnswer:
    """The health route's answer as the health function gives it: "status" first."""
    checks = {"table": "ok", "decrypt": "ok", "parameters": "ok"}
    body = {"status": "ok", "region": region, "checks": checks, "fences": [f"fenced:{r}" for r in fenced]}
    return HttpAnswer(200, json.dumps(body).encode())


@dataclass
class FakeClock:
    seconds: float = 0.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self.seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.seconds += seconds


@dataclass
class FakeHttp:
    """Each region's health answer (or the failure to get one); every GET takes 0.2 s of the clock."""

    clock: FakeClock
    answers: dict[str, HttpAnswer | str]
    asked: list[str] = field(default_factory=list)

    def __call__(self, url: str, timeout: float) -> HttpAnswer:
        self.asked.append(url)
        self.clock.seconds += HEALTH_LATENCY_SECONDS
        region = next(r for r in (PRIMARY, DR) if url == health_url(r))
        answer = self.answers[region]
        if isinstance(answer, str):
            raise HttpFailed(answer)
        return answer


@dataclass
class FakeRoute53:
    """The authoritative servers: the primary while it is not fenced, then, ``delays[server]``
    seconds after the first query that finds it fenced, the DR region (None: never)."""

    clock: FakeClock
    primary_fenced: Callable[[], bool]
    delays: dict[str, float | None]
    fenced_since: float | None = None
    asked: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, server: str, name: str) -> str:
        self.asked.append((server, name))
        if name != API:
            raise LookupFailed("NXDOMAIN")
        if not self.primary_fenced():
            self.fenced_since = None
            return CNAME[PRIMARY]
        if self.fenced_since is None:
            self.fenced_since = self.clock.seconds
        delay = self.delays[server]
        if delay is not None and self.clock.seconds - self.fenced_since >= delay:
            return CNAME[DR]
        return CNAME[PRIMARY]


@dataclass
class Capacity:
    unreserved: int = 990
    # None: the order function reserves nothing; a number: its reservation.
    reserved: int | None = None


@dataclass
class World:
    aws: AwsClients
    clock: FakeClock = field(default_factory=FakeClock)
    # Milliseconds for DynamoDB, seconds for the rest; None: no datapoint. PostgreSQL: the DR
    # replica's ReplicaLag; "postgres back": the primary region's replica's, of failback --database.
    lag: dict[str, float | None] = field(
        default_factory=lambda: {
            "dynamodb": 800.0,
            "dynamodb back": 600.0,
            "s3": 60.0,
            "sns": 2.0,
            "ssm": 30.0,
            "postgres": 4.0,
            "postgres back": None,
        }
    )
    # The order function's peak ConcurrentExecutions in the last hour, by region.
    peak: dict[str, float | None] = field(default_factory=lambda: {PRIMARY: 40.0, DR: 3.0})
    capacity: dict[str, Capacity] = field(default_factory=lambda: {PRIMARY: Capacity(), DR: Capacity()})
    delays: dict[str, float | None] = field(default_factory=lambda: dict(DELAYS))
    # The replica the fake Route 53 reads the primary's fence from (moto does not replicate).
    route53_reads: str = DR
    confirm: Callable[[str], bool] | None = None
    # The public resolvers: every one answers the moto zone's name servers.
    lookup: NsLookup = field(default_factory=lambda: delegated_to(MOTO_NAME_SERVERS))
    output: io.StringIO = field(default_factory=io.StringIO)
    # Extra Stubbers a test sets up on clients of its own choice, entered for the run.
    stubs: list[Stubber] = field(default_factory=list)
    http: FakeHttp = field(init=False)
    route53: FakeRoute53 = field(init=False)
    own: AwsClients = field(init=False)

    def __post_init__(self) -> None:
        # The world's own clients, apart from the command's: a Stubber a test puts on one of those
        # does not answer the world's reads.
        self.own = AwsClients(boto3.session.Session())
        self.http = FakeHttp(self.clock, {PRIMARY: healthy(PRIMARY), DR: healthy(DR)})
        self.route53 = FakeRoute53(
            self.clock, lambda: self.fence(PRIMARY, via=self.route53_reads) is not None, {}
        )
        for region in (PRIMARY, DR):
            self.own.client("dynamodb", region).create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )

    def run(self, *argv: str) -> int:
        """Publishes the metrics, stubs Lambda as ``capacity`` says, then runs the command."""
        self._publish()
        self.route53.delays = self.delays
        console = Console(file=self.output, width=200, highlight=False, color_system=None)
        switch = SwitchIo(self.http, self.route53, self.clock, console, self.confirm)
        tools = Tools(
            run=_no_commands,
            aws=lambda _profile: self.aws,
            lookup=self.lookup,
            root=ROOT,
            assembly_dir=ROOT / "cdk.out",
            switch=switch,
        )
        with ExitStack() as stack:
            for region, capacity in self.capacity.items():
                stack.enter_context(_lambda_answers(self.aws, region, capacity))
            for stubber in self.stubs:
                stack.enter_context(stubber)
            return main(list(argv), tools)

    @property
    def out(self) -> str:
        return self.output.getvalue()

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.out.splitlines() if line.startswith(prefix)]

    def report(self) -> list[list[str]]:
        """The timed report's rows, each as its cells."""
        rows = [line.split("│")[1:-1] for line in self.out.splitlines() if line.startswith("│")]
        return [[cell.strip() for cell in row] for row in rows]

    def line(self, check: str) -> str:
        """The one line of a pre-check, by its name."""
        found = [line for line in self.out.splitlines() if line[9:25].strip() == check]
        assert len(found) == 1, self.out
        return found[0]

    def fence(self, fenced: str, *, via: str) -> dict[str, str] | None:
        item = self.own.client("dynamodb", via).get_item(
            TableName=TABLE, Key={"order_id": {"S": fence_key(fenced)}}
        )
        return {k: v["S"] for k, v in item["Item"].items()} if "Item" in item else None

    def put_fence(self, fenced: str, *, via: str) -> None:
        item = {
            "order_id": fence_key(fenced),
            "fenced_at": "2026-05-04T11:00:00+00:00",
            "fenced_by": "x",
            "reason": "r",
        }
        self.own.client("dynamodb", via).put_item(
            TableName=TABLE, Item={k: {"S": v} for k, v in item.items()}
        )

    def _publish(self) -> None:
        """Each metric's datapoint two minutes before the run starts (the drill's: three hours)."""
        at = self.clock.now() - timedelta(minutes=2)
        by_region: dict[str, list[tuple[str, str, tuple[tuple[str, str], ...], float | None]]] = {
            PRIMARY: [
                (
                    "AWS/DynamoDB",
                    "ReplicationLatency",
                    (("TableName", TABLE), ("ReceivingRegion", DR)),
                    self.lag["dynamodb"],
                ),
                (
                    "AWS/S3",
                    "ReplicationLatency",
                    (
                        ("SourceBucket", NAMES.primary.data_bucket),
                        ("DestinationBucket", NAMES.dr.data_bucket),
                        ("RuleId", "replicate-everything"),
                    ),
                    self.lag["s3"],
                ),
                (
                    "AWS/Lambda",
                    "ConcurrentExecutions",
                    (("FunctionName", NAMES.primary.order_function),),
                    self.peak[PRIMARY],
                ),
                (
                    "AWS/RDS",
                    "ReplicaLag",
                    (("DBInstanceIdentifier", FAILBACK_REPLICA),),
                    self.lag["postgres back"],
                ),
            ],
            DR: [
                (
                    "AWS/DynamoDB",
                    "ReplicationLatency",
                    (("TableName", TABLE), ("ReceivingRegion", PRIMARY)),
                    self.lag["dynamodb back"],
                ),
                (
                    "AWS/Lambda",
                    "ConcurrentExecutions",
                    (("FunctionName", NAMES.dr.order_function),),
                    self.peak[DR],
                ),
                (
                    "AWS/RDS",
                    "ReplicaLag",
                    (("DBInstanceIdentifier", NAMES.database_replica),),
                    self.lag["postgres"],
                ),
            ],
        }
        for region, metrics in by_region.items():
            cloudwatch = self.own.client("cloudwatch", region)
            for namespace, name, dimensions, value in metrics:
                if value is not None:
                    put_datapoint(cloudwatch, namespace, name, dimensions, value, at)
        # The drill publishes from the observer region (the DR region by default), every 6 h.
        observer = self.own.client("cloudwatch", DR)
        for store in ("sns", "ssm"):
            value = self.lag[store]
            if value is not None:
                dimensions = (("Store", store), ("service", "dr_drill"))
                put_datapoint(
                    observer,
                    "OrdersDr",
                    "DrillReplicationLagSeconds",
                    dimensions,
                    value,
                    self.clock.now() - timedelta(hours=3),
                )


def put_datapoint(
    cloudwatch: Any,
    namespace: str,
    name: str,
    dimensions: tuple[tuple[str, str], ...],
    value: float,
    at: datetime,
) -> None:
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                "Timestamp": at,
                "Value": value,
            }
        ],
    )


def _lambda_answers(aws: AwsClients, region: str, capacity: Capacity) -> Stubber:
    """The region's Lambda as the capacity check asks it: the reservation, then (without one) the
    account's unreserved pool. Unused answers of the region traffic does not move to do no harm."""
    stubber = Stubber(aws.client("lambda", region))
    function = NAMES.primary.order_function if region == PRIMARY else NAMES.dr.order_function
    reservation: Mapping[str, Any] = {}
    if capacity.reserved is not None:
        reservation = {"ReservedConcurrentExecutions": capacity.reserved}
    stubber.add_response("get_function_concurrency", dict(reservation), {"FunctionName": function})
    limits = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": capacity.unreserved}
    stubber.add_response("get_account_settings", {"AccountLimit": limits}, {})
    return stubber


def _no_commands(command: Any) -> int:
    raise AssertionError(f"failover and failback run no command, yet ran {command}")


def fenced_body(region: str, fenced: str) -> HttpAnswer:
    """A health answer listing a fenced region, as its token says it."""
    assert fenced_token(fenced) == f'"fenced:{fenced}"'
    return healthy(region, (fenced,))
