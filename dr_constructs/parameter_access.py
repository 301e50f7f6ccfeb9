from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from dr_constructs import nag
from dr_constructs.app_key import use_key

READ_ACTIONS = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]


def parameter_arns(path: str, *, region: str, account: str, partition: str) -> list[str]:
    """The ARNs that cover a parameter path: the path itself (for GetParametersByPath)
    and every parameter below it."""
    if not (path.startswith("/") and path.endswith("/")):
        raise ValueError(f"parameter path must start and end with '/': {path!r}")
    base = f"arn:{partition}:ssm:{region}:{account}:parameter{path.rstrip('/')}"
    return [base, f"{base}/*"]


def grant_parameter_read(role: iam.IRole, *, path: str, key: kms.IKey, region: str) -> None:
    """Read (and decrypt) the parameters below ``path`` in ``region``, and nothing else.

    The key may decrypt only through SSM, so the grant cannot be used to decrypt
    anything else the key protects.
    """
    stack = cdk.Stack.of(role)
    path_arn, below_path = parameter_arns(
        path, region=region, account=stack.account, partition=stack.partition
    )
    role.add_to_principal_policy(iam.PolicyStatement(actions=READ_ACTIONS, resources=[path_arn, below_path]))
    Validations.of(role).acknowledge(
        nag.wildcard_resource(
            role,
            below_path,
            reason="The function reads whatever operators keep below its region's one parameter "
            "path of the naming convention, and nothing outside it.",
        )
    )
    role.add_to_principal_policy(use_key(key, ["kms:Decrypt"], "ssm"))
