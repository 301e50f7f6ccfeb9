"""Traffic across stacks: the DNS stack's zone reaches every stack by one parameter name; the routing
stack's records point at the names each regional stack serves and publishes, and its checks call the
health route each regional API routes anonymously; the observer reads the routing stack's check IDs by
their exact names; every order route takes the same JWTs in both regions (seed failures 3, 9 and 17
end to end)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from dr_core.config import AppConfig
from dr_core.failover import fenced_token
from stacks.platform import compose
from tests.cfn import at_path, only
from tests.conftest import default_context

REGIONAL = {"us-east-1": ("primary", "PrimaryRegion"), "us-west-2": ("dr", "DrRegion")}
BY_REGION = pytest.mark.parametrize(
    ("region", "stack", "stack_id"), [(r, s, i) for r, (s, i) in REGIONAL.items()]
)
OTHER = {"us-east-1": "us-west-2", "us-west-2": "us-east-1"}
REGION_IDS = {"us-east-1": "UsEast1", "us-west-2": "UsWest2"}
ZONE_ID = "Z0123456789ABCDEFGHIJ"
ISSUER = "https://login.acme-corp.net/oauth2/default"
AUDIENCES = ["orders-web", "orders-mobile"]


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
    return _synth(domain="shop.acme-corp.net", apiSubdomain="orders", jwtIssuer=ISSUER, jwtAudience=AUDIENCES)


@pytest.fixture(scope="module")
def imported() -> dict[str, Template]:
    return _synth(hostedZoneId=ZONE_ID, primaryWeight=50, drWeight=50)


def _call(template: Template, logical_id: str) -> dict[str, Any]:
    """The AWS SDK call a deploy-time lookup makes."""
    return json.loads(template.to_json()["Resources"][logical_id]["Properties"]["Update"])


def _records(template: Template) -> dict[str, dict[str, Any]]:
    """The routing stack's weighted records, by region."""
    return {
        r["Properties"]["SetIdentifier"]: r["Properties"]
        for r in template.find_resources("AWS::Route53::RecordSet").values()
    }


def _check(routing: Template, region: str, part: str) -> tuple[str, dict[str, Any]]:
    """A region's check in the routing stack: HealthCheck (its own), NotFenced or Serving."""
    (logical_id, resource) = at_path(routing, f"Routing/Failover/{REGION_IDS[region]}{part}/Resource")
    return logical_id, resource["Properties"]["HealthCheckConfig"]


def _regional_name(template: Template, stack_id: str) -> str:
    """The region's own name, as its API's custom domain serves it."""
    (_, domain) = at_path(template, f"{stack_id}/Services/Api/RegionalDomain/Resource")
    return domain["Properties"]["DomainName"]


def _parameter_holding(template: Template, logical_id: str) -> tuple[str, dict[str, Any]]:
    """The one SSM parameter whose value is a reference to ``logical_id``."""
    (found,) = [
        (parameter_id, resource["Properties"])
        for parameter_id, resource in template.find_resources("AWS::SSM::Parameter").items()
        if resource["Properties"]["Value"] == {"Ref": logical_id}
    ]
    return found


def _routes(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in template.find_resources("AWS::ApiGatewayV2::Route").values()
    }


def _anonymous_path(template: Template) -> str:
    """The path of the regional API's one anonymous route, the health route."""
    (key,) = [key for key, route in _routes(template).items() if route["AuthorizationType"] == "NONE"]
    method, path = key.split(" ")
    assert method == "GET"
    return path


# --- The zone ---------------------------------------------------------------------------------------


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
        ("routing", "Routing/ZoneLookup"),
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


def test_the_routing_and_dns_stacks_live_where_route53_publishes_its_metrics(platform):
    # Then both are in us-east-1, the only region with HealthCheckStatus
    assert (platform.routing.region, platform.dns.region) == ("us-east-1", "us-east-1")


# --- Records and the names the regional stacks serve ------------------------------------------------


