from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_constructs.deploy_time_lookup import DeployTimeLookup
from dr_core.config import GLOBAL_REGION

# What the health function answers, first in its body, only when its region is healthy.
HEALTHY_BODY = '"status":"ok"'
HEALTH_PATH = "/health"


@dataclass(frozen=True)
class RegionalEndpoint:
    region: str
    weight: int
    health_function_name: str
    health_check_name: str
    alarm_name: str


class FailoverRouting(Construct):
    """Weighted records for the API name, one per region, each tied to an HTTPS
    health check of that region's health Function URL, and an alarm per check.

    Route 53 answers with a weight-0 record only when every non-zero record is
    unhealthy: with 100/0 weights that is failover to DR. Lives in us-east-1,
    the only region where Route 53 publishes HealthCheckStatus.

    The Function URL host and the regional API domain are generated when the
    regional stacks deploy; they are read at deploy time by function and domain
    name, which the naming convention gives.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        zone: route53.IHostedZone,
        api_domain: str,
        endpoints: Sequence[RegionalEndpoint],
        request_interval: cdk.Duration,
        failure_threshold: int,
        record_ttl: cdk.Duration,
        alert_topic: sns.ITopic,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        if stack.region != GLOBAL_REGION:
            raise ValueError(
                f"FailoverRouting must live in {GLOBAL_REGION}, where HealthCheckStatus is published"
            )
        if len({e.region for e in endpoints}) != len(endpoints) or len(endpoints) < 2:
            raise ValueError("FailoverRouting needs two or more endpoints in distinct regions")
        self.health_checks: dict[str, route53.HealthCheck] = {}
        self.records: dict[str, route53.CnameRecord] = {}
        self.alarms: dict[str, cw.Alarm] = {}
        # Each region's health Function URL, as read at deploy time ("https://<host>/").
        self.health_urls: dict[str, str] = {}
        notify = cw_actions.SnsAction(alert_topic)
        for endpoint in endpoints:
            region_id = "".join(part.capitalize() for part in endpoint.region.split("-"))
            function_arn = (
                f"arn:{stack.partition}:lambda:{endpoint.region}:{stack.account}:function:"
                f"{endpoint.health_function_name}"
            )
            url = DeployTimeLookup(
                self,
                f"{region_id}HealthUrl",
                service="Lambda",
                action="getFunctionUrlConfig",
                parameters={"FunctionName": endpoint.health_function_name},
                output_path="FunctionUrl",
                region=endpoint.region,
                log_key=log_key,
                log_retention=log_retention,
                permissions=[
                    iam.PolicyStatement(actions=["lambda:GetFunctionUrlConfig"], resources=[function_arn])
                ],
            )
            api_target = DeployTimeLookup(
                self,
                f"{region_id}ApiDomain",
                service="ApiGatewayV2",
                action="getDomainName",
                parameters={"DomainName": api_domain},
                output_path="DomainNameConfigurations.0.ApiGatewayDomainName",
                region=endpoint.region,
                log_key=log_key,
                log_retention=log_retention,
                permissions=[
                    iam.PolicyStatement(
                        actions=["apigateway:GET"],
                        resources=[
                            f"arn:{stack.partition}:apigateway:{endpoint.region}::/domainnames/{api_domain}"
                        ],
                    )
                ],
            )
            self.health_urls[endpoint.region] = url.value
            health_check = route53.HealthCheck(
                self,
                f"{region_id}HealthCheck",
                type=route53.HealthCheckType.HTTPS_STR_MATCH,
                # https://<host>/ -> <host>: the Function URL's host, never an ARN.
                fqdn=cdk.Fn.select(2, cdk.Fn.split("/", url.value)),
                port=443,
                resource_path=HEALTH_PATH,
                search_string=HEALTHY_BODY,
                request_interval=request_interval,
                failure_threshold=failure_threshold,
                measure_latency=True,
                enable_sni=True,
            )
            cdk.Tags.of(health_check).add("Name", endpoint.health_check_name)
            self.health_checks[endpoint.region] = health_check
            self.records[endpoint.region] = route53.CnameRecord(
                self,
                f"{region_id}Record",
                zone=zone,
                record_name=f"{api_domain}.",
                domain_name=api_target.value,
                ttl=record_ttl,
                weight=endpoint.weight,
                set_identifier=endpoint.region,
                health_check=health_check,
                comment=f"{api_domain} in {endpoint.region}, weight {endpoint.weight}",
            )
            alarm = cw.Alarm(
                self,
                f"{region_id}Unhealthy",
                alarm_name=endpoint.alarm_name,
                alarm_description=(
                    f"Route 53 sees {endpoint.region} unhealthy: traffic for {api_domain} fails over "
                    "to the other region"
                ),
                metric=cw.Metric(
                    namespace="AWS/Route53",
                    metric_name="HealthCheckStatus",
                    dimensions_map={"HealthCheckId": health_check.health_check_id},
                    statistic="Minimum",
                    period=cdk.Duration.minutes(1),
                ),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cw.TreatMissingData.BREACHING,
            )
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
            self.alarms[endpoint.region] = alarm
