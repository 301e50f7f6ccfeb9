"""(d) The public hosted zone of the domain, and its delegation as public resolvers see it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from botocore.stub import Stubber

from dr_core.config import AppConfig
from dr_ops.assembly import CloudAssembly
from dr_ops.aws import AwsClients
from dr_ops.checks import Status
from dr_ops.checks.hosted_zone import HostedZone, delegation_check, zone_check
from dr_ops.stack_resources import StackResources
from tests.ops.helpers import (
    DOMAIN,
    MOTO_NAME_SERVERS,
    FakeResolver,
    assembly,
    config,
    delegated_to,
    run,
    stack,
    zone_template,
)

DNS = stack("Dns", "us-east-1", zone_template())
APP_ZONE = assembly(DNS)  # the app creates the zone: its Dns stack declares it
GIVEN_ZONE = assembly()  # hostedZoneId: no zone stack


def with_zone_id(zone_id: str) -> AppConfig:
    # moto's zone IDs do not look like Route 53's (Z...), which the config refuses: set it directly.
    base = config()
    return dataclasses.replace(base, traffic=dataclasses.replace(base.traffic, hosted_zone_id=zone_id))


def create_zone(aws: AwsClients, name: str = DOMAIN, **options: object) -> str:
    answer = aws.client("route53", "us-east-1").create_hosted_zone(Name=name, CallerReference=name, **options)
    return str(answer["HostedZone"]["Id"]).removeprefix("/hostedzone/")


def deploy_dns_stack(aws: AwsClients) -> str:
    """The Dns stack as CloudFormation (moto) deploys it; returns the zone ID it holds."""
    cloudformation = aws.client("cloudformation", "us-east-1")
    cloudformation.create_stack(StackName=DNS.stack_name, TemplateBody=json.dumps(DNS.template))
    detail = cloudformation.describe_stack_resource(StackName=DNS.stack_name, LogicalResourceId="Zone")
    return str(detail["StackResourceDetail"]["PhysicalResourceId"])


def zone(aws: AwsClients, app_config: AppConfig, app: CloudAssembly) -> HostedZone:
    return HostedZone(aws, app_config, app, StackResources(aws))


def test_a_given_public_zone_of_the_domain_passes(aws: AwsClients) -> None:
    # Given hostedZoneId naming a public zone of the domain
    zone_id = create_zone(aws)

    # When the zone is checked
    result = run(zone_check(zone(aws, with_zone_id(zone_id), GIVEN_ZONE)))

    # Then it passes
    assert result.status is Status.PASS
    assert result.outcome.found == f"{zone_id} {DOMAIN}. public (hostedZoneId)"


def test_a_given_zone_id_that_does_not_exist_fails(aws: AwsClients) -> None:
    # Given hostedZoneId naming no zone of this account
    # When the zone is checked
    result = run(zone_check(zone(aws, with_zone_id("Z0000000000000000000"), GIVEN_ZONE)))

    # Then it fails, and the fix says how to find the right ID or let the app create the zone
    assert result.status is Status.FAIL
    assert "does not exist" in result.outcome.found
    assert f"list-hosted-zones-by-name --dns-name {DOMAIN}" in result.outcome.fix


def test_a_given_private_zone_fails(aws: AwsClients) -> None:
    # Given hostedZoneId naming a private zone of the domain
    vpc = aws.client("ec2", "us-east-1").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zone_id = create_zone(
        aws, VPC={"VPCRegion": "us-east-1", "VPCId": vpc}, HostedZoneConfig={"PrivateZone": True}
    )

    # When the zone is checked
    result = run(zone_check(zone(aws, with_zone_id(zone_id), GIVEN_ZONE)))

    # Then it fails: ACM validates certificates through public DNS
    assert result.status is Status.FAIL
    assert "is private" in result.outcome.found


def test_a_given_zone_of_another_domain_fails(aws: AwsClients) -> None:
    # Given hostedZoneId naming the zone of another domain
    zone_id = create_zone(aws, "shop.internal.test")

    # When the zone is checked
    result = run(zone_check(zone(aws, with_zone_id(zone_id), GIVEN_ZONE)))

    # Then it fails naming both
    assert result.status is Status.FAIL
    assert result.outcome.found == f"{zone_id} is the zone of shop.internal.test., not of {DOMAIN}"


def test_no_zone_yet_is_pending_not_failed(aws: AwsClients) -> None:
    # Given no hostedZoneId and no zone of the domain yet
    hosted = zone(aws, config(), APP_ZONE)

    # When the zone and its delegation are checked
    results = [run(zone_check(hosted)), run(delegation_check(hosted, delegated_to(MOTO_NAME_SERVERS)))]

    # Then both are pending: ./dev deploy creates the zone first
    assert [r.status for r in results] == [Status.PENDING, Status.PENDING]
    assert f"./dev deploy creates it first (stack {DNS.stack_name})" in results[0].outcome.found


def test_the_next_zone_alphabetically_is_not_taken_for_the_domains(aws: AwsClients) -> None:
    # Given no zone of the domain, so ListHostedZonesByName starts at the next name in its order
    # (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZonesByName.html).
    # moto returns nothing instead of that next zone, so Route 53's answer is stubbed.
    route53 = aws.client("route53", "us-east-1")
    next_zone = {
        "Id": "/hostedzone/ZNEXT",
        "Name": "shop.internal.test.",
        "CallerReference": "x",
        "Config": {"PrivateZone": False},
    }
    answer = {"HostedZones": [next_zone], "DNSName": f"{DOMAIN}.", "IsTruncated": False, "MaxItems": "100"}
    with Stubber(route53) as stubber:
        stubber.add_response("list_hosted_zones_by_name", answer, {"DNSName": f"{DOMAIN}."})

        # When the zone is checked
        result = run(zone_check(HostedZone(aws, config(), assembly(), StackResources(aws))))

    # Then the domain has no zone yet: pending, and the other zone is not mentioned
    assert result.status is Status.PENDING
    assert "ZNEXT" not in result.outcome.found


def test_the_zone_of_the_deployed_dns_stack_passes(aws: AwsClients) -> None:
    # Given the Dns stack deployed, holding the domain's zone
    zone_id = deploy_dns_stack(aws)

    # When the zone is checked
    result = run(zone_check(zone(aws, config(), APP_ZONE)))

    # Then it passes, naming the zone and its stack
    assert result.status is Status.PASS
    assert result.outcome.found == f"{zone_id} {DOMAIN}. public, in stack {DNS.stack_name}"


def test_a_zone_of_the_domain_outside_the_dns_stack_fails(aws: AwsClients) -> None:
    # Given a public zone of the domain that the (undeployed) Dns stack does not hold
    zone_id = create_zone(aws)

    # When the zone is checked
    result = run(zone_check(zone(aws, config(), APP_ZONE)))

    # Then it fails: the app would create a second zone of that name, and nobody delegates to that one
    assert result.status is Status.FAIL
    assert "exists outside stack" in result.outcome.found
    assert result.outcome.fix.startswith(f"use it: -c hostedZoneId={zone_id}")


def test_resolvers_answering_the_zones_name_servers_pass(aws: AwsClients) -> None:
    # Given the deployed zone, and resolvers answering its name servers in upper case with root dots
    deploy_dns_stack(aws)
    resolver = delegated_to(frozenset(f"{name.upper()}." for name in MOTO_NAME_SERVERS))

    # When the delegation is checked
    result = run(delegation_check(zone(aws, config(), APP_ZONE), resolver))

    # Then it passes: names compare case-insensitively, trailing dots ignored; all three were asked
    assert result.status is Status.PASS
    assert [asked for asked, _ in resolver.asked] == ["8.8.8.8", "1.1.1.1", "9.9.9.9"]
    assert {domain for _, domain in resolver.asked} == {DOMAIN}


@pytest.mark.parametrize(
    "answer",
    [
        "NXDOMAIN",
        frozenset({"ns-1.example-registrar.net"}),
        MOTO_NAME_SERVERS | {"ns-old.example-registrar.net"},
    ],
    ids=["not delegated", "delegated elsewhere", "one name server too many"],
)
def test_a_resolver_not_answering_exactly_the_zones_name_servers_fails(
    aws: AwsClients, answer: frozenset[str] | str
) -> None:
    # Given the deployed zone, and 1.1.1.1 answering something else than its name servers
    deploy_dns_stack(aws)
    resolver = FakeResolver({"1.1.1.1": answer}, default=MOTO_NAME_SERVERS)

    # When the delegation is checked
    result = run(delegation_check(zone(aws, config(), APP_ZONE), resolver))

    # Then it fails, reporting each resolver's answer, and the fix lists the NS records to create
    assert result.status is Status.FAIL
    assert "8.8.8.8: ns-2048.awsdns-64.com, " in result.outcome.found
    assert "; 1.1.1.1: " in result.outcome.found
    assert f"{DOMAIN}. NS ns-2051.awsdns-67.co.uk." in result.outcome.fix


def test_the_delegation_is_skipped_when_the_zone_check_failed(aws: AwsClients) -> None:
    # Given a hostedZoneId of no zone
    hosted = zone(aws, with_zone_id("Z0000000000000000000"), GIVEN_ZONE)

    # When the delegation is checked
    result = run(delegation_check(hosted, delegated_to(MOTO_NAME_SERVERS)))

    # Then it is skipped: there are no name servers to compare with
    assert result.status is Status.SKIP
