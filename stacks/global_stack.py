from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from dr_constructs.replication_dashboard import ReplicationDashboard
from dr_constructs.secure_bucket import ReplicationToRegion
from dr_core.config import AppConfig
from dr_core.shared_names import SharedNames


class GlobalStack(cdk.Stack):
    """What belongs to neither region: the cross-region dashboard (and, later, the
    Route 53 failover alarms, whose metrics exist only in us-east-1)."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames) -> None:
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=config.account, region=config.global_region),
            stack_name=names.global_stack,
            description="Order-processing DR platform: global view across both regions",
        )
        self.dashboard = ReplicationDashboard(
            self,
            "Replication",
            dashboard_name=names.dashboard,
            table_name=names.orders_table,
            primary_region=config.primary.name,
            dr_region=config.dr.name,
            source_bucket=names.primary.data_bucket,
            destination_bucket=names.dr.data_bucket,
            replication_rule_id=ReplicationToRegion.RULE_ID,
        )
        cdk.CfnOutput(
            self,
            "DashboardUrl",
            value=(
                f"https://{config.global_region}.console.aws.amazon.com/cloudwatch/home"
                f"?region={config.global_region}#dashboards:name={names.dashboard}"
            ),
        )
