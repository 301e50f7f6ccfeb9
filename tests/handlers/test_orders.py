"""The orders Lambda handler's order routes against moto DynamoDB tables standing for the global table's two
replicas. Its health route is in test_orders_health.py, its fences in test_orders_fence.py; both build on the
helpers here.

Every request is AWS's documented HTTP API (payload format 2.0) example with this request's method, path and
body put in (events/orders/SOURCES.md). Errors moto cannot produce on demand (throttling, KMS) come from
botocore's Stubber, which raises them through the handler's real client.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from botocore.stub import Stubber
from moto import mock_aws
from pydantic import ValidationError

from tests.handlers.conftest import DR, PRIMARY, FakeLambdaContext, sample_event
from tests.handlers.loader import load_handler

TABLE_NAME = "dev-us-east-1-orders-v1"
HEALTH_PATH = "/health/b1e2aef643ccccb15642f7b1"
# What the stack gives the function in the DR region; the default region (conftest) is the primary, so a
# client that ignored TABLE_REGION would miss every resource.
ORDER_ENV = {
    "TABLE_NAME": TABLE_NAME,
    "TABLE_REGION": DR,
    "CANARY_SECRET_ID": "dev-us-west-2-health-canary-v1",
    "PARAMETER_PATH": "/dev-us-west-2-orders-v1/",
    "APP_REGIONS": f"{PRIMARY},{DR}",
    "HEALTH_PATH": HEALTH_PATH,
    "POWERTOOLS_SERVICE_NAME": "orders",
}
# The order function's timeout in the stack (OrderService).
FUNCTION_TIMEOUT_SECONDS = 10
# Stand for order contents that must never reach a log; short, since pydantic shortens long values it quotes.
CUSTOMER_MARKER = "customer-5e1d"
PRICE_MARKER = "EUR 19.99 net"

# GET emits no metric by design; Powertools warns about that on every flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def http_request(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    """AWS's sample HTTP API event, carrying this request's method, path and body (a GET carries none)."""
    event = sample_event("orders/http_api_post")
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    if body is None:
        del event["body"]
    else:
        event["body"] = body
    return event


def valid_order(**overrides: Any) -> dict[str, Any]:
    order = {
        "order_id": "order-1",
        "customer_id": "customer-1",
        "currency": "EUR",
        "items": [{"sku": "sku-1", "quantity": 2, "unit_price": "19.99"}],
    }
    return {**order, **overrides}


def order_priced(price_json: str) -> str:
    """A valid order's JSON whose one unit_price is ``price_json``, exactly as a client would write it."""
    placeholder = "price-placeholder"
    body = json.dumps(valid_order(items=[{"sku": "sku-1", "quantity": 1, "unit_price": placeholder}]))
    return body.replace(json.dumps(placeholder), price_json)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Api:
    handler: ModuleType
    context: FakeLambdaContext

    def post(self, body: dict[str, Any] | str) -> Answer:
        raw = body if isinstance(body, str) else json.dumps(body)
        return self.send(http_request("POST", "/orders", raw))

    def get(self, order_id: str) -> Answer:
        return self.send(http_request("GET", f"/orders/{order_id}"))

    def send(self, event: dict[str, Any]) -> Answer:
        response = self.handler.lambda_handler(event, self.context)
        return Answer(response["statusCode"], json.loads(response["body"]), response.get("headers", {}))


def set_order_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ORDER_ENV.items():
        monkeypatch.setenv(name, value)


