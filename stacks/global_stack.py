from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from dr_constructs.dr_drill import DrDrill
from dr_constructs.drill_probes import PROBES
from dr_constructs.failover_routing import FailoverRouting, RegionalEndpoint
from dr_constructs.hosted_zone import hosted_zone
from dr_constructs.replication_alarms import ReplicationAlarms
from dr_constructs.secure_bucket import ReplicationToRegion
from dr_constructs.service_function import FunctionDefaults, log_retention
from dr_constructs.unified_dashboard import DashboardRegion, ObjectReplication, UnifiedDashboard
from dr_core.config import RPO_STORES, AppConfig
from dr_core.naming import Kind
from dr_core.rto import RtoBudget
from dr_core.shared_names import SharedNames


def _targets_markdown(config: AppConfig, rto: RtoBudget) -> str:
    rpo = "\n".join(
        f"| {store} | {seconds:g} s |" for store, seconds in config.monitoring.rpo_targets.items()
    )
    return (
        "## Recovery targets\n"
        f"**RTO budget {rto.total_seconds} s** (target {config.traffic.rto_target_seconds} s): detection "
        f"{rto.detection_seconds} s + propagation {rto.propagation_seconds} s "
        f"+ DNS TTL {rto.dns_cache_seconds} s\n\n"
        "| store | RPO target |\n|---|---|\n" + rpo
    )


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
        key.allow_cloudwatch_logs()
        retention = log_retention(config.compute.log_retention_days)
        self.alert_topic = AlertTopic(
            self,
            "Alerts",
            topic_name=names.global_alert_topic,
            key=key,
            email=config.alerting.email,
            https_endpoint=config.alerting.https_endpoint,
        )
        traffic = config.traffic
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
                log_retention=retention,
            ),
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
            log_key=key.key,
            log_retention=retention,
        )
        self.drill = DrDrill(
            self,
            "Drill",
            naming=naming,
            primary=names.primary,
            dr=names.dr,
            orders_table=names.orders_table,
            dr_health_url=self.routing.health_urls[names.dr.region],
            health_check_ids={
                region: check.health_check_id for region, check in self.routing.health_checks.items()
            },
            defaults=FunctionDefaults(
                log_key=key.key,
                log_retention=retention,
                powertools_layer_version=config.compute.powertools_layer_version,
            ),
            alert_topic=self.alert_topic.topic,
            alarm_prefix=naming.name(Kind.ALARM, "orders-global", region=here),
            rpo_targets=config.monitoring.rpo_targets,
            every=cdk.Duration.hours(config.operations.drill_every_hours),
        )
        account, partition = config.account, self.partition
        alarm_arns = {
            name: region_names.alarm_arn(name, account=account, partition=partition)
            for region_names, other in ((names.primary, names.dr), (names.dr, names.primary))
            for name in [ReplicationAlarms.table_alarm_name(region_names.alarm_prefix, other.region)]
            + (
                ReplicationAlarms.bucket_alarm_names(region_names.alarm_prefix)
                if region_names is names.primary
                else []
            )
        }
        for alarm in [*self.routing.alarms.values(), *self.drill.alarms.values()]:
            alarm_arns[alarm.node.path] = alarm.alarm_arn
        self.dashboard = UnifiedDashboard(
            self,
            "Dashboard",
            dashboard_name=names.dashboard,
            primary=DashboardRegion(
                name=config.primary.name,
                order_function=names.primary.order_function,
                health_check_id=self.routing.health_checks[config.primary.name].health_check_id,
            ),
            dr=DashboardRegion(
                name=config.dr.name,
                order_function=names.dr.order_function,
                health_check_id=self.routing.health_checks[config.dr.name].health_check_id,
            ),
            table_name=names.orders_table,
            objects=ObjectReplication(
                source_bucket=names.primary.data_bucket,
                destination_bucket=names.dr.data_bucket,
                rule_id=ReplicationToRegion.RULE_ID,
            ),
            targets_markdown=_targets_markdown(config, rto),
            drill_probes=PROBES,
            drill_stores=RPO_STORES,
            alarm_arns=alarm_arns,
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
