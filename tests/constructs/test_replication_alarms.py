"""ReplicationAlarms: global-table lag per receiving region, and object replication failures, lag and
backlog per rule, alarmed where each metric is published and notifying that region's topic
(seed failure 19)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dr_constructs.replication_alarms import ReplicationAlarms
from tests.cfn import only
from tests.conftest import bare_stack, masked

PREFIX = "dev-us-east-1-orders-v1"
TABLE = "dev-us-east-1-orders-v1"
BUCKETS = {"SourceBucket": "source-bucket", "DestinationBucket": "replica-bucket", "RuleId": "rule-1"}


@pytest.fixture(scope="module")
def template(config) -> Template:
    # Given the primary's alarms on the table's replication to DR and on one bucket's replication rule
    stack = bare_stack(config, "us-east-1")
    alarms = ReplicationAlarms(
        stack, "ReplicationAlarms", alarm_prefix=PREFIX, alert_topic=sns.Topic(stack, "Alerts")
    )
    alarms.watch_table(TABLE, receiving_region="us-west-2", max_latency_ms=2000)
    alarms.watch_bucket(
        source_bucket="source-bucket",
        destination_bucket="replica-bucket",
        rule_id="rule-1",
        max_latency_seconds=600,
        max_pending_operations=500,
    )
    return Template.from_stack(stack)


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def _dimensions(alarm: dict[str, Any]) -> dict[str, str]:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_table_lag_is_alarmed_per_receiving_region_with_the_given_threshold(template):
    # Then DynamoDB's ReplicationLatency, as the sending region publishes it for DR, alarms over 2 s
    alarm = _alarms(template)[f"{PREFIX}-dynamodb-replication-to-us-west-2"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/DynamoDB",
        "ReplicationLatency",
        "Average",
    )
    assert _dimensions(alarm) == {"TableName": TABLE, "ReceivingRegion": "us-west-2"}
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 2000)


@pytest.mark.parametrize(
    ("kind", "metric", "statistic", "threshold"),
    [
        # Any failed object is data that is not in DR.
        ("failed", "OperationsFailedReplication", "Sum", 1),
        ("latency", "ReplicationLatency", "Maximum", 600),
        ("pending", "OperationsPendingReplication", "Maximum", 500),
    ],
)
def test_object_replication_failures_lag_and_backlog_are_alarmed_per_rule(
    template, kind, metric, statistic, threshold
):
    # Then the rule's metric, as S3 publishes it in the source region, alarms at its threshold
    alarm = _alarms(template)[f"{PREFIX}-s3-replication-{kind}"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/S3", metric, statistic)
    assert _dimensions(alarm) == BUCKETS
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", threshold)


def test_lag_and_backlog_alarms_fire_on_3_of_5_one_minute_datapoints_and_quiet_is_not_a_failure(template):
    # Then one slow minute pages no one, and no writes (no datapoints) is no alarm
    assert {
        (a["Period"], a["EvaluationPeriods"], a["DatapointsToAlarm"], a["TreatMissingData"])
        for name, a in _alarms(template).items()
        if not name.endswith("-failed")
    } == {(60, 5, 3, "notBreaching")}


def test_a_single_failed_object_replication_alarms_within_a_minute(template):
    # Then the failed-replication alarm has no grace: one failed object is data missing in DR
    alarm = _alarms(template)[f"{PREFIX}-s3-replication-failed"]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (60, 1, 1)


def test_every_alarm_notifies_the_topic_on_alarm_and_on_recovery(template):
    # Then all four alarms notify the topic, on alarm and on recovery
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    alarms = _alarms(template)
    assert len(alarms) == 4
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["OKActions"] == [{"Ref": topic_id}], name


def test_the_published_alarm_names_are_the_names_of_the_alarms_made(template):
    # The global stack's dashboard finds these alarms by these names, in another stack.
    assert set(_alarms(template)) == {
        ReplicationAlarms.table_alarm_name(PREFIX, "us-west-2"),
        *ReplicationAlarms.bucket_alarm_names(PREFIX),
    }


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
