"""The alert forwarder against moto: an alert topic in us-east-1 and one in us-west-2.

Each topic has an SQS queue subscribed (raw delivery off, so the queue holds SNS's envelope with
subject and attributes) to show what reached it. Events are AWS's samples (events/alert_forwarder/,
see SOURCES.md there): the SNS event for Lambda, carrying a CloudWatch alarm's body where a test
needs an alarm. The subscriptions' filter-policy rules, which moto does not model faithfully, are
encoded in tests/aws_rules/sns_filter.py.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SnsModel
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws
from pydantic import ValidationError

from tests.handlers.conftest import ACCOUNT, FakeLambdaContext, sample_event
from tests.handlers.loader import load_handler

EAST = "us-east-1"
WEST = "us-west-2"
SERVICE = "alert-forwarder"
# CloudWatch's subject format: state, quoted alarm name, region name.
ALARM_SUBJECT = 'ALARM: "dev-us-west-2-orders-v1-5xx" in US West (Oregon)'


def topic_arn(region: str) -> str:
    return f"arn:aws:sns:{region}:{ACCOUNT}:dev-{region}-alerts-v1"


def alarm_body() -> dict[str, Any]:
    return sample_event("alert_forwarder/cloudwatch_alarm_message")


def sns_record(**sns: Any) -> dict[str, Any]:
    """The record of AWS's sample SNS event for Lambda, its "Sns" fields replaced by those given."""
    record = copy.deepcopy(sample_event("alert_forwarder/sns_event")["Records"][0])
    record["Sns"].update(sns)
    return record


def alarm_record(**sns: Any) -> dict[str, Any]:
    """A CloudWatch alarm notification from us-west-2's topic, without attributes, as CloudWatch sends it."""
    fields = {
        "TopicArn": topic_arn(WEST),
        "Subject": ALARM_SUBJECT,
        "Message": json.dumps(alarm_body()),
        "MessageAttributes": {},
        **sns,
    }
    return sns_record(**fields)


def forwarded_attribute(region: str) -> dict[str, Any]:
    return {"forwarded_from": {"Type": "String", "Value": region}}


def invoke(handler: ModuleType, *records: dict[str, Any], context: FakeLambdaContext | None = None) -> Any:
    return handler.lambda_handler(
        {"Records": list(records)}, context or FakeLambdaContext(function_name=SERVICE)
    )


