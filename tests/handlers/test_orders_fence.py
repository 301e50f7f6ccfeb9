"""Fences in the order function: a region whose fence item is in its local replica takes no new orders and
still serves reads; the fence is read consistently and trusted for at most FENCE_CACHE_SECONDS.

The function runs in the DR region over moto tables in both regions (test_orders.py's helpers); the fence
cache runs on a fake clock, so nothing waits. Errors moto does not make come from botocore's Stubber.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from dr_core import failover
from dr_core.config import KNOWN_REGIONS
from tests.handlers.conftest import DR, PRIMARY, FakeLambdaContext
from tests.handlers.loader import load_handler
from tests.handlers.test_orders import (
    FUNCTION_TIMEOUT_SECONDS,
    TABLE_NAME,
    Api,
    create_tables,
    fresh_api,
    scan,
    set_order_env,
    valid_order,
)

REGION = DR
CUSTOMER_MARKER = "customer-5e1d"

# GET emits no metric by design; Powertools warns about that on every flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    set_order_env(monkeypatch)
    with mock_aws():
        yield create_tables()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(
    tables: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
    clock: FakeClock,
) -> Api:
    api = fresh_api(monkeypatch, lambda_context)
    monkeypatch.setattr(api.handler.fence_reader, "clock", clock)
    return api


def fence(tables: dict[str, Any], replica: str, region: str) -> None:
    """The fence item of ``region`` as it stands in ``replica`` once the switch's write has replicated."""
    item = {"order_id": {"S": failover.fence_key(region)}, "fenced_at": {"S": "2026-01-01T00:00:00+00:00"}}
    tables[replica].put_item(TableName=TABLE_NAME, Item=item)


def unfence(tables: dict[str, Any], replica: str, region: str) -> None:
    tables[replica].delete_item(TableName=TABLE_NAME, Key={"order_id": {"S": failover.fence_key(region)}})


def cache_seconds(api: Api) -> float:
    """The loaded asset's FENCE_CACHE_SECONDS."""
    return float(sys.modules[type(api.handler.fence_reader).__module__].FENCE_CACHE_SECONDS)


def stored_order() -> dict[str, Any]:
    """order-1 as the function stores it, in DynamoDB JSON."""
    return {
        "order_id": {"S": "order-1"},
        "customer_id": {"S": "customer-1"},
        "currency": {"S": "EUR"},
        "items": {
            "L": [{"M": {"sku": {"S": "sku-1"}, "quantity": {"N": "2"}, "unit_price": {"N": "19.99"}}}]
        },
        "created_at": {"S": "2026-01-01T00:00:00.000000+00:00"},
        "region": {"S": REGION},
        "content_hash": {"S": "0" * 64},
    }


def orders(tables: dict[str, Any]) -> list[str]:
    """The order ids in this region's replica, fence items left out."""
    ids = [item["order_id"]["S"] for item in scan(tables[REGION])]
    return sorted(i for i in ids if not i.startswith(failover.FENCE_KEY_PREFIX))


def get_items(client: Any) -> list[dict[str, Any]]:
    """Every GetItem ``client`` sends from now on, by its parameters."""
    reads: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.GetItem", lambda params, **_: reads.append(params)
    )
    return reads


def fence_reads(api: Api) -> list[dict[str, Any]]:
    return get_items(api.handler.fence_dynamodb)


def worst_case(client: Any) -> float:
    """The longest a call can take on ``client``: every attempt's timeouts, and up to 1 s of standard-mode
    backoff before each retry."""
    config = client.meta.config
    attempts = config.retries["total_max_attempts"]
    return float(attempts * (config.connect_timeout + config.read_timeout) + (attempts - 1))


def test_asset_copies_of_the_fence_format_equal_dr_core() -> None:
    # Given the asset's copies of what the switch and the health checks agree on
    fence_module = load_handler("orders", "fence")
    # When they are compared with dr_core.failover's, for every region the app knows
    # Then the fence keys and the health answer's tokens are the same
    assert fence_module.FENCE_KEY_PREFIX == failover.FENCE_KEY_PREFIX
    for region in KNOWN_REGIONS:
        assert fence_module.fence_key(region) == failover.fence_key(region)
        assert json.dumps(fence_module.fence_marker(region)) == failover.fenced_token(region)


