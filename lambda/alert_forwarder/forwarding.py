"""Republish the other region's alerts into this region's alert topic, one hop only.

Each forwarded copy carries FORWARDED_ATTRIBUTE, and a message that carries it is never republished:
that check is the loop guard. The cross-region subscriptions have no filter policy, since SNS's
``"exists": false`` never matches a message without attributes, which is every CloudWatch alarm.
Lambda's recursive loop detection, which covers SNS, is the backstop should the check ever be lost.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.parser.models.sns import SnsMsgAttributeModel, SnsNotificationModel

FORWARDED_ATTRIBUTE = "forwarded_from"
# SNS: at most 10 message attributes per message (raw-delivery SQS subscribers discard more).
MAX_ATTRIBUTES = 10
# SNS Publish: subjects "must be less than 100 characters long".
SUBJECT_LIMIT = 99
DEFAULT_SUBJECT = "alert"
# The types subscription filter policies compare; Binary attributes are ignored by them.
_FILTERABLE = ("String", "Number")


class Outcome(StrEnum):
    FORWARDED = "forwarded"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message_id: str
    source_topic: str
    published_message_id: str | None = None
    dropped_attributes: tuple[str, ...] = ()


def forwarded_subject(source_region: str, subject: str | None) -> str:
    """``[<source-region>] <subject>``, made valid for Publish rather than losing the alert to a rejection.

    Publish takes ASCII text that begins with a letter, number or punctuation mark, without line
    breaks or control characters, under 100 characters. Accents are dropped (``Ü`` becomes ``U``),
    other non-ASCII characters become ``?``, whitespace and control characters single spaces; the
    region prefix comes first, so cutting to the limit never loses it.
    """
    decomposed = unicodedata.normalize("NFKD", subject or "")
    text = "".join(_ascii(char) for char in decomposed if not unicodedata.combining(char))
    return f"[{source_region}] {' '.join(text.split()) or DEFAULT_SUBJECT}"[:SUBJECT_LIMIT].rstrip()


def _ascii(char: str) -> str:
    if char.isspace() or unicodedata.category(char) == "Cc":
        return " "
    return char if char.isascii() else "?"


def publish_attributes(
    attributes: dict[str, SnsMsgAttributeModel], source_region: str
) -> tuple[dict[str, dict[str, Any]], tuple[str, ...]]:
    """The original attributes in Publish's shape plus the loop guard, and the names dropped to fit.

    When the original already has the maximum, the loop guard still goes in: the attributes that filter
    policies cannot see (Binary) are dropped first, then the last by name, so the choice is repeatable.
    """
    kept = sorted(attributes, key=lambda name: (not attributes[name].Type.startswith(_FILTERABLE), name))
    kept, dropped = kept[: MAX_ATTRIBUTES - 1], kept[MAX_ATTRIBUTES - 1 :]
    converted = {name: _publish_value(attributes[name]) for name in kept}
    converted[FORWARDED_ATTRIBUTE] = {"DataType": "String", "StringValue": source_region}
    return converted, tuple(dropped)


def _publish_value(attribute: SnsMsgAttributeModel) -> dict[str, Any]:
    # Lambda's event has {"Type", "Value"}, with Binary values base64-encoded; Publish wants raw bytes.
    if attribute.Type.startswith("Binary"):
        return {"DataType": attribute.Type, "BinaryValue": base64.b64decode(attribute.Value, validate=True)}
    return {"DataType": attribute.Type, "StringValue": attribute.Value}


class Forwarder:
    def __init__(self, sns: Any, target_topic_arn: str, source_region: str) -> None:
        self._sns = sns
        self._target_topic_arn = target_topic_arn
        self._source_region = source_region

    def forward(self, notification: SnsNotificationModel) -> Result:
        """Republish one notification unless it is a forwarded copy. AWS errors are raised, for
        Lambda's retries and then the on-failure destination."""
        attributes = notification.MessageAttributes or {}
        if FORWARDED_ATTRIBUTE in attributes:
            return Result(Outcome.SKIPPED, notification.MessageId, notification.TopicArn)
        message_attributes, dropped = publish_attributes(attributes, self._source_region)
        response = self._sns.publish(
            TopicArn=self._target_topic_arn,
            Message=notification.Message,
            Subject=forwarded_subject(self._source_region, notification.Subject),
            MessageAttributes=message_attributes,
        )
        return Result(
            Outcome.FORWARDED, notification.MessageId, notification.TopicArn, response["MessageId"], dropped
        )
