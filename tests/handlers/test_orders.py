"""The orders Lambda handler against moto DynamoDB tables standing for the global table's two replicas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.handlers.loader import load_handler

TABLE_NAME = "dev-us-east-1-orders-v1"
PRIMARY, DR = "us-east-1", "us-west-2"

# GET emits no metric by design; Powertools warns about that on every flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@dataclass
class FakeLambdaContext:
    function_name: str = "orders"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{DR}:123456789012:function:orders"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def http_event(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event for the default stage."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"},
            "requestId": "request-1",
            "routeKey": f"{method} {path}",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def valid_order(**overrides: Any) -> dict[str, Any]:
    order = {
        "order_id": "order-1",
        "customer_id": "customer-1",
        "currency": "EUR",
        "items": [{"sku": "sku-1", "quantity": 2, "unit_price": "19.99"}],
    }
    return {**order, **overrides}


@dataclass
class Api:
    handler: ModuleType

    def post(self, body: dict[str, Any] | str) -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, str) else json.dumps(body)
        return self._call(http_event("POST", "/orders", raw))

    def get(self, order_id: str) -> tuple[int, dict[str, Any]]:
        return self._call(http_event("GET", f"/orders/{order_id}"))

    def _call(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = self.handler.lambda_handler(event, FakeLambdaContext())
        return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
        "TABLE_NAME": TABLE_NAME,
        "TABLE_REGION": DR,
        "POWERTOOLS_SERVICE_NAME": "orders",
        "POWERTOOLS_METRICS_NAMESPACE": "OrdersDrTest",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients = {region: boto3.client("dynamodb", region_name=region) for region in (PRIMARY, DR)}
        for client in clients.values():
            client.create_table(
                TableName=TABLE_NAME,
                KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield clients


@pytest.fixture
def api(tables: dict[str, Any]) -> Api:
    return Api(load_handler("orders"))


def scan(client: Any) -> list[dict[str, Any]]:
    return client.scan(TableName=TABLE_NAME)["Items"]


def test_valid_order_is_stored_in_the_local_replica_only(api, tables):
    # Given the function runs in the DR region (TABLE_REGION=us-west-2)
    # When a valid order is posted
    status, body = api.post(valid_order())

    # Then it is created in the us-west-2 table, with what the store adds, and not in the us-east-1 one
    assert (status, body) == (201, {"order_id": "order-1", "status": "created"})
    (item,) = scan(tables[DR])
    assert item["order_id"] == {"S": "order-1"}
    assert item["items"]["L"][0]["M"]["unit_price"] == {"N": "19.99"}
    assert item["region"] == {"S": DR}
    assert item["created_at"]["S"].endswith("+00:00")
    assert len(item["content_hash"]["S"]) == 64
    assert scan(tables[PRIMARY]) == []


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
            valid_order(items=[{"sku": "s", "quantity": 1, "unit_price": "-1.00"}]),
            "items.0.unit_price",
            id="price-negative",
        ),
        pytest.param(
            valid_order(items=[{"sku": "s", "quantity": 1, "unit_price": "1.001"}]),
            "items.0.unit_price",
            id="price-3-decimals",
        ),
        pytest.param(valid_order(discount="10"), "discount", id="extra-field"),
        pytest.param({k: v for k, v in valid_order().items() if k != "currency"}, "currency", id="missing"),
        pytest.param("{not json", "body", id="non-json-body"),
    ],
)
def test_invalid_order_is_rejected_naming_the_field(api, tables, body, field):
    # Given an order with one invalid field
    # When it is posted
    status, response = api.post(body)

    # Then it is rejected naming that field, and nothing is written
    assert status == 400
    assert response["field"] == field
    assert response["message"]
    assert scan(tables[DR]) == []


def test_retried_identical_order_is_a_duplicate_and_changes_nothing(api, tables):
    # Given an order already created
    api.post(valid_order())
    (original,) = scan(tables[DR])

    # When the identical order is posted again
    status, body = api.post(valid_order())

    # Then it is reported as a duplicate and the one stored item is unchanged, created_at included
    assert (status, body) == (200, {"order_id": "order-1", "status": "duplicate"})
    assert scan(tables[DR]) == [original]


def test_same_id_with_different_content_is_a_conflict_and_keeps_the_original(api, tables):
    # Given an order already created
    api.post(valid_order())
    (original,) = scan(tables[DR])

    # When another order with the same order_id but different content is posted
    status, body = api.post(valid_order(customer_id="someone-else"))

    # Then it is refused naming order_id, and the stored item is not overwritten
    assert status == 409
    assert body["field"] == "order_id"
    assert scan(tables[DR]) == [original]


def test_get_returns_the_stored_order_with_prices_as_strings(api):
    # Given a stored order
    api.post(valid_order(items=[{"sku": "sku-1", "quantity": 3, "unit_price": 12.5}]))

    # When it is read back
    status, body = api.get("order-1")

    # Then the stored order comes back as JSON
    assert status == 200
    assert body["order_id"] == "order-1"
    assert body["customer_id"] == "customer-1"
    assert body["currency"] == "EUR"
    assert body["items"] == [{"sku": "sku-1", "quantity": 3, "unit_price": "12.50"}]
    assert body["region"] == DR
    assert body["created_at"]
    assert body["content_hash"]


def test_get_of_an_unknown_order_is_not_found(api):
    # Given an empty table
    # When an order that was never stored is read
    status, body = api.get("no-such-order")

    # Then it is not found
    assert status == 404
    assert body["field"] == "order_id"


def test_missing_table_name_fails_at_import_naming_it(monkeypatch):
    # Given TABLE_NAME is not set
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.setenv("TABLE_REGION", DR)

    # When the handler is imported, as on a cold start
    # Then the import fails with a message naming TABLE_NAME
    with pytest.raises(RuntimeError, match="TABLE_NAME"):
        load_handler("orders")