def test_fence_keys_are_outside_the_order_id_pattern() -> None:
    # Given the pattern every order id must match
    pattern = load_handler("orders", "order_model").ORDER_ID_PATTERN
    # When a fence key is held against it
    # Then no client can post or read a fence item as an order
    for region in KNOWN_REGIONS:
        assert re.fullmatch(pattern, failover.fence_key(region)) is None


def test_fenced_region_refuses_a_new_order_with_retry_after(api: Api, tables: dict[str, Any]) -> None:
    # Given this region's fence item in its replica
    fence(tables, REGION, REGION)
    # When a valid order is posted
    answer = api.post(valid_order())
    # Then it is refused for now, saying why and when to retry, and nothing is written
    assert answer.status == 503
    assert "fenced for failover" in answer.body["message"]
    assert int(answer.headers["Retry-After"]) > 0
    assert orders(tables) == []


def test_fenced_region_still_serves_reads(api: Api, tables: dict[str, Any]) -> None:
    # Given an order stored before this region was fenced, and the fence now refusing writes here
    tables[REGION].put_item(TableName=TABLE_NAME, Item=stored_order())
    fence(tables, REGION, REGION)
    assert api.post(valid_order(order_id="order-2")).status == 503
    # When the stored order is read
    answer = api.get("order-1")
    # Then it is returned as ever
    assert (answer.status, answer.body["order_id"]) == (200, "order-1")


def test_other_regions_fence_leaves_writes_open(api: Api, tables: dict[str, Any]) -> None:
    # Given the other region is fenced, its fence replicated here
    fence(tables, REGION, PRIMARY)
    # When a valid order is posted here
    answer = api.post(valid_order())
    # Then it is taken: this region is the one writes move to
    assert answer.status == 201
    assert orders(tables) == ["order-1"]


def test_fence_is_read_from_the_local_replica(api: Api, tables: dict[str, Any]) -> None:
    # Given this region's fence written in the other region's replica and not yet replicated here
    fence(tables, PRIMARY, REGION)
    # When a valid order is posted here
    answer = api.post(valid_order())
    # Then it is taken: the fence takes effect here when it arrives here
    assert answer.status == 201


def test_fence_read_is_a_consistent_read_of_this_regions_fence_key(api: Api) -> None:
    # Given the order path's client, watched
    reads = fence_reads(api)
    # When an order is posted
    api.post(valid_order())
    # Then the fence was read once, consistently, by this region's fence key
    assert reads == [
        {
            "TableName": TABLE_NAME,
            "Key": {"order_id": {"S": failover.fence_key(REGION)}},
            "ConsistentRead": True,
            "ProjectionExpression": "order_id",
        }
    ]


def test_fence_read_is_kept_for_writes_within_the_cache_time(api: Api, clock: FakeClock) -> None:
    # Given a fence read for a first order
    reads = fence_reads(api)
    api.post(valid_order(order_id="order-1"))
    # When another order follows within the cache time
    clock.now += cache_seconds(api) / 2
    api.post(valid_order(order_id="order-2"))
    # Then the fence was read once for both
    assert len(reads) == 1


def test_fence_written_after_a_read_takes_effect_once_the_cache_expires(
    api: Api, tables: dict[str, Any], clock: FakeClock
) -> None:
    # Given a write taken while unfenced, and then this region's fence arriving
    assert api.post(valid_order(order_id="order-1")).status == 201
    fence(tables, REGION, REGION)
    # When the cached read is 5 s old, the longest a fence may go unseen here, and another order is posted
    clock.now += 5.0
    answer = api.post(valid_order(order_id="order-2"))
    # Then the fence is read again and the order refused
    assert answer.status == 503
    assert orders(tables) == ["order-1"]


