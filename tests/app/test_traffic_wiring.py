"""Traffic across stacks: the DNS stack's zone reaches every stack by one parameter name, and the
global stack's records and health checks point at what each regional stack creates, by the names
the convention gives (seed failures 3, 9 and 17 end to end)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from dr_core.config import AppConfig
from stacks.platform import compose
from tests.cfn import at_path, only
from tests.conftest import default_context

REGIONAL = {"us-east-1": ("primary", "PrimaryRegion"), "us-west-2": ("dr", "DrRegion")}
ZONE_ID = "Z0123456789ABCDEFGHIJ"


def _synth(**context: Any) -> dict[str, Template]:
    """The app's templates by stack ID, for other context; without the cdk-nag gate (test_gates runs it)."""
    app = cdk.App(context=default_context(**context))
    platform = compose(app, AppConfig.from_context(default_context(**context)))
    assembly = app.synth()
    return {
        stack.node.id: Template.from_json(assembly.get_stack_artifact(stack.artifact_id).template)
        for stack in platform.stacks
    }


@pytest.fixture(scope="module")
def renamed() -> dict[str, Template]:
    return _synth(domain="shop.acme-corp.net", apiSubdomain="orders")


@pytest.fixture(scope="module")
def imported() -> dict[str, Template]:
    return _synth(hostedZoneId=ZONE_ID, primaryWeight=50, drWeight=50)


def _call(template: Template, logical_id: str) -> dict[str, Any]:
    """The AWS SDK call a deploy-time lookup makes."""
    return json.loads(template.to_json()["Resources"][logical_id]["Properties"]["Update"])


def _calls(template: Template, action: str) -> dict[str, dict[str, Any]]:
    """A stack's deploy-time lookups of one action, by the region they call."""
    calls = [_call(template, logical_id) for logical_id in template.find_resources("Custom::AWS")]
    return {call["region"]: call for call in calls if call["action"] == action}


def _records(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["SetIdentifier"]: r["Properties"]
        for r in template.find_resources("AWS::Route53::RecordSet").values()
    }


def test_the_dns_stack_creates_a_retained_public_zone_for_the_configured_domain(synthesized):
    # Then the DNS stack holds the zone of the domain, kept on delete
    template = synthesized.template(synthesized.platform.dns)
    template.has_resource(
        "AWS::Route53::HostedZone",
        {
            "Properties": {"Name": "orders-dr.internal.test.", "HostedZoneConfig": Match.any_value()},
            "DeletionPolicy": "RetainExceptOnCreate",
        },
    )


@pytest.mark.parametrize(
    ("stack", "lookup"),
    [
        ("primary", "PrimaryRegion/Services/ZoneLookup"),
        ("dr", "DrRegion/Services/ZoneLookup"),
        ("global_", "Global/ZoneLookup"),
    ],
)
def test_every_stack_reads_the_zone_id_by_the_exact_name_the_dns_stack_publishes_it_under(
    synthesized, request, stack, lookup
):
    # Given the DNS stack publishes its zone's ID under one parameter name
    dns = synthesized.template(synthesized.platform.dns)
    (zone_id, _) = only(dns, "AWS::Route53::HostedZone")
    (_, parameter) = only(dns, "AWS::SSM::Parameter")
    assert parameter["Properties"]["Value"] == {"Ref": zone_id}
    # Then the stack reads exactly that name in the DNS stack's region
    template = request.getfixturevalue(stack)
    (lookup_id, _) = at_path(template, f"{lookup}/Call/Resource/Default")
    call = _call(template, lookup_id)
    assert (call["action"], call["region"]) == ("getParameter", synthesized.platform.dns.region)
    assert call["parameters"] == {"Name": parameter["Properties"]["Name"]}


