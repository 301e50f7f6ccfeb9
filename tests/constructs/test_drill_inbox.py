"""DrillInbox: in the DR region, a CMK-encrypted queue on the DR alert topic that receives only the DR
drill's canaries (a message-body filter), so the drill can see an alert from the primary arrive in DR."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dr_constructs.app_key import AppKey
from dr_constructs.drill_inbox import CANARY_KIND, DrillInbox
from tests.conftest import ACCOUNT, bare_stack, masked

REGION = "us-west-2"
QUEUE_NAME = "dev-us-west-2-drill-inbox-v1"


@pytest.fixture(scope="module")
def inbox(config) -> DrillInbox:
    # Given the DR region's key and its alert topic encrypted with it
    stack = bare_stack(config, REGION)
    key = AppKey(stack, "Key", alias="alias/dev-us-west-2-orders-v1", region=REGION, account=ACCOUNT)
    topic = sns.Topic(stack, "Alerts", topic_name="dev-us-west-2-alerts-v1", master_key=key.key)
    # When the drill's inbox subscribes to it
    return DrillInbox(stack, "DrillInbox", queue_name=QUEUE_NAME, key=key, topic=topic)


@pytest.fixture(scope="module")
def template(inbox) -> Template:
    return Template.from_stack(cdk.Stack.of(inbox))


def _resolve(inbox: DrillInbox, value: Any) -> Any:
    return cdk.Stack.of(inbox).resolve(value)


def _topic_ref(template: Template) -> dict[str, str]:
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    return {"Ref": topic_id}


def test_the_queue_is_encrypted_with_the_regions_key_and_keeps_a_canary_one_hour(inbox, template):
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": QUEUE_NAME,
            "KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            "MessageRetentionPeriod": 3600,
        },
    )


def test_the_queue_is_deleted_with_its_stack(template):
    # A canary is read within minutes or not at all: nothing in it outlives the drill.
    template.has_resource("AWS::SQS::Queue", {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"})


def test_only_sns_delivering_from_the_dr_topic_may_send_and_only_over_tls(inbox, template):
    (policy,) = template.find_resources("AWS::SQS::QueuePolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    queue_arn = _resolve(inbox, inbox.queue.queue_arn)
    assert [s for s in statements if s["Effect"] == "Allow"] == [
        {
            "Action": "sqs:SendMessage",
            "Condition": {"ArnEquals": {"aws:SourceArn": _topic_ref(template)}},
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Resource": queue_arn,
        }
    ]
    assert [s["Condition"] for s in statements if s["Effect"] == "Deny"] == [
        {"Bool": {"aws:SecureTransport": "false"}}
    ]


def test_the_queue_receives_only_drill_canaries_from_the_dr_topic(inbox, template):
    # Then the subscription filters on the message body, which a forwarded copy keeps as is,
    # and passes only messages whose "kind" is the drill's canary
    template.resource_count_is("AWS::SNS::Subscription", 1)
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "sqs",
            "TopicArn": _topic_ref(template),
            "Endpoint": _resolve(inbox, inbox.queue.queue_arn),
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": {"kind": [CANARY_KIND]},
        },
    )
    assert CANARY_KIND == "dr-drill-canary"


def test_sns_of_this_account_may_encrypt_into_the_keys_queues(template):
    # Without it SNS cannot deliver into a CMK-encrypted queue.
    (key,) = template.find_resources("AWS::KMS::Key").values()
    (sns_statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "sns.amazonaws.com"}
    ]
    assert sorted(sns_statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert sns_statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_the_key_policy_does_not_name_the_topic(template):
    # The topic is encrypted with the key: a key policy naming the topic would be a dependency cycle.
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    (key,) = template.find_resources("AWS::KMS::Key").values()
    assert topic_id not in str(key["Properties"]["KeyPolicy"])


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
