"""The regional health endpoint Route 53 health checks call through the Function URL.

Every request is AWS's documented Function URL request example with this request's method and path put in
(events/health/SOURCES.md). moto's Secrets Manager does not call KMS, so a key that cannot decrypt is
botocore's Stubber raising what Secrets Manager answers then, through the handler's real client.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel
from botocore.exceptions import ConnectTimeoutError
from botocore.stub import Stubber
from moto import mock_aws
from pydantic import ValidationError

from tests.handlers.conftest import DR, PRIMARY, FakeLambdaContext, sample_event
from tests.handlers.loader import load_handler

REGION, OTHER_REGION = DR, PRIMARY
TABLE_NAME = "dev-us-west-2-orders-v1-orders"
CANARY_SECRET_ID = "dev-us-west-2-health-canary-v1"
PARAMETER_PATH = "/dev-us-west-2-orders-v1/"
SECRET_VALUE = "s3cr3t-value-that-must-never-leak"
# The health function's timeout in the stack (OrderService).
FUNCTION_TIMEOUT_SECONDS = 5
ROUTE53_SEARCH_STRING = '"status":"ok"'
DENIED_MESSAGE = "Access to KMS is not allowed: arn:aws:kms:us-west-2:123456789012:key/0b1c2d3e"


def function_url_request(path: str, method: str = "GET") -> dict[str, Any]:
    """AWS's sample Function URL event, carrying this request's method and path; Route 53 sends no body."""
    event = sample_event("health/function_url_post")
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    del event["body"]
    return event


def call(handler: ModuleType, path: str = "/health") -> dict[str, Any]:
    return handler.lambda_handler(function_url_request(path), FakeLambdaContext(function_name="health"))


def checks(response: dict[str, Any]) -> dict[str, str]:
    return json.loads(response["body"])["checks"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The default region (conftest) is the other one: a client that ignored TABLE_REGION would miss the table.
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("TABLE_REGION", REGION)
    monkeypatch.setenv("CANARY_SECRET_ID", CANARY_SECRET_ID)
    monkeypatch.setenv("PARAMETER_PATH", PARAMETER_PATH)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "health")


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
def canary(aws: None) -> None:
    """The region's canary secret under the region's own customer-managed key, as the stack creates it."""
    key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=CANARY_SECRET_ID, SecretString=SECRET_VALUE, KmsKeyId=key_id
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


@contextmanager
def canary_refused(handler: ModuleType, code: str) -> Iterator[None]:
    """Secrets Manager refuses the canary, as when this region's key is disabled or may not be used."""
    with Stubber(handler.secrets) as secrets:
        secrets.add_client_error("get_secret_value", service_error_code=code, service_message=DENIED_MESSAGE)
        yield


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(sample_event("health/function_url_post"), id="as-published"),
        pytest.param(function_url_request("/health"), id="route53-get"),
    ],
)
def test_requests_are_valid_function_url_events(event: dict[str, Any]) -> None:
    # Given AWS's documented example as transcribed, and the request these tests make from it
    # When Powertools' own model of the Function URL payload parses them
    parsed = LambdaFunctionUrlModel.model_validate(event)
    # Then they are valid events of that format
    assert parsed.version == "2.0"


def test_all_dependencies_answering_returns_200_and_the_exact_body(
    handler: ModuleType, table: None, canary: None
) -> None:
    # Given the region's table answers and its key decrypts the canary
    # When Route 53 calls /health
    response = call(handler)
    # Then it answers healthy with the compact, status-first body
    assert response["statusCode"] == 200
    assert (
        response["body"]
        == '{"status":"ok","region":"us-west-2","checks":{"table":"ok","decrypt":"ok","parameters":"ok"}}'
    )


def test_healthy_body_matches_the_route53_search_string(
    handler: ModuleType, table: None, canary: None
) -> None:
    # Given the region's dependencies all answer
    # When Route 53 calls /health
    body = call(handler)["body"]
    # Then its string matching finds the search string
    assert ROUTE53_SEARCH_STRING in body


