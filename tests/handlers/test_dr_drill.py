"""The DR drill's steps against moto in both regions: primary us-east-1, DR us-west-2.

moto replicates nothing across regions, so each test plays the replication
path itself: a fake clock runs the copy when the probe has waited long enough.
Nothing really sleeps.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import urllib.error
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.handlers.loader import load_handler

PRIMARY, DR = "us-east-1", "us-west-2"
ACCOUNT = "123456789012"
DRILL_ID = "3f1c2b9e-7d4a-4c1e-9a55-0c8e6f2d1b7a"
TABLE_NAME = "dev-orders-v1"
SOURCE_BUCKET = "dev-us-east-1-orders-data-v1"
REPLICA_BUCKET = "dev-us-west-2-orders-data-v1"
PRIMARY_ALERTS = "dev-us-east-1-alerts-v1"
DR_ALERTS = "dev-us-west-2-alerts-v1"
REPORT_TOPIC = "dev-us-east-1-drill-reports-v1"
SOURCE_PARAMETER = "/dev-us-east-1-orders-v1/drill/canary"
TARGET_PARAMETER = "/dev-us-west-2-orders-v1/drill/canary"
DR_HEALTH_URL = "https://abc123.lambda-url.us-west-2.on.aws/"
DR_ORDER_FUNCTION = "dev-us-west-2-orders-v1"
RPO_TARGETS = {"dynamodb": 5, "s3": 900, "sns": 60, "ssm": 300}
POLL_TIMEOUT = 30.0
SERVICE = "dr_drill"
HEALTHY_BODY = '{"status":"ok","region":"us-west-2","checks":{"table":"ok","parameters":"ok"}}'
UNAVAILABLE_BODY = (
    '{"status":"unavailable","region":"us-west-2","checks":{"table":"failed","parameters":"ok"}}'
)

# The in-process order function's GET emits no metric by design; Powertools warns on every flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    # Neither region: a client that ignored PRIMARY_REGION or DR_REGION would miss every resource.
    "AWS_DEFAULT_REGION": "eu-central-1",
    "PRIMARY_REGION": PRIMARY,
    "DR_REGION": DR,
    "POLL_TIMEOUT_SECONDS": f"{POLL_TIMEOUT:g}",
    "POLL_INTERVAL_SECONDS": "2",
    "TABLE_NAME": TABLE_NAME,
    "SOURCE_BUCKET": SOURCE_BUCKET,
    "REPLICA_BUCKET": REPLICA_BUCKET,
    "SOURCE_TOPIC_ARN": f"arn:aws:sns:{PRIMARY}:{ACCOUNT}:{PRIMARY_ALERTS}",
    "INBOX_QUEUE_URL": f"https://sqs.{DR}.amazonaws.com/{ACCOUNT}/dev-us-west-2-drill-inbox-v1",
    "DR_HEALTH_URL": DR_HEALTH_URL,
    "DR_ORDER_FUNCTION_NAME": DR_ORDER_FUNCTION,
    "HEALTH_CHECK_IDS": f"{PRIMARY}=hc-primary,{DR}=hc-dr",
    "SOURCE_PARAMETER": SOURCE_PARAMETER,
    "TARGET_PARAMETER": TARGET_PARAMETER,
    "SOURCE_KEY_ID": "alias/dev-us-east-1-orders-v1",
    "REPORT_TOPIC_ARN": f"arn:aws:sns:{PRIMARY}:{ACCOUNT}:{REPORT_TOPIC}",
    "RPO_TARGETS": json.dumps(RPO_TARGETS),
    "POWERTOOLS_SERVICE_NAME": SERVICE,
    "POWERTOOLS_TRACE_DISABLED": "1",
}


@dataclass
class LambdaContextStub:
    function_name: str = "dr-drill"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:dr-drill"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


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
        self._advance_to(self.now + seconds)

    def wait_for_event(self, limit: float) -> None:
        """What a long poll does: return when something happens, or when the wait is over."""
        next_event = min((when for when, _ in self._scheduled), default=math.inf)
        self._advance_to(min(self.now + limit, max(next_event, self.now)))

    def _advance_to(self, when: float) -> None:
        self.now = when
        for entry in [entry for entry in self._scheduled if entry[0] <= when]:
            self._scheduled.remove(entry)
            entry[1]()


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


@dataclass
class Regions:
    """Both regions' resources, and the replication paths the tests play by hand."""

    dynamodb: dict[str, Any]
    s3: dict[str, Any]
    sns: dict[str, Any]
    sqs: dict[str, Any]
    ssm: dict[str, Any]
    route53: Any
    kms_key_arn: str
    inbox_url: str
    tap_url: str
    report_url: str
    health_check_ids: dict[str, str]

    def replicate_item(self) -> None:
        key = {"order_id": {"S": f"drill#{DRILL_ID}"}}
        item = self.dynamodb[PRIMARY].get_item(TableName=TABLE_NAME, Key=key)["Item"]
        self.dynamodb[DR].put_item(TableName=TABLE_NAME, Item=item)

    def replicate_object(self) -> None:
        key = f"drill/{DRILL_ID}.txt"
        body = self.s3[PRIMARY].get_object(Bucket=SOURCE_BUCKET, Key=key)["Body"].read()
        self.s3[DR].put_object(Bucket=REPLICA_BUCKET, Key=key, Body=body)

    def forward_alerts(self) -> None:
        """What the DR alert forwarder does with the primary topic's messages."""
        tap = self.sqs[PRIMARY]
        for message in tap.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10).get("Messages", []):
            envelope = json.loads(message["Body"])
            self.sns[DR].publish(
                TopicArn=topic_arn(DR, DR_ALERTS),
                Message=envelope["Message"],
                Subject=f"[{PRIMARY}] {envelope['Subject']}",
            )
            tap.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])

    def replicate_parameter(self) -> None:
        value = self.source_value()
        self.ssm[DR].put_parameter(Name=TARGET_PARAMETER, Value=value, Type="SecureString", Overwrite=True)

    def source_value(self) -> str:
        return self.ssm[PRIMARY].get_parameter(Name=SOURCE_PARAMETER, WithDecryption=True)["Parameter"][
            "Value"
        ]

    def inbox_count(self) -> int:
        attributes = self.sqs[DR].get_queue_attributes(
            QueueUrl=self.inbox_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(count) for count in attributes.values())


