"""The regional health endpoint Route 53 health checks call through the Function URL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError
from moto import mock_aws

from tests.handlers.loader import load_handler

REGION = "us-west-2"
OTHER_REGION = "us-east-1"
TABLE_NAME = "dev-us-west-2-orders-v1-orders"
PARAMETER_PATH = "/dev-us-west-2-orders-v1/"
SECRET_VALUE = "s3cr3t-value-that-must-never-leak"
ROUTE53_SEARCH_STRING = '"status":"ok"'
DENIED_MESSAGE = (
    "User: arn:aws:sts::123456789012:assumed-role/health/fn is not authorized to perform: kms:Decrypt"
)


@dataclass
class FakeLambdaContext:
    function_name: str = "health"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:health"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def function_url_event(path: str, method: str = "GET") -> dict[str, Any]:
    """A Lambda Function URL payload 2.0 request, shaped like a Route 53 health checker's."""
    user_agent = "Amazon-Route53-Health-Check-Service (ref 0000; report http://amzn.to/1vsZADi)"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": f"abc123.lambda-url.{REGION}.on.aws", "user-agent": user_agent},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc123",
            "domainName": f"abc123.lambda-url.{REGION}.on.aws",
            "requestId": "id-from-function-url",
            "routeKey": "$default",
            "stage": "$default",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "54.183.255.128",
                "userAgent": user_agent,
            },
        },
        "isBase64Encoded": False,
    }


