"""cdk-nag acknowledgements that name exactly the finding they cover."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import Acknowledgment
from constructs import IConstruct


def _as_nag_text(value: Any) -> str:
    # cdk-nag prints intrinsics in finding IDs as <AWS::Partition> and <LogicalId.Attr>.
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_as_nag_text(part) for part in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    raise ValueError(f"cannot render {value!r} as cdk-nag text")


def wildcard_resource(scope: IConstruct, resource: str, *, reason: str) -> Acknowledgment:
    """Acknowledge AwsSolutions-IAM5 for one wildcard resource, as it appears in the template."""
    rendered = _as_nag_text(cdk.Stack.of(scope).resolve(resource))
    return Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Resource::{rendered}]", reason=reason)


def wildcard_action(action: str, *, reason: str) -> Acknowledgment:
    return Acknowledgment(id=f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]", reason=reason)


def rule(rule_id: str, *, reason: str) -> Acknowledgment:
    return Acknowledgment(id=f"AwsSolutions::{rule_id}", reason=reason)


def cdk_key_grant_wildcards(grant: str) -> list[Acknowledgment]:
    """CDK's grants on a CMK-encrypted queue or topic add kms:ReEncrypt* and
    kms:GenerateDataKey* on that one key; ``grant`` names which grant it was."""
    return [
        wildcard_action(
            action,
            reason=f"CDK's {grant} includes it, on the one customer-managed key of that queue or topic.",
        )
        for action in ("kms:ReEncrypt*", "kms:GenerateDataKey*")
    ]


def enhanced_monitoring_policy() -> Acknowledgment:
    """RDS Enhanced Monitoring's role, which needs exactly AWS's managed policy for it."""
    return rule(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        reason="Enhanced Monitoring's role needs exactly the AWS-maintained policy for it; it "
        "only writes OS metrics to the RDSOSMetrics log group.",
    )
