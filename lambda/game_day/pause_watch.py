"""A replication pause seen one tick at a time: Step Functions calls a tick every 30 s and hands
each the state the last one returned.

While paused, every tick looks for each canary not yet seen in the DR region and reads the pause's
lag alarms; the phase ends when one is in ALARM (with the writes then at risk, as of when it fired:
the RPO under fault), when the experiment has ended before one did (a stop condition or an operator
ended it: the measurement is cut short), or when its window has passed without one. Until then
the tick writes the next canary in the primary region. After the experiment stops, the resumed
phase writes nothing: it ends when every canary has arrived and every alarm has been OK for the
settle time (an alarm that goes back into ALARM as the backlog lands starts that over), or when
its window has passed, and then removes the canaries from the primary (their deletes replicate
too), best effort.

AWS errors are raised as they are, for Step Functions to retry the tick; a canary missing in the
DR region is only "not yet". The state stays small: a canary is three numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from alarms import OK_STATE, AlarmState, alarm_states
from aws_errors import error_code
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from settings import AtRisk, Canary, GameDayInputError, PauseConfig, PauseEvent, PauseState

Clock = Callable[[], float]
# The experiment's status and its reason, as FIS tells them; None when the state has no run.
ExperimentStatus = Callable[[], tuple[str, str]]
# FIS statuses of an experiment that has not ended, or is not ending.
_ACTIVE = frozenset({"pending", "initiating", "running"})

_S3_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class Canaries(Protocol):
    """Where a pause's canaries are written, looked for and removed."""

    def write(self, n: int) -> None: ...

    def arrived(self, n: int) -> bool: ...

    def delete(self, n: int) -> None: ...


class TableCanaries:
    """Items in the global table, written to the primary's replica and read from the DR replica's."""

    def __init__(self, primary: BaseClient, dr: BaseClient, table: str, game_day_id: str) -> None:
        self._primary, self._dr, self._table, self._game_day_id = primary, dr, table, game_day_id

    def _key(self, n: int) -> dict[str, Any]:
        return {"order_id": {"S": f"gameday#{self._game_day_id}#{n}"}}

    def write(self, n: int) -> None:
        item = {**self._key(n), "game_day": {"S": self._game_day_id}}
        self._primary.put_item(TableName=self._table, Item=item)

    def arrived(self, n: int) -> bool:
        # An eventually consistent read: what the DR replica serves its own readers.
        found = self._dr.get_item(TableName=self._table, Key=self._key(n), ConsistentRead=False)
        return "Item" in found

    def delete(self, n: int) -> None:
        self._primary.delete_item(TableName=self._table, Key=self._key(n))


class BucketCanaries:
    """Objects in the primary data bucket, looked for in its replica bucket."""

    def __init__(
        self, primary: BaseClient, dr: BaseClient, source: str, replica: str, game_day_id: str
    ) -> None:
        self._primary, self._dr, self._source, self._replica = primary, dr, source, replica
        self._game_day_id = game_day_id

    def _key(self, n: int) -> str:
        return f"gameday/{self._game_day_id}/{n}.txt"

    def write(self, n: int) -> None:
        # No encryption header: the bucket's default key, the path real objects and their replication take.
        body = f"DR game day {self._game_day_id} canary {n}\n".encode()
        self._primary.put_object(Bucket=self._source, Key=self._key(n), Body=body)

    def arrived(self, n: int) -> bool:
        try:
            self._dr.head_object(Bucket=self._replica, Key=self._key(n))
        except ClientError as error:
            # Without s3:ListBucket a missing key is a 403, which is raised: it would otherwise look
            # exactly like replication that never arrives.
            if error_code(error) in _S3_MISSING:
                return False
            raise
        return True

    def delete(self, n: int) -> None:
        self._primary.delete_object(Bucket=self._source, Key=self._key(n))


def tick(
    canaries: Canaries,
    cloudwatch: BaseClient,
    config: PauseConfig,
    event: PauseEvent,
    clock: Clock,
    experiment_status: ExperimentStatus | None = None,
) -> PauseState:
    if event.phase == "paused":
        return _paused(canaries, cloudwatch, config, event, clock(), experiment_status)
    return _resumed(canaries, cloudwatch, config, event, clock())


def _paused(
    canaries: Canaries,
    cloudwatch: BaseClient,
    config: PauseConfig,
    event: PauseEvent,
    now: float,
    experiment_status: ExperimentStatus | None,
) -> PauseState:
    previous = event.pause
    if previous is not None and previous.phase != "paused":
        raise GameDayInputError("bad event: pause: a paused tick after the resumed phase began")
    if previous is not None and previous.done:
        return previous  # a retried tick after the phase ended: nothing more to write
    state = previous or PauseState(phase="paused", phase_started_at=now)
    written = _arrivals(canaries, state.canaries, now)
    window = config.alarm_window_seconds[event.experiment]
    names = config.pause_alarms[event.experiment]
    states = _states(cloudwatch, names)
    started = state.phase_started_at
    update: dict[str, Any] = {}
    at = now
    firing = sorted((_fired_at(alarm, now), name) for name, alarm in states.items() if alarm.firing)
    if firing:
        fired_at, name = firing[0]
        seconds = round(fired_at - started, 1)
        if fired_at < started:
            outcome = f"alarm {name} was in ALARM before the pause began: the pause proves nothing"
            update |= {"done": True, "outcome": outcome}
        elif seconds <= window:
            outcome = f"alarm {name} fired after {seconds:g} s"
            update |= {"alarm_at": fired_at, "alarm_name": name, "alarm_seconds": seconds}
            update |= {"done": True, "outcome": outcome}
            at = fired_at
        else:
            outcome = f"no alarm within {window:g} s ({name} reached ALARM after {seconds:g} s)"
            update |= {"done": True, "outcome": outcome}
    elif (ended := _ended(experiment_status)) is not None:
        update |= {"done": True, "outcome": f"the experiment ended before an alarm fired ({ended})"}
    elif now - started > window:
        update |= {"done": True, "outcome": f"no alarm within {window:g} s"}
    if update.get("done"):
        update["at_risk"] = _at_risk(written, at)
    else:
        n = len(written)
        canaries.write(n)
        written = [*written, Canary(n=n, written_at=now)]
    return state.model_copy(update={**update, "canaries": written})


