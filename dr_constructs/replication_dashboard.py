from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

_PERIOD = cdk.Duration.minutes(1)


class ReplicationDashboard(Construct):
    """One dashboard for both regions' replication: every metric names the region it is
    published in, so the dashboard can live in any region."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        dashboard_name: str,
        table_name: str,
        primary_region: str,
        dr_region: str,
        source_bucket: str,
        destination_bucket: str,
        replication_rule_id: str,
    ) -> None:
        super().__init__(scope, id)
        if primary_region == dr_region:
            raise ValueError("ReplicationDashboard needs two different regions")

        def table_lag(source: str, receiver: str) -> cw.Metric:
            # Published by the region that sends the change, per receiving region.
            return cw.Metric(
                namespace="AWS/DynamoDB",
                metric_name="ReplicationLatency",
                dimensions_map={"TableName": table_name, "ReceivingRegion": receiver},
                region=source,
                statistic="Maximum",
                period=_PERIOD,
                label=f"{source} -> {receiver}",
            )

        def bucket_metric(name: str, statistic: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/S3",
                metric_name=name,
                dimensions_map={
                    "SourceBucket": source_bucket,
                    "DestinationBucket": destination_bucket,
                    "RuleId": replication_rule_id,
                },
                region=primary_region,
                statistic=statistic,
                period=_PERIOD,
                label=f"{name} ({primary_region} -> {dr_region})",
            )

        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=cdk.Duration.hours(3),
            widgets=[
                [
                    cw.GraphWidget(
                        title="DynamoDB global table replication latency (ms)",
                        left=[
                            table_lag(primary_region, dr_region),
                            table_lag(dr_region, primary_region),
                        ],
                        width=12,
                    ),
                    cw.GraphWidget(
                        title="S3 replication latency (s)",
                        left=[bucket_metric("ReplicationLatency", "Maximum")],
                        width=12,
                    ),
                ],
                [
                    cw.GraphWidget(
                        title="S3 operations pending replication",
                        left=[bucket_metric("OperationsPendingReplication", "Maximum")],
                        width=12,
                    ),
                    cw.GraphWidget(
                        title="S3 operations failed replication",
                        left=[bucket_metric("OperationsFailedReplication", "Sum")],
                        width=12,
                    ),
                ],
            ],
        )
