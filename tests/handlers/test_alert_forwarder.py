"""The alert forwarder against moto: an alert topic in us-east-1 and one in us-west-2.

Each topic has an SQS queue subscribed (raw delivery off, so the queue holds SNS's
envelope with subject and attributes) to show what reached it.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.handlers.loader import load_handler

ACCOUNT = "123456789012"
EAST = "us-east-1"
WEST = "us-west-2"
SERVICE = "alert-forwarder"
FILTER_POLICY = {"forwarded_from": [{"exists": False}]}
ALARM_SUBJECT = 'ALARM: "dev-us-west-2-orders-v1-5xx" in US West (Oregon)'
# Stands in for whatever an alert body carries that must stay out of the logs.
BODY_MARKER = "body-marker-4f1c2a-must-not-be-logged"


def topic_arn(region: str) -> str:
    return f"arn:aws:sns:{region}:{ACCOUNT}:dev-{region}-alerts-v1"


def alarm_message(alarm_name: str = "dev-us-west-2-orders-v1-5xx") -> str:
    return json.dumps(
        {
            "AlarmName": alarm_name,
            "NewStateValue": "ALARM",
            "NewStateReason": f"Threshold Crossed: 1 datapoint [7.0] was greater than 5.0 ({BODY_MARKER})",
            "Region": "US West (Oregon)",
            "AWSAccountId": ACCOUNT,
        }
    )


def sns_record(
    message: str,
    *,
    subject: str | None = ALARM_SUBJECT,
    attributes: dict[str, Any] | None = None,
    message_id: str = "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
    source_topic: str = topic_arn(WEST),
) -> dict[str, Any]:
    """One record of the event SNS hands Lambda; SNS sends "Subject": null when there is none."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{source_topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": source_topic,
            "Subject": subject,
            "Message": message,
            "Timestamp": "2025-01-01T00:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeUrl": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": attributes or {},
        },
    }


def forwarded_attribute(region: str) -> dict[str, Any]:
    return {"forwarded_from": {"Type": "String", "Value": region}}


@dataclass
class LambdaContextStub:
    function_name: str = SERVICE
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = f"arn:aws:lambda:{EAST}:{ACCOUNT}:function:{SERVICE}"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def invoke(handler: ModuleType, *records: dict[str, Any]) -> dict[str, int]:
    return handler.lambda_handler({"Records": list(records)}, LambdaContextStub())


@dataclass
class Topics:
    queues: dict[str, str]

    def subscribe_queue(self, region: str, name: str, **attributes: str) -> str:
        sqs = boto3.client("sqs", region_name=region)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        boto3.client("sns", region_name=region).subscribe(
            TopicArn=topic_arn(region), Protocol="sqs", Endpoint=arn, Attributes=attributes
        )
        return url

    def received(self, region: str, url: str | None = None) -> list[dict[str, Any]]:
        """SNS envelopes delivered to the region's queue: subject, message and attributes."""
        response = boto3.client("sqs", region_name=region).receive_message(
            QueueUrl=url or self.queues[region], MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(message["Body"]) for message in response.get("Messages", [])]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # The source's region as default: a client that ignored the target ARN's region would miss its topic.
    monkeypatch.setenv("AWS_DEFAULT_REGION", WEST)
    monkeypatch.setenv("TARGET_TOPIC_ARN", topic_arn(EAST))
    monkeypatch.setenv("SOURCE_REGION", WEST)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
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


def test_alarm_from_the_other_region_is_republished_once_with_prefix_and_marker(
    topics: Topics, east: ModuleType
) -> None:
    # Given an alarm notification delivered from us-west-2's topic
    record = sns_record(alarm_message())

    # When us-east-1's forwarder handles it
    result = invoke(east, record)

    # Then us-east-1's topic got exactly one copy: prefixed subject, same body, forwarded_from set
    (copy,) = topics.received(EAST)
    assert copy["TopicArn"] == topic_arn(EAST)
    assert copy["Subject"] == f"[{WEST}] {ALARM_SUBJECT}"
    assert copy["Message"] == alarm_message()
    assert copy["MessageAttributes"] == forwarded_attribute(WEST)
    assert result == {"forwarded": 1, "skipped": 0}


def test_already_forwarded_record_is_skipped_not_republished(topics: Topics, east: ModuleType) -> None:
    # Given a record that already carries forwarded_from (the filter policy should have dropped it)
    record = sns_record(alarm_message(), attributes=forwarded_attribute(EAST))

    # When the forwarder handles it
    result = invoke(east, record)

    # Then nothing is published and the result counts it as skipped
    assert topics.received(EAST) == []
    assert result == {"forwarded": 0, "skipped": 1}


