"""Every alarm sits in the region that publishes its metric and notifies that region's
topic (seed failure 19); one dashboard shows both regions (seed failure 16)."""

from __future__ import annotations

import pytest

from tests.cfn import at_path

REGIONS = [
    ("primary", "PrimaryRegion", "us-east-1", "us-west-2"),
    ("dr", "DrRegion", "us-west-2", "us-east-1"),
]


def _alarms(template):
    return {
        a["Properties"].get("AlarmName"): a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def _metric_names(alarm):
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
def test_every_alarm_notifies_its_own_regions_topic_on_alarm_and_recovery(
    request, stack, stack_id, region, other
):
    template = request.getfixturevalue(stack)
    (topic_id, _) = at_path(template, f"{stack_id}/Alerts/Topic/Resource")
    alarms = _alarms(template)
    assert len(alarms) >= 10
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
def test_global_table_lag_is_alarmed_where_the_sending_region_publishes_it(
    request, stack, stack_id, region, other
):
    alarm = _alarms(request.getfixturevalue(stack))[f"dev-{region}-orders-v1-dynamodb-replication-to-{other}"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/DynamoDB", "ReplicationLatency")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "TableName": "dev-us-east-1-orders-v1",
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
def test_s3_replication_is_alarmed_in_the_source_region(primary, dr, kind, metric, threshold):
    alarm = _alarms(primary)[f"dev-us-east-1-orders-v1-s3-replication-{kind}"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == ("AWS/S3", metric, threshold)
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "SourceBucket": "dev-us-east-1-orderdata-123456789012-v1",
        "DestinationBucket": "dev-us-west-2-orderdata-123456789012-v1",
        "RuleId": "replicate-everything",
    }
    assert not [name for name in _alarms(dr) if "s3-replication" in name]


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
@pytest.mark.parametrize("function", ["orders", "health", "alert-forwarder"])
def test_lambda_errors_and_throttles_are_alarmed_per_function(
    request, stack, stack_id, region, other, function
):
    alarms = _alarms(request.getfixturevalue(stack))
    assert _metric_names(alarms[f"dev-{region}-orders-v1-{function}-Fault-Count-Critical"]) == {"Errors"}
    assert _metric_names(alarms[f"dev-{region}-orders-v1-{function}-Throttled-Count-Critical"]) == {
        "Throttles"
    }


def test_the_replicators_failures_are_alarmed(primary):
    alarms = _alarms(primary)
    assert _metric_names(alarms["dev-us-east-1-orders-v1-ssm-replicator-Fault-Count-Critical"]) == {"Errors"}


@pytest.mark.parametrize(("stack", "stack_id", "region", "other"), REGIONS)
def test_api_5xx_and_latency_are_alarmed(request, stack, stack_id, region, other):
    alarms = _alarms(request.getfixturevalue(stack))
    assert _metric_names(alarms[f"dev-{region}-orders-v1-api-Fault-Count-Critical"]) == {"5xx"}
    latency = alarms[f"dev-{region}-orders-v1-api-Latency-P90-Warning"]
    assert _metric_names(latency) == {"Latency"}
    assert latency["Threshold"] == 1500


def test_database_cpu_storage_and_connections_are_alarmed_in_the_primary_only(primary, dr):
    alarms = _alarms(primary)
    assert _metric_names(alarms["dev-us-east-1-orders-v1-database-CPU-Usage-Warning"]) == {"CPUUtilization"}
    assert _metric_names(alarms["dev-us-east-1-orders-v1-database-Min-Usage-Count-Critical"]) == {
        "FreeStorageSpace"
    }
    assert _metric_names(alarms["dev-us-east-1-orders-v1-database-Connection-Count-High-Warning"]) == {
        "DatabaseConnections"
    }
    assert not [name for name in _alarms(dr) if "database" in (name or "")]


def test_thresholds_come_from_config(tmp_path):
    from tests.conftest import default_context, synthesize

    thresholds = {
        **default_context()["alarmThresholds"],
        "apiLatencyP90Ms": 900,
        "dynamodbReplicationLatencyMs": 2000,
    }
    tuned = synthesize(tmp_path, alarmThresholds=thresholds, hostedZoneId="Z0123456789ABCDEFGHIJ")
    alarms = _alarms(tuned.template(tuned.platform.dr))
    assert alarms["dev-us-west-2-orders-v1-api-Latency-P90-Warning"]["Threshold"] == 900
    assert alarms["dev-us-west-2-orders-v1-dynamodb-replication-to-us-east-1"]["Threshold"] == 2000


def _dashboard_body(global_):
    (dashboard,) = global_.find_resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return "".join(p if isinstance(p, str) else "<token>" for p in parts)


def test_one_dashboard_in_the_whole_app_shows_both_regions(synthesized):
    dashboards = {
        stack.node.id: len(synthesized.template(stack).find_resources("AWS::CloudWatch::Dashboard"))
        for stack in synthesized.stacks
    }
    assert dashboards == {"Dns": 0, "DrRegion": 0, "PrimaryRegion": 0, "Global": 1}


@pytest.mark.parametrize(
    "needle",
    [
        '"region":"us-east-1"',
        '"region":"us-west-2"',
        "HealthCheckStatus",
        "ReplicationLatency",
        "OperationsFailedReplication",
        "DrillProbeSuccess",
        "DrillReplicationLagSeconds",
        '"type":"alarm"',
        "RTO budget 45 s",
    ],
)
def test_the_dashboard_shows_regions_health_replication_drill_alarms_and_targets(global_, needle):
    assert needle in _dashboard_body(global_)
