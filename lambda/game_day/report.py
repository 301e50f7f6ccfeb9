"""The game day's verdict, from the state machine's whole state.

A step that did not run has no key in the state; a step that failed has its Catch's
"<step>_error" ({"Error", "Cause"}) instead. The game day passes only when the world was steady,
the experiment ran and ended, and what it broke was measured within its bounds:
  - primary-path: every failover phase seen, the measured RTO within its budget, traffic back on
    the primary by Route 53's own doing;
  - a replication pause: one of its alarms in ALARM within the window, then every canary arrived
    and every alarm settled OK;
  - in both, the game day stopped the experiment: one that had ended first (a stop condition, an
    operator) cut the measurement short.
Each shortfall adds a reason. The state is read defensively: a part that is missing or not the
shape a step returns counts as not done, and is never an error here, so a report always lands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from settings import PAUSED_STORE, PRIMARY_PATH

PASSED, FAILED = "PASSED", "FAILED"
# A Catch's Cause can hold a whole stack trace; the report goes to people by email.
REASON_LIMIT = 300
# SNS takes a subject of at most 100 printable ASCII characters.
SUBJECT_LIMIT = 100
ENDED = ("completed", "stopped")
# The Catch of each step, in the order the state machine runs them.
ERROR_KEYS = {
    "preflight_error": "preflight",
    "start_error": "start",
    "failover_error": "failover",
    "pause_error": "pause",
    "stop_error": "stop",
    "restore_error": "restore",
    "resume_error": "resume",
}
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class Metric(NamedTuple):
    name: str
    unit: str  # a CloudWatch unit: "Count" or "Seconds"
    value: float
    dimension: str
    dimension_value: str


def build_report(state: Mapping[str, Any]) -> dict[str, Any]:
    experiment = str(state.get("experiment") or "")
    reasons = [_caught(step, state[key]) for key, step in ERROR_KEYS.items() if key in state]
    preflight, run, stop = _part(state, "preflight"), _part(state, "run"), _part(state, "stop")
    reasons += _preflight_reasons(state, preflight)
    started = bool(run.get("id"))
    if not started and "start_error" not in state:
        reasons.append("experiment: not started")
    if started and stop.get("status") not in ENDED and "stop_error" not in state:
        reasons.append(f"experiment: not stopped (status {stop.get('status') or 'unknown'})")
    if started and stop.get("already_ended") is True:
        # Each action outlasts its measurement: an earlier end cut the measurement short.
        why = f"{stop.get('status')}: {stop.get('reason') or 'no reason given'}"
        reasons.append(f"experiment: ended before the game day stopped it ({why})")
    report: dict[str, Any] = {
        "game_day_id": state.get("game_day_id"),
        "experiment": experiment,
        "status": FAILED,
        "reasons": reasons,
        "preflight": preflight or None,
        "experiment_run": _experiment_run(run, stop),
    }
    if experiment == PRIMARY_PATH:
        failover, restore = _part(state, "failover"), _part(state, "restore")
        if started:
            reasons += _failover_reasons(state, failover, restore)
        report |= {"measurement": failover or None, "restore": restore or None}
    elif experiment in PAUSED_STORE:
        pause = _part(state, "pause")
        if started:
            reasons += _pause_reasons(state, pause)
        report |= {"measurement": pause or None}
    else:
        reasons.append(f"experiment: {experiment or 'none'} is not a game-day experiment")
        report["measurement"] = None
    report["reasons"] = [reason[:REASON_LIMIT] for reason in reasons]
    report["status"] = FAILED if reasons else PASSED
    return report


def metrics(report: Mapping[str, Any]) -> list[Metric]:
    """Each metric with its one dimension; Powertools adds "service"."""
    experiment = str(report.get("experiment") or "unknown")
    found = [Metric("GameDayPassed", "Count", int(report.get("status") == PASSED), "Experiment", experiment)]
    measurement = report.get("measurement") or {}
    if not isinstance(measurement, dict):
        return found
    rto = _number(measurement.get("measured_rto_seconds"))
    if experiment == PRIMARY_PATH and rto is not None:
        found.append(Metric("GameDayMeasuredRtoSeconds", "Seconds", rto, "Experiment", experiment))
    store = PAUSED_STORE.get(experiment)
    if store is None:
        return found
    alarm_seconds = _number(measurement.get("alarm_seconds"))
    if measurement.get("alarm_at") is not None and alarm_seconds is not None:
        found.append(Metric("GameDayAlarmSeconds", "Seconds", alarm_seconds, "Store", store))
    at_risk = measurement.get("at_risk")
    if isinstance(at_risk, dict):
        oldest = _number(at_risk.get("oldest_seconds"))
        if oldest is not None:
            found.append(Metric("GameDayRpoUnderFaultSeconds", "Seconds", oldest, "Store", store))
        writes = _number(at_risk.get("writes"))
        if writes is not None:
            found.append(Metric("GameDayWritesAtRisk", "Count", writes, "Store", store))
    return found


def evidence_key(game_day_id: str, at: datetime) -> str:
    """Where the report is kept: one object per execution, by day, so a month lists by prefix."""
    return f"reports/gameday/{at:%Y/%m/%d}/{game_day_id}.json"


def subject(report: Mapping[str, Any]) -> str:
    text = _UNPRINTABLE.sub("?", f"DR game day {report.get('experiment') or ''} {report.get('status')}")
    return text[:SUBJECT_LIMIT]


def _preflight_reasons(state: Mapping[str, Any], preflight: dict[str, Any]) -> list[str]:
    if not preflight:
        return [] if "preflight_error" in state else ["preflight: did not run"]
    if preflight.get("steady") is True:
        return []
    checks = preflight.get("checks")
    failing = (
        [f"{name}: {why}" for name, why in checks.items() if why != "ok"] if isinstance(checks, dict) else []
    )
    return [f"preflight: not steady ({'; '.join(failing) or 'no checks'})"]


def _experiment_run(run: dict[str, Any], stop: dict[str, Any]) -> dict[str, Any]:
    if not run.get("id"):
        return {"id": None, "status": "not-started"}
    return {
        "id": run.get("id"),
        "template_id": run.get("template_id"),
        "started_at": run.get("started_at"),
        "status": stop.get("status") or run.get("status"),
        "reason": stop.get("reason", ""),
        "stopped_at": stop.get("stopped_at"),
    }


def _failover_reasons(
    state: Mapping[str, Any], failover: dict[str, Any], restore: dict[str, Any]
) -> list[str]:
    reasons = []
    if not failover:
        if "failover_error" not in state:
            reasons.append("failover: not measured")
    elif failover.get("failed_phase") is not None:
        reasons.append(
            f"failover: the {failover['failed_phase']} phase was not seen: {failover.get('detail', '')}"
        )
    elif failover.get("within_budget") is not True:
        rto, budget = failover.get("measured_rto_seconds"), failover.get("budget_seconds")
        if _number(rto) is None:
            reasons.append("failover: no RTO measured")
        else:
            reasons.append(f"failover: measured RTO {rto:g} s is over the {budget} s budget")
    if restore.get("restored") is not True and "restore_error" not in state:
        reasons.append(f"restore: {restore.get('detail') or 'did not run'}")
    return reasons


def _pause_reasons(state: Mapping[str, Any], pause: dict[str, Any]) -> list[str]:
    if not pause:
        return [] if "pause_error" in state else ["pause: not measured"]
    reasons = []
    if pause.get("alarm_at") is None:
        reasons.append("pause: no alarm in ALARM within the window")
    if pause.get("phase") != "resumed":
        if "resume_error" not in state:
            reasons.append("resume: did not run")
        return reasons
    if pause.get("recovered") is not True:
        reasons.append(f"resume: not recovered ({pause.get('outcome') or 'not finished'})")
    canaries = pause.get("canaries")
    canaries = canaries if isinstance(canaries, list) else []
    missing = [c for c in canaries if not isinstance(c, dict) or c.get("arrived_at") is None]
    if missing:
        reasons.append(f"resume: {len(missing)} of {len(canaries)} canaries never arrived")
    return reasons


def _caught(step: str, error: Any) -> str:
    """A Catch's {"Error", "Cause"} as "<step>: <Error>: <errorMessage or Cause>"."""
    error = error if isinstance(error, dict) else {}
    name, cause = str(error.get("Error") or "error"), str(error.get("Cause") or "")
    # A Lambda failure's Cause is JSON with the exception's type, message and stack trace; the
    # message says what went wrong in the fewest characters.
    try:
        parsed = json.loads(cause)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        cause = str(parsed["errorMessage"])
    return f"{step}: {name}: {cause}" if cause else f"{step}: {name}"


def _part(state: Mapping[str, Any], key: str) -> dict[str, Any]:
    part = state.get(key)
    return part if isinstance(part, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
