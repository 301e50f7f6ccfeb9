from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from dr_constructs.app_key import AppKey, alias_arn
from dr_constructs.orders_table import GlobalOrdersTable
from dr_constructs.secure_bucket import AccessLogBucket, ReplicationToRegion, SecureBucket
from dr_core.config import AppConfig
from dr_core.shared_names import SharedNames
from stacks.regional_stack import RegionalStack


class PrimaryRegionStack(RegionalStack):
    """The primary region: its key, the global orders table and the replicated data bucket."""

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
        cdk.CfnOutput(self, "KeyArn", value=self.key.key.key_arn)
        cdk.CfnOutput(self, "OrdersTableName", value=self.orders.table.table_name)
        cdk.CfnOutput(self, "DataBucketName", value=self.data.bucket.bucket_name)
