from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import use_key
from dr_constructs.secure_bucket import AccessLogBucket, kms_bucket

# Each kind of report under its own prefix: reports/<kind>/<yyyy>/<mm>/<dd>/<execution>.json
REPORTS_PREFIX = "reports/"


class EvidenceBucket(Construct):
    """Where every drill and game-day report is kept as JSON, unchangeable for a while.

    S3 Object Lock with a default retention locks each object version as it is written: in
    governance mode only a principal allowed s3:BypassGovernanceRetention can delete it early,
    in compliance mode no one can, the account's root user included. Object Lock needs
    versioning, which it turns on itself, and every locked upload must carry a checksum
    (Content-MD5 or an x-amz-checksum header), which the report writers send. The bucket is
    KMS-encrypted with the region's key, TLS-only, private and access-logged to a bucket of
    its own, and is retained when its stack is deleted: the evidence outlives the platform.

    Args:
        bucket_name: the evidence bucket's name.
        access_log_bucket_name: the name of the bucket its server access logs go to.
        key: the region's key; writers need GenerateDataKey on it through S3.
        retention: the default Object Lock retention, e.g. ``s3.ObjectLockRetention.governance(...)``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket_name: str,
        access_log_bucket_name: str,
        key: kms.IKey,
        retention: s3.ObjectLockRetention,
    ) -> None:
        super().__init__(scope, id)
        if bucket_name == access_log_bucket_name:
            raise ValueError("EvidenceBucket needs its access logs in a bucket of their own")
        self._key = key
        access_logs = AccessLogBucket(self, "AccessLogs", bucket_name=access_log_bucket_name)
        self.bucket = kms_bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            key=key,
            access_logs=access_logs.bucket,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
                )
            ],
            object_lock_retention=retention,
        )

    def grant_put_reports(self, role: iam.IRole, kind: str) -> None:
        """Lets ``role`` add reports of one kind (``drill``, ``gameday``) and nothing else:
        no read, no delete, no retention change."""
        if not (kind.isascii() and kind.isalnum()):
            raise ValueError(f"EvidenceBucket report kind {kind!r} must be letters and digits")
        objects = self.bucket.arn_for_objects(f"{REPORTS_PREFIX}{kind}/*")
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects]))
        role.add_to_principal_policy(use_key(self._key, ["kms:GenerateDataKey"], "s3"))
        Validations.of(role).acknowledge(
            nag.wildcard_resource(
                role,
                objects,
                reason=f"Each report is a new object under {REPORTS_PREFIX}{kind}/ of the evidence bucket; "
                "the wildcard is the object part of that one prefix.",
            )
        )
