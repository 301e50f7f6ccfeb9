"""The region's deep health check, answered on the user path (API Gateway, domain, certificate, this
function) for Route 53 and the DR drill. Each check reports ok or failed and never raises.

What an order needs is what is checked: the table's read path and its KMS decrypt (one consistent BatchGetItem
of every region's fence item, which also says which regions are fenced), this region's key (the canary
secret) and the parameters replicated to this region.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from fence import fence_key, fence_marker

# Route 53 counts a check as failed unless the answer arrives within 2 s of connecting, so a dependency that
# stalls has failed already: say so in time. One attempt per check (a retry would only delay the failover
# Route 53 is waiting to make) on clients of their own, apart from the order path's patient ones.
# "total_max_attempts" counts the first call; botocore's "max_attempts" would count retries only.
CONNECT_TIMEOUT_SECONDS = 0.3
READ_TIMEOUT_SECONDS = 0.5
HEALTH_CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"total_max_attempts": 1, "mode": "standard"},
)
# The longest one check's call can take on those clients.
CHECK_WORST_CASE_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
# The checks run one after another, and three worst cases (2.4 s) would miss Route 53's 2 s. So no check
# starts that could end after this budget: it fails as NoTimeLeft instead, and the answer is out within
# 1.5 s of the first check, leaving the rest of the 2 s to API Gateway, Lambda and the network.
CHECKS_BUDGET_SECONDS = 1.5
# Route 53's checkers call each region's health route about three times a second (its own check and the
# other region's fence check, each from some fifteen checkers). A GetSecretValue and a decrypted parameter
# read at that rate would cost tens of dollars a month per region in Secrets Manager and KMS calls, so a
# passed decrypt or parameters check stands for this long in this execution environment; a failed one is
# asked again on the next call. A key that stops decrypting is reported within this, plus Route 53's
# detection.
PROOF_SECONDS = 30.0

Clock = Callable[[], float]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    # An error code or exception class name, never a message: messages carry ARNs, names and keys.
    reason: str | None = None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "failed"


def check_table(
    dynamodb: Any, table_name: str, regions: Sequence[str]
) -> tuple[CheckResult, tuple[str, ...]]:
    """The table check's result and the regions fenced, in ``regions``' order; none unless the read worked."""
    keys = [{"order_id": {"S": fence_key(region)}} for region in regions]
    try:
        # Consistent: a fence is seen as soon as it is in this replica. A read decrypts with the table's key,
        # so an answer proves the key as well as the table.
        response = dynamodb.batch_get_item(
            RequestItems={
                table_name: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "order_id"}
            }
        )
    except Exception as error:  # any failure, expected or not, is an unhealthy answer, not a crash
        return CheckResult("table", ok=False, reason=_reason(error)), ()
    if response.get("UnprocessedKeys"):
        # Throttled keys: the fences are unknown, and a partial list could hide one.
        return CheckResult("table", ok=False, reason="UnprocessedKeys"), ()
    found = {item.get("order_id", {}).get("S") for item in response.get("Responses", {}).get(table_name, [])}
    return CheckResult("table", ok=True), tuple(region for region in regions if fence_key(region) in found)


def check_decrypt(secrets: Any, secret_id: str) -> CheckResult:
    try:
        # Secrets Manager has KMS decrypt the secret's data key on every GetSecretValue, so an answer proves
        # this region's key works. The value is of no use here: the response is dropped unread.
        secrets.get_secret_value(SecretId=secret_id)
    except Exception as error:  # any failure, expected or not, is an unhealthy answer, not a crash
        return CheckResult("decrypt", ok=False, reason=_reason(error))
    return CheckResult("decrypt", ok=True)


def check_parameters(ssm: Any, parameter_path: str) -> CheckResult:
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
    # Regions whose fence item the table check read.
    fenced: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        # A fence does not make this region unhealthy: traffic moves by the standby's answer naming the
        # fenced region, and a fenced region still serves reads.
        return all(result.ok for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if not result.ok)

    def body(self) -> str:
        # "status" first: Route 53's string match reads only the first 5,120 bytes. The route is public, so
        # only statuses, the region and fence markers: no names, ARNs or error text.
        return json.dumps(
            {
                "status": "ok" if self.healthy else "unavailable",
                "region": self.region,
                "checks": {result.name: result.status for result in self.results},
                "fences": [fence_marker(region) for region in self.fenced],
            },
            separators=(",", ":"),
        )


class RegionHealth:
    """One region's three checks, on clients made with HEALTH_CLIENT_CONFIG, within CHECKS_BUDGET_SECONDS."""

    def __init__(
        self,
        *,
        region: str,
        table_name: str,
        app_regions: Sequence[str],
        canary_secret_id: str,
        parameter_path: str,
        dynamodb: Any,
        secrets: Any,
        ssm: Any,
        clock: Clock = time.monotonic,
    ) -> None:
        self.region, self.table_name, self.app_regions = region, table_name, tuple(app_regions)
        self.canary_secret_id, self.parameter_path = canary_secret_id, parameter_path
        self.dynamodb, self.secrets, self.ssm = dynamodb, secrets, ssm
        self.clock = clock
        # When each check last passed, for the checks whose passes stand for PROOF_SECONDS.
        self._passed_at: dict[str, float] = {}

    def _proven(self, name: str, run: Callable[[], CheckResult]) -> CheckResult:
        passed_at = self._passed_at.get(name)
        if passed_at is not None and self.clock() - passed_at < PROOF_SECONDS:
            return CheckResult(name, ok=True)
        result = run()
        if result.ok:
            self._passed_at[name] = self.clock()
        else:
            self._passed_at.pop(name, None)
        return result

    def report(self) -> HealthReport:
        fenced: tuple[str, ...] = ()

        def table() -> CheckResult:
            nonlocal fenced
            result, fenced = check_table(self.dynamodb, self.table_name, self.app_regions)
            return result

        checks: tuple[tuple[str, Callable[[], CheckResult]], ...] = (
            ("table", table),
            (
                "decrypt",
                lambda: self._proven("decrypt", lambda: check_decrypt(self.secrets, self.canary_secret_id)),
            ),
            (
                "parameters",
                lambda: self._proven("parameters", lambda: check_parameters(self.ssm, self.parameter_path)),
            ),
        )
        started, results = self.clock(), []
        for name, run in checks:
            if self.clock() - started + CHECK_WORST_CASE_SECONDS > CHECKS_BUDGET_SECONDS:
                results.append(CheckResult(name, ok=False, reason="NoTimeLeft"))
            else:
                results.append(run())
        return HealthReport(region=self.region, results=tuple(results), fenced=fenced)
