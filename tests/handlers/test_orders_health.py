"""The order function's deep health route, GET <HEALTH_PATH>, which Route 53 and the DR drill call through the
region's API: the table's read path (one consistent BatchGetItem of every region's fence), the key (the canary
secret) and the replicated parameters, answered within Route 53's 2 s.

Every request is AWS's documented HTTP API (payload format 2.0) example with the health route's method and
path, no body and no authorizer context: the route is anonymous (events/orders/SOURCES.md). moto's Secrets
Manager does not call KMS, so a key that cannot decrypt is botocore's Stubber raising what Secrets Manager
answers then, through the handler's real client.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from botocore.exceptions import ConnectTimeoutError
from botocore.stub import Stubber
from moto import mock_aws
from pydantic import ValidationError

from dr_core.failover import fence_key, fenced_token
from tests.handlers.conftest import DR, PRIMARY, FakeLambdaContext
from tests.handlers.drill_fakes import HEALTHY_BODY as DRILL_HEALTHY_BODY
from tests.handlers.loader import load_handler
from tests.handlers.test_orders import (
    HEALTH_PATH,
    ORDER_ENV,
    TABLE_NAME,
    create_tables,
    http_request,
    set_order_env,
)

REGION = DR
CANARY_SECRET_ID = ORDER_ENV["CANARY_SECRET_ID"]
PARAMETER_PATH = ORDER_ENV["PARAMETER_PATH"]
SECRET_VALUE = "s3cr3t-value-that-must-never-leak"
ROUTE53_SEARCH_STRING = '"status":"ok"'
# Route 53 reads this much of a health answer for the search string.
ROUTE53_SEARCH_BYTES = 5120
# Route 53 counts a check as failed unless the answer arrives within 2 s of connecting
# (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
ROUTE53_ANSWER_SECONDS = 2
DENIED_MESSAGE = "Access to KMS is not allowed: arn:aws:kms:us-west-2:123456789012:key/0b1c2d3e"

# A health answer emits no metric by design; Powertools warns about that on every flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def health_request(path: str = HEALTH_PATH) -> dict[str, Any]:
    """Route 53's GET: no body, and no authorizer context, as the route takes no authorization."""
    event = http_request("GET", path)
    del event["requestContext"]["authorizer"]
    return event


def call(handler: ModuleType, path: str = HEALTH_PATH) -> dict[str, Any]:
    return handler.lambda_handler(health_request(path), FakeLambdaContext(function_name="orders"))


def checks(response: dict[str, Any]) -> dict[str, str]:
    return json.loads(response["body"])["checks"]


