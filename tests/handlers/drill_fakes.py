"""What the DR drill's tests share: its environment, both regions' resources in moto, and fakes.

moto replicates nothing across regions, so the tests play each replication path themselves: a
fake clock runs the copy once the probe has waited long enough, and nothing really sleeps.
"""

from __future__ import annotations

import io
import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest

from tests.handlers.conftest import ACCOUNT, DR, PRIMARY, FakeLambdaContext
from tests.handlers.loader import load_handler

DRILL_ID = "3f1c2b9e-7d4a-4c1e-9a55-0c8e6f2d1b7a"
RPO_TARGETS = {"dynamodb": 5, "s3": 900, "sns": 60, "ssm": 300}
POLL_TIMEOUT = 30.0
# stacks: a probe function's timeout is POLL_TIMEOUT_SECONDS (120) + 30.
PROBE_FUNCTION_TIMEOUT = 150.0
SERVICE = "dr_drill"
ITEM_KEY = {"order_id": {"S": f"drill#{DRILL_ID}"}}
DR_ALERTS_ARN = f"arn:aws:sns:{DR}:{ACCOUNT}:dev-us-west-2-alerts-v1"
# The DR order function's healthy answer on its health route (test_orders_health.py holds them equal).
HEALTHY_BODY = (
    '{"status":"ok","region":"us-west-2",'
    '"checks":{"table":"ok","decrypt":"ok","parameters":"ok"},"fences":[]}'
)
HEALTH_PATH = "/health/b1e2aef643ccccb15642f7b1"
# What the stack gives the drill's functions, all steps' variables together.
ENV = {
    # Neither region: a client that ignored PRIMARY_REGION or DR_REGION would miss every resource.
    "AWS_DEFAULT_REGION": "eu-central-1",
    "PRIMARY_REGION": PRIMARY,
    "DR_REGION": DR,
    "POLL_TIMEOUT_SECONDS": f"{POLL_TIMEOUT:g}",
    "POLL_INTERVAL_SECONDS": "2",
    "TABLE_NAME": "dev-orders-v1",
    "SOURCE_BUCKET": "dev-us-east-1-orders-data-v1",
    "REPLICA_BUCKET": "dev-us-west-2-orders-data-v1",
    "SOURCE_TOPIC_ARN": f"arn:aws:sns:{PRIMARY}:{ACCOUNT}:dev-us-east-1-alerts-v1",
    "INBOX_QUEUE_URL": f"https://sqs.{DR}.amazonaws.com/{ACCOUNT}/dev-us-west-2-drill-inbox-v1",
    "DR_HEALTH_URL": f"https://api-{DR}.orders-dr.internal.test{HEALTH_PATH}",
    "DR_ORDER_FUNCTION_NAME": "dev-us-west-2-orders-v1",
    "HEALTH_CHECK_IDS": f"{PRIMARY}=hc-primary,{DR}=hc-dr",
    "SOURCE_PARAMETER": "/dev-us-east-1-orders-v1/drill/canary",
    "TARGET_PARAMETER": "/dev-us-west-2-orders-v1/drill/canary",
    "SOURCE_KEY_ID": "alias/dev-us-east-1-orders-v1",
    "REPORT_TOPIC_ARN": f"arn:aws:sns:{PRIMARY}:{ACCOUNT}:dev-us-east-1-drill-reports-v1",
    "RPO_TARGETS": json.dumps(RPO_TARGETS),
    "EVIDENCE_BUCKET": f"dev-{PRIMARY}-drevidence-{ACCOUNT}-v1",
    "POWERTOOLS_SERVICE_NAME": SERVICE,
    "POWERTOOLS_METRICS_NAMESPACE": "OrdersDr",
}
# probe: its primary client's service, its DR client's service, its configuration model
PROBES = {
    "dynamodb": ("dynamodb", "dynamodb", "DynamoDbConfig"),
    "s3": ("s3", "s3", "S3Config"),
    "sns": ("sns", "sqs", "SnsConfig"),
    "ssm": ("ssm", "ssm", "SsmConfig"),
}


