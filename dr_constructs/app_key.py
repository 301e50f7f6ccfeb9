from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from dr_constructs.lifecycle import RETAINED
from dr_core.shared_names import RegionNames

# Administration only: whoever holds these can manage the key but cannot use it
# to read data, so account admins are never locked out of their own key.
_ADMIN_ACTIONS = [
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
    "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
    "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
]  # fmt: skip
_USE_ACTIONS = [
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
]  # fmt: skip

# The AWS services this app stores data in. Principals of the account may use
# the key only through one of them, and only with an IAM grant of their own.
APP_SERVICES = ("dynamodb", "s3", "sqs", "sns", "ssm", "secretsmanager", "rds")


def alias_arn(*, alias: str, region: str, account: str) -> str:
    """The ARN of a key alias in any region, known before the key exists.

    DynamoDB replicas and S3 replication accept it wherever they take a key ARN,
    which lets one region's stack name another region's key without a reference.
    """
    return f"arn:{cdk.Aws.PARTITION}:kms:{region}:{account}:{alias}"


class AppKey(Construct):
    """A customer-managed key for one region: rotated, aliased, usable only via the app's services."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        region: str,
        account: str,
        via_services: Sequence[str] = APP_SERVICES,
        removal_policy: cdk.RemovalPolicy = RETAINED,
    ) -> None:
        super().__init__(scope, id)
        if not alias.startswith("alias/") or alias.startswith("alias/aws"):
            raise ValueError(f"AppKey alias must start with 'alias/' and not 'alias/aws': {alias!r}")
        if not via_services:
            raise ValueError("AppKey needs at least one service it may be used through")
        account_root = iam.AccountRootPrincipal()
        via = [f"{service}.{region}.amazonaws.com" for service in via_services]
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="KeyAdministration",
                    principals=[account_root],
                    actions=_ADMIN_ACTIONS,
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="UseOnlyThroughAppServices",
                    principals=[account_root],
                    actions=_USE_ACTIONS,
                    resources=["*"],
                    conditions={"StringEquals": {"kms:CallerAccount": account, "kms:ViaService": via}},
                ),
                # DynamoDB, RDS and Lambda hold the key through grants on their own resources.
                iam.PolicyStatement(
                    sid="GrantsOnlyForAppResources",
                    principals=[account_root],
                    actions=["kms:CreateGrant"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"kms:CallerAccount": account, "kms:ViaService": via},
                        "Bool": {"kms:GrantIsForAWSResource": "true"},
                    },
                ),
            ]
        )
        self._publishers: set[str] = set()
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description=f"Encrypts the order-processing DR platform's data in {region}",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(30),
            policy=policy,
            removal_policy=removal_policy,
        )

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs encrypt this account's log groups in the key's region."""
        stack = cdk.Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )

    def allow_service_publisher(self, service_principal: str) -> None:
        """Let an AWS service that publishes into this key's topics and queues (CloudWatch
        alarms, EventBridge rules) encrypt its messages, on behalf of this account only.

        Safe to call once per consumer: each service is added once.
        """
        if service_principal in self._publishers:
            return
        self._publishers.add(service_principal)
        service = service_principal.split(".")[0].capitalize()
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{service}PublishesForThisAccount",
                principals=[iam.ServicePrincipal(service_principal)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            )
        )


def use_by_alias(
    *,
    alias: str,
    region: str,
    account: str,
    partition: str,
    actions: list[str],
    via_service: str,
    sid: str | None = None,
    string_like: dict[str, list[str]] | None = None,
) -> iam.PolicyStatement:
    """Use of the key carrying ``alias`` in ``region``, only through ``via_service``.

    For a key made by another stack: its ID is not known at synth, its alias is.
    The resource is every key of that region, pinned to the one with the alias by
    ``kms:ResourceAliases``.
    """
    conditions: dict[str, dict[str, object]] = {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": alias},
        "StringEquals": {"kms:ViaService": f"{via_service}.{region}.amazonaws.com"},
    }
    if string_like:
        conditions["StringLike"] = dict(string_like)
    return iam.PolicyStatement(
        sid=sid,
        actions=actions,
        resources=[keys_of_region(region, account=account, partition=partition)],
        conditions=conditions,
    )


def use_key(key: kms.IKey, actions: list[str], via_service: str) -> iam.PolicyStatement:
    """Use of ``key`` (of this account's stacks) only through ``via_service`` in the key's region."""
    region = cdk.Stack.of(key).region
    return iam.PolicyStatement(
        actions=actions,
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{via_service}.{region}.amazonaws.com"}},
    )


def use_region_key(
    scope: Construct, region: RegionNames, actions: list[str], via_service: str
) -> iam.PolicyStatement:
    """``use_by_alias`` of a region's app key, from a construct of this account's stacks."""
    stack = cdk.Stack.of(scope)
    return use_by_alias(
        alias=region.key_alias,
        region=region.region,
        account=stack.account,
        partition=stack.partition,
        actions=actions,
        via_service=via_service,
    )


def keys_of_region(region: str, *, account: str, partition: str) -> str:
    return f"arn:{partition}:kms:{region}:{account}:key/*"
