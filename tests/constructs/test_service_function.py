"""ServiceFunction: a Python function of this app with its own least-privilege role (seed failure 11),
a KMS-encrypted log group with retention, Powertools from the public layer, active tracing, and no
reserved concurrency unless asked for; log_retention maps a number of days to CloudWatch Logs'."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from dr_constructs.service_function import FunctionDefaults, ServiceFunction, VpcPlacement, log_retention
from tests.cfn import at_path
from tests.conftest import bare_stack, masked

REGION = "us-east-1"
FUNCTION_NAME = "dev-us-east-1-orders-v1"
ROLE_NAME = "dev-us-east-1-orders-fn-v1"
LAYER = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-x86_64:27"
# Actions with no resource-level permissions, which only "*" can grant: their "Resource types"
# column is empty in the Service Authorization Reference
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html).
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
ENI = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def _service_function(stack: cdk.Stack, **options: Any) -> ServiceFunction:
    key = kms.Key(stack, "Key")
    props: dict[str, Any] = {
        "function_name": FUNCTION_NAME,
        "role_name": ROLE_NAME,
        "asset": "orders",
        "description": "Validates orders",
        "environment": {"TABLE_NAME": "dev-us-east-1-orders-v1"},
        "defaults": FunctionDefaults(
            log_key=key, log_retention=logs.RetentionDays.THREE_MONTHS, powertools_layer_version=27
        ),
        "timeout": cdk.Duration.seconds(10),
    }
    return ServiceFunction(stack, "Orders", **{**props, **options})


@pytest.fixture(scope="module")
def function(config) -> ServiceFunction:
    # Given a function with the region's defaults and nothing optional
    return _service_function(bare_stack(config, REGION))


@pytest.fixture(scope="module")
def template(function) -> Template:
    return Template.from_stack(cdk.Stack.of(function))


@pytest.fixture(scope="module")
def placed(config) -> Template:
    # Given a function in a VPC's private subnets, with reserved concurrency and its own entry point
    stack = bare_stack(config, REGION)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="functions", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    group = ec2.SecurityGroup(stack, "Functions", vpc=vpc, allow_all_outbound=False)
    _service_function(
        stack,
        reserved_concurrency=5,
        memory_size=512,
        entry_point="handle_order",
        placement=VpcPlacement(
            vpc=vpc, subnets=ec2.SubnetSelection(subnet_group_name="functions"), security_group=group
        ),
    )
    return Template.from_stack(stack)


def _statements(template: Template) -> list[dict[str, Any]]:
    (_, policy) = at_path(template, "Test/Orders/Role/DefaultPolicy/Resource")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_the_function_runs_the_asset_on_python_3_14_with_active_tracing(template):
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": FUNCTION_NAME,
            "Description": "Validates orders",
            "Runtime": "python3.14",
            "Architectures": ["x86_64"],
            "Handler": "handler.lambda_handler",
            "TracingConfig": {"Mode": "Active"},
            "MemorySize": 256,
            "Timeout": 10,
        },
    )


def test_the_function_uses_the_regions_public_powertools_layer_at_the_configured_version(template):
    template.has_resource_properties("AWS::Lambda::Function", {"Layers": [LAYER]})


def test_the_environment_names_the_service_for_powertools_and_keeps_the_given_variables(template):
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_equals(
                    {
                        "POWERTOOLS_SERVICE_NAME": "orders",
                        "POWERTOOLS_METRICS_NAMESPACE": "OrdersDr",
                        "LOG_LEVEL": "INFO",
                        "TABLE_NAME": "dev-us-east-1-orders-v1",
                    }
                )
            }
        },
    )


def test_the_function_logs_into_its_own_encrypted_group_with_retention(function, template):
    # Given the function's log group
    stack = cdk.Stack.of(function)
    log_group = stack.resolve(function.log_group.log_group_name)
    # Then the function writes there, the group is encrypted with the region's key, kept 90 days
    template.has_resource_properties("AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": log_group}})
    (key_id,) = template.find_resources("AWS::KMS::Key")
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}, "RetentionInDays": 90},
            # Logs expire by retention anyway; a retained group would block a redeploy
            "DeletionPolicy": "Delete",
        },
    )


def test_the_role_is_named_assumed_only_by_lambda_and_has_no_managed_policies(template):
    (_, role) = at_path(template, "Test/Orders/Role/Resource")
    properties = role["Properties"]
    assert properties["RoleName"] == ROLE_NAME
    assert properties["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in properties


def test_the_role_writes_only_its_own_log_group(function, template):
    (logs_statement,) = [s for s in _statements(template) if s.get("Sid") == "WriteOwnLogs"]
    assert _actions(logs_statement) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert logs_statement["Resource"] == cdk.Stack.of(function).resolve(function.log_group.log_group_arn)


def test_the_role_starts_with_logging_and_tracing_only(template):
    # Everything else is granted by the construct that knows what the code calls.
    actions = {a for s in _statements(template) for a in _actions(s)}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"} | XRAY


def test_only_actions_without_resource_level_permissions_have_a_wildcard_resource(template):
    wildcard = [s for s in _statements(template) if s["Resource"] == "*"]
    assert {a for s in wildcard for a in _actions(s)} == XRAY


def test_no_concurrency_is_reserved_by_default(template):
    # A new account's quota may be 10, all of which Lambda keeps unreserved: any reservation would
    # fail the first deploy (Lambda concurrency docs).
    template.has_resource_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": Match.absent()}
    )


def test_a_configured_reservation_is_made(placed):
    placed.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5})


def test_memory_and_entry_point_can_be_chosen(placed):
    placed.has_resource_properties(
        "AWS::Lambda::Function", {"MemorySize": 512, "Handler": "handler.handle_order"}
    )


def test_a_placed_function_runs_in_the_given_subnets_with_the_given_group(placed):
    (group_id,) = placed.find_resources("AWS::EC2::SecurityGroup")
    subnets = sorted(placed.find_resources("AWS::EC2::Subnet"))
    (_, function) = at_path(placed, "Test/Orders/Function/Resource")
    vpc_config = function["Properties"]["VpcConfig"]
    assert sorted(s["Ref"] for s in vpc_config["SubnetIds"]) == subnets
    assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]


def test_only_a_placed_function_may_manage_network_interfaces(template, placed):
    # Given the ENI statement Lambda needs in a VPC
    (eni,) = [s for s in _statements(placed) if s.get("Sid") == "ManageOwnNetworkInterfaces"]
    # Then it holds exactly the ENI actions, which take no resource, and a function outside a VPC has none
    assert _actions(eni) == ENI
    assert eni["Resource"] == "*"
    assert not [s for s in _statements(template) if _actions(s) & ENI]


def test_an_asset_folder_without_handler_py_is_refused(stack_in):
    # Given a stack
    stack = stack_in(REGION)
    # When a function names an asset folder with no handler.py
    # Then it is refused at synth, naming the folder, not at the first invocation
    with pytest.raises(ValueError, match=r"asset 'no_such_function' has no handler\.py"):
        _service_function(stack, asset="no_such_function")


def test_a_negative_reservation_is_refused(stack_in):
    with pytest.raises(ValueError, match="reserved_concurrency must be 0"):
        _service_function(stack_in(REGION), reserved_concurrency=-1)


@pytest.mark.parametrize(
    ("days", "retention"),
    [
        (1, logs.RetentionDays.ONE_DAY),
        (90, logs.RetentionDays.THREE_MONTHS),
        (3653, logs.RetentionDays.TEN_YEARS),
    ],
)
def test_log_retention_maps_days_to_cloudwatch_logs_retention(days, retention):
    assert log_retention(days) is retention


@pytest.mark.parametrize("days", [0, 2, 100, 4000])
def test_log_retention_refuses_days_cloudwatch_logs_does_not_offer(days):
    with pytest.raises(ValueError, match=f"cannot keep logs for {days} days"):
        log_retention(days)


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
