"""Checks of this region's own dependencies. Each reports ok or failed and never raises."""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.client import BaseClient
from botocore.config import Config

# One attempt with short timeouts: a dead dependency must fail its check inside the function's 5 s
# timeout, and a retry would only delay the failover Route 53 is waiting to make. botocore's
# "max_attempts" counts retries after the first call (1 would mean two calls); "total_max_attempts"
# counts the first call too.
CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 1, "mode": "standard"}
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    # An exception class name or a status enum, never a message: messages carry ARNs and resource names.
    reason: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "failed"


def check_table(dynamodb: BaseClient, table_name: str) -> CheckResult:
    try:
        table_status = dynamodb.describe_table(TableName=table_name)["Table"]["TableStatus"]
    except Exception as error:  # any failure, expected or not, is an unhealthy answer, not a crash
        return CheckResult("table", ok=False, reason=type(error).__name__)
    # UPDATING (an index or setting changing) still serves reads and writes: failing over for it
    # would move traffic away from a working region.
    if table_status not in ("ACTIVE", "UPDATING"):
        return CheckResult("table", ok=False, reason=f"TableStatus {table_status}")
    return CheckResult("table", ok=True)


def check_parameters(ssm: BaseClient, parameter_path: str) -> CheckResult:
    try:
        # WithDecryption makes SSM call this region's KMS key, so one call proves both answer.
        # The response holds decrypted values, so it is dropped unread.
        ssm.get_parameters_by_path(Path=parameter_path, Recursive=True, WithDecryption=True, MaxResults=1)
    except Exception as error:  # any failure, expected or not, is an unhealthy answer, not a crash
        return CheckResult("parameters", ok=False, reason=type(error).__name__)
    return CheckResult("parameters", ok=True)


@dataclass(frozen=True)
class HealthReport:
    region: str
    results: tuple[CheckResult, ...]

    @property
    def healthy(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if not result.ok)

    def body(self) -> str:
        # "status" comes first so Route 53's string match finds it in the first bytes, whatever follows.
        # Only statuses and the region: this endpoint is public, so no names, ARNs or error text.
        return json.dumps(
            {
                "status": "ok" if self.healthy else "unavailable",
                "region": self.region,
                "checks": {result.name: result.status for result in self.results},
            },
            separators=(",", ":"),
        )
