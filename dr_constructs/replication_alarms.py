from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_core.naming import pascal

_MINUTE = cdk.Duration.minutes(1)


def table_replication_latency(table_name: str, *, receiving_region: str) -> cw.Metric:
    """DynamoDB publishes it in the region that sends the change, per receiving region."""
    return cw.Metric(
        namespace="AWS/DynamoDB",
        metric_name="ReplicationLatency",
        dimensions_map={"TableName": table_name, "ReceivingRegion": receiving_region},
        statistic="Average",
        period=_MINUTE,
    )


def bucket_replication_metric(
    name: str, *, source_bucket: str, destination_bucket: str, rule_id: str, statistic: str
) -> cw.Metric:
    """S3 publishes replication metrics in the source bucket's region, per rule."""
    return cw.Metric(
        namespace="AWS/S3",
        metric_name=name,
        dimensions_map={
            "SourceBucket": source_bucket,
            "DestinationBucket": destination_bucket,
            "RuleId": rule_id,
        },
        statistic=statistic,
        period=_MINUTE,
    )


class ReplicationAlarms(Construct):
    """Replication lag and failure alarms, created in the region that publishes each metric
    (an alarm cannot watch another region's metric), notifying that region's topic."""

    def __init__(self, scope: Construct, id: str, *, alarm_prefix: str, alert_topic: sns.ITopic) -> None:
        super().__init__(scope, id)
        self._prefix = alarm_prefix
        self._notify = cw_actions.SnsAction(alert_topic)
        self.alarms: dict[str, cw.Alarm] = {}

    @staticmethod
    def table_alarm_name(prefix: str, receiving_region: str) -> str:
        return f"{prefix}-dynamodb-replication-to-{receiving_region}"

    @staticmethod
    def bucket_alarm_names(prefix: str) -> list[str]:
        return [f"{prefix}-s3-replication-{kind}" for kind in ("failed", "latency", "pending")]

    def watch_table(self, table_name: str, *, receiving_region: str, max_latency_ms: float) -> None:
        self._alarm(
            f"TableReplicationTo{pascal(receiving_region)}",
            self.table_alarm_name(self._prefix, receiving_region),
            f"Global table {table_name} takes over {max_latency_ms:g} ms to reach {receiving_region}",
            table_replication_latency(table_name, receiving_region=receiving_region),
            max_latency_ms,
            # No writes, no datapoints: quiet is not a failure.
            cw.TreatMissingData.NOT_BREACHING,
        )

    def watch_bucket(
        self,
        *,
        source_bucket: str,
        destination_bucket: str,
        rule_id: str,
        max_latency_seconds: float,
        max_pending_operations: float,
    ) -> None:
        def metric(name: str, statistic: str) -> cw.Metric:
            return bucket_replication_metric(
                name,
                source_bucket=source_bucket,
                destination_bucket=destination_bucket,
                rule_id=rule_id,
                statistic=statistic,
            )

        self._alarm(
            "BucketReplicationFailed",
            f"{self._prefix}-s3-replication-failed",
            f"Objects of {source_bucket} failed to replicate to {destination_bucket}",
            metric("OperationsFailedReplication", "Sum"),
            1,
            cw.TreatMissingData.NOT_BREACHING,
            # One failed object is data missing in DR: no minutes of grace.
            datapoints=(1, 1),
        )
        self._alarm(
            "BucketReplicationLatency",
            f"{self._prefix}-s3-replication-latency",
            f"Replication of {source_bucket} lags over {max_latency_seconds:g} s",
            metric("ReplicationLatency", "Maximum"),
            max_latency_seconds,
            cw.TreatMissingData.NOT_BREACHING,
        )
        self._alarm(
            "BucketReplicationPending",
            f"{self._prefix}-s3-replication-pending",
            f"Over {max_pending_operations:g} operations of {source_bucket} wait to replicate",
            metric("OperationsPendingReplication", "Maximum"),
            max_pending_operations,
            cw.TreatMissingData.NOT_BREACHING,
        )

    def _alarm(
        self,
        id: str,
        name: str,
        description: str,
        metric: cw.Metric,
        threshold: float,
        missing: cw.TreatMissingData,
        datapoints: tuple[int, int] = (3, 5),
    ) -> None:
        alarm = cw.Alarm(
            self,
            id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            datapoints_to_alarm=datapoints[0],
            evaluation_periods=datapoints[1],
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._notify)
        alarm.add_ok_action(self._notify)
        self.alarms[id] = alarm