def _ended(experiment_status: ExperimentStatus | None) -> str | None:
    """ "<status>: <reason>" when the experiment is no longer running, else None."""
    if experiment_status is None:
        return None
    status, reason = experiment_status()
    return None if status in _ACTIVE else f"{status}: {reason or 'no reason given'}"


def _resumed(
    canaries: Canaries, cloudwatch: BaseClient, config: PauseConfig, event: PauseEvent, now: float
) -> PauseState:
    previous = event.pause
    if previous is None:
        # No paused tick ever answered (the start or the first tick failed): no canary to wait for,
        # and alarms no pause of this game day tripped. The report fails it on the caught error.
        nothing = "nothing to resume: the paused phase never ran"
        return PauseState(phase="resumed", phase_started_at=now, done=True, outcome=nothing)
    if previous.phase == "paused":
        # The first resumed tick: the paused phase's canaries, alarm and writes at risk carry over.
        state = previous.model_copy(
            update={"phase": "resumed", "phase_started_at": now, "ok_at": None, "done": False, "outcome": ""}
        )
    elif previous.done:
        return previous  # a retried tick after the phase ended: the canaries are already removed
    else:
        state = previous
    written = _arrivals(canaries, state.canaries, now)
    names = config.pause_alarms[event.experiment]
    states = _states(cloudwatch, names)
    not_ok = [
        f"{name} {states[name].state or 'in no state'}" for name in names if states[name].state != OK_STATE
    ]
    # OK since when, without a break: an alarm back in ALARM (or without data) starts it over.
    ok_at = None if not_ok else (state.ok_at if state.ok_at is not None else now)
    missing = [canary for canary in written if canary.arrived_at is None]
    # The last arrival's lag reaches the alarm only after its evaluation and metric delay.
    last_arrival = max(
        (c.arrived_at for c in written if c.arrived_at is not None), default=state.phase_started_at
    )
    settled = ok_at is not None and not missing and now - max(ok_at, last_arrival) >= config.settle_seconds
    window = config.resume_window_seconds[event.experiment]
    outcome: str | None = None
    recovered: bool | None = None
    if settled and ok_at is not None:
        recovered = True
        outcome = (
            f"recovered: {len(written)} canaries arrived, every alarm OK since "
            f"{round(ok_at - state.phase_started_at, 1):g} s"
        )
    elif now - state.phase_started_at > window:
        recovered = False
        gaps = []
        if missing:
            gaps.append(f"{len(missing)} of {len(written)} canaries not arrived")
        if not_ok:
            gaps.append(f"{', '.join(not_ok)}")
        elif not settled:
            gaps.append(f"every alarm OK, but not yet for {config.settle_seconds:g} s after the last arrival")
        outcome = f"not recovered within {window:g} s: {'; '.join(gaps)}"
    update: dict[str, Any] = {"canaries": written, "ok_at": ok_at}
    if outcome is None:
        return state.model_copy(update=update)
    failures = _remove(canaries, written)
    if failures:
        outcome += f"; cleanup failed for {failures}"
    return state.model_copy(update={**update, "done": True, "outcome": outcome, "recovered": recovered})


def _states(cloudwatch: BaseClient, names: list[str]) -> dict[str, AlarmState]:
    states = alarm_states(cloudwatch, names)
    missing = [name for name in names if name not in states]
    if missing:
        # Configuration, not weather: an alarm that does not exist can never fire.
        raise GameDayInputError(f"bad configuration: PAUSE_ALARMS: no such alarm: {', '.join(missing)}")
    return states


def _fired_at(alarm: AlarmState, now: float) -> float:
    """When the alarm went into ALARM: CloudWatch's StateTransitionedTimestamp where it gives one
    (a tick runs every 30 s, the transition is exact), else this tick's time."""
    at = alarm.transitioned_at
    return at if at is not None and at <= now else now


def _arrivals(canaries: Canaries, written: list[Canary], now: float) -> list[Canary]:
    return [
        canary.model_copy(update={"arrived_at": now})
        if canary.arrived_at is None and canaries.arrived(canary.n)
        else canary
        for canary in written
    ]


def _at_risk(written: list[Canary], at: float) -> AtRisk:
    """The writes made by `at` and not in the DR region at `at`, and how long the oldest had
    waited: what a failover then would have lost. An arrival is known to the tick that saw it, so
    a canary seen after `at` counts as missing at `at`."""
    missing = [
        canary.written_at
        for canary in written
        if canary.written_at <= at and (canary.arrived_at is None or canary.arrived_at > at)
    ]
    oldest = round(at - min(missing), 1) if missing else None
    return AtRisk(writes=len(missing), oldest_seconds=oldest)


def _remove(canaries: Canaries, written: list[Canary]) -> str:
    """Delete every canary from the primary; what failed, by count and error code, or ""."""
    codes: list[str] = []
    for canary in written:
        try:
            canaries.delete(canary.n)
        except ClientError as error:
            codes.append(error_code(error) or type(error).__name__)
        except Exception as error:  # best effort: a network error must not hide the measured result
            codes.append(type(error).__name__)
    if not codes:
        return ""
    return f"{len(codes)} of {len(written)} canaries ({', '.join(sorted(set(codes)))})"
