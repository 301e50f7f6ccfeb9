"""HTTP API for orders: POST /orders and GET /orders/<order_id>. Parsing, routing and telemetry only."""

from __future__ import annotations

import re
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from order_model import ORDER_ID_PATTERN, Order, StoredOrder
from order_store import OrderStore, PutOutcome
from pydantic import ValidationError
from settings import SETTINGS

logger = Logger(service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)
metrics = Metrics(namespace=SETTINGS.metrics_namespace, service=SETTINGS.service_name)
app = APIGatewayHttpResolver()

# Built once per execution environment so warm invocations reuse its connections.
store = OrderStore(SETTINGS.table_name, boto3.client("dynamodb", region_name=SETTINGS.table_region))

_PUT_RESULTS: dict[PutOutcome, tuple[int, str]] = {
    PutOutcome.CREATED: (201, "OrdersCreated"),
    PutOutcome.DUPLICATE: (200, "OrdersDuplicate"),
    PutOutcome.CONFLICT: (409, "OrdersRejected"),
}

Result = tuple[dict[str, Any], int]


@app.post("/orders")
def create_order() -> Result:
    try:
        order = Order.model_validate_json(app.current_event.decoded_body or "")
    except ValidationError as error:
        first = error.errors()[0]
        # An empty location means the body as a whole: not JSON, or not a JSON object.
        field = ".".join(str(part) for part in first["loc"]) or "body"
        return _rejected(first["msg"], field)
    except ValueError:
        # decoded_body raises these for a base64 body that is malformed or not UTF-8.
        return _rejected("body is not valid base64-encoded UTF-8", "body")

    outcome = store.put_new(order)
    status, metric = _PUT_RESULTS[outcome]
    _record(outcome.value, metric, order_id=order.order_id)
    if outcome is PutOutcome.CONFLICT:
        return {"message": "order_id already exists with different content", "field": "order_id"}, status
    return {"order_id": order.order_id, "status": outcome.value}, status


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> Result:
    # An id that could never have been stored is not looked up (a key over 2 KB would be a DynamoDB error).
    item = store.get(order_id) if re.fullmatch(ORDER_ID_PATTERN, order_id) else None
    if item is None:
        logger.info("order read", extra={"order_id": order_id, "outcome": "not_found"})
        return {"message": "order not found", "field": "order_id"}, 404
    logger.info("order read", extra={"order_id": order_id, "outcome": "found"})
    return StoredOrder.model_validate(item, strict=False).model_dump(mode="json"), 200


def _rejected(message: str, field: str) -> Result:
    _record("rejected", "OrdersRejected", field=field)
    return {"message": message, "field": field}, 400


def _record(outcome: str, metric: str, **log_keys: str) -> None:
    logger.info("order write", extra={"outcome": outcome, **log_keys})
    tracer.put_annotation(key="outcome", value=outcome)
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
# The response can hold a whole order; X-Ray gets timings, not order contents.
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
