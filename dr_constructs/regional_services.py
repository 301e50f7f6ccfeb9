from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from dr_constructs.alert_forwarding import AlertForwarder
from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from dr_constructs.hosted_zone import hosted_zone
from dr_constructs.network import RegionalNetwork
from dr_constructs.order_service import OrderService
from dr_constructs.regional_api import RegionalApi
from dr_constructs.regional_monitoring import RegionalMonitoring
from dr_constructs.replication_alarms import ReplicationAlarms
from dr_constructs.service_function import FunctionDefaults, log_retention
from dr_core.config import AppConfig, RegionConfig
from dr_core.naming import Kind
from dr_core.shared_names import SharedNames


class RegionalServices(Construct):
    """What both regions run the same way: the network, the alert topic and the forwarder of
    the other region's alerts, the order function (orders and the deep health check) on this
    region's replica, the regional API on the shared name and the region's own, and this
    region's alarms.

    Each region's stack makes one; the primary adds its database and parameter replicator to
    ``monitoring`` and its bucket to ``replication_alarms``.

    Args:
        config: the app's validated configuration.
        region: the region this stack deploys to (``config.primary`` or ``config.dr``).
        names: the names both regions agree on.
        key: this region's key, for logs, the topic, queues and the table's data.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        region: RegionConfig,
        names: SharedNames,
        key: AppKey,
    ) -> None:
        super().__init__(scope, id)
        if cdk.Stack.of(self).region != region.name:
            raise ValueError(f"RegionalServices for {region.name} must be in a stack of that region")
        here, other = (
            (names.primary, names.dr) if region.name == names.primary.region else (names.dr, names.primary)
        )
        naming = config.naming
        key.allow_cloudwatch_logs()
        retention = log_retention(config.compute.log_retention_days)
        self.function_defaults = FunctionDefaults(
            log_key=key.key,
            log_retention=retention,
            powertools_layer_version=config.compute.powertools_layer_version,
        )
        self.network = RegionalNetwork(
            self, "Network", cidr=region.vpc_cidr, egress=config.egress, key=key.key, log_retention=retention
        )
        self.alert_topic = AlertTopic(
            self,
            "Alerts",
            topic_name=here.alert_topic,
            key=key,
            email=config.alerting.email,
            https_endpoint=config.alerting.https_endpoint,
        )
        topic = self.alert_topic.topic
        self.orders = OrderService(
            self,
            "OrderService",
            table_name=names.orders_table,
            key=key.key,
            parameter_path=here.parameter_path,
            network=self.network,
            defaults=self.function_defaults,
            function_name=here.order_function,
            role_name=naming.name(Kind.IAM_ROLE, "orders-fn", region=region.name),
            canary_name=naming.name(Kind.SECRET, "health-canary", region=region.name),
            app_regions=(names.primary.region, names.dr.region),
            health_path=config.traffic.health_path,
            reserved_concurrency=config.compute.order_concurrency,
        )
        self.api = RegionalApi(
            self,
            "Api",
            api_name=naming.name(Kind.HTTP_API, "orders", region=region.name),
            domain_name=config.traffic.api_domain,
            regional_domain_name=config.traffic.regional_api_domain(region.name),
            zone=hosted_zone(
                self,
                "Zone",
                domain=config.domain,
                zone_id=config.traffic.hosted_zone_id,
                zone_id_parameter=names.hosted_zone_id_parameter,
                log_key=key.key,
                log_retention=retention,
            ),
            handler=self.orders.function.function,
            health_path=config.traffic.health_path,
            jwt_issuer=config.auth.issuer,
            jwt_audiences=config.auth.audiences,
            log_key=key.key,
            log_retention=retention,
        )
        dead_letter_max_age = cdk.Duration.seconds(config.operations.dead_letter_max_age_seconds)
        self.alert_forwarder = AlertForwarder(
            self,
            "AlertForwarder",
            function_name=here.alert_forwarder_function,
            role_name=naming.name(Kind.IAM_ROLE, "alert-forwarder-fn", region=region.name),
            queue_name=naming.name(Kind.SQS_QUEUE, "alert-forwarder-dlq", region=region.name),
            topic=topic,
            key=key.key,
            source_region=other.region,
            source_topic_arn=other.topic_arn(account=config.account, partition=cdk.Stack.of(self).partition),
            defaults=self.function_defaults,
            dead_letter_max_age=dead_letter_max_age,
        )
        thresholds = config.monitoring.thresholds
        self.monitoring = RegionalMonitoring(
            self,
            "Monitoring",
            alarm_prefix=here.alarm_prefix,
            alert_topic=topic,
            thresholds=thresholds,
            http_api=self.api.api,
        )
        for name, function in (
            ("alert-forwarder", self.alert_forwarder.function),
            ("orders", self.orders.function.function),
        ):
            self.monitoring.monitor_function(name, function)
        self.replication_alarms = ReplicationAlarms(
            self, "ReplicationAlarms", alarm_prefix=here.alarm_prefix, alert_topic=topic
        )
        # DynamoDB publishes ReplicationLatency in the sending region, per receiving region.
        self.replication_alarms.watch_table(
            names.orders_table,
            receiving_region=other.region,
            max_latency_ms=thresholds["dynamodbReplicationLatencyMs"],
        )
