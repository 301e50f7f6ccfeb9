"""OrderService: a region's one order function, serving the order routes and the deep health route
behind the regional API, in the private subnets of every zone (seed failure 13), on its own region's
replica, parameter path and key (seed failures 7 and 20), with least privilege (seed failure 11); its
health route proves the key decrypts with a generated canary secret and reads every region's fence.
Built in us-west-2, the DR region, where reaching into the primary would show."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from dr_constructs.network import RegionalNetwork
from dr_constructs.order_service import OrderService
from dr_constructs.service_function import FunctionDefaults
from tests.cfn import at_path
from tests.conftest import bare_stack, masked

REGION = "us-west-2"
APP_REGIONS = ("us-east-1", "us-west-2")
# The global table carries its home region's name in every region.
TABLE = "dev-us-east-1-orders-v1"
PARAMETER_PATH = "/dev-us-west-2-orders-v1/"
CANARY = "dev-us-west-2-health-canary-v1"
FUNCTION, ROLE = "dev-us-west-2-orders-v1", "dev-us-west-2-orders-fn-v1"
HEALTH_PATH = "/health/0123456789abcdef01234567"


def _order_service(
    config, stack: cdk.Stack, *, reserved_concurrency: int | None = None, app_regions=APP_REGIONS
) -> OrderService:
    key = kms.Key(stack, "Key")
    retention = logs.RetentionDays.THREE_MONTHS
    optional = {} if reserved_concurrency is None else {"reserved_concurrency": reserved_concurrency}
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
        function_name=FUNCTION,
        role_name=ROLE,
        canary_name=CANARY,
        app_regions=app_regions,
        health_path=HEALTH_PATH,
        **optional,
    )


@pytest.fixture(scope="module")
def service(config) -> OrderService:
    # Given the DR region's key and network, and no reservation (the default)
    return _order_service(config, bare_stack(config, REGION))


@pytest.fixture(scope="module")
def template(service) -> Template:
    return Template.from_stack(cdk.Stack.of(service))


def _function(template: Template) -> dict[str, Any]:
    return at_path(template, "Test/OrderService/Orders/Function/Resource")[1]["Properties"]


def _environment(template: Template) -> dict[str, Any]:
    return _function(template)["Environment"]["Variables"]


def _statements(template: Template) -> list[dict[str, Any]]:
    (_, policy) = at_path(template, "Test/OrderService/Orders/Role/DefaultPolicy/Resource")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _key_arn(template: Template) -> dict[str, Any]:
    (key_id,) = template.find_resources("AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


# One function for orders and health


def test_one_function_serves_the_orders_and_the_health_route(template):
    # Then the service makes one function (the network's are its own), named for the region
    functions = [
        resource
        for resource in template.find_resources("AWS::Lambda::Function").values()
        if resource["Metadata"]["aws:cdk:path"].startswith("Test/OrderService/")
    ]
    assert [f["Properties"]["FunctionName"] for f in functions] == [FUNCTION]


def test_the_function_is_reached_only_through_the_api_never_a_function_url(template):
    # Route 53 calls the health route through the regional API, on the path users take
    template.resource_count_is("AWS::Lambda::Url", 0)


def test_the_function_is_told_the_health_path_it_routes(template):
    assert _environment(template)["HEALTH_PATH"] == HEALTH_PATH


def test_the_function_is_told_every_app_region_whose_fence_its_health_route_reports(template):
    assert _environment(template)["APP_REGIONS"] == ",".join(APP_REGIONS)


def test_a_service_outside_the_app_regions_is_refused(config, stack_in):
    # Given a stack in us-west-2 and app regions without it
    stack = stack_in(REGION)
    # When the service is made there, Then it is refused: its health route would miss its own fence
    with pytest.raises(ValueError, match="must be one of the app regions"):
        _order_service(config, stack, app_regions=("us-east-1", "eu-west-1"))


def test_the_function_runs_in_the_private_function_subnets_of_every_zone(template):
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
    vpc_config = _function(template)["VpcConfig"]
    assert sorted(s["Ref"] for s in vpc_config["SubnetIds"]) == functions_subnets
    (group_id, _) = at_path(template, "Test/Network/FunctionsSecurityGroup/Resource")
    assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]


# The table


def test_the_function_works_on_its_own_regions_replica(template):
    environment = _environment(template)
    assert (environment["TABLE_NAME"], environment["TABLE_REGION"]) == (TABLE, REGION)


def test_the_function_may_only_put_get_and_batch_get_items_on_its_regions_replica(template):
    # BatchGetItem reads the fences for the health route; PutItem and GetItem are the order path
    dynamodb = [s for s in _statements(template) if any(a.startswith("dynamodb:") for a in _actions(s))]
    assert dynamodb == [
        {
            "Action": ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"],
            "Effect": "Allow",
            "Resource": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}",
        }
    ]


def test_the_function_uses_the_regions_key_for_the_table_only_through_dynamodb(template):
    # A table imported by name knows no key, so the construct grants it.
    (kms_statement,) = [s for s in _statements(template) if "kms:Encrypt" in _actions(s)]
    assert kms_statement["Resource"] == _key_arn(template)
    assert kms_statement["Condition"] == {
        "StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}
    }


# The parameters


def test_the_function_reads_its_regions_parameter_path_and_key_only_through_ssm(template):
    # Given the function's statements on SSM and on the key through SSM
    statements = _statements(template)
    path = f"arn:aws:ssm:{REGION}:123456789012:parameter/dev-us-west-2-orders-v1"
    # Then it may read the path and below it, and decrypt with the region's key only through SSM
    (ssm,) = [s for s in statements if "ssm:GetParametersByPath" in _actions(s)]
    assert ssm["Action"] == ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
    assert ssm["Resource"] == [path, f"{path}/*"]
    (kms_statement,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert kms_statement["Resource"] == _key_arn(template)
    assert kms_statement["Condition"] == {"StringEquals": {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}}
    # And it is told the path
    assert _environment(template)["PARAMETER_PATH"] == PARAMETER_PATH


# The health canary


def test_the_health_canary_is_generated_under_the_regions_key(template):
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


def test_the_function_is_told_the_canary_and_may_read_only_it(template):
    (canary_id, _) = at_path(template, "Test/OrderService/HealthCanary/Resource")
    assert _environment(template)["CANARY_SECRET_ID"] == CANARY
    secrets = [s for s in _statements(template) if any(a.startswith("secretsmanager:") for a in _actions(s))]
    assert secrets == [
        {
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Effect": "Allow",
            "Resource": {"Ref": canary_id},
        }
    ]


def test_the_function_may_decrypt_the_canary_only_through_secrets_manager(template):
    # Decrypting the canary is the point: it fails the region's health when the key stops decrypting.
    (role_id, _) = at_path(template, "Test/OrderService/Orders/Role/Resource")
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


# Region and concurrency


def test_the_function_never_reaches_into_another_region(template):
    # Given the service is built in us-west-2
    # Then nothing of the function names us-east-1 but the global table, whose name carries it, and
    # the app's regions, whose fences it reads from its own replica
    text = json.dumps([_function(template), _statements(template)])
    text = text.replace(TABLE, "<table>").replace(",".join(APP_REGIONS), "<app regions>")
    assert "us-east-1" not in text


def test_no_concurrency_is_reserved_by_default(template):
    # A new account's quota may be 10, all of which Lambda keeps unreserved.
    template.all_resources_properties(
        "AWS::Lambda::Function", {"ReservedConcurrentExecutions": Match.absent()}
    )


def test_a_configured_reservation_goes_to_the_function(config, stack_in):
    # Given a reservation
    stack = stack_in(REGION)
    _order_service(config, stack, reserved_concurrency=20)
    # Then the function reserves it
    assert _function(Template.from_stack(stack))["ReservedConcurrentExecutions"] == 20


def test_template_matches_snapshot(template, snapshot_json):
    # Only what OrderService makes, and the key whose policy it extends: the network it is given has
    # its own snapshot (tests/constructs/test_network.py), so a network change shows there only.
    resources = {
        logical_id: resource
        for logical_id, resource in template.to_json()["Resources"].items()
        if resource["Metadata"]["aws:cdk:path"].startswith(("Test/OrderService/", "Test/Key/"))
    }
    assert masked(resources) == snapshot_json