def topic_arn(region: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{ACCOUNT}:{name}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "_HANDLER", "POWERTOOLS_METRICS_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def regions(env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Regions]:
    with mock_aws():
        clients = {
            service: {region: boto3.client(service, region_name=region) for region in (PRIMARY, DR)}
            for service in ("dynamodb", "s3", "sns", "sqs", "ssm")
        }
        for region in (PRIMARY, DR):
            clients["dynamodb"][region].create_table(
                TableName=TABLE_NAME,
                KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        kms_key_arn = boto3.client("kms", region_name=PRIMARY).create_key()["KeyMetadata"]["Arn"]
        s3 = clients["s3"]
        s3[PRIMARY].create_bucket(Bucket=SOURCE_BUCKET)
        s3[PRIMARY].put_bucket_versioning(Bucket=SOURCE_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3[PRIMARY].put_bucket_encryption(
            Bucket=SOURCE_BUCKET,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": kms_key_arn,
                        }
                    }
                ]
            },
        )
        s3[DR].create_bucket(Bucket=REPLICA_BUCKET, CreateBucketConfiguration={"LocationConstraint": DR})

        sns, sqs = clients["sns"], clients["sqs"]
        sns[PRIMARY].create_topic(Name=PRIMARY_ALERTS)
        sns[DR].create_topic(Name=DR_ALERTS)
        sns[PRIMARY].create_topic(Name=REPORT_TOPIC)
        # Stands in for the DR forwarder's subscription: forward_alerts drains it into the DR topic.
        tap_url = _subscribed_queue(sns[PRIMARY], sqs[PRIMARY], topic_arn(PRIMARY, PRIMARY_ALERTS), "tap")
        inbox_url = _subscribed_queue(
            sns[DR], sqs[DR], topic_arn(DR, DR_ALERTS), "dev-us-west-2-drill-inbox-v1"
        )
        report_url = _subscribed_queue(
            sns[PRIMARY], sqs[PRIMARY], topic_arn(PRIMARY, REPORT_TOPIC), "reports"
        )
        monkeypatch.setenv("INBOX_QUEUE_URL", inbox_url)

        route53 = boto3.client("route53", region_name=PRIMARY)
        health_check_ids = {
            region: route53.create_health_check(
                CallerReference=f"drill-{region}",
                HealthCheckConfig={
                    "Type": "HTTPS_STR_MATCH",
                    "FullyQualifiedDomainName": f"abc123.lambda-url.{region}.on.aws",
                    "ResourcePath": "/health",
                    "SearchString": '"status":"ok"',
                },
            )["HealthCheck"]["Id"]
            for region in (PRIMARY, DR)
        }
        monkeypatch.setenv("HEALTH_CHECK_IDS", ",".join(f"{r}={i}" for r, i in health_check_ids.items()))
        yield Regions(
            dynamodb=clients["dynamodb"],
            s3=s3,
            sns=sns,
            sqs=sqs,
            ssm=clients["ssm"],
            route53=route53,
            kms_key_arn=kms_key_arn,
            inbox_url=inbox_url,
            tap_url=tap_url,
            report_url=report_url,
            health_check_ids=health_check_ids,
        )