def create_tables() -> dict[str, Any]:
    """The orders table in both regions (inside mock_aws): moto replicates nothing, so each is on its own."""
    clients = {region: boto3.client("dynamodb", region_name=region) for region in (PRIMARY, DR)}
    for client in clients.values():
        client.create_table(
            TableName=TABLE_NAME,
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return clients


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    set_order_env(monkeypatch)


@pytest.fixture
def tables(env: None) -> Iterator[dict[str, Any]]:
    with mock_aws():
        yield create_tables()


def fresh_api(monkeypatch: pytest.MonkeyPatch, context: FakeLambdaContext) -> Api:
    # Powertools keeps a named logger's first stream handler, bound to the sys.stdout of the moment it was
    # made; pytest swaps sys.stdout per test phase. Tests reading capsys drop the old logger and load in the
    # test body, so the logs go where capsys reads.
    monkeypatch.delitem(logging.Logger.manager.loggerDict, "orders", raising=False)
    return Api(load_handler("orders"), context)


@pytest.fixture
def api(tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext) -> Api:
    return fresh_api(monkeypatch, lambda_context)


def scan(client: Any) -> list[dict[str, Any]]:
    return client.scan(TableName=TABLE_NAME)["Items"]


def rewrite_stored(client: Any, change: Any) -> None:
    """Change the one stored item in its DynamoDB JSON form, as another writer or an older version might."""
    (item,) = scan(client)
    change(item)
    client.put_item(TableName=TABLE_NAME, Item=item)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(sample_event("orders/http_api_post"), id="as-published"),
        pytest.param(http_request("POST", "/orders", json.dumps(valid_order())), id="post"),
        pytest.param(http_request("GET", "/orders/order-1"), id="get"),
    ],
)
def test_requests_are_valid_http_api_events(event: dict[str, Any]) -> None:
    # Given AWS's documented example as transcribed, and the requests these tests make from it
    # When Powertools' own model of the HTTP API payload format 2.0 parses them
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    # Then they are valid events of that format
    assert parsed.version == "2.0"


def test_valid_order_is_stored_in_the_local_replica_only(api: Api, tables: dict[str, Any]) -> None:
    # Given the function runs in the DR region (TABLE_REGION=us-west-2)
    # When a valid order is posted
    answer = api.post(valid_order())

    # Then it is created in the us-west-2 table, with what the store adds, and not in the us-east-1 one
    assert (answer.status, answer.body) == (201, {"order_id": "order-1", "status": "created"})
    (item,) = scan(tables[DR])
    assert item["order_id"] == {"S": "order-1"}
    assert item["items"]["L"][0]["M"]["unit_price"] == {"N": "19.99"}
    assert item["region"] == {"S": DR}
    assert item["created_at"]["S"].endswith("+00:00")
    assert len(item["content_hash"]["S"]) == 64
    assert scan(tables[PRIMARY]) == []


def test_every_order_answer_names_the_region_that_gave_it(api: Api) -> None:
    # Given the function runs in the DR region
    # When an order is created, read, and a missing one asked for
    answers = [api.post(valid_order()), api.get("order-1"), api.get("order-404")]

    # Then each answer says so: a client of the shared name (the game day too) sees where DNS sent it
    assert [a.status for a in answers] == [201, 200, 404]
    assert {a.headers["X-Orders-Region"] for a in answers} == {DR}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(valid_order(order_id="order/1"), "order_id", id="order_id-bad-chars"),
        pytest.param(valid_order(customer_id=""), "customer_id", id="customer_id-empty"),
        pytest.param(valid_order(currency="eur"), "currency", id="currency-lower-case"),
        pytest.param(valid_order(items=[]), "items", id="items-empty"),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": 0, "unit_price": "1.00"}]),
            "items.0.quantity",
            id="quantity-0",
        ),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": 1001, "unit_price": "1.00"}]),
            "items.0.quantity",
            id="quantity-1001",
        ),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": "3", "unit_price": "1.00"}]),
            "items.0.quantity",
            id="quantity-as-string",
        ),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": 3.0, "unit_price": "1.00"}]),
            "items.0.quantity",
            id="quantity-as-float",
        ),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": 1, "unit_price": "-1.00"}]),
            "items.0.unit_price",
            id="price-negative",
        ),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": 1, "unit_price": "0.00"}]),
            "items.0.unit_price",
            id="price-zero",
        ),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": 1, "unit_price": "1.001"}]),
            "items.0.unit_price",
            id="price-3-decimals",
        ),
        pytest.param(valid_order(discount="10"), "discount", id="extra-field"),
        pytest.param({k: v for k, v in valid_order().items() if k != "currency"}, "currency", id="missing"),
        pytest.param("{not json", "body", id="non-json-body"),
        pytest.param("[]", "body", id="json-but-not-an-object"),
    ],
)
def test_invalid_order_is_rejected_naming_the_field(
    api: Api, tables: dict[str, Any], body: dict[str, Any] | str, field: str
) -> None:
    # Given an order with one invalid field
    # When it is posted
    answer = api.post(body)

    # Then it is rejected naming that field, and nothing is written
    assert answer.status == 400
    assert answer.body["field"] == field
    assert answer.body["message"]
    assert scan(tables[DR]) == []


