"""The DR drill's Step Functions steps: five probes, run in parallel, then the report.

Every step runs in the primary region and calls both. Each probe takes {"drill_id": <execution
name>} and returns {"probe", "status", "lag_seconds", "detail"}; "report" takes {"drill_id",
"results": [...]}, emits its metrics and publishes the verdict. A step reads only its own
configuration. A bad event or configuration raises DrillInputError; AWS errors are raised as they
are, for Step Functions' retry and Catch. No step logs, traces or returns a parameter value, a
message body or object content.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
import probes
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from models import (
    PASSED,
    DrillEvent,
    DynamoDbConfig,
    FailoverConfig,
    PollingConfig,
    ProbeOutcome,
    ReportConfig,
    ReportEvent,
    S3Config,
    SnsConfig,
    SsmConfig,
    configuration,
    parse_event,
)
from report import build_report, evidence_key

# botocore logs request and response bodies, the SSM canary's value included, at DEBUG. Pinning
# it keeps a function log level turned up for troubleshooting from ever printing one.
logging.getLogger("botocore").setLevel(logging.INFO)

logger = Logger()
# AWS SDK calls only: X-Ray's patch of http.client would record every URL fetched, and the DR
# health URL's path is the health route's token.
tracer = Tracer(patch_modules=("boto3", "botocore"))


@cache
def client(service: str, region: str) -> BaseClient:
    """One client per service and region for the execution environment's life, made on first use."""
    return boto3.client(service, region_name=region, config=probes.client_config(service))


# log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT cannot switch event logging on.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def dynamodb_probe(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(DynamoDbConfig)
    primary, dr = client("dynamodb", config.primary_region), client("dynamodb", config.dr_region)
    return _finish(probes.probe_dynamodb(primary, dr, config, _drill_id(data), _budget(config, context)))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def s3_probe(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(S3Config)
    primary, dr = client("s3", config.primary_region), client("s3", config.dr_region)
    return _finish(probes.probe_s3(primary, dr, config, _drill_id(data), _budget(config, context)))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def sns_probe(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(SnsConfig)
    primary, dr_sqs = client("sns", config.primary_region), client("sqs", config.dr_region)
    return _finish(probes.probe_sns(primary, dr_sqs, config, _drill_id(data), _budget(config, context)))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def failover_probe(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(FailoverConfig)
    # Route 53's API is global; the primary region's client reaches it.
    dr_lambda, route53 = client("lambda", config.dr_region), client("route53", config.primary_region)
    return _finish(probes.probe_failover(dr_lambda, route53, config, _drill_id(data)))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def ssm_probe(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(SsmConfig)
    primary, dr = client("ssm", config.primary_region), client("ssm", config.dr_region)
    return _finish(probes.probe_ssm(primary, dr, config, _drill_id(data), _budget(config, context)))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def report(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(ReportConfig)
    parsed = parse_event(data, ReportEvent)
    drill = build_report(parsed.drill_id, parsed.results, config.rpo_targets)
    # Metrics first: should the archive or the publish fail, Step Functions' retry repeats them,
    # which the Minimum and Maximum statistics alarms read are indifferent to; a lost drill is not.
    # A retry after the archive worked keeps a second, identical report: the locked first cannot
    # be overwritten, only joined by a newer version.
    for probe, verdict in drill["probes"].items():
        # Success is the probe's own status; a lag over its RPO has an alarm of its own.
        passed = verdict["status"] == PASSED
        _metric("DrillProbeSuccess", MetricUnit.Count, int(passed), "Probe", probe)
        # A failed probe's lag is its poll budget, not a measurement: it stays off the lag graph.
        if passed and verdict["lag_seconds"] is not None:
            _metric("DrillReplicationLagSeconds", MetricUnit.Seconds, verdict["lag_seconds"], "Store", probe)
    body = json.dumps(drill, indent=2)
    # The bucket's default Object Lock retention locks the report as it lands; S3 takes a locked
    # upload only with a checksum, which ChecksumAlgorithm makes the SDK compute and send.
    client("s3", config.topic_region).put_object(
        Bucket=config.evidence_bucket,
        Key=evidence_key(parsed.drill_id, datetime.now(UTC)),
        Body=body.encode(),
        ContentType="application/json",
        ChecksumAlgorithm="SHA256",
    )
    client("sns", config.topic_region).publish(
        TopicArn=config.report_topic_arn, Subject=f"DR drill {drill['status']}", Message=body
    )
    failing = [
        probe
        for probe, verdict in drill["probes"].items()
        if verdict["status"] != PASSED or verdict["within_rpo"] is False
    ]
    logger.info(
        "Drill reported",
        extra={"drill_id": parsed.drill_id, "drill_status": drill["status"], "failing_probes": failing},
    )
    return drill


def _metric(name: str, unit: MetricUnit, value: float, dimension: str, dimension_value: str) -> None:
    # One EMF document per metric: a shared Metrics object would give every metric of the flush the
    # same dimension set. Powertools adds "service" and takes the namespace from the environment.
    with single_metric(name=name, unit=unit, value=value) as metric:
        metric.add_dimension(name=dimension, value=dimension_value)


def _finish(outcome: ProbeOutcome) -> dict[str, Any]:
    output = outcome.model_dump(exclude={"error"})
    logger.info("Probe finished", extra=output)
    return output


def _budget(config: PollingConfig, context: LambdaContext) -> probes.Budget:
    return probes.Budget(config.poll_timeout_seconds, context)


def _drill_id(data: dict[str, Any]) -> str:
    return parse_event(data, DrillEvent).drill_id
