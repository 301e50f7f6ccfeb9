"""RegionalMonitoring: the alarms of one region's API, functions and database, from
cdk-monitoring-constructs, with thresholds from the config, each notifying the region's topic on
alarm and on recovery, and no per-region dashboards."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dr_constructs.regional_monitoring import RegionalMonitoring
from tests.cfn import only
from tests.conftest import bare_stack, masked

PREFIX = "dev-us-east-1-orders-v1"
# Not the defaults, so each alarm shows which threshold it took.
TUNED = {
    "lambdaErrors": 2,
    "lambdaThrottles": 3,
    "api5xx": 7,
    "apiLatencyP90Ms": 900,
    "rdsCpuPercent": 70,
    "rdsFreeStorageGiB": 10,
    "rdsConnections": 120,
}


@pytest.fixture(scope="module")
def template(config) -> Template:
    # Given monitoring of an HTTP API, then of one function and one database added to it
    stack = bare_stack(config, "us-east-1")
    monitoring = RegionalMonitoring(
        stack,
        "Monitoring",
        alarm_prefix=PREFIX,
        alert_topic=sns.Topic(stack, "Alerts"),
        thresholds={**config.monitoring.thresholds, **TUNED},
        http_api=apigwv2.HttpApi.from_http_api_attributes(stack, "Api", http_api_id="api123"),
    )
    monitoring.monitor_function("orders", lambda_.Function.from_function_name(stack, "Orders", "orders-fn"))
    monitoring.monitor_database(
        rds.DatabaseInstance.from_database_instance_attributes(
            stack,
            "Database",
            instance_identifier="orders-db",
            instance_endpoint_address="orders-db.internal",
            port=5432,
            security_groups=[],
        )
    )
    return Template.from_stack(stack)


def _alarm(template: Template, name: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == f"{PREFIX}-{name}"
    ]
    return alarm


def _watched(alarm: dict[str, Any]) -> tuple[str, str, dict[str, str], str]:
    """What an alarm watches: (namespace, metric, dimensions, statistic)."""
    (query,) = alarm["Metrics"]
    stat = query["MetricStat"]
    metric = stat["Metric"]
    dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
    return metric["Namespace"], metric["MetricName"], dimensions, stat["Stat"]


API = {"ApiId": "api123", "Stage": "$default"}


@pytest.mark.parametrize(
    ("name", "watched", "comparison", "threshold"),
    [
        # cdk-monitoring-constructs alarms above max_error_count: api5xx - 1 fires at api5xx.
        ("api-Fault-Count-Critical", ("AWS/ApiGateway", "5xx", API, "Sum"), "GreaterThanThreshold", 6),
        ("api-Latency-P90-Warning", ("AWS/ApiGateway", "Latency", API, "p90"), "GreaterThanThreshold", 900),
    ],
)
def test_the_apis_5xx_and_p90_latency_are_alarmed(template, name, watched, comparison, threshold):
    # Then the API's metric alarms above its threshold from the config
    alarm = _alarm(template, name)
    assert _watched(alarm) == watched
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (comparison, threshold)


@pytest.mark.parametrize(
    ("name", "metric", "threshold"),
    [("orders-Fault-Count-Critical", "Errors", 1), ("orders-Throttled-Count-Critical", "Throttles", 2)],
)
def test_a_monitored_functions_errors_and_throttles_are_alarmed(template, name, metric, threshold):
    # Then the function's errors and throttles alarm from lambdaErrors / lambdaThrottles on
    alarm = _alarm(template, name)
    assert _watched(alarm) == ("AWS/Lambda", metric, {"FunctionName": "orders-fn"}, "Sum")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", threshold)


@pytest.mark.parametrize(
    ("name", "metric", "comparison", "threshold"),
    [
        ("database-CPU-Usage-Warning", "CPUUtilization", "GreaterThanThreshold", 70),
        ("database-Min-Usage-Count-Critical", "FreeStorageSpace", "LessThanThreshold", 10 * 1024**3),
        ("database-Connection-Count-High-Warning", "DatabaseConnections", "GreaterThanThreshold", 120),
    ],
)
def test_the_databases_cpu_free_storage_and_connections_are_alarmed(
    template, name, metric, comparison, threshold
):
    # Then the database's metric alarms past its threshold from the config (free storage in bytes)
    alarm = _alarm(template, name)
    (namespace, metric_name, dimensions, _) = _watched(alarm)
    assert (namespace, metric_name, dimensions) == ("AWS/RDS", metric, {"DBInstanceIdentifier": "orders-db"})
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (comparison, threshold)


@pytest.mark.parametrize(
    "name", ["api-Fault-Count-Critical", "orders-Fault-Count-Critical", "orders-Throttled-Count-Critical"]
)
def test_error_throttle_and_5xx_alarms_fire_on_the_first_period_over_the_threshold(template, name):
    # Then a burst within one five-minute period alarms; the library's 3 periods in a row would not
    alarm = _alarm(template, name)
    (query,) = alarm["Metrics"]
    assert (query["MetricStat"]["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        300,
        1,
        1,
    )


def test_the_connection_count_is_read_per_minute_not_summed_over_five(template):
    # Then the Sum of the one-minute DatabaseConnections gauge over one minute is the count itself
    alarm = _alarm(template, "database-Connection-Count-High-Warning")
    (query,) = alarm["Metrics"]
    assert (query["MetricStat"]["Stat"], query["MetricStat"]["Period"]) == ("Sum", 60)


def test_every_alarm_notifies_the_regions_topic_on_alarm_and_on_recovery(template):
    # Then the API's two, the function's two and the database's three alarms all notify it
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 7
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties["ActionsEnabled"] is True
        assert properties["AlarmActions"] == [{"Ref": topic_id}], properties["AlarmName"]
        assert properties["OKActions"] == [{"Ref": topic_id}], properties["AlarmName"]


def test_no_per_region_dashboard_is_made(template):
    # The unified dashboard in the global stack shows both regions instead.
    template.resource_count_is("AWS::CloudWatch::Dashboard", 0)


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
