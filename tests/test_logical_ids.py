"""Stateful resources keep their logical IDs: a changed ID means CloudFormation
replaces the resource (and, with Retain, orphans the old one and its data)."""

from __future__ import annotations

import pytest

PINNED = {
    "primary": {
        "Key9BCD29C7": "AWS::KMS::Key",
        "OrdersTable1F8332C7": "AWS::DynamoDB::GlobalTable",
        "DataBucketE6B0FAA8": "AWS::S3::Bucket",
        "AccessLogsBucketCD784A59": "AWS::S3::Bucket",
        "DatabaseInstanceAA8A5FDE": "AWS::RDS::DBInstance",
        "DatabaseSubnetGroup7D60F180": "AWS::RDS::DBSubnetGroup",
        # CDK hashes the generated secret's properties into its ID: changing them replaces the secret.
        "PrimaryRegionDatabaseInstanceSecret369C48D83fdaad7efa858a3daf9490cf0a702aeb": (
            "AWS::SecretsManager::Secret"
        ),
        # The dead-letter queues keep failed events, so they are stateful too. They and the health
        # canary moved under the constructs that own them before this app was first deployed.
        "ServicesOrderServiceHealthCanary51E93891": "AWS::SecretsManager::Secret",
        "ServicesAlertForwarderDeadLettersQueue77E15318": "AWS::SQS::Queue",
        "ParameterReplicationDeadLettersQueueB18999BC": "AWS::SQS::Queue",
        # The FIS Lambda extension's configuration bucket (retained, fixed name).
        "FaultExperimentsConfigBucket95481915": "AWS::S3::Bucket",
    },
    "dr": {
        "Key9BCD29C7": "AWS::KMS::Key",
        "ReplicaDataBucketCA4833BA": "AWS::S3::Bucket",
        "AccessLogsBucketCD784A59": "AWS::S3::Bucket",
        "ServicesOrderServiceHealthCanary51E93891": "AWS::SecretsManager::Secret",
        "ServicesAlertForwarderDeadLettersQueue77E15318": "AWS::SQS::Queue",
        "DrillInboxQueueE23A009F": "AWS::SQS::Queue",
        # The DR read replica's subnet group, by fixed name: a new ID would create a second group of
        # that name, which fails while the retained old one (in use by the replica) holds it.
        "DatabaseReplicaPlacementSubnetGroup4A4CF55B": "AWS::RDS::DBSubnetGroup",
    },
    "observer": {
        "Key9BCD29C7": "AWS::KMS::Key",
        "RoutingAlertForwarderDeadLettersQueue3BB3C98C": "AWS::SQS::Queue",
        # A replaced evidence bucket would orphan every locked report under a name the new one cannot take.
        "EvidenceBucketC67FF768": "AWS::S3::Bucket",
        "EvidenceAccessLogsBucket738E45C8": "AWS::S3::Bucket",
    },
    "database_replica": {
        # A replaced replica is a new full copy of the primary across regions, and the old one retained.
        "ReplicaInstance66334D3C": "AWS::RDS::DBInstance",
    },
}


STATEFUL = {type_ for pins in PINNED.values() for type_ in pins.values()}


@pytest.mark.parametrize("stack", sorted(PINNED))
def test_stateful_resources_keep_their_logical_ids(request, stack):
    resources = request.getfixturevalue(stack).to_json()["Resources"]
    stateful = {logical_id: r["Type"] for logical_id, r in resources.items() if r["Type"] in STATEFUL}
    assert stateful == PINNED[stack]