@BY_REGION
def test_each_regional_stack_publishes_its_own_name_as_an_alias_of_its_api(request, region, stack, stack_id):
    # Given the regional stack's own custom domain
    template = request.getfixturevalue(stack)
    (domain_id, domain) = at_path(template, f"{stack_id}/Services/Api/RegionalDomain/Resource")
    # Then the stack publishes that name as an A alias of the domain's API Gateway target
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": f"{domain['Properties']['DomainName']}.",
            "Type": "A",
            "AliasTarget": {
                "DNSName": {"Fn::GetAtt": [domain_id, "RegionalDomainName"]},
                "HostedZoneId": {"Fn::GetAtt": [domain_id, "RegionalHostedZoneId"]},
            },
        },
    )


@BY_REGION
def test_each_record_of_the_shared_name_points_at_the_name_its_regional_stack_serves(
    routing, request, region, stack, stack_id
):
    # Given the names the regional stack's API serves: the shared one and its own
    template = request.getfixturevalue(stack)
    (_, shared) = at_path(template, f"{stack_id}/Services/Api/Domain/Resource")
    # Then the routing stack's record of that region is the shared name, a CNAME of the region's own
    record = _records(routing)[region]
    assert (record["Name"], record["Type"], record["ResourceRecords"]) == (
        f"{shared['Properties']['DomainName']}.",
        "CNAME",
        [_regional_name(template, stack_id)],
    )


@BY_REGION
def test_each_own_check_calls_the_health_route_its_regional_stack_serves_by_its_own_name_with_sni(
    routing, request, region, stack, stack_id
):
    # Given the regional stack's own name and the path of its API's anonymous health route
    template = request.getfixturevalue(stack)
    # Then the region's own check calls that path on that name, over HTTPS with SNI, for a healthy answer
    (_, own) = _check(routing, region, "HealthCheck")
    assert {key: own[key] for key in ("FullyQualifiedDomainName", "ResourcePath", "Port", "EnableSNI")} == {
        "FullyQualifiedDomainName": _regional_name(template, stack_id),
        "ResourcePath": _anonymous_path(template),
        "Port": 443,
        "EnableSNI": True,
    }
    assert (own["Type"], own["SearchString"], own["Inverted"]) == ("HTTPS_STR_MATCH", '"status":"ok"', False)


@BY_REGION
def test_each_regions_certificate_covers_the_name_its_checks_call(routing, request, region, stack, stack_id):
    # Given the name the routing stack's checks call in this region (with SNI, so the name must be covered)
    called = _check(routing, region, "HealthCheck")[1]["FullyQualifiedDomainName"]
    # Then the regional stack's one certificate has it as its alternative name
    (_, certificate) = only(request.getfixturevalue(stack), "AWS::CertificateManager::Certificate")
    assert certificate["Properties"]["SubjectAlternativeNames"] == [called]


@BY_REGION
def test_each_record_carries_its_own_check_and_the_inverted_fence_check_on_the_other_regions_name(
    routing, request, region, stack, stack_id
):
    # Given the other regional stack's own name and health route
    other_stack, other_id = REGIONAL[OTHER[region]]
    other = request.getfixturevalue(other_stack)
    # Then the record's calculated check needs the region's own check and a check of the other
    # region's health route, inverted, for exactly the token that names this region fenced
    (own_id, _) = _check(routing, region, "HealthCheck")
    (fence_id, fence) = _check(routing, region, "NotFenced")
    (serving_id, serving) = _check(routing, region, "Serving")
    assert _records(routing)[region]["HealthCheckId"] == {"Ref": serving_id}
    assert (serving["Type"], serving["ChildHealthChecks"], serving["HealthThreshold"]) == (
        "CALCULATED",
        [{"Ref": own_id}, {"Ref": fence_id}],
        2,
    )
    assert {key: fence[key] for key in ("FullyQualifiedDomainName", "ResourcePath", "SearchString")} == {
        "FullyQualifiedDomainName": _regional_name(other, other_id),
        "ResourcePath": _anonymous_path(other),
        "SearchString": fenced_token(region),
    }
    assert (fence["Inverted"], fence["EnableSNI"]) == (True, True)


