from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from dr_constructs.alert_forwarding import AlertForwarder
from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from dr_constructs.dead_letter_queue import DeadLetterQueue
from dr_constructs.hosted_zone import hosted_zone
from dr_constructs.network import RegionalNetwork
from dr_constructs.order_service import FunctionNames, OrderService
from dr_constructs.regional_api import RegionalApi
from dr_constructs.regional_monitoring import RegionalMonitoring
from dr_constructs.replication_alarms import ReplicationAlarms
from dr_constructs.service_function import FunctionDefaults, ServiceFunction, log_retention
from dr_core.config import AppConfig, RegionConfig
from dr_core.naming import Kind
from dr_core.shared_names import RegionNames, SharedNames


@dataclass(frozen=True)
class RegionalServices:
    network: RegionalNetwork
    alert_topic: AlertTopic
    orders: OrderService
    api: RegionalApi
    alert_forwarder: AlertForwarder
    function_defaults: FunctionDefaults


def add_regional_services(
    scope: Construct,
    *,
    config: AppConfig,
    region: RegionConfig,
    region_names: RegionNames,
    other_region_names: RegionNames,
    names: SharedNames,
    key: AppKey,
) -> RegionalServices:
    """What both regions run identically: network, alert topic and its forwarder,
    the order and health functions, and the regional API."""
    naming = config.naming
    stack = cdk.Stack.of(scope)
    key.allow_cloudwatch_logs()
    retention = log_retention(config.compute.log_retention_days)
    network = RegionalNetwork(
        scope, "Network", cidr=region.vpc_cidr, egress=config.egress, key=key.key, log_retention=retention
    )
    alert_topic = AlertTopic(scope, "Alerts", topic_name=region_names.alert_topic, key=key)
    add_on_call_subscriptions(alert_topic, config)
    defaults = FunctionDefaults(
        log_key=key.key,
        log_retention=retention,
        powertools_layer_version=config.compute.powertools_layer_version,
    )
    orders = OrderService(
        scope,
        "OrderService",
        table_name=names.orders_table,
        key=key.key,
        parameter_path=region_names.parameter_path,
        network=network,
        defaults=defaults,
        order=FunctionNames(
            function=region_names.order_function,
            role=naming.name(Kind.IAM_ROLE, "orders-fn", region=region.name),
        ),
        health=FunctionNames(
            function=region_names.health_function,
            role=naming.name(Kind.IAM_ROLE, "health-fn", region=region.name),
        ),
        health_canary_name=naming.name(Kind.SECRET, "health-canary", region=region.name),
        order_concurrency=config.compute.order_concurrency,
        health_concurrency=config.compute.health_concurrency,
    )
    api = RegionalApi(
        scope,
        "Api",
        api_name=naming.name(Kind.HTTP_API, "orders", region=region.name),
        domain_name=config.traffic.api_domain,
        zone=hosted_zone(
            scope,
            "Zone",
            domain=config.domain,
            zone_id=config.traffic.hosted_zone_id,
            zone_id_parameter=names.hosted_zone_id_parameter,
        ),
        handler=orders.order_function.function,
        log_key=key.key,
        log_retention=retention,
    )
    # The forwarder is invoked by SNS, asynchronously: its failures need a dead-letter queue.
    key.allow_service_publisher("sns.amazonaws.com")
    forwarder_dead_letters = DeadLetterQueue(
        scope,
        "AlertForwarderDeadLetters",
        queue_name=naming.name(Kind.SQS_QUEUE, "alert-forwarder-dlq", region=region.name),
        key=key.key,
        alert_topic=alert_topic.topic,
        max_age=cdk.Duration.seconds(config.operations.dead_letter_max_age_seconds),
        feeds_from="the alert forwarder",
    )
    other_topic_arn = other_region_names.topic_arn(account=config.account, partition=stack.partition)
    alert_forwarder = AlertForwarder(
        scope,
        "AlertForwarding",
        forwarder=ServiceFunction(
            scope,
            "AlertForwarder",
            function_name=region_names.alert_forwarder_function,
            role_name=naming.name(Kind.IAM_ROLE, "alert-forwarder-fn", region=region.name),
            asset="alert_forwarder",
            description=f"Republishes {other_region_names.region} alerts into this region's topic",
            environment={
                "TARGET_TOPIC_ARN": alert_topic.topic.topic_arn,
                "SOURCE_REGION": other_region_names.region,
            },
            defaults=defaults,
            timeout=cdk.Duration.seconds(30),
        ),
        own_topic=alert_topic.topic,
        source_topic_arn=other_topic_arn,
        dead_letter=forwarder_dead_letters,
    )
    return RegionalServices(
        network=network,
        alert_topic=alert_topic,
        orders=orders,
        api=api,
        alert_forwarder=alert_forwarder,
        function_defaults=defaults,
    )


def add_on_call_subscriptions(alert_topic: AlertTopic, config: AppConfig) -> None:
    if config.alerting.email:
        alert_topic.topic.add_subscription(subscriptions.EmailSubscription(config.alerting.email))
    if config.alerting.https_endpoint:
        alert_topic.topic.add_subscription(subscriptions.UrlSubscription(config.alerting.https_endpoint))


def add_monitoring(
    scope: Construct,
    *,
    config: AppConfig,
    region_names: RegionNames,
    other_region_names: RegionNames,
    names: SharedNames,
    services: RegionalServices,
    extra_functions: Mapping[str, lambda_.IFunction] | None = None,
    database: rds.IDatabaseInstance | None = None,
) -> tuple[RegionalMonitoring, ReplicationAlarms]:
    """Every alarm of a region, in the region that publishes its metric, to its topic."""
    thresholds = config.monitoring.thresholds
    prefix = region_names.alarm_prefix
    topic = services.alert_topic.topic
    monitoring = RegionalMonitoring(
        scope,
        "Monitoring",
        alarm_prefix=prefix,
        alert_topic=topic,
        thresholds=thresholds,
        functions={
            "orders": services.orders.order_function.function,
            "health": services.orders.health_function.function,
            "alert-forwarder": services.alert_forwarder.function,
            **(extra_functions or {}),
        },
        http_api=services.api.api,
        database=database,
    )
    replication = ReplicationAlarms(scope, "ReplicationAlarms", alarm_prefix=prefix, alert_topic=topic)
    replication.watch_table(
        names.orders_table,
        receiving_region=other_region_names.region,
        max_latency_ms=thresholds["dynamodbReplicationLatencyMs"],
    )
    return monitoring, replication