def test_lifted_fence_reopens_writes_once_the_cache_expires(
    api: Api, tables: dict[str, Any], clock: FakeClock
) -> None:
    # Given a fenced region that refused an order, and then its fence removed
    fence(tables, REGION, REGION)
    assert api.post(valid_order()).status == 503
    unfence(tables, REGION, REGION)
    # When the cached read is 5 s old and the order is posted again
    clock.now += 5.0
    answer = api.post(valid_order())
    # Then it is taken
    assert answer.status == 201


@pytest.mark.parametrize(
    ("code", "http_status", "status"),
    [("ThrottlingException", 400, 503), ("KMSDisabledException", 400, 500)],
    ids=["retryable", "not-retryable"],
)
def test_failed_fence_read_is_a_store_error_and_writes_nothing(
    api: Api, tables: dict[str, Any], code: str, http_status: int, status: int
) -> None:
    # Given DynamoDB refuses the fence read
    with Stubber(api.handler.fence_dynamodb) as dynamodb:
        dynamodb.add_client_error("get_item", service_error_code=code, http_status_code=http_status)
        # When an order is posted
        answer = api.post(valid_order())
    # Then the client gets the order path's answer for that error, and nothing is written
    assert answer.status == status
    assert ("Retry-After" in answer.headers) is (status == 503)
    assert orders(tables) == []


def test_failed_fence_read_is_not_kept(api: Api, tables: dict[str, Any]) -> None:
    # Given a fence read that failed
    with Stubber(api.handler.fence_dynamodb) as dynamodb:
        dynamodb.add_client_error("get_item", service_error_code="AccessDeniedException")
        assert api.post(valid_order()).status == 500
    # When the order is posted again at once, with this region now fenced
    fence(tables, REGION, REGION)
    answer = api.post(valid_order())
    # Then the fence is read again rather than taken from the failure
    assert answer.status == 503
    assert orders(tables) == []


def test_refused_order_is_logged_as_fenced_without_order_values(
    tables: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a fenced region
    monkeypatch.delitem(logging.Logger.manager.loggerDict, "orders", raising=False)
    api = fresh_api(monkeypatch, lambda_context)
    fence(tables, REGION, REGION)
    # When an order is posted
    api.post(valid_order(customer_id=CUSTOMER_MARKER))
    # Then the log says it was refused as fenced, and holds nothing of the order's contents
    output = capsys.readouterr()
    assert '"outcome":"fenced"' in output.out
    assert CUSTOMER_MARKER not in output.out + output.err


@pytest.mark.parametrize(
    "path_id",
    [failover.fence_key(REGION), failover.fence_key(REGION).replace("#", "%23")],
    ids=["raw", "percent-encoded"],
)
def test_fence_item_is_never_read_as_an_order(api: Api, tables: dict[str, Any], path_id: str) -> None:
    # Given this region's fence item in its replica
    fence(tables, REGION, REGION)
    order_reads, fence_reads_ = get_items(api.handler.dynamodb), fence_reads(api)
    # When a client asks for it by its key through the order route
    answer = api.get(path_id)
    # Then it is not found, without a table read
    assert answer.status == 404
    assert order_reads == fence_reads_ == []


def test_stalled_fence_read_answers_503_at_once(
    silent_endpoint: str, monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    # Given a DynamoDB endpoint that accepts connections and never answers
    set_order_env(monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    api = fresh_api(monkeypatch, lambda_context)
    # When an order is posted
    started = time.monotonic()
    answer = api.post(valid_order())
    elapsed = time.monotonic() - started
    # Then the client is told to come back shortly, after one short attempt at the fence
    assert answer.status == 503
    assert "Retry-After" in answer.headers
    assert elapsed < worst_case(api.handler.fence_dynamodb) + 0.5


def test_fence_read_and_write_fit_the_function_timeout_at_their_worst(
    tables: dict[str, Any], monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    # Given the clients of a POST: the fence read's, then the write's
    handler = fresh_api(monkeypatch, lambda_context).handler
    # When both calls take the longest their clients allow
    worst = worst_case(handler.fence_dynamodb) + worst_case(handler.dynamodb)
    # Then the client still gets the function's 503, a second before Lambda would end the call
    assert worst <= FUNCTION_TIMEOUT_SECONDS - 1
