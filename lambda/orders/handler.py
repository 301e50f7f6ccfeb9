"""HTTP API for orders: POST /orders, GET /orders/<order_id> and the region's deep health check on
GET <HEALTH_PATH>. Routing, error mapping and telemetry only.

API Gateway authorizes the order routes (JWT) and leaves the health route public: Route 53's checkers cannot
authenticate. The health answer therefore goes through everything a client's request does.
"""

from __future__ import annotations

import binascii
import re
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from fence import FENCE_CLIENT_CONFIG, FenceReader
from health_checks import HEALTH_CLIENT_CONFIG, RegionHealth
from order_model import ORDER_ID_PATTERN, Order, parse_json
from order_store import CLIENT_CONFIG, OrderStore, PutOutcome, StoreUnavailable
from settings import SETTINGS

logger = Logger(service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)
metrics = Metrics(namespace=SETTINGS.metrics_namespace, service=SETTINGS.service_name)
app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json)

# Built once per execution environment so warm invocations reuse their connections. Every client targets this
# region: the other region's replica, key and parameters are not this region's to use or to vouch for.
dynamodb = boto3.client("dynamodb", region_name=SETTINGS.table_region, config=CLIENT_CONFIG)
store = OrderStore(SETTINGS.table_name, dynamodb)
fence_dynamodb = boto3.client("dynamodb", region_name=SETTINGS.table_region, config=FENCE_CLIENT_CONFIG)
fence_reader = FenceReader(SETTINGS.table_name, SETTINGS.table_region, fence_dynamodb)
# The health route has clients of its own, with one short attempt each: Route 53 waits 2 s at most.
region_health = RegionHealth(
    region=SETTINGS.table_region,
    table_name=SETTINGS.table_name,
    app_regions=SETTINGS.app_regions,
    canary_secret_id=SETTINGS.canary_secret_id,
    parameter_path=SETTINGS.parameter_path,
    dynamodb=boto3.client("dynamodb", region_name=SETTINGS.table_region, config=HEALTH_CLIENT_CONFIG),
    secrets=boto3.client("secretsmanager", region_name=SETTINGS.table_region, config=HEALTH_CLIENT_CONFIG),
    ssm=boto3.client("ssm", region_name=SETTINGS.table_region, config=HEALTH_CLIENT_CONFIG),
)

# The function has already retried once. Throttling and passing DynamoDB faults clear within seconds, so a
# client's next attempt need not wait long.
RETRY_AFTER_SECONDS = 2
# A fenced region's writes go elsewhere once DNS has moved: Route 53 sees the fence in the standby's answer
# after two 10 s checks, and clients keep the old answer for the record's TTL. A retry sooner would mostly
# come back here.
FENCED_RETRY_AFTER_SECONDS = 10
REGION_HEADER = "X-Orders-Region"

_PUT_RESULTS: dict[PutOutcome, tuple[int, str]] = {
    PutOutcome.CREATED: (201, "OrdersCreated"),
    PutOutcome.DUPLICATE: (200, "OrdersDuplicate"),
    PutOutcome.CONFLICT: (409, "OrdersRejected"),
}


@app.get(SETTINGS.health_path)
def health() -> Response[str]:
    report = region_health.report()
    for failure in report.failures:
        logger.warning("health check failed", extra={"check": failure.name, "reason": failure.reason})
    return Response(
        status_code=200 if report.healthy else 503,
        content_type=content_types.APPLICATION_JSON,
        body=report.body(),
        # A cached answer would hide a failure from Route 53 or keep reporting one after recovery.
        headers={"Cache-Control": "no-store"},
    )


@app.post("/orders")
def create_order(order: Annotated[Order, Body()]) -> Response[dict[str, Any]]:
    # Reads stay open while fenced; writes here could race the region that took over.
    if fence_reader.is_fenced():
        _record("fenced", "OrdersFenced", order_id=order.order_id)
        return _json(
            503,
            {"message": "this region is fenced for failover; retry later"},
            headers={"Retry-After": str(FENCED_RETRY_AFTER_SECONDS)},
        )
    outcome = store.put_new(order)
    status, metric = _PUT_RESULTS[outcome]
    _record(outcome.value, metric, order_id=order.order_id)
    if outcome is PutOutcome.CONFLICT:
        return _json(
            status, {"message": "order_id already exists with different content", "field": "order_id"}
        )
    return _json(status, {"order_id": order.order_id, "status": outcome.value})


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> Response[dict[str, Any]]:
    # An id that could never have been stored is not looked up (a key over 2 KB would be a DynamoDB error),
    # and the fence items' keys are outside the pattern: they are never read as orders.
    order = store.get(order_id) if re.fullmatch(ORDER_ID_PATTERN, order_id) else None
    if order is None:
        logger.info("order read", extra={"order_id": order_id, "outcome": "not_found"})
        return _json(404, {"message": "order not found", "field": "order_id"})
    logger.info("order read", extra={"order_id": order_id, "outcome": "found"})
    return _json(200, order.model_dump(mode="json"))


@app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
def _invalid_request(
    error: RequestValidationError | RequestUnsupportedContentType,
) -> Response[dict[str, Any]]:
    first = error.errors()[0]
    # Locations start with "body"; what follows names the field. A body that is not JSON (or not a JSON
    # object) is reported as the body as a whole.
    field = ".".join(str(part) for part in first["loc"][1:])
    if first["type"] == "json_invalid" or not field:
        field = "body"
    return _rejected(first["msg"], field)


@app.exception_handler([binascii.Error, UnicodeDecodeError])
def _undecodable_body(_: ValueError) -> Response[dict[str, Any]]:
    # Raised while Powertools decodes a base64 body, before any JSON is parsed.
    return _rejected("body is not valid base64-encoded UTF-8", "body")


@app.exception_handler(StoreUnavailable)
def _store_unavailable(error: StoreUnavailable) -> Response[dict[str, Any]]:
    # The cause is an error code or class name: enough to act on, and no order contents.
    if error.retryable:
        logger.warning("order store unavailable", extra={"cause": error.cause, "retryable": True})
        return _json(
            503,
            {"message": "orders are temporarily unavailable, retry later"},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    logger.error("order store failed", extra={"cause": error.cause, "retryable": False})
    return _json(500, {"message": "internal error"})


def _rejected(message: str, field: str) -> Response[dict[str, Any]]:
    _record("rejected", "OrdersRejected", field=field)
    return _json(400, {"message": message, "field": field})


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    # Says which region answered: a client on the shared name (and the game day) sees where DNS sent it.
    headers = {REGION_HEADER: SETTINGS.table_region, **(headers or {})}
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


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
