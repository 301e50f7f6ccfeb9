"""EvidenceBucket: the drill's and game day's reports under S3 Object Lock, encrypted, TLS-only,
private, access-logged and retained; writers may add reports of their kind and nothing else."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from dr_constructs.evidence_bucket import EvidenceBucket
from tests.cfn import at_path, render
from tests.conftest import bare_stack, masked

BUCKET = "dev-us-west-2-drevidence-123456789012-v1"
LOGS = "dev-us-west-2-drevidencelogs-123456789012-v1"


def _evidence(stack: cdk.Stack, retention: s3.ObjectLockRetention) -> EvidenceBucket:
    return EvidenceBucket(
        stack,
        "Evidence",
        bucket_name=BUCKET,
        access_log_bucket_name=LOGS,
        key=kms.Key(stack, "Key"),
        retention=retention,
    )


@pytest.fixture(scope="module")
def template(config) -> Template:
    # Given an evidence bucket that keeps reports for a year in governance mode, and a writer
    stack = bare_stack(config, "us-west-2")
    evidence = _evidence(stack, s3.ObjectLockRetention.governance(cdk.Duration.days(365)))
    writer = iam.Role(stack, "Writer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    evidence.grant_put_reports(writer, "gameday")
    return Template.from_stack(stack)


def _bucket(template: Template) -> dict:
    (_, bucket) = at_path(template, "Test/Evidence/Bucket/Resource")
    return bucket


def test_every_report_is_locked_by_default_for_the_retention(template):
    # Then Object Lock is on with a default retention, so each report is locked as it lands
    properties = _bucket(template)["Properties"]
    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}


def test_compliance_mode_is_passed_through(config):
    # Given an evidence bucket in compliance mode for 30 days
    stack = bare_stack(config, "us-west-2")
    _evidence(stack, s3.ObjectLockRetention.compliance(cdk.Duration.days(30)))
    # Then the default retention says so
    Template.from_stack(stack).has_resource_properties(
        "AWS::S3::Bucket",
        {"ObjectLockConfiguration": {"Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}}},
    )


def test_the_bucket_is_encrypted_private_and_logged_to_its_own_log_bucket(template):
    properties = _bucket(template)["Properties"]
    # Then it is encrypted with the key, blocks public access, and logs to its log bucket
    (key_id, _) = at_path(template, "Test/Key/Resource")
    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert all(properties["PublicAccessBlockConfiguration"].values())
    (logs_id, logs) = at_path(template, "Test/Evidence/AccessLogs/Bucket/Resource")
    assert logs["Properties"]["BucketName"] == LOGS
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logs_id},
        "LogFilePrefix": f"{BUCKET}/",
    }


def test_the_bucket_refuses_plain_http(template):
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )


def test_the_evidence_outlives_its_stack(template):
    # Then a stack delete keeps it (removed only when its first create rolls back)
    bucket = _bucket(template)
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_a_writer_may_put_its_kind_of_report_and_nothing_else(template):
    # Then the writer may put objects under reports/gameday/ and use the key through S3 only
    (bucket_id, _) = at_path(template, "Test/Evidence/Bucket/Resource")
    (key_id, _) = at_path(template, "Test/Key/Resource")
    (_, policy) = at_path(template, "Test/Writer/DefaultPolicy/Resource")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Action"], render(s["Resource"])) for s in statements] == [
        ("s3:PutObject", f"<{bucket_id}.Arn>/reports/gameday/*"),
        ("kms:GenerateDataKey", f"<{key_id}.Arn>"),
    ]
    assert statements[1]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}}


def test_access_logs_in_the_evidence_bucket_itself_are_refused(config):
    stack = bare_stack(config, "us-west-2")
    with pytest.raises(ValueError, match="bucket of their own"):
        EvidenceBucket(
            stack,
            "Evidence",
            bucket_name=BUCKET,
            access_log_bucket_name=BUCKET,
            key=kms.Key(stack, "Key"),
            retention=s3.ObjectLockRetention.governance(cdk.Duration.days(1)),
        )


@pytest.mark.parametrize("kind", ["", "game-day", "../drill"])
def test_a_report_kind_that_is_not_one_word_is_refused(config, kind):
    stack = bare_stack(config, "us-west-2")
    evidence = _evidence(stack, s3.ObjectLockRetention.governance(cdk.Duration.days(1)))
    writer = iam.Role(stack, "Writer", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    with pytest.raises(ValueError, match="letters and digits"):
        evidence.grant_put_reports(writer, kind)


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
