"""How long each game-day experiment runs and how long each of its alarms may take, from the config.

The FIS experiments and the game day's state machine both read these figures, so an experiment
never ends before the alarm it tests could have fired. Each window is what the alarm needs at worst
to see the fault, plus the delays AWS documents, plus a stated margin; a measured result past the
window fails the game day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dr_core.config import AppConfig
from dr_core.errors import ConfigError
from dr_core.rto import RtoBudget

PRIMARY_PATH, DYNAMODB_PAUSE, S3_PAUSE = "primary-path", "dynamodb-pause", "s3-pause"
EXPERIMENTS: Final = (PRIMARY_PATH, DYNAMODB_PAUSE, S3_PAUSE)
# The store each replication pause cuts off.
PAUSED_STORE: Final = {DYNAMODB_PAUSE: "dynamodb", S3_PAUSE: "s3"}

# "Tables may continue to be replicated for up to 5 minutes after action begins."
# https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#global-table-pause-replication
DYNAMODB_PAUSE_TAKES_EFFECT_SECONDS = 300
# "Existing objects may continue to be replicated for up to one hour after action begins."
# https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html#bucket-pause-replication
# Whether that covers objects written after the start is not stated, so the window allows it; the
# report's oldest write at risk shows when replication really stopped.
S3_PAUSE_TAKES_EFFECT_SECONDS = 3600
# Once resumed, a stated margin for the few dozen canary items' backlog to replicate and FIS to lift
# its deny statements (it adds them within the same 5 minutes).
DYNAMODB_CATCH_UP_SECONDS = 300
# S3 Replication Time Control replicates 99.99 % of objects within 15 minutes.
S3_CATCH_UP_SECONDS = 15 * 60
# The replication alarms (dr_constructs.replication_alarms) need 3 of 5 one-minute datapoints.
ALARM_EVALUATION_SECONDS = 5 * 60
# CloudWatch publishes a one-minute datapoint a few minutes after its minute at worst; a margin, stated.
METRIC_DELIVERY_SECONDS = 180
# Left on each FIS action after its window: the game day stops the experiment as soon as it has
# measured; the action's own duration only bounds a game day that lost track of it.
EXPERIMENT_MARGIN_SECONDS = 300
# The primary-path fault: the FIS Lambda extension polls S3 for its configuration every 60 s by
# default, then the measurement phases run (fault, unhealthy, DNS, order: see the game day's watch).
FAULT_START_SECONDS = 180
PHASE_SECONDS = 180
RESTORE_SECONDS = 600
# Preflight, start, stop and report around the measured phases, and each phase's last tick, all at
# their task timeouts with every retry: about 75 minutes at worst.
STEPS_SECONDS = 90 * 60
# "The duration, from one minute to 12 hours."
FIS_ACTION_SECONDS = (60, 12 * 3600)


@dataclass(frozen=True)
class GameDayPlan:
    """Durations in seconds.

    ``alarm_window``: from the pause's start until one of its lag alarms must be in ALARM.
    ``resume_window``: from the experiment's stop until every canary arrived and every alarm
    cleared, then held OK for ``settle_seconds`` after the last arrival.
    ``action_seconds``: each FIS action's own duration.
    ``execution_seconds``: the longest a whole game-day execution may run."""

    rto_budget_seconds: int
    alarm_window: dict[str, int]
    resume_window: dict[str, int]
    settle_seconds: int
    action_seconds: dict[str, int]
    execution_seconds: int

    @classmethod
    def of(cls, config: AppConfig) -> GameDayPlan:
        thresholds = config.monitoring.thresholds
        # Once the pause took effect, the lag must pass the alarm's threshold, then hold for its periods.
        dynamodb_alarm = (
            DYNAMODB_PAUSE_TAKES_EFFECT_SECONDS
            + int(thresholds["dynamodbReplicationLatencyMs"] / 1000)
            + ALARM_EVALUATION_SECONDS
            + METRIC_DELIVERY_SECONDS
        )
        # S3 Replication Time Control reports a pending object's age as ReplicationLatency.
        s3_alarm = (
            S3_PAUSE_TAKES_EFFECT_SECONDS
            + int(thresholds["s3ReplicationLatencySeconds"])
            + ALARM_EVALUATION_SECONDS
            + METRIC_DELIVERY_SECONDS
        )
        # After the stop the backlog replicates; the alarm then needs its evaluation and metric delay
        # to see the lag gone and clear, and must hold OK as long again, so the backlog's own lag has
        # had its chance to fire it anew.
        settle = ALARM_EVALUATION_SECONDS + METRIC_DELIVERY_SECONDS
        resume = {
            DYNAMODB_PAUSE: DYNAMODB_CATCH_UP_SECONDS + 2 * settle,
            S3_PAUSE: S3_CATCH_UP_SECONDS + 2 * settle,
        }
        alarm = {DYNAMODB_PAUSE: dynamodb_alarm, S3_PAUSE: s3_alarm}
        primary_path = FAULT_START_SECONDS + 3 * PHASE_SECONDS
        action = {
            PRIMARY_PATH: primary_path + EXPERIMENT_MARGIN_SECONDS,
            **{name: seconds + EXPERIMENT_MARGIN_SECONDS for name, seconds in alarm.items()},
        }
        longest = max(action.values())
        if longest > FIS_ACTION_SECONDS[1]:
            raise ConfigError(
                "alarmThresholds",
                "dynamodbReplicationLatencyMs or s3ReplicationLatencySeconds is too high: a game-day "
                f"replication pause would run {longest} s, over FIS's 12-hour limit for one action",
            )
        measured = [primary_path + RESTORE_SECONDS, *(alarm[name] + resume[name] for name in alarm)]
        return cls(
            rto_budget_seconds=RtoBudget.of(config.traffic).automatic_seconds,
            alarm_window=alarm,
            resume_window=resume,
            settle_seconds=settle,
            action_seconds=action,
            execution_seconds=max(measured) + STEPS_SECONDS,
        )


def iso_duration(seconds: int) -> str:
    """An FIS action's duration in ISO 8601 (PT25M, PT1H28M, PT12M30S), within FIS's bounds."""
    low, high = FIS_ACTION_SECONDS
    if not low <= seconds <= high:
        raise ValueError(f"an FIS action lasts from {low} to {high} seconds, not {seconds}")
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [(hours, "H"), (minutes, "M"), (rest, "S")]
    return "PT" + "".join(f"{value}{unit}" for value, unit in parts if value)
