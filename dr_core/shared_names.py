"""Names that stacks in different regions must agree on.

Computed once from the config and handed to every stack, so no stack copies a
string out of another stack and no cross-region reference is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
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
            alert_forwarder_function=naming.name(Kind.LAMBDA_FUNCTION, "alert-forwarder", region=region),
            alarm_prefix=naming.name(Kind.ALARM, "orders", region=region),
            order_function=naming.name(Kind.LAMBDA_FUNCTION, "orders", region=region),
            drill_inbox_queue=naming.name(Kind.SQS_QUEUE, "drill-inbox", region=region),
        )

    def alarm_arn(self, alarm_name: str, *, account: str, partition: str) -> str:
        return alarm_arn(alarm_name, region=self.region, account=account, partition=partition)

    def topic_arn(self, *, account: str, partition: str) -> str:
        return f"arn:{partition}:sns:{self.region}:{account}:{self.alert_topic}"

    def function_arn(self, function_name: str, *, account: str, partition: str) -> str:
        return f"arn:{partition}:lambda:{self.region}:{account}:function:{function_name}"


@dataclass(frozen=True)
class SharedNames:
    primary: RegionNames
    dr: RegionNames
    dns_stack: str
    # Where the DNS stack publishes the ID of the zone it created, for the other stacks to read.
    hosted_zone_id_parameter: str
    # The failover records and health checks, in us-east-1 (Route 53 publishes their metrics there).
    routing_stack: str
    routing_key_alias: str
    routing_alert_topic: str
    # Each region's "unhealthy" alarm on its Route 53 check, in the routing stack's region.
    unhealthy_alarms: Mapping[str, str]
    # Where the routing stack publishes each region's health check ID: <prefix><region>.
    health_check_id_parameter_prefix: str
    # The drill, the game day, the dashboard and their alarms, in the observer region; the state
    # machines are started by name from ./dev drill, ./dev gameday and the integration test.
    observer_region: str
    observer_stack: str
    drill_state_machine: str
    game_day_state_machine: str
    observer_key_alias: str
    observer_alert_topic: str
    # The drill's and game day's reports, under S3 Object Lock, and that bucket's access logs.
    evidence_bucket: str
    evidence_access_log_bucket: str
    # The game day: the FIS templates in the primary (IDs published under the prefix, by experiment
    # name), their emergency-stop alarm, the FIS Lambda extension's configuration bucket, and the
    # secret in the observer region with the OAuth client the game day orders through.
    game_day_template_parameter_prefix: str
    game_day_stop_alarm: str
    fault_config_bucket: str
    game_day_client_secret: str
    # A global table has one name in every region; it carries its home region.
    orders_table: str
    replication_role: str
    dashboard: str
    # PostgreSQL: the primary instance, its secret (replicated to DR under the same name), and the
    # DR region's read replica with its stack.
    database_instance: str
    database_secret: str
    database_replica: str
    database_replica_stack: str
    # Made by the DR stack for the replica's stack, which deploys after the primary.
    database_replica_subnet_group: str
    database_replica_security_group_parameter: str
    database_replica_lag_alarm: str

    @classmethod
    def of(cls, config: AppConfig) -> SharedNames:
        naming = config.naming
        home, routing, observer = config.primary.name, config.global_region, config.observer_region
        return cls(
            primary=RegionNames.of(naming, home, role="primary"),
            dr=RegionNames.of(naming, config.dr.name, role="dr"),
            dns_stack=naming.name(Kind.STACK, "orders-dns", region=routing),
            hosted_zone_id_parameter=naming.name(Kind.SSM_PATH, "orders-dns", region=routing)
            + "/hosted-zone-id",
            routing_stack=naming.name(Kind.STACK, "orders-routing", region=routing),
            # Distinct from the primary's when the primary region is us-east-1.
            routing_key_alias=naming.kms_alias("orders-routing", region=routing),
            routing_alert_topic=naming.name(Kind.SNS_TOPIC, "alerts-routing", region=routing),
            unhealthy_alarms={
                region: naming.name(Kind.ALARM, "unhealthy", region=region)
                for region in (home, config.dr.name)
            },
            health_check_id_parameter_prefix=naming.name(Kind.SSM_PATH, "orders-routing", region=routing)
            + "/health-check-id/",
            observer_region=observer,
            observer_stack=naming.name(Kind.STACK, "orders-observer", region=observer),
            drill_state_machine=naming.name(Kind.STATE_MACHINE, "dr-drill", region=observer),
            game_day_state_machine=naming.name(Kind.STATE_MACHINE, "dr-game-day", region=observer),
            observer_key_alias=naming.kms_alias("orders-observer", region=observer),
            observer_alert_topic=naming.name(Kind.SNS_TOPIC, "alerts-observer", region=observer),
            evidence_bucket=naming.bucket("drevidence", region=observer),
            evidence_access_log_bucket=naming.bucket("drevidencelogs", region=observer),
            game_day_template_parameter_prefix=naming.name(Kind.SSM_PATH, "orders-game-day", region=home)
            + "/experiment-template-id/",
            game_day_stop_alarm=naming.name(Kind.ALARM, "game-day-stop", region=home),
            fault_config_bucket=naming.bucket("faultconfig", region=home),
            game_day_client_secret=naming.name(Kind.SECRET, "game-day-client", region=observer),
            orders_table=naming.name(Kind.DYNAMODB_TABLE, "orders", region=home),
            replication_role=naming.name(Kind.IAM_ROLE, "orderdata-replication", region=home),
            dashboard=naming.name(Kind.DASHBOARD, "orders-dr", region=observer),
            database_instance=naming.name(Kind.RDS_INSTANCE, "orders-db", region=home),
            database_secret=naming.name(Kind.SECRET, "orders-db-admin", region=home),
            database_replica=naming.name(Kind.RDS_INSTANCE, "orders-db-replica", region=config.dr.name),
            database_replica_stack=naming.name(Kind.STACK, "orders-db-replica", region=config.dr.name),
            database_replica_subnet_group=naming.name(
                Kind.RDS_SUBNET_GROUP, "orders-db-subnets", region=config.dr.name
            ),
            database_replica_security_group_parameter=naming.name(
                Kind.SSM_PATH, "orders-db-replica", region=config.dr.name
            )
            + "/security-group-id",
            database_replica_lag_alarm=naming.name(
                Kind.ALARM, "orders-db-replica-lag", region=config.dr.name
            ),
        )


def state_machine_arn(name: str, *, region: str, account: str, partition: str) -> str:
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"


def alarm_arn(name: str, *, region: str, account: str, partition: str) -> str:
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"