def _subscribed_queue(sns: Any, sqs: Any, topic: str, name: str) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # Raw delivery off, as the inbox's contract says: messages arrive in their SNS envelope.
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return url


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
    def settings(self) -> Any:
        return self.module.SETTINGS

    def step(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        return getattr(self.module, name)(event, LambdaContextStub())


@pytest.fixture
def drill(regions: Regions) -> Drill:
    return Drill()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# DynamoDB


def run_dynamodb(drill: Drill, regions: Regions, clock: FakeClock) -> Any:
    return drill.probes.probe_dynamodb(
        regions.dynamodb[PRIMARY],
        regions.dynamodb[DR],
        drill.settings.dynamodb,
        DRILL_ID,
        clock=clock,
        sleep=clock.sleep,
    )


def primary_item(regions: Regions) -> dict[str, Any] | None:
    key = {"order_id": {"S": f"drill#{DRILL_ID}"}}
    return regions.dynamodb[PRIMARY].get_item(TableName=TABLE_NAME, Key=key).get("Item")


def test_dynamodb_replicated_item_passes_with_the_lag_of_the_first_poll_that_saw_it(drill, regions, clock):
    # Given the item reaches the DR replica 5 s after the write
    clock.after(5, regions.replicate_item)

    # When the probe runs, polling every 2 s
    result = run_dynamodb(drill, regions, clock)

    # Then it passed, timed by the poll at 6 s, and the canary is gone from the primary
    assert result.to_dict() == {
        "probe": "dynamodb",
        "status": "PASSED",
        "lag_seconds": 6.0,
        "detail": "item replicated in 6.000 s",
    }
    assert primary_item(regions) is None


def test_dynamodb_canary_is_a_marked_drill_item(drill, regions, clock):
    # Given the item reaches the DR replica 5 s after the write
    clock.after(5, regions.replicate_item)

    # When the probe runs
    run_dynamodb(drill, regions, clock)

    # Then what replicated is keyed by the drill and marked as a drill item
    key = {"order_id": {"S": f"drill#{DRILL_ID}"}}
    replica = regions.dynamodb[DR].get_item(TableName=TABLE_NAME, Key=key)["Item"]
    assert replica["drill"] == {"BOOL": True}
    assert replica["written_at"]["S"].endswith("+00:00")


def test_dynamodb_item_that_never_replicates_fails_with_the_budget_as_lag(drill, regions, clock):
    # Given replication that never delivers
    # When the probe runs
    result = run_dynamodb(drill, regions, clock)

    # Then it fails (without raising) after exactly the budget, and the canary is still removed
    assert result.to_dict() == {
        "probe": "dynamodb",
        "status": "FAILED",
        "lag_seconds": POLL_TIMEOUT,
        "detail": "item not replicated within 30 s",
    }
    assert sum(clock.slept) == POLL_TIMEOUT
    assert primary_item(regions) is None


def test_dynamodb_failed_clean_up_is_named_not_raised(drill, regions, clock, monkeypatch):
    # Given a primary replica that refuses the clean-up delete
    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteItem")

    monkeypatch.setattr(regions.dynamodb[PRIMARY], "delete_item", denied)
    clock.after(1, regions.replicate_item)

    # When the probe runs
    result = run_dynamodb(drill, regions, clock)

    # Then the measured result stands and the detail says the clean-up failed
    assert result.status == "PASSED"
    assert result.detail == "item replicated in 2.000 s; cleanup failed (AccessDeniedException)"


# S3


def run_s3(drill: Drill, regions: Regions, clock: FakeClock) -> Any:
    return drill.probes.probe_s3(
        regions.s3[PRIMARY], regions.s3[DR], drill.settings.s3, DRILL_ID, clock=clock, sleep=clock.sleep
    )


def source_keys(regions: Regions) -> list[str]:
    listing = regions.s3[PRIMARY].list_objects_v2(Bucket=SOURCE_BUCKET)
    return [entry["Key"] for entry in listing.get("Contents", [])]


def test_s3_replicated_object_passes_with_the_polled_lag_and_is_deleted(drill, regions, clock):
    # Given the object reaches the replica bucket 5 s after the write
    clock.after(5, regions.replicate_object)

    # When the probe runs
    result = run_s3(drill, regions, clock)

    # Then it passed, timed by the poll at 6 s, and the source object is deleted
    assert result.to_dict() == {
        "probe": "s3",
        "status": "PASSED",
        "lag_seconds": 6.0,
        "detail": "object replicated in 6.000 s",
    }
    assert source_keys(regions) == []


def test_s3_canary_is_encrypted_with_the_bucket_default_key(drill, regions, clock, monkeypatch):
    # Given a replicated object, and the probe's write request recorded
    clock.after(1, regions.replicate_object)
    write = regions.s3[PRIMARY].put_object
    requests: list[dict[str, Any]] = []

    def recorded(**kwargs: Any) -> dict[str, Any]:
        requests.append(kwargs)
        return write(**kwargs)

    monkeypatch.setattr(regions.s3[PRIMARY], "put_object", recorded)

    # When the probe runs
    run_s3(drill, regions, clock)

    # Then the request left encryption to the bucket: S3 answers a bare "aws:kms" with the aws/s3
    # key (moto does not model that), and replication is set up for the bucket's own key
    (request,) = requests
    assert "ServerSideEncryption" not in request
    assert "SSEKMSKeyId" not in request
    versions = regions.s3[PRIMARY].list_object_versions(Bucket=SOURCE_BUCKET)["Versions"]
    head = regions.s3[PRIMARY].head_object(
        Bucket=SOURCE_BUCKET, Key=f"drill/{DRILL_ID}.txt", VersionId=versions[0]["VersionId"]
    )
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", regions.kms_key_arn)


def test_s3_object_that_never_replicates_fails_with_the_budget_as_lag(drill, regions, clock):
    # Given replication that never delivers
    # When the probe runs
    result = run_s3(drill, regions, clock)

    # Then it fails after exactly the budget, and the source object is still deleted
    assert (result.status, result.lag_seconds) == ("FAILED", POLL_TIMEOUT)
    assert result.detail == "object not replicated within 30 s"
    assert source_keys(regions) == []


def test_s3_forbidden_replica_is_raised_not_mistaken_for_lag(drill, regions, clock, monkeypatch):
    # Given a replica bucket that answers 403 (as S3 does for a missing key without s3:ListBucket)
    def forbidden(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    monkeypatch.setattr(regions.s3[DR], "head_object", forbidden)

    # When the probe runs
    # Then the error is raised for Step Functions to retry and catch, and the canary is still deleted
    with pytest.raises(ClientError):
        run_s3(drill, regions, clock)
    assert source_keys(regions) == []


# SNS


def run_sns(drill: Drill, regions: Regions, clock: FakeClock, inbox: LongPollingQueue) -> Any:
    return drill.probes.probe_sns(regions.sns[PRIMARY], inbox, drill.settings.sns, DRILL_ID, clock=clock)


def seed_inbox_with_other_messages(regions: Regions) -> None:
    dr_topic = topic_arn(DR, DR_ALERTS)
    regions.sns[DR].publish(TopicArn=dr_topic, Subject="ALARM: latency", Message='{"AlarmName": "latency"}')
    regions.sns[DR].publish(
        TopicArn=dr_topic,
        Subject="DR drill canary",
        Message=json.dumps({"drill_id": "another-drill", "kind": "dr-drill-canary"}),
    )


def test_sns_forwarded_canary_passes_with_its_arrival_time_and_only_it_is_deleted(drill, regions, clock):
    # Given an inbox already holding an alert and another drill's canary, and a forwarder taking 3 s
    seed_inbox_with_other_messages(regions)
    clock.after(3, regions.forward_alerts)
    inbox = LongPollingQueue(regions.sqs[DR], clock)

    # When the probe runs
    result = run_sns(drill, regions, clock, inbox)

    # Then it passed when the canary landed, deleted it and left the others
    assert result.to_dict() == {
        "probe": "sns",
        "status": "PASSED",
        "lag_seconds": 3.0,
        "detail": "canary replicated in 3.000 s",
    }
    assert regions.inbox_count() == 2


def test_sns_canary_never_forwarded_fails_with_the_budget_as_lag(drill, regions, clock):
    # Given a DR forwarder that never republishes
    inbox = LongPollingQueue(regions.sqs[DR], clock)

    # When the probe runs
    result = run_sns(drill, regions, clock, inbox)

    # Then it fails after exactly the budget, long-polling no more than 5 s at a time
    assert (result.status, result.lag_seconds) == ("FAILED", POLL_TIMEOUT)
    assert result.detail == "canary not replicated within 30 s"
    assert max(inbox.waits) == 5
    assert clock.now - 1000.0 == POLL_TIMEOUT


def test_sns_canary_is_published_to_the_primary_topic_with_its_subject(drill, regions, clock):
    # Given nothing forwards it, so it stays where the primary topic delivered it
    inbox = LongPollingQueue(regions.sqs[DR], clock)

    # When the probe runs
    run_sns(drill, regions, clock, inbox)

    # Then the primary topic got the canary message under the drill's subject
    (message,) = regions.sqs[PRIMARY].receive_message(QueueUrl=regions.tap_url)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == "DR drill canary"
    assert json.loads(envelope["Message"]) == {"drill_id": DRILL_ID, "kind": "dr-drill-canary"}


# SSM


def run_ssm(drill: Drill, regions: Regions, clock: FakeClock) -> Any:
    return drill.probes.probe_ssm(
        regions.ssm[PRIMARY], regions.ssm[DR], drill.settings.ssm, DRILL_ID, clock=clock, sleep=clock.sleep
    )


def test_ssm_replicated_value_passes_and_the_canary_parameter_stays(drill, regions, clock):
    # Given the replicator copies the value 5 s after the write
    clock.after(5, regions.replicate_parameter)

    # When the probe runs
    result = run_ssm(drill, regions, clock)

    # Then it passed, timed by the poll at 6 s, and the source canary is left as a SecureString
    assert result.to_dict() == {
        "probe": "ssm",
        "status": "PASSED",
        "lag_seconds": 6.0,
        "detail": "value replicated in 6.000 s",
    }
    parameter = regions.ssm[PRIMARY].get_parameter(Name=SOURCE_PARAMETER)["Parameter"]
    assert parameter["Type"] == "SecureString"
    # under the primary's own key, as real parameters there are
    (described,) = regions.ssm[PRIMARY].describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [SOURCE_PARAMETER]}]
    )["Parameters"]
    assert described["KeyId"] == "alias/dev-us-east-1-orders-v1"


