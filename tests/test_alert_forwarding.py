"""Each region's alerts reach the other region's topic through a forwarder, once,
never back (seed failure 4: a cross-region subscription that did not exist)."""

from __future__ import annotations

import pytest

from tests.aws_rules.sns_filter import matches
from tests.cfn import at_path, render
from tests.conftest import synthesize

TOPIC = "arn:aws:sns:{region}:123456789012:dev-{region}-alerts-v1"
FORWARDER = "arn:aws:lambda:{region}:123456789012:function:dev-{region}-alert-forwarder-v1"


def _subscriptions(template):
    return [s["Properties"] for s in template.find_resources("AWS::SNS::Subscription").values()]


def _endpoint(subscription, template):
    endpoint = subscription["Endpoint"]
    if isinstance(endpoint, dict):  # the primary's own forwarder, by reference
        (function_id, _) = at_path(template, "PrimaryRegion/AlertForwarder/Function/Resource")
        assert endpoint == {"Fn::GetAtt": [function_id, "Arn"]}
        return FORWARDER.format(region="us-east-1")
    return endpoint


def _topic(subscription, template):
    topic = subscription["TopicArn"]
    if isinstance(topic, dict):  # the primary's own topic, by reference
        (topic_id, _) = at_path(template, "PrimaryRegion/Alerts/Topic/Resource")
        assert topic == {"Ref": topic_id}
        return TOPIC.format(region="us-east-1")
    return topic


def test_each_regions_topic_is_subscribed_by_the_other_regions_forwarder(primary):
    pairs = {
        (_topic(s, primary), s["Region"], _endpoint(s, primary))
        for s in _subscriptions(primary)
        if s["Protocol"] == "lambda"
    }
    assert pairs == {
        (TOPIC.format(region="us-east-1"), "us-east-1", FORWARDER.format(region="us-west-2")),
        (TOPIC.format(region="us-west-2"), "us-west-2", FORWARDER.format(region="us-east-1")),
    }


def test_no_forwarder_listens_to_its_own_regions_topic(primary, dr):
    for subscription in _subscriptions(primary) + _subscriptions(dr):
        if subscription["Protocol"] == "lambda":
            topic_region = _topic(subscription, primary).split(":")[3]
            endpoint_region = _endpoint(subscription, primary).split(":")[3]
            assert topic_region != endpoint_region


# CloudWatch sends an alarm's notification to SNS with no message attributes; a forwarded
# copy carries the forwarder's loop-guard attribute.
ALARM_ATTRIBUTES: dict[str, dict[str, str]] = {}
FORWARDED_ATTRIBUTES = {"forwarded_from": {"Type": "String", "Value": "us-west-2"}}


def _delivers(subscription, attributes):
    """Whether SNS hands a message with these attributes to the subscription, by the documented
    rules (tests/aws_rules/sns_filter.py; only attribute-scope policies are evaluated there)."""
    assert subscription.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"
    return matches(subscription.get("FilterPolicy"), attributes)


def test_every_cross_region_subscription_delivers_an_alarm_notification_without_attributes(primary):
    # Given the forwarders' subscriptions to the other region's topic
    forwarders = [s for s in _subscriptions(primary) if s["Protocol"] == "lambda"]
    assert len(forwarders) == 2
    # When CloudWatch publishes an alarm (no message attributes) into either topic
    # Then SNS delivers it to the other region's forwarder
    for subscription in forwarders:
        assert _delivers(subscription, ALARM_ATTRIBUTES)


def test_a_forwarded_copy_still_reaches_the_forwarder_whose_code_drops_it(primary):
    # Given a copy the forwarder made, with its loop-guard attribute: no attribute-scope
    # filter can both pass attribute-less alarms and stop it, so delivery is not the guard
    for subscription in (s for s in _subscriptions(primary) if s["Protocol"] == "lambda"):
        assert _delivers(subscription, FORWARDED_ATTRIBUTES)
    # Then the forwarder's own check is the guard (tests/handlers/test_alert_forwarder.py)


@pytest.mark.parametrize(
    ("stack", "stack_id", "region", "other"),
    [
        ("primary", "PrimaryRegion", "us-east-1", "us-west-2"),
        ("dr", "DrRegion", "us-west-2", "us-east-1"),
    ],
)
def test_a_forwarder_is_invoked_only_by_the_other_regions_topic(request, stack, stack_id, region, other):
    template = request.getfixturevalue(stack)
    (_, permission) = at_path(template, f"{stack_id}/AlertForwarder/Function/InvokedByOtherRegionAlerts")
    assert permission["Properties"]["Principal"] == "sns.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == TOPIC.format(region=other)


@pytest.mark.parametrize(
    ("stack", "stack_id", "region"),
    [
        ("primary", "PrimaryRegion", "us-east-1"),
        ("dr", "DrRegion", "us-west-2"),
    ],
)
def test_a_forwarder_may_publish_only_to_its_own_regions_topic(request, stack, stack_id, region):
    template = request.getfixturevalue(stack)
    (topic_id, _) = at_path(template, f"{stack_id}/Alerts/Topic/Resource")
    (_, policy) = at_path(template, f"{stack_id}/AlertForwarder/Role/DefaultPolicy/Resource")
    publishes = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "sns:Publish" in str(s["Action"])
    ]
    assert publishes == [{"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": topic_id}}]
    (_, function) = at_path(template, f"{stack_id}/AlertForwarder/Function/Resource")
    env = function["Properties"]["Environment"]["Variables"]
    assert env["TARGET_TOPIC_ARN"] == {"Ref": topic_id}
    assert "VpcConfig" not in function["Properties"]


@pytest.mark.parametrize(("stack", "stack_id"), [("primary", "PrimaryRegion"), ("dr", "DrRegion")])
def test_forwarder_failures_land_in_an_alarmed_dead_letter_queue(request, stack, stack_id):
    template = request.getfixturevalue(stack)
    (function_id, _) = at_path(template, f"{stack_id}/AlertForwarder/Function/Resource")
    (queue_id, _) = at_path(template, f"{stack_id}/AlertForwarderDeadLetters/Queue/Resource")
    configs = [
        c["Properties"]
        for c in template.find_resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert configs[0]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}
    }
    assert configs[0]["MaximumRetryAttempts"] == 2
    alarmed = [
        a["Properties"]["MetricName"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}
        in a["Properties"].get("Dimensions", [])
    ]
    assert sorted(alarmed) == ["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"]


def test_sns_may_deliver_into_the_key_of_encrypted_queues_and_topics(dr):
    (key,) = dr.find_resources("AWS::KMS::Key").values()
    principals = [s["Principal"] for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert {"Service": "sns.amazonaws.com"} in principals


def test_no_on_call_subscription_without_configuration(primary, dr, global_):
    for template in (primary, dr, global_):
        # Only the forwarders and the drill's inbox: no people.
        assert {s["Protocol"] for s in _subscriptions(template)} <= {"lambda", "sqs"}


def test_an_on_call_email_and_https_endpoint_subscribe_to_every_alert_topic(tmp_path):
    configured = synthesize(
        tmp_path, alertEmail="oncall@acme-corp.net", alertHttpsEndpoint="https://hooks.acme-corp.net/alerts"
    )
    for stack in (configured.platform.primary, configured.platform.dr, configured.platform.global_):
        endpoints = {
            (s["Protocol"], render(s["Endpoint"]))
            for s in _subscriptions(configured.template(stack))
            if s["Protocol"] not in ("lambda", "sqs")
        }
        assert endpoints == {
            ("email", "oncall@acme-corp.net"),
            ("https", "https://hooks.acme-corp.net/alerts"),
        }
