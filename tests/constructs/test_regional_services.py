"""RegionalServices: what both regions run the same way, composed from other constructs. A smoke
test of what it wires together (names, key, topic, zone, the API's names, issuer and health path,
thresholds, the other region); each part has its own construct test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from dr_constructs.app_key import AppKey
from dr_constructs.regional_services import RegionalServices
from dr_core.config import AppConfig
from tests.cfn import at_path
from tests.conftest import ACCOUNT, bare_stack, default_context, masked

API_DOMAIN = "api.orders-dr.internal.test"
REGIONAL_DOMAIN = "api-us-west-2.orders-dr.internal.test"
ZONE_PARAMETER = "/dev-us-east-1-orders-dns-v1/hosted-zone-id"


@pytest.fixture(scope="module")
def tuned() -> AppConfig:
    """cdk.json's config with two thresholds off their defaults, to show where they land."""
    thresholds = {
        **default_context()["alarmThresholds"],
        "apiLatencyP90Ms": 900,
        "dynamodbReplicationLatencyMs": 2000,
    }
    return AppConfig.from_context(default_context(alarmThresholds=thresholds))


@pytest.fixture(scope="module")
def template(tuned, names) -> Template:
    # Given the DR region's services, with the DR region's key, in a stack of the DR region
    stack = bare_stack(tuned, "us-west-2")
    key = AppKey(stack, "Key", alias=names.dr.key_alias, region="us-west-2", account=ACCOUNT)
    RegionalServices(stack, "Services", config=tuned, region=tuned.dr, names=names, key=key)
    return Template.from_stack(stack)


def _id(template: Template, path: str) -> str:
    return at_path(template, f"Test/{path}")[0]


def _props(template: Template, path: str) -> dict[str, Any]:
    return at_path(template, f"Test/{path}")[1]["Properties"]


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def test_it_runs_in_one_network_of_its_own(template):
    # Then one VPC, on the configured range of its region
    template.resource_count_is("AWS::EC2::VPC", 1)
    template.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.20.0.0/16"})


def test_the_alert_topic_has_the_regions_name_and_key(template):
    # Then the topic is named for this region and encrypted with this region's key
    topic = _props(template, "Services/Alerts/Topic/Resource")
    assert topic["TopicName"] == "dev-us-west-2-alerts-v1"
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [_id(template, "Key/Key/Resource"), "Arn"]}


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("OrderService/Orders", "dev-us-west-2-orders-v1"),
        ("AlertForwarder/Forwarder", "dev-us-west-2-alert-forwarder-v1"),
    ],
)
def test_each_function_has_the_regions_name_and_logs_under_its_key_for_the_configured_days(
    template, path, name
):
    # Then each function is named for this region and logs under its key for logRetentionDays
    assert _props(template, f"Services/{path}/Function/Resource")["FunctionName"] == name
    logs = _props(template, f"Services/{path}/Logs/Resource")
    assert logs == {
        "KmsKeyId": {"Fn::GetAtt": [_id(template, "Key/Key/Resource"), "Arn"]},
        "RetentionInDays": 90,
    }


def _zone_id(template: Template) -> dict[str, Any]:
    return {"Fn::GetAtt": [_id(template, "Services/ZoneLookup/Call/Resource/Default"), "Parameter.Value"]}


def test_the_zone_is_read_at_deploy_time_by_the_name_the_dns_stack_publishes_it_under(template):
    call = json.loads(_props(template, "Services/ZoneLookup/Call/Resource/Default")["Update"])
    assert (call["action"], call["region"], call["parameters"]) == (
        "getParameter",
        "us-east-1",
        {"Name": ZONE_PARAMETER},
    )


def test_one_certificate_covers_the_shared_and_this_regions_name_validated_in_the_zone(template):
    # Then the certificate names the shared API domain and this region's own, both validated in the zone
    certificate = _props(template, "Services/Api/Certificate/Resource")
    assert (certificate["DomainName"], certificate["SubjectAlternativeNames"]) == (
        API_DOMAIN,
        [REGIONAL_DOMAIN],
    )
    assert certificate["DomainValidationOptions"] == [
        {"DomainName": name, "HostedZoneId": _zone_id(template)} for name in (API_DOMAIN, REGIONAL_DOMAIN)
    ]


def test_the_api_serves_the_shared_name_and_this_regions_own(template):
    domains = template.find_resources("AWS::ApiGatewayV2::DomainName").values()
    assert sorted(d["Properties"]["DomainName"] for d in domains) == [REGIONAL_DOMAIN, API_DOMAIN]


