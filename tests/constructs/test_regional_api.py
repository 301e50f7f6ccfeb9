"""RegionalApi: users' entry point in one region, an HTTP API on the shared custom domain with this
region's own DNS-validated certificate, reachable only through that domain with signed requests,
invoking the region's order function, throttled and access-logged into an encrypted group."""

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
from tests.cfn import render
from tests.conftest import bare_stack, masked

REGION = "us-east-1"
DOMAIN = "orders-dr.internal.test"
API_DOMAIN = f"api.{DOMAIN}"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
ORDER_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:dev-us-east-1-orders-v1"


@pytest.fixture(scope="module")
def api(config) -> RegionalApi:
    # Given the domain's hosted zone, the region's order function and its key
    stack = bare_stack(config, REGION)
    return RegionalApi(
        stack,
        "Api",
        api_name="dev-us-east-1-orders-v1",
        domain_name=API_DOMAIN,
        zone=route53.HostedZone.from_hosted_zone_attributes(
            stack, "Zone", hosted_zone_id=ZONE_ID, zone_name=DOMAIN
        ),
        handler=lambda_.Function.from_function_attributes(
            stack, "Orders", function_arn=ORDER_FUNCTION, same_environment=True
        ),
        log_key=kms.Key(stack, "Key"),
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )


@pytest.fixture(scope="module")
def template(api) -> Template:
    return Template.from_stack(cdk.Stack.of(api))


def _resolve(api: RegionalApi, value: Any) -> Any:
    return cdk.Stack.of(api).resolve(value)


def test_the_region_has_its_own_certificate_for_the_api_domain_validated_in_the_zone(template):
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": API_DOMAIN,
            "ValidationMethod": "DNS",
            "DomainValidationOptions": [{"DomainName": API_DOMAIN, "HostedZoneId": ZONE_ID}],
        },
    )


def test_the_api_domain_is_a_regional_custom_domain_with_that_certificate(api, template):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": API_DOMAIN,
            "DomainNameConfigurations": [
                {
                    "CertificateArn": _resolve(api, api.certificate.certificate_arn),
                    "EndpointType": "REGIONAL",
                }
            ],
        },
    )


def test_the_api_is_reachable_only_through_the_custom_domain(template):
    # The execute-api endpoint is off
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"Name": "dev-us-east-1-orders-v1", "ProtocolType": "HTTP", "DisableExecuteApiEndpoint": True},
    )


def test_the_custom_domain_maps_the_default_stage(api, template):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::ApiMapping",
        {
            "ApiId": _resolve(api, api.api.api_id),
            "DomainName": _resolve(api, api.domain.name),
            "Stage": "$default",
        },
    )


def test_the_api_has_the_two_order_routes_and_both_need_signed_requests(template):
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in template.find_resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {"POST /orders", "GET /orders/{order_id}"}
    assert {r["AuthorizationType"] for r in routes.values()} == {"AWS_IAM"}


def test_both_routes_invoke_the_regions_order_function(api, template):
    template.resource_count_is("AWS::ApiGatewayV2::Integration", 1)
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "IntegrationUri": ORDER_FUNCTION, "PayloadFormatVersion": "2.0"},
    )
    # And API Gateway may invoke it for each route, from this API only
    api_id = _resolve(api, api.api.api_id)["Ref"]
    permissions = template.find_resources("AWS::Lambda::Permission").values()
    assert sorted(render(p["Properties"]["SourceArn"]) for p in permissions) == [
        f"arn:aws:execute-api:us-east-1:123456789012:<Ref:{api_id}>/*/*/orders",
        f"arn:aws:execute-api:us-east-1:123456789012:<Ref:{api_id}>/*/*/orders/{{order_id}}",
    ]
    for permission in permissions:
        assert permission["Properties"]["FunctionName"] == ORDER_FUNCTION
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"


def test_the_default_stage_deploys_automatically_with_throttling(template):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "DefaultRouteSettings": {"ThrottlingBurstLimit": 400, "ThrottlingRateLimit": 200},
        },
    )


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
