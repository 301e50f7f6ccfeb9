from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from dr_constructs.failover_routing import FailoverRouting, RegionalEndpoint
from dr_constructs.hosted_zone import hosted_zone
from dr_constructs.service_function import log_retention
from dr_core.config import AppConfig
from dr_core.naming import Kind, pascal
from dr_core.rto import RtoBudget
from dr_core.shared_names import SharedNames


class RoutingStack(cdk.Stack):
    """The failover records for the shared API name, the Route 53 health checks behind them and
    their alarms, in us-east-1, the only region where Route 53 publishes HealthCheckStatus.

    Only DNS answers and health-check evaluation (Route 53's global data plane) are needed at
    failover time; this stack's deploys and its alarms are the us-east-1 parts, and its alarms
    are forwarded to the observer's topic. Deployed after both regions: its checks call their
    names.
    """

    def __init__(
        self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames, rto: RtoBudget
    ) -> None:
        here = config.global_region
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=config.account, region=here),
            stack_name=names.routing_stack,
            description="Order-processing DR platform: failover routing and health checks",
        )
        naming, traffic = config.naming, config.traffic
        key = AppKey(
            self,
            "Key",
            alias=names.routing_key_alias,
            region=here,
            account=config.account,
            via_services=("sns",),
        )
        key.allow_cloudwatch_logs()
        self.alert_topic = AlertTopic(
            self,
            "Alerts",
            topic_name=names.routing_alert_topic,
            key=key,
            email=config.alerting.email,
            https_endpoint=config.alerting.https_endpoint,
        )
        self.routing = FailoverRouting(
            self,
            "Failover",
            zone=hosted_zone(
                self,
                "Zone",
                domain=config.domain,
                zone_id=traffic.hosted_zone_id,
                zone_id_parameter=names.hosted_zone_id_parameter,
                log_key=key.key,
                log_retention=log_retention(config.compute.log_retention_days),
            ),
            api_domain=traffic.api_domain,
            endpoints=[
                RegionalEndpoint(
                    region=region,
                    weight=weight,
                    regional_domain=traffic.regional_api_domain(region),
                    health_check_name=naming.name(Kind.HEALTH_CHECK, "health", region=region),
                    alarm_name=names.unhealthy_alarms[region],
                )
                for region, weight in (
                    (config.primary.name, traffic.primary_weight),
                    (config.dr.name, traffic.dr_weight),
                )
            ],
            health_path=traffic.health_path,
            request_interval=cdk.Duration.seconds(traffic.health_check_interval_seconds),
            failure_threshold=traffic.health_check_failure_threshold,
            record_ttl=cdk.Duration.seconds(traffic.record_ttl_seconds),
            alert_topic=self.alert_topic.topic,
        )
        # The observer reads each region's check by this exact name at deploy time.
        for region, check in self.routing.own_checks.items():
            ssm.StringParameter(
                self,
                f"HealthCheckId{pascal(region)}",
                parameter_name=names.health_check_id_parameter_prefix + region,
                string_value=check.health_check_id,
                description=f"ID of the Route 53 check of {region}'s health route",
            )
        cdk.CfnOutput(
            self,
            "RtoBudgetSeconds",
            value=str(rto.manual_seconds),
            description=f"Worst-case failover: {rto.describe()} (target {traffic.rto_target_seconds} s)",
        )
        cdk.CfnOutput(self, "ApiUrl", value=f"https://{traffic.api_domain}/orders")