def test_response_is_never_cached(handler: ModuleType, table: None, canary: None) -> None:
    # Given a healthy region
    # When Route 53 calls /health
    response = call(handler)
    # Then nothing in between may cache the answer
    assert response["headers"]["Cache-Control"] == "no-store"


def test_missing_table_returns_503_with_table_failed(handler: ModuleType, canary: None) -> None:
    # Given the region's table does not exist
    # When Route 53 calls /health
    response = call(handler)
    # Then the region is unavailable because of the table
    assert response["statusCode"] == 503
    assert checks(response)["table"] == "failed"


def test_unhealthy_body_never_matches_the_route53_search_string(handler: ModuleType, canary: None) -> None:
    # Given the region's table does not exist
    # When Route 53 calls /health
    body = call(handler)["body"]
    # Then its string matching fails, so Route 53 counts the call as a failure
    assert ROUTE53_SEARCH_STRING not in body


def test_table_deleted_while_warm_returns_503(handler: ModuleType, table: None, canary: None) -> None:
    # Given a warm function that has already answered healthy
    assert call(handler)["statusCode"] == 200
    # When the table is deleted and Route 53 calls again
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=TABLE_NAME)
    response = call(handler)
    # Then the answer reflects the table now, not the earlier call
    assert response["statusCode"] == 503
    assert checks(response)["table"] == "failed"


def test_table_in_the_other_region_only_returns_503(handler: ModuleType, canary: None) -> None:
    # Given the table exists only in the other region
    create_table(OTHER_REGION)
    # When Route 53 calls this region's /health
    response = call(handler)
    # Then the other region's replica does not make this region healthy
    assert response["statusCode"] == 503
    assert checks(response)["table"] == "failed"


@pytest.mark.parametrize("code", ["DecryptionFailure", "AccessDeniedException"])
def test_key_that_cannot_decrypt_the_canary_returns_503_with_decrypt_failed(
    handler: ModuleType, table: None, canary: None, code: str
) -> None:
    # Given Secrets Manager cannot decrypt the canary with this region's key
    with canary_refused(handler, code):
        # When Route 53 calls /health
        response = call(handler)
    # Then the region is unavailable because of the key, and only it
    assert response["statusCode"] == 503
    assert checks(response) == {"table": "ok", "decrypt": "failed", "parameters": "ok"}


def test_missing_canary_returns_503_with_decrypt_failed(handler: ModuleType, table: None) -> None:
    # Given the canary secret does not exist, so nothing proves the key decrypts
    # When Route 53 calls /health
    response = call(handler)
    # Then the region is not reported healthy
    assert response["statusCode"] == 503
    assert checks(response)["decrypt"] == "failed"


def test_canary_is_decrypted_on_every_call(handler: ModuleType, table: None, canary: None) -> None:
    # Given a warm function
    reads = []
    handler.secrets.meta.events.register(
        "after-call.secrets-manager.GetSecretValue", lambda **kwargs: reads.append(kwargs["http_response"])
    )
    # When Route 53 calls /health twice
    call(handler)
    call(handler)
    # Then each answer rests on its own decrypt, not on a value kept from an earlier call
    assert len(reads) == 2


def test_failing_body_hides_secret_names_and_error_text(
    handler: ModuleType, table: None, canary: None
) -> None:
    # Given Secrets Manager refuses the canary with an error message full of ARNs
    with canary_refused(handler, "AccessDeniedException"):
        # When Route 53 calls /health
        body = call(handler)["body"]
    # Then the public body carries none of it
    for leaked in (
        SECRET_VALUE,
        TABLE_NAME,
        CANARY_SECRET_ID,
        DENIED_MESSAGE,
        "arn:",
        "AccessDenied",
        "Error",
    ):
        assert leaked not in body


def test_passing_body_hides_secret_and_names(handler: ModuleType, table: None, canary: None) -> None:
    # Given the canary is decrypted, so its value is in the function's memory
    # When Route 53 calls /health
    body = call(handler)["body"]
    # Then the public body carries neither the value nor any resource name
    for leaked in (SECRET_VALUE, TABLE_NAME, CANARY_SECRET_ID, "arn:"):
        assert leaked not in body


