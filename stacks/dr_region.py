from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from dr_constructs.app_key import AppKey
from dr_constructs.database_replica import ReplicaPlacement
from dr_constructs.drill_inbox import DrillInbox
from dr_constructs.orders_table import GlobalOrdersTable
from dr_constructs.regional_services import RegionalServices
from dr_constructs.secure_bucket import AccessLogBucket, SecureBucket
from dr_core.config import AppConfig
from dr_core.shared_names import SharedNames
from stacks.regional_stack import RegionalStack


class DrRegionStack(RegionalStack):
    """The DR region: its key, the replica bucket, and the same order service as the
    primary, working on the DR replica. Deployed first, so the primary's global
    table and replication rule find the key and bucket in place."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames) -> None:
        super().__init__(
            scope,
            id,
            account=config.account,
            region=config.dr,
            stack_name=names.dr.stack,
            description="Order-processing DR platform: DR region (key, replica data)",
        )
        self.key = AppKey(
            self, "Key", alias=names.dr.key_alias, region=config.dr.name, account=config.account
        )
        access_logs = AccessLogBucket(self, "AccessLogs", bucket_name=names.dr.access_log_bucket)
        self.data = SecureBucket(
            self,
            "ReplicaData",
            bucket_name=names.dr.data_bucket,
            key=self.key.key,
            access_logs=access_logs.bucket,
        )
        # The DR region's replica of the global table, addressed by its DR-region ARN.
        self.orders_table: dynamodb.ITableV2 = GlobalOrdersTable.replica_in(
            self, "OrdersReplica", table_name=names.orders_table
        )
        self.services = RegionalServices(
            self, "Services", config=config, region=config.dr, names=names, key=self.key
        )
        # What the drill's SNS probe watches: canaries forwarded from the primary's topic.
        self.drill_inbox = DrillInbox(
            self,
            "DrillInbox",
            queue_name=names.dr.drill_inbox_queue,
            key=self.key,
            topic=self.services.alert_topic.topic,
        )
        # The read replica deploys after the primary, in a stack of its own; its place is made here.
        self.replica_placement = ReplicaPlacement(
            self,
            "DatabaseReplicaPlacement",
            network=self.services.network,
            key=self.key.key,
            subnet_group_name=names.database_replica_subnet_group,
            security_group_parameter=names.database_replica_security_group_parameter,
            replica_identifier=names.database_replica,
            log_retention=self.services.function_defaults.log_retention,
        )
        cdk.CfnOutput(self, "KeyArn", value=self.key.key.key_arn)
        cdk.CfnOutput(
            self,
            "HealthUrl",
            value=config.traffic.health_url(self.region),
        )
        cdk.CfnOutput(self, "ReplicaBucketName", value=self.data.bucket.bucket_name)
        cdk.CfnOutput(self, "OrdersReplicaArn", value=self.orders_table.table_arn)
