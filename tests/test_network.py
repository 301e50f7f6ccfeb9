"""A VPC over every configured AZ; security groups that allow only what each side calls."""

from __future__ import annotations

import pytest

from tests.cfn import at_path, render
from tests.conftest import synthesize

REGIONS = [("primary", "PrimaryRegion", "us-east-1"), ("dr", "DrRegion", "us-west-2")]


def _subnets(template, name):
    return [
        r["Properties"]
        for r in template.find_resources("AWS::EC2::Subnet").values()
        if {"Key": "aws-cdk:subnet-name", "Value": name} in r["Properties"]["Tags"]
    ]


@pytest.mark.parametrize(("stack", "_", "region"), REGIONS)
def test_function_and_database_subnets_span_every_configured_zone(request, stack, _, region):
    template = request.getfixturevalue(stack)
    zones = [f"{region}{letter}" for letter in "abc"]
    for name in ("functions", "database"):
        assert sorted(s["AvailabilityZone"] for s in _subnets(template, name)) == zones


@pytest.mark.parametrize(("stack", "_", "region"), REGIONS)
def test_endpoint_mode_has_no_route_to_the_internet(request, stack, _, region):
    template = request.getfixturevalue(stack)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    for subnet in _subnets(template, "functions"):
        assert subnet["MapPublicIpOnLaunch"] is False


@pytest.mark.parametrize(("stack", "_", "region"), REGIONS)
def test_aws_apis_are_reached_through_vpc_endpoints(request, stack, _, region):
    endpoints = request.getfixturevalue(stack).find_resources("AWS::EC2::VPCEndpoint").values()
    by_service = {
        render(e["Properties"]["ServiceName"]).replace("<Ref:AWS::Region>", region): e["Properties"].get(
            "VpcEndpointType", "Gateway"
        )
        for e in endpoints
    }
    assert by_service == {
        f"com.amazonaws.{region}.dynamodb": "Gateway",
        f"com.amazonaws.{region}.s3": "Gateway",
        f"com.amazonaws.{region}.ssm": "Interface",
        f"com.amazonaws.{region}.secretsmanager": "Interface",
    }
    for endpoint in endpoints:
        if endpoint["Properties"].get("VpcEndpointType") == "Interface":
            assert endpoint["Properties"]["PrivateDnsEnabled"] is True


@pytest.mark.parametrize(("stack", "_", "region"), REGIONS)
def test_flow_logs_capture_all_traffic_into_an_encrypted_group(request, stack, _, region):
    template = request.getfixturevalue(stack)
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL", "ResourceType": "VPC"})
    (key_id,) = template.find_resources("AWS::KMS::Key")
    (flow_log,) = template.find_resources("AWS::EC2::FlowLog").values()
    group_id = flow_log["Properties"]["LogGroupName"]["Ref"]
    group = template.to_json()["Resources"][group_id]["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert group["RetentionInDays"] == 90


def _group_id(template, stack_id, name):
    (logical_id, _) = at_path(template, f"{stack_id}/Network/{name}/Resource")
    return {"Fn::GetAtt": [logical_id, "GroupId"]}


def _rules(template, kind, group):
    # The rotation function's rules use the instance's port attribute; the instance listens on 5432.
    rules = []
    for resource in template.find_resources(f"AWS::EC2::SecurityGroup{kind}").values():
        rule = dict(resource["Properties"])
        if rule["GroupId"] != group:
            continue
        for end in ("FromPort", "ToPort"):
            if rule[end] == {"Fn::GetAtt": ["DatabaseInstanceAA8A5FDE", "Endpoint.Port"]}:
                rule[end] = 5432
        rules.append(rule)
    return rules


@pytest.mark.parametrize(("stack", "stack_id", "_"), REGIONS)
def test_functions_may_open_only_https_to_aws_apis_and_the_database_port(request, stack, stack_id, _):
    template = request.getfixturevalue(stack)
    functions = _group_id(template, stack_id, "FunctionsSecurityGroup")
    egress = {
        (
            rule["FromPort"],
            rule["ToPort"],
            "group" if "DestinationSecurityGroupId" in rule else "prefix-list",
            rule.get("DestinationSecurityGroupId", {}).get("Fn::GetAtt", [None])[0]
            or rule["DestinationPrefixListId"]["Fn::GetAtt"][0],
        )
        for rule in _rules(template, "Egress", functions)
    }
    endpoints = _group_id(template, stack_id, "EndpointsSecurityGroup")["Fn::GetAtt"][0]
    database = _group_id(template, stack_id, "DatabaseSecurityGroup")["Fn::GetAtt"][0]
    (dynamodb_list, _) = at_path(template, f"{stack_id}/Network/DynamodbPrefixList/Call/Resource/Default")
    (s3_list, _) = at_path(template, f"{stack_id}/Network/S3PrefixList/Call/Resource/Default")
    expected = {
        (443, 443, "group", endpoints),
        (443, 443, "prefix-list", dynamodb_list),
        (443, 443, "prefix-list", s3_list),
    }
    # Only the region with a database opens its port; the DR region has none to reach.
    if stack == "primary":
        expected.add((5432, 5432, "group", database))
    assert egress == expected
    # No inline allow-all rule either.
    (_, group) = at_path(template, f"{stack_id}/Network/FunctionsSecurityGroup/Resource")
    assert "SecurityGroupEgress" not in group["Properties"]


@pytest.mark.parametrize(("stack", "stack_id", "_"), REGIONS)
def test_database_and_endpoints_accept_only_the_functions_group(request, stack, stack_id, _):
    template = request.getfixturevalue(stack)
    functions = _group_id(template, stack_id, "FunctionsSecurityGroup")
    open_groups = (("DatabaseSecurityGroup", 5432), ("EndpointsSecurityGroup", 443))
    for name, port in open_groups:
        group = _group_id(template, stack_id, name)
        ingress = _rules(template, "Ingress", group)
        expected = {(port, port, str(functions))}
        if name == "DatabaseSecurityGroup" and stack == "dr":
            expected = set()  # no database in DR: its group stays shut
        # One rule each: EC2 refuses a duplicate, and the rotation asks for the same one.
        assert len(ingress) == len(expected)
        assert {(r["FromPort"], r["ToPort"], str(r["SourceSecurityGroupId"])) for r in ingress} == expected
        (_, resource) = at_path(template, f"{stack_id}/Network/{name}/Resource")
        assert "SecurityGroupIngress" not in resource["Properties"]
        # CDK's placeholder that matches no traffic: no egress at all.
        assert resource["Properties"]["SecurityGroupEgress"] == [
            {
                "CidrIp": "255.255.255.255/32",
                "Description": "Disallow all traffic",
                "FromPort": 252,
                "IpProtocol": "icmp",
                "ToPort": 86,
            }
        ]


def test_the_gateway_prefix_lists_are_looked_up_at_deploy_time_not_synth(primary):
    (_, lookup) = at_path(primary, "PrimaryRegion/Network/DynamodbPrefixList/Call/Resource/Default")
    assert '"com.amazonaws.us-east-1.dynamodb"' in render(lookup["Properties"]["Update"])


@pytest.fixture(scope="module")
def nat(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("nat"), egress="nat")


def test_nat_mode_puts_a_nat_gateway_in_every_zone(nat):
    template = nat.template(nat.platform.dr)
    template.resource_count_is("AWS::EC2::NatGateway", 3)
    template.resource_count_is("AWS::EC2::InternetGateway", 1)
    # Gateway endpoints stay: DynamoDB and S3 traffic never pays NAT processing.
    template.resource_count_is("AWS::EC2::VPCEndpoint", 4)
