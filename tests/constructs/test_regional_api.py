"""RegionalApi: users' entry point in one region, an HTTP API on the shared name (what DNS moves
between regions) and on the region's own name (what its health check, the drill and the switch call),
under one DNS-validated certificate covering both, reachable only through those names; the order
routes take JWTs of one issuer, the health route is anonymous with a throttle of its own; every route
invokes the region's order function; throttled and access-logged into an encrypted group."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Match, Template

from dr_constructs.regional_api import RegionalApi
from tests.cfn import at_path, only, render
from tests.conftest import bare_stack, masked

REGION = "us-east-1"
DOMAIN = "orders-dr.internal.test"
API_DOMAIN = f"api.{DOMAIN}"
REGIONAL_DOMAIN = f"api-{REGION}.{DOMAIN}"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
ORDER_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:dev-us-east-1-orders-v1"
HEALTH_PATH = "/health/0123456789abcdef01234567"
HEALTH_ROUTE = f"GET {HEALTH_PATH}"
ORDER_ROUTES = {"POST /orders", "GET /orders/{order_id}"}
ISSUER = "https://auth.acme-corp.net/realms/orders"
AUDIENCES = ["orders-api", "orders-mobile"]


def _regional_api(stack: cdk.Stack, *, health_path: str = HEALTH_PATH) -> RegionalApi:
    return RegionalApi(
        stack,
        "Api",
        api_name="dev-us-east-1-orders-v1",
        domain_name=API_DOMAIN,
        regional_domain_name=REGIONAL_DOMAIN,
        zone=route53.HostedZone.from_hosted_zone_attributes(
            stack, "Zone", hosted_zone_id=ZONE_ID, zone_name=DOMAIN
        ),
        handler=lambda_.Function.from_function_attributes(
            stack, "Orders", function_arn=ORDER_FUNCTION, same_environment=True
        ),
        health_path=health_path,
        jwt_issuer=ISSUER,
        jwt_audiences=AUDIENCES,
        log_key=kms.Key(stack, "Key"),
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )


@pytest.fixture(scope="module")
def api(config) -> RegionalApi:
    # Given the domain's hosted zone, the region's order function, its key, a health path and an issuer
    return _regional_api(bare_stack(config, REGION))


@pytest.fixture(scope="module")
def template(api) -> Template:
    return Template.from_stack(cdk.Stack.of(api))


def _resolve(api: RegionalApi, value: Any) -> Any:
    return cdk.Stack.of(api).resolve(value)


def _routes(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in template.find_resources("AWS::ApiGatewayV2::Route").values()
    }


# Names and certificate


def test_one_certificate_covers_the_shared_and_the_regional_name_validated_in_the_zone(template):
    # Then one certificate names the shared name and has the regional name as its alternative,
    # both validated by DNS in the zone
    template.resource_count_is("AWS::CertificateManager::Certificate", 1)
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": API_DOMAIN,
            "SubjectAlternativeNames": [REGIONAL_DOMAIN],
            "ValidationMethod": "DNS",
            "DomainValidationOptions": [
                {"DomainName": API_DOMAIN, "HostedZoneId": ZONE_ID},
                {"DomainName": REGIONAL_DOMAIN, "HostedZoneId": ZONE_ID},
            ],
        },
    )


@pytest.mark.parametrize("name", [API_DOMAIN, REGIONAL_DOMAIN])
def test_each_name_is_a_regional_custom_domain_with_that_certificate(api, template, name):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": name,
            "DomainNameConfigurations": [
                {
                    "CertificateArn": _resolve(api, api.certificate.certificate_arn),
                    "EndpointType": "REGIONAL",
                }
            ],
        },
    )


def test_the_api_is_reachable_only_through_the_custom_domains(template):
    # The execute-api endpoint is off
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"Name": "dev-us-east-1-orders-v1", "ProtocolType": "HTTP", "DisableExecuteApiEndpoint": True},
    )


@pytest.mark.parametrize("domain", ["domain", "regional_domain"])
def test_each_custom_domain_maps_the_default_stage(api, template, domain):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::ApiMapping",
        {
            "ApiId": _resolve(api, api.api.api_id),
            "DomainName": _resolve(api, getattr(api, domain).name),
            "Stage": "$default",
        },
    )


def test_the_regional_name_is_an_alias_of_its_custom_domain_in_the_zone(api, template):
    # Then the regional name resolves to its API Gateway domain, in the zone; the shared name is
    # left to the routing stack's weighted records
    (_, record) = only(template, "AWS::Route53::RecordSet")
    properties = record["Properties"]
    assert (properties["Name"], properties["Type"], properties["HostedZoneId"]) == (
        f"{REGIONAL_DOMAIN}.",
        "A",
        ZONE_ID,
    )
    assert properties["AliasTarget"] == {
        "DNSName": _resolve(api, api.regional_domain.regional_domain_name),
        "HostedZoneId": _resolve(api, api.regional_domain.regional_hosted_zone_id),
    }


# Routes and who may call them


def test_the_api_has_the_two_order_routes_and_the_health_route(template):
    assert set(_routes(template)) == ORDER_ROUTES | {HEALTH_ROUTE}


@pytest.mark.parametrize("route", sorted(ORDER_ROUTES))
def test_each_order_route_takes_a_jwt(template, route):
    # Then the route is authorized by the API's one JWT authorizer (SigV4 signatures are scoped
    # to a region and would fail after a failover; a token is valid wherever DNS sends it)
    (authorizer_id, _) = only(template, "AWS::ApiGatewayV2::Authorizer")
    properties = _routes(template)[route]
    assert (properties["AuthorizationType"], properties["AuthorizerId"]) == ("JWT", {"Ref": authorizer_id})


def test_the_jwt_authorizer_accepts_tokens_of_the_given_issuer_for_the_given_audiences(template):
    # Then a bearer token in the Authorization header is checked against the issuer and audiences
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {
            "AuthorizerType": "JWT",
            "IdentitySource": ["$request.header.Authorization"],
            "JwtConfiguration": {"Issuer": ISSUER, "Audience": AUDIENCES},
        },
    )


def test_the_health_route_is_anonymous(template):
    # Route 53's checkers cannot authenticate
    health = _routes(template)[HEALTH_ROUTE]
    assert health["AuthorizationType"] == "NONE"
    assert "AuthorizerId" not in health


def test_every_route_invokes_the_regions_order_function(api, template):
    # Then one Lambda proxy integration, to the order function, is every route's target
    (integration_id, _) = only(template, "AWS::ApiGatewayV2::Integration")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "IntegrationUri": ORDER_FUNCTION, "PayloadFormatVersion": "2.0"},
    )
    for key, route in _routes(template).items():
        assert render(route["Target"]) == f"integrations/<Ref:{integration_id}>", key


def test_api_gateway_may_invoke_the_order_function_for_each_route_from_this_api_only(api, template):
    api_id = _resolve(api, api.api.api_id)["Ref"]
    permissions = template.find_resources("AWS::Lambda::Permission").values()
    assert sorted(render(p["Properties"]["SourceArn"]) for p in permissions) == [
        f"arn:aws:execute-api:us-east-1:123456789012:<Ref:{api_id}>/*/*{HEALTH_PATH}",
        f"arn:aws:execute-api:us-east-1:123456789012:<Ref:{api_id}>/*/*/orders",
        f"arn:aws:execute-api:us-east-1:123456789012:<Ref:{api_id}>/*/*/orders/{{order_id}}",
    ]
    for permission in permissions:
        assert permission["Properties"]["FunctionName"] == ORDER_FUNCTION
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"


def test_a_health_path_that_is_not_health_slash_token_is_refused(stack_in):
    # Given a health path without its unguessable token, When the API is made, Then it is refused
    with pytest.raises(ValueError, match="health_path must be /health/<token>"):
        _regional_api(stack_in(REGION), health_path="/health")


# Stage: throttling and access logs


def test_the_default_stage_deploys_automatically_with_throttling(template):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "DefaultRouteSettings": {"ThrottlingBurstLimit": 400, "ThrottlingRateLimit": 200},
        },
    )


def test_the_health_route_has_a_throttle_of_its_own(template):
    # Then a flood of the order routes does not starve Route 53's checks, nor the other way round
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {"RouteSettings": {HEALTH_ROUTE: {"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40}}},
    )


def test_the_stage_is_created_after_the_health_route_its_settings_name(template):
    (route_id, _) = at_path(template, f"Test/Api/Api/GET--{HEALTH_PATH[1:].replace('/', '--')}/Resource")
    template.has_resource("AWS::ApiGatewayV2::Stage", {"DependsOn": Match.array_with([route_id])})


def test_access_logs_go_to_an_encrypted_group_with_retention(template):
    # Given the one log group: under the key, kept 90 days, deleted with the stack
    (key_id,) = template.find_resources("AWS::KMS::Key")
    (group_id,) = template.find_resources(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}, "RetentionInDays": 90},
            "DeletionPolicy": "Delete",
        },
    )
    # Then the stage writes its access logs there
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "AccessLogSettings": {
                "DestinationArn": {"Fn::GetAtt": [group_id, "Arn"]},
                "Format": Match.any_value(),
            }
        },
    )


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
