"""nag.acknowledge_wildcards: a wildcard no reason covers stops synth (that every finding of the app
is acknowledged with a specific reason is the gate in tests/test_gates.py)."""

from __future__ import annotations

import pytest
from aws_cdk import aws_iam as iam

from dr_constructs import nag
from tests.conftest import bare_stack

QUEUES = "arn:aws:sqs:us-east-1:123456789012:*"


def _role(config) -> iam.Role:
    return iam.Role(bare_stack(config), "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))


def test_a_wildcard_no_reason_covers_is_refused(config):
    # Given a role whose grants hold a queue wildcard, and reasons for S3 only
    role = _role(config)
    statements = [iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[QUEUES])]
    # Then it is refused, naming the wildcard
    with pytest.raises(ValueError, match="no reason given for the wildcard in arn:aws:sqs"):
        nag.acknowledge_wildcards(role, statements, {":s3:": "canaries under canary/ of one bucket"})
