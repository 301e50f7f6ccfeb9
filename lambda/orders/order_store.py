"""Orders in DynamoDB: one item per order_id, written once and never overwritten."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from order_model import Order

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class PutOutcome(Enum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


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
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=_to_dynamodb(item),
                ConditionExpression="attribute_not_exists(order_id)",
                # The existing item comes back with the failure, so a retry is told from a conflict
                # without a second read.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            existing = _from_dynamodb(error.response.get("Item", {}))
            if existing.get("content_hash") == content_hash:
                return PutOutcome.DUPLICATE
            return PutOutcome.CONFLICT
        return PutOutcome.CREATED

    def get(self, order_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_to_dynamodb({"order_id": order_id}),
            # A drill that writes and then reads back must see its own write in this replica.
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _from_dynamodb(item) if item else None


def _to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def _from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}
