"""OrdersDatabase: Multi-AZ PostgreSQL in the isolated subnets of every AZ of a RegionalNetwork,
reachable only from the functions' group; generated, rotated credentials in a retained secret
replicated to DR under the DR key; exported logs in encrypted log groups made first."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from dr_constructs.app_key import alias_arn
from dr_constructs.network import RegionalNetwork
from dr_constructs.orders_database import OrdersDatabase
from dr_core.config import Egress, RegionConfig
from stacks.regional_stack import RegionalStack
from tests.cfn import at_path, only, render
from tests.conftest import ACCOUNT, bare_stack, default_context, masked

IDENTIFIER = "dev-us-east-1-orders-db-v1"
SECRET_NAME = "dev-us-east-1-orders-db-admin-v1"
DR_ALIAS = "alias/dev-us-west-2-orders-v1"
INSTANCE = "Test/Database/Instance/Resource"
SECRET = "Test/Database/Instance/Secret/Resource"
ATTACHMENT = "Test/Database/Instance/Secret/Attachment/Resource"
ROTATION_APP = "Test/Database/Instance/RotationSingleUser/Resource"
DATABASE_SG = "Test/Network/DatabaseSecurityGroup/Resource"
FUNCTIONS_SG = "Test/Network/FunctionsSecurityGroup/Resource"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def _network(stack: cdk.Stack, cidr: str, key: kms.IKey) -> RegionalNetwork:
    return RegionalNetwork(
        stack,
        "Network",
        cidr=cidr,
        egress=Egress.ENDPOINTS,
        key=key,
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )


def _database(scope: cdk.Stack, network: RegionalNetwork, key: kms.IKey) -> OrdersDatabase:
    return OrdersDatabase(
        scope,
        "Database",
        network=network,
        key=key,
        instance_identifier=IDENTIFIER,
        secret_name=SECRET_NAME,
        instance_type="t4g.medium",
        log_retention=logs.RetentionDays.THREE_MONTHS,
        replica_region="us-west-2",
        replica_key_arn=alias_arn(alias=DR_ALIAS, region="us-west-2", account=ACCOUNT),
    )


@pytest.fixture(scope="module")
def template(config) -> Template:
    # Given the database in the us-east-1 network, under that region's key, with its secret
    # replicated to us-west-2
    stack = bare_stack(config, "us-east-1")
    key = kms.Key(stack, "Key")
    _database(stack, _network(stack, config.primary.vpc_cidr, key), key)
    return Template.from_stack(stack)


def _key_arn(template: Template) -> dict[str, Any]:
    (key_id, _) = only(template, "AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def _group_id(template: Template, path: str) -> dict[str, Any]:
    (group_id, _) = at_path(template, path)
    return {"Fn::GetAtt": [group_id, "GroupId"]}


def _subnets(template: Template, refs: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The AWS::EC2::Subnet resources a list of {"Ref": ...} points at, with their tags as a dict."""
    resources = template.find_resources("AWS::EC2::Subnet")
    found = []
    for ref in refs:
        subnet = resources[ref["Ref"]]["Properties"]
        found.append({**subnet, "Tags": {t["Key"]: t["Value"] for t in subnet["Tags"]}})
    return found


def _rules(template: Template, kind: str, path: str) -> list[dict[str, Any]]:
    """Every rule of a group: inline ones and AWS::EC2::SecurityGroup{kind} resources."""
    (group_id, resource) = at_path(template, path)
    rules = list(resource["Properties"].get(f"SecurityGroup{kind}", []))
    for rule in template.find_resources(f"AWS::EC2::SecurityGroup{kind}").values():
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}:
            rules.append({k: v for k, v in rule["Properties"].items() if k not in ("GroupId", "Description")})
    return rules


def _database_ports(template: Template) -> tuple[int, dict[str, Any]]:
    # The instance's Port is "5432"; CDK's connections refer to it as its Endpoint.Port attribute.
    (instance_id, _) = at_path(template, INSTANCE)
    return (5432, {"Fn::GetAtt": [instance_id, "Endpoint.Port"]})