def fences(response: dict[str, Any]) -> list[str]:
    return json.loads(response["body"])["fences"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    set_order_env(monkeypatch)


@pytest.fixture
def aws(env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def tables(aws: None) -> dict[str, Any]:
    return create_tables()


@pytest.fixture
def canary(aws: None) -> None:
    """The region's canary secret under the region's own customer-managed key, as the stack creates it."""
    key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=CANARY_SECRET_ID, SecretString=SECRET_VALUE, KmsKeyId=key_id
    )


def fence(tables: dict[str, Any], replica: str, region: str) -> None:
    """The fence item of ``region``, as it stands in ``replica`` once the switch's write has replicated."""
    item = {"order_id": {"S": fence_key(region)}, "fenced_at": {"S": "2026-01-01T00:00:00+00:00"}}
    tables[replica].put_item(TableName=TABLE_NAME, Item=item)


def fresh_handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # Powertools keeps a named logger's first stream handler, bound to the sys.stdout of the moment it
    # was made; pytest swaps sys.stdout per test phase. Tests reading capsys drop the old logger and
    # load in the test body, so the logs go where capsys reads.
    monkeypatch.delitem(logging.Logger.manager.loggerDict, "orders", raising=False)
    return load_handler("orders")


@pytest.fixture
def handler(aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return fresh_handler(monkeypatch)


@contextmanager
def canary_refused(handler: ModuleType, code: str) -> Iterator[None]:
    """Secrets Manager refuses the canary, as when this region's key is disabled or may not be used."""
    with Stubber(handler.region_health.secrets) as secrets:
        secrets.add_client_error("get_secret_value", service_error_code=code, service_message=DENIED_MESSAGE)
        yield


def test_health_request_is_a_valid_http_api_event() -> None:
    # Given the request these tests make for Route 53's GET
    # When Powertools' own model of the HTTP API payload format 2.0 parses it
    parsed = APIGatewayProxyEventV2Model.model_validate(health_request())
    # Then it is a valid event of that format, on the health path
    assert (parsed.version, parsed.rawPath) == ("2.0", HEALTH_PATH)


def test_all_dependencies_answering_returns_200_and_the_exact_body(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given the region's table answers, its key decrypts the canary, and no region is fenced
    # When Route 53 calls the health path
    response = call(handler)
    # Then it answers healthy with the compact, status-first body
    assert response["statusCode"] == 200
    assert response["body"] == (
        '{"status":"ok","region":"us-west-2",'
        '"checks":{"table":"ok","decrypt":"ok","parameters":"ok"},"fences":[]}'
    )


def test_healthy_body_is_the_one_the_drill_tests_fake(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given a healthy DR region
    # When the drill's failover probe would call its health URL
    body = call(handler)["body"]
    # Then the answer is the one the drill's tests stand in for it with
    assert body == DRILL_HEALTHY_BODY


def test_healthy_body_matches_the_route53_search_string(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given the region's dependencies all answer
    # When Route 53 calls the health path
    body = call(handler)["body"]
    # Then its string matching finds the search string where Route 53 looks: it "searches the first
    # 5,120 bytes of the response body for the string that you specify in SearchString"
    # (https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html)
    assert ROUTE53_SEARCH_STRING in body.encode()[:ROUTE53_SEARCH_BYTES].decode()


def test_response_is_never_cached(handler: ModuleType, tables: dict[str, Any], canary: None) -> None:
    # Given a healthy region
    # When Route 53 calls the health path
    response = call(handler)
    # Then nothing in between may cache the answer
    assert response["headers"]["Cache-Control"] == "no-store"


def test_missing_table_returns_503_with_table_failed(handler: ModuleType, canary: None) -> None:
    # Given the region's table does not exist
    # When Route 53 calls the health path
    response = call(handler)
    # Then the region is unavailable because of the table
    assert response["statusCode"] == 503
    assert checks(response)["table"] == "failed"


def test_unhealthy_body_never_matches_the_route53_search_string(handler: ModuleType, canary: None) -> None:
    # Given the region's table does not exist
    # When Route 53 calls the health path
    body = call(handler)["body"]
    # Then its string matching fails, so Route 53 counts the call as a failure
    assert ROUTE53_SEARCH_STRING not in body


def test_table_deleted_while_warm_returns_503(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given a warm function that has already answered healthy
    assert call(handler)["statusCode"] == 200
    # When the table is deleted and Route 53 calls again
    tables[REGION].delete_table(TableName=TABLE_NAME)
    response = call(handler)
    # Then the answer reflects the table now, not the earlier call
    assert response["statusCode"] == 503
    assert checks(response)["table"] == "failed"


def test_table_in_the_other_region_only_returns_503(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given the table exists only in the other region
    tables[REGION].delete_table(TableName=TABLE_NAME)
    # When Route 53 calls this region's health path
    response = call(handler)
    # Then the other region's replica does not make this region healthy
    assert response["statusCode"] == 503
    assert checks(response)["table"] == "failed"


def test_table_check_is_one_consistent_read_of_every_regions_fence(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given the health route's table client, watched
    expected = {
        "RequestItems": {
            TABLE_NAME: {
                "Keys": [{"order_id": {"S": fence_key(PRIMARY)}}, {"order_id": {"S": fence_key(DR)}}],
                "ConsistentRead": True,
                "ProjectionExpression": "order_id",
            }
        }
    }
    with Stubber(handler.region_health.dynamodb) as dynamodb:
        dynamodb.add_response("batch_get_item", {"Responses": {TABLE_NAME: []}}, expected)
        # When Route 53 calls the health path
        response = call(handler)
        # Then the table was read once: a consistent BatchGetItem of both regions' fence keys, nothing else
        dynamodb.assert_no_pending_responses()
    assert checks(response)["table"] == "ok"


@pytest.mark.parametrize(
    "fenced",
    [
        pytest.param((PRIMARY,), id="primary"),
        pytest.param((PRIMARY, DR), id="both"),
        pytest.param((), id="none"),
    ],
)
def test_fenced_regions_are_listed_as_routes_53s_search_tokens(
    handler: ModuleType, tables: dict[str, Any], canary: None, fenced: tuple[str, ...]
) -> None:
    # Given fence items in this region's replica for some regions, this one's own included
    for region in fenced:
        fence(tables, REGION, region)
    # When Route 53 calls the health path
    response = call(handler)
    # Then the answer stays healthy and holds exactly the tokens the switch's inverted checks search for
    assert response["statusCode"] == 200
    assert fences(response) == [f"fenced:{region}" for region in fenced]
    # (within the 5,120 bytes Route 53's string match reads, or the inverted check never sees a fence:
    # https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html)
    searched = response["body"].encode()[:ROUTE53_SEARCH_BYTES].decode()
    for region in (PRIMARY, DR):
        assert (fenced_token(region) in searched) is (region in fenced)


def test_fence_only_in_the_other_regions_replica_is_not_listed(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given the primary's fence written in the primary's replica and not yet replicated here
    fence(tables, PRIMARY, PRIMARY)
    # When Route 53 calls this region's health path
    response = call(handler)
    # Then this region answers from its own replica: no fence yet
    assert fences(response) == []


def test_table_read_with_unprocessed_keys_fails_and_lists_no_fences(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given a fenced primary, and DynamoDB leaving a key unprocessed (throttled) in the batch read
    fence(tables, REGION, PRIMARY)
    unprocessed = {TABLE_NAME: {"Keys": [{"order_id": {"S": fence_key(DR)}}], "ConsistentRead": True}}
    found = [{"order_id": {"S": fence_key(PRIMARY)}}]
    with Stubber(handler.region_health.dynamodb) as dynamodb:
        dynamodb.add_response(
            "batch_get_item", {"Responses": {TABLE_NAME: found}, "UnprocessedKeys": unprocessed}
        )
        # When Route 53 calls the health path
        response = call(handler)
    # Then the table check failed, and no partial list of fences is given
    assert response["statusCode"] == 503
    assert checks(response)["table"] == "failed"
    assert fences(response) == []


@pytest.mark.parametrize("code", ["DecryptionFailure", "AccessDeniedException"])
def test_key_that_cannot_decrypt_the_canary_returns_503_with_decrypt_failed(
    handler: ModuleType, tables: dict[str, Any], canary: None, code: str
) -> None:
    # Given Secrets Manager cannot decrypt the canary with this region's key
    with canary_refused(handler, code):
        # When Route 53 calls the health path
        response = call(handler)
    # Then the region is unavailable because of the key, and only it
    assert response["statusCode"] == 503
    assert checks(response) == {"table": "ok", "decrypt": "failed", "parameters": "ok"}


def test_missing_canary_returns_503_with_decrypt_failed(handler: ModuleType, tables: dict[str, Any]) -> None:
    # Given the canary secret does not exist, so nothing proves the key decrypts
    # When Route 53 calls the health path
    response = call(handler)
    # Then the region is not reported healthy
    assert response["statusCode"] == 503
    assert checks(response)["decrypt"] == "failed"


def test_a_passed_decrypt_stands_for_the_proof_window_then_is_asked_again(
    handler: ModuleType, tables: dict[str, Any], canary: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a warm function on a fake clock, counting its canary reads
    now = [1000.0]
    monkeypatch.setattr(handler.region_health, "clock", lambda: now[0])
    reads = []
    handler.region_health.secrets.meta.events.register(
        "after-call.secrets-manager.GetSecretValue", lambda **kwargs: reads.append(kwargs["http_response"])
    )
    # When Route 53 calls twice within the window, and once more after it
    call(handler)
    proof_seconds = sys.modules[type(handler.region_health).__module__].PROOF_SECONDS
    now[0] += proof_seconds - 1
    call(handler)
    now[0] += 2
    call(handler)
    # Then the key was proven twice: at Route 53's rate a decrypt per call would cost tens of dollars a month
    assert len(reads) == 2


def test_a_failed_decrypt_is_asked_again_on_the_next_call(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given the canary refused once
    with canary_refused(handler, "KMSDisabledException"):
        first = call(handler)
    # When Route 53 calls again, the key working again
    second = call(handler)
    # Then the failure was not kept: the region is healthy at once
    assert checks(first)["decrypt"] == "failed"
    assert checks(second)["decrypt"] == "ok"


def test_parameters_this_region_may_not_read_return_503_with_parameters_failed(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given SSM refuses this region's replicated parameters (seed failure 20: DR functions without the
    # permission to read them)
    with Stubber(handler.region_health.ssm) as ssm:
        ssm.add_client_error(
            "get_parameters_by_path",
            service_error_code="AccessDeniedException",
            service_message=DENIED_MESSAGE,
        )
        # When Route 53 calls the health path
        response = call(handler)
    # Then the region is unhealthy, naming the check and nothing of the error text
    assert response["statusCode"] == 503
    assert checks(response) == {"table": "ok", "decrypt": "ok", "parameters": "failed"}
    assert DENIED_MESSAGE not in response["body"]


def test_failing_body_hides_secret_names_and_error_text(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given Secrets Manager refuses the canary with an error message full of ARNs
    with canary_refused(handler, "AccessDeniedException"):
        # When Route 53 calls the health path
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


def test_passing_body_hides_secret_and_names(
    handler: ModuleType, tables: dict[str, Any], canary: None
) -> None:
    # Given the canary is decrypted, so its value is in the function's memory, and a region is fenced
    fence(tables, REGION, PRIMARY)
    # When Route 53 calls the health path
    body = call(handler)["body"]
    # Then the public body carries neither the value nor any resource name, nor the fence's key or contents
    for leaked in (
        SECRET_VALUE,
        TABLE_NAME,
        CANARY_SECRET_ID,
        PARAMETER_PATH,
        "arn:",
        "control#",
        "fenced_at",
    ):
        assert leaked not in body


def test_secret_value_never_reaches_the_output(
    aws: None, canary: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the canary is decrypted while the missing table makes the function log a failure
    handler = fresh_handler(monkeypatch)
    # When Route 53 calls the health path
    call(handler)
    # Then the logs were captured, and the secret is not in them
    output = capsys.readouterr()
    assert '"check":"table"' in output.out
    assert SECRET_VALUE not in output.out + output.err


def test_failed_check_logs_its_name_and_error_code_only(
    tables: dict[str, Any], canary: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Secrets Manager refuses the canary with an error message full of ARNs
    handler = fresh_handler(monkeypatch)
    with canary_refused(handler, "AccessDeniedException"):
        # When Route 53 calls the health path
        call(handler)
    # Then the log names the check and the error code, not the message
    output = capsys.readouterr().out
    assert '"check":"decrypt"' in output
    assert '"reason":"AccessDeniedException"' in output
    assert DENIED_MESSAGE not in output


@pytest.mark.parametrize(
    ("client", "operation", "check"),
    [
        ("dynamodb", "dynamodb.BatchGetItem", "table"),
        ("secrets", "secrets-manager.GetSecretValue", "decrypt"),
        ("ssm", "ssm.GetParametersByPath", "parameters"),
    ],
)
def test_unreachable_dependency_is_called_once_and_fails_its_check(
    handler: ModuleType, tables: dict[str, Any], canary: None, client: str, operation: str, check: str
) -> None:
    # Given a dependency whose endpoint never answers
    calls = []

    def unreachable(request: Any, **_: Any) -> None:
        calls.append(request)
        raise ConnectTimeoutError(endpoint_url=request.url)

    getattr(handler.region_health, client).meta.events.register(f"before-send.{operation}", unreachable)
    # When Route 53 calls the health path
    response = call(handler)
    # Then the call is not retried, so the check fails without delaying the answer
    assert len(calls) == 1
    assert checks(response)[check] == "failed"


def test_health_checks_use_clients_of_their_own(handler: ModuleType) -> None:
    # Given the loaded function
    # When its health route's table client is compared with the order path's
    health, orders = handler.region_health.dynamodb.meta.config, handler.dynamodb.meta.config
    # Then the health route's makes one short attempt, while the order path keeps its retry
    assert handler.region_health.dynamodb is not handler.dynamodb
    assert health.retries["total_max_attempts"] == 1
    assert health.connect_timeout + health.read_timeout < orders.connect_timeout + orders.read_timeout
    assert orders.retries["total_max_attempts"] == 2


def test_check_that_could_not_end_in_time_is_not_started(
    handler: ModuleType, tables: dict[str, Any], canary: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table read that takes 0.75 s (on a fake clock), so a second call's worst case would end late
    checks_module = sys.modules[type(handler.region_health).__module__]
    now = [100.0]
    monkeypatch.setattr(handler.region_health, "clock", lambda: now[0])
    handler.region_health.dynamodb.meta.events.register(
        "after-call.dynamodb.BatchGetItem", lambda **_: now.__setitem__(0, now[0] + 0.75)
    )
    secret_reads = []
    handler.region_health.secrets.meta.events.register(
        "before-send.secrets-manager.GetSecretValue", lambda **kwargs: secret_reads.append(kwargs)
    )
    assert 0.75 + checks_module.CHECK_WORST_CASE_SECONDS > checks_module.CHECKS_BUDGET_SECONDS
    # When Route 53 calls the health path
    response = call(handler)
    # Then the later checks fail without being called, and the answer is unavailable
    assert response["statusCode"] == 503
    assert checks(response) == {"table": "ok", "decrypt": "failed", "parameters": "failed"}
    assert secret_reads == []


def test_stalled_dependencies_answer_503_within_route53s_two_seconds(
    env: None, silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given endpoints that accept connections and never answer, for the table, the canary and the parameters
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    handler = fresh_handler(monkeypatch)

    # When Route 53 calls the health path
    started = time.monotonic()
    response = call(handler)
    elapsed = time.monotonic() - started

    # Then every check fails, and the answer is out before Route 53 stops waiting
    assert response["statusCode"] == 503
    assert checks(response) == {"table": "failed", "decrypt": "failed", "parameters": "failed"}
    assert elapsed < ROUTE53_ANSWER_SECONDS


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/health", id="guessable-old-path"),
        pytest.param("/health/0000000000000000deadbeef", id="wrong-token"),
        pytest.param(f"{HEALTH_PATH}/more", id="below-the-path"),
    ],
)
def test_other_paths_are_not_the_health_route(
    handler: ModuleType, tables: dict[str, Any], canary: None, path: str
) -> None:
    # Given a healthy region
    # When something calls a path other than the configured health path
    response = call(handler, path)
    # Then it is not found, and no health answer is given
    assert response["statusCode"] == 404
    assert ROUTE53_SEARCH_STRING not in response["body"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("HEALTH_PATH", "/health/.*", id="health-path-pattern"),
        pytest.param("HEALTH_PATH", "health/b1e2aef643ccccb15642f7b1", id="health-path-relative"),
        pytest.param("APP_REGIONS", PRIMARY, id="regions-without-this-one"),
        pytest.param("APP_REGIONS", f"{DR},{PRIMARY},{DR}", id="regions-repeated"),
        pytest.param("APP_REGIONS", f"{PRIMARY},,{DR}", id="regions-empty-entry"),
    ],
)
def test_unusable_health_setting_fails_at_import_naming_it(
    env: None, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    # Given a health path the resolver would read as a pattern, or regions whose fences cannot all be read
    monkeypatch.setenv(name, value)
    # When Lambda loads the code
    # Then loading fails with an error that names the variable
    with pytest.raises(ValidationError, match=name):
        load_handler("orders")


def test_app_regions_may_carry_spaces_after_commas(
    aws: None, canary: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given APP_REGIONS written with a space after the comma, and both regions fenced
    monkeypatch.setenv("APP_REGIONS", f"{PRIMARY}, {DR}")
    tables = create_tables()
    fence(tables, REGION, PRIMARY)
    fence(tables, REGION, DR)
    # When Route 53 calls the health path
    response = call(fresh_handler(monkeypatch))
    # Then both regions' fences are read
    assert fences(response) == [f"fenced:{PRIMARY}", f"fenced:{DR}"]
