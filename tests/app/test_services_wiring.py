"""How the regional services of the two stacks meet: each region's alerts reach the other region's
topic through its forwarder, once, never back (seed failure 4: a cross-region subscription that did
not exist), and the routing stack's alerts reach the observer's topic when the observer is not in
us-east-1; people hear every alert when configured; no parameter value is in any template (seed
failure 5); the DR order function reads the DR replica, the DR path and the DR key, where replication
puts the copies (seed failures 7 and 20). What one construct does alone is tested in tests/constructs/."""

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

PRIMARY, DR, OBSERVER = "us-east-1", "us-west-2", "us-east-2"
TOPIC = "{stack}/Services/Alerts/Topic/Resource"
FORWARDER = "{stack}/Services/AlertForwarder/Forwarder/Function/Resource"
ROUTING_FORWARDER = "Observer/RoutingAlertForwarder/Forwarder/Function"
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


def test_every_cross_region_subscription_delivers_an_alarm_notification_without_attributes(primary, observer):
    # Given the forwarders' subscriptions to the other region's topic, and the observer's to the
    # routing topic
    forwarders = _subscriptions(primary, "lambda") + _subscriptions(observer, "lambda")
    assert len(forwarders) == 3
    # When CloudWatch publishes an alarm (no message attributes) into any of those topics
    # Then SNS delivers it to the forwarder: an attribute-scope policy, even
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


def _routing_topic_arn(routing: Template) -> str:
    (topic_id, _) = at_path(routing, "Routing/Alerts/Topic/Resource")
    return _arn(routing.to_json()["Resources"], {"Ref": topic_id}, PRIMARY)


def test_the_observers_forwarder_is_subscribed_to_the_routing_topic_in_us_east_1(routing, observer):
    # Given the topic the routing stack deploys, where its health-check alarms notify
    routing_topic = _routing_topic_arn(routing)
    # Then the observer stack, deployed after it, subscribes its forwarder to that topic by name, in
    # us-east-1, unfiltered: an alarm notification carries no attributes
    (forwarder_id, _) = at_path(observer, f"{ROUTING_FORWARDER}/Resource")
    assert _subscriptions(observer, "lambda") == [
        {
            "Protocol": "lambda",
            "TopicArn": routing_topic,
            "Region": PRIMARY,
            "Endpoint": {"Fn::GetAtt": [forwarder_id, "Arn"]},
        }
    ]


def test_the_observers_forwarder_may_be_invoked_by_the_routing_topic_only(routing, observer):
    (_, permission) = at_path(observer, f"{ROUTING_FORWARDER}/InvokedByOtherRegionAlerts")
    assert (permission["Properties"]["Principal"], permission["Properties"]["SourceArn"]) == (
        "sns.amazonaws.com",
        _routing_topic_arn(routing),
    )


def test_the_observers_forwarder_publishes_the_routing_alerts_into_the_observer_topic(observer):
    (topic_id, _) = at_path(observer, "Observer/Alerts/Topic/Resource")
    (_, forwarder) = at_path(observer, f"{ROUTING_FORWARDER}/Resource")
    variables = forwarder["Properties"]["Environment"]["Variables"]
    assert (variables["TARGET_TOPIC_ARN"], variables["SOURCE_REGION"]) == ({"Ref": topic_id}, PRIMARY)


