"""Names that stacks in different regions must agree on.

Computed once from the config and handed to every stack, so no stack copies a
string out of another stack and no cross-region reference is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dr_core.config import AppConfig
from dr_core.naming import Kind, Naming


@dataclass(frozen=True)
class RegionNames:
    region: str
    stack: str
    key_alias: str
    data_bucket: str
    access_log_bucket: str
    # Where this region's SSM parameters live; the primary's are replicated to the DR's.
    parameter_path: str
    alert_topic: str
    health_function: str
    alert_forwarder_function: str
    alarm_prefix: str
    order_function: str
    drill_inbox_queue: str

    @classmethod
    def of(cls, naming: Naming, region: str, *, role: str) -> RegionNames:
        return cls(
            region=region,
            stack=naming.name(Kind.STACK, f"orders-{role}", region=region),
            key_alias=naming.kms_alias("orders", region=region),
            data_bucket=naming.bucket("orderdata", region=region),
            access_log_bucket=naming.bucket("accesslogs", region=region),
            parameter_path=naming.name(Kind.SSM_PATH, "orders", region=region) + "/",
            alert_topic=naming.name(Kind.SNS_TOPIC, "alerts", region=region),
            health_function=naming.name(Kind.LAMBDA_FUNCTION, "health", region=region),
            alert_forwarder_function=naming.name(Kind.LAMBDA_FUNCTION, "alert-forwarder", region=region),
            alarm_prefix=naming.name(Kind.ALARM, "orders", region=region),
            order_function=naming.name(Kind.LAMBDA_FUNCTION, "orders", region=region),
            drill_inbox_queue=naming.name(Kind.SQS_QUEUE, "drill-inbox", region=region),
        )

    def alarm_arn(self, alarm_name: str, *, account: str, partition: str) -> str:
        return f"arn:{partition}:cloudwatch:{self.region}:{account}:alarm:{alarm_name}"

    def topic_arn(self, *, account: str, partition: str) -> str:
        return f"arn:{partition}:sns:{self.region}:{account}:{self.alert_topic}"

    def function_arn(self, function_name: str, *, account: str, partition: str) -> str:
        return f"arn:{partition}:lambda:{self.region}:{account}:function:{function_name}"


@dataclass(frozen=True)
class SharedNames:
    primary: RegionNames
    dr: RegionNames
    global_stack: str
    dns_stack: str
    # Where the DNS stack publishes the ID of the zone it created, for the other stacks to read.
    hosted_zone_id_parameter: str
    global_key_alias: str
    global_alert_topic: str
    # A global table has one name in every region; it carries its home region.
    orders_table: str
    replication_role: str
    dashboard: str

    @classmethod
    def of(cls, config: AppConfig) -> SharedNames:
        naming = config.naming
        home = config.primary.name
        return cls(
            primary=RegionNames.of(naming, home, role="primary"),
            dr=RegionNames.of(naming, config.dr.name, role="dr"),
            global_stack=naming.name(Kind.STACK, "orders-global", region=config.global_region),
            dns_stack=naming.name(Kind.STACK, "orders-dns", region=config.global_region),
            hosted_zone_id_parameter=naming.name(Kind.SSM_PATH, "orders-dns", region=config.global_region)
            + "/hosted-zone-id",
            # Distinct from the primary's when the primary region is the global one.
            global_key_alias=naming.kms_alias("orders-global", region=config.global_region),
            global_alert_topic=naming.name(Kind.SNS_TOPIC, "alerts-global", region=config.global_region),
            orders_table=naming.name(Kind.DYNAMODB_TABLE, "orders", region=home),
            replication_role=naming.name(Kind.IAM_ROLE, "orderdata-replication", region=home),
            dashboard=naming.name(Kind.DASHBOARD, "orders-dr", region=config.global_region),
        )
