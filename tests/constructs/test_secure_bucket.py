"""SecureBucket, AccessLogBucket and ReplicationToRegion: versioned, CMK-encrypted, TLS-only,
private, access-logged, retained data buckets, and KMS-encrypted cross-region replication
configured through s3.Bucket(replication_rules=...) with a least-privilege role."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from dr_constructs.secure_bucket import AccessLogBucket, ReplicationToRegion, SecureBucket, lifecycle_rules
from tests.cfn import at_path, render
from tests.conftest import bare_stack, masked

SOURCE = "dev-us-east-1-orderdata-123456789012-v1"
DESTINATION = "dev-us-west-2-orderdata-123456789012-v1"
DR_ALIAS = "alias/dev-us-west-2-orders-v1"
ROLE = "Test/DataReplication/Role/Resource"
POLICY = "Test/DataReplication/Policy/Resource"


class Side:
    """One side of replication: its stack, key, data bucket construct and template."""

    def __init__(self, stack: cdk.Stack, key: kms.Key, data: SecureBucket, name: str) -> None:
        self.stack, self.key, self.data, self.name = stack, key, data, name
        self.template = Template.from_stack(stack)

    @property
    def key_arn(self) -> dict[str, Any]:
        return self.stack.resolve(self.key.key_arn)

    def bucket(self) -> dict[str, Any]:
        (_, bucket) = at_path(self.template, f"{self.data.node.path}/Bucket/Resource")
        return bucket


@pytest.fixture(scope="module")
def source(config, names) -> Side:
    # Given the primary side: a data bucket in us-east-1 replicating into the DR bucket by name,
    # under the DR key's alias
    stack = bare_stack(config, "us-east-1")
    key = kms.Key(stack, "Key")
    access_logs = AccessLogBucket(stack, "AccessLogs", bucket_name=names.primary.access_log_bucket)
    replication = ReplicationToRegion(
        stack,
        "DataReplication",
        role_name=names.replication_role,
        source_bucket_name=names.primary.data_bucket,
        source_key=key,
        destination_bucket_name=names.dr.data_bucket,
        destination_region="us-west-2",
        destination_key_alias=names.dr.key_alias,
    )
    data = SecureBucket(
        stack,
        "Data",
        bucket_name=names.primary.data_bucket,
        key=key,
        access_logs=access_logs.bucket,
        replication=replication,
    )
    return Side(stack, key, data, SOURCE)


@pytest.fixture(scope="module")
def destination(config, names) -> Side:
    # Given the DR side: a data bucket in us-west-2 without replication of its own
    stack = bare_stack(config, "us-west-2")
    key = kms.Key(stack, "Key")
    access_logs = AccessLogBucket(stack, "AccessLogs", bucket_name=names.dr.access_log_bucket)
    data = SecureBucket(
        stack, "ReplicaData", bucket_name=names.dr.data_bucket, key=key, access_logs=access_logs.bucket
    )
    return Side(stack, key, data, DESTINATION)


@pytest.fixture(params=["source", "destination"])
def side(request) -> Side:
    return request.getfixturevalue(request.param)


def _rule(source: Side) -> dict[str, Any]:
    (rule,) = source.bucket()["Properties"]["ReplicationConfiguration"]["Rules"]
    return rule


def _role_statements(source: Side) -> dict[str, dict[str, Any]]:
    (_, policy) = at_path(source.template, POLICY)
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


# Replication


def test_replication_targets_the_dr_bucket_by_name_with_the_dr_key_alias(source):
    # Then the rule writes into the DR bucket's ARN, encrypting replicas with the DR key's alias
    destination = _rule(source)["Destination"]
    assert render(destination["Bucket"]) == f"arn:aws:s3:::{DESTINATION}"
    assert render(destination["EncryptionConfiguration"]["ReplicaKmsKeyID"]) == (
        f"arn:aws:kms:us-west-2:123456789012:{DR_ALIAS}"
    )


def test_replication_copies_kms_objects_and_delete_markers_within_rtc(source):
    # Then the one rule copies KMS-encrypted objects and delete markers, within 15 minutes, measured
    rule = _rule(source)
    # The replication alarms watch the rule by this ID.
    assert rule["Id"] == ReplicationToRegion.RULE_ID
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert rule["Destination"]["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    assert rule["Status"] == "Enabled"


def test_replication_is_configured_by_the_l2_bucket_not_a_cfn_override(source):
    # Then the replication role came through the bucket's props, and the rule uses it
    # s3.Bucket only knows its replication role when replication came through its props.
    bucket = source.data.bucket
    assert isinstance(bucket, s3.Bucket)
    (role_id, _) = at_path(source.template, ROLE)
    assert source.stack.resolve(bucket.replication_role_arn) == {"Fn::GetAtt": [role_id, "Arn"]}
    assert source.bucket()["Properties"]["ReplicationConfiguration"]["Role"] == {
        "Fn::GetAtt": [role_id, "Arn"]
    }


def test_bucket_waits_for_the_replication_policy(source):
    # Then the bucket is created after its role's policy
    # S3 starts replicating as soon as the rule exists.
    (policy_id, _) = at_path(source.template, POLICY)
    assert policy_id in source.bucket()["DependsOn"]


def test_a_bucket_without_replication_has_no_replication_configuration(destination):
    # Then the DR bucket replicates nowhere and has no replication role
    assert "ReplicationConfiguration" not in destination.bucket()["Properties"]
    destination.template.resource_count_is("AWS::IAM::Role", 0)


def test_replication_into_the_same_region_is_refused(stack_in):
    # Given a stack in us-east-1
    stack = stack_in("us-east-1")
    # When replication is asked to write into a bucket of us-east-1
    # Then it is refused: cross-region replication needs another region
    with pytest.raises(ValueError, match="destination in another region"):
        ReplicationToRegion(
            stack,
            "DataReplication",
            role_name="role",
            source_bucket_name="source",
            source_key=kms.Key(stack, "Key"),
            destination_bucket_name="destination",
            destination_region="us-east-1",
            destination_key_alias="alias/destination",
        )


# The replication role


def test_replication_role_is_assumed_only_by_s3(source):
    # Then only S3 may assume the role, which has its convention name and no managed policy
    (_, role) = at_path(source.template, ROLE)
    assert role["Properties"]["RoleName"] == "dev-us-east-1-orderdata-replication-v1"
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]


def test_replication_role_touches_only_the_two_buckets(source):
    # Then its S3 statements name the source bucket, its objects and the DR objects, nothing else
    s3_resources = {
        render(s["Resource"]) for s in _role_statements(source).values() if s["Action"][0].startswith("s3:")
    }
    assert s3_resources == {
        f"arn:aws:s3:::{SOURCE}",
        f"arn:aws:s3:::{SOURCE}/*",
        f"arn:aws:s3:::{DESTINATION}/*",
    }


def test_replication_role_has_only_replication_actions(source):
    # Then it may do what replication needs and nothing more
    actions = set()
    for statement in _role_statements(source).values():
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    assert actions == {
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl",
        "s3:GetObjectVersionTagging",
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }


def test_replication_role_decrypts_only_source_objects_with_the_source_key_through_s3(source):
    # Then it may decrypt with the source key only, through S3, for the source bucket's objects
    decrypt = _role_statements(source)["DecryptSourceObjects"]
    assert decrypt["Resource"] == source.key_arn
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert render(decrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]) == [
        f"arn:aws:s3:::{SOURCE}",
        f"arn:aws:s3:::{SOURCE}/*",
    ]


def test_replication_role_encrypts_only_with_the_key_carrying_the_dr_alias(source):
    # Then it may encrypt with the DR region's key carrying the DR alias only, through S3 in that
    # region, for the DR bucket's objects
    encrypt = _role_statements(source)["EncryptReplicasWithDestinationKey"]
    assert render(encrypt["Resource"]) == "arn:aws:kms:us-west-2:123456789012:key/*"
    assert encrypt["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": DR_ALIAS}
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    assert render(encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]) == [
        f"arn:aws:s3:::{DESTINATION}",
        f"arn:aws:s3:::{DESTINATION}/*",
    ]


# Both sides' buckets


def test_data_bucket_is_versioned_cmk_encrypted_private_logged_and_retained(side):
    # Then each side's data bucket is versioned, encrypted with its key, private, logged into its
    # access-log bucket, and kept on delete except after a rolled-back first create
    side.template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketName": side.name,
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "BucketKeyEnabled": True,
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": side.key_arn,
                                },
                            }
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LoggingConfiguration": {
                        "DestinationBucketName": {"Ref": Match.string_like_regexp("^AccessLogsBucket")},
                        "LogFilePrefix": f"{side.name}/",
                    },
                }
            ),
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_data_bucket_has_the_same_lifecycle_rules_on_both_sides(side):
    # Then both sides have the same lifecycle rules, so a failover keeps the cost profile
    rules = side.bucket()["Properties"]["LifecycleConfiguration"]["Rules"]
    by_id = {r["Id"]: r for r in rules}
    assert set(by_id) == {rule.id for rule in lifecycle_rules()}
    current = by_id["tier-current-versions"]["Transitions"]
    assert current == [{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 30}]
    noncurrent = by_id["age-out-noncurrent-versions"]
    assert [t["StorageClass"] for t in noncurrent["NoncurrentVersionTransitions"]] == [
        "STANDARD_IA",
        "GLACIER_IR",
    ]
    assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": 365}
    assert by_id["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }
    assert by_id["remove-expired-delete-markers"]["ExpiredObjectDeleteMarker"] is True


def test_every_bucket_policy_denies_plain_http_and_old_tls(side):
    # Then every bucket, access logs included, refuses plain HTTP and TLS older than 1.2
    buckets = side.template.find_resources("AWS::S3::Bucket")
    enforced = set()
    for policy in side.template.find_resources("AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        conditions = [s["Condition"] for s in statements if s["Effect"] == "Deny"]
        if {"Bool": {"aws:SecureTransport": "false"}} in conditions and {
            "NumericLessThan": {"s3:TlsVersion": 1.2}
        } in conditions:
            enforced.add(policy["Properties"]["Bucket"]["Ref"])
    assert len(buckets) == 2  # the data bucket and its access-log bucket
    assert enforced == set(buckets)


def test_access_log_bucket_uses_s3_managed_keys_because_log_delivery_needs_it(destination):
    # Then the access-log bucket is SSE-S3: "Default server-side encryption with AWS KMS keys
    # (SSE-KMS) is not supported for server access logging target buckets"
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html)
    destination.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": "dev-us-west-2-accesslogs-123456789012-v1",
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
        },
    )


def test_access_log_bucket_is_private_versioned_expiring_and_retained(destination):
    # Then the access logs are private, versioned, expire after a year, and are kept on delete
    (_, bucket) = at_path(destination.template, "Test/AccessLogs/Bucket/Resource")
    assert bucket["DeletionPolicy"] == "RetainExceptOnCreate"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(properties["PublicAccessBlockConfiguration"].values())
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 365
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}


def test_template_matches_snapshot(source, snapshot_json):
    # Then the template is the reviewed one (--snapshot-update accepts a deliberate change)
    # The source side holds all three constructs: access logs, replication and the data bucket.
    assert masked(source.template.to_json()) == snapshot_json
