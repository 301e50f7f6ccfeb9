from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from constructs import Construct

from dr_constructs.deploy_time_lookup import DeployTimeLookup


def hosted_zone(scope: Construct, id: str, *, domain: str, zone_id: str) -> route53.IHostedZone:
    """The hosted zone of ``domain`` as seen from any stack, without a synth-time lookup.

    With ``zone_id`` (an existing zone) it is imported as is. Without one, the
    app's DNS stack created the zone before this stack deploys, and its generated
    ID is read by name at deploy time. Give ``hostedZoneId`` when the account
    holds another zone of the same name (a private one, say).
    """
    if zone_id:
        return route53.HostedZone.from_hosted_zone_attributes(
            scope, id, hosted_zone_id=zone_id, zone_name=domain
        )
    lookup = DeployTimeLookup(
        scope,
        f"{id}Lookup",
        service="Route53",
        action="listHostedZonesByName",
        parameters={"DNSName": f"{domain}.", "MaxItems": "1"},
        output_path="HostedZones.0.Id",
        permissions=[iam.PolicyStatement(actions=["route53:ListHostedZonesByName"], resources=["*"])],
    )
    lookup.acknowledge_unscoped(
        "route53:ListHostedZonesByName supports no resource-level permissions; the call is read-only "
        "and returns only the ID of the zone the DNS stack created."
    )
    # Route 53 answers "/hostedzone/Z123...": the ID is the last part.
    found_id = cdk.Fn.select(2, cdk.Fn.split("/", lookup.value))
    return route53.HostedZone.from_hosted_zone_attributes(
        scope, id, hosted_zone_id=found_id, zone_name=domain
    )
