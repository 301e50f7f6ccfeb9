from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import use_key
from dr_constructs.network import RegionalNetwork
from dr_constructs.parameter_access import grant_parameter_read
from dr_constructs.service_function import FunctionDefaults, ServiceFunction, VpcPlacement


class OrderService(Construct):
    """One region's order function: the order routes and the deep health route behind the
    regional API, the same in both regions.

    It works on its own region's replica of the global table (imported by name, so its ARN
    and grants are this region's), its own region's parameter path and its own region's key:
    the DR function never reaches into the primary. Its health route proves what an order
    needs: the table's read path (through the fence items it reads), the key's decrypt path
    (through the region's health canary, a secret CloudFormation generates) and the replicated
    parameters.

    Args:
        table_name: the global table's name (the same in every region).
        key: this region's key (the table replica's, the canary's).
        parameter_path: this region's parameter path (the DR one holds the replicated copies).
        network: the region's network; the function runs in its function subnets.
        defaults: what every function of this region shares.
        function_name, role_name: physical names of the function and its role.
        canary_name: the health canary secret's name.
        app_regions: every region of the app, whose fences the health route reports.
        health_path: the health route's path, for the function to route it.
        reserved_concurrency: executions reserved for the function; 0 (the default) reserves none.
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
        function_name: str,
        role_name: str,
        canary_name: str,
        app_regions: Sequence[str],
        health_path: str,
        reserved_concurrency: int = 0,
    ) -> None:
        super().__init__(scope, id)
        region = cdk.Stack.of(self).region
        if region not in app_regions:
            raise ValueError(f"OrderService in {region} must be one of the app regions {list(app_regions)}")
        self.table: dynamodb.ITableV2 = dynamodb.TableV2.from_table_name(self, "LocalReplica", table_name)
        # Every health check reads it, so a key that stopped decrypting fails the region's health
        # even where no parameter exists to prove it. CloudFormation generates its value.
        self.health_canary = secretsmanager.Secret(
            self,
            "HealthCanary",
            secret_name=canary_name,
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
        self.function = ServiceFunction(
            self,
            "Orders",
            function_name=function_name,
            role_name=role_name,
            asset="orders",
            description="Orders and the region's deep health check, on this region's replica",
            environment={
                "TABLE_NAME": table_name,
                "TABLE_REGION": region,
                "PARAMETER_PATH": parameter_path,
                "CANARY_SECRET_ID": canary_name,
                "APP_REGIONS": ",".join(app_regions),
                "HEALTH_PATH": health_path,
            },
            defaults=defaults,
            timeout=cdk.Duration.seconds(10),
            reserved_concurrency=reserved_concurrency,
            placement=VpcPlacement(
                vpc=network.vpc,
                subnets=network.function_subnets,
                security_group=network.functions_security_group,
            ),
        )
        role = self.function.role
        # BatchGetItem reads the fences for the health route; the rest is the order path.
        self.table.grant(role, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:BatchGetItem")
        # A table imported by name knows no key, so its grants carry none.
        role.add_to_principal_policy(
            use_key(key, ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "dynamodb")
        )
        self.health_canary.grant_read(role)
        grant_parameter_read(role, path=parameter_path, key=key, region=region)
