"""OrderService: a region's order and health functions, in the private subnets of every zone (seed
failure 13), each on its own region's replica, parameter path and key (seed failures 7 and 20), with
least privilege (seed failure 11); the health function proves the key decrypts with a generated
canary secret. Built in us-west-2, the DR region, where reaching into the primary would show."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from dr_constructs.network import RegionalNetwork
from dr_constructs.order_service import FunctionNames, OrderService
from dr_constructs.service_function import FunctionDefaults
from tests.cfn import at_path
from tests.conftest import bare_stack, masked

REGION = "us-west-2"
# The global table carries its home region's name in every region.
TABLE = "dev-us-east-1-orders-v1"
PARAMETER_PATH = "/dev-us-west-2-orders-v1/"
CANARY = "dev-us-west-2-health-canary-v1"
ORDERS, HEALTH = "dev-us-west-2-orders-v1", "dev-us-west-2-health-v1"


def _order_service(
    config, stack: cdk.Stack, *, order_concurrency: int, health_concurrency: int
) -> OrderService:
    key = kms.Key(stack, "Key")
    retention = logs.RetentionDays.THREE_MONTHS
    return OrderService(
        stack,
        "OrderService",
        table_name=TABLE,
        key=key,
        parameter_path=PARAMETER_PATH,
        network=RegionalNetwork(
            stack, "Network", cidr=config.dr.vpc_cidr, egress=config.egress, key=key, log_retention=retention
        ),
        defaults=FunctionDefaults(log_key=key, log_retention=retention, powertools_layer_version=27),
        order=FunctionNames(function=ORDERS, role="dev-us-west-2-orders-fn-v1"),
        health=FunctionNames(function=HEALTH, role="dev-us-west-2-health-fn-v1"),
        health_canary_name=CANARY,
        order_concurrency=order_concurrency,
        health_concurrency=health_concurrency,
    )


@pytest.fixture(scope="module")
def service(config) -> OrderService:
    # Given the DR region's key and network, and the default of no reserved concurrency
    return _order_service(config, bare_stack(config, REGION), order_concurrency=0, health_concurrency=0)


@pytest.fixture(scope="module")
def template(service) -> Template:
    return Template.from_stack(cdk.Stack.of(service))


def _function(template: Template, name: str) -> dict[str, Any]:
    return at_path(template, f"Test/OrderService/{name}/Function/Resource")[1]["Properties"]


def _statements(template: Template, name: str) -> list[dict[str, Any]]:
    (_, policy) = at_path(template, f"Test/OrderService/{name}/Role/DefaultPolicy/Resource")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _key_arn(template: Template) -> dict[str, Any]:
    (key_id,) = template.find_resources("AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


@pytest.mark.parametrize("name", ["Orders", "Health"])
def test_functions_run_in_the_private_function_subnets_of_every_zone(template, name):
    # Given the network's function subnets, one per configured zone
    functions_subnets = sorted(
        template.find_resources(
            "AWS::EC2::Subnet",
            {
                "Properties": {
                    "Tags": Match.array_with([{"Key": "aws-cdk:subnet-name", "Value": "functions"}])
                }
            },
        )
    )
    assert len(functions_subnets) == 3
    # Then the function has an interface in each, in the functions' security group
    vpc_config = _function(template, name)["VpcConfig"]
    assert sorted(s["Ref"] for s in vpc_config["SubnetIds"]) == functions_subnets
    (group_id, _) = at_path(template, "Test/Network/FunctionsSecurityGroup/Resource")
    assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]


def test_the_order_function_works_on_its_own_regions_replica(template):
    function = _function(template, "Orders")
    assert function["FunctionName"] == ORDERS
    assert function["Environment"]["Variables"]["TABLE_NAME"] == TABLE
    assert function["Environment"]["Variables"]["TABLE_REGION"] == REGION


def test_the_order_function_may_only_put_and_get_items_on_its_regions_replica(template):
    dynamodb = [
        s for s in _statements(template, "Orders") if any(a.startswith("dynamodb:") for a in _actions(s))
    ]
    assert dynamodb == [
        {
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Effect": "Allow",
            "Resource": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}",
        }
    ]


def test_the_order_function_uses_the_regions_key_only_through_dynamodb(template):
    # A table imported by name knows no key, so the construct grants it.
    (kms_statement,) = [s for s in _statements(template, "Orders") if "kms:Decrypt" in _actions(s)]
    assert kms_statement["Resource"] == _key_arn(template)
    assert kms_statement["Condition"] == {
        "StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
    }


def test_the_health_function_may_only_describe_its_regions_replica(template):
    dynamodb = [
        s for s in _statements(template, "Health") if any(a.startswith("dynamodb:") for a in _actions(s))
    ]
    assert dynamodb == [
        {
            "Action": "dynamodb:DescribeTable",
            "Effect": "Allow",
            "Resource": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}",
        }
    ]


def test_the_health_function_reads_its_regions_parameter_path_and_key_only_through_ssm(template):
    # Given the health function's statements on SSM and on the key through SSM
    statements = _statements(template, "Health")
    path = f"arn:aws:ssm:{REGION}:123456789012:parameter/dev-us-west-2-orders-v1"
    # Then it may read the path and below it, and decrypt with the region's key only through SSM
    (ssm,) = [s for s in statements if "ssm:GetParametersByPath" in _actions(s)]
    assert ssm["Action"] == ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
    assert ssm["Resource"] == [path, f"{path}/*"]
    (kms_statement,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert kms_statement["Resource"] == _key_arn(template)
    assert kms_statement["Condition"] == {"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}}
    # And it is told the path
    assert _function(template, "Health")["Environment"]["Variables"]["PARAMETER_PATH"] == PARAMETER_PATH


def test_the_health_canary_is_generated_under_the_regions_key(service, template):
    # CloudFormation generates the value: it is in no template
    (_, canary) = at_path(template, "Test/OrderService/HealthCanary/Resource")
    properties = canary["Properties"]
    assert properties["Name"] == CANARY
    assert properties["KmsKeyId"] == _key_arn(template)
    assert properties["GenerateSecretString"] == {"PasswordLength": 32}
    assert "SecretString" not in properties


def test_the_health_canary_is_deleted_with_its_stack(template):
    # It guards nothing; a stack delete frees its name at once for the next deploy.
    template.has_resource("AWS::SecretsManager::Secret", {"DeletionPolicy": "Delete"})


def test_the_health_function_is_told_the_canary_and_may_read_only_it(template):
    (canary_id, _) = at_path(template, "Test/OrderService/HealthCanary/Resource")
    assert _function(template, "Health")["Environment"]["Variables"]["CANARY_SECRET_ID"] == CANARY
    secrets = [
        s
        for s in _statements(template, "Health")
        if any(a.startswith("secretsmanager:") for a in _actions(s))
    ]
    assert secrets == [
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            "Resource": {"Ref": canary_id},
        }
    ]


def test_the_health_function_may_decrypt_the_canary_only_through_secrets_manager(template):
    # Decrypting the canary is the point: it fails the region's health when the key stops decrypting.
    (role_id, _) = at_path(template, "Test/OrderService/Health/Role/Resource")
    (key,) = template.find_resources("AWS::KMS::Key").values()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"AWS": {"Fn::GetAtt": [role_id, "Arn"]}}
    ]
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    }


def test_the_order_function_cannot_read_the_canary_or_parameters(template):
    actions = {a for s in _statements(template, "Orders") for a in _actions(s)}
    assert not {a for a in actions if a.startswith(("secretsmanager:", "ssm:"))}


def test_the_health_endpoint_is_a_public_function_url_with_a_short_timeout(service, template):
    # Route 53 health checkers call it from the internet; it answers only ok or unavailable.
    template.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "AuthType": "NONE",
            "TargetFunctionArn": cdk.Stack.of(service).resolve(service.health_function.function.function_arn),
        },
    )
    assert _function(template, "Health")["Timeout"] == 5


def test_no_function_reserves_concurrency_by_default(template):
    # A new account's quota may be 10, all of which Lambda keeps unreserved.
    template.all_resources_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": Match.absent()}
    )


def test_the_functions_never_reach_into_another_region(template):
    # Given the service is built in us-west-2
    # Then nothing of either function names us-east-1 but the global table, whose name carries it
    for name in ("Orders", "Health"):
        text = json.dumps([_function(template, name), _statements(template, name)])
        assert "us-east-1" not in text.replace(TABLE, "<table>"), name


def test_configured_reservations_go_to_their_own_function(config, stack_in):
    # Given reservations for both functions
    stack = stack_in(REGION)
    _order_service(config, stack, order_concurrency=20, health_concurrency=2)
    # Then the order function reserves the order reservation and the health function its own
    template = Template.from_stack(stack)
    assert _function(template, "Orders")["ReservedConcurrentExecutions"] == 20
    assert _function(template, "Health")["ReservedConcurrentExecutions"] == 2


def test_template_matches_snapshot(template, snapshot_json):
    # Only what OrderService makes, and the key whose policy it extends: the network it is given has
    # its own snapshot (tests/constructs/test_network.py), so a network change shows there only.
    resources = {
        logical_id: resource
        for logical_id, resource in template.to_json()["Resources"].items()
        if resource["Metadata"]["aws:cdk:path"].startswith(("Test/OrderService/", "Test/Key/"))
    }
    assert masked(resources) == snapshot_json
