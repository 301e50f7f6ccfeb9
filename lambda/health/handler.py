"""Regional health endpoint: Route 53 fails DNS over to the other region when this stops answering ok."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from health_checks import CLIENT_CONFIG, HealthReport, check_decrypt, check_parameters, check_table
from settings import SETTINGS

logger = Logger(service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)
app = LambdaFunctionUrlResolver()

# Created once per execution environment: Route 53 calls every 10-30 s from many locations, so warm
# calls must not pay for client set-up. Both target this region: the other region's health is not this
# endpoint's answer.
dynamodb = boto3.client("dynamodb", region_name=SETTINGS.table_region, config=CLIENT_CONFIG)
secrets = boto3.client("secretsmanager", region_name=SETTINGS.table_region, config=CLIENT_CONFIG)
ssm = boto3.client("ssm", region_name=SETTINGS.table_region, config=CLIENT_CONFIG)


@app.get("/health")
def health() -> Response[str]:
    report = HealthReport(
        region=SETTINGS.table_region,
        results=(
            check_table(dynamodb, SETTINGS.table_name),
            check_decrypt(secrets, SETTINGS.canary_secret_id),
            check_parameters(ssm, SETTINGS.parameter_path),
        ),
    )
    for failure in report.failures:
        logger.warning("health check failed", check=failure.name, reason=failure.reason)
    return Response(
        status_code=200 if report.healthy else 503,
        content_type=content_types.APPLICATION_JSON,
        body=report.body(),
        # A cached answer would hide a failure from Route 53 or keep reporting one after recovery.
        headers={"Cache-Control": "no-store"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
