from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from dr_constructs import nag
from dr_constructs.lifecycle import RETAINED
from dr_constructs.network import DATABASE_PORT, RegionalNetwork
from dr_constructs.orders_database import LOG_EXPORTS, export_log_groups


class ReplicaPlacement(Construct):
    """What the DR region's read replica needs from the DR stack, made there because the replica
    deploys later, in a stack of its own: a subnet group over the isolated database subnets of
    every zone, the database port opened to the DR functions only, and the replica's log groups
    (encrypted with the DR key, which only the DR stack holds as a key). The database security
    group's ID is published under ``security_group_parameter`` for the replica stack to resolve.

    Args:
        network: the DR region's network.
        key: the DR region's key, for the log groups.
        subnet_group_name: the subnet group's name.
        security_group_parameter: the SSM parameter that names the database security group.
        replica_identifier: the replica's RDS identifier, which names its log groups.
        log_retention: how long the replica's exported logs are kept.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network: RegionalNetwork,
        key: kms.IKey,
        subnet_group_name: str,
        security_group_parameter: str,
        replica_identifier: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        self.subnet_group = rds.SubnetGroup(
            self,
            "SubnetGroup",
            subnet_group_name=subnet_group_name,
            description=f"Isolated subnets of {replica_identifier} in every AZ",
            vpc=network.vpc,
            vpc_subnets=network.database_subnets,
            removal_policy=RETAINED,
        )
        network.database_security_group.connections.allow_from(
            network.functions_security_group, ec2.Port.tcp(DATABASE_PORT), "PostgreSQL from the functions"
        )
        ssm.StringParameter(
            self,
            "SecurityGroupId",
            parameter_name=security_group_parameter,
            string_value=network.database_security_group.security_group_id,
            description=f"The security group of {replica_identifier}",
        )
        self.log_groups = export_log_groups(
            self, instance_identifier=replica_identifier, key=key, retention=log_retention
        )


class DatabaseReplica(Construct):
    """A cross-region read replica of the primary's PostgreSQL, in the DR region: encrypted with
    the DR key, in the isolated database subnets of every DR zone, reachable only from the DR
    functions' group, with deletion protection, Performance Insights, Enhanced Monitoring and the
    primary's log exports; retained. A ``ReplicaLag`` alarm watches it against the PostgreSQL RPO.

    Single-AZ by default: it is a copy, and ``./dev failover --promote-database`` makes it the
    primary; make it Multi-AZ after promotion if it is to stay one. Written with CloudFormation's
    own resource: CDK's read-replica construct wants the source and the VPC as objects of this
    stack, where a cross-region replica names its source by ARN and takes its placement from the
    DR stack.

    Args:
        source_instance_arn: the primary instance's ARN (computed from its name: no reference).
        instance_identifier: the replica's RDS identifier.
        instance_type: the replica's instance type, without ``db.``.
        subnet_group_name, security_group_parameter: what ``ReplicaPlacement`` made in the DR stack.
        key_alias_arn: the DR key, by its alias ARN (RDS accepts it for storage and Performance Insights).
        max_lag_seconds: the PostgreSQL RPO target; the lag alarm's threshold.
        alarm_name: the lag alarm's name.
        alert_topic: the DR region's alert topic.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source_instance_arn: str,
        instance_identifier: str,
        instance_type: str,
        subnet_group_name: str,
        security_group_parameter: str,
        key_alias_arn: str,
        max_lag_seconds: float,
        alarm_name: str,
        alert_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id)
        source_region = source_instance_arn.split(":")[3]
        if source_region == cdk.Stack.of(self).region:
            raise ValueError("DatabaseReplica copies a database of another region")
        monitoring_role = iam.Role(
            self,
            "MonitoringRole",
            assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonRDSEnhancedMonitoringRole")
            ],
        )
        Validations.of(monitoring_role).acknowledge(nag.enhanced_monitoring_policy())
        self.instance = rds.CfnDBInstance(
            self,
            "Instance",
            db_instance_identifier=instance_identifier,
            source_db_instance_identifier=source_instance_arn,
            source_region=source_region,
            db_instance_class=f"db.{instance_type}",
            db_subnet_group_name=subnet_group_name,
            vpc_security_groups=[
                ssm.StringParameter.value_for_string_parameter(self, security_group_parameter)
            ],
            port=str(DATABASE_PORT),
            storage_type="gp3",
            # Encrypted because its source is, under this key; CloudFormation refuses StorageEncrypted here.
            kms_key_id=key_alias_arn,
            enable_iam_database_authentication=True,
            deletion_protection=True,
            backup_retention_period=7,
            auto_minor_version_upgrade=True,
            enable_performance_insights=True,
            performance_insights_kms_key_id=key_alias_arn,
            monitoring_interval=60,
            monitoring_role_arn=monitoring_role.role_arn,
            enable_cloudwatch_logs_exports=list(LOG_EXPORTS),
            publicly_accessible=False,
            multi_az=False,
        )
        self.instance.apply_removal_policy(RETAINED)
        Validations.of(self.instance).acknowledge(
            nag.rule(
                "AwsSolutions-RDS11",
                reason="The port is the PostgreSQL default on purpose: the replica is in isolated "
                "subnets and its security group admits only the DR functions' group.",
            ),
            nag.rule(
                "AwsSolutions-RDS2",
                reason="The replica is encrypted: its source is, and KmsKeyId names the DR key; "
                "CloudFormation refuses StorageEncrypted next to SourceDBInstanceIdentifier (F3020).",
            ),
            nag.rule(
                "AwsSolutions-RDS3",
                reason="A read replica that exists to be promoted in a disaster; one AZ keeps the DR "
                "region's idle cost down, and the promoted instance can be made Multi-AZ then.",
            ),
        )
        self.lag_alarm = cw.Alarm(
            self,
            "ReplicaLag",
            alarm_name=alarm_name,
            alarm_description=f"{instance_identifier} lags the primary by over {max_lag_seconds:g} s "
            "(the PostgreSQL RPO target)",
            metric=replica_lag(instance_identifier),
            threshold=max_lag_seconds,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            # A replica that reports nothing is not replicating: that is the alarm's business too.
            treat_missing_data=cw.TreatMissingData.BREACHING,
        )
        notify = cw_actions.SnsAction(alert_topic)
        self.lag_alarm.add_alarm_action(notify)
        self.lag_alarm.add_ok_action(notify)


def replica_lag(instance_identifier: str) -> cw.Metric:
    """RDS publishes a replica's lag behind its source in the replica's region, in seconds."""
    return cw.Metric(
        namespace="AWS/RDS",
        metric_name="ReplicaLag",
        dimensions_map={"DBInstanceIdentifier": instance_identifier},
        statistic="Maximum",
        period=cdk.Duration.minutes(1),
    )