def test_ssm_stale_dr_copy_that_is_never_updated_fails_with_the_budget_as_lag(drill, regions, clock):
    # Given a DR copy left by an earlier drill, and a replicator that never runs
    regions.ssm[DR].put_parameter(Name=TARGET_PARAMETER, Value="0" * 32, Type="SecureString")

    # When the probe runs
    result = run_ssm(drill, regions, clock)

    # Then the old copy does not count: it fails after exactly the budget
    assert (result.status, result.lag_seconds) == ("FAILED", POLL_TIMEOUT)
    assert result.detail == "value not replicated within 30 s"


def test_ssm_probe_writes_a_fresh_value_each_run(drill, regions, clock):
    # Given two drills, each replicated at once
    values = []
    for _ in range(2):
        clock.after(0, regions.replicate_parameter)
        run_ssm(drill, regions, clock)
        values.append(regions.source_value())

    # Then each wrote a value of its own
    assert values[0] != values[1]


def test_ssm_step_never_exposes_the_value_or_its_digest(drill, regions, monkeypatch, capsys, caplog):
    # Given every logger open down to DEBUG, and a replicator that copies the value as it is written
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    primary = drill.module.client("ssm", PRIMARY)
    write = primary.put_parameter
    written: list[str] = []

    def write_and_replicate(**kwargs: Any) -> dict[str, Any]:
        response = write(**kwargs)
        written.append(kwargs["Value"])
        regions.replicate_parameter()
        return response

    monkeypatch.setattr(primary, "put_parameter", write_and_replicate)

    # When the step runs
    result = drill.step("ssm_probe", {"drill_id": DRILL_ID})

    # Then it passed and logged its result, yet no output holds the value or any form of its digest
    assert result["status"] == "PASSED"
    captured = capsys.readouterr()
    assert '"probe":"ssm"' in captured.out
    (value,) = written
    digest = hashlib.sha256(value.encode()).digest()
    seen = "\n".join([captured.out, captured.err, caplog.text, json.dumps(result), repr(result)])
    for secret in (value, digest.hex(), repr(digest)):
        assert secret not in seen