def set_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


class Drill:
    """The drill's code as Lambda loads it, imported on first use inside the test itself.

    Powertools binds its log handler to the sys.stdout current at import, and pytest gives
    each test phase its own, so importing in a fixture would hide log lines from capsys.
    """

    def __init__(self) -> None:
        self._module: ModuleType | None = None

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            logging.Logger.manager.loggerDict.pop(SERVICE, None)
            self._module = load_handler("dr_drill")
        return self._module

    @property
    def probes(self) -> ModuleType:
        return self.module.probes

    @property
    def models(self) -> ModuleType:
        return sys.modules[self.module.configuration.__module__]

    def client(self, service: str, region: str) -> Any:
        return self.module.client(service, region)

    def config(self, name: str) -> Any:
        return self.module.configuration(getattr(self.models, name))

    def step(self, name: str, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return getattr(self.module, name)(event, context or FakeLambdaContext(function_name=name))


def run_probe(drill: Drill, probe: str, budget: Any, primary: Any = None, dr: Any = None) -> Any:
    """A replication probe with the handler's clients (unless given others) and configuration."""
    primary_service, dr_service, config = PROBES[probe]
    return getattr(drill.probes, f"probe_{probe}")(
        primary or drill.client(primary_service, PRIMARY),
        dr or drill.client(dr_service, DR),
        drill.config(config),
        DRILL_ID,
        budget,
    )


class FakeClock:
    """Monotonic time that moves only when a probe waits; scheduled replication runs as it passes."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._scheduled: list[tuple[float, Callable[[], None]]] = []

    def __call__(self) -> float:
        return self.now

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        self._scheduled.append((self.now + seconds, action))

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def wait_for_event(self, limit: float) -> None:
        """What a long poll does: return when something happens, or when the wait is over."""
        next_event = min((when for when, _ in self._scheduled), default=math.inf)
        self.advance(min(limit, max(next_event - self.now, 0)))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for entry in [entry for entry in self._scheduled if entry[0] <= self.now]:
            self._scheduled.remove(entry)
            entry[1]()

    def budget(self, drill: Drill, poll_seconds: float = POLL_TIMEOUT, invocation: float = 1e6) -> Any:
        """A probe's budget on this clock, in an invocation with `invocation` seconds left."""
        ends = self.now + invocation
        context = SimpleNamespace(get_remaining_time_in_millis=lambda: int((ends - self.now) * 1000))
        return drill.probes.Budget(poll_seconds, context, self, self.sleep)


class LongPollingQueue:
    """An SQS client whose long polls wait on the fake clock (moto's would really wait)."""

    def __init__(self, sqs: Any, clock: FakeClock) -> None:
        self._sqs = sqs
        self._clock = clock
        self.waits: list[int] = []

    def receive_message(self, *, WaitTimeSeconds: int = 0, **kwargs: Any) -> dict[str, Any]:
        self.waits.append(WaitTimeSeconds)
        response = self._sqs.receive_message(WaitTimeSeconds=0, **kwargs)
        if response.get("Messages") or not WaitTimeSeconds:
            return response
        self._clock.wait_for_event(WaitTimeSeconds)
        return self._sqs.receive_message(WaitTimeSeconds=0, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)


def worst_case(client: Any) -> float:
    """The longest one call on `client` can take, read from its botocore Config: every attempt
    waits out its connect and read timeouts (S3 first waits up to 1 s for "100 Continue"), and
    standard-mode retry n backs off up to min(2**(n-1), 20) s, plus up to 5 s x-amz-retry-after."""
    config = client.meta.config
    retries = config.retries or {}
    attempts = retries.get("total_max_attempts", retries.get("max_attempts", 4) + 1)
    expect = 1 if client.meta.service_model.service_name == "s3" else 0
    backoff = sum(min(2**n, 20) + 5 for n in range(attempts - 1))
    return attempts * (config.connect_timeout + config.read_timeout + expect) + backoff


@dataclass
class SlowClient:
    """A client every call of which takes its worst case on the fake clock, and is recorded."""

    client: Any
    clock: FakeClock
    calls: list[tuple[str, float, float]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name == "meta":
            return method

        def call(**kwargs: Any) -> Any:
            if "WaitTimeSeconds" in kwargs:
                kwargs["WaitTimeSeconds"] = 0  # the fake clock has waited; moto's would really wait
            started = self.clock.now
            self.clock.advance(worst_case(self.client))
            self.calls.append((name, started, self.clock.now))
            return method(**kwargs)

        return call


@dataclass
class Aws:
    """Both regions' resources in moto, and the replication paths the tests play by hand."""

    clients: dict[str, dict[str, Any]]
    route53: Any
    kms_key_arn: str
    inbox_url: str
    tap_url: str
    report_url: str
    health_check_ids: dict[str, str]

    def __getattr__(self, service: str) -> dict[str, Any]:
        if service not in self.__dict__.get("clients", {}):
            raise AttributeError(service)
        return self.clients[service]

    def replication(self, probe: str) -> Callable[[], None]:
        """The path that carries `probe`'s canary to the DR region."""
        return {
            "dynamodb": self.replicate_item,
            "s3": self.replicate_object,
            "sns": self.forward_alerts,
            "ssm": self.replicate_parameter,
        }[probe]

    def canaries_left(self, probe: str) -> list[Any]:
        """What `probe` wrote to the primary region and has not removed."""
        if probe == "dynamodb":
            item = self.dynamodb[PRIMARY].get_item(TableName=ENV["TABLE_NAME"], Key=ITEM_KEY).get("Item")
            return [item] if item else []
        listing = self.s3[PRIMARY].list_objects_v2(Bucket=ENV["SOURCE_BUCKET"])
        return [entry["Key"] for entry in listing.get("Contents", [])]

    def replicate_item(self) -> None:
        item = self.dynamodb[PRIMARY].get_item(TableName=ENV["TABLE_NAME"], Key=ITEM_KEY)["Item"]
        self.dynamodb[DR].put_item(TableName=ENV["TABLE_NAME"], Item=item)

    def replicate_object(self) -> None:
        key = f"drill/{DRILL_ID}.txt"
        body = self.s3[PRIMARY].get_object(Bucket=ENV["SOURCE_BUCKET"], Key=key)["Body"].read()
        self.s3[DR].put_object(Bucket=ENV["REPLICA_BUCKET"], Key=key, Body=body)

    def forward_alerts(self) -> None:
        """What the DR alert forwarder does with the primary topic's messages."""
        tap = self.sqs[PRIMARY]
        for message in tap.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10).get("Messages", []):
            envelope = json.loads(message["Body"])
            self.sns[DR].publish(
                TopicArn=DR_ALERTS_ARN,
                Message=envelope["Message"],
                Subject=f"[{PRIMARY}] {envelope['Subject']}",
                MessageAttributes={"forwarded_from": {"DataType": "String", "StringValue": PRIMARY}},
            )
            tap.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])

    def replicate_parameter(self) -> None:
        value = self.source_value()
        self.ssm[DR].put_parameter(
            Name=ENV["TARGET_PARAMETER"], Value=value, Type="SecureString", Overwrite=True
        )

    def source_value(self) -> str:
        parameter = self.ssm[PRIMARY].get_parameter(Name=ENV["SOURCE_PARAMETER"], WithDecryption=True)
        return parameter["Parameter"]["Value"]

    def inbox_count(self) -> int:
        attributes = self.sqs[DR].get_queue_attributes(
            QueueUrl=self.inbox_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(count) for count in attributes.values())


