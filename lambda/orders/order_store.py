"""Orders in DynamoDB: one item per order_id, written once and never overwritten.

Every AWS error leaves this module as StoreUnavailable, which says whether a client's retry may succeed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import botocore.exceptions
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from order_model import Order, StoredOrder

# Every call ends well inside the function's 10 s timeout, so a stalled table gets the client a 503 it can act
# on instead of API Gateway's bare 500 for a timed-out function. Worst case: 2 attempts x (1 s connect + 2 s
# read) + at most 1 s of standard-mode backoff = 7 s. DynamoDB answers in milliseconds: these limits only end
# calls that have stalled. "total_max_attempts" counts the first call; botocore's "max_attempts" would not.
CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"}
)

# Capacity and passing faults on DynamoDB's side: the same request may succeed shortly. Anything else (access
# denied, a disabled KMS key, a missing table) fails the same way until an operator acts.
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
# Timeouts and dropped or refused connections: botocore's standard-mode retries treat them as transient too.
_TRANSIENT_FAILURES = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class PutOutcome(Enum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


class StoreUnavailable(Exception):
    """DynamoDB did not serve a call. ``cause`` is an error code or exception class name, never a message:
    messages can quote keys and values."""

    def __init__(self, cause: str, *, retryable: bool) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retryable = retryable


class OrderStore:
    def __init__(self, table_name: str, client: Any) -> None:
        self._table_name = table_name
        self._client = client

    def put_new(self, order: Order) -> PutOutcome:
        content_hash = order.canonical_hash()
        item = {
            **order.model_dump(),
            "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            # The client's region is the replica actually written, which tells which region took the order.
            "region": self._client.meta.region_name,
            "content_hash": content_hash,
        }
        with aws_errors_as_unavailable():
            try:
                self._client.put_item(
                    TableName=self._table_name,
                    Item=_to_dynamodb(item),
                    ConditionExpression="attribute_not_exists(order_id)",
                    # The existing item comes back with the failure, so a retry is told from a conflict
                    # without a second read.
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except botocore.exceptions.ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":
                    raise
                # This is also how a botocore retry ends whose first attempt was written but not answered.
                existing = _from_dynamodb(error.response.get("Item", {}))
                if existing.get("content_hash") == content_hash:
                    return PutOutcome.DUPLICATE
                return PutOutcome.CONFLICT
        return PutOutcome.CREATED

    def get(self, order_id: str) -> StoredOrder | None:
        with aws_errors_as_unavailable():
            response = self._client.get_item(
                TableName=self._table_name,
                Key=_to_dynamodb({"order_id": order_id}),
                # A drill that writes and then reads back must see its own write in this replica.
                ConsistentRead=True,
            )
        item = response.get("Item")
        return StoredOrder.model_validate(_from_dynamodb(item)) if item else None


@contextmanager
def aws_errors_as_unavailable() -> Iterator[None]:
    """Any AWS error inside becomes StoreUnavailable: the order path's one mapping of DynamoDB failures."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        raise StoreUnavailable(
            _code(error), retryable=_code(error) in _RETRYABLE_CODES or status >= 500
        ) from error
    except botocore.exceptions.BotoCoreError as error:
        raise StoreUnavailable(
            type(error).__name__, retryable=isinstance(error, _TRANSIENT_FAILURES)
        ) from error


def _code(error: botocore.exceptions.ClientError) -> str:
    return error.response.get("Error", {}).get("Code") or "Unknown"


def _to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def _from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}