@pytest.fixture(scope="module")
def observer_in_us_east_1(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with us-west-2 primary and us-east-1 DR: the observer, in DR by default, is in us-east-1."""
    return synthesize(tmp_path_factory.mktemp("swapped"), primaryRegion=DR, drRegion=PRIMARY)


def test_an_observer_in_us_east_1_forwards_nothing(observer_in_us_east_1):
    # Given the observer in us-east-1, the routing topic's own region
    platform = observer_in_us_east_1.platform
    assert platform.observer.region == platform.routing.region == PRIMARY
    # Then it has no forwarder and subscribes to nothing: people hear the routing topic itself
    template = observer_in_us_east_1.template(platform.observer)
    assert _subscriptions(template) == []
    template.resource_count_is("AWS::Lambda::Permission", 0)
    assert not [
        logical_id
        for logical_id, resource in template.to_json()["Resources"].items()
        if "RoutingAlertForwarder" in resource["Metadata"]["aws:cdk:path"]
    ]


# --- People hear every alert when configured ------------------------------------------------------


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with the optional settings of this file set: on-call endpoints, a reservation and an
    observer region of its own."""
    return synthesize(
        tmp_path_factory.mktemp("configured"),
        alertEmail=EMAIL,
        alertHttpsEndpoint=HTTPS_ENDPOINT,
        orderFunctionConcurrency=20,
        lambdaConcurrencyQuota=1000,
        observerRegion=OBSERVER,
    )


def test_a_configured_observer_region_gets_the_routing_alerts_from_us_east_1(configured):
    # Given observerRegion us-east-2, neither app region
    platform = configured.platform
    assert platform.observer.region == OBSERVER
    # Then the observer there subscribes its forwarder to the routing topic in us-east-1
    observer = configured.template(platform.observer)
    (subscription,) = _subscriptions(observer, "lambda")
    assert (subscription["TopicArn"], subscription["Region"]) == (
        _routing_topic_arn(configured.template(platform.routing)),
        PRIMARY,
    )


def test_no_person_is_subscribed_without_on_call_configuration(primary, dr, routing, observer):
    for template in (primary, dr, routing, observer):
        # Only the forwarders and the drill's inbox
        assert {s["Protocol"] for s in _subscriptions(template)} <= {"lambda", "sqs"}


def test_the_on_call_email_and_https_endpoint_subscribe_to_every_alert_topic(configured):
    # Given an on-call address and an HTTPS endpoint are configured
    platform = configured.platform
    for stack in (platform.primary, platform.dr, platform.routing, platform.observer):
        template = configured.template(stack)
        topics = template.find_resources("AWS::SNS::Topic")
        assert topics, stack.stack_name
        # Then each alert topic of each region, the routing and observer ones included, has both, unfiltered
        for topic_id in topics:
            people = {
                (s["Protocol"], render(s["Endpoint"]), "FilterPolicy" in s)
                for s in _subscriptions(template)
                if s["TopicArn"] == {"Ref": topic_id} and s["Protocol"] not in ("lambda", "sqs")
            }
            assert people == {("email", EMAIL, False), ("https", HTTPS_ENDPOINT, False)}, stack.stack_name


# --- No parameter value in any template -----------------------------------------------------------


def test_no_template_declares_a_parameter_of_the_replicated_paths(synthesized, primary):
    # The parameters templates declare are the DNS stack's hosted zone ID, the routing stack's
    # health check IDs, the DR stack's database group ID for the replica's stack and the primary's
    # FIS experiment template IDs for the game day: public IDs, under their own paths, not replicated.
    declared = {
        (stack.stack_name, resource["Properties"]["Name"])
        for stack in synthesized.stacks
        for resource in synthesized.template(stack).find_resources("AWS::SSM::Parameter").values()
    }
    assert declared == {
        ("dev-us-east-1-orders-dns-v1", "/dev-us-east-1-orders-dns-v1/hosted-zone-id"),
        ("dev-us-east-1-orders-routing-v1", "/dev-us-east-1-orders-routing-v1/health-check-id/us-east-1"),
        ("dev-us-east-1-orders-routing-v1", "/dev-us-east-1-orders-routing-v1/health-check-id/us-west-2"),
        ("dev-us-west-2-orders-dr-v1", "/dev-us-west-2-orders-db-replica-v1/security-group-id"),
        *(
            (
                "dev-us-east-1-orders-primary-v1",
                f"/dev-us-east-1-orders-game-day-v1/experiment-template-id/{e}",
            )
            for e in ("primary-path", "dynamodb-pause", "s3-pause")
        ),
    }
    # And none is under the paths the replicator copies from or into
    (_, replicator) = at_path(primary, "PrimaryRegion/ParameterReplication/Replicator/Function/Resource")
    paths = replicator["Properties"]["Environment"]["Variables"]
    replicated = (paths["SOURCE_PATH"], paths["TARGET_PATH"])
    assert [name for _, name in declared if name.startswith(replicated)] == []


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


# --- Each region's order function on its own replica, path and key ------------------------------


def _function(template: Template, stack_id: str) -> dict[str, Any]:
    return at_path(template, f"{stack_id}/Services/OrderService/Orders/Function/Resource")[1]["Properties"]


def _statements(template: Template, stack_id: str) -> list[dict[str, Any]]:
    (_, policy) = at_path(template, f"{stack_id}/Services/OrderService/Orders/Role/DefaultPolicy/Resource")
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
    variables = _function(request.getfixturevalue(stack), stack_id)["Environment"]["Variables"]
    assert (variables["TABLE_NAME"], variables["TABLE_REGION"]) == (table_name, region)


@REGIONS
def test_each_regions_order_function_reads_the_fences_of_exactly_the_app_regions(
    request, primary, stack, stack_id, region
):
    # Given the regions the global table has replicas in
    (_, table) = only(primary, "AWS::DynamoDB::GlobalTable")
    replicas = {r["Region"] for r in table["Properties"]["Replicas"]}
    # Then the order function's health route reports the fences of those regions, its own included
    variables = _function(request.getfixturevalue(stack), stack_id)["Environment"]["Variables"]
    assert set(variables["APP_REGIONS"].split(",")) == replicas


@REGIONS
def test_each_regions_order_function_runs_in_every_configured_zone(request, config, stack, stack_id, region):
    # Given the zones the config gives the region
    template = request.getfixturevalue(stack)
    zones = (config.primary if region == PRIMARY else config.dr).availability_zones
    resources = template.to_json()["Resources"]
    # Then the order function has a subnet in each
    subnets = _function(template, stack_id)["VpcConfig"]["SubnetIds"]
    placed = [resources[subnet["Ref"]]["Properties"]["AvailabilityZone"] for subnet in subnets]
    assert sorted(placed) == sorted(zones)


def test_the_dr_order_function_reads_only_the_dr_parameter_path_and_the_dr_key(dr):
    # Given the DR order function's statements on SSM and on keys
    statements = _statements(dr, "DrRegion")
    (key_id, _) = only(dr, "AWS::KMS::Key")
    path = "arn:aws:ssm:us-west-2:123456789012:parameter/dev-us-west-2-orders-v1"
    # Then it reads the DR path only, and decrypts with the DR key only through SSM in DR
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in _actions(s))]
    assert [s["Resource"] for s in ssm] == [[path, f"{path}/*"]]
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert decrypt["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.us-west-2.amazonaws.com"}}


