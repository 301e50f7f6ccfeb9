from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from dr_constructs.network import RegionalNetwork
from dr_constructs.order_service import FunctionNames, OrderService
from dr_constructs.service_function import FunctionDefaults, log_retention
from dr_core.config import AppConfig, RegionConfig
from dr_core.naming import Kind
from dr_core.shared_names import RegionNames, SharedNames


@dataclass(frozen=True)
class RegionalServices:
    network: RegionalNetwork
    alert_topic: AlertTopic
    orders: OrderService
    function_defaults: FunctionDefaults


def add_regional_services(
    scope: Construct,
    *,
    config: AppConfig,
    region: RegionConfig,
    region_names: RegionNames,
    names: SharedNames,
    key: AppKey,
) -> RegionalServices:
    """What both regions run identically: network, alert topic, order and health functions."""
    naming = config.naming
    key.allow_cloudwatch_logs()
    retention = log_retention(config.compute.log_retention_days)
    network = RegionalNetwork(
        scope, "Network", cidr=region.vpc_cidr, egress=config.egress, key=key.key, log_retention=retention
    )
    alert_topic = AlertTopic(
        scope, "Alerts", topic_name=naming.name(Kind.SNS_TOPIC, "alerts", region=region.name), key=key
    )
    defaults = FunctionDefaults(
        log_key=key.key,
        log_retention=retention,
        powertools_layer_version=config.compute.powertools_layer_version,
    )

    def function_names(service: str) -> FunctionNames:
        return FunctionNames(
            function=naming.name(Kind.LAMBDA_FUNCTION, service, region=region.name),
            role=naming.name(Kind.IAM_ROLE, f"{service}-fn", region=region.name),
        )

    orders = OrderService(
        scope,
        "OrderService",
        table_name=names.orders_table,
        key=key.key,
        parameter_path=region_names.parameter_path,
        network=network,
        defaults=defaults,
        order=function_names("orders"),
        health=function_names("health"),
        order_concurrency=config.compute.order_concurrency,
        health_concurrency=config.compute.health_concurrency,
    )
    return RegionalServices(
        network=network, alert_topic=alert_topic, orders=orders, function_defaults=defaults
    )
