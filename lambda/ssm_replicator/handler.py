"""Replicate the primary region's SSM parameters to the DR region.

Values go from one SSM API to the other inside this function only: never through
CloudFormation, environment variables, logs, metrics, traces or the result. Any
AWS error other than a missing parameter is raised, so Lambda's asynchronous
retries and then the on-failure destination get the event.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from replication import Outcome, Replicator
from settings import SETTINGS

# botocore logs request and response bodies, parameter values included, at DEBUG. Pinning it
# keeps a function log level turned up for troubleshooting from ever printing a value.
logging.getLogger("botocore").setLevel(logging.INFO)

logger = Logger(service=SETTINGS.service_name)
metrics = Metrics(namespace=SETTINGS.metrics_namespace, service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)

# A reconcile writes in bursts and PutParameter has a low default throughput: back off, don't fail.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})

replicator = Replicator(
    source=boto3.client("ssm", region_name=SETTINGS.source_region, config=_CLIENT_CONFIG),
    target=boto3.client("ssm", region_name=SETTINGS.target_region, config=_CLIENT_CONFIG),
    source_path=SETTINGS.source_path,
    target_path=SETTINGS.target_path,
    target_key_id=SETTINGS.target_key_id,
)


# log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT cannot switch event logging on.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("action") == "reconcile" or event.get("source") == "aws.cloudformation":
        return _reconcile()
    if event.get("source") == "aws.ssm" and event.get("detail-type") == "Parameter Store Change":
        return _apply_change(event["detail"])
    # An event this function was never meant to get is a wiring fault: surface it in the DLQ.
    raise ValueError(
        f"unsupported event: source={event.get('source')!r} detail-type={event.get('detail-type')!r} "
        f"action={event.get('action')!r}"
    )


def _apply_change(detail: dict[str, Any]) -> dict[str, Any]:
    name, operation = detail["name"], detail["operation"]
    change = replicator.apply(name, operation)
    logger.info(
        "Parameter change handled",
        extra={"parameter": name, "target": change.target, "operation": operation, "outcome": change.outcome},
    )
    _count(
        replicated=int(change.outcome is Outcome.REPLICATED),
        deleted=int(change.outcome is Outcome.DELETED),
    )
    return {"operation": operation, "name": name, "target": change.target, "outcome": str(change.outcome)}


def _reconcile() -> dict[str, Any]:
    report = replicator.reconcile()
    counts = report.counts()
    logger.info(
        "Reconcile finished",
        extra={
            "counts": counts,
            "parameters_created": report.created,
            "parameters_updated": report.updated,
            "parameters_deleted": report.deleted,
        },
    )
    _count(replicated=counts["created"] + counts["updated"], deleted=counts["deleted"])
    metrics.add_metric(name="ReconcileRuns", unit=MetricUnit.Count, value=1)
    return {"operation": "Reconcile", **counts}


def _count(*, replicated: int, deleted: int) -> None:
    # Zeros are published too, so dashboards and alarms see a flat series rather than missing data.
    metrics.add_metric(name="ParametersReplicated", unit=MetricUnit.Count, value=replicated)
    metrics.add_metric(name="ParametersDeleted", unit=MetricUnit.Count, value=deleted)
