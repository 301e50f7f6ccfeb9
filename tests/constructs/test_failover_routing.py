"""FailoverRouting: one weighted record per region for the shared API name, pointing at that region's
own name and tied to a calculated check: the region's own health route answers ok AND the other
region's health route does not name this region fenced (an inverted check); an alarm per calculated
check; lives in us-east-1, where Route 53 publishes HealthCheckStatus (seed failures 3 and 17).

The tests check the template's shape; what Route 53 does with it is AWS's documented rule, not
something modelled here: a zero-weight record is used only when every non-zero record is unhealthy,
and when all are unhealthy all count as healthy
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html);
calculated and inverted checks
(https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html)."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from dr_constructs.failover_routing import HEALTHY_BODY, FailoverRouting, RegionalEndpoint
from dr_core.failover import fenced_token
from tests.cfn import at_path, only
from tests.conftest import bare_stack, masked
from tests.handlers.loader import load_handler

DOMAIN = "orders-dr.internal.test"
API_DOMAIN = f"api.{DOMAIN}"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
HEALTH_PATH = "/health/0123456789abcdef01234567"
REGIONS = {"us-east-1": "UsEast1", "us-west-2": "UsWest2"}
WEIGHTS = {"us-east-1": 100, "us-west-2": 0}
# Each region's fence is read from the other region's health route.
PEER = {"us-east-1": "us-west-2", "us-west-2": "us-east-1"}


def _regional(region: str) -> str:
    return f"api-{region}.{DOMAIN}"


def _endpoint(region: str, weight: int) -> RegionalEndpoint:
    return RegionalEndpoint(
        region=region,
        weight=weight,
        regional_domain=_regional(region),
        health_check_name=f"dev-{region}-health-v1",
        alarm_name=f"dev-{region}-unhealthy-v1",
    )


def _routing(stack: cdk.Stack, endpoints: list[RegionalEndpoint]) -> FailoverRouting:
    return FailoverRouting(
        stack,
        "Failover",
        zone=route53.HostedZone.from_hosted_zone_attributes(
            stack, "Zone", hosted_zone_id=ZONE_ID, zone_name=DOMAIN
        ),
        api_domain=API_DOMAIN,
        endpoints=endpoints,
        health_path=HEALTH_PATH,
        request_interval=cdk.Duration.seconds(10),
        failure_threshold=2,
        record_ttl=cdk.Duration.seconds(15),
        alert_topic=sns.Topic(stack, "Alerts"),
    )


@pytest.fixture(scope="module")
def routing(config) -> FailoverRouting:
    # Given routing in us-east-1 for two regions weighted 100/0, in an imported zone
    stack = bare_stack(config, "us-east-1")
    return _routing(stack, [_endpoint(region, weight) for region, weight in WEIGHTS.items()])


@pytest.fixture(scope="module")
def template(routing) -> Template:
    return Template.from_stack(cdk.Stack.of(routing))


def _records(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["SetIdentifier"]: r["Properties"]
        for r in template.find_resources("AWS::Route53::RecordSet").values()
    }


def _check(template: Template, region: str, part: str) -> tuple[str, dict[str, Any]]:
    """A region's check: part is HealthCheck (its own), NotFenced or Serving (what its record carries)."""
    (logical_id, resource) = at_path(template, f"Test/Failover/{REGIONS[region]}{part}/Resource")
    return logical_id, resource["Properties"]["HealthCheckConfig"]


# The records


def test_one_weighted_cname_per_region_for_the_api_name_in_the_zone(template):
    # Then each region has one record for the shared API name, with its weight, in the given zone
    assert {
        region: (r["Name"], r["Type"], r["Weight"], r["HostedZoneId"])
        for region, r in _records(template).items()
    } == {
        "us-east-1": (f"{API_DOMAIN}.", "CNAME", 100, ZONE_ID),
        "us-west-2": (f"{API_DOMAIN}.", "CNAME", 0, ZONE_ID),
    }


