"""(e) Nothing a template names explicitly may already exist outside the stack declaring it."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from dr_ops.assembly import CloudAssembly, StackArtifact
from dr_ops.aws import AwsClients
from dr_ops.checks import Result, Status
from dr_ops.checks.fixed_names import FIXED_NAMES, fixed_name_checks
from dr_ops.stack_resources import StackResources
from tests.conftest import Synthesized
from tests.ops.helpers import ACCOUNT, assembly, invocation, run, stack

TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})


def check(aws: AwsClients, app: CloudAssembly) -> list[Result]:
    return [run(c) for c in fixed_name_checks(aws, app, StackResources(aws), invocation())]


def named(resource_type: str, name: Any, **properties: Any) -> StackArtifact:
    """A primary-region stack holding one resource of this type under this name."""
    resource = {
        "Type": resource_type,
        "Properties": {FIXED_NAMES[resource_type].name_property: name, **properties},
    }
    return stack("Sample", "us-east-1", {"Thing": resource})


def role_arn(aws: AwsClients, name: str = "dev-us-east-1-sample-role-v1") -> str:
    return str(
        aws.client("iam", "us-east-1").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"][
            "Arn"
        ]
    )


def zipped_handler() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def primary(aws: AwsClients, service: str) -> Any:
    return aws.client(service, "us-east-1")


# How to make a resource of each type the check covers outside any stack (moto models them all).
def create_bucket(aws: AwsClients, name: str) -> None:
    primary(aws, "s3").create_bucket(Bucket=name)


def create_table(aws: AwsClients, name: str, region: str = "us-east-1") -> None:
    aws.client("dynamodb", region).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def create_queue(aws: AwsClients, name: str) -> None:
    primary(aws, "sqs").create_queue(QueueName=name)


def create_topic(aws: AwsClients, name: str) -> None:
    primary(aws, "sns").create_topic(Name=name)


def create_function(aws: AwsClients, name: str) -> None:
    code = {"ZipFile": zipped_handler()}
    primary(aws, "lambda").create_function(
        FunctionName=name, Runtime="python3.12", Handler="index.handler", Role=role_arn(aws), Code=code
    )


def create_role(aws: AwsClients, name: str) -> None:
    role_arn(aws, name)


def create_alias(aws: AwsClients, name: str) -> None:
    key = primary(aws, "kms").create_key()["KeyMetadata"]["KeyId"]
    primary(aws, "kms").create_alias(AliasName=name, TargetKeyId=key)


def create_secret(aws: AwsClients, name: str, region: str = "us-east-1") -> None:
    aws.client("secretsmanager", region).create_secret(Name=name, SecretString="not a real secret")


def create_db_instance(aws: AwsClients, name: str) -> None:
    primary(aws, "rds").create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )


def create_db_subnet_group(aws: AwsClients, name: str) -> None:
    ec2 = primary(aws, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{index}.0/24", AvailabilityZone=f"us-east-1{zone}")[
            "Subnet"
        ]["SubnetId"]
        for index, zone in enumerate("ab")
    ]
    primary(aws, "rds").create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription="taken", SubnetIds=subnets
    )


def create_parameter(aws: AwsClients, name: str) -> None:
    primary(aws, "ssm").put_parameter(Name=name, Value="taken", Type="String")


def create_log_group(aws: AwsClients, name: str) -> None:
    primary(aws, "logs").create_log_group(logGroupName=name)


def create_state_machine(aws: AwsClients, name: str) -> None:
    definition = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'
    primary(aws, "stepfunctions").create_state_machine(
        name=name, definition=definition, roleArn=role_arn(aws)
    )


def create_schedule(aws: AwsClients, name: str) -> None:
    target = {"Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:target", "RoleArn": role_arn(aws)}
    primary(aws, "scheduler").create_schedule(
        Name=name, ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"}, Target=target
    )


def create_rule(aws: AwsClients, name: str) -> None:
    primary(aws, "events").put_rule(Name=name, ScheduleExpression="rate(1 hour)")


def create_alarm(aws: AwsClients, name: str) -> None:
    primary(aws, "cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="OrdersDr",
        MetricName="Probe",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def create_dashboard(aws: AwsClients, name: str) -> None:
    primary(aws, "cloudwatch").put_dashboard(DashboardName=name, DashboardBody='{"widgets": []}')


CREATE: dict[str, Callable[[AwsClients, str], None]] = {
    "AWS::S3::Bucket": create_bucket,
    "AWS::DynamoDB::GlobalTable": create_table,
    "AWS::SQS::Queue": create_queue,
    "AWS::SNS::Topic": create_topic,
    "AWS::Lambda::Function": create_function,
    "AWS::IAM::Role": create_role,
    "AWS::KMS::Alias": create_alias,
    "AWS::SecretsManager::Secret": create_secret,
    "AWS::RDS::DBInstance": create_db_instance,
    "AWS::RDS::DBSubnetGroup": create_db_subnet_group,
    "AWS::SSM::Parameter": create_parameter,
    "AWS::Logs::LogGroup": create_log_group,
    "AWS::StepFunctions::StateMachine": create_state_machine,
    "AWS::Scheduler::Schedule": create_schedule,
    "AWS::Events::Rule": create_rule,
    "AWS::CloudWatch::Alarm": create_alarm,
    "AWS::CloudWatch::Dashboard": create_dashboard,
}


def name_of(resource_type: str) -> str:
    if resource_type == "AWS::KMS::Alias":
        return "alias/dev-us-east-1-sample-v1"
    if resource_type == "AWS::SSM::Parameter":
        return "/dev-us-east-1-sample-v1/name"
    return "dev-us-east-1-sample-v1"


def test_every_type_in_the_table_has_a_case_here() -> None:
    # Given the check's table of types
    # When it is compared with the types this module can create
    # Then each type the check covers is tested below, including any added later
    assert set(CREATE) == set(FIXED_NAMES)


def test_the_synthesized_stacks_pass_in_an_empty_account(aws: AwsClients, synthesized: Synthesized) -> None:
    # Given the app with cdk.json's defaults, and an account holding none of its names
    app = CloudAssembly.read(synthesized.outdir)

    # When every stack's fixed names are checked
    results = check(aws, app)

    # Then each stack passes with its counts per type; the global table counts in both its regions
    assert {r.name: r.status for r in results} == {
        "fixed names Dns": Status.PASS,
        "fixed names DrRegion": Status.PASS,
        "fixed names PrimaryRegion": Status.PASS,
        "fixed names DatabaseReplica": Status.PASS,
        "fixed names Routing": Status.PASS,
        "fixed names Observer": Status.PASS,
    }
    primary = next(r for r in results if r.name == "fixed names PrimaryRegion").outcome.found
    assert "DynamoDB::GlobalTable 2" in primary
    assert "S3::Bucket 3" in primary  # data, access logs, the FIS extension's configuration
    assert "Logs::LogGroup 2" in primary  # the database's export groups
    dr = next(r for r in results if r.name == "fixed names DrRegion").outcome.found
    assert "Logs::LogGroup 2" in dr  # the DR replica's export groups, made before the replica
    observer = next(r for r in results if r.name == "fixed names Observer").outcome.found
    assert "S3::Bucket 2" in observer  # the evidence bucket and its access logs
    replica = next(r for r in results if r.name == "fixed names DatabaseReplica").outcome.found
    assert replica.endswith(": CloudWatch::Alarm 1, RDS::DBInstance 1")


def test_a_synthesized_bucket_name_taken_in_the_account_fails(
    aws: AwsClients, synthesized: Synthesized
) -> None:
    # Given the DR data bucket's name already used by a bucket outside any stack
    app = CloudAssembly.read(synthesized.outdir)
    bucket = f"dev-us-west-2-orderdata-{ACCOUNT}-v1"
    aws.client("s3", "us-west-2").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )

    # When the DR stack's fixed names are checked
    dr = next(r for r in check(aws, app) if r.name == "fixed names DrRegion")

    # Then it fails naming the bucket, and the fix is to delete it or import it into DrRegion
    assert dr.status is Status.FAIL
    assert (
        f"AWS::S3::Bucket {bucket} in us-west-2 exists outside stack dev-us-west-2-orders-dr-v1"
        in dr.outcome.found
    )
    assert "./dev cdk import DrRegion" in dr.outcome.fix


@pytest.mark.parametrize("resource_type", sorted(FIXED_NAMES))
def test_a_free_name_passes(aws: AwsClients, resource_type: str) -> None:
    # Given a stack naming one resource of this type, and nothing of that name in the account
    # When its fixed names are checked
    [result] = check(aws, assembly(named(resource_type, name_of(resource_type))))

    # Then it passes, counting the type
    assert result.status is Status.PASS
    assert result.outcome.found.endswith(f"{resource_type.removeprefix('AWS::')} 1")


@pytest.mark.parametrize("resource_type", sorted(FIXED_NAMES))
def test_a_name_taken_outside_the_stack_fails(aws: AwsClients, resource_type: str) -> None:
    # Given a resource of this type created under the stack's name, outside the (undeployed) stack
    CREATE[resource_type](aws, name_of(resource_type))

    # When the stack's fixed names are checked
    [result] = check(aws, assembly(named(resource_type, name_of(resource_type))))

    # Then it fails naming the resource, and the fix offers deleting or importing it
    assert result.status is Status.FAIL
    assert (
        f"{resource_type} {name_of(resource_type)} in us-east-1 exists outside stack" in result.outcome.found
    )
    assert "./dev cdk import Sample" in result.outcome.fix


def test_names_the_deployed_stack_holds_pass(aws: AwsClients) -> None:
    # Given the stack deployed (in moto) with a named bucket and queue
    app = stack(
        "Sample",
        "us-east-1",
        {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "dev-us-east-1-sample-v1"}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "dev-us-east-1-sample-v1"}},
        },
    )
    aws.client("cloudformation", "us-east-1").create_stack(
        StackName=app.stack_name, TemplateBody=json.dumps(app.template)
    )

    # When its fixed names are checked again (a second deploy)
    [result] = check(aws, assembly(app))

    # Then both exist and both belong to the stack: it passes
    assert result.status is Status.PASS
    assert result.outcome.found == f"2 names free or already in {app.stack_name}: S3::Bucket 1, SQS::Queue 1"


def test_a_resource_left_behind_by_a_rolled_back_stack_fails(aws: AwsClients) -> None:
    # Given a first deploy that rolled back: its stack still lists the bucket it retained, as
    # DELETE_SKIPPED, and the bucket is still there. moto does not model rollbacks, so
    # CloudFormation's answer is stubbed, as its DeletionPolicy page describes a retained resource
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
    create_bucket(aws, "dev-us-east-1-sample-v1")
    app = named("AWS::S3::Bucket", "dev-us-east-1-sample-v1")
    detail = {
        "StackName": app.stack_name,
        "LogicalResourceId": "Thing",
        "PhysicalResourceId": "dev-us-east-1-sample-v1",
        "ResourceType": "AWS::S3::Bucket",
        "LastUpdatedTimestamp": datetime(2025, 1, 1, tzinfo=UTC),
        "ResourceStatus": "DELETE_SKIPPED",
    }
    with Stubber(aws.client("cloudformation", "us-east-1")) as stubber:
        stubber.add_response(
            "describe_stack_resource",
            {"StackResourceDetail": detail},
            {"StackName": app.stack_name, "LogicalResourceId": "Thing"},
        )

        # When the stack's fixed names are checked before deploying again
        [result] = check(aws, assembly(app))

    # Then it fails: the next deploy creates the bucket anew and would collide with this one
    assert result.status is Status.FAIL
    assert "dev-us-east-1-sample-v1 in us-east-1 exists outside stack" in result.outcome.found


def test_a_bucket_name_held_by_another_account_fails_with_a_rename(aws: AwsClients) -> None:
    # Given a bucket name another account holds: S3 answers HeadBucket with 403. moto keeps
    # one account here, so S3's answer is stubbed.
    s3 = aws.client("s3", "us-east-1")
    with Stubber(s3) as stubber:
        stubber.add_client_error("head_bucket", "403", http_status_code=403)

        # When the stack's fixed names are checked
        [result] = check(aws, assembly(named("AWS::S3::Bucket", "dev-us-east-1-sample-v1")))

    # Then it fails, and the fix changes the names rather than importing
    assert result.status is Status.FAIL
    assert "another account holds this one" in result.outcome.found
    assert result.outcome.fix == "pick another suffix or environment (-c suffix=...) so the names change"


def test_a_global_table_name_taken_in_a_replica_region_fails(aws: AwsClients) -> None:
    # Given the table's name used in the DR region only
    create_table(aws, "dev-us-east-1-orders-v1", region="us-west-2")
    replicas = [{"Region": "us-west-2"}, {"Region": "us-east-1"}]

    # When the primary stack's global table is checked
    table = named("AWS::DynamoDB::GlobalTable", "dev-us-east-1-orders-v1", Replicas=replicas)
    [result] = check(aws, assembly(table))

    # Then it fails in the replica region
    assert result.status is Status.FAIL
    assert "dev-us-east-1-orders-v1 in us-west-2 exists outside stack" in result.outcome.found


def test_a_secret_name_taken_in_its_replica_region_fails(aws: AwsClients) -> None:
    # Given the secret's name used in the DR region, where the secret is to be replicated
    create_secret(aws, "dev-us-east-1-orders-db-admin-v1", region="us-west-2")

    # When the primary stack's secret is checked
    secret = named(
        "AWS::SecretsManager::Secret",
        "dev-us-east-1-orders-db-admin-v1",
        ReplicaRegions=[{"Region": "us-west-2"}],
    )
    [result] = check(aws, assembly(secret))

    # Then it fails in the replica region
    assert result.status is Status.FAIL
    assert "dev-us-east-1-orders-db-admin-v1 in us-west-2 exists outside stack" in result.outcome.found


def test_a_computed_name_is_left_to_the_deploy(aws: AwsClients) -> None:
    # Given a log group whose name is an intrinsic function, as CDK writes a provider's
    computed = {"Fn::Join": ["", ["/aws/lambda/", {"Ref": "Provider"}]]}

    # When the stack's fixed names are checked
    [result] = check(aws, assembly(named("AWS::Logs::LogGroup", computed)))

    # Then nothing is looked up and the line says so
    assert result.status is Status.PASS
    assert result.outcome.found == "no fixed names; 1 computed name left to the deploy"
