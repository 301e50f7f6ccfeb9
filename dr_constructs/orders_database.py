from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from dr_constructs import nag
from dr_constructs.lifecycle import RETAINED
from dr_constructs.network import DATABASE_PORT, RegionalNetwork

ENGINE_VERSION = rds.PostgresEngineVersion.VER_17_9
_ADMIN_USER = "orders_admin"
LOG_EXPORTS = ("postgresql", "upgrade")


def export_log_groups(
    scope: Construct, *, instance_identifier: str, key: kms.IKey, retention: logs.RetentionDays
) -> list[logs.LogGroup]:
    """The log groups RDS exports an instance's LOG_EXPORTS to, made first so they carry the
    region's key and retention (RDS uses a group already at its name as it is), and retained."""
    return [
        logs.LogGroup(
            scope,
            f"{export.capitalize()}Logs",
            log_group_name=f"/aws/rds/instance/{instance_identifier}/{export}",
            encryption_key=key,
            retention=retention,
            removal_policy=RETAINED,
        )
        for export in LOG_EXPORTS
    ]


class OrdersDatabase(Construct):
    """PostgreSQL, Multi-AZ, in the isolated subnets of every AZ of the network.

    Credentials are generated into Secrets Manager (never into the template),
    rotated by the single-user rotation function, and replicated to the DR
    region under the DR key, so a restored database in DR can be reached with
    the same secret. Not RDS-managed master credentials: RDS owns that secret,
    and a DR copy of it cannot be kept.

    The exported PostgreSQL logs go to log groups made here, before the
    instance, so they get the key and retention of every other log group
    (left to RDS, they would be created unencrypted and kept forever).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network: RegionalNetwork,
        key: kms.IKey,
        instance_identifier: str,
        secret_name: str,
        instance_type: str,
        log_retention: logs.RetentionDays,
        replica_region: str,
        replica_key_arn: str,
    ) -> None:
        super().__init__(scope, id)
        zones = cdk.Stack.of(self).availability_zones
        subnets = network.vpc.select_subnets(subnet_group_name="database")
        if set(subnets.availability_zones) != set(zones):
            raise ValueError(f"OrdersDatabase needs a database subnet in each of {zones}")
        self.subnet_group = rds.SubnetGroup(
            self,
            "SubnetGroup",
            description=f"Isolated subnets of {instance_identifier} in every AZ",
            vpc=network.vpc,
            vpc_subnets=network.database_subnets,
            removal_policy=RETAINED,
        )
        self.log_groups = export_log_groups(
            self, instance_identifier=instance_identifier, key=key, retention=log_retention
        )
        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            instance_identifier=instance_identifier,
            engine=rds.DatabaseInstanceEngine.postgres(version=ENGINE_VERSION),
            instance_type=ec2.InstanceType(instance_type),
            vpc=network.vpc,
            subnet_group=self.subnet_group,
            security_groups=[network.database_security_group],
            port=DATABASE_PORT,
            multi_az=True,
            storage_type=rds.StorageType.GP3,
            allocated_storage=20,
            max_allocated_storage=200,
            storage_encrypted=True,
            storage_encryption_key=key,
            credentials=rds.Credentials.from_generated_secret(
                _ADMIN_USER,
                secret_name=secret_name,
                encryption_key=key,
                replica_regions=[
                    secretsmanager.ReplicaRegion(
                        region=replica_region,
                        encryption_key=kms.Key.from_key_arn(self, "ReplicaSecretKey", replica_key_arn),
                    )
                ],
            ),
            iam_authentication=True,
            deletion_protection=True,
            backup_retention=cdk.Duration.days(14),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            enable_performance_insights=True,
            performance_insight_encryption_key=key,
            monitoring_interval=cdk.Duration.seconds(60),
            cloudwatch_logs_exports=list(LOG_EXPORTS),
            publicly_accessible=False,
            removal_policy=cdk.RemovalPolicy.SNAPSHOT,
        )
        # Only the DB instance waits for them, not the secret, rotation and roles beside it.
        instance_resource = self.instance.node.default_child
        if instance_resource is None:
            raise TypeError("OrdersDatabase expected the DB instance's CloudFormation resource")
        instance_resource.node.add_dependency(*self.log_groups)
        # The secret outlives the instance: a snapshot restored (in either region) needs it.
        # instance.secret is the attachment to the instance; the secret itself is this child.
        secret = self.instance.node.find_child("Secret")
        if not isinstance(secret, rds.DatabaseSecret):
            raise TypeError(f"OrdersDatabase expected the instance's generated secret, found {secret}")
        secret.apply_removal_policy(RETAINED)
        self.secret: secretsmanager.ISecret = secret
        # The only way in: the functions' group (rotation included), both directions.
        # The rotation below asks for the same rule; CDK keeps one, as EC2 refuses duplicates.
        self.instance.connections.allow_default_port_from(
            network.functions_security_group, "PostgreSQL from the functions"
        )
        self.rotation = self.instance.add_rotation_single_user(
            automatically_after=cdk.Duration.days(30),
            vpc_subnets=network.function_subnets,
            security_group=network.functions_security_group,
            # No endpoint: the interface endpoint has private DNS, so the public Secrets Manager
            # name already resolves to it inside the VPC.
        )
        Validations.of(self.instance).acknowledge(
            nag.enhanced_monitoring_policy(),
            nag.rule(
                "AwsSolutions-RDS11",
                reason="The port is the PostgreSQL default on purpose: the database is in isolated "
                "subnets and its security group admits only the functions' group, so a custom port "
                "would add no protection.",
            ),
        )