@pytest.mark.parametrize("region", REGIONS)
def test_each_record_points_at_its_regions_own_name_with_the_configured_ttl(template, region):
    # Then the record's one value is the region's own name, a literal known before any deploy:
    # no generated API Gateway name to look up, and never an ARN (seed failure 3)
    record = _records(template)[region]
    assert (record["ResourceRecords"], record["TTL"]) == ([_regional(region)], "15")


def test_nothing_is_looked_up_at_deploy_time(template):
    # Then routing needs no custom resource nor provider function: every name it uses is known at synth
    template.resource_count_is("Custom::AWS", 0)
    template.resource_count_is("AWS::Lambda::Function", 0)


@pytest.mark.parametrize("region", REGIONS)
def test_each_record_carries_its_regions_calculated_check(template, region):
    # Then Route 53 stops answering with a region's record while its calculated check fails
    (serving_id, _) = _check(template, region, "Serving")
    assert _records(template)[region]["HealthCheckId"] == {"Ref": serving_id}


# The checks


@pytest.mark.parametrize("region", REGIONS)
def test_the_calculated_check_is_healthy_only_while_both_its_children_are(template, region):
    # Given the region's own check and its not-fenced check
    (own_id, _) = _check(template, region, "HealthCheck")
    (not_fenced_id, _) = _check(template, region, "NotFenced")
    # Then the calculated check needs both of them healthy
    (_, serving) = _check(template, region, "Serving")
    assert serving == {
        "Type": "CALCULATED",
        "ChildHealthChecks": [{"Ref": own_id}, {"Ref": not_fenced_id}],
        "HealthThreshold": 2,
        "Inverted": False,
    }


@pytest.mark.parametrize("region", REGIONS)
def test_the_own_check_calls_the_regions_own_name_at_the_health_path_for_the_healthy_body(template, region):
    # Then it is an HTTPS string match on the region's own name and health route, with SNI (the
    # regional API domain answers only for names its certificate covers) and the configured timing
    (_, own) = _check(template, region, "HealthCheck")
    assert own == {
        "Type": "HTTPS_STR_MATCH",
        "FullyQualifiedDomainName": _regional(region),
        "Port": 443,
        "ResourcePath": HEALTH_PATH,
        "SearchString": HEALTHY_BODY,
        "EnableSNI": True,
        "RequestInterval": 10,
        "FailureThreshold": 2,
        "MeasureLatency": True,
        "Inverted": False,
    }


@pytest.mark.parametrize("region", REGIONS)
def test_the_not_fenced_check_is_inverted_on_the_other_regions_name_searching_this_regions_fence(
    template, region
):
    # Then it reads the OTHER region's health route, where the switch's fence shows, for exactly the
    # token naming THIS region fenced; inverted, so a fence (or nothing) there fails it, and the other
    # region being down (no answer) leaves this region healthy
    (_, not_fenced) = _check(template, region, "NotFenced")
    assert not_fenced == {
        "Type": "HTTPS_STR_MATCH",
        "FullyQualifiedDomainName": _regional(PEER[region]),
        "Port": 443,
        "ResourcePath": HEALTH_PATH,
        "SearchString": fenced_token(region),
        "EnableSNI": True,
        "RequestInterval": 10,
        "FailureThreshold": 2,
        "MeasureLatency": False,
        "Inverted": True,
    }


def test_six_checks_in_all(template):
    # Two regions, three checks each: own, not fenced, and the calculated one over both
    template.resource_count_is("AWS::Route53::HealthCheck", 6)


@pytest.mark.parametrize("region", REGIONS)
def test_own_checks_are_the_regions_own_health_not_the_calculated_check(routing, template, region):
    # Then what the construct hands out as a region's own check (for the drill and the dashboard)
    # is the check of its health route alone
    (own_id, _) = _check(template, region, "HealthCheck")
    assert cdk.Stack.of(routing).resolve(routing.own_checks[region].health_check_id) == {"Ref": own_id}


@pytest.mark.parametrize(
    ("part", "suffix"), [("HealthCheck", ""), ("NotFenced", "-not-fenced"), ("Serving", "-serving")]
)
@pytest.mark.parametrize("region", REGIONS)
def test_every_check_is_named_after_its_region(template, region, part, suffix):
    # Then the console lists each check by the name the convention gives, and what it is
    (logical_id, _) = _check(template, region, part)
    tags = template.to_json()["Resources"][logical_id]["Properties"]["HealthCheckTags"]
    assert {"Key": "Name", "Value": f"dev-{region}-health-v1{suffix}"} in tags


