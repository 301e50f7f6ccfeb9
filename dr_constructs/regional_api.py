from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from dr_constructs import nag

# A ceiling per region, not a quota per client: it keeps a flood from
# exhausting the order function's reserved concurrency and the table.
_RATE_LIMIT = 200
_BURST_LIMIT = 400
# The health route's own ceiling: Route 53's checkers and the drill need a few requests a second.
_HEALTH_RATE_LIMIT = 20
_HEALTH_BURST_LIMIT = 40


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
    """Users' entry point in one region: an HTTP API on the shared name and on the region's own.

    Function URLs cannot carry a custom domain, so user traffic goes here. The shared name
    (``api.<domain>``) is what users call and DNS moves between regions; the regional name
    (``api-<region>.<domain>``) reaches this region on purpose, for its health check, the drill
    and the failover switch. One certificate, validated in the zone, covers both. The
    execute-api endpoint is off, so the custom domains are the only way in.

    The order routes take a JWT from one OIDC issuer, the same in every region: a token is
    valid wherever DNS sends it (SigV4 signatures are scoped to a region and fail after a
    failover). The health route is anonymous, as Route 53's checkers cannot authenticate:
    its path is unguessable and it has its own throttle, so a flood elsewhere on the API does
    not starve it.

    Args:
        api_name: the API's name.
        domain_name: the shared name.
        regional_domain_name: this region's own name.
        zone: the hosted zone of both names (certificate validation and the regional record).
        handler: the order function, behind every route.
        health_path: the health route's path (``/health/<token>``).
        jwt_issuer, jwt_audiences: whose tokens the order routes accept, and for which audiences.
        log_key, log_retention: for the access logs.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        api_name: str,
        domain_name: str,
        regional_domain_name: str,
        zone: route53.IHostedZone,
        handler: lambda_.IFunction,
        health_path: str,
        jwt_issuer: str,
        jwt_audiences: Sequence[str],
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        if not health_path.startswith("/health/"):
            raise ValueError(f"RegionalApi health_path must be /health/<token>, not {health_path!r}")
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=domain_name,
            subject_alternative_names=[regional_domain_name],
            validation=acm.CertificateValidation.from_dns(zone),
        )
        self.domain = apigwv2.DomainName(
            self, "Domain", domain_name=domain_name, certificate=self.certificate
        )
        self.regional_domain = apigwv2.DomainName(
            self, "RegionalDomain", domain_name=regional_domain_name, certificate=self.certificate
        )
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=api_name,
            description="Order-processing API of this region",
            create_default_stage=False,
            disable_execute_api_endpoint=True,
            default_authorizer=authorizers.HttpJwtAuthorizer(
                "Jwt", jwt_issuer, jwt_audience=list(jwt_audiences), authorizer_name="orders-jwt"
            ),
        )
        orders = integrations.HttpLambdaIntegration("Orders", handler)
        self.api.add_routes(path="/orders", methods=[apigwv2.HttpMethod.POST], integration=orders)
        self.api.add_routes(path="/orders/{order_id}", methods=[apigwv2.HttpMethod.GET], integration=orders)
        (health_route,) = self.api.add_routes(
            path=health_path,
            methods=[apigwv2.HttpMethod.GET],
            integration=orders,
            authorizer=apigwv2.HttpNoneAuthorizer(),
        )
        Validations.of(health_route).acknowledge(
            nag.rule(
                "AwsSolutions-APIG4",
                reason="Route 53 health checkers cannot authenticate. The route answers only statuses, "
                "its path is unguessable and it has its own throttle; the order routes take JWTs.",
            )
        )
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
        stage_resource = self.stage.node.default_child
        if not isinstance(stage_resource, cdk.CfnResource):
            raise TypeError("RegionalApi expected the stage's CloudFormation resource")
        # API Gateway refuses RouteSettings naming a route that does not exist yet.
        stage_resource.node.add_dependency(health_route)
        # Route 53's checkers call about once a second in all; their route keeps a bucket of its own.
        stage_resource.add_property_override(
            "RouteSettings",
            {
                f"GET {health_path}": {
                    "ThrottlingRateLimit": _HEALTH_RATE_LIMIT,
                    "ThrottlingBurstLimit": _HEALTH_BURST_LIMIT,
                }
            },
        )
        apigwv2.ApiMapping(
            self, "RegionalMapping", api=self.api, domain_name=self.regional_domain, stage=self.stage
        )
        self.regional_record = route53.ARecord(
            self,
            "RegionalRecord",
            zone=zone,
            record_name=f"{regional_domain_name}.",
            target=route53.RecordTarget.from_alias(
                targets.ApiGatewayv2DomainProperties(
                    self.regional_domain.regional_domain_name, self.regional_domain.regional_hosted_zone_id
                )
            ),
            comment="This region's API by its own name, for its health check and deliberate calls",
        )
