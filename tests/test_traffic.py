"""Users reach a region through its HTTP API on api.<domain>; weighted records, tied to
HTTPS health checks of the Function URLs, fail traffic over (seed failures 3, 9, 17)."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from dr_constructs.failover_routing import HEALTHY_BODY
from tests.cfn import at_path, only
from tests.conftest import synthesize
from tests.handlers.loader import load_handler

API_DOMAIN = "api.orders-dr.internal.test"
REGIONS = [("primary", "PrimaryRegion", "us-east-1"), ("dr", "DrRegion", "us-west-2")]


def _lookup(template, logical_id):
    return json.loads(template.to_json()["Resources"][logical_id]["Properties"]["Update"])


def test_the_dns_stack_creates_a_retained_public_zone_for_the_configured_domain(synthesized):
    template = synthesized.template(synthesized.platform.dns)
    template.has_resource(
        "AWS::Route53::HostedZone",
        {
            "Properties": {"Name": "orders-dr.internal.test.", "HostedZoneConfig": Match.any_value()},
            "DeletionPolicy": "RetainExceptOnCreate",
        },
    )


@pytest.mark.parametrize("stack", ["primary", "dr", "global_"])
def test_every_stack_finds_the_created_zone_by_the_exact_id_the_dns_stack_published(
    synthesized, request, stack
):
    # Given the DNS stack publishes its zone's ID under one parameter name
    dns = synthesized.template(synthesized.platform.dns)
    (zone_id, _) = only(dns, "AWS::Route53::HostedZone")
    (_, parameter) = only(dns, "AWS::SSM::Parameter")
    assert parameter["Properties"]["Value"] == {"Ref": zone_id}
    name = parameter["Properties"]["Name"]
    # Then each stack reads exactly that name in the DNS stack's region: a missing zone fails the
    # deploy, where ListHostedZonesByName would have answered with the next zone alphabetically
    template = request.getfixturevalue(stack)
    (_, lookup) = at_path(template, f"{template_id(stack)}/ZoneLookup/Call/Resource/Default")
    call = json.loads(lookup["Properties"]["Update"])
    assert (call["service"], call["action"], call["region"]) == ("SSM", "getParameter", "us-east-1")
    assert call["parameters"] == {"Name": name}


def template_id(stack):
    return {"primary": "PrimaryRegion", "dr": "DrRegion", "global_": "Global"}[stack]


def test_a_changed_domain_reaches_the_zone_the_api_and_the_records(tmp_path):
    renamed = synthesize(tmp_path, domain="shop.acme-corp.net", apiSubdomain="orders")
    zone = renamed.template(renamed.platform.dns)
    zone.has_resource_properties("AWS::Route53::HostedZone", {"Name": "shop.acme-corp.net."})
    renamed.template(renamed.platform.dr).has_resource_properties(
        "AWS::ApiGatewayV2::DomainName", {"DomainName": "orders.shop.acme-corp.net"}
    )
    for record in (
        renamed.template(renamed.platform.global_).find_resources("AWS::Route53::RecordSet").values()
    ):
        assert record["Properties"]["Name"] == "orders.shop.acme-corp.net."


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_each_region_serves_the_api_domain_with_its_own_dns_validated_certificate(
    request, stack, stack_id, region
):
    template = request.getfixturevalue(stack)
    (cert_id, cert) = at_path(template, f"{stack_id}/Api/Certificate/Resource")
    assert cert["Properties"]["DomainName"] == API_DOMAIN
    assert cert["Properties"]["ValidationMethod"] == "DNS"
    (zone_lookup, _) = at_path(template, f"{stack_id}/ZoneLookup/Call/Resource/Default")
    assert cert["Properties"]["DomainValidationOptions"] == [
        {"DomainName": API_DOMAIN, "HostedZoneId": {"Fn::GetAtt": [zone_lookup, "Parameter.Value"]}}
    ]
    template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": API_DOMAIN,
            "DomainNameConfigurations": [{"CertificateArn": {"Ref": cert_id}, "EndpointType": "REGIONAL"}],
        },
    )


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_the_api_is_reachable_only_through_the_custom_domain_with_signed_requests(
    request, stack, stack_id, region
):
    template = request.getfixturevalue(stack)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP", "DisableExecuteApiEndpoint": True}
    )
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in template.find_resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {"POST /orders", "GET /orders/{order_id}"}
    assert {r["AuthorizationType"] for r in routes.values()} == {"AWS_IAM"}


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_the_api_invokes_this_regions_order_function_with_access_logs_and_throttling(
    request, stack, stack_id, region
):
    template = request.getfixturevalue(stack)
    (function_id, _) = at_path(template, f"{stack_id}/OrderService/Orders/Function/Resource")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "IntegrationUri": {"Fn::GetAtt": [function_id, "Arn"]}},
    )
    (_, stage) = at_path(template, f"{stack_id}/Api/Stage/Resource")
    assert stage["Properties"]["StageName"] == "$default"
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": 400,
        "ThrottlingRateLimit": 200,
    }
    assert "DestinationArn" in stage["Properties"]["AccessLogSettings"]


def _records(global_):
    return {
        r["Properties"]["SetIdentifier"]: r["Properties"]
        for r in global_.find_resources("AWS::Route53::RecordSet").values()
    }


def test_one_weighted_record_per_region_with_weights_from_config(global_):
    records = _records(global_)
    assert {region: (r["Name"], r["Type"], r["Weight"]) for region, r in records.items()} == {
        "us-east-1": (f"{API_DOMAIN}.", "CNAME", 100),
        "us-west-2": (f"{API_DOMAIN}.", "CNAME", 0),
    }


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_record_targets_are_the_regional_api_domain_names_never_an_arn(global_, region):
    record = _records(global_)[region]
    (target,) = record["ResourceRecords"]
    lookup_id, path = target["Fn::GetAtt"]
    assert path == "DomainNameConfigurations.0.ApiGatewayDomainName"
    call = _lookup(global_, lookup_id)
    assert (call["service"], call["action"], call["region"]) == ("ApiGatewayV2", "getDomainName", region)
    assert call["parameters"] == {"DomainName": API_DOMAIN}
    assert "arn:" not in json.dumps(record["ResourceRecords"])
    assert record["TTL"] == "15"


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_each_record_is_tied_to_its_regions_health_check(global_, region):
    (check_id, _) = at_path(
        global_, f"Global/Failover/{''.join(p.capitalize() for p in region.split('-'))}HealthCheck/Resource"
    )
    assert _records(global_)[region]["HealthCheckId"] == {"Ref": check_id}


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_health_check_fqdn_is_the_host_of_the_regions_function_url(global_, region):
    region_id = "".join(p.capitalize() for p in region.split("-"))
    (_, check) = at_path(global_, f"Global/Failover/{region_id}HealthCheck/Resource")
    config = check["Properties"]["HealthCheckConfig"]
    # https://<id>.lambda-url.<region>.on.aws/ split on "/" -> ["https:", "", "<host>", ""]
    split = config["FullyQualifiedDomainName"]["Fn::Select"]
    assert split[0] == 2
    lookup_id, path = split[1]["Fn::Split"][1]["Fn::GetAtt"]
    assert (split[1]["Fn::Split"][0], path) == ("/", "FunctionUrl")
    call = _lookup(global_, lookup_id)
    assert (call["service"], call["action"], call["region"]) == ("Lambda", "getFunctionUrlConfig", region)
    assert call["parameters"] == {"FunctionName": f"dev-{region}-health-v1"}


def test_health_checks_match_the_healthy_body_over_https_with_configured_timing(global_):
    for check in global_.find_resources("AWS::Route53::HealthCheck").values():
        config = check["Properties"]["HealthCheckConfig"]
        assert config["Type"] == "HTTPS_STR_MATCH"
        assert (config["Port"], config["ResourcePath"], config["EnableSNI"]) == (443, "/health", True)
        assert config["SearchString"] == '"status":"ok"'
        assert (config["RequestInterval"], config["FailureThreshold"]) == (10, 2)
        assert config["MeasureLatency"] is True


def test_the_search_string_is_in_a_healthy_answer_and_not_in_an_unhealthy_one():
    # The Route 53 check and the health function must agree on the body, or failover never ends.
    checks = load_handler("health", "health_checks")
    ok = checks.CheckResult("table", ok=True)
    failed = checks.CheckResult("table", ok=False, reason="ClientError")
    assert HEALTHY_BODY in checks.HealthReport(region="us-west-2", results=(ok, ok)).body()
    assert HEALTHY_BODY not in checks.HealthReport(region="us-west-2", results=(ok, failed)).body()


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_an_alarm_in_us_east_1_notifies_when_a_regions_health_check_fails(global_, region):
    region_id = "".join(p.capitalize() for p in region.split("-"))
    (check_id, _) = at_path(global_, f"Global/Failover/{region_id}HealthCheck/Resource")
    (topic_id, _) = at_path(global_, "Global/Alerts/Topic/Resource")
    global_.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"dev-{region}-unhealthy-v1",
            "Namespace": "AWS/Route53",
            "MetricName": "HealthCheckStatus",
            "Dimensions": [{"Name": "HealthCheckId", "Value": {"Ref": check_id}}],
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "AlarmActions": [{"Ref": topic_id}],
            "OKActions": [{"Ref": topic_id}],
        },
    )


def test_the_global_stack_lives_where_route53_publishes_its_metrics(platform):
    assert platform.global_.region == "us-east-1"


def test_weights_come_from_config(tmp_path):
    shifted = synthesize(tmp_path, primaryWeight=50, drWeight=50, hostedZoneId="Z0123456789ABCDEFGHIJ")
    records = _records(shifted.template(shifted.platform.global_))
    assert {region: r["Weight"] for region, r in records.items()} == {"us-east-1": 50, "us-west-2": 50}
    assert {r["HostedZoneId"] for r in records.values()} == {"Z0123456789ABCDEFGHIJ"}