def test_record_weights_come_from_config(routing, imported):
    # Then the records carry primaryWeight and drWeight: 100/0 by default, 50/50 when configured
    assert {region: r["Weight"] for region, r in _records(routing).items()} == {
        "us-east-1": 100,
        "us-west-2": 0,
    }
    assert {region: r["Weight"] for region, r in _records(imported["Routing"]).items()} == {
        "us-east-1": 50,
        "us-west-2": 50,
    }


def test_no_stack_publishes_a_lambda_function_url(synthesized):
    # Every call, Route 53's checks and the drill's included, goes through a regional API's names
    urls = {
        stack.node.id: len(synthesized.template(stack).find_resources("AWS::Lambda::Url"))
        for stack in synthesized.stacks
    }
    assert urls == {stack.node.id: 0 for stack in synthesized.stacks}


# --- Check IDs from the routing stack to the observer -----------------------------------------------


@pytest.mark.parametrize("region", REGION_IDS)
def test_the_routing_stack_publishes_each_regions_own_check_id(names, routing, region):
    # Then the parameter of the region's name holds its own check's ID (not the calculated one)
    (own_id, _) = _check(routing, region, "HealthCheck")
    routing.has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": names.health_check_id_parameter_prefix + region,
            "Type": "String",
            "Value": {"Ref": own_id},
        },
    )


@pytest.mark.parametrize("region", REGION_IDS)
def test_the_observer_reads_each_check_id_by_the_exact_name_the_routing_stack_publishes_it_under(
    platform, routing, observer, region
):
    # Given the parameter the routing stack writes the region's own check ID to
    (_, parameter) = _parameter_holding(routing, _check(routing, region, "HealthCheck")[0])
    # Then the observer reads exactly that name, in the routing stack's region, and may read only it
    lookup = f"Observer/HealthCheckId{REGION_IDS[region]}/Call"
    (lookup_id, _) = at_path(observer, f"{lookup}/Resource/Default")
    call = _call(observer, lookup_id)
    assert (call["service"], call["action"], call["region"]) == (
        "SSM",
        "getParameter",
        platform.routing.region,
    )
    assert call["parameters"] == {"Name": parameter["Name"]}
    (_, policy) = at_path(observer, f"{lookup}/CustomResourcePolicy/Resource")
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "ssm:GetParameter",
            "Effect": "Allow",
            "Resource": f"arn:aws:ssm:{platform.routing.region}:{platform.config.account}:parameter"
            + parameter["Name"],
        }
    ]


def test_the_rto_output_is_the_manual_worst_case_and_describes_both_paths(platform, routing):
    # Then RtoBudgetSeconds is the slower, manual failover, and its description gives both budgets
    (output,) = routing.find_outputs("RtoBudgetSeconds").values()
    assert output["Value"] == str(platform.rto.manual_seconds)
    assert platform.rto.describe() in output["Description"]


# --- Who may call the regional APIs -----------------------------------------------------------------


@BY_REGION
def test_every_route_but_the_health_route_takes_jwts_of_the_configured_issuer_and_audiences(
    config, request, region, stack, stack_id
):
    # Given the regional stack's API, its one JWT authorizer and its health path
    template = request.getfixturevalue(stack)
    (authorizer_id, authorizer) = only(template, "AWS::ApiGatewayV2::Authorizer")
    assert authorizer["Properties"]["JwtConfiguration"] == {
        "Issuer": config.auth.issuer,
        "Audience": list(config.auth.audiences),
    }
    health_route = f"GET {config.traffic.health_path}"
    # Then every other route takes a JWT through that authorizer
    routes = _routes(template)
    assert health_route in routes
    for key, route in routes.items():
        if key != health_route:
            assert (route["AuthorizationType"], route["AuthorizerId"]) == ("JWT", {"Ref": authorizer_id}), key


@BY_REGION
def test_the_health_route_is_the_configured_path_and_anonymous(config, request, region, stack, stack_id):
    # Route 53's checkers cannot authenticate; the path's token keeps floods off it
    assert _anonymous_path(request.getfixturevalue(stack)) == config.traffic.health_path


