"""Republish the other region's alerts into this region's alert topic, one hop only.

Each forwarded copy carries FORWARDED_ATTRIBUTE. The subscription's filter policy
keeps such copies from ever reaching the other region's forwarder; the check here
stops them again should that policy be lost, so two forwarders can never ping-pong.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.client import BaseClient

FORWARDED_ATTRIBUTE = "forwarded_from"
# SNS: subjects "must be less than 100 characters long".
SUBJECT_LIMIT = 99
DEFAULT_SUBJECT = "alert"


class Outcome(StrEnum):
    FORWARDED = "forwarded"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message_id: str
    source_topic: str
    published_message_id: str | None = None


def forwarded_subject(source_region: str, subject: str | None) -> str:
    # SNS rejects the whole publish over a bad subject, so a subject that cannot be sent as is gets
    # fixed here rather than costing the alert: control characters and line breaks become single
    # spaces, and the result is cut to SNS's limit.
    cleaned = "".join(" " if unicodedata.category(char) == "Cc" else char for char in subject or "")
    text = " ".join(cleaned.split()) or DEFAULT_SUBJECT
    return f"[{source_region}] {text}"[:SUBJECT_LIMIT].rstrip()


class Forwarder:
    def __init__(self, sns: BaseClient, target_topic_arn: str, source_region: str) -> None:
        self._sns = sns
        self._target_topic_arn = target_topic_arn
        self._source_region = source_region

    def forward(self, notification: Mapping[str, Any]) -> Result:
        """Handle one record's "Sns" part. AWS errors are raised, for Lambda's retries and DLQ."""
        message_id = notification["MessageId"]
        source_topic = notification["TopicArn"]
        if FORWARDED_ATTRIBUTE in (notification.get("MessageAttributes") or {}):
            return Result(Outcome.SKIPPED, message_id, source_topic)
        response = self._sns.publish(
            TopicArn=self._target_topic_arn,
            Message=notification["Message"],
            Subject=forwarded_subject(self._source_region, notification.get("Subject")),
            MessageAttributes={
                FORWARDED_ATTRIBUTE: {"DataType": "String", "StringValue": self._source_region}
            },
        )
        return Result(Outcome.FORWARDED, message_id, source_topic, response["MessageId"])
