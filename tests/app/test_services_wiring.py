"""How the regional services of the two stacks meet: each region's alerts reach the other region's
topic through its forwarder, once, never back (seed failure 4: a cross-region subscription that did
not exist); people hear every alert when configured; no parameter value is in any template (seed
failure 5); the DR functions read the DR replica, the DR path and the DR key, where replication puts
the copies (seed failures 7 and 20). What one construct does alone is tested in tests/constructs/."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from dr_constructs.drill_inbox import CANARY_KIND
from tests.aws_rules.sns_filter import matches
from tests.cfn import at_path, only, render
from tests.conftest import ACCOUNT, Synthesized, synthesize

PRIMARY, DR = "us-east-1", "us-west-2"
TOPIC = "{stack}/Services/Alerts/Topic/Resource"
FORWARDER = "{stack}/Services/AlertForwarder/Forwarder/Function/Resource"
EMAIL = "oncall@acme-corp.net"
HTTPS_ENDPOINT = "https://hooks.acme-corp.net/alerts"
REGIONS = pytest.mark.parametrize(
    ("stack", "stack_id", "region"), [("primary", "PrimaryRegion", PRIMARY), ("dr", "DrRegion", DR)]
)


def _subscriptions(template: Template, protocol: str | None = None) -> list[dict[str, Any]]:
    return [
        s["Properties"]
        for s in template.find_resources("AWS::SNS::Subscription").values()
        if protocol is None or s["Properties"]["Protocol"] == protocol
    ]


def _arn(resources: dict[str, Any], value: Any, region: str) -> str:
    """A topic or function ARN as a string: a name of the convention as is, a reference to a topic
    or function of the same template built from that resource's physical name."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        topic = resources[value["Ref"]]
        assert topic["Type"] == "AWS::SNS::Topic"
        return f"arn:aws:sns:{region}:{ACCOUNT}:{topic['Properties']['TopicName']}"
    (logical_id, attribute) = value["Fn::GetAtt"]
    function = resources[logical_id]
    assert (function["Type"], attribute) == ("AWS::Lambda::Function", "Arn")
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function['Properties']['FunctionName']}"


def _topic_arn(template: Template, stack_id: str, region: str) -> str:
    (topic_id, _) = at_path(template, TOPIC.format(stack=stack_id))
    return _arn(template.to_json()["Resources"], {"Ref": topic_id}, region)


def _forwarder_arn(template: Template, stack_id: str, region: str) -> str:
    (function_id, _) = at_path(template, FORWARDER.format(stack=stack_id))
    return _arn(template.to_json()["Resources"], {"Fn::GetAtt": [function_id, "Arn"]}, region)


def _forwarding(primary: Template) -> set[tuple[str, str, str]]:
    """(topic ARN, subscription region, forwarder ARN) of every forwarder subscription; all of them
    live in the primary stack."""
    resources = primary.to_json()["Resources"]
    return {
        (_arn(resources, s["TopicArn"], s["Region"]), s["Region"], _arn(resources, s["Endpoint"], PRIMARY))
        for s in _subscriptions(primary, "lambda")
    }


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


# --- Alerts cross the regions ---------------------------------------------------------------------


def test_each_regions_topic_is_subscribed_by_the_other_regions_forwarder(primary, dr):
    # Given the topics and forwarders each regional stack deploys
    primary_topic = _topic_arn(primary, "PrimaryRegion", PRIMARY)
    primary_forwarder = _forwarder_arn(primary, "PrimaryRegion", PRIMARY)
    dr_topic, dr_forwarder = _topic_arn(dr, "DrRegion", DR), _forwarder_arn(dr, "DrRegion", DR)
    # Then the primary stack, deployed after the DR stack, subscribes each forwarder to the other
    # region's topic, in that topic's region: the names it uses are those the DR stack deploys
    assert _forwarding(primary) == {
        (primary_topic, PRIMARY, dr_forwarder),
        (dr_topic, DR, primary_forwarder),
    }
    # And the DR stack subscribes no forwarder itself
    assert _subscriptions(dr, "lambda") == []


