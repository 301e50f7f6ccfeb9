"""Forward the other region's alerts into this region's alert topic.

On-call subscribers of either region's topic then hear about both regions, even
when one region's own delivery is impaired. Message bodies are never logged:
only message ids, the source topic and counts.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from forwarding import Forwarder, Outcome
from settings import SETTINGS

# botocore logs request bodies, the alert message included, at DEBUG. Pinning it keeps a log
# level turned up for troubleshooting from ever printing one.
logging.getLogger("botocore").setLevel(logging.INFO)

logger = Logger(service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)

# An alarm storm publishes in bursts: back off on throttling rather than fail the alert to the DLQ.
sns = boto3.client(
    "sns", region_name=SETTINGS.target_region, config=Config(retries={"mode": "standard", "max_attempts": 5})
)
forwarder = Forwarder(sns, SETTINGS.target_topic_arn, SETTINGS.source_region)


# log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT cannot switch body logging on.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    counts = {Outcome.FORWARDED.value: 0, Outcome.SKIPPED.value: 0}
    for record in event["Records"]:
        result = forwarder.forward(record["Sns"])
        counts[result.outcome] += 1
        if result.outcome is Outcome.SKIPPED:
            # Reaching here means the subscription's filter policy is missing or wrong.
            logger.warning(
                "Already-forwarded alert skipped",
                extra={"message_id": result.message_id, "source_topic": result.source_topic},
            )
        else:
            logger.info(
                "Alert forwarded",
                extra={
                    "message_id": result.message_id,
                    "source_topic": result.source_topic,
                    "published_message_id": result.published_message_id,
                },
            )
    logger.info("Alerts handled", extra=counts)
    return counts
