from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dr_constructs import nag
from dr_constructs.network import RegionalNetwork
from dr_constructs.parameter_access import grant_parameter_read
from dr_constructs.service_function import FunctionDefaults, ServiceFunction, VpcPlacement


@dataclass(frozen=True)
class FunctionNames:
    function: str
    role: str


class OrderService(Construct):
    """One region's order-processing functions, the same in both regions.

    Each works on its own region's replica of the global table (imported by
    name, so its ARN and grants are this region's) and its own region's
    parameter path and key: the DR functions never reach into the primary.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table_name: str,
        key: kms.IKey,
        parameter_path: str,
        network: RegionalNetwork,
        defaults: FunctionDefaults,
        order: FunctionNames,
        health: FunctionNames,
        health_canary_name: str,
        order_concurrency: int,
        health_concurrency: int,
    ) -> None:
        super().__init__(scope, id)
        region = cdk.Stack.of(self).region
        self.table: dynamodb.ITableV2 = dynamodb.TableV2.from_table_name(self, "LocalReplica", table_name)
        placement = VpcPlacement(
            vpc=network.vpc, subnets=network.function_subnets, security_group=network.functions_security_group
        )
        table_environment = {"TABLE_NAME": table_name, "TABLE_REGION": region}

        self.order_function = ServiceFunction(
            self,
            "Orders",
            function_name=order.function,
            role_name=order.role,
            asset="orders",
            description="Validates orders and stores them idempotently in this region's replica",
            environment=table_environment,
            defaults=defaults,
            timeout=cdk.Duration.seconds(10),
            reserved_concurrency=order_concurrency,
            placement=placement,
        )
        self.table.grant(self.order_function.role, "dynamodb:PutItem", "dynamodb:GetItem")
        _grant_table_key(self.order_function.role, key, region)

        # Every health check reads it, so a key that stopped decrypting fails the region's health
        # even where no parameter exists to prove it. CloudFormation generates its value.
        self.health_canary = secretsmanager.Secret(
            self,
            "HealthCanary",
            secret_name=health_canary_name,
            description="A random value the health check decrypts to prove this region's key works",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=32),
            # A stack delete force-deletes it (no recovery window), so its name is free again at once.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        Validations.of(self.health_canary).acknowledge(
            nag.rule(
                "AwsSolutions-SMG4",
                reason="The health canary guards nothing: its random value is read only to prove the "
                "region's key decrypts, and a rotated value would prove nothing more.",
            )
        )
        self.health_function = ServiceFunction(
            self,
            "Health",
            function_name=health.function,
            role_name=health.role,
            asset="health",
            description="Answers 200 only while this region's table replica and parameters answer",
            environment={
                **table_environment,
                "PARAMETER_PATH": parameter_path,
                "CANARY_SECRET_ID": health_canary_name,
            },
            defaults=defaults,
            timeout=cdk.Duration.seconds(5),
            reserved_concurrency=health_concurrency,
            placement=placement,
        )
        self.table.grant(self.health_function.role, "dynamodb:DescribeTable")
        self.health_canary.grant_read(self.health_function.role)
        grant_parameter_read(self.health_function.role, path=parameter_path, key=key, region=region)
        # Public on purpose: Route 53 health checkers call it from the internet. It reveals
        # only ok/unavailable, and reserved concurrency caps what abuse can cost.
        self.health_url = self.health_function.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE
        )


def _grant_table_key(role: iam.IRole, key: kms.IKey, region: str) -> None:
    # A table imported by name knows no key, so its grants carry none.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
        )
    )
