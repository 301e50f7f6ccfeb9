"""Monitoring across stacks: each region's alarms notify that region's topic, the routing alarms the
routing topic and the drill's the observer's; replication is alarmed where its metric is published;
the one dashboard, in the observer region (never the primary), shows both regions' metrics and alarms
and the routing stack's checks; the drill's probes name what the regional and routing stacks create
(seed failures 15, 16 and 19 end to end)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from dr_core.config import DRILL_STORES
from tests.cfn import at_path, only, render
from tests.conftest import ACCOUNT
from tests.handlers.loader import load_handler

REGIONS = [
    ("primary", "PrimaryRegion", "us-east-1", "us-west-2"),
    ("dr", "DrRegion", "us-west-2", "us-east-1"),
]
PROBE_FUNCTIONS = "Observer/Drill/ProbeFunctions"


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def _properties(template: Template, path: str) -> dict[str, Any]:
    return at_path(template, path)[1]["Properties"]


def _probe_env(observer: Template, probe: str) -> dict[str, Any]:
    return _properties(observer, f"{PROBE_FUNCTIONS}/{probe}/Function/Resource")["Environment"]["Variables"]


def _health_check_id_lookups(observer: Template) -> dict[str, str]:
    """Region -> the observer's deploy-time lookup of the routing stack's check ID for it."""
    return {
        region: at_path(observer, f"Observer/HealthCheckId{region_id}/Call/Resource/Default")[0]
        for region, region_id in (("us-east-1", "UsEast1"), ("us-west-2", "UsWest2"))
    }


@pytest.fixture(scope="module")
def dashboard(observer) -> dict[str, Any]:
    (_, resource) = only(observer, "AWS::CloudWatch::Dashboard")
    return json.loads(render(resource["Properties"]["DashboardBody"]))


def _graphed(dashboard: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """Every graphed metric as (namespace, name, dimensions, options such as region)."""
    found = []
    for widget in dashboard["widgets"]:
        for namespace, name, *rest in widget["properties"].get("metrics", []):
            *dimensions, options = rest
            found.append(
                (namespace, name, dict(zip(dimensions[::2], dimensions[1::2], strict=True)), options)
            )
    return found


# Alarms and their topics


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
def test_every_regional_alarm_notifies_its_own_regions_topic_on_alarm_and_recovery(
    request, stack, stack_id, region, other
):
    # Then every alarm of a region's stack is that region's and notifies that region's topic
    template = request.getfixturevalue(stack)
    (topic_id, _) = at_path(template, f"{stack_id}/Services/Alerts/Topic/Resource")
    alarms = _alarms(template)
    assert len(alarms) >= 9
    for name, alarm in alarms.items():
        assert name.startswith(f"dev-{region}-"), name
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name


def test_every_routing_alarm_notifies_the_routing_topic(routing):
    # Then the routing stack's alarms, one per region's calculated check, notify its own topic
    (topic_id, _) = at_path(routing, "Routing/Alerts/Topic/Resource")
    alarms = _alarms(routing)
    assert set(alarms) == {"dev-us-east-1-unhealthy-v1", "dev-us-west-2-unhealthy-v1"}
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name


def test_every_observer_alarm_notifies_the_observer_topic(observer):
    # Then every alarm of the observer stack notifies the observer's topic
    (topic_id, _) = at_path(observer, "Observer/Alerts/Topic/Resource")
    alarms = _alarms(observer)
    # Five probes, four stores, the execution outcome, no drill passed, the routing forwarder's
    # dead-letter queue's two
    assert len(alarms) == 13
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
def test_global_table_lag_is_alarmed_where_the_sending_region_publishes_it(
    request, primary, stack, stack_id, region, other
):
    # Given the global table the primary stack creates
    (_, table) = only(primary, "AWS::DynamoDB::GlobalTable")
    # Then each region alarms on its replication to the other one, for that table
    alarm = _alarms(request.getfixturevalue(stack))[f"dev-{region}-orders-v1-dynamodb-replication-to-{other}"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/DynamoDB", "ReplicationLatency")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "TableName": table["Properties"]["TableName"],
        "ReceivingRegion": other,
    }
    assert alarm["Threshold"] == 5000


@pytest.mark.parametrize(
    ("kind", "metric", "threshold"),
    [
        ("failed", "OperationsFailedReplication", 1),
        ("latency", "ReplicationLatency", 900),
        ("pending", "OperationsPendingReplication", 10000),
    ],
)
def test_object_replication_is_alarmed_in_the_source_region_on_the_rule_it_replicates_with(
    primary, dr, kind, metric, threshold
):
    # Given the primary's bucket, its replication rule, and the DR stack's replica bucket
    source = _properties(primary, "PrimaryRegion/Data/Bucket/Resource")
    (rule,) = source["ReplicationConfiguration"]["Rules"]
    replica = _properties(dr, "DrRegion/ReplicaData/Bucket/Resource")
    # Then the primary alarms on that rule's metric, and DR has no such alarm
    alarm = _alarms(primary)[f"dev-us-east-1-orders-v1-s3-replication-{kind}"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("AWS/S3", metric, threshold)
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "SourceBucket": source["BucketName"],
        "DestinationBucket": replica["BucketName"],
        "RuleId": rule["Id"],
    }
    assert not [name for name in _alarms(dr) if "s3-replication" in name]


def test_the_primary_also_alarms_its_parameter_replicator_and_database_and_dr_has_neither(primary, dr):
    # Then what only the primary runs is alarmed in the primary only
    alarms = _alarms(primary)
    for name in (
        "ssm-replicator-Fault-Count-Critical",
        "ssm-replicator-Throttled-Count-Critical",
        "database-CPU-Usage-Warning",
        "database-Min-Usage-Count-Critical",
        "database-Connection-Count-High-Warning",
    ):
        assert f"dev-us-east-1-orders-v1-{name}" in alarms
    assert not [name for name in _alarms(dr) if "database" in name or "ssm-replicator" in name]


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
@pytest.mark.parametrize("function", ["orders", "alert-forwarder"])
def test_each_regions_functions_and_api_are_alarmed_in_that_region(
    request, stack, stack_id, region, other, function
):
    # Then each region alarms on its own functions and API
    alarms = _alarms(request.getfixturevalue(stack))
    for name in (
        f"{function}-Fault-Count-Critical",
        f"{function}-Throttled-Count-Critical",
        "api-Fault-Count-Critical",
    ):
        assert f"dev-{region}-orders-v1-{name}" in alarms


def test_the_drills_rpo_alarms_take_the_configured_targets_of_the_stores_it_measures(platform, observer):
    # Given the drill's lag alarms, by store
    prefix, suffix = "dev-us-west-2-orders-observer-v1-drill-", "-lag-over-rpo"
    lag_alarms = {
        name.removeprefix(prefix).removesuffix(suffix): alarm["Threshold"]
        for name, alarm in _alarms(observer).items()
        if name.startswith(prefix) and name.endswith(suffix)
    }
    # Then each store the drill measures has one, at its rpoTargetSeconds, and no other store has one:
    # PostgreSQL's lag is the replica's own ReplicaLag alarm (test_data_wiring)
    assert lag_alarms == {store: platform.config.monitoring.rpo_targets[store] for store in DRILL_STORES}
    assert "postgres" in platform.config.monitoring.rpo_targets


# The one dashboard


def test_the_observer_lives_in_the_dr_region_by_default_never_the_primary(platform):
    # Then the view of an outage does not go down with the primary
    assert platform.observer.region == platform.config.dr.name
    assert platform.observer.region != platform.primary.region


def test_one_dashboard_in_the_whole_app_in_the_observer_stack(synthesized):
    # Then the observer stack has the one dashboard, and no other stack has its own
    dashboards = {
        stack.node.id: len(synthesized.template(stack).find_resources("AWS::CloudWatch::Dashboard"))
        for stack in synthesized.stacks
    }
    assert dashboards == {
        "Dns": 0,
        "DrRegion": 0,
        "PrimaryRegion": 0,
        "DatabaseReplica": 0,
        "Routing": 0,
        "Observer": 1,
    }


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
def test_the_dashboard_graphs_each_regions_order_function_from_that_region(
    request, dashboard, stack, stack_id, region, other
):
    # Given the order function the regional stack creates
    function = _properties(
        request.getfixturevalue(stack), f"{stack_id}/Services/OrderService/Orders/Function/Resource"
    )
    # Then its invocations, errors and throttles are graphed with that region
    graphed = {
        (name, options["region"])
        for namespace, name, dimensions, options in _graphed(dashboard)
        if namespace == "AWS/Lambda" and dimensions == {"FunctionName": function["FunctionName"]}
    }
    assert graphed == {("Invocations", region), ("Errors", region), ("Throttles", region)}


def test_every_graphed_metric_names_its_region(dashboard):
    # Then every metric names a region, and both regions appear
    assert {options.get("region") for *_, options in _graphed(dashboard)} == {"us-east-1", "us-west-2"}


def _graphed_health_checks(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (dimensions["HealthCheckId"], options)
        for namespace, name, dimensions, options in _graphed(dashboard)
        if (namespace, name) == ("AWS/Route53", "HealthCheckStatus")
    ]


def test_the_dashboard_graphs_each_regions_own_check_by_the_id_the_observer_reads(observer, dashboard):
    # Given the observer's deploy-time lookups of the routing stack's check IDs
    lookups = _health_check_id_lookups(observer)
    # Then each region's graph is of the check its lookup reads (traffic wiring: the own check's ID)
    assert {options["label"]: check for check, options in _graphed_health_checks(dashboard)} == {
        f"{region} healthy (1) / unhealthy (0)": f"<{lookup_id}.Parameter.Value>"
        for region, lookup_id in lookups.items()
    }


def test_the_dashboard_graphs_the_health_checks_from_us_east_1_where_route53_publishes_them(dashboard):
    graphed = _graphed_health_checks(dashboard)
    assert len(graphed) == 2
    assert {options["region"] for _, options in graphed} == {"us-east-1"}


def test_every_alarm_on_the_dashboard_exists_in_the_stack_of_its_region(synthesized, observer, dashboard):
    # Given the alarm names each other stack creates, by region (the observer's own by reference)
    named: dict[str, set[str]] = {}
    platform = synthesized.platform
    for stack in (platform.primary, platform.dr, platform.database_replica, platform.routing):
        named.setdefault(stack.region, set()).update(_alarms(synthesized.template(stack)))
    (alarm_widget,) = [w for w in dashboard["widgets"] if w["type"] == "alarm"]
    shown = alarm_widget["properties"]["alarms"]
    # Then every ARN names an alarm that exists: the drill's, and by name the replication alarms of
    # both regions, the database replica's and the routing stack's
    drill_alarms = {
        f"<{logical_id}.Arn>"
        for logical_id, alarm in observer.find_resources("AWS::CloudWatch::Alarm").items()
        if alarm["Metadata"]["aws:cdk:path"].startswith("Observer/Drill/")
    }
    others = [arn for arn in shown if arn not in drill_alarms]
    assert set(shown) - set(others) == drill_alarms
    for arn in others:
        _, _, _, region, account, _, name = arn.split(":")
        assert account == ACCOUNT
        assert name in named[region], arn
    assert {arn.split(":")[3] for arn in others} == {"us-east-1", "us-west-2"}


def test_the_dashboard_shows_the_routing_alarms_from_us_east_1(routing, dashboard):
    # Given the routing stack's alarms, one per region's calculated check
    alarms = {f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{name}" for name in _alarms(routing)}
    assert len(alarms) == 2
    # Then the alarm widget shows both, by their ARNs in us-east-1
    (alarm_widget,) = [w for w in dashboard["widgets"] if w["type"] == "alarm"]
    assert alarms <= set(alarm_widget["properties"]["alarms"])


def test_the_dashboard_graphs_the_lag_of_the_replica_the_replica_stack_creates_from_the_dr_region(
    database_replica, dashboard
):
    # Given the DR region's read replica
    (_, replica) = at_path(database_replica, "DatabaseReplica/Replica/Instance")
    identifier = replica["Properties"]["DBInstanceIdentifier"]
    # Then its ReplicaLag is graphed by that identifier, in us-west-2 where RDS publishes it
    graphed = [
        (dimensions, options["region"])
        for namespace, name, dimensions, options in _graphed(dashboard)
        if (namespace, name) == ("AWS/RDS", "ReplicaLag")
    ]
    assert graphed == [({"DBInstanceIdentifier": identifier}, "us-west-2")]


def test_the_dashboard_shows_the_replica_lag_alarm_by_its_arn_in_the_dr_region(database_replica, dashboard):
    # Given the replica stack's one alarm
    (_, alarm) = only(database_replica, "AWS::CloudWatch::Alarm")
    arn = f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:{alarm['Properties']['AlarmName']}"
    # Then the alarm widget shows it
    (alarm_widget,) = [w for w in dashboard["widgets"] if w["type"] == "alarm"]
    assert arn in alarm_widget["properties"]["alarms"]


def test_the_replica_lag_alarm_notifies_the_dr_regions_topic_on_alarm_and_recovery(dr, database_replica):
    # Given the DR stack's alert topic, which the replica stack names by ARN
    topic = _properties(dr, "DrRegion/Services/Alerts/Topic/Resource")["TopicName"]
    topic_arn = f"arn:aws:sns:us-west-2:{ACCOUNT}:{topic}"
    # Then the replica's lag alarm is a DR-region alarm and notifies that topic both ways
    (_, alarm) = only(database_replica, "AWS::CloudWatch::Alarm")
    assert alarm["Properties"]["AlarmName"].startswith("dev-us-west-2-")
    assert alarm["Properties"]["AlarmActions"] == [topic_arn]
    assert alarm["Properties"]["OKActions"] == [topic_arn]


def test_the_dashboard_shows_the_rto_budget_the_app_computed(platform, dashboard):
    # Then the recovery targets show both failover paths' budgets the traffic settings yield
    (text,) = [w for w in dashboard["widgets"] if w["type"] == "text"]
    markdown = text["properties"]["markdown"]
    assert f"(target {platform.config.traffic.rto_target_seconds} s): {platform.rto.describe()}" in markdown


# The drill's probes and what the regional and routing stacks create


def test_the_drill_probes_the_table_the_primary_creates(primary, observer):
    # Then the DynamoDB probe writes to the table the primary creates
    (_, table) = only(primary, "AWS::DynamoDB::GlobalTable")
    assert _probe_env(observer, "Dynamodb")["TABLE_NAME"] == table["Properties"]["TableName"]


def test_the_drill_probes_the_buckets_both_regions_create(primary, dr, observer):
    # Then the S3 probe writes the primary's bucket and reads the DR stack's replica bucket
    env = _probe_env(observer, "S3")
    assert env["SOURCE_BUCKET"] == _properties(primary, "PrimaryRegion/Data/Bucket/Resource")["BucketName"]
    assert env["REPLICA_BUCKET"] == _properties(dr, "DrRegion/ReplicaData/Bucket/Resource")["BucketName"]


def test_the_sns_probe_publishes_to_the_primary_topic_and_reads_the_dr_inbox(primary, dr, observer):
    # Given the primary's alert topic and the DR stack's drill inbox
    topic = _properties(primary, "PrimaryRegion/Services/Alerts/Topic/Resource")["TopicName"]
    queue = _properties(dr, "DrRegion/DrillInbox/Queue/Resource")["QueueName"]
    # Then the probe publishes its canary into that topic and looks for the forwarded copy in that queue
    env = _probe_env(observer, "Sns")
    assert env["SOURCE_TOPIC_ARN"] == f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic}"
    assert env["INBOX_QUEUE_URL"] == f"https://sqs.us-west-2.amazonaws.com/{ACCOUNT}/{queue}"


def test_the_dr_inbox_admits_the_canaries_the_sns_probes_code_publishes(dr):
    # Given the kind the probe's code gives its canary (the inbox drops every real alert)
    probes = load_handler("dr_drill", "probes")
    # Then the DR stack's inbox filters the message body on exactly that kind
    subscription = _properties(dr, "DrRegion/DrillInbox/Subscription/Resource")
    assert (subscription["FilterPolicyScope"], subscription["FilterPolicy"]) == (
        "MessageBody",
        {"kind": [probes.CANARY_KIND]},
    )


def test_the_ssm_probes_canary_is_under_the_paths_the_replicator_copies(primary, dr, observer):
    # Then the canary is below the replicator's source path and its copy where DR's functions read
    env = _probe_env(observer, "Ssm")
    replicator = _properties(primary, "PrimaryRegion/ParameterReplication/Replicator/Function/Resource")
    paths = replicator["Environment"]["Variables"]
    dr_orders = _properties(dr, "DrRegion/Services/OrderService/Orders/Function/Resource")
    assert env["SOURCE_PARAMETER"].startswith(paths["SOURCE_PATH"])
    assert (
        env["TARGET_PARAMETER"] == paths["TARGET_PATH"] + env["SOURCE_PARAMETER"][len(paths["SOURCE_PATH"]) :]
    )
    assert paths["TARGET_PATH"] == dr_orders["Environment"]["Variables"]["PARAMETER_PATH"]


def test_the_probes_use_each_regions_key_by_the_alias_that_region_creates(primary, dr, observer):
    # Then every key statement of the probes names the alias its region's stack gives its key
    aliases = {
        "us-east-1": _properties(primary, "PrimaryRegion/Key/Key/Alias/Resource")["AliasName"],
        "us-west-2": _properties(dr, "DrRegion/Key/Key/Alias/Resource")["AliasName"],
    }
    assert _probe_env(observer, "Ssm")["SOURCE_KEY_ID"] == aliases["us-east-1"]
    key_statements = [
        statement
        for probe in ("Dynamodb", "S3", "Sns", "Ssm")
        for statement in _properties(observer, f"{PROBE_FUNCTIONS}/{probe}/Role/DefaultPolicy/Resource")[
            "PolicyDocument"
        ]["Statement"]
        if "kms:ResourceAliases" in json.dumps(statement)
    ]
    assert len(key_statements) == 7
    for statement in key_statements:
        region = statement["Resource"].split(":")[3]
        assert statement["Condition"]["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == aliases[region]


def test_the_failover_probe_invokes_the_order_function_dr_creates(dr, observer):
    # Then the failover probe invokes DR's order function, by the name the DR stack gives it
    dr_orders = _properties(dr, "DrRegion/Services/OrderService/Orders/Function/Resource")
    assert _probe_env(observer, "Failover")["DR_ORDER_FUNCTION_NAME"] == dr_orders["FunctionName"]


def test_the_failover_probe_calls_the_health_route_dr_serves_by_drs_own_name(dr, observer):
    # Given the DR stack's own name and its anonymous health route
    (_, regional) = at_path(dr, "DrRegion/Services/Api/RegionalDomain/Resource")
    (health_route,) = [
        route["Properties"]["RouteKey"]
        for route in dr.find_resources("AWS::ApiGatewayV2::Route").values()
        if route["Properties"]["AuthorizationType"] == "NONE"
    ]
    method, path = health_route.split(" ")
    # Then the probe GETs that route on that name: DR's own health, not whichever region DNS picks
    assert method == "GET"
    assert (
        _probe_env(observer, "Failover")["DR_HEALTH_URL"]
        == f"https://{regional['Properties']['DomainName']}{path}"
    )


def test_the_failover_probe_reads_each_regions_check_by_the_ids_the_observer_looks_up(observer):
    # Then the probe is told region=ID for both regions, each the value of that region's lookup
    lookups = _health_check_id_lookups(observer)
    assert render(_probe_env(observer, "Failover")["HEALTH_CHECK_IDS"]) == ",".join(
        f"{region}=<{lookup_id}.Parameter.Value>" for region, lookup_id in lookups.items()
    )


@pytest.mark.parametrize("variable", ["STEADY_ALARMS", "PAUSE_ALARMS"])
def test_every_alarm_the_game_day_reads_is_one_the_primary_stack_makes(primary, observer, variable):
    # Given the alarm names the observer's game day reads in the primary region, by name
    (_, function) = at_path(
        observer,
        f"Observer/GameDay/{'Watch' if variable == 'STEADY_ALARMS' else 'Pause'}Function/Function/Resource",
    )
    value = json.loads(function["Properties"]["Environment"]["Variables"][variable])
    wanted = set(value) if isinstance(value, list) else {name for names in value.values() for name in names}
    # Then each is an alarm of the primary stack (a missing one would fail every game day's preflight)
    assert wanted <= set(_alarms(primary))
