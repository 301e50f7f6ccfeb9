"""Aggregate the probes' results into the drill's verdict.

The drill passes only if every probe passed and every measured lag is within its store's RPO
target. A probe with no result at all (a branch lost from the state machine) fails it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from models import FAILED, PASSED, PROBES, ProbeOutcome

# A Catch's Cause can hold a whole stack trace; the report goes to people by email.
DETAIL_LIMIT = 300


def build_report(
    drill_id: str, results: Sequence[ProbeOutcome], rpo_targets: Mapping[str, float]
) -> dict[str, Any]:
    by_probe = {result.probe: result for result in results}
    names = [*PROBES, *(name for name in by_probe if name not in PROBES)]
    probes = {name: _verdict(by_probe.get(name), rpo_targets.get(name)) for name in names}
    passed = all(v["status"] == PASSED and v["within_rpo"] is not False for v in probes.values())
    return {"drill_id": drill_id, "status": PASSED if passed else FAILED, "probes": probes}


def evidence_key(drill_id: str, at: datetime) -> str:
    """Where the report is kept: one object per execution, by day, so a month lists by prefix."""
    return f"reports/drill/{at:%Y/%m/%d}/{drill_id}.json"


def _verdict(result: ProbeOutcome | None, target: float | None) -> dict[str, Any]:
    if result is None:
        status, lag, detail = FAILED, None, "no result from this probe"
    else:
        status, lag, detail = (
            PASSED if result.status == PASSED else FAILED,
            result.lag_seconds,
            _detail(result),
        )
    return {
        "status": status,
        "lag_seconds": lag,
        "rpo_target_seconds": target,
        "within_rpo": _within_rpo(status, lag, target),
        "detail": detail[:DETAIL_LIMIT],
    }


def _within_rpo(status: str, lag: float | None, target: float | None) -> bool | None:
    if lag is None or target is None:
        return None
    if status == PASSED:
        return lag <= target
    # A failed probe's lag is its poll budget, a lower bound: above the target it proves a miss,
    # at or below it proves nothing either way.
    return False if lag > target else None


def _detail(result: ProbeOutcome) -> str:
    if result.error is None:
        return result.detail
    name, cause = result.error.Error or "error", result.error.Cause
    # A Lambda failure's Cause is JSON with the exception's type, message and stack trace; the
    # message says what went wrong in the fewest characters.
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = str(parsed["errorMessage"])
    return f"{name}: {cause}" if cause else name
