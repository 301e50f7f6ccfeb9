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
    },
    "dr": {
        "Key9BCD29C7": "AWS::KMS::Key",
        "ReplicaDataBucketCA4833BA": "AWS::S3::Bucket",
        "AccessLogsBucketCD784A59": "AWS::S3::Bucket",
    },
}


@pytest.mark.parametrize("stack", sorted(PINNED))
def test_stateful_resources_keep_their_logical_ids(request, stack):
    resources = request.getfixturevalue(stack).to_json()["Resources"]
    stateful = {
        logical_id: r["Type"]
        for logical_id, r in resources.items()
        if r["Type"] in {"AWS::KMS::Key", "AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket"}
    }
    assert stateful == PINNED[stack]
