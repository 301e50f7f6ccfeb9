"""GlobalOrdersTable: a TableV2 global table whose DR replica is created from the home region,
each replica encrypted with its own region's key; replica_in imports it in the other region."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from dr_constructs.app_key import alias_arn
from dr_constructs.orders_table import GlobalOrdersTable
from tests.cfn import only, render
from tests.conftest import ACCOUNT, bare_stack, masked

TABLE = "AWS::DynamoDB::GlobalTable"
TABLE_NAME = "dev-us-east-1-orders-v1"
DR_ALIAS = "alias/dev-us-west-2-orders-v1"


@pytest.fixture(scope="module")
def stack(config, names) -> cdk.Stack:
    # Given the orders table in us-east-1 with a replica in us-west-2 under the DR key's alias
    stack = bare_stack(config, "us-east-1")
    GlobalOrdersTable(
        stack,
        "Orders",
        table_name=names.orders_table,
        key=kms.Key(stack, "Key"),
        replica_region="us-west-2",
        replica_key_arn=alias_arn(alias=names.dr.key_alias, region="us-west-2", account=ACCOUNT),
    )
    return stack


@pytest.fixture(scope="module")
def template(stack) -> Template:
    return Template.from_stack(stack)


def _replica(template: Template, region: str) -> dict[str, Any]:
    (_, table) = only(template, TABLE)
    (replica,) = [r for r in table["Properties"]["Replicas"] if r["Region"] == region]
    return replica


def test_table_is_a_global_table_with_a_dr_replica_not_the_deprecated_api(template):
    # Then it is one AWS::DynamoDB::GlobalTable: no Table with a replicationRegions custom resource
    template.resource_count_is(TABLE, 1)
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    template.resource_count_is("Custom::DynamoDBReplica", 0)
    template.has_resource_properties(
        TABLE,
        {
            "TableName": TABLE_NAME,
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": Match.array_with(
                [Match.object_like({"Region": "us-west-2"}), Match.object_like({"Region": "us-east-1"})]
            ),
        },
    )


def test_orders_are_keyed_by_order_id(template):
    # Then the handlers' key, order_id, is the only key
    template.has_resource_properties(
        TABLE,
        {
            "KeySchema": [{"AttributeName": "order_id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "order_id", "AttributeType": "S"}],
        },
    )


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_every_replica_has_pitr_deletion_protection_and_contributor_insights(template, region):
    # Then each replica, the DR one included, can be restored, cannot be deleted by accident
    # and reports its hot keys
    replica = _replica(template, region)
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["DeletionProtectionEnabled"] is True
    assert replica["ContributorInsightsSpecification"] == {"Enabled": True}


def test_each_replica_is_encrypted_with_its_own_regions_key(template):
    # Then the home replica uses the given key, the DR replica the DR key by its alias
    (key_id, _) = only(template, "AWS::KMS::Key")
    assert _replica(template, "us-east-1")["SSESpecification"]["KMSMasterKeyId"] == {
        "Fn::GetAtt": [key_id, "Arn"]
    }
    dr_key = _replica(template, "us-west-2")["SSESpecification"]["KMSMasterKeyId"]
    assert render(dr_key) == f"arn:aws:kms:us-west-2:123456789012:{DR_ALIAS}"


def test_table_is_retained_except_on_a_failed_first_create(template):
    # Then the table is kept on stack delete and replacement, not after a rolled-back first create
    template.has_resource(TABLE, {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"})


def test_a_replica_in_the_home_region_is_refused(stack_in):
    # Given a stack in us-east-1
    stack = stack_in("us-east-1")
    # When the table is asked for a replica in that same region
    # Then it is refused: the home region already holds the table
    with pytest.raises(ValueError, match="replica region must differ from us-east-1"):
        GlobalOrdersTable(
            stack,
            "Orders",
            table_name=TABLE_NAME,
            key=kms.Key(stack, "Key"),
            replica_region="us-east-1",
            replica_key_arn="arn:aws:kms:us-east-1:123456789012:alias/orders",
        )


def test_the_other_region_imports_the_table_by_name_and_reaches_its_local_replica(stack_in):
    # Given a stack in the DR region
    stack = stack_in("us-west-2")
    # When it imports the table by its name
    table = GlobalOrdersTable.replica_in(stack, "OrdersReplica", table_name=TABLE_NAME)
    # Then its ARN is the DR region's replica, and nothing is created
    assert stack.resolve(table.table_arn) == f"arn:aws:dynamodb:us-west-2:123456789012:table/{TABLE_NAME}"
    assert [c for c in stack.node.find_all() if isinstance(c, cdk.CfnResource)] == []


def test_template_matches_snapshot(template, snapshot_json):
    # Then the template is the reviewed one (--snapshot-update accepts a deliberate change)
    assert masked(template.to_json()) == snapshot_json
