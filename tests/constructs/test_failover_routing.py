"""FailoverRouting: one weighted record per region for the API name, pointing at that region's API
domain and tied to an HTTPS string-match health check of its health Function URL, with an alarm per
check; lives in us-east-1, where Route 53 publishes HealthCheckStatus (seed failures 3 and 17)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from dr_constructs.failover_routing import HEALTHY_BODY, FailoverRouting, RegionalEndpoint
from tests.cfn import at_path, only
from tests.conftest import ACCOUNT, bare_stack, masked
from tests.handlers.loader import load_handler

API_DOMAIN = "api.orders-dr.internal.test"
ZONE_ID = "Z0123456789ABCDEFGHIJ"
REGIONS = {"us-east-1": "UsEast1", "us-west-2": "UsWest2"}
WEIGHTS = {"us-east-1": 100, "us-west-2": 0}


def _endpoint(names, region: str, weight: int) -> RegionalEndpoint:
    region_names = names.primary if region == names.primary.region else names.dr
    return RegionalEndpoint(
        region=region,
        weight=weight,
        health_function_name=region_names.health_function,
        health_check_name=f"dev-{region}-health-v1",
        alarm_name=f"dev-{region}-unhealthy-v1",
    )


def _routing(stack: cdk.Stack, names, endpoints: list[RegionalEndpoint]) -> FailoverRouting:
    return FailoverRouting(
        stack,
        "Failover",
        zone=route53.HostedZone.from_hosted_zone_attributes(
            stack, "Zone", hosted_zone_id=ZONE_ID, zone_name="orders-dr.internal.test"
        ),
        api_domain=API_DOMAIN,
        endpoints=endpoints,
        request_interval=cdk.Duration.seconds(10),
        failure_threshold=2,
        record_ttl=cdk.Duration.seconds(15),
        alert_topic=sns.Topic(stack, "Alerts"),
        log_key=kms.Key(stack, "LogKey"),
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )


@pytest.fixture(scope="module")
def template(config, names) -> Template:
    # Given routing in us-east-1 for two regions weighted 100/0, in an imported zone
    stack = bare_stack(config, "us-east-1")
    _routing(stack, names, [_endpoint(names, region, weight) for region, weight in WEIGHTS.items()])
    return Template.from_stack(stack)


def _records(template: Template) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["SetIdentifier"]: r["Properties"]
        for r in template.find_resources("AWS::Route53::RecordSet").values()
    }


def _call(template: Template, logical_id: str) -> dict[str, Any]:
    """The AWS SDK call a DeployTimeLookup's custom resource makes at deploy time."""
    return json.loads(template.to_json()["Resources"][logical_id]["Properties"]["Update"])


def test_one_weighted_cname_per_region_for_the_api_name_in_the_zone(template):
    # Then each region has one record for the API name, with its weight, in the given zone
    assert {
        region: (r["Name"], r["Type"], r["Weight"], r["HostedZoneId"])
        for region, r in _records(template).items()
    } == {
        "us-east-1": (f"{API_DOMAIN}.", "CNAME", 100, ZONE_ID),
        "us-west-2": (f"{API_DOMAIN}.", "CNAME", 0, ZONE_ID),
    }


@pytest.mark.parametrize("region", REGIONS)
def test_record_targets_the_regions_api_domain_name_never_an_arn(template, region):
    # Given the record of one region, with the configured TTL
    record = _records(template)[region]
    assert record["TTL"] == "15"
    # Then its one value is the API Gateway domain name of the API domain in that region
    (target,) = record["ResourceRecords"]
    lookup_id, path = target["Fn::GetAtt"]
    assert path == "DomainNameConfigurations.0.ApiGatewayDomainName"
    call = _call(template, lookup_id)
    assert (call["service"], call["action"], call["region"]) == ("ApiGatewayV2", "getDomainName", region)
    assert call["parameters"] == {"DomainName": API_DOMAIN}
    # And never an ARN (seed failure 3: a record pointing at a function ARN resolves nowhere)
    assert "arn:" not in json.dumps(record["ResourceRecords"])


@pytest.mark.parametrize(("region", "region_id"), REGIONS.items())
def test_each_record_is_tied_to_its_regions_health_check(template, region, region_id):
    # Then Route 53 stops answering with a region's record while that region's check fails
    (check_id, _) = at_path(template, f"Test/Failover/{region_id}HealthCheck/Resource")
    assert _records(template)[region]["HealthCheckId"] == {"Ref": check_id}


@pytest.mark.parametrize(("region", "region_id"), REGIONS.items())
def test_health_check_targets_the_host_of_the_regions_health_function_url(template, names, region, region_id):
    # Given the health check of one region
    (_, check) = at_path(template, f"Test/Failover/{region_id}HealthCheck/Resource")
    fqdn = check["Properties"]["HealthCheckConfig"]["FullyQualifiedDomainName"]
    # Then its FQDN is the host of the Function URL: https://<host>/ split on "/" is [https:, "", host, ""]
    index, split = fqdn["Fn::Select"]
    separator, (lookup_id, path) = split["Fn::Split"][0], split["Fn::Split"][1]["Fn::GetAtt"]
    assert (index, separator, path) == (2, "/", "FunctionUrl")
    # And the URL is read at deploy time from that region's health function, by its name
    call = _call(template, lookup_id)
    assert (call["service"], call["action"], call["region"]) == ("Lambda", "getFunctionUrlConfig", region)
    health_function = (names.primary if region == "us-east-1" else names.dr).health_function
    assert call["parameters"] == {"FunctionName": health_function}


