from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from dr_constructs.lifecycle import RETAINED
from dr_core.config import AppConfig
from dr_core.shared_names import SharedNames


class DnsStack(cdk.Stack):
    """The public hosted zone of ``domain``, when the app creates it (no ``hostedZoneId``).

    Deployed first: both regions validate their certificates in it. Retained on
    delete, because its name servers are what the parent domain delegates to.
    """

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames) -> None:
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=config.account, region=config.global_region),
            stack_name=names.dns_stack,
            description="Order-processing DR platform: the public hosted zone",
        )
        self.zone = route53.PublicHostedZone(
            self, "Zone", zone_name=config.domain, comment="Order-processing DR platform"
        )
        self.zone.apply_removal_policy(RETAINED)
        # The other stacks read the zone's ID by this exact name at deploy time.
        ssm.StringParameter(
            self,
            "ZoneIdParameter",
            parameter_name=names.hosted_zone_id_parameter,
            string_value=self.zone.hosted_zone_id,
            description=f"ID of the public hosted zone of {config.domain}, made by this stack",
        )
        cdk.CfnOutput(
            self,
            "NameServers",
            value=cdk.Fn.join(",", self.zone.hosted_zone_name_servers or []),
            description=f"Delegate {config.domain} to these from its parent zone or registrar",
        )