# Failover


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
        answer = self.handler.lambda_handler(json.loads(kwargs["Payload"]), LambdaContextStub("orders"))
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


@pytest.fixture
def order_function(regions: Regions, monkeypatch: pytest.MonkeyPatch) -> OrderFunctionInProcess:
    """The real orders handler over the DR replica, so the probe's synthetic event is proven routable."""
    monkeypatch.setenv("TABLE_REGION", DR)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    function = OrderFunctionInProcess(load_handler("orders"))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    return function


def run_failover(drill: Drill, regions: Regions, function: Any, health: FakeHealthEndpoint) -> Any:
    return drill.probes.probe_failover(
        function, regions.route53, drill.settings.failover, DRILL_ID, fetch=health
    )


def healthy(drill: Drill) -> FakeHealthEndpoint:
    return FakeHealthEndpoint(drill.probes.HttpAnswer(200, HEALTHY_BODY))


def test_failover_all_parts_good_passes_without_a_lag(drill, regions, order_function):
    # Given a healthy DR endpoint, the real order function and Route 53 checks that succeed
    health = healthy(drill)

    # When the probe runs
    result = run_failover(drill, regions, order_function, health)

    # Then it passed with every part named, and no lag
    assert (result.status, result.lag_seconds) == ("PASSED", None)
    assert result.detail == (
        "health: ok (HTTP 200); order read: ok (404 order not found); "
        "route53 us-east-1: ok (1/1 checkers Success); route53 us-west-2: ok (1/1 checkers Success)"
    )