def call(handler: ModuleType, path: str = "/health") -> dict[str, Any]:
    return handler.lambda_handler(function_url_event(path), FakeLambdaContext())


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("TABLE_REGION", REGION)
    monkeypatch.setenv("PARAMETER_PATH", PARAMETER_PATH)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "health")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    # A default region other than the table's: a client that ignored TABLE_REGION would miss the table.
    monkeypatch.setenv("AWS_DEFAULT_REGION", OTHER_REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(env: None) -> Iterator[None]:
    with mock_aws():
        yield


def create_table(region: str) -> None:
    boto3.client("dynamodb", region_name=region).create_table(
        TableName=TABLE_NAME,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def table(aws: None) -> None:
    create_table(REGION)


@pytest.fixture
def secret(aws: None) -> None:
    key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"{PARAMETER_PATH}db/password", Value=SECRET_VALUE, Type="SecureString", KeyId=key_id
    )


def fresh_handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # Powertools keeps a named logger's first stream handler, bound to the sys.stdout of the moment it
    # was made; pytest swaps sys.stdout per test phase. Tests reading capsys drop the old logger and
    # load in the test body, so the logs go where capsys reads.
    monkeypatch.delitem(logging.Logger.manager.loggerDict, "health", raising=False)
    return load_handler("health")


@pytest.fixture
def handler(aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return fresh_handler(monkeypatch)


def deny_parameters(handler: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": DENIED_MESSAGE}}, "GetParametersByPath"
        )

    monkeypatch.setattr(handler.ssm, "get_parameters_by_path", denied)


def test_all_dependencies_answering_returns_200_and_the_exact_body(
    handler: ModuleType, table: None, secret: None
) -> None:
    # Given the region's table and parameters both answer
    # When Route 53 calls /health
    response = call(handler)
    # Then it answers healthy with the compact, status-first body
    assert response["statusCode"] == 200
    assert (
        response["body"] == '{"status":"ok","region":"us-west-2","checks":{"table":"ok","parameters":"ok"}}'
    )


def test_healthy_body_matches_the_route53_search_string(
    handler: ModuleType, table: None, secret: None
) -> None:
    # Given the region's dependencies all answer
    # When Route 53 calls /health
    body = call(handler)["body"]
    # Then its string matching finds the search string
    assert ROUTE53_SEARCH_STRING in body


def test_response_is_never_cached(handler: ModuleType, table: None, secret: None) -> None:
    # Given a healthy region
    # When Route 53 calls /health
    response = call(handler)
    # Then nothing in between may cache the answer
    assert response["headers"]["Cache-Control"] == "no-store"


def test_missing_table_returns_503_with_table_failed(handler: ModuleType, secret: None) -> None:
    # Given the region's table does not exist
    # When Route 53 calls /health
    response = call(handler)
    # Then the region is unavailable because of the table
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["checks"]["table"] == "failed"


def test_unhealthy_body_never_matches_the_route53_search_string(handler: ModuleType, secret: None) -> None:
    # Given the region's table does not exist
    # When Route 53 calls /health
    body = call(handler)["body"]
    # Then its string matching fails, so Route 53 counts the call as a failure
    assert ROUTE53_SEARCH_STRING not in body


def test_table_deleted_while_warm_returns_503(handler: ModuleType, table: None, secret: None) -> None:
    # Given a warm function that has already answered healthy
    assert call(handler)["statusCode"] == 200
    # When the table is deleted and Route 53 calls again
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=TABLE_NAME)
    response = call(handler)
    # Then the answer reflects the table now, not the earlier call
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["checks"]["table"] == "failed"


def test_table_in_the_other_region_only_returns_503(handler: ModuleType, secret: None) -> None:
    # Given the table exists only in the other region
    create_table(OTHER_REGION)
    # When Route 53 calls this region's /health
    response = call(handler)
    # Then the other region's replica does not make this region healthy
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["checks"]["table"] == "failed"


def test_denied_parameters_return_503_with_parameters_failed(
    handler: ModuleType, table: None, secret: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SSM refuses the parameters (as when the region's KMS key is unusable)
    deny_parameters(handler, monkeypatch)
    # When Route 53 calls /health
    response = call(handler)
    # Then the region is unavailable because of the parameters, and only them
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["checks"] == {"table": "ok", "parameters": "failed"}


def test_failing_body_hides_secret_table_name_and_exception_text(
    handler: ModuleType, table: None, secret: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SSM refuses the parameters with an error message full of ARNs
    deny_parameters(handler, monkeypatch)
    # When Route 53 calls /health
    body = call(handler)["body"]
    # Then the public body carries none of it
    for leaked in (SECRET_VALUE, TABLE_NAME, PARAMETER_PATH, DENIED_MESSAGE, "arn:", "AccessDenied", "Error"):
        assert leaked not in body


def test_passing_body_hides_secret_and_table_name(handler: ModuleType, table: None, secret: None) -> None:
    # Given the parameters call succeeds, so the decrypted secret is in the function's memory
    # When Route 53 calls /health
    body = call(handler)["body"]
    # Then the public body carries neither the secret nor any resource name
    for leaked in (SECRET_VALUE, TABLE_NAME, PARAMETER_PATH, "arn:"):
        assert leaked not in body


def test_secret_value_never_reaches_the_output(
    aws: None, secret: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the secret is decrypted while the missing table makes the function log a failure
    handler = fresh_handler(monkeypatch)
    # When Route 53 calls /health
    call(handler)
    # Then the logs were captured, and the secret is not in them
    output = capsys.readouterr()
    assert '"check":"table"' in output.out
    assert SECRET_VALUE not in output.out + output.err


def test_failed_check_logs_its_name_and_exception_class_only(
    table: None, secret: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given SSM refuses the parameters with an error message full of ARNs
    handler = fresh_handler(monkeypatch)
    deny_parameters(handler, monkeypatch)
    # When Route 53 calls /health
    call(handler)
    # Then the log names the check and the exception class, not the message
    output = capsys.readouterr().out
    assert '"check":"parameters"' in output
    assert '"reason":"ClientError"' in output
    assert DENIED_MESSAGE not in output


@pytest.mark.parametrize(
    ("client", "operation", "check"),
    [("dynamodb", "dynamodb.DescribeTable", "table"), ("ssm", "ssm.GetParametersByPath", "parameters")],
)
def test_unreachable_dependency_is_called_once_and_fails_its_check(
    handler: ModuleType, table: None, secret: None, client: str, operation: str, check: str
) -> None:
    # Given a dependency whose endpoint never answers
    calls = []

    def unreachable(request: Any, **_: Any) -> None:
        calls.append(request)
        raise ConnectTimeoutError(endpoint_url=request.url)

    getattr(handler, client).meta.events.register(f"before-send.{operation}", unreachable)
    # When Route 53 calls /health
    response = call(handler)
    # Then the call is not retried, so the check fails inside the function's timeout
    assert len(calls) == 1
    assert json.loads(response["body"])["checks"][check] == "failed"


def test_unknown_path_returns_404(handler: ModuleType, table: None, secret: None) -> None:
    # Given a healthy region
    # When something calls a path other than /health
    response = call(handler, "/admin")
    # Then it is not found
    assert response["statusCode"] == 404


def test_missing_parameter_path_fails_at_import_naming_it(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the function is deployed without PARAMETER_PATH
    monkeypatch.delenv("PARAMETER_PATH")
    # When Lambda loads the code
    # Then loading fails with an error that names the variable
    with pytest.raises(RuntimeError, match="PARAMETER_PATH"):
        load_handler("health")
