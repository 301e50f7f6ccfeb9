from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    DefaultDashboardFactory,
    ErrorCountThreshold,
    HighConnectionCountThreshold,
    LatencyThreshold,
    MinUsageCountThreshold,
    MonitoringFacade,
    SnsAlarmActionStrategy,
    UsageThreshold,
)
from constructs import Construct

_GIB = 1024**3


def _within_one_period(count: float) -> ErrorCountThreshold:
    """Alarm when ``count`` or more happen within one five-minute period: the library's default
    of three periods in a row would let a burst pass and page 15 minutes late."""
    return ErrorCountThreshold(max_error_count=count - 1, datapoints_to_alarm=1, evaluation_periods=1)


class RegionalMonitoring(Construct):
    """The alarms of one region's compute, API and database, from cdk-monitoring-constructs,
    each notifying that region's alert topic (alarm and recovery).

    Its per-region dashboards are off: the unified dashboard in the global stack shows both
    regions side by side. Functions and a database made after it are added with
    ``monitor_function`` and ``monitor_database``.

    Args:
        alarm_prefix: every alarm name starts with it.
        alert_topic: notified on alarm and on recovery.
        thresholds: ``alarmThresholds`` from the config (lambdaErrors, lambdaThrottles, api5xx,
            apiLatencyP90Ms, rdsCpuPercent, rdsFreeStorageGiB, rdsConnections, ...).
        http_api: the region's HTTP API (5xx count, p90 latency).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alarm_prefix: str,
        alert_topic: sns.ITopic,
        thresholds: Mapping[str, float],
        http_api: apigwv2.IHttpApi,
    ) -> None:
        super().__init__(scope, id)
        self._thresholds = thresholds
        self.facade = MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=AlarmFactoryDefaults(
                alarm_name_prefix=alarm_prefix,
                actions_enabled=True,
                action=SnsAlarmActionStrategy(on_alarm_topic=alert_topic, on_ok_topic=alert_topic),
            ),
            dashboard_factory=DefaultDashboardFactory(
                self,
                "NoDashboards",
                dashboard_name_prefix=alarm_prefix,
                create_dashboard=False,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )
        self.facade.monitor_api_gateway_v2_http_api(
            api=http_api,
            alarm_friendly_name="api",
            add5xx_count_alarm={"Critical": _within_one_period(thresholds["api5xx"])},
            add_latency_p90_alarm={
                "Warning": LatencyThreshold(max_latency=cdk.Duration.millis(thresholds["apiLatencyP90Ms"]))
            },
        )
        # The region's customers see server errors: what stops a game-day experiment that went too far.
        (self.api_errors_alarm,) = [
            created.alarm
            for created in self.facade.created_alarms()
            if created.alarm_name_suffix == "Fault-Count"
        ]

    def monitor_function(self, name: str, function: lambda_.IFunction) -> None:
        """Error and throttle alarms for one function, named after ``name``."""
        self.facade.monitor_lambda_function(
            lambda_function=function,
            alarm_friendly_name=name,
            add_fault_count_alarm={"Critical": _within_one_period(self._thresholds["lambdaErrors"])},
            add_throttles_count_alarm={"Critical": _within_one_period(self._thresholds["lambdaThrottles"])},
        )

    def monitor_database(self, database: rds.IDatabaseInstance) -> None:
        """CPU, free storage and connection alarms for the region's database."""
        thresholds = self._thresholds
        self.facade.monitor_rds_instance(
            instance=database,
            alarm_friendly_name="database",
            add_cpu_usage_alarm={"Warning": UsageThreshold(max_usage_percent=thresholds["rdsCpuPercent"])},
            add_free_storage_space_alarm={
                "Critical": MinUsageCountThreshold(min_count=thresholds["rdsFreeStorageGiB"] * _GIB)
            },
            add_max_connection_count_alarm={
                "Warning": HighConnectionCountThreshold(
                    max_connection_count=thresholds["rdsConnections"],
                    # The library sums the metric over its period; DatabaseConnections is a one-minute
                    # gauge, so over one minute the sum is the count itself, not five of them added.
                    period=cdk.Duration.minutes(1),
                )
            },
        )