@pytest.mark.parametrize(
    "price_json",
    [
        pytest.param("1e26", id="json-number-1e26"),
        pytest.param("12345678901", id="json-integer-11-digits"),
        pytest.param('"12345678901.00"', id="string-11-integer-digits"),
    ],
)
def test_price_beyond_ten_integer_digits_is_rejected_naming_it(
    api: Api, tables: dict[str, Any], price_json: str
) -> None:
    # Given an order whose unit price has more than the 10 integer digits a price may have
    # When it is posted
    answer = api.post(order_priced(price_json))

    # Then it is rejected naming the price, and nothing is written
    assert (answer.status, answer.body["field"]) == (400, "items.0.unit_price")
    assert scan(tables[DR]) == []


@pytest.mark.parametrize(
    "price_json",
    [
        pytest.param('" 1.00 "', id="padded"),
        pytest.param('"1_000.00"', id="underscore"),
        pytest.param('"+1.00"', id="plus-sign"),
        pytest.param('"1e2"', id="exponent"),
        pytest.param('"NaN"', id="nan-string"),
        pytest.param('"Infinity"', id="infinity-string"),
        pytest.param("NaN", id="nan-literal"),
        pytest.param('"\u0661\u0662.\u0660\u0660"', id="non-ascii-digits"),
        pytest.param("true", id="boolean"),
    ],
)
def test_price_not_written_as_a_number_or_plain_decimal_is_rejected(
    api: Api, tables: dict[str, Any], price_json: str
) -> None:
    # Given an order whose unit price is neither a JSON number nor a plain decimal string, though
    # Decimal() would read most of these
    # When it is posted
    answer = api.post(order_priced(price_json))

    # Then it is rejected naming the price, and nothing is written
    assert (answer.status, answer.body["field"]) == (400, "items.0.unit_price")
    assert scan(tables[DR]) == []


@pytest.mark.parametrize(
    ("price_json", "stored"),
    [
        pytest.param("19.99", "19.99", id="json-number"),
        pytest.param("20", "20.00", id="json-integer"),
        pytest.param('"19.99"', "19.99", id="plain-string"),
        pytest.param('"9999999999.99"', "9999999999.99", id="largest-price"),
    ],
)
def test_price_as_json_number_or_plain_decimal_string_is_kept_to_the_cent(
    api: Api, price_json: str, stored: str
) -> None:
    # Given an order priced with a JSON number or a plain decimal string, up to the largest price
    # When it is posted and read back
    created = api.post(order_priced(price_json))
    read = api.get("order-1")

    # Then it is created, and its price is exactly the one sent
    assert created.status == 201
    assert read.body["items"][0]["unit_price"] == stored


def test_retried_identical_order_is_a_duplicate_and_changes_nothing(api: Api, tables: dict[str, Any]) -> None:
    # Given an order already created
    api.post(valid_order())
    (original,) = scan(tables[DR])

    # When the identical order is posted again
    answer = api.post(valid_order())

    # Then it is reported as a duplicate and the one stored item is unchanged, created_at included
    assert (answer.status, answer.body) == (200, {"order_id": "order-1", "status": "duplicate"})
    assert scan(tables[DR]) == [original]


def test_same_id_with_different_content_is_a_conflict_and_keeps_the_original(
    api: Api, tables: dict[str, Any]
) -> None:
    # Given an order already created
    api.post(valid_order())
    (original,) = scan(tables[DR])

    # When another order with the same order_id but different content is posted
    answer = api.post(valid_order(customer_id="someone-else"))

    # Then it is refused naming order_id, and the stored item is not overwritten
    assert answer.status == 409
    assert answer.body["field"] == "order_id"
    assert scan(tables[DR]) == [original]