def test_no_forwarder_listens_to_its_own_regions_topic(primary):
    for topic, _, forwarder in _forwarding(primary):
        assert topic.split(":")[3] != forwarder.split(":")[3], (topic, forwarder)


@REGIONS
def test_each_forwarder_may_be_invoked_by_the_topic_subscribed_to_it(
    request, primary, stack, stack_id, region
):
    # Given the topic the primary stack subscribes this region's forwarder to
    template = request.getfixturevalue(stack)
    forwarder = _forwarder_arn(template, stack_id, region)
    (subscribed_topic,) = [topic for topic, _, endpoint in _forwarding(primary) if endpoint == forwarder]
    # Then the forwarder's permission lets SNS invoke it from exactly that topic
    (_, permission) = at_path(
        template, f"{stack_id}/Services/AlertForwarder/Forwarder/Function/InvokedByOtherRegionAlerts"
    )
    assert permission["Properties"]["Principal"] == "sns.amazonaws.com"
    assert permission["Properties"]["SourceArn"] == subscribed_topic


# CloudWatch sends an alarm's notification to SNS with no message attributes; a forwarded copy
# carries the forwarder's loop-guard attribute.
ALARM_ATTRIBUTES: dict[str, dict[str, str]] = {}
FORWARDED_ATTRIBUTES = {"forwarded_from": {"Type": "String", "Value": DR}}


