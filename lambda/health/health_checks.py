"""Checks of this region's own dependencies. Each reports ok or failed and never raises."""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

# Route 53 counts a health check as failed unless the status arrives within two seconds of connecting, so a
# dependency that stalls has failed already; what is left is to say so before the function's 5 s timeout. One
# attempt per check (a retry would only delay the failover Route 53 is waiting to make) and short timeouts:
# the three checks end within 3 x (0.5 s connect + 0.8 s read) = 3.9 s. "total_max_attempts" counts the first
# call; botocore's "max_attempts" would count retries only (1 would mean two calls).
CLIENT_CONFIG = Config(
    connect_timeout=0.5, read_timeout=0.8, retries={"total_max_attempts": 1, "mode": "standard"}
)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    # An error code, exception class name or table status, never a message: messages carry ARNs and names.
    reason: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "failed"


def check_table(dynamodb: BaseClient, table_name: str) -> CheckResult:
    try:
        table_status = dynamodb.describe_table(TableName=table_name)["Table"]["TableStatus"]
    except Exception as error:  # any failure, expected or not, is an unhealthy answer, not a crash
        return CheckResult("table", ok=False, reason=_reason(error))
    # UPDATING (an index or setting changing) still serves reads and writes: failing over for it
    # would move traffic away from a working region.
    if table_status not in ("ACTIVE", "UPDATING"):
        return CheckResult("table", ok=False, reason=f"TableStatus {table_status}")
    return CheckResult("table", ok=True)


def check_decrypt(secrets: BaseClient, secret_id: str) -> CheckResult:
    try:
        # Secrets Manager has KMS decrypt the secret's data key on every GetSecretValue, so an answer proves
        # this region's key works. The value is of no use here: the response is dropped unread.
        secrets.get_secret_value(SecretId=secret_id)
    except Exception as error:  # any failure, expected or not, is an unhealthy answer, not a crash
        return CheckResult("decrypt", ok=False, reason=_reason(error))
    return CheckResult("decrypt", ok=True)


def check_parameters(ssm: BaseClient, parameter_path: str) -> CheckResult:
    try:
        # The parameters replicated from the primary are what this region's functions run with: this proves
        # they may read and decrypt them here. The response holds decrypted values, so it is dropped unread.
        ssm.get_parameters_by_path(Path=parameter_path, Recursive=True, WithDecryption=True, MaxResults=1)
    except Exception as error:  # any failure, expected or not, is an unhealthy answer, not a crash
        return CheckResult("parameters", ok=False, reason=_reason(error))
    return CheckResult("parameters", ok=True)


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") or type(error).__name__
    return type(error).__name__


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
