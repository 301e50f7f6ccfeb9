"""Each region's alert topic: CMK-encrypted, TLS-only, publishable by CloudWatch alarms and
EventBridge of this account, whose key lets CloudWatch encrypt into it."""

from __future__ import annotations

import pytest

from tests.cfn import only

REGIONS = pytest.mark.parametrize(("stack", "region"), [("primary", "us-east-1"), ("dr", "us-west-2")])
PUBLISHERS = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]


def _topic_policy(template, topic_id):
    (policy,) = [
        p["Properties"]
        for p in template.find_resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    return policy["PolicyDocument"]["Statement"]


def _principals(statement):
    services = statement["Principal"]["Service"]
    return sorted([services] if isinstance(services, str) else services)


@REGIONS
def test_one_alert_topic_per_region_named_by_convention_under_the_regions_key(request, stack, region):
    template = request.getfixturevalue(stack)
    (_, topic) = only(template, "AWS::SNS::Topic")
    (key_id, _) = only(template, "AWS::KMS::Key")
    assert topic["Properties"]["TopicName"] == f"dev-{region}-alerts-v1"
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


@REGIONS
def test_topic_policy_denies_publishing_without_tls(request, stack, region):
    template = request.getfixturevalue(stack)
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    denies = [s for s in _topic_policy(template, topic_id) if s["Effect"] == "Deny"]
    assert denies == [
        {
            "Sid": "AllowPublishThroughSSLOnly",
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": "*",
            "Resource": {"Ref": topic_id},
        }
    ]


@REGIONS
def test_only_cloudwatch_and_eventbridge_of_this_account_may_publish(request, stack, region):
    # Given the topic's policy
    template = request.getfixturevalue(stack)
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    allows = [s for s in _topic_policy(template, topic_id) if s["Effect"] == "Allow"]
    # Then its one grant is sns:Publish on this topic to the two alert services, for this account only
    (allow,) = allows
    assert _principals(allow) == PUBLISHERS
    assert set(allow["Principal"]) == {"Service"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic_id}
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@REGIONS
def test_the_key_lets_cloudwatch_alarms_encrypt_into_the_topic(request, stack, region):
    # Without it an alarm's publish into the CMK-encrypted topic fails with KMS AccessDenied.
    template = request.getfixturevalue(stack)
    (_, key) = only(template, "AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Effect"] == "Allow"
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Resource"] == "*"
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


@REGIONS
def test_the_key_lets_eventbridge_encrypt_into_the_topic(request, stack, region):
    template = request.getfixturevalue(stack)
    (_, key) = only(template, "AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (events,) = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
