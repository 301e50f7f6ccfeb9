"""RegionalNetwork: a VPC over every configured AZ, VPC endpoints for the AWS APIs, security groups
that allow only what each side calls, and the gateway prefix lists looked up at deploy time
(DeployTimeLookup)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from dr_constructs.network import RegionalNetwork
from dr_core.config import Egress, RegionConfig
from stacks.regional_stack import RegionalStack
from tests.cfn import at_path, render
from tests.conftest import ACCOUNT, bare_stack, default_context, masked

# CDK's placeholder egress rule that matches no traffic: the group may open nothing.
NO_EGRESS = [
    {
        "CidrIp": "255.255.255.255/32",
        "Description": "Disallow all traffic",
        "FromPort": 252,
        "IpProtocol": "icmp",
        "ToPort": 86,
    }
]


def _network(config, region: str, egress: Egress) -> Template:
    stack = bare_stack(config, region)
    region_config = config.primary if region == config.primary.name else config.dr
    RegionalNetwork(
        stack,
        "Network",
        cidr=region_config.vpc_cidr,
        egress=egress,
        key=kms.Key(stack, "Key"),
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(config) -> Template:
    # Given the network of us-east-1 with VPC endpoints only (the default egress)
    return _network(config, "us-east-1", Egress.ENDPOINTS)


@pytest.fixture(scope="module")
def nat(config) -> Template:
    # Given the network of us-west-2 with a NAT gateway per AZ
    return _network(config, "us-west-2", Egress.NAT)


def _subnets(template: Template, name: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in template.find_resources("AWS::EC2::Subnet").values()
        if {"Key": "aws-cdk:subnet-name", "Value": name} in r["Properties"]["Tags"]
    ]


def _group(template: Template, name: str) -> tuple[str, dict[str, Any]]:
    return at_path(template, f"Test/Network/{name}/Resource")


def _group_id(template: Template, name: str) -> dict[str, Any]:
    (logical_id, _) = _group(template, name)
    return {"Fn::GetAtt": [logical_id, "GroupId"]}


def _rules(template: Template, kind: str, group: dict[str, Any]) -> list[dict[str, Any]]:
    """The AWS::EC2::SecurityGroup{Ingress,Egress} resources of a group."""
    return [
        resource["Properties"]
        for resource in template.find_resources(f"AWS::EC2::SecurityGroup{kind}").values()
        if resource["Properties"]["GroupId"] == group
    ]


def _lookup(template: Template, service: str) -> tuple[str, dict[str, Any]]:
    return at_path(template, f"Test/Network/{service.capitalize()}PrefixList/Call/Resource/Default")


# Subnets and routes


@pytest.mark.parametrize("name", ["functions", "database"])
def test_function_and_database_subnets_span_every_configured_zone(template, name):
    # Then each subnet group has one subnet in each configured zone
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert sorted(s["AvailabilityZone"] for s in _subnets(template, name)) == zones


def test_endpoint_mode_has_no_route_to_the_internet(template):
    # Then there is no gateway, no route and no public IP: nothing reaches the internet
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::Route", 0)
    for subnet in _subnets(template, "functions"):
        assert subnet["MapPublicIpOnLaunch"] is False


def test_nat_mode_puts_a_nat_gateway_in_every_zone(nat):
    # Then every zone has its NAT gateway, behind one internet gateway
    nat.resource_count_is("AWS::EC2::NatGateway", 3)
    nat.resource_count_is("AWS::EC2::InternetGateway", 1)
    # And the functions' subnets route to it: private with egress, not public
    assert sorted(s["AvailabilityZone"] for s in _subnets(nat, "functions")) == [
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",
    ]
    for subnet in _subnets(nat, "functions"):
        assert subnet["MapPublicIpOnLaunch"] is False
    # Gateway endpoints stay: DynamoDB and S3 traffic never pays NAT processing.
    nat.resource_count_is("AWS::EC2::VPCEndpoint", 4)


def test_a_region_with_fewer_than_two_zones_is_refused(config):
    # Given a stack whose region has one zone configured
    app = cdk.App(context=default_context())
    stack = RegionalStack(
        app,
        "Test",
        account=ACCOUNT,
        region=RegionConfig("us-east-1", ("us-east-1a",), config.primary.vpc_cidr),
        stack_name="test",
    )
    # Then the network refuses to be built
    with pytest.raises(ValueError, match="at least two availability zones"):
        RegionalNetwork(
            stack,
            "Network",
            cidr=config.primary.vpc_cidr,
            egress=Egress.ENDPOINTS,
            key=kms.Key(stack, "Key"),
            log_retention=logs.RetentionDays.THREE_MONTHS,
        )


# Endpoints and flow logs


def test_aws_apis_are_reached_through_vpc_endpoints(template):
    # Then DynamoDB and S3 have gateway endpoints, SSM and Secrets Manager interface endpoints
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint").values()
    by_service = {
        render(e["Properties"]["ServiceName"]).replace("<Ref:AWS::Region>", "us-east-1"): e["Properties"].get(
            "VpcEndpointType", "Gateway"
        )
        for e in endpoints
    }
    assert by_service == {
        "com.amazonaws.us-east-1.dynamodb": "Gateway",
        "com.amazonaws.us-east-1.s3": "Gateway",
        "com.amazonaws.us-east-1.ssm": "Interface",
        "com.amazonaws.us-east-1.secretsmanager": "Interface",
    }


def test_interface_endpoints_resolve_by_private_dns_and_admit_only_the_endpoints_group(template):
    # Then the interface endpoints answer the services' regional names inside the VPC, and sit in
    # the endpoints' group only (not open to the whole VPC)
    endpoints = template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    assert len(endpoints) == 2
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert endpoint["Properties"]["SecurityGroupIds"] == [_group_id(template, "EndpointsSecurityGroup")]


def test_flow_logs_capture_all_traffic_into_an_encrypted_retained_group(template):
    # Then the VPC logs all traffic into a log group encrypted with the key, kept 90 days, retained
    template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL", "ResourceType": "VPC"})
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}, "RetentionInDays": 90},
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )
    (flow_log,) = template.find_resources("AWS::EC2::FlowLog").values()
    (group_id, _) = at_path(template, "Test/Network/FlowLogs/Resource")
    assert flow_log["Properties"]["LogGroupName"] == {"Ref": group_id}


# Security groups


def test_functions_may_open_only_https_to_aws_apis(template):
    # Given the functions' group of a network without a database
    functions = _group_id(template, "FunctionsSecurityGroup")
    # Then its only egress is HTTPS to the interface endpoints' group and the gateway prefix lists
    egress = {
        (
            rule["IpProtocol"],
            rule["FromPort"],
            rule["ToPort"],
            json.dumps(rule.get("DestinationSecurityGroupId") or rule["DestinationPrefixListId"]),
        )
        for rule in _rules(template, "Egress", functions)
    }
    (dynamodb_list, _) = _lookup(template, "dynamodb")
    (s3_list, _) = _lookup(template, "s3")
    assert egress == {
        ("tcp", 443, 443, json.dumps(_group_id(template, "EndpointsSecurityGroup"))),
        ("tcp", 443, 443, json.dumps({"Fn::GetAtt": [dynamodb_list, "PrefixLists.0.PrefixListId"]})),
        ("tcp", 443, 443, json.dumps({"Fn::GetAtt": [s3_list, "PrefixLists.0.PrefixListId"]})),
    }
    # And no inline allow-all rule either
    (_, group) = _group(template, "FunctionsSecurityGroup")
    assert "SecurityGroupEgress" not in group["Properties"]


def test_endpoints_accept_only_https_from_the_functions_group(template):
    # Then the endpoints' group admits HTTPS from the functions' group, in one rule
    endpoints = _group_id(template, "EndpointsSecurityGroup")
    # One rule: EC2 refuses a duplicate.
    (rule,) = _rules(template, "Ingress", endpoints)
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    assert rule["SourceSecurityGroupId"] == _group_id(template, "FunctionsSecurityGroup")
    (_, group) = _group(template, "EndpointsSecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]


def test_the_database_group_starts_shut(template):
    # Given a network without a database: nothing may reach the database group
    database = _group_id(template, "DatabaseSecurityGroup")
    assert _rules(template, "Ingress", database) == []
    (_, group) = _group(template, "DatabaseSecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]
    # And the functions may not open the database port either
    functions = _group_id(template, "FunctionsSecurityGroup")
    assert [
        r for r in _rules(template, "Egress", functions) if r.get("DestinationSecurityGroupId") == database
    ] == []


@pytest.mark.parametrize("name", ["DatabaseSecurityGroup", "EndpointsSecurityGroup"])
def test_receiving_groups_have_no_egress(template, name):
    # Then the group opens nothing: only the placeholder rule, and no separate egress rule
    (_, group) = _group(template, name)
    assert group["Properties"]["SecurityGroupEgress"] == NO_EGRESS
    assert _rules(template, "Egress", _group_id(template, name)) == []


# The gateway prefix lists (DeployTimeLookup)


@pytest.mark.parametrize("service", ["dynamodb", "s3"])
def test_the_gateway_prefix_lists_are_looked_up_at_deploy_time_in_the_networks_region(template, nat, service):
    # Then each network calls DescribeManagedPrefixLists for its own region's list at deploy time
    for network, region in ((template, "us-east-1"), (nat, "us-west-2")):
        (_, lookup) = _lookup(network, service)
        call = json.loads(lookup["Properties"]["Update"])
        assert call["service"] == "EC2"
        assert call["action"] == "describeManagedPrefixLists"
        assert call["region"] == region
        assert call["parameters"] == {
            "Filters": [{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{region}.{service}"]}]
        }
        assert call["outputPaths"] == ["PrefixLists.0.PrefixListId"]
        # Runs on create too, and keeps the API response out of the logs
        assert json.loads(lookup["Properties"]["Create"]) == call
        assert call["logApiResponseData"] is False


def test_the_lookups_may_only_describe_managed_prefix_lists(template):
    # Then each lookup may make its one read-only call and nothing else
    for service in ("dynamodb", "s3"):
        template.has_resource_properties(
            "AWS::IAM::Policy",
            {
                "PolicyName": Match.string_like_regexp(f"^Network{service.capitalize()}PrefixListCall"),
                "PolicyDocument": {
                    "Statement": [
                        {"Action": "ec2:DescribeManagedPrefixLists", "Effect": "Allow", "Resource": "*"}
                    ],
                    "Version": "2012-10-17",
                },
            },
        )


def test_template_matches_snapshot(template, snapshot_json):
    # Then the template is the reviewed one (--snapshot-update accepts a deliberate change)
    assert masked(template.to_json()) == snapshot_json
