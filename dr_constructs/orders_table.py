from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from dr_constructs.lifecycle import RETAINED

PARTITION_KEY = "order_id"


class GlobalOrdersTable(Construct):
    """The orders table as a DynamoDB global table (``TableV2`` with ``replicas``).

    Lives in the primary region's stack; CloudFormation creates the replica in the
    DR region, encrypted with that region's own key, which must already exist.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table_name: str,
        key: kms.IKey,
        replica_region: str,
        replica_key_arn: str,
    ) -> None:
        super().__init__(scope, id)
        home_region = cdk.Stack.of(self).region
        if replica_region == home_region:
            raise ValueError(f"GlobalOrdersTable replica region must differ from {home_region}")
        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=table_name,
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(
                key, {replica_region: replica_key_arn}
            ),
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            contributor_insights_specification=dynamodb.ContributorInsightsSpecification(enabled=True),
            # A replica inherits the table's PITR, deletion protection and contributor insights.
            replicas=[dynamodb.ReplicaTableProps(region=replica_region)],
            removal_policy=RETAINED,
        )

    @staticmethod
    def replica_in(scope: Construct, id: str, *, table_name: str) -> dynamodb.ITableV2:
        """The table as seen from another region's stack: its ARN is that region's replica.

        Importing by name keeps the DR stack free of any reference to the primary stack.
        """
        return dynamodb.TableV2.from_table_name(scope, id, table_name)
