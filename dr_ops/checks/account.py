"""(a) The caller, its regions and the configured availability zones."""

from __future__ import annotations

import json
from collections.abc import Iterable

from dr_core.config import AppConfig, RegionConfig
from dr_ops.aws import AwsClients
from dr_ops.checks import Check, Outcome, failed, passed

# DescribeRegions answers for every region from any one; this one exists in every account.
_REGIONS_ENDPOINT = "us-east-1"
_ENABLED = ("opt-in-not-required", "opted-in")


def account_check(aws: AwsClients, config: AppConfig) -> Check:
    def run() -> Outcome:
        identity = aws.client("sts", _REGIONS_ENDPOINT).get_caller_identity()
        account, arn = str(identity["Account"]), str(identity["Arn"])
        if account == config.account:
            return passed(f"caller {arn} is in {account}, the context account")
        return failed(
            f"caller {arn} is in {account}; context 'account' is {config.account}",
            f"use credentials for {config.account} (AWS_PROFILE or --profile), "
            f"or deploy into this one with -c account={account}",
        )

    return Check("account", run)


def region_checks(aws: AwsClients, regions: Iterable[str]) -> list[Check]:
    return [_region_check(aws, region) for region in regions]


def _region_check(aws: AwsClients, region: str) -> Check:
    def run() -> Outcome:
        # AllRegions: without it a disabled region is simply left out of the answer.
        answer = aws.client("ec2", _REGIONS_ENDPOINT).describe_regions(AllRegions=True, RegionNames=[region])
        status = next((str(r.get("OptInStatus")) for r in answer["Regions"] if r["RegionName"] == region), "")
        if status in _ENABLED:
            return passed(f"enabled ({status})")
        return failed(
            f"not enabled for the account ({status or 'unknown to EC2'})",
            f"enable it: aws account enable-region --region-name {region}, and wait until it is ENABLED",
        )

    return Check(f"region {region}", run)


def zone_checks(aws: AwsClients, config: AppConfig) -> list[Check]:
    return [_zone_check(aws, region) for region in (config.primary, config.dr)]


def _zone_check(aws: AwsClients, region: RegionConfig) -> Check:
    def run() -> Outcome:
        zones = aws.client("ec2", region.name).describe_availability_zones()["AvailabilityZones"]
        states = {str(zone["ZoneName"]): str(zone["State"]) for zone in zones}
        problems = [
            f"{name} {states.get(name, 'does not exist')}"
            for name in region.availability_zones
            if states.get(name) != "available"
        ]
        if not problems:
            return passed(f"{', '.join(region.availability_zones)} available")
        usable = sorted(name for name, state in states.items() if state == "available")
        return failed(
            "; ".join(problems),
            f'name zones that exist in context availabilityZones (cdk.json or -c), e.g. "{region.name}": '
            f"{json.dumps(usable)}",
        )

    return Check(f"zones {region.name}", run)
