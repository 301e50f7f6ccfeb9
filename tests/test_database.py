"""The orders database: Multi-AZ PostgreSQL in the primary's isolated subnets, generated and
rotated credentials replicated to DR under the DR key; nothing of it in the DR stack."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.cfn import at_path, only, render

INSTANCE = "PrimaryRegion/Database/Instance/Resource"
SECRET = "PrimaryRegion/Database/Instance/Secret/Resource"
ATTACHMENT = "PrimaryRegion/Database/Instance/Secret/Attachment/Resource"
ROTATION_APP = "PrimaryRegion/Database/Instance/RotationSingleUser/Resource"
DATABASE_SG = "PrimaryRegion/Network/DatabaseSecurityGroup/Resource"
FUNCTIONS_SG = "PrimaryRegion/Network/FunctionsSecurityGroup/Resource"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
DR_ALIAS_ARN = "arn:aws:kms:us-west-2:123456789012:alias/dev-us-west-2-orders-v1"


def _key_arn(template):
    (key_id, _) = only(template, "AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def _group_id(template, path):
    (group_id, _) = at_path(template, path)
    return {"Fn::GetAtt": [group_id, "GroupId"]}


def _subnets(template, refs):
    """The AWS::EC2::Subnet resources a list of {"Ref": ...} points at, with their tags as a dict."""
    resources = template.find_resources("AWS::EC2::Subnet")
    found = []
    for ref in refs:
        subnet = resources[ref["Ref"]]["Properties"]
        found.append({**subnet, "Tags": {t["Key"]: t["Value"] for t in subnet["Tags"]}})
    return found


def test_primary_has_one_postgres_17_9_instance_and_the_dr_stack_none(primary, dr):
    primary.resource_count_is("AWS::RDS::DBInstance", 1)
    (_, instance) = at_path(primary, INSTANCE)
    assert instance["Properties"]["Engine"] == "postgres"
    assert instance["Properties"]["EngineVersion"] == "17.9"
    assert instance["Properties"]["DBInstanceIdentifier"] == "dev-us-east-1-orders-db-v1"
    # DR restores from snapshots; a database there, or a DR secret of its own, would collide
    # with the restore and with the replica of the primary's secret.
    dr.resource_count_is("AWS::RDS::DBInstance", 0)
    dr.resource_count_is("AWS::RDS::DBSubnetGroup", 0)
    dr_secrets = [
        s["Properties"].get("Name", "") for s in dr.find_resources("AWS::SecretsManager::Secret").values()
    ]
    assert [name for name in dr_secrets if "orders-db" in name] == []


def test_instance_is_multi_az_private_encrypted_and_protected(primary):
    key_arn = _key_arn(primary)
    primary.has_resource(
        "AWS::RDS::DBInstance",
        {
            "Properties": Match.object_like(
                {
                    "DBInstanceIdentifier": "dev-us-east-1-orders-db-v1",
                    "MultiAZ": True,
                    "PubliclyAccessible": False,
                    "StorageEncrypted": True,
                    "KmsKeyId": key_arn,
                    "DeletionProtection": True,
                    "BackupRetentionPeriod": 14,
                    "EnableIAMDatabaseAuthentication": True,
                    "Port": "5432",
                }
            ),
            "DeletionPolicy": "Snapshot",
            "UpdateReplacePolicy": "Snapshot",
        },
    )


def test_performance_insights_are_encrypted_with_the_primary_key(primary):
    (_, instance) = at_path(primary, INSTANCE)
    assert instance["Properties"]["EnablePerformanceInsights"] is True
    assert instance["Properties"]["PerformanceInsightsKMSKeyId"] == _key_arn(primary)


def test_subnet_group_is_the_three_isolated_database_subnets_one_per_az(primary):
    # Given the instance's subnet group
    (_, instance) = at_path(primary, INSTANCE)
    group = primary.find_resources("AWS::RDS::DBSubnetGroup")[
        instance["Properties"]["DBSubnetGroupName"]["Ref"]
    ]
    # When its subnet Refs are resolved to the VPC's subnets
    subnets = _subnets(primary, group["Properties"]["SubnetIds"])
    # Then they are exactly the database subnets, isolated and private, one in each AZ
    assert sorted(s["AvailabilityZone"] for s in subnets) == ZONES
    assert [s["Tags"]["aws-cdk:subnet-name"] for s in subnets] == ["database"] * 3
    assert [s["Tags"]["aws-cdk:subnet-type"] for s in subnets] == ["Isolated"] * 3
    assert [s["MapPublicIpOnLaunch"] for s in subnets] == [False] * 3


def test_the_database_group_is_the_instances_only_security_group(primary):
    (_, instance) = at_path(primary, INSTANCE)
    assert instance["Properties"]["VPCSecurityGroups"] == [_group_id(primary, DATABASE_SG)]


def _ingress_rules(template, group):
    """Every ingress rule of a group: inline ones and AWS::EC2::SecurityGroupIngress resources."""
    (group_id, resource) = at_path(template, group)
    rules = list(resource["Properties"].get("SecurityGroupIngress", []))
    for ingress in template.find_resources("AWS::EC2::SecurityGroupIngress").values():
        if ingress["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}:
            rules.append(
                {k: v for k, v in ingress["Properties"].items() if k not in ("GroupId", "Description")}
            )
    return rules


def _database_ports(template):
    # The instance's Port is "5432"; CDK's connections refer to it as its Endpoint.Port attribute.
    (instance_id, _) = at_path(template, INSTANCE)
    return (5432, {"Fn::GetAtt": [instance_id, "Endpoint.Port"]})


def test_only_the_functions_group_reaches_the_database_and_only_on_its_port(primary):
    rules = _ingress_rules(primary, DATABASE_SG)
    assert rules, "the database must be reachable from the functions"
    for rule in rules:
        assert set(rule) == {"IpProtocol", "FromPort", "ToPort", "SourceSecurityGroupId"}, rule
        assert rule["IpProtocol"] == "tcp"
        assert rule["FromPort"] == rule["ToPort"]
        assert rule["FromPort"] in _database_ports(primary)
        assert rule["SourceSecurityGroupId"] == _group_id(primary, FUNCTIONS_SG)


def test_the_database_group_has_exactly_one_ingress_rule_tcp_5432_from_the_functions(primary):
    (rule,) = _ingress_rules(primary, DATABASE_SG)
    assert rule["IpProtocol"] == "tcp"
    assert rule["FromPort"] == rule["ToPort"]
    assert rule["FromPort"] in _database_ports(primary)
    assert rule["SourceSecurityGroupId"] == _group_id(primary, FUNCTIONS_SG)


def test_the_database_group_has_no_egress(primary):
    # Given the database group
    (group_id, group) = at_path(primary, DATABASE_SG)
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
    egress = primary.find_resources("AWS::EC2::SecurityGroupEgress").values()
    assert [e for e in egress if e["Properties"]["GroupId"] == own] == []


def test_credentials_are_generated_into_a_cmk_encrypted_secret_never_the_template(primary):
    (secret_id, secret) = at_path(primary, SECRET)
    properties = secret["Properties"]
    assert "SecretString" not in properties
    assert properties["Name"] == "dev-us-east-1-orders-db-admin-v1"
    assert properties["KmsKeyId"] == _key_arn(primary)
    generated = properties["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password"
    assert generated["SecretStringTemplate"] == '{"username":"orders_admin"}'
    # The instance reads its password from the secret at deploy time.
    (_, instance) = at_path(primary, INSTANCE)
    assert render(instance["Properties"]["MasterUserPassword"]) == (
        f"{{{{resolve:secretsmanager:<Ref:{secret_id}>:SecretString:password::}}}}"
    )
    admin_secrets = [
        secret
        for secret in primary.find_resources("AWS::SecretsManager::Secret").values()
        if "username" in str(secret["Properties"].get("GenerateSecretString"))
    ]
    assert len(admin_secrets) == 1


def test_the_secret_itself_is_retained_not_only_its_attachment(primary):
    # instance.secret is the SecretTargetAttachment; retaining it alone deleted the credentials.
    primary.has_resource(
        "AWS::SecretsManager::Secret",
        {
            "Metadata": {"aws:cdk:path": SECRET},
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_secret_is_replicated_to_dr_under_the_dr_key_alias(primary):
    (_, secret) = at_path(primary, SECRET)
    (replica,) = secret["Properties"]["ReplicaRegions"]
    assert replica["Region"] == "us-west-2"
    assert render(replica["KmsKeyId"]) == DR_ALIAS_ARN


def test_secret_is_rotated_every_30_days(primary):
    # Given the one rotation schedule
    (_, schedule) = only(primary, "AWS::SecretsManager::RotationSchedule")
    (secret_id, _) = at_path(primary, SECRET)
    (attachment_id, attachment) = at_path(primary, ATTACHMENT)
    (instance_id, _) = at_path(primary, INSTANCE)
    (rotation_id, _) = at_path(primary, ROTATION_APP)
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


def test_rotation_function_runs_in_the_functions_subnets_with_the_functions_group(primary):
    (_, application) = at_path(primary, ROTATION_APP)
    assert application["Type"] == "AWS::Serverless::Application"
    parameters = application["Properties"]["Parameters"]
    subnet_ids = render(parameters["vpcSubnetIds"]).split(",")
    subnets = _subnets(primary, [{"Ref": s.removeprefix("<Ref:").removesuffix(">")} for s in subnet_ids])
    assert sorted(s["AvailabilityZone"] for s in subnets) == ZONES
    assert [s["Tags"]["aws-cdk:subnet-name"] for s in subnets] == ["functions"] * 3
    assert parameters["vpcSecurityGroupIds"] == _group_id(primary, FUNCTIONS_SG)
    assert parameters["kmsKeyArn"] == _key_arn(primary)


def test_rotation_function_reaches_secrets_manager_by_its_regional_name(primary):
    # "https://<vpce-id>.secretsmanager..." is no DNS name of the endpoint. With private DNS on,
    # the regional name resolves to the interface endpoint inside the VPC.
    (_, application) = at_path(primary, ROTATION_APP)
    assert render(application["Properties"]["Parameters"]["endpoint"]) == (
        "https://secretsmanager.us-east-1.<Ref:AWS::URLSuffix>"
    )
    (_, endpoint) = at_path(primary, "PrimaryRegion/Network/Vpc/SecretsManagerEndpoint/Resource")
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def test_exported_postgres_logs_go_to_encrypted_log_groups_with_retention_made_first(primary):
    (_, instance) = at_path(primary, INSTANCE)
    assert instance["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    for export in ("postgresql", "upgrade"):
        (group_id, group) = at_path(primary, f"PrimaryRegion/Database/{export.capitalize()}Logs/Resource")
        assert group["Properties"]["LogGroupName"] == f"/aws/rds/instance/dev-us-east-1-orders-db-v1/{export}"
        assert group["Properties"]["KmsKeyId"] == _key_arn(primary)
        assert group["Properties"]["RetentionInDays"] == 90
        # RDS would create the group unencrypted and unexpiring if it got there first.
        assert group_id in instance["DependsOn"]