@pytest.mark.parametrize(("region", "stack"), [(r, s) for r, (s, _) in REGIONAL.items()])
def test_each_record_targets_the_api_domain_its_regional_stack_creates(global_, request, region, stack):
    # Given the API domain name the regional stack creates
    (_, domain) = only(request.getfixturevalue(stack), "AWS::ApiGatewayV2::DomainName")
    api_domain = domain["Properties"]["DomainName"]
    # Then the global stack's record for that region is that name, read in that region
    record = _records(global_)[region]
    assert record["Name"] == f"{api_domain}."
    (lookup_id, path) = record["ResourceRecords"][0]["Fn::GetAtt"]
    assert path == "DomainNameConfigurations.0.ApiGatewayDomainName"
    call = _call(global_, lookup_id)
    assert (call["action"], call["region"], call["parameters"]) == (
        "getDomainName",
        region,
        {"DomainName": api_domain},
    )


@pytest.mark.parametrize(("region", "stack", "stack_id"), [(r, s, i) for r, (s, i) in REGIONAL.items()])
def test_each_health_check_reads_the_function_url_its_regional_stack_creates(
    global_, request, region, stack, stack_id
):
    # Given the regional stack's health function, published through a Function URL
    template = request.getfixturevalue(stack)
    (function_id, function) = at_path(template, f"{stack_id}/Services/OrderService/Health/Function/Resource")
    template.has_resource_properties(
        "AWS::Lambda::Url", {"TargetFunctionArn": {"Fn::GetAtt": [function_id, "Arn"]}, "AuthType": "NONE"}
    )
    # Then the global stack reads that function's URL in that region for the health check
    call = _calls(global_, "getFunctionUrlConfig")[region]
    assert call["parameters"] == {"FunctionName": function["Properties"]["FunctionName"]}


def test_the_global_and_dns_stacks_live_where_route53_publishes_its_metrics(platform):
    # Then both are in us-east-1, the only region with HealthCheckStatus
    assert (platform.global_.region, platform.dns.region) == ("us-east-1", "us-east-1")


def test_a_changed_domain_reaches_the_zone_both_apis_and_the_records(renamed):
    # Given domain=shop.acme-corp.net and apiSubdomain=orders (seed failure 9: a hard-coded domain)
    renamed["Dns"].has_resource_properties("AWS::Route53::HostedZone", {"Name": "shop.acme-corp.net."})
    for stack in ("PrimaryRegion", "DrRegion"):
        renamed[stack].has_resource_properties(
            "AWS::ApiGatewayV2::DomainName", {"DomainName": "orders.shop.acme-corp.net"}
        )
        renamed[stack].has_resource_properties(
            "AWS::CertificateManager::Certificate", {"DomainName": "orders.shop.acme-corp.net"}
        )
    records = _records(renamed["Global"])
    assert {r["Name"] for r in records.values()} == {"orders.shop.acme-corp.net."}
    for call in _calls(renamed["Global"], "getDomainName").values():
        assert call["parameters"] == {"DomainName": "orders.shop.acme-corp.net"}


def test_a_configured_zone_id_is_imported_by_every_stack_and_no_zone_is_made(imported):
    # Given hostedZoneId: there is no DNS stack, and no stack looks the zone up
    assert "Dns" not in imported
    for template in imported.values():
        assert "getParameter" not in {
            _call(template, i)["action"] for i in template.find_resources("Custom::AWS")
        }
    # Then both regions validate their certificates in that zone, and the records go into it
    for stack in ("PrimaryRegion", "DrRegion"):
        imported[stack].has_resource_properties(
            "AWS::CertificateManager::Certificate",
            {
                "DomainValidationOptions": [
                    {"DomainName": "api.orders-dr.internal.test", "HostedZoneId": ZONE_ID}
                ]
            },
        )
    assert {r["HostedZoneId"] for r in _records(imported["Global"]).values()} == {ZONE_ID}


def test_record_weights_come_from_config(global_, imported):
    # Then the records carry primaryWeight and drWeight: 100/0 by default, 50/50 when configured
    assert {region: r["Weight"] for region, r in _records(global_).items()} == {
        "us-east-1": 100,
        "us-west-2": 0,
    }
    assert {region: r["Weight"] for region, r in _records(imported["Global"]).items()} == {
        "us-east-1": 50,
        "us-west-2": 50,
    }