def test_this_regions_own_name_is_published_in_the_zone(template):
    # Then the A alias record of the regional name, the name the routing stack's checks call, is in
    # the zone read by name
    record = _props(template, "Services/Api/RegionalRecord/Resource")
    assert (record["Name"], record["Type"], record["HostedZoneId"]) == (
        f"{REGIONAL_DOMAIN}.",
        "A",
        _zone_id(template),
    )


def test_the_order_routes_take_jwts_of_the_configured_issuer_and_audiences(tuned, template):
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"JwtConfiguration": {"Issuer": tuned.auth.issuer, "Audience": list(tuned.auth.audiences)}},
    )


def test_the_api_routes_the_configured_health_path_the_order_function_is_told(tuned, template):
    # Then the anonymous route is the configured path, and the function routes that same path
    health_path = tuned.traffic.health_path
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": f"GET {health_path}", "AuthorizationType": "NONE"}
    )
    function = _props(template, "Services/OrderService/Orders/Function/Resource")
    assert function["Environment"]["Variables"]["HEALTH_PATH"] == health_path


def test_the_api_invokes_this_regions_order_function(template):
    # Then the API of this region's name proxies to the order function made alongside it
    order_function = _id(template, "Services/OrderService/Orders/Function/Resource")
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "IntegrationUri": {"Fn::GetAtt": [order_function, "Arn"]}},
    )
    assert _props(template, "Services/Api/Api/Resource")["Name"] == "dev-us-west-2-orders-v1"


def test_the_forwarder_takes_the_other_regions_alerts_into_this_regions_topic(template):
    # Then it publishes into this region's topic, and only the other region's topic may invoke it
    topic = _id(template, "Services/Alerts/Topic/Resource")
    env = _props(template, "Services/AlertForwarder/Forwarder/Function/Resource")["Environment"]["Variables"]
    assert (env["TARGET_TOPIC_ARN"], env["SOURCE_REGION"]) == ({"Ref": topic}, "us-east-1")
    permission = _props(template, "Services/AlertForwarder/Forwarder/Function/InvokedByOtherRegionAlerts")
    assert (permission["Principal"], permission["SourceArn"]) == (
        "sns.amazonaws.com",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:dev-us-east-1-alerts-v1",
    )


def test_the_api_and_every_function_are_alarmed_with_the_configured_thresholds(template):
    # Then the API and its two functions are monitored, with apiLatencyP90Ms from the config
    alarms = _alarms(template)
    prefix = "dev-us-west-2-orders-v1"
    for function in ("orders", "alert-forwarder"):
        assert f"{prefix}-{function}-Fault-Count-Critical" in alarms
        assert f"{prefix}-{function}-Throttled-Count-Critical" in alarms
    assert f"{prefix}-api-Fault-Count-Critical" in alarms
    assert alarms[f"{prefix}-api-Latency-P90-Warning"]["Threshold"] == 900


def test_table_replication_to_the_other_region_is_alarmed_with_the_configured_threshold(template):
    # Then DR alarms on its replication to the primary, with dynamodbReplicationLatencyMs from the config
    alarm = _alarms(template)["dev-us-west-2-orders-v1-dynamodb-replication-to-us-east-1"]
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "TableName": "dev-us-east-1-orders-v1",
        "ReceivingRegion": "us-east-1",
    }
    assert alarm["Threshold"] == 2000


def test_every_alarm_notifies_this_regions_topic_on_alarm_and_on_recovery(template):
    topic = _id(template, "Services/Alerts/Topic/Resource")
    alarms = _alarms(template)
    # The API's 2, two functions' 4, the table's 1 and the forwarder's dead-letter queue's 2
    assert len(alarms) == 9
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], name
        assert alarm["OKActions"] == [{"Ref": topic}], name


def test_no_dashboard_is_made_in_a_region(template):
    # The unified dashboard in the observer stack shows both regions.
    template.resource_count_is("AWS::CloudWatch::Dashboard", 0)


def test_services_for_one_region_in_a_stack_of_another_are_refused(stack_in, config, names):
    # Given a stack in us-west-2
    stack = stack_in("us-west-2")
    key = AppKey(stack, "Key", alias=names.primary.key_alias, region="us-east-1", account=ACCOUNT)
    # When the primary region's services are made in it, Then it fails naming the region
    with pytest.raises(ValueError, match="RegionalServices for us-east-1 must be in a stack of that region"):
        RegionalServices(stack, "Services", config=config, region=config.primary, names=names, key=key)


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