def test_failover_calls_the_dr_health_path_and_the_order_read_route(drill, regions, order_function):
    # Given every part healthy
    health = healthy(drill)

    # When the probe runs
    run_failover(drill, regions, order_function, health)

    # Then it fetched /health on the DR URL and read a drill order id through GET /orders/{order_id}
    assert health.urls == [DR_HEALTH_URL + "health"]
    (call,) = order_function.calls
    event = json.loads(call["Payload"])
    order_id = f"drill-probe-{DRILL_ID}"
    assert (call["FunctionName"], call["InvocationType"]) == (DR_ORDER_FUNCTION, "RequestResponse")
    assert (event["rawPath"], event["routeKey"]) == (f"/orders/{order_id}", "GET /orders/{order_id}")
    assert event["pathParameters"] == {"order_id": order_id}
    assert event["requestContext"]["http"]["method"] == "GET"


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        ((503, UNAVAILABLE_BODY), "HTTP 503"),
        ((200, UNAVAILABLE_BODY), "HTTP 200 without status ok"),
        (urllib.error.URLError("timed out"), "URLError"),
    ],
    ids=["503", "200-unavailable-body", "unreachable"],
)
def test_failover_unhealthy_dr_endpoint_fails_naming_the_health_part(
    drill, regions, order_function, answer, note
):
    # Given a DR health endpoint that is down, says it is unavailable, or does not answer
    health = FakeHealthEndpoint(answer if isinstance(answer, Exception) else drill.probes.HttpAnswer(*answer))

    # When the probe runs
    result = run_failover(drill, regions, order_function, health)

    # Then it failed, and the detail names the health part and why
    assert result.status == "FAILED"
    assert result.detail.startswith(f"health: FAILED ({note}); order read: ok")


@pytest.mark.parametrize(
    ("function", "note"),
    [
        (CannedFunction({"statusCode": 500, "body": '{"message":"Internal server error"}'}), "status 500"),
        (CannedFunction({"statusCode": 200, "body": '{"order_id":"x"}'}), "status 200"),
        (
            CannedFunction({"statusCode": 404, "body": '{"statusCode":404,"message":"Not found"}'}),
            "404 not from",
        ),
        (CannedFunction({"errorMessage": "boom"}, function_error="Unhandled"), "function error Unhandled"),
    ],
    ids=["500", "found", "route-not-found", "crashed"],
)
def test_failover_order_read_that_does_not_answer_not_found_fails(drill, regions, function, note):
    # Given a DR order function that errs, finds something, or is never routed to
    # When the probe runs
    result = run_failover(drill, regions, function, healthy(drill))

    # Then it failed, and the detail names the order read part
    assert result.status == "FAILED"
    assert f"order read: FAILED ({note}" in result.detail


def test_failover_health_check_with_a_minority_of_checkers_succeeding_fails(
    drill, regions, order_function, monkeypatch
):
    # Given Route 53 checkers of which only one in three sees the DR region succeed
    statuses = {
        regions.health_check_ids[PRIMARY]: ["Success: HTTP Status Code 200"] * 3,
        regions.health_check_ids[DR]: [
            "Success: HTTP Status Code 200",
            "Failure: HTTP Status Code 503",
            "Failure",
        ],
    }

    def status(*, HealthCheckId: str) -> dict[str, Any]:
        return {
            "HealthCheckObservations": [
                {"Region": "us-east-1", "IPAddress": "192.0.2.1", "StatusReport": {"Status": s}}
                for s in statuses[HealthCheckId]
            ]
        }

    monkeypatch.setattr(regions.route53, "get_health_check_status", status)

    # When the probe runs
    result = run_failover(drill, regions, order_function, healthy(drill))

    # Then it failed on that region's check alone
    assert result.status == "FAILED"
    assert "route53 us-east-1: ok (3/3 checkers Success)" in result.detail
    assert "route53 us-west-2: FAILED (1/3 checkers Success)" in result.detail


@pytest.mark.parametrize(
    ("drill_id", "order_id"),
    [
        ("manual-2025-01-01", "drill-probe-manual-2025-01-01"),
        ("drill:nightly/01", "drill-probe-drill-nightly-01"),
        ("x" * 80, "drill-probe-" + "x" * 52),
    ],
)
def test_drill_order_id_always_fits_the_order_id_pattern(env, drill_id, order_id):
    # Given an execution name with characters or a length the order function never looks up
    # When the probe derives its order id
    # Then the id is one the order function reads its table for
    assert load_handler("dr_drill", "probes").drill_order_id(drill_id) == order_id


# Report


def passed(probe: str, lag: float | None) -> dict[str, Any]:
    return {"probe": probe, "status": "PASSED", "lag_seconds": lag, "detail": "replicated"}


def all_passed() -> list[dict[str, Any]]:
    return [
        passed("dynamodb", 1.5),
        passed("s3", 12.0),
        passed("sns", 3.0),
        passed("failover", None),
        passed("ssm", 6.0),
    ]


