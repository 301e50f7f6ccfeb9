"""The one place physical names are made: ``[environment]-[region]-[service][suffix]``.

Each AWS service has its own length and character rules. A name that breaks
them fails here, at synth, with the context key to change, instead of halfway
through a CloudFormation deploy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from dr_core.errors import ConfigError


@dataclass(frozen=True)
class NameRule:
    label: str
    max_length: int
    pattern: str
    min_length: int = 1
    prefix: str = ""
    lower_case: bool = False


class Kind(Enum):
    """Every kind of physical name the app makes, with the service's rules."""

    # Global namespace, DNS-compatible: lower case, 3-63, alphanumeric at both ends.
    S3_BUCKET = NameRule("S3 bucket", 63, r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])", 3, lower_case=True)
    IAM_ROLE = NameRule("IAM role", 64, r"[\w+=,.@-]+")
    LAMBDA_FUNCTION = NameRule("Lambda function", 64, r"[A-Za-z0-9_-]+")
    SQS_QUEUE = NameRule("SQS queue", 80, r"[A-Za-z0-9_-]+")
    SNS_TOPIC = NameRule("SNS topic", 256, r"[A-Za-z0-9_-]+")
    DYNAMODB_TABLE = NameRule("DynamoDB table", 255, r"[A-Za-z0-9_.-]+", 3)
    KMS_ALIAS = NameRule("KMS alias", 256, r"alias/[A-Za-z0-9/_-]+", prefix="alias/")
    SSM_PATH = NameRule("SSM parameter path", 900, r"/[A-Za-z0-9_.-]+", prefix="/")
    SECRET = NameRule("Secrets Manager secret", 512, r"[A-Za-z0-9/_+=.@-]+")
    # RDS identifiers: start with a letter, no double hyphen, stored lower case.
    RDS_INSTANCE = NameRule("RDS instance", 63, r"[a-z](?!.*--)[a-z0-9-]*[a-z0-9]", lower_case=True)
    # Stored lower case; letters, digits, spaces, '.', '_', '-'.
    RDS_SUBNET_GROUP = NameRule("RDS DB subnet group", 255, r"[a-z0-9][a-z0-9 ._-]*", lower_case=True)
    STATE_MACHINE = NameRule("Step Functions state machine", 80, r"[A-Za-z0-9_-]+")
    DASHBOARD = NameRule("CloudWatch dashboard", 255, r"[A-Za-z0-9_-]+")
    ALARM = NameRule("CloudWatch alarm", 255, r"[A-Za-z0-9_.-]+")
    SCHEDULE = NameRule("EventBridge schedule", 64, r"[A-Za-z0-9_.-]+")
    EVENT_RULE = NameRule("EventBridge rule", 64, r"[A-Za-z0-9_.-]+")
    HTTP_API = NameRule("API Gateway API", 128, r"[A-Za-z0-9_-]+")
    HEALTH_CHECK = NameRule("Route 53 health check Name tag", 255, r"[A-Za-z0-9_.-]+")
    STACK = NameRule("CloudFormation stack", 128, r"[A-Za-z][A-Za-z0-9-]*")

    @property
    def rule(self) -> NameRule:
        return self.value


_SERVICE = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")


@dataclass(frozen=True)
class Naming:
    environment: str
    suffix: str
    account: str

    def name(self, kind: Kind, service: str, *, region: str) -> str:
        """The physical name of ``service`` in ``region``, checked against ``kind``'s rules."""
        if not _SERVICE.fullmatch(service):
            raise ValueError(f"service segment {service!r} must be lower-case words joined by '-'")
        rule = kind.rule
        name = f"{rule.prefix}{self.environment}-{region}-{service}{self.suffix}"
        if rule.lower_case:
            name = name.lower()
        if not rule.min_length <= len(name) <= rule.max_length:
            raise ConfigError(
                "suffix",
                f"makes the {rule.label} name '{name}' {len(name)} characters long; "
                f"{rule.label} names hold {rule.min_length}-{rule.max_length}: "
                "shorten 'suffix' or 'environment'",
            )
        if not re.fullmatch(rule.pattern, name):
            raise ConfigError(
                "suffix",
                f"makes the {rule.label} name '{name}', which breaks the service's character rules",
            )
        return name

    def bucket(self, service: str, *, region: str) -> str:
        # Bucket names are global across all AWS accounts: the account ID in the
        # service segment keeps two deployments of this app from colliding.
        return self.name(Kind.S3_BUCKET, f"{service}-{self.account}", region=region)

    def kms_alias(self, service: str, *, region: str) -> str:
        return self.name(Kind.KMS_ALIAS, service, region=region)


def pascal(text: str) -> str:
    """A construct ID part from a dashed name: "us-east-1" -> "UsEast1", "s3-pause" -> "S3Pause"."""
    return "".join(part.capitalize() for part in text.split("-"))