# The instance


def test_one_postgres_17_9_instance_with_the_given_identifier(template):
    # Then there is one PostgreSQL 17.9 instance, named as given
    template.resource_count_is("AWS::RDS::DBInstance", 1)
    template.has_resource_properties(
        "AWS::RDS::DBInstance",
        {"Engine": "postgres", "EngineVersion": "17.9", "DBInstanceIdentifier": IDENTIFIER},
    )


def test_instance_is_multi_az_private_encrypted_and_protected(template):
    # Then it runs in two AZs, private, encrypted with the key, protected, backed up 14 days
    template.has_resource(
        "AWS::RDS::DBInstance",
        {
            "Properties": Match.object_like(
                {
                    "DBInstanceIdentifier": IDENTIFIER,
                    "DBInstanceClass": "db.t4g.medium",
                    "MultiAZ": True,
                    "PubliclyAccessible": False,
                    "StorageEncrypted": True,
                    "KmsKeyId": _key_arn(template),
                    "DeletionProtection": True,
                    "BackupRetentionPeriod": 14,
                    "EnableIAMDatabaseAuthentication": True,
                    "Port": "5432",
                }
            ),
            # Deleting the stack leaves a final snapshot, which DR restores from.
            "DeletionPolicy": "Snapshot",
            "UpdateReplacePolicy": "Snapshot",
        },
    )


def test_performance_insights_are_encrypted_with_the_key(template):
    # Then Performance Insights is on, under the same key
    (_, instance) = at_path(template, INSTANCE)
    assert instance["Properties"]["EnablePerformanceInsights"] is True
    assert instance["Properties"]["PerformanceInsightsKMSKeyId"] == _key_arn(template)


