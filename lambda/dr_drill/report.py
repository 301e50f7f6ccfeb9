"""Aggregate the probes' results into the drill's verdict.

A result is a probe's own output, or what a step's Catch made of a probe that
raised: {"probe", "status": "FAILED", "error": {"Error", "Cause"}}, with no lag.
The drill passes only if every probe passed and every measured lag is within
its store's RPO target.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PROBES = ("dynamodb", "s3", "sns", "failover", "ssm")
PASSED, FAILED = "PASSED", "FAILED"
# A Catch's Cause can hold a whole stack trace; the report goes to people by email.
DETAIL_LIMIT = 300


@dataclass(frozen=True)
class ProbeVerdict:
    probe: str
    status: str
    lag_seconds: float | None
    rpo_target_seconds: float | None
    within_rpo: bool | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == PASSED and self.within_rpo is not False

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "lag_seconds": self.lag_seconds,
            "rpo_target_seconds": self.rpo_target_seconds,
            "within_rpo": self.within_rpo,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DrillReport:
    drill_id: str
    probes: tuple[ProbeVerdict, ...]

    @property
    def status(self) -> str:
        return PASSED if all(verdict.ok for verdict in self.probes) else FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "drill_id": self.drill_id,
            "status": self.status,
            "probes": {verdict.probe: verdict.to_dict() for verdict in self.probes},
        }


def build_report(
    drill_id: str, results: Iterable[Mapping[str, Any]], rpo_targets: Mapping[str, float]
) -> DrillReport:
    by_probe = {str(result["probe"]): result for result in results}
    # A probe with no result at all (a branch lost from the state machine) must not pass by absence.
    names = [*PROBES, *(name for name in by_probe if name not in PROBES)]
    return DrillReport(
        drill_id=drill_id,
        probes=tuple(_verdict(name, by_probe.get(name), rpo_targets.get(name)) for name in names),
    )


def _verdict(probe: str, result: Mapping[str, Any] | None, target: float | None) -> ProbeVerdict:
    if result is None:
        return ProbeVerdict(probe, FAILED, None, target, None, "no result from this probe")
    status = PASSED if result.get("status") == PASSED else FAILED
    lag = result.get("lag_seconds")
    if isinstance(lag, bool) or not isinstance(lag, int | float):
        lag = None
    return ProbeVerdict(
        probe=probe,
        status=status,
        lag_seconds=lag,
        rpo_target_seconds=target,
        within_rpo=_within_rpo(status, lag, target),
        detail=_detail(result)[:DETAIL_LIMIT],
    )


def _within_rpo(status: str, lag: float | None, target: float | None) -> bool | None:
    if lag is None or target is None:
        return None
    if status == PASSED:
        return lag <= target
    # A failed probe's lag is its poll budget, a lower bound: above the target it proves a miss,
    # at or below it proves nothing either way.
    return False if lag > target else None


def _detail(result: Mapping[str, Any]) -> str:
    error = result.get("error")
    if not isinstance(error, Mapping):
        return str(result.get("detail") or "")
    name = str(error.get("Error") or "error")
    cause = str(error.get("Cause") or "")
    # A Lambda failure's Cause is JSON with the exception's type, message and stack trace; the
    # message says what went wrong in the fewest characters.
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = str(parsed["errorMessage"])
    return f"{name}: {cause}" if cause else name
