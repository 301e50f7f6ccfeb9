"""The orders table: a TableV2 global table with replicas, each encrypted with its own region's key."""

from __future__ import annotations

from aws_cdk.assertions import Match

TABLE = "AWS::DynamoDB::GlobalTable"


def _replica(template, region):
    (table,) = template.find_resources(TABLE).values()
    (replica,) = [r for r in table["Properties"]["Replicas"] if r["Region"] == region]
    return replica


def test_table_is_a_global_table_with_a_dr_replica_not_the_deprecated_api(primary):
    primary.resource_count_is(TABLE, 1)
    primary.resource_count_is("AWS::DynamoDB::Table", 0)  # no replicationRegions custom resource
    primary.resource_count_is("Custom::DynamoDBReplica", 0)
    primary.has_resource_properties(
        TABLE,
        {
            "TableName": "dev-us-east-1-orders-v1",
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": Match.array_with(
                [Match.object_like({"Region": "us-west-2"}), Match.object_like({"Region": "us-east-1"})]
            ),
        },
    )


def test_every_replica_has_pitr_and_deletion_protection(primary):
    for region in ("us-east-1", "us-west-2"):
        replica = _replica(primary, region)
        assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert replica["DeletionProtectionEnabled"] is True


def test_each_replica_is_encrypted_with_its_own_regions_key(primary):
    (primary_key_id,) = primary.find_resources("AWS::KMS::Key")
    assert _replica(primary, "us-east-1")["SSESpecification"]["KMSMasterKeyId"] == {
        "Fn::GetAtt": [primary_key_id, "Arn"]
    }
    dr_key = _replica(primary, "us-west-2")["SSESpecification"]["KMSMasterKeyId"]
    assert dr_key["Fn::Join"][1][-1] == ":kms:us-west-2:123456789012:alias/dev-us-west-2-orders-v1"


def test_table_is_retained_on_stack_delete(primary):
    primary.has_resource(TABLE, {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"})


def test_dr_stack_reaches_its_local_replica_not_the_primary(platform):
    # Imported by name in the DR stack, so its ARN is the DR region's replica.
    arn = platform.dr.resolve(platform.dr.orders_table.table_arn)
    assert arn == "arn:aws:dynamodb:us-west-2:123456789012:table/dev-us-east-1-orders-v1"
