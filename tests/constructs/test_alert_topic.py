"""AlertTopic: a region's alert topic, CMK-encrypted and TLS-only, publishable by CloudWatch alarms and
EventBridge of this account, whose key lets those two encrypt into it, with the on-call subscriptions
only when configured."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from tests.conftest import ACCOUNT, bare_stack, masked

REGION = "us-east-1"
TOPIC_NAME = "dev-us-east-1-alerts-v1"
EMAIL = "oncall@acme-corp.net"
HTTPS_ENDPOINT = "https://hooks.acme-corp.net/alerts"


def _alert_topic(config, **on_call: str) -> AlertTopic:
    stack = bare_stack(config, REGION)
    key = AppKey(stack, "Key", alias="alias/dev-us-east-1-orders-v1", region=REGION, account=ACCOUNT)
    return AlertTopic(stack, "Alerts", topic_name=TOPIC_NAME, key=key, **on_call)


@pytest.fixture(scope="module")
def alerts(config) -> AlertTopic:
    # Given a region's alert topic under the region's key, with no on-call configured (the default)
    return _alert_topic(config)


@pytest.fixture(scope="module")
def template(alerts) -> Template:
    return Template.from_stack(cdk.Stack.of(alerts))


@pytest.fixture(scope="module")
def on_call_template(config) -> Template:
    # Given an on-call address and an HTTPS endpoint are configured
    return Template.from_stack(cdk.Stack.of(_alert_topic(config, email=EMAIL, https_endpoint=HTTPS_ENDPOINT)))


def _topic_statements(alerts: AlertTopic, template: Template) -> list[dict[str, Any]]:
    topic_ref = cdk.Stack.of(alerts).resolve(alerts.topic.topic_arn)
    (policy,) = template.find_resources(
        "AWS::SNS::TopicPolicy", {"Properties": {"Topics": [topic_ref]}}
    ).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _key_statement_for(template: Template, service: str) -> dict[str, Any]:
    (key,) = template.find_resources("AWS::KMS::Key").values()
    (statement,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": service}
    ]
    return statement


def test_the_topic_has_the_given_name_under_the_regions_key(alerts, template):
    stack = cdk.Stack.of(alerts)
    template.resource_count_is("AWS::SNS::Topic", 1)
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": TOPIC_NAME, "KmsMasterKeyId": stack.resolve(alerts.topic.master_key.key_arn)},
    )


def test_the_topic_policy_denies_publishing_without_tls(alerts, template):
    topic_ref = cdk.Stack.of(alerts).resolve(alerts.topic.topic_arn)
    denies = [s for s in _topic_statements(alerts, template) if s["Effect"] == "Deny"]
    assert denies == [
        {
            "Sid": "AllowPublishThroughSSLOnly",
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": "*",
            "Resource": topic_ref,
        }
    ]


def test_only_cloudwatch_and_eventbridge_of_this_account_may_publish(alerts, template):
    # Given the topic policy's grants
    allows = [s for s in _topic_statements(alerts, template) if s["Effect"] == "Allow"]
    # Then its one grant is sns:Publish on this topic to the two alert services, for this account only
    assert allows == [
        {
            "Sid": "AlertPublishersOfThisAccount",
            "Action": "sns:Publish",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            "Effect": "Allow",
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
            "Resource": cdk.Stack.of(alerts).resolve(alerts.topic.topic_arn),
        }
    ]


@pytest.mark.parametrize("service", ["cloudwatch.amazonaws.com", "events.amazonaws.com"])
def test_the_key_lets_each_publisher_of_this_account_encrypt_into_the_topic(template, service):
    # Without it an alarm's or a rule's publish into the CMK-encrypted topic fails with KMS AccessDenied
    # (a topic under alias/aws/sns cannot receive CloudWatch alarms at all).
    statement = _key_statement_for(template, service)
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_no_one_is_subscribed_without_on_call_configuration(template):
    template.resource_count_is("AWS::SNS::Subscription", 0)


def test_the_configured_email_and_https_endpoint_are_subscribed(on_call_template):
    # Then both are subscribed to the topic, and nothing else is
    on_call_template.resource_count_is("AWS::SNS::Subscription", 2)
    (topic_id,) = on_call_template.find_resources("AWS::SNS::Topic")
    for protocol, endpoint in (("email", EMAIL), ("https", HTTPS_ENDPOINT)):
        on_call_template.has_resource_properties(
            "AWS::SNS::Subscription",
            {"Protocol": protocol, "Endpoint": endpoint, "TopicArn": {"Ref": topic_id}},
        )


def test_people_receive_every_alert_unfiltered(on_call_template):
    # An on-call filter would silently drop alarms, which carry no message attributes.
    on_call_template.all_resources_properties(
        "AWS::SNS::Subscription", {"FilterPolicy": Match.absent(), "FilterPolicyScope": Match.absent()}
    )


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
