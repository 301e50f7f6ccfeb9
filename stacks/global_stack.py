from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from dr_constructs.failover_routing import FailoverRouting, RegionalEndpoint
from dr_constructs.hosted_zone import hosted_zone
from dr_constructs.replication_dashboard import ReplicationDashboard
from dr_constructs.secure_bucket import ReplicationToRegion
from dr_core.config import AppConfig
from dr_core.naming import Kind
from dr_core.rto import RtoBudget
from dr_core.shared_names import SharedNames
from stacks.regional_services import add_on_call_subscriptions


class GlobalStack(cdk.Stack):
    """What belongs to neither region, in us-east-1 where Route 53 publishes its
    metrics: the failover records, health checks and their alarms, and the
    cross-region dashboard. Deployed last: it reads both regions' endpoints."""

    def __init__(
        self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames, rto: RtoBudget
    ) -> None:
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=config.account, region=config.global_region),
            stack_name=names.global_stack,
            description="Order-processing DR platform: failover routing and the global view",
        )
        naming, here = config.naming, config.global_region
        key = AppKey(
            self,
            "Key",
            alias=names.global_key_alias,
            region=here,
            account=config.account,
            via_services=("sns",),
        )
        self.alert_topic = AlertTopic(self, "Alerts", topic_name=names.global_alert_topic, key=key)
        add_on_call_subscriptions(self.alert_topic, config)
        traffic = config.traffic
        self.routing = FailoverRouting(
            self,
            "Failover",
            zone=hosted_zone(self, "Zone", domain=config.domain, zone_id=traffic.hosted_zone_id),
            api_domain=traffic.api_domain,
            endpoints=[
                RegionalEndpoint(
                    region=region_names.region,
                    weight=weight,
                    health_function_name=region_names.health_function,
                    health_check_name=naming.name(Kind.HEALTH_CHECK, "health", region=region_names.region),
                    alarm_name=naming.name(Kind.ALARM, "unhealthy", region=region_names.region),
                )
                for region_names, weight in (
                    (names.primary, traffic.primary_weight),
                    (names.dr, traffic.dr_weight),
                )
            ],
            request_interval=cdk.Duration.seconds(traffic.health_check_interval_seconds),
            failure_threshold=traffic.health_check_failure_threshold,
            record_ttl=cdk.Duration.seconds(traffic.record_ttl_seconds),
            alert_topic=self.alert_topic.topic,
        )
        self.dashboard = ReplicationDashboard(
            self,
            "Replication",
            dashboard_name=names.dashboard,
            table_name=names.orders_table,
            primary_region=config.primary.name,
            dr_region=config.dr.name,
            source_bucket=names.primary.data_bucket,
            destination_bucket=names.dr.data_bucket,
            replication_rule_id=ReplicationToRegion.RULE_ID,
        )
        cdk.CfnOutput(
            self,
            "RtoBudgetSeconds",
            value=str(rto.total_seconds),
            description=(
                f"Worst-case failover: detection {rto.detection_seconds} s + propagation "
                f"{rto.propagation_seconds} s + DNS TTL {rto.dns_cache_seconds} s "
                f"(target {traffic.rto_target_seconds} s)"
            ),
        )
        cdk.CfnOutput(self, "ApiUrl", value=f"https://{traffic.api_domain}/orders")
        cdk.CfnOutput(
            self,
            "DashboardUrl",
            value=(
                f"https://{here}.console.aws.amazon.com/cloudwatch/home"
                f"?region={here}#dashboards:name={names.dashboard}"
            ),
        )
