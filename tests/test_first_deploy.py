"""A first deploy into an empty account that fails can be retried: no fixed-name resource
survives the rollback, and what holds data is still kept on a later update or delete.

The rule is CloudFormation's, not moto's: with ``DeletionPolicy: Retain`` a resource is
kept even when the stack's first create rolls back, so a retry fails with "already
exists" on its name; ``RetainExceptOnCreate`` deletes it on that rollback and keeps it
otherwise (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
"""

from __future__ import annotations

import pytest

# Where each resource type carries the physical name the app gives it.
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Route53::HostedZone": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
}
# Stateful resources the app keeps on stack delete: everything that holds data or keys.
KEPT_TYPES = {
    "AWS::S3::Bucket",
    "AWS::DynamoDB::GlobalTable",
    "AWS::KMS::Key",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBSubnetGroup",
}


def _resources(synthesized):
    for stack in synthesized.stacks:
        for logical_id, resource in synthesized.template_json(stack)["Resources"].items():
            yield stack.stack_name, logical_id, resource


def _fixed_name(resource):
    prop = NAME_PROPERTIES.get(resource["Type"])
    return isinstance(resource.get("Properties", {}).get(prop), str)


def test_no_fixed_name_resource_survives_a_rolled_back_first_create(synthesized):
    # Given every resource the app names itself
    named = [(stack, lid, r) for stack, lid, r in _resources(synthesized) if _fixed_name(r)]
    assert len(named) >= 40
    # Then none is kept by a rollback of the create that made it
    survivors = [f"{stack}/{lid}" for stack, lid, r in named if r.get("DeletionPolicy") == "Retain"]
    assert survivors == []


def test_what_holds_data_is_kept_on_delete_but_not_after_a_failed_first_create(synthesized):
    kept = [(f"{stack}/{lid}", r) for stack, lid, r in _resources(synthesized) if r["Type"] in KEPT_TYPES]
    assert len(kept) >= 10
    for where, resource in kept:
        assert resource.get("DeletionPolicy") in ("RetainExceptOnCreate", "Snapshot"), where


@pytest.mark.parametrize(
    "path",
    [
        "PrimaryRegion/Database/Instance/Secret/Resource",
        "PrimaryRegion/ParameterReplication/DeadLetters/Queue/Resource",
        "PrimaryRegion/Services/AlertForwarder/DeadLetters/Queue/Resource",
        "DrRegion/Services/AlertForwarder/DeadLetters/Queue/Resource",
    ],
)
def test_credentials_and_failed_events_are_kept_on_delete(synthesized, path):
    (resource,) = [
        r for _, _, r in _resources(synthesized) if r.get("Metadata", {}).get("aws:cdk:path") == path
    ]
    assert resource["DeletionPolicy"] == "RetainExceptOnCreate"
