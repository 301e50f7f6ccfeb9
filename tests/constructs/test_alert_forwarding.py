"""AlertForwarder republishes the other region's alerts into this region's topic; subscribe_forwarder
subscribes it to every message of that topic, with no filter policy (seed failure 4 and the SNS
"Key matching" rule: an alarm carries no message attributes). The cross-region pairing of the two
regions' topics and forwarders is tested on the whole app (tests/app/test_services_wiring.py)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from dr_constructs.alert_forwarding import AlertForwarder, subscribe_forwarder
from dr_constructs.service_function import FunctionDefaults
from tests.aws_rules.sns_filter import matches
from tests.cfn import at_path
from tests.conftest import bare_stack, masked

REGION, SOURCE_REGION = "us-east-1", "us-west-2"
FUNCTION_NAME = "dev-us-east-1-alert-forwarder-v1"
SOURCE_TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:dev-us-west-2-alerts-v1"


def _forwarder(stack: cdk.Stack, *, source_region: str) -> AlertForwarder:
    key = kms.Key(stack, "Key")
    topic = sns.Topic(stack, "Alerts", master_key=key)
    return AlertForwarder(
        stack,
        "AlertForwarder",
        function_name=FUNCTION_NAME,
        role_name="dev-us-east-1-alert-forwarder-fn-v1",
        queue_name="dev-us-east-1-alert-forwarder-dlq-v1",
        topic=topic,
        key=key,
        source_region=source_region,
        source_topic_arn=SOURCE_TOPIC_ARN,
        defaults=FunctionDefaults(
            log_key=key, log_retention=logs.RetentionDays.THREE_MONTHS, powertools_layer_version=27
        ),
        dead_letter_max_age=cdk.Duration.minutes(15),
    )


@pytest.fixture(scope="module")
def forwarder(config) -> AlertForwarder:
    # Given the forwarder of us-west-2's alerts into us-east-1's topic, subscribed to us-west-2's topic
    stack = bare_stack(config, REGION)
    forwarder = _forwarder(stack, source_region=SOURCE_REGION)
    subscribe_forwarder(
        stack,
        "DrAlertsToPrimaryForwarder",
        topic_arn=SOURCE_TOPIC_ARN,
        topic_region=SOURCE_REGION,
        forwarder_arn=forwarder.function.function_arn,
    )
    return forwarder


@pytest.fixture(scope="module")
def template(forwarder) -> Template:
    return Template.from_stack(cdk.Stack.of(forwarder))


def _resolve(forwarder: AlertForwarder, value: Any) -> Any:
    return cdk.Stack.of(forwarder).resolve(value)


def _topic_ref(template: Template) -> dict[str, str]:
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    return {"Ref": topic_id}


def _role_statements(template: Template) -> list[dict[str, Any]]:
    (_, policy) = at_path(template, "Test/AlertForwarder/Forwarder/Role/DefaultPolicy/Resource")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_the_forwarder_is_told_its_target_topic_and_source_region_and_runs_outside_the_vpc(
    forwarder, template
):
    # Outside the VPC: SNS in the other region is reached over the internet, not an endpoint.
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": FUNCTION_NAME,
            "Environment": {
                "Variables": {"TARGET_TOPIC_ARN": _topic_ref(template), "SOURCE_REGION": SOURCE_REGION}
            },
            "Timeout": 30,
            "VpcConfig": Match.absent(),
        },
    )


def test_only_the_other_regions_topic_may_invoke_the_forwarder(forwarder, template):
    # Then the function's one resource-based permission names the source topic, for SNS
    template.resource_count_is("AWS::Lambda::Permission", 1)
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": _resolve(forwarder, forwarder.function.function_arn),
            "Principal": "sns.amazonaws.com",
            "SourceArn": SOURCE_TOPIC_ARN,
        },
    )


def test_the_forwarder_may_publish_only_to_its_own_regions_topic(template):
    publishes = [s for s in _role_statements(template) if "sns:Publish" in str(s["Action"])]
    assert publishes == [{"Action": "sns:Publish", "Effect": "Allow", "Resource": _topic_ref(template)}]


def test_failed_invocations_retry_twice_then_land_in_the_forwarders_dead_letter_queue(forwarder, template):
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": _resolve(forwarder, forwarder.function.function_name),
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {
                "OnFailure": {"Destination": _resolve(forwarder, forwarder.dead_letters.queue.queue_arn)}
            },
        },
    )


def test_the_dead_letter_queue_alarms_notify_this_regions_topic(forwarder, template):
    # Given the queue's alarms (DeadLetterQueue's own tests cover their thresholds)
    queue_name = _resolve(forwarder, forwarder.dead_letters.queue.queue_name)
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"Dimensions": [{"Name": "QueueName", "Value": queue_name}]}},
    ).values()
    # Then a visible message and an old message both notify this region's topic
    assert sorted(a["Properties"]["MetricName"] for a in alarms) == [
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
    ]
    assert all(a["Properties"]["AlarmActions"] == [_topic_ref(template)] for a in alarms)


def test_a_forwarder_cannot_forward_its_own_regions_alerts(stack_in):
    # Given a stack in us-east-1
    stack = stack_in(REGION)
    # When a forwarder there is asked to forward us-east-1's alerts
    # Then it refuses: it would republish every alert into the topic it came from
    with pytest.raises(ValueError, match="forwards from another region, not its own"):
        _forwarder(stack, source_region=REGION)


def _subscription(template: Template) -> dict[str, Any]:
    (subscription,) = template.find_resources("AWS::SNS::Subscription").values()
    return subscription["Properties"]


def test_the_subscription_sends_the_other_regions_topic_to_the_forwarder(forwarder, template):
    template.resource_count_is("AWS::SNS::Subscription", 1)
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "lambda",
            "TopicArn": SOURCE_TOPIC_ARN,
            # A subscription must be made in its topic's region
            "Region": SOURCE_REGION,
            "Endpoint": _resolve(forwarder, forwarder.function.function_arn),
        },
    )


def test_the_subscription_has_no_filter_policy(template):
    # The forwarder code drops the copies it made itself (the loop guard, tests/handlers).
    assert "FilterPolicy" not in _subscription(template)
    assert "FilterPolicyScope" not in _subscription(template)


def test_a_cloudwatch_alarm_without_message_attributes_reaches_the_forwarder(template):
    # Given CloudWatch publishes an alarm notification with no message attributes
    alarm: dict[str, Any] = {}
    # Then SNS delivers it: even {"exists": false} would not match an empty attribute set
    # (SNS Developer Guide, "Key matching"; tests/aws_rules/sns_filter.py)
    assert matches(_subscription(template).get("FilterPolicy"), alarm)


def test_a_forwarded_copy_still_reaches_the_forwarder_whose_code_drops_it(template):
    # Given a copy a forwarder made, with its loop-guard attribute
    forwarded = {"forwarded_from": {"Type": "String", "Value": SOURCE_REGION}}
    # Then delivery is not the guard: no attribute-scope policy can pass attribute-less alarms and stop it
    assert matches(_subscription(template).get("FilterPolicy"), forwarded)


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
