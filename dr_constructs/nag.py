"""cdk-nag acknowledgements that name exactly the finding they cover."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import Acknowledgment, Validations
from aws_cdk.aws_iam import PolicyStatement
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


def acknowledge_wildcards(
    role: IConstruct, statements: Sequence[PolicyStatement], reasons: Mapping[str, str]
) -> None:
    """Acknowledge IAM5 for every wildcard resource of ``statements`` on ``role``, each with the
    reason whose marker (":kms:", ":s3:", ...) its ARN contains; a wildcard no reason covers is a
    ValueError, so a new grant cannot slip through under another grant's reason."""
    stack = cdk.Stack.of(role)
    acknowledgments = []
    for resource in sorted({r for statement in statements for r in statement.resources if "*" in r}):
        text = _as_nag_text(stack.resolve(resource))
        reason = next((why for marker, why in reasons.items() if marker in text), None)
        if reason is None:
            raise ValueError(f"{role.node.path}: no reason given for the wildcard in {text}")
        acknowledgments.append(wildcard_resource(role, resource, reason=reason))
    if acknowledgments:
        Validations.of(role).acknowledge(*acknowledgments)


def alias_pinned_key(where: str, service: str) -> str:
    """The reason for a statement on every key of a region, pinned to one by its alias."""
    return (
        f"The key's ID is not known {where} at synth; kms:ResourceAliases pins the statement to the "
        f"one key with that region's alias, used only through {service}."
    )
