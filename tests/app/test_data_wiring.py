"""How the data stores meet across stacks. The stacks share no tokens, only names from the
naming convention, so these check that what the primary and the DR read replica's stack name is
what the DR and primary stacks create. Each construct's own behaviour is tested on a bare stack in
tests/constructs/."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.cfn import at_path, only, render

ACCOUNT = "123456789012"


def _dr_alias(dr: Template) -> str:
    (_, alias) = only(dr, "AWS::KMS::Alias")
    return alias["Properties"]["AliasName"]


def _dr_alias_arn(dr: Template) -> str:
    return f"arn:aws:kms:us-west-2:{ACCOUNT}:{_dr_alias(dr)}"


def _dr_bucket(dr: Template) -> str:
    (_, bucket) = at_path(dr, "DrRegion/ReplicaData/Bucket/Resource")
    return bucket["Properties"]["BucketName"]


def _group_id(template: Template, path: str) -> dict[str, Any]:
    (group_id, _) = at_path(template, path)
    return {"Fn::GetAtt": [group_id, "GroupId"]}


@pytest.mark.parametrize(("stack", "region"), [("primary", "us-east-1"), ("dr", "us-west-2")])
def test_each_region_has_one_key_with_its_convention_alias(request, names, stack, region):
    # Then each region's stack has one key, aliased as the naming convention says
    template = request.getfixturevalue(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    (_, alias) = only(template, "AWS::KMS::Alias")
    assert alias["Properties"]["AliasName"] == getattr(names, stack).key_alias
    assert alias["Properties"]["AliasName"] == f"alias/dev-{region}-orders-v1"


def _key_statements(template: Template) -> list[dict[str, Any]]:
    (_, key) = only(template, "AWS::KMS::Key")
    return key["Properties"]["KeyPolicy"]["Statement"]


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_no_statement_any_construct_added_to_a_key_policy_allows_everything(request, stack):
    # Given each region's key policy with what every construct of the stack added to it
    for statement in _key_statements(request.getfixturevalue(stack)):
        # Then none allows every action or every principal
        assert statement["Action"] != "kms:*"
        assert statement["Principal"] not in ("*", {"AWS": "*"})


@pytest.mark.parametrize("stack", ["primary", "dr"])
def test_every_account_wide_use_of_a_key_goes_through_an_aws_service(request, stack):
    # Given each region's key policy, CDK's grants to services (Secrets Manager, ...) included
    checked = 0
    for statement in _key_statements(request.getfixturevalue(stack)):
        if statement.get("Sid") == "KeyAdministration" or "Service" in statement["Principal"]:
            continue
        # Then the account's principals may use the key only through an AWS service
        assert "kms:ViaService" in statement["Condition"]["StringEquals"], statement
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize(
    ("stack", "path"),
    [("primary", "PrimaryRegion/Data/Bucket/Resource"), ("dr", "DrRegion/ReplicaData/Bucket/Resource")],
)
def test_each_regions_data_bucket_is_encrypted_with_that_regions_key(request, stack, path):
    # Then each region's data bucket is encrypted with the key of its own stack
    template = request.getfixturevalue(stack)
    (key_id, _) = only(template, "AWS::KMS::Key")
    (_, bucket) = at_path(template, path)
    (encryption,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_primary_replicates_into_the_bucket_and_under_the_alias_the_dr_stack_creates(primary, dr, names):
    # Given the DR stack's data bucket and key alias
    bucket, alias = _dr_bucket(dr), _dr_alias(dr)
    assert (bucket, alias) == (names.dr.data_bucket, names.dr.key_alias)
    # Then the primary's replication rule writes into that bucket under that alias
    (_, source) = at_path(primary, "PrimaryRegion/Data/Bucket/Resource")
    (rule,) = source["Properties"]["ReplicationConfiguration"]["Rules"]
    assert render(rule["Destination"]["Bucket"]) == f"arn:aws:s3:::{bucket}"
    assert render(rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"]) == _dr_alias_arn(dr)
    # And its role may write into that bucket with the key carrying that alias
    (_, policy) = at_path(primary, "PrimaryRegion/DataReplication/Policy/Resource")
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert render(statements["WriteDestinationReplicas"]["Resource"]) == f"arn:aws:s3:::{bucket}/*"
    encrypt = statements["EncryptReplicasWithDestinationKey"]
    assert encrypt["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": alias}


def test_dr_replicas_of_the_table_and_the_database_secret_use_the_alias_the_dr_stack_creates(primary, dr):
    # Then the table's DR replica and the secret's DR replica are encrypted under the DR stack's alias
    (_, table) = only(primary, "AWS::DynamoDB::GlobalTable")
    (replica,) = [r for r in table["Properties"]["Replicas"] if r["Region"] == "us-west-2"]
    assert render(replica["SSESpecification"]["KMSMasterKeyId"]) == _dr_alias_arn(dr)
    (_, secret) = at_path(primary, "PrimaryRegion/Database/Instance/Secret/Resource")
    (secret_replica,) = secret["Properties"]["ReplicaRegions"]
    assert secret_replica["Region"] == "us-west-2"
    assert render(secret_replica["KmsKeyId"]) == _dr_alias_arn(dr)


def test_dr_stack_imports_the_table_by_name_and_reaches_its_local_replica(platform, primary, dr):
    # Given the table the primary creates
    (_, table) = only(primary, "AWS::DynamoDB::GlobalTable")
    name = table["Properties"]["TableName"]
    # Then the DR stack creates no table of its own, and addresses the DR region's replica
    assert dr.find_resources("AWS::DynamoDB::GlobalTable") == {}
    assert dr.find_resources("AWS::DynamoDB::Table") == {}
    arn = platform.dr.resolve(platform.dr.orders_table.table_arn)
    assert arn == f"arn:aws:dynamodb:us-west-2:{ACCOUNT}:table/{name}"


def test_the_primary_has_the_source_database_the_dr_stack_none_and_the_replica_stack_its_copy(
    primary, dr, database_replica
):
    # Then the primary has the one instance, a source of its own, not a replica
    (_, source) = only(primary, "AWS::RDS::DBInstance")
    assert "SourceDBInstanceIdentifier" not in source["Properties"]
    # And the DR stack has none: it makes only the replica's place
    dr.resource_count_is("AWS::RDS::DBInstance", 0)
    # And the replica stack has exactly the replica
    (_, replica) = only(database_replica, "AWS::RDS::DBInstance")
    assert "SourceDBInstanceIdentifier" in replica["Properties"]
    # And neither DR-region stack has a database secret of its own: the replica's credentials are the
    # primary's, replicated under the same name, and a DR secret of that name would collide with it
    for template in (dr, database_replica):
        secrets = [
            s["Properties"].get("Name", "")
            for s in template.find_resources("AWS::SecretsManager::Secret").values()
        ]
        assert [name for name in secrets if "orders-db" in name] == []


def test_the_dr_networks_database_group_admits_exactly_the_dr_functions_group_on_5432(dr):
    # Given the DR network's database group, opened for the replica
    database = _group_id(dr, "DrRegion/Services/Network/DatabaseSecurityGroup/Resource")
    functions = _group_id(dr, "DrRegion/Services/Network/FunctionsSecurityGroup/Resource")
    (_, group) = at_path(dr, "DrRegion/Services/Network/DatabaseSecurityGroup/Resource")
    assert "SecurityGroupIngress" not in group["Properties"]
    # Then exactly one rule enters it: TCP 5432 from the DR functions' group
    ingress = dr.find_resources("AWS::EC2::SecurityGroupIngress").values()
    assert [
        {k: v for k, v in r["Properties"].items() if k != "Description"}
        for r in ingress
        if r["Properties"]["GroupId"] == database
    ] == [
        {
            "GroupId": database,
            "IpProtocol": "tcp",
            "FromPort": 5432,
            "ToPort": 5432,
            "SourceSecurityGroupId": functions,
        }
    ]
    # And the functions may open that port to it, and no other
    egress = dr.find_resources("AWS::EC2::SecurityGroupEgress").values()
    assert [
        (r["Properties"]["IpProtocol"], r["Properties"]["FromPort"], r["Properties"]["ToPort"])
        for r in egress
        if r["Properties"]["GroupId"] == functions
        and r["Properties"].get("DestinationSecurityGroupId") == database
    ] == [("tcp", 5432, 5432)]


def test_the_primary_database_sits_in_the_regional_services_network(primary):
    # Given the network the primary's regional services made
    network = "PrimaryRegion/Services/Network"
    (_, instance) = at_path(primary, "PrimaryRegion/Database/Instance/Resource")
    (_, rotation) = at_path(primary, "PrimaryRegion/Database/Instance/RotationSingleUser/Resource")
    # Then the database is behind its database group and rotated from its functions group
    assert instance["Properties"]["VPCSecurityGroups"] == [
        _group_id(primary, f"{network}/DatabaseSecurityGroup/Resource")
    ]
    assert rotation["Properties"]["Parameters"]["vpcSecurityGroupIds"] == _group_id(
        primary, f"{network}/FunctionsSecurityGroup/Resource"
    )
    # And that network's Secrets Manager endpoint answers the rotation's regional name
    (_, endpoint) = at_path(primary, f"{network}/Vpc/SecretsManagerEndpoint/Resource")
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True


# The DR region's read replica: its own stack after the primary, placed by the DR stack


def _replica(database_replica: Template) -> dict[str, Any]:
    return at_path(database_replica, "DatabaseReplica/Replica/Instance")[1]["Properties"]


def test_the_replica_copies_the_primary_instance_by_its_identifier_in_the_primary_region(
    primary, database_replica
):
    # Given the primary's instance, which keeps automated backups (RDS copies none without them)
    (_, source) = at_path(primary, "PrimaryRegion/Database/Instance/Resource")
    identifier = source["Properties"]["DBInstanceIdentifier"]
    assert source["Properties"]["BackupRetentionPeriod"] > 0
    # Then the replica names that instance by its ARN in the primary region, and that region as source
    replica = _replica(database_replica)
    assert replica["SourceDBInstanceIdentifier"] == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:{identifier}"
    assert replica["SourceRegion"] == "us-east-1"


def test_the_replica_sits_in_the_subnet_group_the_dr_stack_creates_over_its_database_subnets(
    dr, database_replica
):
    # Given the DR stack's subnet group for the replica
    (_, group) = at_path(dr, "DrRegion/DatabaseReplicaPlacement/SubnetGroup/Default")
    # Then the replica names exactly that group
    assert _replica(database_replica)["DBSubnetGroupName"] == group["Properties"]["DBSubnetGroupName"]
    # And the group is the DR network's isolated database subnets
    assert group["Properties"]["SubnetIds"] == [
        {"Ref": at_path(dr, f"DrRegion/Services/Network/Vpc/databaseSubnet{n}/Subnet")[0]} for n in (1, 2, 3)
    ]


def test_the_replica_resolves_the_parameter_the_dr_stack_publishes_its_database_group_under(
    dr, database_replica
):
    # Given the DR stack's parameter, which holds its network's database group ID
    (_, parameter) = at_path(dr, "DrRegion/DatabaseReplicaPlacement/SecurityGroupId/Resource")
    assert parameter["Properties"]["Value"] == _group_id(
        dr, "DrRegion/Services/Network/DatabaseSecurityGroup/Resource"
    )
    # Then the replica's one security group is the value of exactly that parameter, read at deploy time
    (group,) = _replica(database_replica)["VPCSecurityGroups"]
    template_parameter = database_replica.to_json()["Parameters"][group["Ref"]]
    assert template_parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert template_parameter["Default"] == parameter["Properties"]["Name"]


def test_the_replica_is_encrypted_under_the_alias_the_dr_stack_creates(dr, database_replica):
    # Then the replica's storage and Performance Insights are under the DR stack's key alias
    replica = _replica(database_replica)
    assert render(replica["KmsKeyId"]) == _dr_alias_arn(dr)
    assert render(replica["PerformanceInsightsKMSKeyId"]) == _dr_alias_arn(dr)


def test_the_dr_stack_makes_the_replicas_export_log_groups_under_its_identifier_and_key(dr, database_replica):
    # Given the replica's identifier and the logs it exports
    replica = _replica(database_replica)
    identifier, exports = replica["DBInstanceIdentifier"], replica["EnableCloudwatchLogsExports"]
    assert exports
    # Then the DR stack made, under its key, the group RDS writes each export of that identifier to
    (key_id, _) = only(dr, "AWS::KMS::Key")
    for export in exports:
        dr.has_resource_properties(
            "AWS::Logs::LogGroup",
            {
                "LogGroupName": f"/aws/rds/instance/{identifier}/{export}",
                "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            },
        )


def test_the_replica_lag_alarm_takes_the_configured_postgres_rpo(config, database_replica):
    # Given the replica's identifier
    identifier = _replica(database_replica)["DBInstanceIdentifier"]
    # Then its lag alarm watches that replica with the postgres rpoTargetSeconds as threshold
    database_replica.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ReplicaLag",
            "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": identifier}],
            "Threshold": config.monitoring.rpo_targets["postgres"],
        },
    )


def test_the_replica_stack_deploys_after_the_primary_it_copies(platform):
    # Then the replica's stack waits for the primary, whose instance is its source
    assert platform.database_replica.dependencies == [platform.primary]
    assert platform.stacks.index(platform.database_replica) > platform.stacks.index(platform.primary)