def test_secret_value_never_reaches_the_output(
    aws: None, canary: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the canary is decrypted while the missing table makes the function log a failure
    handler = fresh_handler(monkeypatch)
    # When Route 53 calls /health
    call(handler)
    # Then the logs were captured, and the secret is not in them
    output = capsys.readouterr()
    assert '"check":"table"' in output.out
    assert SECRET_VALUE not in output.out + output.err


def test_failed_check_logs_its_name_and_error_code_only(
    table: None, canary: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Secrets Manager refuses the canary with an error message full of ARNs
    handler = fresh_handler(monkeypatch)
    with canary_refused(handler, "AccessDeniedException"):
        # When Route 53 calls /health
        call(handler)
    # Then the log names the check and the error code, not the message
    output = capsys.readouterr().out
    assert '"check":"decrypt"' in output
    assert '"reason":"AccessDeniedException"' in output
    assert DENIED_MESSAGE not in output


@pytest.mark.parametrize(
    ("client", "operation", "check"),
    [
        ("dynamodb", "dynamodb.DescribeTable", "table"),
        ("secrets", "secrets-manager.GetSecretValue", "decrypt"),
        ("ssm", "ssm.GetParametersByPath", "parameters"),
    ],
)
def test_unreachable_dependency_is_called_once_and_fails_its_check(
    handler: ModuleType, table: None, canary: None, client: str, operation: str, check: str
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
    assert checks(response)[check] == "failed"


def test_stalled_dependencies_answer_503_well_before_the_function_timeout(
    env: None, silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given endpoints that accept connections and never answer, for the table and the canary alike
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    handler = fresh_handler(monkeypatch)

    # When Route 53 calls /health
    started = time.monotonic()
    response = call(handler)
    elapsed = time.monotonic() - started

    # Then both checks fail, with seconds to spare before Lambda would end the call
    assert response["statusCode"] == 503
    assert checks(response) == {"table": "failed", "decrypt": "failed", "parameters": "failed"}
    assert elapsed < FUNCTION_TIMEOUT_SECONDS - 2


def test_unknown_path_returns_404(handler: ModuleType, table: None, canary: None) -> None:
    # Given a healthy region
    # When something calls a path other than /health
    response = call(handler, "/admin")
    # Then it is not found
    assert response["statusCode"] == 404


def test_missing_canary_secret_id_fails_at_import_naming_it(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function is deployed without CANARY_SECRET_ID
    monkeypatch.delenv("CANARY_SECRET_ID")
    # When Lambda loads the code
    # Then loading fails with an error that names the variable
    with pytest.raises(ValidationError, match="CANARY_SECRET_ID"):
        load_handler("health")


def test_settings_error_quotes_no_environment_values(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a variable is missing, and the environment holds the function's credentials
    monkeypatch.delenv("CANARY_SECRET_ID")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-that-must-never-be-logged")
    # When Lambda loads the code
    with pytest.raises(ValidationError) as raised:
        load_handler("health")
    # Then the error Lambda logs quotes nothing from the environment
    assert "session-token-that-must-never-be-logged" not in str(raised.value)


def test_parameters_this_region_may_not_read_return_503_with_parameters_failed(
    handler: ModuleType, table: None, canary: None
) -> None:
    # Given SSM refuses this region's replicated parameters (seed failure 20: DR functions without the
    # permission to read them)
    with Stubber(handler.ssm) as ssm:
        ssm.add_client_error(
            "get_parameters_by_path",
            service_error_code="AccessDeniedException",
            service_message=DENIED_MESSAGE,
        )
        # When Route 53 calls /health
        response = call(handler)
    # Then the region is unhealthy, naming the check and nothing of the error text
    assert response["statusCode"] == 503
    assert checks(response) == {"table": "ok", "decrypt": "ok", "parameters": "failed"}
    assert DENIED_MESSAGE not in response["body"]
