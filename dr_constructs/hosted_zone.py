from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct

from dr_constructs.deploy_time_lookup import DeployTimeLookup
from dr_core.config import GLOBAL_REGION


def hosted_zone(
    scope: Construct,
    id: str,
    *,
    domain: str,
    zone_id: str,
    zone_id_parameter: str,
    log_key: kms.IKey,
    log_retention: logs.RetentionDays,
) -> route53.IHostedZone:
    """The hosted zone of ``domain`` as seen from any stack, without a synth-time lookup.

    With ``zone_id`` (an existing zone) it is imported as is. Without one, the app's DNS
    stack created the zone and wrote its ID to ``zone_id_parameter`` (an SSM String in
    us-east-1), which is read at deploy time by that exact name: a missing parameter fails
    the deploy, where a search of zones by name could return another zone (Route 53's
    ListHostedZonesByName starts at the name and goes on alphabetically). ``log_key`` and
    ``log_retention`` are for the lookup's provider function.
    """
    if zone_id:
        return route53.HostedZone.from_hosted_zone_attributes(
            scope, id, hosted_zone_id=zone_id, zone_name=domain
        )
    lookup = DeployTimeLookup.ssm_parameter(
        scope,
        f"{id}Lookup",
        name=zone_id_parameter,
        region=GLOBAL_REGION,
        log_key=log_key,
        log_retention=log_retention,
    )
    return route53.HostedZone.from_hosted_zone_attributes(
        scope, id, hosted_zone_id=lookup.value, zone_name=domain
    )
