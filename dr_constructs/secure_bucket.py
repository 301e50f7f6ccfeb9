from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import alias_arn, keys_of_region, use_by_alias
from dr_constructs.lifecycle import RETAINED
from dr_core.telemetry import S3_REPLICATION_RULE_ID


def lifecycle_rules() -> list[s3.LifecycleRule]:
    """The same rules on both sides of replication, so a failover keeps the cost profile."""
    return [
        s3.LifecycleRule(
            id="tier-current-versions",
            transitions=[
                s3.Transition(
                    storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                    transition_after=cdk.Duration.days(30),
                )
            ],
        ),
        s3.LifecycleRule(
            id="age-out-noncurrent-versions",
            noncurrent_version_transitions=[
                s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=cdk.Duration.days(30),
                ),
                s3.NoncurrentVersionTransition(
                    storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                    transition_after=cdk.Duration.days(90),
                ),
            ],
            noncurrent_version_expiration=cdk.Duration.days(365),
        ),
        s3.LifecycleRule(
            id="abort-incomplete-multipart-uploads",
            abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
        ),
        s3.LifecycleRule(id="remove-expired-delete-markers", expired_object_delete_marker=True),
    ]


class AccessLogBucket(Construct):
    """Target of the server access logs of a region's data buckets.

    S3 server access logging cannot deliver into an SSE-KMS bucket, so this one
    alone is encrypted with S3-managed keys; it holds request logs, never order data.
    """

    def __init__(self, scope: Construct, id: str, *, bucket_name: str) -> None:
        super().__init__(scope, id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=cdk.Duration.days(365),
                    noncurrent_version_expiration=cdk.Duration.days(30),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            removal_policy=RETAINED,
        )


def kms_bucket(
    scope: Construct,
    id: str,
    *,
    bucket_name: str,
    key: kms.IKey,
    access_logs: s3.IBucket,
    lifecycle_rules: list[s3.LifecycleRule],
    replication: ReplicationToRegion | None = None,
    object_lock_retention: s3.ObjectLockRetention | None = None,
) -> s3.Bucket:
    """The baseline of every bucket this app keeps data in: versioned, encrypted with ``key``
    (with an S3 Bucket Key), TLS 1.2 only, private, owner-enforced, access-logged under its own
    name, retained; replicated and Object-Locked when asked."""
    return s3.Bucket(
        scope,
        id,
        bucket_name=bucket_name,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{bucket_name}/",
        lifecycle_rules=lifecycle_rules,
        replication_role=replication.role if replication else None,
        replication_rules=[replication.rule] if replication else None,
        object_lock_enabled=True if object_lock_retention else None,
        object_lock_default_retention=object_lock_retention,
        removal_policy=RETAINED,
    )


class SecureBucket(Construct):
    """A data bucket: versioned, CMK-encrypted, TLS-only, private, access-logged, retained.

    Pass ``replication`` to replicate every object, delete marker and tag to a
    bucket in another region (see ``ReplicationToRegion``).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        key: kms.IKey,
        access_logs: s3.IBucket,
        replication: ReplicationToRegion | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.bucket = kms_bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            key=key,
            access_logs=access_logs,
            lifecycle_rules=lifecycle_rules(),
            replication=replication,
        )
        if replication:
            # S3 starts replicating as soon as the rule exists: the role's policy must be there first.
            self.bucket.node.add_dependency(replication.policy)


class ReplicationToRegion(Construct):
    """The replication role and rule from a source bucket to a bucket in another region.

    The destination bucket and its key live in another region's stack, deployed
    first; both are addressed by the names the naming convention gives them, so
    this stack holds no reference to that one. The role may only replicate
    between these two buckets and use these two keys, each through S3 only.
    """

    RULE_ID = S3_REPLICATION_RULE_ID

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        role_name: str,
        source_bucket_name: str,
        source_key: kms.IKey,
        destination_bucket_name: str,
        destination_region: str,
        destination_key_alias: str,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        if destination_region == stack.region:
            raise ValueError("ReplicationToRegion needs a destination in another region")
        partition, account = cdk.Aws.PARTITION, stack.account
        source_arn = f"arn:{partition}:s3:::{source_bucket_name}"
        self.destination_bucket_arn = f"arn:{partition}:s3:::{destination_bucket_name}"
        destination_keys = keys_of_region(destination_region, account=account, partition=partition)
        self.destination_key_alias_arn = alias_arn(
            alias=destination_key_alias, region=destination_region, account=account
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"Replicates {source_bucket_name} to {destination_bucket_name}",
        )
        self.policy = iam.Policy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadSourceReplicationConfig",
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    resources=[source_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadSourceObjectVersions",
                    actions=[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    resources=[f"{source_arn}/*"],
                ),
                iam.PolicyStatement(
                    sid="WriteDestinationReplicas",
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[f"{self.destination_bucket_arn}/*"],
                ),
                iam.PolicyStatement(
                    sid="DecryptSourceObjects",
                    actions=["kms:Decrypt"],
                    resources=[source_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"},
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [source_arn, f"{source_arn}/*"]},
                    },
                ),
                use_by_alias(
                    sid="EncryptReplicasWithDestinationKey",
                    alias=destination_key_alias,
                    region=destination_region,
                    account=account,
                    partition=partition,
                    actions=["kms:Encrypt", "kms:GenerateDataKey"],
                    via_service="s3",
                    string_like={
                        "kms:EncryptionContext:aws:s3:arn": [
                            self.destination_bucket_arn,
                            f"{self.destination_bucket_arn}/*",
                        ]
                    },
                ),
            ],
        )
        Validations.of(self.policy).acknowledge(
            nag.wildcard_resource(
                self,
                f"{source_arn}/*",
                reason="Replication reads every object version of the source bucket; the "
                "wildcard is the object part of this one bucket's ARN.",
            ),
            nag.wildcard_resource(
                self,
                f"{self.destination_bucket_arn}/*",
                reason="Replication writes every replica into the DR bucket; the wildcard is "
                "the object part of this one bucket's ARN.",
            ),
            nag.wildcard_resource(
                self,
                destination_keys,
                reason="The DR key's ID is not known in the primary region at synth; "
                "kms:ResourceAliases pins the statement to the one key with the DR alias, "
                "used only through S3 in the DR region.",
            ),
        )
        self.rule = s3.ReplicationRule(
            id=self.RULE_ID,
            priority=0,
            destination=s3.Bucket.from_bucket_arn(self, "Destination", self.destination_bucket_arn),
            kms_key=kms.Key.from_key_arn(self, "DestinationKey", self.destination_key_alias_arn),
            sse_kms_encrypted_objects=True,
            replication_time_control=s3.ReplicationTimeValue.FIFTEEN_MINUTES,
            metrics=s3.ReplicationTimeValue.FIFTEEN_MINUTES,
            delete_marker_replication=True,
        )
