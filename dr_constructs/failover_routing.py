from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_core.config import GLOBAL_REGION
from dr_core.failover import fenced_token
from dr_core.naming import pascal

# What the order function's health route answers, first in its body, only when its region is healthy.
HEALTHY_BODY = '"status":"ok"'


@dataclass(frozen=True)
class RegionalEndpoint:
    """One region's record: its weight, its own API name, and names for its check and alarm."""

    region: str
    weight: int
    regional_domain: str
    health_check_name: str
    alarm_name: str


class FailoverRouting(Construct):
    """Weighted records for the shared API name, one per region, each pointing at the region's own
    name and tied to a calculated health check of two parts:

    - the region's health route, through its API Gateway into its order function (the path users
      take), answering ``"status":"ok"``;
    - inverted: the other region's health route naming this region fenced. The failover switch
      writes the fence in the other region's table replica, a data-plane write that needs neither
      this region nor us-east-1; when the other region is down, the check fails, the inversion
      reads healthy, and this region keeps its traffic.

    Route 53 answers with a weight-0 record only when every non-zero record is unhealthy: with
    100/0 weights that is failover to DR. Lives in us-east-1, the only region where Route 53
    publishes HealthCheckStatus; an alarm per region watches its calculated check.

    Args:
        zone: the hosted zone of the shared name.
        api_domain: the shared name users call.
        endpoints: the regions (two or more, distinct); each one's fence is read from the next.
        health_path: the health route's path on every regional name.
        request_interval, failure_threshold: Route 53's check interval and failures before unhealthy.
        record_ttl: the TTL of the weighted records.
        alert_topic: notified when a region turns unhealthy and when it recovers.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        zone: route53.IHostedZone,
        api_domain: str,
        endpoints: Sequence[RegionalEndpoint],
        health_path: str,
        request_interval: cdk.Duration,
        failure_threshold: int,
        record_ttl: cdk.Duration,
        alert_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id)
        if cdk.Stack.of(self).region != GLOBAL_REGION:
            raise ValueError(
                f"FailoverRouting must live in {GLOBAL_REGION}, where HealthCheckStatus is published"
            )
        if len({e.region for e in endpoints}) != len(endpoints) or len(endpoints) < 2:
            raise ValueError("FailoverRouting needs two or more endpoints in distinct regions")
        # The region's own health, as users reach it; what the drill and the dashboard watch too.
        self.own_checks: dict[str, route53.HealthCheck] = {}
        # What each record carries: own health and not fenced.
        self.health_checks: dict[str, route53.HealthCheck] = {}
        self.records: dict[str, route53.CnameRecord] = {}
        self.alarms: dict[str, cw.Alarm] = {}
        notify = cw_actions.SnsAction(alert_topic)

        def https_check(check_id: str, fqdn: str, search: str, inverted: bool) -> route53.HealthCheck:
            return route53.HealthCheck(
                self,
                check_id,
                type=route53.HealthCheckType.HTTPS_STR_MATCH,
                fqdn=fqdn,
                port=443,
                resource_path=health_path,
                search_string=search,
                request_interval=request_interval,
                failure_threshold=failure_threshold,
                inverted=inverted,
                measure_latency=not inverted,
                enable_sni=True,
            )

        for index, endpoint in enumerate(endpoints):
            peer = endpoints[(index + 1) % len(endpoints)]
            region_id = pascal(endpoint.region)
            own = https_check(f"{region_id}HealthCheck", endpoint.regional_domain, HEALTHY_BODY, False)
            cdk.Tags.of(own).add("Name", endpoint.health_check_name)
            not_fenced = https_check(
                f"{region_id}NotFenced", peer.regional_domain, fenced_token(endpoint.region), True
            )
            cdk.Tags.of(not_fenced).add("Name", f"{endpoint.health_check_name}-not-fenced")
            effective = route53.HealthCheck(
                self,
                f"{region_id}Serving",
                type=route53.HealthCheckType.CALCULATED,
                child_health_checks=[own, not_fenced],
                health_threshold=2,
            )
            cdk.Tags.of(effective).add("Name", f"{endpoint.health_check_name}-serving")
            self.own_checks[endpoint.region] = own
            self.health_checks[endpoint.region] = effective
            self.records[endpoint.region] = route53.CnameRecord(
                self,
                f"{region_id}Record",
                zone=zone,
                record_name=f"{api_domain}.",
                # The region's own name in the same zone: no generated API Gateway name to look up.
                domain_name=endpoint.regional_domain,
                ttl=record_ttl,
                weight=endpoint.weight,
                set_identifier=endpoint.region,
                health_check=effective,
                comment=f"{api_domain} in {endpoint.region}, weight {endpoint.weight}",
            )
            alarm = cw.Alarm(
                self,
                f"{region_id}Unhealthy",
                alarm_name=endpoint.alarm_name,
                alarm_description=(
                    f"Route 53 sees {endpoint.region} unhealthy or fenced: traffic for {api_domain} goes "
                    "to the other region"
                ),
                metric=cw.Metric(
                    namespace="AWS/Route53",
                    metric_name="HealthCheckStatus",
                    dimensions_map={"HealthCheckId": effective.health_check_id},
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
