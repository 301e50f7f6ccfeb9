from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_constructs.app_key import alias_arn
from dr_constructs.database_replica import DatabaseReplica
from dr_core.config import AppConfig
from dr_core.shared_names import SharedNames


class DatabaseReplicaStack(cdk.Stack):
    """The DR region's read replica of the primary's PostgreSQL and its lag alarm.

    A stack of its own because of the deploy order: the DR stack deploys before the primary (the
    primary replicates into its key and bucket), and a replica needs its source to exist. Its
    placement (subnet group, security group, log groups) comes from the DR stack by name.
    """

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames) -> None:
        here = config.dr.name
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=config.account, region=here),
            stack_name=names.database_replica_stack,
            description="Order-processing DR platform: the PostgreSQL read replica in the DR region",
        )
        partition, account = self.partition, config.account
        self.replica = DatabaseReplica(
            self,
            "Replica",
            source_instance_arn=(
                f"arn:{partition}:rds:{config.primary.name}:{account}:db:{names.database_instance}"
            ),
            instance_identifier=names.database_replica,
            instance_type=config.replica_instance_type,
            subnet_group_name=names.database_replica_subnet_group,
            security_group_parameter=names.database_replica_security_group_parameter,
            key_alias_arn=alias_arn(alias=names.dr.key_alias, region=here, account=account),
            max_lag_seconds=config.monitoring.rpo_targets["postgres"],
            alarm_name=names.database_replica_lag_alarm,
            alert_topic=sns.Topic.from_topic_arn(
                self, "Alerts", names.dr.topic_arn(account=account, partition=partition)
            ),
        )
        cdk.CfnOutput(self, "ReplicaIdentifier", value=names.database_replica)
