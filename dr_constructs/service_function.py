from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from dr_constructs import nag
from dr_core.config import LOG_RETENTION_DAYS
from dr_core.telemetry import METRICS_NAMESPACE

LAMBDA_ROOT = Path(__file__).resolve().parents[1] / "lambda"
RUNTIME = lambda_.Runtime.PYTHON_3_14
# AWS publishes the Powertools layer from this account in every commercial region.
_POWERTOOLS_PUBLISHER = "017000801446"


def log_retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs' retention for a number of days; the enum lists the same values in order."""
    finite = [r for r in logs.RetentionDays if r is not logs.RetentionDays.INFINITE]
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"CloudWatch Logs cannot keep logs for {days} days")
    return finite[LOG_RETENTION_DAYS.index(days)]


@dataclass(frozen=True)
class FunctionDefaults:
    """What every function of one region shares."""

    log_key: kms.IKey
    log_retention: logs.RetentionDays
    powertools_layer_version: int


@dataclass(frozen=True)
class VpcPlacement:
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup


class ServiceFunction(Construct):
    """A Python function of this app: its own least-privilege role, a KMS-encrypted
    log group with retention, Powertools from the public layer, active tracing.

    Code is the asset folder ``lambda/<asset>``, packaged as is (no Docker).
    The role starts with only logging, tracing and (in a VPC) ENI rights;
    everything else is granted by the construct that knows what the code calls.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function_name: str,
        role_name: str,
        asset: str,
        description: str,
        environment: Mapping[str, str],
        defaults: FunctionDefaults,
        timeout: cdk.Duration,
        reserved_concurrency: int = 0,
        memory_size: int = 256,
        entry_point: str = "lambda_handler",
        placement: VpcPlacement | None = None,
    ) -> None:
        super().__init__(scope, id)
        code_folder = LAMBDA_ROOT / asset
        if not (code_folder / "handler.py").is_file():
            raise ValueError(f"ServiceFunction asset {asset!r} has no handler.py in {code_folder}")
        if reserved_concurrency < 0:
            raise ValueError("ServiceFunction reserved_concurrency must be 0 (none) or more")
        stack = cdk.Stack.of(self)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=defaults.log_key,
            retention=defaults.log_retention,
            # Logs expire by retention anyway; a retained group would block a redeploy.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {function_name}",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        if placement:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ManageOwnNetworkInterfaces",
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
        layer_arn = (
            f"arn:{stack.partition}:lambda:{stack.region}:{_POWERTOOLS_PUBLISHER}:layer:"
            f"AWSLambdaPowertoolsPythonV3-python314-x86_64:{defaults.powertools_layer_version}"
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=f"handler.{entry_point}",
            code=lambda_.Code.from_asset(str(code_folder), exclude=["__pycache__", "*.pyc"]),
            layers=[lambda_.LayerVersion.from_layer_version_arn(self, "Powertools", layer_arn)],
            role=self.role,
            environment={
                "POWERTOOLS_SERVICE_NAME": asset,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
                **environment,
            },
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency or None,
            vpc=placement.vpc if placement else None,
            vpc_subnets=placement.subnets if placement else None,
            security_groups=[placement.security_group] if placement else None,
        )
        unscoped = "X-Ray's trace actions" + (" and Lambda's ENI management actions" if placement else "")
        Validations.of(self.role).acknowledge(
            nag.wildcard_resource(self, "*", reason=f"{unscoped} support no resource-level permissions.")
        )