def test_exported_postgres_logs_go_to_encrypted_log_groups_with_retention_made_first(template):
    # Then each exported log has its group under the key, with retention, made before the instance
    (_, instance) = at_path(template, INSTANCE)
    assert instance["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    for export in ("postgresql", "upgrade"):
        (group_id, group) = at_path(template, f"Test/Database/{export.capitalize()}Logs/Resource")
        assert group["Properties"]["LogGroupName"] == f"/aws/rds/instance/{IDENTIFIER}/{export}"
        assert group["Properties"]["KmsKeyId"] == _key_arn(template)
        assert group["Properties"]["RetentionInDays"] == 90
        assert group["DeletionPolicy"] == "RetainExceptOnCreate"
        # RDS would create the group unencrypted and unexpiring if it got there first.
        assert group_id in instance["DependsOn"]


# Placement


def test_subnet_group_is_the_three_isolated_database_subnets_one_per_az(template):
    # Given the instance's subnet group
    (_, instance) = at_path(template, INSTANCE)
    group = template.find_resources("AWS::RDS::DBSubnetGroup")[
        instance["Properties"]["DBSubnetGroupName"]["Ref"]
    ]
    # When its subnet Refs are resolved to the VPC's subnets
    subnets = _subnets(template, group["Properties"]["SubnetIds"])
    # Then they are exactly the database subnets, isolated and private, one in each AZ
    assert sorted(s["AvailabilityZone"] for s in subnets) == ZONES
    assert [s["Tags"]["aws-cdk:subnet-name"] for s in subnets] == ["database"] * 3
    assert [s["Tags"]["aws-cdk:subnet-type"] for s in subnets] == ["Isolated"] * 3
    assert [s["MapPublicIpOnLaunch"] for s in subnets] == [False] * 3


def test_subnet_group_is_retained_except_on_a_failed_first_create(template):
    # Then the subnet group is kept on delete, except after a rolled-back first create
    template.has_resource(
        "AWS::RDS::DBSubnetGroup", {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"}
    )


def test_a_network_without_a_database_subnet_in_every_az_is_refused(config):
    # Given a network built for two zones, and a stack of the same region with three
    app = cdk.App(context=default_context())
    cidr = config.primary.vpc_cidr
    two_zones = RegionalStack(
        app,
        "Network",
        account=ACCOUNT,
        region=RegionConfig("us-east-1", ("us-east-1a", "us-east-1b"), cidr),
        stack_name="network",
    )
    key = kms.Key(two_zones, "Key")
    network = _network(two_zones, cidr, key)
    three_zones = RegionalStack(app, "Test", account=ACCOUNT, region=config.primary, stack_name="test")
    # When the database is put into that network
    # Then it is refused: Multi-AZ needs a database subnet in every zone of its region
    with pytest.raises(ValueError, match="needs a database subnet in each of"):
        _database(three_zones, network, key)


# Security groups


def test_the_database_group_is_the_instances_only_security_group(template):
    # Then the instance is in the network's database group and no other
    (_, instance) = at_path(template, INSTANCE)
    assert instance["Properties"]["VPCSecurityGroups"] == [_group_id(template, DATABASE_SG)]


def test_only_the_functions_group_reaches_the_database_and_only_on_its_port(template):
    # Then every rule into the database group is TCP on the database port from the functions' group
    rules = _rules(template, "Ingress", DATABASE_SG)
    assert rules, "the database must be reachable from the functions"
    for rule in rules:
        assert set(rule) == {"IpProtocol", "FromPort", "ToPort", "SourceSecurityGroupId"}, rule
        assert rule["IpProtocol"] == "tcp"
        assert rule["FromPort"] == rule["ToPort"]
        assert rule["FromPort"] in _database_ports(template)
        assert rule["SourceSecurityGroupId"] == _group_id(template, FUNCTIONS_SG)


def test_the_database_group_has_exactly_one_ingress_rule_tcp_5432_from_the_functions(template):
    # Then there is one rule, though the rotation asks for the same one: EC2 refuses a duplicate
    (rule,) = _rules(template, "Ingress", DATABASE_SG)
    assert rule["IpProtocol"] == "tcp"
    assert rule["FromPort"] == rule["ToPort"]
    assert rule["FromPort"] in _database_ports(template)
    assert rule["SourceSecurityGroupId"] == _group_id(template, FUNCTIONS_SG)


def test_the_functions_group_may_open_the_database_port(template):
    # Given the network's functions group, which opens no database port by itself
    # Then the database opens exactly its own port from it
    database = _group_id(template, DATABASE_SG)
    (rule,) = [
        r for r in _rules(template, "Egress", FUNCTIONS_SG) if r.get("DestinationSecurityGroupId") == database
    ]
    assert rule["IpProtocol"] == "tcp"
    assert rule["FromPort"] == rule["ToPort"]
    assert rule["FromPort"] in _database_ports(template)


def test_the_database_group_has_no_egress(template):
    # Given the database group
    (group_id, group) = at_path(template, DATABASE_SG)
    # Then its only egress is CDK's placeholder that matches no traffic (allow_all_outbound=False)
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    # And no separate egress rule opens it, to 0.0.0.0/0 or anywhere else
    own = {"Fn::GetAtt": [group_id, "GroupId"]}
    egress = template.find_resources("AWS::EC2::SecurityGroupEgress").values()
    assert [e for e in egress if e["Properties"]["GroupId"] == own] == []


# Credentials


def test_credentials_are_generated_into_a_cmk_encrypted_secret_never_the_template(template):
    # Then the password is generated into the one secret, under the key, and read at deploy time
    (secret_id, secret) = at_path(template, SECRET)
    properties = secret["Properties"]
    assert "SecretString" not in properties
    assert properties["Name"] == SECRET_NAME
    assert properties["KmsKeyId"] == _key_arn(template)
    generated = properties["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert generated["SecretStringTemplate"] == '{"username":"orders_admin"}'
    # The instance reads its password from the secret at deploy time.
    (_, instance) = at_path(template, INSTANCE)
    assert render(instance["Properties"]["MasterUserPassword"]) == (
        f"{{{{resolve:secretsmanager:<Ref:{secret_id}>:SecretString:password::}}}}"
    )
    template.resource_count_is("AWS::SecretsManager::Secret", 1)


def test_the_secret_itself_is_retained_not_only_its_attachment(template):
    # instance.secret is the SecretTargetAttachment; retaining it alone deleted the credentials.
    # Then the secret resource is kept on delete, except after a rolled-back first create
    template.has_resource(
        "AWS::SecretsManager::Secret",
        {
            "Metadata": {"aws:cdk:path": SECRET},
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_secret_is_replicated_to_dr_under_the_dr_key_alias(template):
    # Then the secret has one replica, in us-west-2, under the DR key's alias
    (_, secret) = at_path(template, SECRET)
    (replica,) = secret["Properties"]["ReplicaRegions"]
    assert replica["Region"] == "us-west-2"
    assert render(replica["KmsKeyId"]) == f"arn:aws:kms:us-west-2:123456789012:{DR_ALIAS}"


def test_secret_is_rotated_every_30_days(template):
    # Given the one rotation schedule
    (_, schedule) = only(template, "AWS::SecretsManager::RotationSchedule")
    (secret_id, _) = at_path(template, SECRET)
    (attachment_id, attachment) = at_path(template, ATTACHMENT)
    (instance_id, _) = at_path(template, INSTANCE)
    (rotation_id, _) = at_path(template, ROTATION_APP)
    # Then it rotates the database secret (through its attachment to the instance) every 30 days
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    assert schedule["Properties"]["SecretId"] == {"Ref": attachment_id}
    assert attachment["Properties"] == {
        "SecretId": {"Ref": secret_id},
        "TargetId": {"Ref": instance_id},
        "TargetType": "AWS::RDS::DBInstance",
    }
    # With the single-user rotation function
    assert schedule["Properties"]["RotationLambdaARN"] == {
        "Fn::GetAtt": [rotation_id, "Outputs.RotationLambdaARN"]
    }


def test_rotation_function_runs_in_the_functions_subnets_with_the_functions_group(template):
    # Then the rotation function runs in the functions' subnets of every AZ, in their group
    (_, application) = at_path(template, ROTATION_APP)
    assert application["Type"] == "AWS::Serverless::Application"
    parameters = application["Properties"]["Parameters"]
    subnet_ids = render(parameters["vpcSubnetIds"]).split(",")
    subnets = _subnets(template, [{"Ref": s.removeprefix("<Ref:").removesuffix(">")} for s in subnet_ids])
    assert sorted(s["AvailabilityZone"] for s in subnets) == ZONES
    assert [s["Tags"]["aws-cdk:subnet-name"] for s in subnets] == ["functions"] * 3
    assert parameters["vpcSecurityGroupIds"] == _group_id(template, FUNCTIONS_SG)
    assert parameters["kmsKeyArn"] == _key_arn(template)


def test_rotation_function_reaches_secrets_manager_by_its_regional_name(template):
    # "https://<vpce-id>.secretsmanager..." is no DNS name of the endpoint. With private DNS on,
    # the regional name resolves to the interface endpoint inside the VPC.
    (_, application) = at_path(template, ROTATION_APP)
    assert render(application["Properties"]["Parameters"]["endpoint"]) == (
        "https://secretsmanager.us-east-1.<Ref:AWS::URLSuffix>"
    )
    (_, endpoint) = at_path(template, "Test/Network/Vpc/SecretsManagerEndpoint/Resource")
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def test_template_matches_snapshot(template, snapshot_json):
    # Then the template is the reviewed one (--snapshot-update accepts a deliberate change)
    # The database's own resources; the network and the key are snapshotted with their constructs,
    # and the rules the database adds to the network's groups are asserted above.
    whole = template.to_json()
    own = {
        logical_id: resource
        for logical_id, resource in whole["Resources"].items()
        if resource["Metadata"]["aws:cdk:path"].startswith("Test/Database/")
    }
    assert masked({**whole, "Resources": own}) == snapshot_json