@dataclass
class Topics:
    queues: dict[str, str]

    def subscribe_queue(self, region: str, name: str) -> str:
        sqs = boto3.client("sqs", region_name=region)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        boto3.client("sns", region_name=region).subscribe(
            TopicArn=topic_arn(region), Protocol="sqs", Endpoint=arn
        )
        return url

    def received(self, region: str) -> list[dict[str, Any]]:
        """SNS envelopes delivered to the region's queue: subject, message and attributes."""
        response = boto3.client("sqs", region_name=region).receive_message(
            QueueUrl=self.queues[region], MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    # The source's region as default: a client that ignored the target ARN's region would miss its topic.
    monkeypatch.setenv("AWS_DEFAULT_REGION", WEST)
    monkeypatch.setenv("TARGET_TOPIC_ARN", topic_arn(EAST))
    monkeypatch.setenv("SOURCE_REGION", WEST)
    # The most verbose level anyone could set: the no-leak test must hold even there.
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")


@pytest.fixture
def topics(env: None) -> Iterator[Topics]:
    with mock_aws():
        for region in (EAST, WEST):
            boto3.client("sns", region_name=region).create_topic(Name=f"dev-{region}-alerts-v1")
        topics = Topics(queues={})
        topics.queues = {
            region: topics.subscribe_queue(region, f"on-call-{region}") for region in (EAST, WEST)
        }
        yield topics


def load_forwarder(monkeypatch: pytest.MonkeyPatch, *, region: str, source_region: str) -> ModuleType:
    monkeypatch.setenv("TARGET_TOPIC_ARN", topic_arn(region))
    monkeypatch.setenv("SOURCE_REGION", source_region)
    # Powertools keeps a named logger's first stream handler, bound to the sys.stdout of the moment it
    # was made; pytest swaps sys.stdout per test phase. Tests reading capsys drop the old logger and
    # load in the test body, so the logs go where capsys reads.
    monkeypatch.delitem(logging.Logger.manager.loggerDict, SERVICE, raising=False)
    return load_handler("alert_forwarder")


@pytest.fixture
def east(topics: Topics, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """us-east-1's forwarder: listens to us-west-2's topic, publishes into us-east-1's."""
    return load_forwarder(monkeypatch, region=EAST, source_region=WEST)


def test_powertools_sns_model_accepts_the_sample_events() -> None:
    # Given AWS's sample SNS event, and the sample alarm body in it as CloudWatch publishes it
    samples = [sample_event("alert_forwarder/sns_event"), {"Records": [alarm_record()]}]

    # When Powertools' SnsModel parses them
    parsed = [SnsModel.model_validate(sample) for sample in samples]

    # Then both parse, the alarm with no message attributes
    assert [sorted(event.Records[0].Sns.MessageAttributes or {}) for event in parsed] == [
        ["Test", "TestBinary"],
        [],
    ]


def test_alarm_from_the_other_region_is_republished_once_with_prefix_and_marker(
    topics: Topics, east: ModuleType
) -> None:
    # Given a CloudWatch alarm notification, without message attributes, from us-west-2's topic
    record = alarm_record()

    # When us-east-1's forwarder handles it
    result = invoke(east, record)

    # Then us-east-1's topic got exactly one copy: prefixed subject, same body, forwarded_from set
    (forwarded,) = topics.received(EAST)
    assert forwarded["TopicArn"] == topic_arn(EAST)
    assert forwarded["Subject"] == f"[{WEST}] {ALARM_SUBJECT}"
    assert json.loads(forwarded["Message"]) == alarm_body()
    assert forwarded["MessageAttributes"] == forwarded_attribute(WEST)
    assert result == {"forwarded": 1, "skipped": 0}


def test_original_message_attributes_are_republished_with_the_loop_guard(
    topics: Topics, east: ModuleType
) -> None:
    # Given the sample event's String and Binary attributes, the Binary one base64-encoded as SNS sends it
    # (the page's placeholder "TestBinary" is not base64)
    attributes = {
        "Test": {"Type": "String", "Value": "TestString"},
        "TestBinary": {"Type": "Binary", "Value": base64.b64encode(b"TestBinary").decode()},
    }

    # When us-east-1's forwarder handles it
    invoke(east, sns_record(TopicArn=topic_arn(WEST), MessageAttributes=attributes))

    # Then the copy carries both, the binary value byte for byte, and forwarded_from
    (forwarded,) = topics.received(EAST)
    assert forwarded["MessageAttributes"] == {**attributes, **forwarded_attribute(WEST)}


def test_ten_attributes_make_room_for_the_loop_guard_by_dropping_a_binary_one(
    topics: Topics, east: ModuleType
) -> None:
    # Given a message with SNS's maximum of 10 attributes: nine String ones and one Binary one, whose
    # name sorts first (filter policies ignore Binary attributes, so it is the one subscribers lose least)
    attributes = {f"attr{i}": {"Type": "String", "Value": f"value{i}"} for i in range(9)}
    binary = {"a_binary": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()}}

    # When it is forwarded
    invoke(east, alarm_record(MessageAttributes={**attributes, **binary}))

    # Then the copy has 10 attributes: the nine String ones and the loop guard
    (forwarded,) = topics.received(EAST)
    assert forwarded["MessageAttributes"] == {**attributes, **forwarded_attribute(WEST)}


def test_already_forwarded_record_is_skipped_not_republished(topics: Topics, east: ModuleType) -> None:
    # Given a record that already carries forwarded_from
    record = alarm_record(MessageAttributes=forwarded_attribute(EAST))

    # When the forwarder handles it
    result = invoke(east, record)

    # Then nothing is published and the result counts it as skipped
    assert topics.received(EAST) == []
    assert result == {"forwarded": 0, "skipped": 1}


def test_ping_pong_between_the_two_forwarders_ends_after_one_hop(
    topics: Topics, east: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given us-east-1's forwarder has republished a us-west-2 alert into us-east-1's topic
    invoke(east, alarm_record())
    (forwarded,) = topics.received(EAST)

    # When that copy reaches us-west-2's forwarder, as it does: the subscriptions have no filter policy
    west = load_forwarder(monkeypatch, region=WEST, source_region=EAST)
    result = invoke(west, sns_record(**forwarded))

    # Then us-west-2's forwarder republishes nothing, so neither topic sees the alert again
    assert result == {"forwarded": 0, "skipped": 1}
    assert topics.received(WEST) == []
    assert topics.received(EAST) == []


def test_long_subject_is_cut_below_snss_100_character_limit(topics: Topics, east: ModuleType) -> None:
    # Given an alert whose subject already uses 100 characters
    invoke(east, alarm_record(Subject="ALARM: " + "x" * 93))

    # When it is forwarded with the region prefix
    (forwarded,) = topics.received(EAST)

    # Then the subject is cut to SNS's limit, prefix first
    assert len(forwarded["Subject"]) == 99
    assert forwarded["Subject"].startswith(f"[{WEST}] ALARM: xxx")


def test_long_non_ascii_alarm_subject_becomes_valid_ascii_keeping_the_region(
    topics: Topics, east: ModuleType
) -> None:
    # Given an alarm named in German and Japanese, whose CloudWatch subject runs past SNS's limit
    # (Publish: "ASCII text that begins with a letter, number, or punctuation mark", under 100 characters)
    subject = (
        'ALARM: "Bestellungen \u2013 Überlast im Zahlungsdienst: Fehlerquote über dem Schwellenwert, '
        '注文処理 5xx" in Europe (Zürich)'
    )

    # When it is forwarded
    invoke(east, alarm_record(Subject=subject))

    # Then the subject is ASCII, under 100 characters, region first, accents dropped rather than the letters
    (forwarded,) = topics.received(EAST)
    assert forwarded["Subject"].isascii()
    assert len(forwarded["Subject"]) < 100
    assert forwarded["Subject"].startswith(f'[{WEST}] ALARM: "Bestellungen ? Uberlast im Zahlungsdienst')


def test_multi_line_subject_is_flattened_to_one_line(topics: Topics, east: ModuleType) -> None:
    # Given an alert whose subject holds line breaks, a tab and other control characters
    invoke(east, alarm_record(Subject='ALARM: "api-5xx"\r\nin US West\x00 (Oregon)\t\n'))

    # When it is forwarded
    (forwarded,) = topics.received(EAST)

    # Then the subject is one line without control characters, words kept apart by single spaces
    assert forwarded["Subject"] == f'[{WEST}] ALARM: "api-5xx" in US West (Oregon)'
    assert not [char for char in forwarded["Subject"] if unicodedata.category(char) == "Cc"]


@pytest.mark.parametrize("subject", [None, "", " \r\n "], ids=["null", "empty", "blank"])
def test_missing_subject_becomes_region_prefixed_alert(
    topics: Topics, east: ModuleType, subject: str | None
) -> None:
    # Given an alert published without a usable subject
    invoke(east, alarm_record(Subject=subject))

    # When it is forwarded
    (forwarded,) = topics.received(EAST)

    # Then the subject still says where it came from
    assert forwarded["Subject"] == f"[{WEST}] alert"


def test_each_record_of_a_batch_is_handled(topics: Topics, east: ModuleType) -> None:
    # Given one event with two fresh alerts and one already-forwarded copy
    records = [
        alarm_record(MessageId="id-1", Message="first"),
        alarm_record(MessageId="id-2", Message="looped", MessageAttributes=forwarded_attribute(EAST)),
        alarm_record(MessageId="id-3", Message="second"),
    ]

    # When the forwarder handles the event
    result = invoke(east, *records)

    # Then both fresh alerts are republished, the copy is not, and the counts say so
    assert result == {"forwarded": 2, "skipped": 1}
    assert sorted(forwarded["Message"] for forwarded in topics.received(EAST)) == ["first", "second"]


def test_malformed_event_raises_a_validation_error(topics: Topics, east: ModuleType) -> None:
    # Given an event whose record is not an SNS notification
    record = {"EventSource": "aws:sns", "Sns": {"MessageId": "id-1"}}

    # When it arrives
    # Then pydantic's ValidationError names what is missing, and nothing is published
    with pytest.raises(ValidationError, match="TopicArn"):
        invoke(east, record)
    assert topics.received(EAST) == []


def test_aws_error_propagates_for_retries_and_the_dead_letter_queue(
    topics: Topics, east: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given this region's topic refuses the publish
    def denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AuthorizationError", "Message": "not authorized to perform SNS:Publish"}},
            "Publish",
        )

    monkeypatch.setattr(east.sns, "publish", denied)

    # When an alert arrives
    # Then the error is raised, so Lambda retries and then hands the event to the dead-letter queue
    with pytest.raises(ClientError) as raised:
        invoke(east, alarm_record())
    assert raised.value.response["Error"]["Code"] == "AuthorizationError"


def test_stalled_sns_endpoint_fails_the_publish_well_before_the_function_timeout(
    env: None, monkeypatch: pytest.MonkeyPatch, silent_endpoint: str
) -> None:
    # Given an SNS endpoint that accepts connections and never answers, and the function's 30 s timeout
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    east = load_forwarder(monkeypatch, region=EAST, source_region=WEST)
    context = FakeLambdaContext(function_name=SERVICE, timeout_seconds=30)

    # When an alarm arrives
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        invoke(east, alarm_record(), context=context)
    elapsed = time.monotonic() - started

    # Then the publish gave up, and raised for Lambda's retries, in less than half the timeout
    assert elapsed < context.timeout_seconds / 2


def test_message_body_never_appears_in_the_logs(
    topics: Topics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a forwarder loaded here, so capsys sees its output, and every logger open down to DEBUG
    east = load_forwarder(monkeypatch, region=EAST, source_region=WEST)
    caplog.set_level(logging.DEBUG)

    # When it forwards one alarm and skips another
    invoke(
        east,
        alarm_record(MessageId="id-forwarded"),
        alarm_record(MessageId="id-skipped", MessageAttributes=forwarded_attribute(EAST)),
    )

    # Then the logs were captured and name both message ids, but no body reached any output
    captured = capsys.readouterr()
    output = "\n".join([captured.out, captured.err, caplog.text])
    assert "id-forwarded" in captured.out
    assert "id-skipped" in captured.out
    assert alarm_body()["NewStateReason"] not in output


@pytest.mark.parametrize("name", ["TARGET_TOPIC_ARN", "SOURCE_REGION"])
def test_settings_name_a_missing_variable(env: None, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # Given the function is deployed without the variable
    monkeypatch.delenv(name)

    # When the settings are parsed (at import, as on a cold start)
    # Then the failure names the variable
    with pytest.raises(ValidationError, match=name):
        load_handler("alert_forwarder", "settings")


def test_settings_take_the_client_region_from_the_target_topic_arn(env: None) -> None:
    # Given the environment of us-east-1's forwarder, under a us-west-2 default region
    # When the settings are parsed
    settings = load_handler("alert_forwarder", "settings").SETTINGS

    # Then the client region is the target topic's, and the service name the contract's default
    assert (settings.target_region, settings.source_region, settings.service_name) == (EAST, WEST, SERVICE)