@cache
def _session() -> boto3.Session:
    # One session for every test: it loads each service's model once (mock_aws patches them all alike).
    return boto3.Session()


def build_aws(monkeypatch: pytest.MonkeyPatch) -> Aws:
    """Create both regions' resources; call inside mock_aws()."""
    boto = _session()
    clients = {
        service: {region: boto.client(service, region_name=region) for region in (PRIMARY, DR)}
        for service in ("dynamodb", "s3", "sns", "sqs", "ssm")
    }
    for region in (PRIMARY, DR):
        clients["dynamodb"][region].create_table(
            TableName=ENV["TABLE_NAME"],
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    kms_key_arn = boto.client("kms", region_name=PRIMARY).create_key()["KeyMetadata"]["Arn"]
    s3 = clients["s3"]
    s3[PRIMARY].create_bucket(Bucket=ENV["SOURCE_BUCKET"])
    s3[PRIMARY].put_bucket_versioning(
        Bucket=ENV["SOURCE_BUCKET"], VersioningConfiguration={"Status": "Enabled"}
    )
    default_key = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_arn}
    s3[PRIMARY].put_bucket_encryption(
        Bucket=ENV["SOURCE_BUCKET"],
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default_key}]},
    )
    s3[DR].create_bucket(Bucket=ENV["REPLICA_BUCKET"], CreateBucketConfiguration={"LocationConstraint": DR})
    s3[PRIMARY].create_bucket(Bucket=ENV["EVIDENCE_BUCKET"], ObjectLockEnabledForBucket=True)
    s3[PRIMARY].put_object_lock_configuration(
        Bucket=ENV["EVIDENCE_BUCKET"],
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
        },
    )
    sns, sqs = clients["sns"], clients["sqs"]
    topics = (ENV["SOURCE_TOPIC_ARN"], DR_ALERTS_ARN, ENV["REPORT_TOPIC_ARN"])
    for arn in topics:
        sns[arn.split(":")[3]].create_topic(Name=arn.split(":")[5])
    inbox_url = _subscribed_queue(sns[DR], sqs[DR], DR_ALERTS_ARN, ENV["INBOX_QUEUE_URL"].rsplit("/", 1)[1])
    monkeypatch.setenv("INBOX_QUEUE_URL", inbox_url)
    route53 = boto.client("route53", region_name=PRIMARY)
    health_check_ids = {
        region: route53.create_health_check(
            CallerReference=f"drill-{region}",
            HealthCheckConfig={
                "Type": "HTTPS_STR_MATCH",
                "FullyQualifiedDomainName": f"api-{region}.orders-dr.internal.test",
                "ResourcePath": HEALTH_PATH,
                "SearchString": '"status":"ok"',
            },
        )["HealthCheck"]["Id"]
        for region in (PRIMARY, DR)
    }
    monkeypatch.setenv("HEALTH_CHECK_IDS", ",".join(f"{r}={i}" for r, i in health_check_ids.items()))
    return Aws(
        clients=clients,
        route53=route53,
        kms_key_arn=kms_key_arn,
        inbox_url=inbox_url,
        # Stands in for the DR forwarder's subscription: forward_alerts drains it into the DR topic.
        tap_url=_subscribed_queue(sns[PRIMARY], sqs[PRIMARY], ENV["SOURCE_TOPIC_ARN"], "tap"),
        report_url=_subscribed_queue(sns[PRIMARY], sqs[PRIMARY], ENV["REPORT_TOPIC_ARN"], "reports"),
        health_check_ids=health_check_ids,
    )


def _subscribed_queue(sns: Any, sqs: Any, topic: str, name: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # Raw delivery off, as the inbox's contract says: messages arrive in their SNS envelope.
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return url


@dataclass
class FakeHealthEndpoint:
    answer: Any
    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> Any:
        self.urls.append(url)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@dataclass
class OrderFunctionInProcess:
    """Lambda Invoke of the DR order function, run here: moto's Invoke needs Docker."""

    handler: ModuleType
    calls: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        answer = self.handler.lambda_handler(json.loads(kwargs["Payload"]), FakeLambdaContext("orders"))
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


@dataclass
class CannedFunction:
    answer: Any
    function_error: str | None = None

    def invoke(self, **_: Any) -> dict[str, Any]:
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.answer).encode())}
        if self.function_error:
            response["FunctionError"] = self.function_error
        return response
