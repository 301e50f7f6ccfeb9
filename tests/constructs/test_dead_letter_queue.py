"""DeadLetterQueue: where failed asynchronous invocations land (seed failure 18), CMK-encrypted,
TLS-only, kept 14 days and on stack delete, with an alarm on any message and one on an old message,
both notifying the alert topic on alarm and on recovery."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dr_constructs.dead_letter_queue import DeadLetterQueue
from tests.conftest import bare_stack, masked

REGION = "us-east-1"
QUEUE_NAME = "dev-us-east-1-ssm-replication-dlq-v1"


@pytest.fixture(scope="module")
def dead_letters(config) -> DeadLetterQueue:
    # Given the dead-letter queue of a function, under the region's key, alarmed into its alert topic
    stack = bare_stack(config, REGION)
    key = kms.Key(stack, "Key")
    topic = sns.Topic(stack, "Alerts", master_key=key)
    return DeadLetterQueue(
        stack,
        "DeadLetters",
        queue_name=QUEUE_NAME,
        key=key,
        alert_topic=topic,
        max_age=cdk.Duration.minutes(15),
        feeds_from="the SSM parameter replicator",
    )


@pytest.fixture(scope="module")
def template(dead_letters) -> Template:
    return Template.from_stack(cdk.Stack.of(dead_letters))


def _ref(construct_value, scope) -> object:
    return cdk.Stack.of(scope).resolve(construct_value)


def test_the_queue_is_encrypted_with_the_given_key_and_keeps_messages_14_days(dead_letters, template):
    # Then the one queue has the given name, the region's key and SQS's longest retention
    template.resource_count_is("AWS::SQS::Queue", 1)
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": QUEUE_NAME,
            "KmsMasterKeyId": _ref(dead_letters.queue.encryption_master_key.key_arn, dead_letters),
            "KmsDataKeyReusePeriodSeconds": 3600,
            "MessageRetentionPeriod": 14 * 24 * 3600,
        },
    )


def test_the_queue_outlives_its_stack_but_not_a_failed_first_create(template):
    # Failed events can be redriven or read after a stack delete; a rolled-back first create
    # removes the fixed-name queue, so the retry does not fail with "already exists".
    template.has_resource(
        "AWS::SQS::Queue", {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"}
    )


def test_the_queue_policy_denies_requests_without_tls(dead_letters, template):
    queue_arn = _ref(dead_letters.queue.queue_arn, dead_letters)
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [_ref(dead_letters.queue.queue_url, dead_letters)],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "sqs:*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Resource": queue_arn,
                    }
                ]
            },
        },
    )


def _alarm_on(dead_letters, metric_name: str, threshold: float) -> dict:
    return {
        "Namespace": "AWS/SQS",
        "MetricName": metric_name,
        "Dimensions": [{"Name": "QueueName", "Value": _ref(dead_letters.queue.queue_name, dead_letters)}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }


def test_any_visible_message_raises_an_alarm(dead_letters, template):
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{QUEUE_NAME}-messages-visible",
            **_alarm_on(dead_letters, "ApproximateNumberOfMessagesVisible", 1),
        },
    )


def test_a_message_older_than_the_max_age_raises_an_alarm(dead_letters, template):
    # Given a max age of 15 minutes
    # Then the oldest message's age alarms at 900 seconds
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{QUEUE_NAME}-oldest-message-age",
            **_alarm_on(dead_letters, "ApproximateAgeOfOldestMessage", 900),
        },
    )


def test_both_alarms_notify_the_alert_topic_on_alarm_and_on_recovery(dead_letters, template):
    # Given the alert topic
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    # Then the construct's two alarms, and only they, notify it when they fire and when they clear
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"AlarmActions": [{"Ref": topic_id}], "OKActions": [{"Ref": topic_id}]}},
    )
    assert len(alarms) == 2


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