def published_reports(regions: Regions) -> list[dict[str, Any]]:
    messages = regions.sqs[PRIMARY].receive_message(QueueUrl=regions.report_url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def emf_lines(output: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def test_report_all_passed_is_passed_and_published(drill, regions):
    # Given every probe passed within its RPO target
    # When the report step runs
    report = drill.step("report", {"drill_id": DRILL_ID, "results": all_passed()})

    # Then the drill passed, and the report went to the report topic as is
    assert report["status"] == "PASSED"
    assert report["probes"]["dynamodb"] == {
        "status": "PASSED",
        "lag_seconds": 1.5,
        "rpo_target_seconds": 5.0,
        "within_rpo": True,
        "detail": "replicated",
    }
    assert report["probes"]["failover"]["within_rpo"] is None
    (envelope,) = published_reports(regions)
    assert envelope["Subject"] == "DR drill PASSED"
    assert json.loads(envelope["Message"]) == report


def test_report_caught_failure_fails_the_drill_and_keeps_the_others(drill, regions):
    # Given the DynamoDB probe raised and its Catch recorded a long Lambda error
    cause = json.dumps(
        {"errorMessage": "AccessDenied " + "x" * 500, "errorType": "ClientError", "stackTrace": ["..."] * 50}
    )
    results = [
        {"probe": "dynamodb", "status": "FAILED", "error": {"Error": "ClientError", "Cause": cause}},
        *all_passed()[1:],
    ]

    # When the report step runs
    report = drill.step("report", {"drill_id": DRILL_ID, "results": results})

    # Then the drill failed, the failure is cut short, and every other probe is still reported
    assert report["status"] == "FAILED"
    failed = report["probes"]["dynamodb"]
    assert (failed["status"], failed["lag_seconds"], failed["within_rpo"]) == ("FAILED", None, None)
    assert failed["detail"].startswith("ClientError: AccessDenied x")
    assert len(failed["detail"]) == 300
    assert report["probes"]["s3"]["lag_seconds"] == 12.0
    assert [probe["status"] for name, probe in report["probes"].items() if name != "dynamodb"] == [
        "PASSED"
    ] * 4
    (envelope,) = published_reports(regions)
    assert envelope["Subject"] == "DR drill FAILED"


def test_report_lag_above_its_rpo_fails_the_drill(drill, regions):
    # Given DynamoDB replicated, but in 7.5 s against a 5 s target
    results = [passed("dynamodb", 7.5), *all_passed()[1:]]

    # When the report step runs
    report = drill.step("report", {"drill_id": DRILL_ID, "results": results})

    # Then the probe passed but missed its RPO, which fails the drill
    assert report["status"] == "FAILED"
    assert report["probes"]["dynamodb"]["status"] == "PASSED"
    assert report["probes"]["dynamodb"]["within_rpo"] is False


def test_report_timed_out_probe_misses_its_rpo_only_when_the_budget_exceeds_it(drill, regions):
    # Given DynamoDB (5 s target) and S3 (900 s target) both timed out at the 30 s budget
    timed_out = {"status": "FAILED", "lag_seconds": POLL_TIMEOUT, "detail": "not replicated within 30 s"}
    results = [{"probe": "dynamodb", **timed_out}, {"probe": "s3", **timed_out}, *all_passed()[2:]]

    # When the report step runs
    report = drill.step("report", {"drill_id": DRILL_ID, "results": results})

    # Then 30 s proves DynamoDB missed its target, and proves nothing about S3's
    assert report["probes"]["dynamodb"]["within_rpo"] is False
    assert report["probes"]["s3"]["within_rpo"] is None


def test_report_missing_probe_result_fails_the_drill(drill, regions):
    # Given the SSM probe's result is missing from the input
    results = [result for result in all_passed() if result["probe"] != "ssm"]

    # When the report step runs
    report = drill.step("report", {"drill_id": DRILL_ID, "results": results})

    # Then the drill failed, naming the probe with no result
    assert report["status"] == "FAILED"
    assert report["probes"]["ssm"]["detail"] == "no result from this probe"


def test_report_emits_one_metric_per_dimension_set(drill, regions, capsys):
    # Given S3 timed out and DynamoDB passed over its RPO target
    results = [
        passed("dynamodb", 7.5),
        {"probe": "s3", "status": "FAILED", "lag_seconds": POLL_TIMEOUT, "detail": "not replicated"},
        *all_passed()[2:],
    ]

    # When the report step runs
    drill.step("report", {"drill_id": DRILL_ID, "results": results})

    # Then each probe has its own success metric by Probe, and each measured store a lag metric by
    # Store, both next to Powertools' service dimension; the RPO miss shows in the lag, not the success
    metrics = {}
    for line in emf_lines(capsys.readouterr().out):
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        (metric,) = directive["Metrics"]
        assert directive["Namespace"] == "OrdersDr"
        (dimensions,) = directive["Dimensions"]
        key = (metric["Name"], tuple((name, line[name]) for name in dimensions))
        metrics[key] = (line[metric["Name"]], metric["Unit"])
    service = ("service", SERVICE)
    assert metrics == {
        ("DrillProbeSuccess", (("Probe", "dynamodb"), service)): ([1.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "s3"), service)): ([0.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "sns"), service)): ([1.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "failover"), service)): ([1.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "ssm"), service)): ([1.0], "Count"),
        ("DrillReplicationLagSeconds", (("Store", "dynamodb"), service)): ([7.5], "Seconds"),
        ("DrillReplicationLagSeconds", (("Store", "sns"), service)): ([3.0], "Seconds"),
        ("DrillReplicationLagSeconds", (("Store", "ssm"), service)): ([6.0], "Seconds"),
    }


