"""ReplicaPlacement and DatabaseReplica: the DR region's cross-region read replica of the primary's
PostgreSQL. The placement (subnet group, the database port opened to the functions' group, the
security group's ID in a parameter, encrypted log groups) is made in the DR stack; the replica, in a
stack of its own, names its source by ARN and its placement by name, and alarms on its lag."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from dr_constructs.app_key import alias_arn
from dr_constructs.database_replica import DatabaseReplica, ReplicaPlacement
from dr_constructs.network import RegionalNetwork
from dr_core.config import Egress
from tests.cfn import at_path, only, render
from tests.conftest import ACCOUNT, bare_stack, masked

REPLICA = "dev-us-west-2-orders-db-replica-v1"
SOURCE = "dev-us-east-1-orders-db-v1"
SOURCE_ARN = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:{SOURCE}"
SUBNET_GROUP = "dev-us-west-2-orders-db-subnets-v1"
SECURITY_GROUP_PARAMETER = "/dev-us-west-2-orders-db-replica-v1/security-group-id"
DR_ALIAS = "alias/dev-us-west-2-orders-v1"
ALARM = "dev-us-west-2-orders-db-replica-lag-v1"
TOPIC_ARN = f"arn:aws:sns:us-west-2:{ACCOUNT}:dev-us-west-2-alerts-v1"
DR_ZONES = ["us-west-2a", "us-west-2b", "us-west-2c"]
SUBNET_GROUP_PATH = "Test/Placement/SubnetGroup/Default"
DATABASE_SG = "Test/Network/DatabaseSecurityGroup/Resource"
FUNCTIONS_SG = "Test/Network/FunctionsSecurityGroup/Resource"
INSTANCE = "Test/Replica/Instance"


def _group_id(template: Template, path: str) -> dict[str, Any]:
    (group_id, _) = at_path(template, path)
    return {"Fn::GetAtt": [group_id, "GroupId"]}


def _rules(template: Template, kind: str, path: str) -> list[dict[str, Any]]:
    """Every rule of a group: inline ones and AWS::EC2::SecurityGroup{kind} resources."""
    (group_id, resource) = at_path(template, path)
    rules = list(resource["Properties"].get(f"SecurityGroup{kind}", []))
    for rule in template.find_resources(f"AWS::EC2::SecurityGroup{kind}").values():
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}:
            rules.append({k: v for k, v in rule["Properties"].items() if k not in ("GroupId", "Description")})
    return rules


def _replica(scope: cdk.Stack, source_instance_arn: str = SOURCE_ARN) -> DatabaseReplica:
    return DatabaseReplica(
        scope,
        "Replica",
        source_instance_arn=source_instance_arn,
        instance_identifier=REPLICA,
        instance_type="t4g.medium",
        subnet_group_name=SUBNET_GROUP,
        security_group_parameter=SECURITY_GROUP_PARAMETER,
        key_alias_arn=alias_arn(alias=DR_ALIAS, region="us-west-2", account=ACCOUNT),
        max_lag_seconds=45,
        alarm_name=ALARM,
        alert_topic=sns.Topic.from_topic_arn(scope, "Alerts", TOPIC_ARN),
    )


@pytest.fixture(scope="module")
def placement(config) -> Template:
    # Given the replica's placement in the us-west-2 network, under that region's key
    stack = bare_stack(config, "us-west-2")
    key = kms.Key(stack, "Key")
    network = RegionalNetwork(
        stack,
        "Network",
        cidr=config.dr.vpc_cidr,
        egress=Egress.ENDPOINTS,
        key=key,
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )
    ReplicaPlacement(
        stack,
        "Placement",
        network=network,
        key=key,
        subnet_group_name=SUBNET_GROUP,
        security_group_parameter=SECURITY_GROUP_PARAMETER,
        replica_identifier=REPLICA,
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def replica(config) -> Template:
    # Given the replica in us-west-2 of the us-east-1 instance, with a 45 s lag target
    stack = bare_stack(config, "us-west-2")
    _replica(stack)
    return Template.from_stack(stack)


# ReplicaPlacement


def test_the_subnet_group_is_named_as_given_over_the_isolated_database_subnets_of_every_zone(placement):
    # Given the one subnet group
    (_, group) = only(placement, "AWS::RDS::DBSubnetGroup")
    assert group["Properties"]["DBSubnetGroupName"] == SUBNET_GROUP
    # When its subnet Refs are resolved to the VPC's subnets
    subnets = placement.find_resources("AWS::EC2::Subnet")
    found = [subnets[ref["Ref"]]["Properties"] for ref in group["Properties"]["SubnetIds"]]
    tags = [{t["Key"]: t["Value"] for t in subnet["Tags"]} for subnet in found]
    # Then they are exactly the database subnets, isolated, one in each zone
    assert sorted(s["AvailabilityZone"] for s in found) == DR_ZONES
    assert [t["aws-cdk:subnet-name"] for t in tags] == ["database"] * 3
    assert [t["aws-cdk:subnet-type"] for t in tags] == ["Isolated"] * 3


def test_the_subnet_group_is_retained_except_on_a_failed_first_create(placement):
    # Then the subnet group the replica sits in outlives the stack's deletion
    placement.has_resource(
        "AWS::RDS::DBSubnetGroup",
        {
            "Properties": Match.object_like({"DBSubnetGroupName": SUBNET_GROUP}),
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_the_database_group_admits_exactly_the_functions_group_on_5432(placement):
    # Then the one rule into the database group is TCP 5432 from the functions' group
    assert _rules(placement, "Ingress", DATABASE_SG) == [
        {
            "IpProtocol": "tcp",
            "FromPort": 5432,
            "ToPort": 5432,
            "SourceSecurityGroupId": _group_id(placement, FUNCTIONS_SG),
        }
    ]


def test_the_functions_group_may_open_only_5432_to_the_database_group(placement):
    # Given the functions' group, whose outbound traffic is restricted
    database = _group_id(placement, DATABASE_SG)
    # Then it may reach the database group on the database port and no other
    assert [
        r
        for r in _rules(placement, "Egress", FUNCTIONS_SG)
        if r.get("DestinationSecurityGroupId") == database
    ] == [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "DestinationSecurityGroupId": database}]


def test_the_database_groups_id_is_published_under_the_given_parameter(placement):
    # Then a String parameter of the given name holds the database group's ID
    placement.has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": SECURITY_GROUP_PARAMETER,
            "Type": "String",
            "Value": _group_id(placement, DATABASE_SG),
        },
    )
    placement.resource_count_is("AWS::SSM::Parameter", 1)


@pytest.mark.parametrize("export", ["postgresql", "upgrade"])
def test_each_exported_log_has_a_retained_encrypted_log_group_named_for_the_replica(placement, export):
    # Given the key the log groups are encrypted with
    (key_id, _) = only(placement, "AWS::KMS::Key")
    # Then the export's group is where RDS writes it for the replica, under the key, kept 90 days
    placement.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": Match.object_like(
                {
                    "LogGroupName": f"/aws/rds/instance/{REPLICA}/{export}",
                    "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
                    "RetentionInDays": 90,
                }
            ),
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_the_placement_makes_no_database_of_its_own(placement):
    # Then the replica is not made here: only its place
    placement.resource_count_is("AWS::RDS::DBInstance", 0)
    placement.resource_count_is("AWS::SecretsManager::Secret", 0)


def test_placement_matches_snapshot(placement, snapshot_json):
    # Then the placement's own resources are the reviewed ones (the network and key are snapshotted
    # with their constructs; the rules it adds to the network's groups are asserted above)
    whole = placement.to_json()
    own = {
        logical_id: resource
        for logical_id, resource in whole["Resources"].items()
        if resource["Metadata"]["aws:cdk:path"].startswith("Test/Placement/")
    }
    assert masked({**whole, "Resources": own}) == snapshot_json


# DatabaseReplica


def test_one_read_replica_of_the_given_source_arn_in_its_region(replica):
    # Then there is one instance, named as given, copying the source by ARN from the source's region
    replica.resource_count_is("AWS::RDS::DBInstance", 1)
    replica.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "DBInstanceIdentifier": REPLICA,
            "DBInstanceClass": "db.t4g.medium",
            "SourceDBInstanceIdentifier": SOURCE_ARN,
            "SourceRegion": "us-east-1",
        },
    )


def test_the_replica_is_encrypted_under_the_given_key_alias_without_storage_encrypted(replica):
    # Then storage and Performance Insights are under the DR key's alias ARN
    (_, instance) = at_path(replica, INSTANCE)
    properties = instance["Properties"]
    alias = f"arn:aws:kms:us-west-2:{ACCOUNT}:{DR_ALIAS}"
    assert render(properties["KmsKeyId"]) == alias
    assert properties["EnablePerformanceInsights"] is True
    assert render(properties["PerformanceInsightsKMSKeyId"]) == alias
    # And StorageEncrypted is left out: CloudFormation refuses it next to SourceDBInstanceIdentifier
    assert "StorageEncrypted" not in properties


def test_the_replica_sits_in_the_subnet_group_named_as_given(replica):
    # Then the replica names its subnet group, made elsewhere, and makes none of its own
    replica.has_resource_properties("AWS::RDS::DBInstance", {"DBSubnetGroupName": SUBNET_GROUP})
    replica.resource_count_is("AWS::RDS::DBSubnetGroup", 0)


def test_the_replicas_security_group_is_resolved_from_the_given_parameter_at_deploy_time(replica):
    # Given the replica's one security group
    (_, instance) = at_path(replica, INSTANCE)
    (group,) = instance["Properties"]["VPCSecurityGroups"]
    # Then it is the value of the given SSM parameter, which CloudFormation reads at deploy time
    parameter = replica.to_json()["Parameters"][group["Ref"]]
    assert parameter == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": SECURITY_GROUP_PARAMETER}
    replica.resource_count_is("AWS::EC2::SecurityGroup", 0)


def test_the_replica_is_private_protected_single_az_and_retained(replica):
    # Then it is private, protected from deletion, in one zone, and kept when the stack goes
    replica.has_resource(
        "AWS::RDS::DBInstance",
        {
            "Properties": Match.object_like(
                {
                    "PubliclyAccessible": False,
                    "DeletionProtection": True,
                    "MultiAZ": False,
                    "EnableIAMDatabaseAuthentication": True,
                    "BackupRetentionPeriod": 7,
                    "Port": "5432",
                }
            ),
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_the_replica_exports_the_primarys_logs(replica):
    # Then it exports the PostgreSQL and upgrade logs, the groups ReplicaPlacement makes
    replica.has_resource_properties(
        "AWS::RDS::DBInstance", {"EnableCloudwatchLogsExports": ["postgresql", "upgrade"]}
    )


def test_enhanced_monitoring_every_minute_with_a_role_for_rds_monitoring(replica):
    # Given the replica's monitoring role
    (role_id, _) = at_path(replica, "Test/Replica/MonitoringRole/Resource")
    # Then Enhanced Monitoring runs every 60 s with that role
    replica.has_resource_properties(
        "AWS::RDS::DBInstance",
        {"MonitoringInterval": 60, "MonitoringRoleArn": {"Fn::GetAtt": [role_id, "Arn"]}},
    )
    # And the role is assumed by RDS monitoring with the AWS policy for it
    (_, role) = at_path(replica, "Test/Replica/MonitoringRole/Resource")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert render(role["Properties"]["ManagedPolicyArns"]) == [
        "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    ]


def test_the_lag_alarm_watches_the_replicas_maximum_lag_per_minute_against_the_given_target(replica):
    # Then one alarm, named as given, on RDS's ReplicaLag of this replica, over the lag target
    replica.resource_count_is("AWS::CloudWatch::Alarm", 1)
    replica.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": ALARM,
            "Namespace": "AWS/RDS",
            "MetricName": "ReplicaLag",
            "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": REPLICA}],
            "Statistic": "Maximum",
            "Period": 60,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 45,
        },
    )


def test_the_lag_alarm_fires_on_3_of_5_minutes_and_on_silence(replica):
    # Then a spike does not page; and a replica that reports nothing is treated as lagging
    replica.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {"EvaluationPeriods": 5, "DatapointsToAlarm": 3, "TreatMissingData": "breaching"},
    )


def test_the_lag_alarm_notifies_the_given_topic_on_alarm_and_recovery(replica):
    # Then both state changes go to the topic given by ARN
    replica.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": [TOPIC_ARN], "OKActions": [TOPIC_ARN]}
    )


def test_a_source_in_the_replicas_own_region_is_refused(stack_in):
    # Given a source instance in us-west-2, the region of the replica's stack
    same_region = f"arn:aws:rds:us-west-2:{ACCOUNT}:db:{SOURCE}"
    # When the replica is made
    # Then it is refused: this construct makes a cross-region replica
    with pytest.raises(ValueError, match="copies a database of another region"):
        _replica(stack_in("us-west-2"), source_instance_arn=same_region)


def test_replica_matches_snapshot(replica, snapshot_json):
    # Then the template is the reviewed one (--snapshot-update accepts a deliberate change)
    assert masked(replica.to_json()) == snapshot_json