def test_ping_pong_between_the_two_forwarders_ends_after_one_hop(
    topics: Topics, east: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given us-east-1's forwarder has republished a us-west-2 alert into us-east-1's topic
    invoke(east, sns_record(alarm_message()))
    (copy,) = topics.received(EAST)

    # When that copy reaches us-west-2's forwarder, as if its filter policy were missing
    west = load_forwarder(monkeypatch, region=WEST, source_region=EAST)
    result = invoke(west, {"EventSource": "aws:sns", "Sns": copy})

    # Then us-west-2's forwarder republishes nothing, so neither topic sees the alert again
    assert result == {"forwarded": 0, "skipped": 1}
    assert topics.received(WEST) == []
    assert topics.received(EAST) == []


def test_forwarded_copy_is_dropped_by_the_subscriptions_filter_policy(
    topics: Topics, east: ModuleType
) -> None:
    # Given a subscription on us-east-1's topic with the filter policy the other forwarder's has
    filtered = topics.subscribe_queue(
        EAST, "filtered", FilterPolicy=json.dumps(FILTER_POLICY), FilterPolicyScope="MessageAttributes"
    )

    # When us-east-1's forwarder republishes a us-west-2 alert, and an alarm publishes a local one
    invoke(east, sns_record(alarm_message()))
    boto3.client("sns", region_name=EAST).publish(
        TopicArn=topic_arn(EAST), Message=alarm_message("local"), Subject="ALARM: local"
    )

    # Then the filtered subscription gets the local alarm only, never the forwarded copy
    assert [envelope["Subject"] for envelope in topics.received(EAST, filtered)] == ["ALARM: local"]


def test_long_subject_is_cut_below_snss_100_character_limit(topics: Topics, east: ModuleType) -> None:
    # Given an alert whose subject already uses 100 characters
    invoke(east, sns_record(alarm_message(), subject="ALARM: " + "x" * 93))

    # When it is forwarded with the region prefix
    (copy,) = topics.received(EAST)

    # Then the subject is cut to SNS's limit, prefix first
    assert len(copy["Subject"]) == 99
    assert copy["Subject"].startswith(f"[{WEST}] ALARM: xxx")


def test_multi_line_subject_is_flattened_to_one_line(topics: Topics, east: ModuleType) -> None:
    # Given an alert whose subject holds line breaks, a tab and other control characters
    invoke(east, sns_record(alarm_message(), subject='ALARM: "api-5xx"\r\nin US West\x00 (Oregon)\t\n'))

    # When it is forwarded
    (copy,) = topics.received(EAST)

    # Then the subject is one line without control characters, words kept apart by single spaces
    assert copy["Subject"] == f'[{WEST}] ALARM: "api-5xx" in US West (Oregon)'
    assert not [char for char in copy["Subject"] if unicodedata.category(char) == "Cc"]


@pytest.mark.parametrize("subject", [None, "", " \r\n "], ids=["null", "empty", "blank"])
def test_missing_subject_becomes_region_prefixed_alert(
    topics: Topics, east: ModuleType, subject: str | None
) -> None:
    # Given an alert published without a usable subject
    invoke(east, sns_record(alarm_message(), subject=subject))

    # When it is forwarded
    (copy,) = topics.received(EAST)

    # Then the subject still says where it came from
    assert copy["Subject"] == f"[{WEST}] alert"


def test_each_record_of_a_batch_is_handled(topics: Topics, east: ModuleType) -> None:
    # Given one event with two fresh alerts and one already-forwarded copy
    records = [
        sns_record(alarm_message("first"), message_id="id-1"),
        sns_record(alarm_message("looped"), message_id="id-2", attributes=forwarded_attribute(EAST)),
        sns_record(alarm_message("second"), message_id="id-3"),
    ]

    # When the forwarder handles the event
    result = invoke(east, *records)

    # Then both fresh alerts are republished, the copy is not, and the counts say so
    assert result == {"forwarded": 2, "skipped": 1}
    assert sorted(copy["Message"] for copy in topics.received(EAST)) == sorted(
        [alarm_message("first"), alarm_message("second")]
    )


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
        invoke(east, sns_record(alarm_message()))
    assert raised.value.response["Error"]["Code"] == "AuthorizationError"


def test_message_body_never_appears_in_the_logs(
    topics: Topics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a forwarder loaded here, so capsys sees its output, and every logger open down to DEBUG
    east = load_forwarder(monkeypatch, region=EAST, source_region=WEST)
    caplog.set_level(logging.DEBUG)

    # When it forwards one alert and skips another, both bodies carrying the marker
    invoke(
        east,
        sns_record(alarm_message(), message_id="id-forwarded"),
        sns_record(alarm_message(), message_id="id-skipped", attributes=forwarded_attribute(EAST)),
    )

    # Then the logs were captured and name both message ids, but no body reached any output
    captured = capsys.readouterr()
    output = "\n".join([captured.out, captured.err, caplog.text])
    assert "id-forwarded" in captured.out
    assert "id-skipped" in captured.out
    assert BODY_MARKER not in output


def test_settings_reject_a_missing_target_topic_arn(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the function is deployed without TARGET_TOPIC_ARN
    monkeypatch.delenv("TARGET_TOPIC_ARN")

    # When the settings are parsed (at import, as on a cold start)
    # Then the failure names the variable
    with pytest.raises(ValueError, match="TARGET_TOPIC_ARN"):
        load_handler("alert_forwarder", "settings")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TARGET_TOPIC_ARN", f"arn:aws:sqs:{EAST}:{ACCOUNT}:dev-{EAST}-alerts-v1"),
        ("TARGET_TOPIC_ARN", f"dev-{EAST}-alerts-v1"),
        ("SOURCE_REGION", "us-west2"),
        ("SOURCE_REGION", EAST),
    ],
    ids=["not-sns", "name-not-arn", "source-not-a-region", "source-is-the-target-region"],
)
def test_settings_reject_an_invalid_variable_naming_it(
    env: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    # Given a variable that is set but wrong
    monkeypatch.setenv(name, value)

    # When the settings are parsed
    # Then the failure names the variable
    with pytest.raises(ValueError, match=name):
        load_handler("alert_forwarder", "settings")


def test_settings_take_the_client_region_from_the_target_topic_arn(env: None) -> None:
    # Given the environment of us-east-1's forwarder, under a us-west-2 default region
    # When the settings are parsed
    settings = load_handler("alert_forwarder", "settings").SETTINGS

    # Then the client region is the target topic's, and the service name the contract's default
    assert (settings.target_region, settings.source_region, settings.service_name) == (EAST, WEST, SERVICE)
