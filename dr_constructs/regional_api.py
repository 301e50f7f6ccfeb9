from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from constructs import Construct

# A ceiling per region, not a quota per client: it keeps a flood from
# exhausting the order function's reserved concurrency and the table.
_RATE_LIMIT = 200
_BURST_LIMIT = 400


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """Access logs in API Gateway's default JSON format (an interface, not a struct, in jsii)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination) -> None:
        self._destination = destination

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> None:
        return None


class RegionalApi(Construct):
    """Users' entry point in one region: an HTTP API on the shared custom domain.

    Function URLs cannot carry a custom domain, so user traffic goes here; the
    weighted records for the domain point at each region's API domain. Every
    region issues its own certificate for the same name, validated in the zone.
    The execute-api endpoint is off, so the custom domain is the only way in,
    and callers sign their requests (IAM authorization).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        api_name: str,
        domain_name: str,
        zone: route53.IHostedZone,
        handler: lambda_.IFunction,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=domain_name,
            validation=acm.CertificateValidation.from_dns(zone),
        )
        self.domain = apigwv2.DomainName(
            self, "Domain", domain_name=domain_name, certificate=self.certificate
        )
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=api_name,
            description="Order-processing API of this region",
            create_default_stage=False,
            disable_execute_api_endpoint=True,
            default_authorizer=authorizers.HttpIamAuthorizer(),
        )
        orders = integrations.HttpLambdaIntegration("Orders", handler)
        self.api.add_routes(path="/orders", methods=[apigwv2.HttpMethod.POST], integration=orders)
        self.api.add_routes(path="/orders/{order_id}", methods=[apigwv2.HttpMethod.GET], integration=orders)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            encryption_key=log_key,
            retention=log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            domain_mapping=apigwv2.DomainMappingOptions(domain_name=self.domain),
            throttle=apigwv2.ThrottleSettings(rate_limit=_RATE_LIMIT, burst_limit=_BURST_LIMIT),
            access_log_settings=_AccessLogs(apigwv2.LogGroupLogDestination(access_logs)),
        )