def test_get_returns_the_stored_order_with_prices_as_strings(api: Api) -> None:
    # Given a stored order
    api.post(valid_order(items=[{"sku": "sku-1", "quantity": 3, "unit_price": 12.5}]))

    # When it is read back
    answer = api.get("order-1")

    # Then the stored order comes back as JSON
    assert answer.status == 200
    assert answer.body["order_id"] == "order-1"
    assert answer.body["customer_id"] == "customer-1"
    assert answer.body["currency"] == "EUR"
    assert answer.body["items"] == [{"sku": "sku-1", "quantity": 3, "unit_price": "12.50"}]
    assert answer.body["region"] == DR
    assert answer.body["created_at"]
    assert answer.body["content_hash"]


def test_get_of_an_unknown_order_is_not_found(api: Api) -> None:
    # Given an empty table
    # When an order that was never stored is read
    answer = api.get("no-such-order")

    # Then it is not found
    assert answer.status == 404
    assert answer.body["field"] == "order_id"


def test_get_ignores_attributes_the_stored_shape_gained(api: Api, tables: dict[str, Any]) -> None:
    # Given a stored order that later gained attributes: one inside items[], one at the top level
    api.post(valid_order())

    def add_attributes(item: dict[str, Any]) -> None:
        item["items"]["L"][0]["M"]["gift_wrap"] = {"BOOL": True}
        item["loyalty_tier"] = {"S": "gold"}

    rewrite_stored(tables[DR], add_attributes)

    # When it is read
    answer = api.get("order-1")

    # Then it is returned in the shape this version knows
    assert answer.status == 200
    assert answer.body["items"] == [{"sku": "sku-1", "quantity": 2, "unit_price": "19.99"}]
    assert "loyalty_tier" not in answer.body