@pytest.mark.parametrize(("region", "region_id"), REGIONS.items())
def test_each_lookup_may_read_only_its_own_function_url_and_api_domain(template, names, region, region_id):
    # Then each deploy-time call may read one function's URL or one domain name, in its region
    health_function = (names.primary if region == "us-east-1" else names.dr).health_function
    for lookup, action, resource in (
        (
            "HealthUrl",
            "lambda:GetFunctionUrlConfig",
            f"arn:aws:lambda:{region}:{ACCOUNT}:function:{health_function}",
        ),
        ("ApiDomain", "apigateway:GET", f"arn:aws:apigateway:{region}::/domainnames/{API_DOMAIN}"),
    ):
        (_, policy) = at_path(
            template, f"Test/Failover/{region_id}{lookup}/Call/CustomResourcePolicy/Resource"
        )
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert (statement["Action"], statement["Resource"]) == (action, resource)


def test_health_checks_match_the_healthy_body_over_https_on_the_health_path(template):
    # Then both checks are HTTPS string matches on /health with SNI and the configured timing (seed 17)
    template.resource_count_is("AWS::Route53::HealthCheck", 2)
    for check in template.find_resources("AWS::Route53::HealthCheck").values():
        config = dict(check["Properties"]["HealthCheckConfig"])
        del config["FullyQualifiedDomainName"]
        assert config == {
            "Type": "HTTPS_STR_MATCH",
            "Port": 443,
            "ResourcePath": "/health",
            "SearchString": '"status":"ok"',
            "EnableSNI": True,
            "RequestInterval": 10,
            "FailureThreshold": 2,
            "MeasureLatency": True,
            "Inverted": False,
        }


@pytest.mark.parametrize("region", REGIONS)
def test_health_check_is_named_after_its_region(template, region):
    # Then the console lists each check by the name the convention gives
    template.has_resource_properties(
        "AWS::Route53::HealthCheck",
        {"HealthCheckTags": Match.array_with([{"Key": "Name", "Value": f"dev-{region}-health-v1"}])},
    )


def test_the_search_string_is_in_a_healthy_answer_and_not_in_an_unhealthy_one():
    # Given the health function's own report of a healthy and an unhealthy region
    checks = load_handler("health", "health_checks")
    ok = checks.CheckResult("table", ok=True)
    failed = checks.CheckResult("table", ok=False, reason="ClientError")
    # Then the check's search string matches only the healthy one, or failover would never end
    assert HEALTHY_BODY in checks.HealthReport(region="us-west-2", results=(ok, ok)).body()
    assert HEALTHY_BODY not in checks.HealthReport(region="us-west-2", results=(ok, failed)).body()


@pytest.mark.parametrize(("region", "region_id"), REGIONS.items())
def test_an_alarm_notifies_the_topic_when_a_regions_health_check_fails_and_recovers(
    template, region, region_id
):
    # Then each check's status alarms below 1 and notifies the topic on alarm and on recovery
    (check_id, _) = at_path(template, f"Test/Failover/{region_id}HealthCheck/Resource")
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"dev-{region}-unhealthy-v1",
            "Namespace": "AWS/Route53",
            "MetricName": "HealthCheckStatus",
            "Dimensions": [{"Name": "HealthCheckId", "Value": {"Ref": check_id}}],
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


def test_every_lookup_shares_one_provider_logging_under_the_given_key_for_the_given_days(template):
    # Then the four deploy-time lookups share the stack's one provider function, which logs to a
    # group encrypted with the given key and expiring after the given days
    template.resource_count_is("Custom::AWS", 4)
    (_, provider) = only(template, "AWS::Lambda::Function")
    (key_id, _) = only(template, "AWS::KMS::Key")
    (group_id, group) = only(template, "AWS::Logs::LogGroup")
    assert provider["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}
    assert group["Properties"] == {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}, "RetentionInDays": 90}


def test_routing_outside_us_east_1_is_refused(stack_in, names):
    # Given a stack in us-west-2, where Route 53 publishes no HealthCheckStatus
    stack = stack_in("us-west-2")
    # When routing is made there, Then it fails naming the region it must live in
    with pytest.raises(ValueError, match="FailoverRouting must live in us-east-1"):
        _routing(stack, names, [_endpoint(names, r, w) for r, w in WEIGHTS.items()])


@pytest.mark.parametrize(
    "regions", [["us-east-1"], ["us-east-1", "us-east-1"]], ids=["one region", "same region twice"]
)
def test_routing_needs_two_distinct_regions(stack_in, names, regions):
    # Given endpoints in fewer than two regions, When routing is made, Then it is refused
    with pytest.raises(ValueError, match="two or more endpoints in distinct regions"):
        _routing(stack_in("us-east-1"), names, [_endpoint(names, r, 100) for r in regions])


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