def test_a_token_valid_in_one_region_is_valid_in_the_other(primary, dr):
    # Then both regions' authorizers check the same issuer and audiences in the same header:
    # a client keeps its token when DNS moves it
    configurations = [
        {
            key: only(template, "AWS::ApiGatewayV2::Authorizer")[1]["Properties"][key]
            for key in ("AuthorizerType", "IdentitySource", "JwtConfiguration")
        }
        for template in (primary, dr)
    ]
    assert configurations[0] == configurations[1]


def test_a_configured_issuer_and_audiences_reach_both_regions(renamed):
    # Given jwtIssuer and jwtAudience off their defaults
    for stack in ("PrimaryRegion", "DrRegion"):
        # Then both regions' authorizers take them
        renamed[stack].has_resource_properties(
            "AWS::ApiGatewayV2::Authorizer", {"JwtConfiguration": {"Issuer": ISSUER, "Audience": AUDIENCES}}
        )


def test_the_only_unauthenticated_routes_acknowledged_are_the_health_routes(synthesized, config):
    # Given cdk-nag's findings of routes without authorization that the app acknowledges
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    acknowledged = {
        construct["constructPath"]
        for finding in nag["suppressedViolations"]
        if finding["ruleName"] == "AwsSolutions-APIG4"
        for construct in finding["violatingConstructs"]
    }
    # Then they are exactly the two regions' health routes
    route = "GET" + config.traffic.health_path.replace("/", "--")
    assert acknowledged == {
        f"{stack_id}/Services/Api/Api/{route}/Resource" for stack_id in ("PrimaryRegion", "DrRegion")
    }


# --- Other settings -------------------------------------------------------------------------------


def test_a_changed_domain_reaches_the_zone_the_apis_the_records_and_the_checks(renamed):
    # Given domain=shop.acme-corp.net and apiSubdomain=orders (seed failure 9: a hard-coded domain)
    renamed["Dns"].has_resource_properties("AWS::Route53::HostedZone", {"Name": "shop.acme-corp.net."})
    for stack, region in (("PrimaryRegion", "us-east-1"), ("DrRegion", "us-west-2")):
        regional = f"orders-{region}.shop.acme-corp.net"
        # Then both regions serve the shared and their own name, under a certificate for both
        domains = renamed[stack].find_resources("AWS::ApiGatewayV2::DomainName").values()
        assert sorted(d["Properties"]["DomainName"] for d in domains) == [
            regional,
            "orders.shop.acme-corp.net",
        ]
        renamed[stack].has_resource_properties(
            "AWS::CertificateManager::Certificate",
            {"DomainName": "orders.shop.acme-corp.net", "SubjectAlternativeNames": [regional]},
        )
        # And the routing stack's record and own check of that region use those names
        record = _records(renamed["Routing"])[region]
        assert (record["Name"], record["ResourceRecords"]) == ("orders.shop.acme-corp.net.", [regional])
        assert _check(renamed["Routing"], region, "HealthCheck")[1]["FullyQualifiedDomainName"] == regional


def test_a_configured_zone_id_is_imported_by_every_stack_and_no_zone_is_made(imported):
    # Given hostedZoneId: there is no DNS stack, and no stack looks the zone up
    assert "Dns" not in imported
    for template in imported.values():
        assert "/hosted-zone-id" not in json.dumps(
            [_call(template, i)["parameters"] for i in template.find_resources("Custom::AWS")]
        )
    # Then both regions validate their certificates in that zone and publish their own names in it
    for stack, region in (("PrimaryRegion", "us-east-1"), ("DrRegion", "us-west-2")):
        imported[stack].has_resource_properties(
            "AWS::CertificateManager::Certificate",
            {
                "DomainValidationOptions": [
                    {"DomainName": "api.orders-dr.internal.test", "HostedZoneId": ZONE_ID},
                    {"DomainName": f"api-{region}.orders-dr.internal.test", "HostedZoneId": ZONE_ID},
                ]
            },
        )
        imported[stack].has_resource_properties(
            "AWS::Route53::RecordSet", {"Type": "A", "HostedZoneId": ZONE_ID}
        )
    # And the routing stack's records go into it
    assert {r["HostedZoneId"] for r in _records(imported["Routing"]).values()} == {ZONE_ID}