def test_three_regions_each_read_their_fence_from_the_next(stack_in):
    # Given three regions
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    stack = stack_in("us-east-1")
    _routing(stack, [_endpoint(region, weight) for region, weight in zip(regions, (100, 0, 0), strict=True)])
    template = Template.from_stack(stack)
    # Then each one's not-fenced check reads the next region's name, the last one the first's
    for region, peer in zip(regions, regions[1:] + regions[:1], strict=True):
        template.has_resource_properties(
            "AWS::Route53::HealthCheck",
            {
                "HealthCheckConfig": Match.object_like(
                    {"FullyQualifiedDomainName": _regional(peer), "SearchString": fenced_token(region)}
                )
            },
        )


# What the health route answers, and what the checks search for


def test_the_healthy_search_string_is_in_a_healthy_answer_and_not_in_an_unhealthy_one():
    # Given the order function's health report of a healthy and an unhealthy region
    checks = load_handler("orders", "health_checks")
    ok = checks.CheckResult("table", ok=True)
    failed = checks.CheckResult("table", ok=False, reason="ClientError")
    # Then the own check's search string matches only the healthy one, or failover would never end
    assert HEALTHY_BODY in checks.HealthReport(region="us-west-2", results=(ok, ok)).body()
    assert HEALTHY_BODY not in checks.HealthReport(region="us-west-2", results=(ok, failed)).body()


def test_the_fence_search_string_is_in_an_answer_only_while_that_region_is_fenced():
    # Given the DR region's health report with the primary fenced, and without
    checks = load_handler("orders", "health_checks")
    ok = checks.CheckResult("table", ok=True)
    fenced = checks.HealthReport(region="us-west-2", results=(ok,), fenced=("us-east-1",)).body()
    not_fenced = checks.HealthReport(region="us-west-2", results=(ok,)).body()
    # Then the primary's inverted check finds its token only in the first, and no other region's
    assert fenced_token("us-east-1") in fenced
    assert fenced_token("us-west-2") not in fenced
    assert fenced_token("us-east-1") not in not_fenced


# The alarms


@pytest.mark.parametrize("region", REGIONS)
def test_an_alarm_notifies_the_topic_when_a_regions_calculated_check_fails_and_recovers(template, region):
    # Then the status of the check the record carries alarms below 1, on alarm and on recovery:
    # a region unhealthy or fenced is a region DNS no longer answers with
    (serving_id, _) = _check(template, region, "Serving")
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"dev-{region}-unhealthy-v1",
            "Namespace": "AWS/Route53",
            "MetricName": "HealthCheckStatus",
            "Dimensions": [{"Name": "HealthCheckId", "Value": {"Ref": serving_id}}],
            "Statistic": "Minimum",
            "Period": 60,
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            # No status is no health: a check that stopped reporting alarms.
            "TreatMissingData": "breaching",
            "AlarmActions": [{"Ref": topic_id}],
            "OKActions": [{"Ref": topic_id}],
        },
    )


# What is refused


def test_routing_outside_us_east_1_is_refused(stack_in):
    # Given a stack in us-west-2, where Route 53 publishes no HealthCheckStatus
    stack = stack_in("us-west-2")
    # When routing is made there, Then it fails naming the region it must live in
    with pytest.raises(ValueError, match="FailoverRouting must live in us-east-1"):
        _routing(stack, [_endpoint(r, w) for r, w in WEIGHTS.items()])


@pytest.mark.parametrize(
    "regions", [["us-east-1"], ["us-east-1", "us-east-1"]], ids=["one region", "same region twice"]
)
def test_routing_needs_two_distinct_regions(stack_in, regions):
    # Given endpoints in fewer than two regions, When routing is made, Then it is refused
    with pytest.raises(ValueError, match="two or more endpoints in distinct regions"):
        _routing(stack_in("us-east-1"), [_endpoint(r, 100) for r in regions])


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