def test_the_dr_order_function_names_the_primary_only_in_the_table_name_and_the_app_regions(dr):
    # Given the DR order function, its environment and its statements
    function = _function(dr, "DrRegion")
    variables = function["Environment"]["Variables"]
    text = json.dumps([function, _statements(dr, "DrRegion")])
    # Then the primary region shows only in the global table's name and in the regions whose fences
    # it reads from its own replica: nothing reaches into the primary
    text = text.replace(variables["TABLE_NAME"], "<table>").replace(variables["APP_REGIONS"], "<regions>")
    assert PRIMARY not in text


def test_replicated_parameters_land_where_the_dr_order_function_reads_them_under_a_key_it_may_use(
    primary, dr
):
    # Given where the primary's replicator writes
    (_, replicator) = at_path(primary, "PrimaryRegion/ParameterReplication/Replicator/Function/Resource")
    target = replicator["Properties"]["Environment"]["Variables"]
    # Then it is the DR region, the path the DR order function's health route reads
    orders = _function(dr, "DrRegion")["Environment"]["Variables"]
    assert (target["TARGET_REGION"], target["TARGET_PATH"]) == (DR, orders["PARAMETER_PATH"])
    # And the copies are encrypted with the DR key by its alias, the key the DR order function decrypts with
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


def test_a_configured_reservation_reaches_both_regions_order_functions(configured):
    # Given a reservation the account's quota leaves room for (tests/test_config.py checks the quota)
    for stack, stack_id in (
        (configured.platform.primary, "PrimaryRegion"),
        (configured.platform.dr, "DrRegion"),
    ):
        # Then each region's order function reserves it
        assert _function(configured.template(stack), stack_id)["ReservedConcurrentExecutions"] == 20
