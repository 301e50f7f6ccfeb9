"""The order and health functions run in both regions, each on its own region's replica,
parameters and key; the DR ones never reach into the primary (seed failures 7, 13, 20)."""

from __future__ import annotations

import json

import pytest

from tests.cfn import at_path, render

REGIONS = [("primary", "PrimaryRegion", "us-east-1"), ("dr", "DrRegion", "us-west-2")]
TABLE = "dev-us-east-1-orders-v1"


def _function(template, stack_id, name):
    return at_path(template, f"{stack_id}/OrderService/{name}/Function/Resource")[1]["Properties"]


def _policy(template, stack_id, name):
    (_, policy) = at_path(template, f"{stack_id}/OrderService/{name}/Role/DefaultPolicy/Resource")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _functions_subnets(template):
    return sorted(
        logical_id
        for logical_id, subnet in template.find_resources("AWS::EC2::Subnet").items()
        if {"Key": "aws-cdk:subnet-name", "Value": "functions"} in subnet["Properties"]["Tags"]
    )


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
@pytest.mark.parametrize("name", ["Orders", "Health"])
def test_functions_run_in_the_private_subnets_of_every_zone(request, stack, stack_id, region, name):
    template = request.getfixturevalue(stack)
    vpc = _function(template, stack_id, name)["VpcConfig"]
    assert sorted(s["Ref"] for s in vpc["SubnetIds"]) == _functions_subnets(template)
    assert len(vpc["SubnetIds"]) == 3
    (sg_id, _) = at_path(template, f"{stack_id}/Network/FunctionsSecurityGroup/Resource")
    assert vpc["SecurityGroupIds"] == [{"Fn::GetAtt": [sg_id, "GroupId"]}]


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_order_function_uses_its_own_regions_replica_from_its_environment(request, stack, stack_id, region):
    function = _function(request.getfixturevalue(stack), stack_id, "Orders")
    variables = function["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == TABLE
    assert variables["TABLE_REGION"] == region
    assert function["FunctionName"] == f"dev-{region}-orders-v1"
    assert function["ReservedConcurrentExecutions"] == 20


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_order_function_may_only_put_and_get_items_on_its_regions_replica(request, stack, stack_id, region):
    statements = _policy(request.getfixturevalue(stack), stack_id, "Orders")
    dynamodb = [
        s for s in statements if str(s["Action"]).startswith("['dynamodb") or "dynamodb:" in str(s["Action"])
    ]
    assert dynamodb == [
        {
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Effect": "Allow",
            "Resource": f"arn:aws:dynamodb:{region}:123456789012:table/{TABLE}",
        }
    ]
    (kms,) = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}}


def test_dr_functions_reference_nothing_in_the_primary_region(dr):
    for name in ("Orders", "Health"):
        text = json.dumps([_function(dr, "DrRegion", name), _policy(dr, "DrRegion", name)])
        assert "us-east-1" not in text.replace(TABLE, "<table>")


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_health_function_reads_its_regions_parameters_and_key_only_through_ssm(
    request, stack, stack_id, region
):
    statements = _policy(request.getfixturevalue(stack), stack_id, "Health")
    path = f"arn:aws:ssm:{region}:123456789012:parameter/dev-{region}-orders-v1"
    (ssm,) = [s for s in statements if "ssm:GetParametersByPath" in s["Action"]]
    assert ssm["Action"] == ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
    assert ssm["Resource"] == [path, f"{path}/*"]
    (kms,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert kms["Condition"] == {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}}
    env = _function(request.getfixturevalue(stack), stack_id, "Health")["Environment"]["Variables"]
    assert env["PARAMETER_PATH"] == f"/dev-{region}-orders-v1/"


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_health_endpoint_is_a_public_function_url_with_a_short_timeout(request, stack, stack_id, region):
    template = request.getfixturevalue(stack)
    (function_id, _) = at_path(template, f"{stack_id}/OrderService/Health/Function/Resource")
    template.has_resource_properties(
        "AWS::Lambda::Url", {"AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": [function_id, "Arn"]}}
    )
    function = _function(template, stack_id, "Health")
    assert function["Timeout"] == 5
    assert function["ReservedConcurrentExecutions"] == 2


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
@pytest.mark.parametrize("name", ["Orders", "Health"])
def test_functions_use_powertools_tracing_and_encrypted_logs_with_retention(
    request, stack, stack_id, region, name
):
    template = request.getfixturevalue(stack)
    function = _function(template, stack_id, name)
    assert function["Runtime"] == "python3.14"
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Layers"] == [
        f"arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-x86_64:27"
    ]
    log_group = template.to_json()["Resources"][function["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    (key_id,) = template.find_resources("AWS::KMS::Key")
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert log_group["RetentionInDays"] == 90


@pytest.mark.parametrize(("stack", "stack_id", "region"), REGIONS)
def test_function_roles_have_no_managed_policies_and_only_their_own_log_group(
    request, stack, stack_id, region
):
    template = request.getfixturevalue(stack)
    for name in ("Orders", "Health"):
        (_, role) = at_path(template, f"{stack_id}/OrderService/{name}/Role/Resource")
        assert "ManagedPolicyArns" not in role["Properties"]
        (logs,) = [s for s in _policy(template, stack_id, name) if s.get("Sid") == "WriteOwnLogs"]
        assert render(logs["Resource"]).startswith("<OrderService")
