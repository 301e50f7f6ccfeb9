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


class RegionalMonitoring(Construct):
    """The alarms of one region's compute, API and database, from cdk-monitoring-constructs,
    each notifying that region's alert topic (alarm and recovery).

    Its per-region dashboards are off: the unified dashboard in the global stack
    shows both regions side by side.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alarm_prefix: str,
        alert_topic: sns.ITopic,
        thresholds: Mapping[str, float],
        functions: Mapping[str, lambda_.IFunction],
        http_api: apigwv2.IHttpApi,
        database: rds.IDatabaseInstance | None = None,
    ) -> None:
        super().__init__(scope, id)
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
        for name, function in sorted(functions.items()):
            self.facade.monitor_lambda_function(
                lambda_function=function,
                alarm_friendly_name=name,
                add_fault_count_alarm={
                    "Critical": ErrorCountThreshold(max_error_count=thresholds["lambdaErrors"] - 1)
                },
                add_throttles_count_alarm={
                    "Critical": ErrorCountThreshold(max_error_count=thresholds["lambdaThrottles"] - 1)
                },
            )
        self.facade.monitor_api_gateway_v2_http_api(
            api=http_api,
            alarm_friendly_name="api",
            add5xx_count_alarm={"Critical": ErrorCountThreshold(max_error_count=thresholds["api5xx"] - 1)},
            add_latency_p90_alarm={
                "Warning": LatencyThreshold(max_latency=cdk.Duration.millis(thresholds["apiLatencyP90Ms"]))
            },
        )
        if database is not None:
            self.facade.monitor_rds_instance(
                instance=database,
                alarm_friendly_name="database",
                add_cpu_usage_alarm={
                    "Warning": UsageThreshold(max_usage_percent=thresholds["rdsCpuPercent"])
                },
                add_free_storage_space_alarm={
                    "Critical": MinUsageCountThreshold(min_count=thresholds["rdsFreeStorageGiB"] * _GIB)
                },
                add_max_connection_count_alarm={
                    "Warning": HighConnectionCountThreshold(max_connection_count=thresholds["rdsConnections"])
                },
            )
