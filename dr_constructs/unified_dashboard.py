from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from dr_constructs.database_replica import replica_lag
from dr_constructs.dr_drill import drill_metric
from dr_constructs.game_day import game_day_metric
from dr_constructs.replication_alarms import bucket_replication_metric, table_replication_latency
from dr_core.config import GLOBAL_REGION
from dr_core.telemetry import DRILL_LAG_METRIC

_MINUTE = cdk.Duration.minutes(1)
# Drills run every few hours and game days now and then: their graphs look back far enough to trend.
_TREND = "-P90D"


@dataclass(frozen=True)
class DashboardRegion:
    name: str
    order_function: str
    health_check_id: str


@dataclass(frozen=True)
class ObjectReplication:
    source_bucket: str
    destination_bucket: str
    rule_id: str


class UnifiedDashboard(Construct):
    """One dashboard for both regions, side by side. Every metric names the region
    that publishes it, so one dashboard in us-east-1 shows both."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        dashboard_name: str,
        primary: DashboardRegion,
        dr: DashboardRegion,
        table_name: str,
        objects: ObjectReplication,
        database_replica: str,
        targets_markdown: str,
        drill_probes: Sequence[str],
        drill_stores: Sequence[str],
        rto_budget_seconds: int,
        game_day_experiment: str,
        paused_stores: Sequence[str],
        alarm_arns: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        if primary.name == dr.name:
            raise ValueError("UnifiedDashboard needs two different regions")
        here = cdk.Stack.of(self).region

        def per_region(title: str, metric_of: Callable[[DashboardRegion], cw.Metric]) -> list[cw.IWidget]:
            return [
                cw.GraphWidget(title=f"{title} ({region.name})", left=[metric_of(region)], width=12)
                for region in (primary, dr)
            ]

        def lambda_metric(name: str, statistic: str) -> Callable[[DashboardRegion], cw.Metric]:
            return lambda region: cw.Metric(
                namespace="AWS/Lambda",
                metric_name=name,
                dimensions_map={"FunctionName": region.order_function},
                region=region.name,
                statistic=statistic,
                period=_MINUTE,
                label=f"{name} {region.name}",
            )

        health = [
            cw.Metric(
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions_map={"HealthCheckId": region.health_check_id},
                # Route 53 publishes it in us-east-1 only, whichever region the dashboard is in.
                region=GLOBAL_REGION,
                statistic="Minimum",
                period=_MINUTE,
                label=f"{region.name} healthy (1) / unhealthy (0)",
            )
            for region in (primary, dr)
        ]
        table_lag = [
            table_replication_latency(table_name, receiving_region=dr.name).with_(
                region=primary.name, label=f"{primary.name} -> {dr.name}"
            ),
            table_replication_latency(table_name, receiving_region=primary.name).with_(
                region=dr.name, label=f"{dr.name} -> {primary.name}"
            ),
        ]

        def objects_metric(name: str, statistic: str) -> cw.Metric:
            return bucket_replication_metric(
                name,
                source_bucket=objects.source_bucket,
                destination_bucket=objects.destination_bucket,
                rule_id=objects.rule_id,
                statistic=statistic,
            ).with_(region=primary.name, label=f"{name} {primary.name} -> {dr.name}")

        drill_success = [
            drill_metric(
                "DrillProbeSuccess",
                dimension="Probe",
                value=probe,
                statistic="Minimum",
                region=here,
                label=probe,
            )
            for probe in drill_probes
        ]
        drill_lag = [
            drill_metric(
                DRILL_LAG_METRIC,
                dimension="Store",
                value=store,
                statistic="Maximum",
                region=here,
                label=store,
            )
            for store in drill_stores
        ]
        measured_rto = game_day_metric(
            "GameDayMeasuredRtoSeconds",
            dimension="Experiment",
            value=game_day_experiment,
            statistic="Maximum",
            region=here,
            label="measured RTO",
        )
        rpo_under_fault = [
            game_day_metric(
                "GameDayRpoUnderFaultSeconds",
                dimension="Store",
                value=store,
                statistic="Maximum",
                region=here,
                label=f"{store}: oldest write at risk (s)",
            )
            for store in paused_stores
        ]
        writes_at_risk = [
            game_day_metric(
                "GameDayWritesAtRisk",
                dimension="Store",
                value=store,
                statistic="Maximum",
                region=here,
                label=f"{store}: writes at risk",
            )
            for store in paused_stores
        ]
        alarms = [
            cw.Alarm.from_alarm_arn(self, f"Alarm{index}", arn)
            for index, arn in enumerate(alarm_arns.values())
        ]
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=cdk.Duration.hours(3),
            widgets=[
                [
                    cw.TextWidget(markdown=targets_markdown, width=8, height=6),
                    cw.AlarmStatusWidget(title="DR alarms, both regions", alarms=alarms, width=16, height=6),
                ],
                [
                    cw.GraphWidget(
                        title="Route 53 health checks",
                        left=health,
                        width=24,
                        left_y_axis=cw.YAxisProps(min=0, max=1),
                    )
                ],
                [
                    cw.GraphWidget(title="DynamoDB replication latency (ms)", left=table_lag, width=8),
                    cw.GraphWidget(
                        title="PostgreSQL replica lag (s)",
                        left=[
                            replica_lag(database_replica).with_(
                                region=dr.name, label=f"{primary.name} -> {dr.name}"
                            )
                        ],
                        width=8,
                    ),
                    cw.GraphWidget(
                        title="S3 replication",
                        left=[objects_metric("ReplicationLatency", "Maximum")],
                        right=[
                            objects_metric("OperationsPendingReplication", "Maximum"),
                            objects_metric("OperationsFailedReplication", "Sum"),
                        ],
                        width=8,
                    ),
                ],
                [
                    cw.GraphWidget(
                        title="DR drill: probe passed (1) / failed (0)", left=drill_success, width=12
                    ),
                    cw.GraphWidget(
                        title="DR drill: measured replication lag (s)", left=drill_lag, width=12, start=_TREND
                    ),
                ],
                [
                    cw.GraphWidget(
                        title="Game day: measured RTO (s) against the budget",
                        left=[measured_rto],
                        left_annotations=[
                            cw.HorizontalAnnotation(
                                value=rto_budget_seconds, label="RTO budget", color="#d62728"
                            )
                        ],
                        width=12,
                        start=_TREND,
                    ),
                    cw.GraphWidget(
                        title="Game day: RPO under a replication pause",
                        left=rpo_under_fault,
                        right=writes_at_risk,
                        width=12,
                        start=_TREND,
                    ),
                ],
                per_region("Order function invocations", lambda_metric("Invocations", "Sum")),
                per_region("Order function errors", lambda_metric("Errors", "Sum")),
                per_region("Order function throttles", lambda_metric("Throttles", "Sum")),
            ],
        )
