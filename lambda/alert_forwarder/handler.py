"""Forward the other region's alerts into this region's alert topic.

On-call subscribers of either region's topic then hear about both regions, even when one region's
own delivery is impaired. This code never logs a message body: only message ids, the source topic,
attribute names and counts. A malformed event raises pydantic's ValidationError; AWS errors are raised
as they come; both reach Lambda's retries and then the on-failure destination.
"""

from __future__ import annotations

import logging

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from forwarding import Forwarder, Outcome
from settings import SETTINGS

# botocore logs request bodies, the alert message included, at DEBUG. Pinning it keeps a log
# level turned up for troubleshooting from ever printing one.
logging.getLogger("botocore").setLevel(logging.INFO)

logger = Logger(service=SETTINGS.service_name)
tracer = Tracer(service=SETTINGS.service_name)

# SNS invokes the function with one record, so one Publish has the whole 30 s function timeout. Publish
# answers in milliseconds; a stalled endpoint costs 3 attempts x (1 s to connect + 1.5 s to read), plus
# standard-mode backoff between them: under 1 s after timeouts, at most (1 + 5) + (2 + 5) s after
# throttling with x-amz-retry-after. About 21 s at the very worst, so the error is raised, and the event
# retried, before Lambda kills the function.
CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=1.5, retries={"mode": "standard", "total_max_attempts": 3}
)

sns = boto3.client("sns", region_name=SETTINGS.target_region, config=CLIENT_CONFIG)
forwarder = Forwarder(sns, SETTINGS.target_topic_arn, SETTINGS.source_region)


# log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT cannot switch body logging on.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@event_parser(model=SnsModel)
def lambda_handler(event: SnsModel, context: LambdaContext) -> dict[str, int]:
    counts = {Outcome.FORWARDED.value: 0, Outcome.SKIPPED.value: 0}
    for record in event.Records:
        result = forwarder.forward(record.Sns)
        counts[result.outcome] += 1
        where = {"message_id": result.message_id, "source_topic": result.source_topic}
        if result.outcome is Outcome.SKIPPED:
            # Every alert the other region's forwarder republishes into its own topic reaches this
            # forwarder too, and stops here.
            logger.info("Already-forwarded alert skipped", extra=where)
            continue
        logger.info("Alert forwarded", extra={**where, "published_message_id": result.published_message_id})
        if result.dropped_attributes:
            logger.warning(
                "Message attributes dropped to fit SNS's limit of 10",
                extra={**where, "dropped_attributes": list(result.dropped_attributes)},
            )
    logger.info("Alerts handled", extra=counts)
    return counts