def test_unreadable_stored_order_fails_without_quoting_it(
    tables: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a stored order whose price another writer stored as text
    api = fresh_api(monkeypatch, lambda_context)
    api.post(valid_order())

    def price_as_text(item: dict[str, Any]) -> None:
        item["items"]["L"][0]["M"]["unit_price"] = {"S": PRICE_MARKER}

    rewrite_stored(tables[DR], price_as_text)

    # When it is read
    # Then the function fails (API Gateway answers 500), and neither the error Lambda logs nor the
    # function's own logs quote the order
    with pytest.raises(ValidationError, match="unit_price") as raised:
        api.get("order-1")
    output = capsys.readouterr()
    assert PRICE_MARKER not in str(raised.value)
    assert PRICE_MARKER not in output.out + output.err


@pytest.mark.parametrize(
    ("code", "http_status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_retryable_store_error_on_write_answers_503_with_retry_after(
    api: Api, tables: dict[str, Any], code: str, http_status: int
) -> None:
    # Given DynamoDB refuses the write with an error that a later attempt may not meet
    with Stubber(api.handler.dynamodb) as dynamodb:
        dynamodb.add_client_error("put_item", service_error_code=code, http_status_code=http_status)
        # When an order is posted
        answer = api.post(valid_order())

    # Then the client is told to come back shortly, and nothing is written
    assert answer.status == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert scan(tables[DR]) == []


def test_throttled_read_answers_503_with_retry_after(api: Api) -> None:
    # Given a stored order, and DynamoDB throttling reads
    api.post(valid_order())
    with Stubber(api.handler.dynamodb) as dynamodb:
        dynamodb.add_client_error("get_item", service_error_code="ThrottlingException", http_status_code=400)
        # When the order is read
        answer = api.get("order-1")

    # Then the client is told to come back shortly
    assert answer.status == 503
    assert int(answer.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "KMSAccessDeniedException", "KMSDisabledException"]
)
def test_access_error_answers_500_with_a_generic_message(api: Api, code: str) -> None:
    # Given the function may not use the table or its key: no retry by the client can change that
    with Stubber(api.handler.dynamodb) as dynamodb:
        dynamodb.add_client_error("put_item", service_error_code=code, http_status_code=400)
        # When an order is posted
        answer = api.post(valid_order())

    # Then it fails with a message that names nothing, and no invitation to retry
    assert (answer.status, answer.body) == (500, {"message": "internal error"})
    assert "Retry-After" not in answer.headers


@pytest.mark.parametrize("code", ["ThrottlingException", "KMSDisabledException"])
def test_store_error_is_logged_by_code_without_order_values(
    tables: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    code: str,
) -> None:
    # Given DynamoDB refuses the write with an error whose message quotes the order
    api = fresh_api(monkeypatch, lambda_context)
    with Stubber(api.handler.dynamodb) as dynamodb:
        dynamodb.add_client_error(
            "put_item", service_error_code=code, service_message=f"refused item {CUSTOMER_MARKER}"
        )
        # When an order is posted
        api.post(valid_order(customer_id=CUSTOMER_MARKER))

    # Then the log names the error code, and nothing of the order or the message
    output = capsys.readouterr()
    assert f'"cause":"{code}"' in output.out
    assert CUSTOMER_MARKER not in output.out + output.err


def test_stalled_table_answers_503_well_before_the_function_timeout(
    env: None, silent_endpoint: str, monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    # Given a DynamoDB endpoint that accepts connections and never answers, and the region's fence read kept
    # from an earlier write (a stalled fence read is test_orders_fence.py's)
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    api = fresh_api(monkeypatch, lambda_context)
    monkeypatch.setattr(api.handler.fence_reader, "is_fenced", lambda: False)

    # When an order is posted
    started = time.monotonic()
    answer = api.post(valid_order())
    elapsed = time.monotonic() - started

    # Then the client is told to come back shortly, with seconds to spare before Lambda would end the call
    assert answer.status == 503
    assert "Retry-After" in answer.headers
    assert elapsed < FUNCTION_TIMEOUT_SECONDS - 4


def test_body_that_is_not_utf8_is_rejected_naming_the_body(api: Api, tables: dict[str, Any]) -> None:
    # Given a request whose base64-encoded body is not UTF-8 text
    event = http_request("POST", "/orders", base64.b64encode(b"\xff\xfe{}").decode())
    event["isBase64Encoded"] = True

    # When it is posted
    answer = api.send(event)

    # Then it is rejected naming the body, and nothing is written
    assert (answer.status, answer.body["field"]) == (400, "body")
    assert scan(tables[DR]) == []


def test_body_with_an_integer_too_long_to_parse_is_rejected_naming_the_body(
    api: Api, tables: dict[str, Any]
) -> None:
    # Given an order whose quantity has more digits than Python converts to an integer (4300)
    body = json.dumps(valid_order(items=[{"sku": "s", "quantity": 0, "unit_price": "1.00"}]))
    body = body.replace('"quantity": 0', '"quantity": ' + "9" * 5000)

    # When it is posted
    answer = api.post(body)

    # Then it is rejected naming the body, and nothing is written
    assert (answer.status, answer.body["field"]) == (400, "body")
    assert scan(tables[DR]) == []


def test_body_declared_as_another_content_type_is_rejected_naming_the_body(
    api: Api, tables: dict[str, Any]
) -> None:
    # Given a valid order sent as text/plain
    event = http_request("POST", "/orders", json.dumps(valid_order()))
    event["headers"]["content-type"] = "text/plain"

    # When it is posted
    answer = api.send(event)

    # Then it is rejected naming the body, and nothing is written
    assert (answer.status, answer.body["field"]) == (400, "body")
    assert scan(tables[DR]) == []


@pytest.mark.parametrize("name", sorted(ORDER_ENV.keys() - {"POWERTOOLS_SERVICE_NAME"}))
def test_missing_variable_fails_at_import_naming_it(
    env: None, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # Given one of the variables the stack passes is not set
    monkeypatch.delenv(name)

    # When the handler is imported, as on a cold start
    # Then the import fails with an error naming the variable, rather than serve orders or a health answer
    # without what it needs
    with pytest.raises(ValidationError, match=name):
        load_handler("orders")


def test_settings_error_quotes_no_environment_values(env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a variable is missing, and the environment holds the function's credentials
    monkeypatch.delenv("TABLE_NAME")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-that-must-never-be-logged")

    # When the handler is imported, as on a cold start
    with pytest.raises(ValidationError) as raised:
        load_handler("orders")

    # Then the error Lambda logs quotes nothing from the environment
    assert "session-token-that-must-never-be-logged" not in str(raised.value)
