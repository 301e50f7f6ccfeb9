"""KMS-encrypted S3 cross-region replication built with s3.Bucket(replication_rules=...)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match

from tests.cfn import at_path, only, render

SOURCE = "dev-us-east-1-orderdata-123456789012-v1"
DESTINATION = "dev-us-west-2-orderdata-123456789012-v1"
DR_ALIAS = "alias/dev-us-west-2-orders-v1"


def _bucket(template, name):
    (bucket,) = [
        b
        for b in template.find_resources("AWS::S3::Bucket").values()
        if b["Properties"]["BucketName"] == name
    ]
    return bucket


def _replication_rule(primary):
    (rule,) = _bucket(primary, SOURCE)["Properties"]["ReplicationConfiguration"]["Rules"]
    return rule


def test_replication_targets_the_dr_bucket_by_name_with_the_dr_key(primary):
    destination = _replication_rule(primary)["Destination"]
    assert render(destination["Bucket"]) == f"arn:aws:s3:::{DESTINATION}"
    assert render(destination["EncryptionConfiguration"]["ReplicaKmsKeyID"]) == (
        f"arn:aws:kms:us-west-2:123456789012:{DR_ALIAS}"
    )


def test_replication_copies_kms_objects_delete_markers_within_rtc(primary):
    rule = _replication_rule(primary)
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert rule["Destination"]["Metrics"] == {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    assert rule["Status"] == "Enabled"


def test_replication_is_configured_by_the_l2_bucket_not_a_cfn_override(platform):
    # s3.Bucket only knows its replication role when replication came through its props.
    bucket = platform.primary.data.bucket
    assert isinstance(bucket, s3.Bucket)
    assert platform.primary.resolve(bucket.replication_role_arn) == platform.primary.resolve(
        platform.primary.replication.role.role_arn
    )


def test_bucket_waits_for_the_replication_policy(primary):
    (policy_id, _) = at_path(primary, "PrimaryRegion/DataReplication/Policy/Resource")
    assert policy_id in _bucket(primary, SOURCE)["DependsOn"]


@pytest.mark.parametrize(("stack", "name"), [("primary", SOURCE), ("dr", DESTINATION)])
def test_both_data_buckets_are_versioned_cmk_encrypted_private_logged_and_retained(request, stack, name):
    template = request.getfixturevalue(stack)
    (key_id, _) = only(template, "AWS::KMS::Key")
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketName": name,
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "BucketKeyEnabled": True,
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
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
                    "LoggingConfiguration": Match.object_like(
                        {"DestinationBucketName": {"Ref": Match.string_like_regexp("^AccessLogs")}}
                    ),
                }
            ),
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


@pytest.mark.parametrize(("stack", "name"), [("primary", SOURCE), ("dr", DESTINATION)])
def test_both_sides_have_the_lifecycle_rules(request, stack, name):
    rules = _bucket(request.getfixturevalue(stack), name)["Properties"]["LifecycleConfiguration"]["Rules"]
    by_id = {r["Id"]: r for r in rules}
    assert by_id["tier-current-versions"]["Transitions"][0]["StorageClass"] == "INTELLIGENT_TIERING"
    noncurrent = by_id["age-out-noncurrent-versions"]
    assert [t["StorageClass"] for t in noncurrent["NoncurrentVersionTransitions"]] == [
        "STANDARD_IA",
        "GLACIER_IR",
    ]
    assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": 365}
    assert by_id["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 7
    }


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_every_bucket_policy_denies_plain_http_and_old_tls(request, stack):
    template = request.getfixturevalue(stack)
    buckets = template.find_resources("AWS::S3::Bucket")
    policies = template.find_resources("AWS::S3::BucketPolicy").values()
    enforced = set()
    for policy in policies:
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        conditions = [s["Condition"] for s in statements if s["Effect"] == "Deny"]
        if {"Bool": {"aws:SecureTransport": "false"}} in conditions and {
            "NumericLessThan": {"s3:TlsVersion": 1.2}
        } in conditions:
            enforced.add(policy["Properties"]["Bucket"]["Ref"])
    assert enforced == set(buckets)


def test_access_log_buckets_use_s3_managed_keys_because_log_delivery_needs_it(dr):
    dr.has_resource_properties(
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


def _role_statements(primary):
    (_, policy) = at_path(primary, "PrimaryRegion/DataReplication/Policy/Resource")
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_replication_role_is_assumed_only_by_s3(primary):
    (_, role) = at_path(primary, "PrimaryRegion/DataReplication/Role/Resource")
    assert role["Properties"]["RoleName"] == "dev-us-east-1-orderdata-replication-v1"
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]


def test_replication_role_touches_only_the_two_buckets(primary):
    s3_resources = {
        render(s["Resource"]) for s in _role_statements(primary).values() if s["Action"][0].startswith("s3:")
    }
    assert s3_resources == {
        f"arn:aws:s3:::{SOURCE}",
        f"arn:aws:s3:::{SOURCE}/*",
        f"arn:aws:s3:::{DESTINATION}/*",
    }


def test_replication_role_has_only_replication_actions(primary):
    actions = set()
    for statement in _role_statements(primary).values():
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


def test_replication_role_decrypts_only_with_the_source_key_through_s3(primary):
    (key_id, _) = only(primary, "AWS::KMS::Key")
    decrypt = _role_statements(primary)["DecryptSourceObjects"]
    assert decrypt["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}


def test_replication_role_encrypts_only_with_the_key_carrying_the_dr_alias(primary):
    encrypt = _role_statements(primary)["EncryptReplicasWithDestinationKey"]
    assert render(encrypt["Resource"]) == "arn:aws:kms:us-west-2:123456789012:key/*"
    assert encrypt["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": DR_ALIAS}
    assert encrypt["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    assert render(encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]) == [
        f"arn:aws:s3:::{DESTINATION}",
        f"arn:aws:s3:::{DESTINATION}/*",
    ]
