"""The DR drill's Step Functions steps: five probes, run in parallel, then the report.

Every step runs in the primary region and calls both. Each probe takes
{"drill_id": <execution name>} and returns {"probe", "status", "lag_seconds",
"detail"}; "report" takes {"drill_id", "results": [...]}, publishes the verdict
and emits its metrics. No step logs, traces or returns a parameter value, a
message body or object content.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any, TypeVar

import boto3
import probes
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.config import Config
from report import PASSED, DrillReport, build_report
from settings import SETTINGS

# botocore logs request and response bodies, the SSM canary's value included, at DEBUG. Pinning
# it keeps a function log level turned up for troubleshooting from ever printing one.
logging.getLogger("botocore").setLevel(logging.INFO)

logger = Logger(service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)

# A probe has a fixed budget: a stalled call must give way to the next poll rather than eat it.
# The read timeout still outlasts an SQS long poll (5 s) and the order function (10 s timeout).
_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})

_Step = TypeVar("_Step")


@cache
def client(service: str, region: str) -> BaseClient:
    """One client per service and region for the execution environment's life, made on first use."""
    return boto3.client(service, region_name=region, config=_CLIENT_CONFIG)


# log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT cannot switch event logging on.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def dynamodb_probe(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = _configured(SETTINGS.dynamodb, "dynamodb_probe")
    regions = config.regions
    return _finish(
        probes.probe_dynamodb(
            client("dynamodb", regions.primary), client("dynamodb", regions.dr), config, _drill_id(event)
        )
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def s3_probe(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = _configured(SETTINGS.s3, "s3_probe")
    regions = config.regions
    return _finish(
        probes.probe_s3(client("s3", regions.primary), client("s3", regions.dr), config, _drill_id(event))
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def sns_probe(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = _configured(SETTINGS.sns, "sns_probe")
    regions = config.regions
    return _finish(
        probes.probe_sns(client("sns", regions.primary), client("sqs", regions.dr), config, _drill_id(event))
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def failover_probe(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = _configured(SETTINGS.failover, "failover_probe")
    regions = config.regions
    # Route 53's API is global; the primary region's client reaches it.
    return _finish(
        probes.probe_failover(
            client("lambda", regions.dr), client("route53", regions.primary), config, _drill_id(event)
        )
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def ssm_probe(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = _configured(SETTINGS.ssm, "ssm_probe")
    regions = config.regions
    return _finish(
        probes.probe_ssm(client("ssm", regions.primary), client("ssm", regions.dr), config, _drill_id(event))
    )


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def report(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = _configured(SETTINGS.report, "report")
    results = event.get("results")
    if not isinstance(results, list):
        raise ValueError("report event has no results list")
    drill = build_report(_drill_id(event), results, config.rpo_targets)
    body = drill.to_dict()
    # Metrics first: should the publish fail, Step Functions' retry repeats them, which the
    # Minimum and Maximum statistics alarms read are indifferent to; a lost drill is not.
    _emit_metrics(drill, config.metrics_namespace)
    client("sns", config.topic_region).publish(
        TopicArn=config.topic_arn, Subject=f"DR drill {drill.status}", Message=json.dumps(body, indent=2)
    )
    logger.info(
        "Drill reported",
        extra={
            "drill_id": drill.drill_id,
            "drill_status": drill.status,
            "failing_probes": [verdict.probe for verdict in drill.probes if not verdict.ok],
        },
    )
    return body


def _emit_metrics(drill: DrillReport, namespace: str) -> None:
    for verdict in drill.probes:
        # Success is the probe's own status; a lag over its RPO has an alarm of its own.
        passed = verdict.status == PASSED
        _metric("DrillProbeSuccess", MetricUnit.Count, int(passed), namespace, "Probe", verdict.probe)
        # A failed probe's lag is its poll budget, not a measurement: it stays off the lag graph.
        if passed and verdict.lag_seconds is not None:
            _metric(
                "DrillReplicationLagSeconds",
                MetricUnit.Seconds,
                verdict.lag_seconds,
                namespace,
                "Store",
                verdict.probe,
            )


def _metric(
    name: str, unit: MetricUnit, value: float, namespace: str, dimension: str, dimension_value: str
) -> None:
    # One EMF document per metric: a shared Metrics object would give every metric of the flush
    # the same dimension set. Powertools adds "service" (POWERTOOLS_SERVICE_NAME) to each.
    with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
        metric.add_dimension(name=dimension, value=dimension_value)


def _finish(result: probes.ProbeResult) -> dict[str, Any]:
    output = result.to_dict()
    logger.info("Probe finished", extra=output)
    return output


def _drill_id(event: dict[str, Any]) -> str:
    drill_id = event.get("drill_id")
    if not isinstance(drill_id, str) or not drill_id:
        raise ValueError("event has no drill_id")
    return drill_id


def _configured(step_settings: _Step | None, step: str) -> _Step:
    if step_settings is None:
        # Lambda only calls the entry point _HANDLER names, whose settings were loaded: this is a
        # call from elsewhere, into a step the function was not configured for.
        raise RuntimeError(f"{step} is not configured in this function: its _HANDLER names another step")
    return step_settings