# Steps as Step Functions calls them


def test_probe_step_output_is_exactly_the_contract(drill, regions):
    # Given the item is already in the DR replica (replication that beat the first poll)
    regions.dynamodb[DR].put_item(TableName=TABLE_NAME, Item={"order_id": {"S": f"drill#{DRILL_ID}"}})

    # When Step Functions runs the step with its input
    output = drill.step("dynamodb_probe", {"drill_id": DRILL_ID})

    # Then the output has the contract's keys and types, and the canary is gone
    assert set(output) == {"probe", "status", "lag_seconds", "detail"}
    assert (output["probe"], output["status"]) == ("dynamodb", "PASSED")
    assert isinstance(output["lag_seconds"], float)
    assert primary_item(regions) is None


def test_step_without_a_drill_id_is_raised(drill, regions):
    # Given an input without the execution name
    # When the step runs
    # Then it fails rather than write canaries nobody can tell apart
    with pytest.raises(ValueError, match="drill_id"):
        drill.step("s3_probe", {})


# Settings


def test_missing_table_name_fails_at_import_naming_it(env, monkeypatch):
    # Given no TABLE_NAME
    monkeypatch.delenv("TABLE_NAME")

    # When the settings are parsed (at import, as on a cold start)
    # Then the failure names the variable
    with pytest.raises(ValueError, match="TABLE_NAME"):
        load_handler("dr_drill", "settings")


def test_function_for_one_step_needs_only_that_steps_variables(env, monkeypatch):
    # Given the S3 probe's function, deployed without the DynamoDB probe's TABLE_NAME
    monkeypatch.setenv("_HANDLER", "handler.s3_probe")
    monkeypatch.delenv("TABLE_NAME")

    # When the settings are parsed
    settings = load_handler("dr_drill", "settings").SETTINGS

    # Then only its own step is configured
    assert settings.s3.replica_bucket == REPLICA_BUCKET
    assert (settings.dynamodb, settings.report) == (None, None)


def test_function_for_the_dynamodb_step_fails_without_table_name(env, monkeypatch):
    # Given the DynamoDB probe's function, deployed without TABLE_NAME
    monkeypatch.setenv("_HANDLER", "handler.dynamodb_probe")
    monkeypatch.delenv("TABLE_NAME")

    # When the settings are parsed
    # Then the failure names the variable
    with pytest.raises(ValueError, match="TABLE_NAME"):
        load_handler("dr_drill", "settings")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RPO_TARGETS", json.dumps({"dynamodb": 5, "s3": 900, "sns": 60})),
        ("RPO_TARGETS", json.dumps({**RPO_TARGETS, "dynamo": 5})),
        ("RPO_TARGETS", json.dumps({**RPO_TARGETS, "ssm": 0})),
        ("DR_HEALTH_URL", "http://abc123.lambda-url.us-west-2.on.aws/"),
        ("DR_HEALTH_URL", "https://abc123.lambda-url.us-west-2.on.aws"),
        ("SOURCE_TOPIC_ARN", topic_arn(DR, DR_ALERTS)),
        ("DR_REGION", PRIMARY),
        ("HEALTH_CHECK_IDS", "hc-primary"),
        ("POLL_INTERVAL_SECONDS", "0"),
        ("POLL_INTERVAL_SECONDS", "60"),
    ],
)
def test_bad_variable_fails_at_import_naming_it(env, monkeypatch, name, value):
    # Given a variable set to something the drill cannot work with
    monkeypatch.setenv(name, value)

    # When the settings are parsed
    # Then the failure names the variable
    with pytest.raises(ValueError, match=name):
        load_handler("dr_drill", "settings")


def test_poll_budget_defaults_to_120_s_every_2_s(env, monkeypatch):
    # Given no POLL_TIMEOUT_SECONDS or POLL_INTERVAL_SECONDS
    monkeypatch.delenv("POLL_TIMEOUT_SECONDS")
    monkeypatch.delenv("POLL_INTERVAL_SECONDS")

    # When the settings are parsed
    polling = load_handler("dr_drill", "settings").SETTINGS.dynamodb.polling

    # Then the contract's defaults apply
    assert (polling.timeout_seconds, polling.interval_seconds) == (120.0, 2.0)
