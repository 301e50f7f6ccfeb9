"""Replicate the primary region's SSM parameters to the DR region.

Values go from one SSM API to the other inside this function only: never through
CloudFormation, environment variables, logs, metrics, traces or the result. A malformed
event raises pydantic's ValidationError, a reconcile short of time raises OutOfTime, and any
AWS error other than a missing parameter is raised as it comes: all of them reach Lambda's
asynchronous retries and then the on-failure destination.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from events import ParameterStoreChange, ReplicatorEvent, StackStatusChange
from replication import Budget, Outcome, Replicator
from settings import SETTINGS

# botocore logs request and response bodies, parameter values included, at DEBUG. Pinning it
# keeps a function log level turned up for troubleshooting from ever printing a value.
logging.getLogger("botocore").setLevel(logging.INFO)

logger = Logger(service=SETTINGS.service_name)
metrics = Metrics(namespace=SETTINGS.metrics_namespace, service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)

# SSM answers in milliseconds: a call that stalls is cut after 1 s to connect or 1.5 s to read, and
# tried at most 3 times, so a stalled region fails a change event in seconds. A reconcile's burst of
# PutParameter calls may be throttled: the retries back off, and should they run out, the event's own
# retry carries on from what this run already brought in sync.
_CONNECT_SECONDS, _READ_SECONDS, _ATTEMPTS = 1, 1.5, 3
CLIENT_CONFIG = Config(
    connect_timeout=_CONNECT_SECONDS,
    read_timeout=_READ_SECONDS,
    retries={"mode": "standard", "total_max_attempts": _ATTEMPTS},
)
# The longest one call can take: every attempt timing out, plus standard-mode backoff between them at
# its throttling worst (up to 2**i s, and 5 s more for an x-amz-retry-after header). A reconcile stops
# before a call when less than this is left of the 5-minute timeout, so Lambda never kills it mid-call.
CALL_RESERVE_SECONDS = _ATTEMPTS * (_CONNECT_SECONDS + _READ_SECONDS) + sum(
    min(2**i, 20) + 5 for i in range(_ATTEMPTS - 1)
)

replicator = Replicator(
    source=boto3.client("ssm", region_name=SETTINGS.source_region, config=CLIENT_CONFIG),
    target=boto3.client("ssm", region_name=SETTINGS.target_region, config=CLIENT_CONFIG),
    source_path=SETTINGS.source_path,
    target_path=SETTINGS.target_path,
    target_key_id=SETTINGS.target_key_id,
)


# log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT cannot switch event logging on.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=ReplicatorEvent)
def lambda_handler(event: ReplicatorEvent, context: LambdaContext) -> dict[str, Any]:
    request = event.root
    if isinstance(request, ParameterStoreChange):
        return _apply_change(request.detail.name, request.detail.operation)
    if isinstance(request, StackStatusChange):
        logger.info(
            "Reconcile after a deploy",
            extra={"stack_id": request.detail.stack_id, "stack_status": request.detail.status_details.status},
        )
    return _reconcile(Budget(context.get_remaining_time_in_millis, CALL_RESERVE_SECONDS))


def _apply_change(name: str, operation: str) -> dict[str, Any]:
    change = replicator.apply(name)
    logger.info(
        "Parameter change handled",
        extra={"parameter": name, "target": change.target, "operation": operation, "outcome": change.outcome},
    )
    _count(
        replicated=int(change.outcome is Outcome.REPLICATED),
        deleted=int(change.outcome is Outcome.DELETED),
    )
    return {"operation": operation, "name": name, "target": change.target, "outcome": str(change.outcome)}


def _reconcile(budget: Budget) -> dict[str, Any]:
    report = replicator.reconcile(budget)
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
