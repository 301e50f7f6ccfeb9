"""(c) Reserved concurrency must leave the 10 unreserved executions Lambda keeps per account and region.

"Lambda reserves 10 concurrent executions ... unreserved":
https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html

moto 5.2.5 does not model Lambda's GetAccountSettings, and a Stubber owns every call of
the client it stubs, so the Lambda client is stubbed whole here (GetAccountSettings and
GetFunctionConcurrency); CloudFormation is moto's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.stub import Stubber

from dr_ops.aws import AwsClients
from dr_ops.checks import Result, Status
from dr_ops.checks.concurrency import concurrency_checks
from dr_ops.stack_resources import StackResources
from tests.ops.helpers import assembly, run, stack


def function(name: str | None, reserved: int | None) -> dict[str, Any]:
    properties: dict[str, Any] = {"Runtime": "python3.14", "Handler": "index.handler"}
    if name:
        properties["FunctionName"] = name
    if reserved is not None:
        properties["ReservedConcurrentExecutions"] = reserved
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


# The primary region's functions with the defaults: orders 20, health 2, the forwarder none.
PRIMARY = stack(
    "PrimaryRegion",
    "us-east-1",
    {
        "Orders": function("dev-us-east-1-orders-v1", 20),
        "Health": function("dev-us-east-1-health-v1", 2),
        "Forwarder": function("dev-us-east-1-alert-forwarder-v1", None),
    },
)


@contextmanager
def account_settings(aws: AwsClients, region: str, *, unreserved: int, total: int) -> Iterator[Stubber]:
    client = aws.client("lambda", region)
    with Stubber(client) as stubber:
        limits = {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved}
        stubber.add_response("get_account_settings", {"AccountLimit": limits}, {})
        yield stubber


def not_deployed(stubber: Stubber, *names: str) -> None:
    for name in names:
        stubber.add_client_error(
            "get_function_concurrency",
            "ResourceNotFoundException",
            http_status_code=404,
            expected_params={"FunctionName": name},
        )


def check_primary(aws: AwsClients) -> Result:
    return run(concurrency_checks(aws, assembly(PRIMARY), StackResources(aws))[0])


def test_the_defaults_fit_an_account_with_the_default_quota(aws: AwsClients) -> None:
    # Given an account with the default 1000 executions, none reserved, and nothing deployed yet
    with account_settings(aws, "us-east-1", unreserved=1000, total=1000) as stubber:
        not_deployed(stubber, *(f"dev-us-east-1-{n}-v1" for n in ("orders", "health", "alert-forwarder")))

        # When the primary region's reservations are checked
        result = check_primary(aws)

    # Then 1000 + 0 - 22 leaves 978, well above the 10 AWS keeps
    assert result.status is Status.PASS
    assert result.name == "lambda concurrency us-east-1"
    assert result.outcome.found == (
        "unreserved 1000 + already reserved by these functions 0 - planned 22 = 978; AWS keeps 10 unreserved"
    )


def test_a_new_account_quota_of_10_fails_with_the_quota_to_ask_for(aws: AwsClients) -> None:
    # Given a new account whose whole quota is 10 executions
    with account_settings(aws, "us-east-1", unreserved=10, total=10) as stubber:
        not_deployed(stubber, *(f"dev-us-east-1-{n}-v1" for n in ("orders", "health", "alert-forwarder")))

        # When the primary region's reservations are checked
        result = check_primary(aws)

    # Then 10 - 22 leaves -12: it fails, asking for 32 or for no reservations
    assert result.status is Status.FAIL
    assert "= -12" in result.outcome.found
    assert "of at least 32 in us-east-1" in result.outcome.fix
    assert "-c orderFunctionConcurrency=0" in result.outcome.fix


def test_what_the_deployed_functions_already_reserve_is_not_counted_twice(aws: AwsClients) -> None:
    # Given the functions deployed with their 22 reserved, leaving 10 unreserved of a quota of 32
    with account_settings(aws, "us-east-1", unreserved=10, total=32) as stubber:
        for name, reserved in (("orders", 20), ("health", 2)):
            stubber.add_response(
                "get_function_concurrency",
                {"ReservedConcurrentExecutions": reserved},
                {"FunctionName": f"dev-us-east-1-{name}-v1"},
            )
        # A deployed function without a reservation answers without the field.
        stubber.add_response(
            "get_function_concurrency", {}, {"FunctionName": "dev-us-east-1-alert-forwarder-v1"}
        )

        # When a redeploy is checked
        result = check_primary(aws)

    # Then 10 + 22 - 22 = 10 still fits
    assert result.status is Status.PASS
    assert "unreserved 10 + already reserved by these functions 22 - planned 22 = 10" in result.outcome.found


def test_a_function_without_a_fixed_name_is_found_through_its_stack(aws: AwsClients) -> None:
    # Given a deployed stack (in moto) whose unnamed function reserves 5 of a quota of 15
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
    }
    deployed = function(None, 5)
    deployed["Properties"] |= {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Code": {"ZipFile": "x = 1"}}
    app = stack("Worker", "us-east-1", {"Role": role, "Fn": deployed})
    cloudformation = aws.client("cloudformation", "us-east-1")
    cloudformation.create_stack(StackName=app.stack_name, TemplateBody=json.dumps(app.template))
    detail = cloudformation.describe_stack_resource(StackName=app.stack_name, LogicalResourceId="Fn")
    physical = detail["StackResourceDetail"]["PhysicalResourceId"]

    with account_settings(aws, "us-east-1", unreserved=10, total=15) as stubber:
        stubber.add_response(
            "get_function_concurrency", {"ReservedConcurrentExecutions": 5}, {"FunctionName": physical}
        )

        # When the region is checked
        result = run(concurrency_checks(aws, assembly(app), StackResources(aws))[0])

    # Then its reservation is asked for by the name its stack gave it: 10 + 5 - 5 = 10 fits
    assert result.status is Status.PASS
    assert "already reserved by these functions 5 - planned 5 = 10" in result.outcome.found


def test_a_region_without_functions_has_no_concurrency_check(aws: AwsClients) -> None:
    # Given a region whose stacks hold no function
    app = assembly(PRIMARY, stack("Quiet", "us-west-2", {}))

    # When the checks are listed
    names = [check.name for check in concurrency_checks(aws, app, StackResources(aws))]

    # Then only the region with functions is checked
    assert names == ["lambda concurrency us-east-1"]
