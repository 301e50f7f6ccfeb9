from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from dr_constructs.alert_forwarding import subscribe_forwarder
from dr_constructs.app_key import AppKey, alias_arn
from dr_constructs.fault_experiments import FaultExperiments
from dr_constructs.orders_database import OrdersDatabase
from dr_constructs.orders_table import GlobalOrdersTable
from dr_constructs.parameter_replication import ParameterReplication
from dr_constructs.regional_services import RegionalServices
from dr_constructs.secure_bucket import AccessLogBucket, ReplicationToRegion, SecureBucket
from dr_core.config import AppConfig
from dr_core.game_day import EXPERIMENTS, GameDayPlan
from dr_core.naming import Kind
from dr_core.shared_names import SharedNames
from stacks.regional_stack import RegionalStack


class PrimaryRegionStack(RegionalStack):
    """The primary region: its key, the global orders table, the replicated data bucket,
    the order service, the PostgreSQL database and the parameter replication to DR."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames) -> None:
        super().__init__(
            scope,
            id,
            account=config.account,
            region=config.primary,
            stack_name=names.primary.stack,
            description="Order-processing DR platform: primary region (key, global table, data)",
        )
        naming, region, dr = config.naming, config.primary.name, config.dr.name
        dr_key_arn = alias_arn(alias=names.dr.key_alias, region=dr, account=config.account)
        self.key = AppKey(self, "Key", alias=names.primary.key_alias, region=region, account=config.account)
        self.orders = GlobalOrdersTable(
            self,
            "Orders",
            table_name=names.orders_table,
            key=self.key.key,
            replica_region=dr,
            replica_key_arn=dr_key_arn,
        )
        access_logs = AccessLogBucket(self, "AccessLogs", bucket_name=names.primary.access_log_bucket)
        self.replication = ReplicationToRegion(
            self,
            "DataReplication",
            role_name=names.replication_role,
            source_bucket_name=names.primary.data_bucket,
            source_key=self.key.key,
            destination_bucket_name=names.dr.data_bucket,
            destination_region=dr,
            destination_key_alias=names.dr.key_alias,
        )
        self.data = SecureBucket(
            self,
            "Data",
            bucket_name=names.primary.data_bucket,
            key=self.key.key,
            access_logs=access_logs.bucket,
            replication=self.replication,
        )
        self.services = RegionalServices(
            self, "Services", config=config, region=config.primary, names=names, key=self.key
        )
        topic = self.services.alert_topic.topic
        self.database = OrdersDatabase(
            self,
            "Database",
            network=self.services.network,
            key=self.key.key,
            instance_identifier=names.database_instance,
            secret_name=names.database_secret,
            instance_type=config.database_instance_type,
            log_retention=self.services.function_defaults.log_retention,
            replica_region=dr,
            replica_key_arn=dr_key_arn,
        )
        self.parameter_replication = ParameterReplication(
            self,
            "ParameterReplication",
            naming=naming,
            source_path=names.primary.parameter_path,
            source_key=self.key,
            target_path=names.dr.parameter_path,
            target_region=dr,
            target_key_alias=names.dr.key_alias,
            alert_topic=topic,
            defaults=self.services.function_defaults,
            reconcile_every=cdk.Duration.minutes(config.operations.parameter_reconcile_minutes),
            dead_letter_max_age=cdk.Duration.seconds(config.operations.dead_letter_max_age_seconds),
        )
        monitoring = self.services.monitoring
        monitoring.monitor_function("ssm-replicator", self.parameter_replication.function)
        monitoring.monitor_database(self.database.instance)
        thresholds = config.monitoring.thresholds
        self.services.replication_alarms.watch_bucket(
            source_bucket=names.primary.data_bucket,
            destination_bucket=names.dr.data_bucket,
            rule_id=ReplicationToRegion.RULE_ID,
            max_latency_seconds=thresholds["s3ReplicationLatencySeconds"],
            max_pending_operations=thresholds["s3PendingOperations"],
        )
        self.fault_experiments = FaultExperiments(
            self,
            "FaultExperiments",
            order_function=self.services.orders.function,
            table_name=names.orders_table,
            data_bucket=self.data.bucket,
            replica_region=dr,
            replica_bucket_name=names.dr.data_bucket,
            key=self.key.key,
            access_logs=access_logs.bucket,
            config_bucket_name=names.fault_config_bucket,
            role_names={e: naming.name(Kind.IAM_ROLE, f"fis-{e}", region=region) for e in EXPERIMENTS},
            stop_alarm_name=names.game_day_stop_alarm,
            customer_impact_alarms=[monitoring.api_errors_alarm],
            alert_topic=topic,
            action_seconds=GameDayPlan.of(config).action_seconds,
            template_id_parameter_prefix=names.game_day_template_parameter_prefix,
            log_retention=self.services.function_defaults.log_retention,
        )
        # Both cross-region alert subscriptions live here: this stack deploys after the DR
        # stack, so the DR topic and forwarder already exist, and it owns the primary's.
        partition, account = self.partition, config.account
        subscribe_forwarder(
            self,
            "PrimaryAlertsToDrForwarder",
            topic_arn=topic.topic_arn,
            topic_region=region,
            forwarder_arn=names.dr.function_arn(
                names.dr.alert_forwarder_function, account=account, partition=partition
            ),
        )
        subscribe_forwarder(
            self,
            "DrAlertsToPrimaryForwarder",
            topic_arn=names.dr.topic_arn(account=account, partition=partition),
            topic_region=dr,
            forwarder_arn=self.services.alert_forwarder.function.function_arn,
        )
        cdk.CfnOutput(self, "KeyArn", value=self.key.key.key_arn)
        cdk.CfnOutput(
            self,
            "HealthUrl",
            value=config.traffic.health_url(self.region),
        )
        cdk.CfnOutput(self, "DatabaseSecretName", value=self.database.secret.secret_name)
        cdk.CfnOutput(self, "OrdersTableName", value=self.orders.table.table_name)
        cdk.CfnOutput(self, "DataBucketName", value=self.data.bucket.bucket_name)
