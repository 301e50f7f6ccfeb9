from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from dr_constructs.alert_forwarding import subscribe_forwarder
from dr_constructs.app_key import AppKey, alias_arn
from dr_constructs.dead_letter_queue import DeadLetterQueue
from dr_constructs.orders_database import OrdersDatabase
from dr_constructs.orders_table import GlobalOrdersTable
from dr_constructs.parameter_replication import ParameterReplication
from dr_constructs.secure_bucket import AccessLogBucket, ReplicationToRegion, SecureBucket
from dr_constructs.service_function import ServiceFunction
from dr_core.config import AppConfig
from dr_core.naming import Kind
from dr_core.shared_names import SharedNames
from stacks.regional_services import add_monitoring, add_regional_services
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
        self.key = AppKey(
            self,
            "Key",
            alias=names.primary.key_alias,
            region=config.primary.name,
            account=config.account,
        )
        self.orders = GlobalOrdersTable(
            self,
            "Orders",
            table_name=names.orders_table,
            key=self.key.key,
            replica_region=config.dr.name,
            replica_key_arn=alias_arn(
                alias=names.dr.key_alias, region=config.dr.name, account=config.account
            ),
        )
        access_logs = AccessLogBucket(self, "AccessLogs", bucket_name=names.primary.access_log_bucket)
        self.replication = ReplicationToRegion(
            self,
            "DataReplication",
            role_name=names.replication_role,
            source_bucket_name=names.primary.data_bucket,
            source_key=self.key.key,
            destination_bucket_name=names.dr.data_bucket,
            destination_region=config.dr.name,
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
        self.services = add_regional_services(
            self,
            config=config,
            region=config.primary,
            region_names=names.primary,
            other_region_names=names.dr,
            names=names,
            key=self.key,
        )
        naming, region = config.naming, config.primary.name
        self.database = OrdersDatabase(
            self,
            "Database",
            network=self.services.network,
            key=self.key.key,
            instance_identifier=naming.name(Kind.RDS_INSTANCE, "orders-db", region=region),
            secret_name=naming.name(Kind.SECRET, "orders-db-admin", region=region),
            instance_type=config.database_instance_type,
            log_retention=self.services.function_defaults.log_retention,
            replica_region=config.dr.name,
            replica_key_arn=alias_arn(
                alias=names.dr.key_alias, region=config.dr.name, account=config.account
            ),
        )
        self.parameter_dead_letters = DeadLetterQueue(
            self,
            "ParameterReplicationDeadLetters",
            queue_name=naming.name(Kind.SQS_QUEUE, "ssm-replication-dlq", region=region),
            key=self.key.key,
            alert_topic=self.services.alert_topic.topic,
            max_age=cdk.Duration.seconds(config.operations.dead_letter_max_age_seconds),
            feeds_from="the SSM parameter replicator",
        )
        replicator = ServiceFunction(
            self,
            "ParameterReplicator",
            function_name=naming.name(Kind.LAMBDA_FUNCTION, "ssm-replicator", region=region),
            role_name=naming.name(Kind.IAM_ROLE, "ssm-replicator-fn", region=region),
            asset="ssm_replicator",
            description=f"Replicates {names.primary.parameter_path} to {config.dr.name} as SecureStrings",
            environment={
                "SOURCE_PATH": names.primary.parameter_path,
                "TARGET_PATH": names.dr.parameter_path,
                "TARGET_REGION": config.dr.name,
                "TARGET_KEY_ID": names.dr.key_alias,
            },
            defaults=self.services.function_defaults,
            timeout=cdk.Duration.minutes(5),
        )
        self.parameter_replication = ParameterReplication(
            self,
            "ParameterReplication",
            replicator=replicator,
            dead_letter=self.parameter_dead_letters,
            source_path=names.primary.parameter_path,
            source_key=self.key,
            target_path=names.dr.parameter_path,
            target_region=config.dr.name,
            target_key_alias=names.dr.key_alias,
            change_rule_name=naming.name(Kind.EVENT_RULE, "ssm-change", region=region),
            deploy_rule_name=naming.name(Kind.EVENT_RULE, "ssm-after-deploy", region=region),
            schedule_name=naming.name(Kind.SCHEDULE, "ssm-reconcile", region=region),
            scheduler_role_name=naming.name(Kind.IAM_ROLE, "ssm-reconcile-scheduler", region=region),
            reconcile_every=cdk.Duration.minutes(config.operations.parameter_reconcile_minutes),
        )
        self.monitoring, self.replication_alarms = add_monitoring(
            self,
            config=config,
            region_names=names.primary,
            other_region_names=names.dr,
            names=names,
            services=self.services,
            extra_functions={"ssm-replicator": replicator.function},
            database=self.database.instance,
        )
        self.replication_alarms.watch_bucket(
            source_bucket=names.primary.data_bucket,
            destination_bucket=names.dr.data_bucket,
            rule_id=ReplicationToRegion.RULE_ID,
            max_latency_seconds=config.monitoring.thresholds["s3ReplicationLatencySeconds"],
            max_pending_operations=config.monitoring.thresholds["s3PendingOperations"],
        )
        # Both cross-region alert subscriptions live here: this stack deploys after the DR
        # stack, so the DR topic and forwarder already exist, and it owns the primary's.
        partition, account = self.partition, config.account
        subscribe_forwarder(
            self,
            "PrimaryAlertsToDrForwarder",
            topic_arn=self.services.alert_topic.topic.topic_arn,
            topic_region=config.primary.name,
            forwarder_arn=names.dr.function_arn(
                names.dr.alert_forwarder_function, account=account, partition=partition
            ),
        )
        subscribe_forwarder(
            self,
            "DrAlertsToPrimaryForwarder",
            topic_arn=names.dr.topic_arn(account=account, partition=partition),
            topic_region=config.dr.name,
            forwarder_arn=self.services.alert_forwarder.function.function_arn,
        )
        cdk.CfnOutput(self, "KeyArn", value=self.key.key.key_arn)
        cdk.CfnOutput(self, "HealthUrl", value=self.services.orders.health_url.url)
        cdk.CfnOutput(self, "DatabaseSecretName", value=self.database.secret.secret_name)
        cdk.CfnOutput(self, "OrdersTableName", value=self.orders.table.table_name)
        cdk.CfnOutput(self, "DataBucketName", value=self.data.bucket.bucket_name)