def _delivers(subscription: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether SNS hands a message with these attributes to the subscription, by the documented
    rules (tests/aws_rules/sns_filter.py evaluates attribute-scope policies only)."""
    assert subscription.get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"
    return matches(subscription.get("FilterPolicy"), attributes)


def test_every_cross_region_subscription_delivers_an_alarm_notification_without_attributes(primary):
    # Given the forwarders' subscriptions to the other region's topic
    forwarders = _subscriptions(primary, "lambda")
    assert len(forwarders) == 2
    # When CloudWatch publishes an alarm (no message attributes) into either topic
    # Then SNS delivers it to the other region's forwarder: an attribute-scope policy, even
    # {"exists": false}, never matches a message without attributes (SNS docs, "Key matching")
    for subscription in forwarders:
        assert _delivers(subscription, ALARM_ATTRIBUTES)


def test_a_forwarded_copy_still_reaches_the_forwarder_whose_code_drops_it(primary):
    # Given a copy a forwarder made, with its loop-guard attribute: no attribute-scope filter can
    # both pass attribute-less alarms and stop it, so delivery is not the guard
    for subscription in _subscriptions(primary, "lambda"):
        assert _delivers(subscription, FORWARDED_ATTRIBUTES)
    # Then the forwarder's own check is the guard (tests/handlers/test_alert_forwarder.py)


def test_the_dr_drill_inbox_receives_only_drill_canaries_from_the_dr_topic(dr, primary):
    # Given the DR topic and the drill's inbox queue
    (topic_id, _) = at_path(dr, TOPIC.format(stack="DrRegion"))
    (queue_id, _) = at_path(dr, "DrRegion/DrillInbox/Queue/Resource")
    # Then the inbox subscribes to the DR topic, where forwarded primary alerts arrive, and filters
    # on the message body, which forwarding keeps as is, so only the drill's canaries get in
    assert _subscriptions(dr, "sqs") == [
        {
            "Protocol": "sqs",
            "TopicArn": {"Ref": topic_id},
            "Endpoint": {"Fn::GetAtt": [queue_id, "Arn"]},
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": {"kind": [CANARY_KIND]},
        }
    ]
    # And the primary has no inbox: the drill publishes there and looks for the copy in DR
    assert _subscriptions(primary, "sqs") == []


# --- People hear every alert when configured ------------------------------------------------------


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with the optional settings of this file set: on-call endpoints and reservations."""
    return synthesize(
        tmp_path_factory.mktemp("configured"),
        alertEmail=EMAIL,
        alertHttpsEndpoint=HTTPS_ENDPOINT,
        orderFunctionConcurrency=20,
        healthFunctionConcurrency=2,
        lambdaConcurrencyQuota=1000,
    )


def test_no_person_is_subscribed_without_on_call_configuration(primary, dr, global_):
    for template in (primary, dr, global_):
        # Only the forwarders and the drill's inbox
        assert {s["Protocol"] for s in _subscriptions(template)} <= {"lambda", "sqs"}


def test_the_on_call_email_and_https_endpoint_subscribe_to_every_alert_topic(configured):
    # Given an on-call address and an HTTPS endpoint are configured
    platform = configured.platform
    for stack in (platform.primary, platform.dr, platform.global_):
        template = configured.template(stack)
        topics = template.find_resources("AWS::SNS::Topic")
        assert topics, stack.stack_name
        # Then each alert topic of each region, the global one included, has both, unfiltered
        for topic_id in topics:
            people = {
                (s["Protocol"], render(s["Endpoint"]), "FilterPolicy" in s)
                for s in _subscriptions(template)
                if s["TopicArn"] == {"Ref": topic_id} and s["Protocol"] not in ("lambda", "sqs")
            }
            assert people == {("email", EMAIL, False), ("https", HTTPS_ENDPOINT, False)}, stack.stack_name


# --- No parameter value in any template -----------------------------------------------------------


def test_no_template_declares_a_parameter_of_the_replicated_paths(synthesized):
    # The one parameter a template declares is the DNS stack's hosted zone ID: public, not replicated.
    declared = {
        (stack.stack_name, resource["Properties"]["Name"])
        for stack in synthesized.stacks
        for resource in synthesized.template(stack).find_resources("AWS::SSM::Parameter").values()
    }
    assert declared == {("dev-us-east-1-orders-dns-v1", "/dev-us-east-1-orders-dns-v1/hosted-zone-id")}


def _keys(value: Any):
    """Every key in a property tree, JSON-encoded strings (AwsCustomResource's SDK calls) included."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


# A key that holds a value ("Value", "ParameterValue", "SecretValue") or a SecureString type.
# "Values" of a describe call's filter is a list of search terms, not a value.
_LEAKY_KEY = re.compile(r"value$|securestring", re.IGNORECASE)


def test_no_custom_resource_carries_a_parameter_value_or_secure_string(synthesized):
    # Given every custom resource of the app
    custom = {
        f"{stack.stack_name}/{logical_id}": resource
        for stack in synthesized.stacks
        for logical_id, resource in synthesized.template_json(stack)["Resources"].items()
        if resource["Type"].startswith("Custom::")
        or resource["Type"] == "AWS::CloudFormation::CustomResource"
    }
    assert custom, "the test must look at something: the network's lookups are custom resources"
    for name, resource in custom.items():
        properties = resource.get("Properties", {})
        # Then none has a property that holds a value, at any depth
        assert [k for k in _keys(properties) if _LEAKY_KEY.search(k)] == [], name
        assert "securestring" not in json.dumps(properties).lower(), name


# --- Each region's functions on their own replica, path and key -----------------------------------


def _function(template: Template, stack_id: str, name: str) -> dict[str, Any]:
    return at_path(template, f"{stack_id}/Services/OrderService/{name}/Function/Resource")[1]["Properties"]


def _statements(template: Template, stack_id: str, name: str) -> list[dict[str, Any]]:
    (_, policy) = at_path(template, f"{stack_id}/Services/OrderService/{name}/Role/DefaultPolicy/Resource")
    return policy["Properties"]["PolicyDocument"]["Statement"]


@REGIONS
def test_each_regions_order_function_works_on_its_regions_replica_of_the_global_table(
    request, primary, stack, stack_id, region
):
    # Given the global table the primary stack makes, with its DR replica
    (_, table) = only(primary, "AWS::DynamoDB::GlobalTable")
    table_name = table["Properties"]["TableName"]
    assert {r["Region"] for r in table["Properties"]["Replicas"]} == {PRIMARY, DR}
    # Then each region's order function is told that table in its own region
    variables = _function(request.getfixturevalue(stack), stack_id, "Orders")["Environment"]["Variables"]
    assert (variables["TABLE_NAME"], variables["TABLE_REGION"]) == (table_name, region)


@REGIONS
def test_each_regions_functions_run_in_every_configured_zone(request, config, stack, stack_id, region):
    # Given the zones the config gives the region
    template = request.getfixturevalue(stack)
    zones = (config.primary if region == PRIMARY else config.dr).availability_zones
    resources = template.to_json()["Resources"]
    # Then the order and health functions have a subnet in each
    for name in ("Orders", "Health"):
        subnets = _function(template, stack_id, name)["VpcConfig"]["SubnetIds"]
        placed = [resources[subnet["Ref"]]["Properties"]["AvailabilityZone"] for subnet in subnets]
        assert sorted(placed) == sorted(zones), name


def test_dr_functions_read_only_the_dr_parameter_path_and_the_dr_key(dr):
    # Given the DR health function's statements on SSM and on keys
    statements = _statements(dr, "DrRegion", "Health")
    (key_id, _) = only(dr, "AWS::KMS::Key")
    path = "arn:aws:ssm:us-west-2:123456789012:parameter/dev-us-west-2-orders-v1"
    # Then it reads the DR path only, and decrypts with the DR key only through SSM in DR
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in _actions(s))]
    assert [s["Resource"] for s in ssm] == [[path, f"{path}/*"]]
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypt["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.us-west-2.amazonaws.com"}}
    # And no DR order or health function names the primary region but in the global table's name
    (table_name,) = {
        _function(dr, "DrRegion", name)["Environment"]["Variables"]["TABLE_NAME"]
        for name in ("Orders", "Health")
    }
    for name in ("Orders", "Health"):
        text = json.dumps([_function(dr, "DrRegion", name), _statements(dr, "DrRegion", name)])
        assert PRIMARY not in text.replace(table_name, "<table>"), name


def test_replicated_parameters_land_where_dr_functions_read_them_under_a_key_they_may_use(primary, dr):
    # Given where the primary's replicator writes
    (_, replicator) = at_path(primary, "PrimaryRegion/ParameterReplication/Replicator/Function/Resource")
    target = replicator["Properties"]["Environment"]["Variables"]
    # Then it is the DR region, the path the DR health function reads
    health = _function(dr, "DrRegion", "Health")["Environment"]["Variables"]
    assert (target["TARGET_REGION"], target["TARGET_PATH"]) == (DR, health["PARAMETER_PATH"])
    # And the copies are encrypted with the DR key by its alias, the key the DR health function decrypts with
    (key_id, _) = only(dr, "AWS::KMS::Key")
    dr.has_resource_properties(
        "AWS::KMS::Alias",
        {"AliasName": target["TARGET_KEY_ID"], "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]}},
    )


def test_no_function_reserves_concurrency_by_default(synthesized):
    # A new account's quota may be 10, all of which Lambda keeps unreserved: any reservation
    # would fail the first deploy (Lambda concurrency docs).
    for stack in synthesized.stacks:
        for function in synthesized.template(stack).find_resources("AWS::Lambda::Function").values():
            assert "ReservedConcurrentExecutions" not in function["Properties"], stack.stack_name


def test_configured_reservations_reach_both_regions_functions(configured):
    # Given reservations the account's quota leaves room for (tests/test_config.py checks the quota)
    for stack, stack_id in (
        (configured.platform.primary, "PrimaryRegion"),
        (configured.platform.dr, "DrRegion"),
    ):
        template = configured.template(stack)
        # Then each region's order and health functions reserve their own
        assert _function(template, stack_id, "Orders")["ReservedConcurrentExecutions"] == 20
        assert _function(template, stack_id, "Health")["ReservedConcurrentExecutions"] == 2
