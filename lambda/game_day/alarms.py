"""CloudWatch alarms' states, by name: the preflight's steady alarms and the pauses' lag alarms."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from botocore.client import BaseClient

IN_ALARM, OK_STATE = "ALARM", "OK"
# DescribeAlarms takes at most 100 names a call.
_NAMES_PER_CALL = 100
# Metric alarms only, and only they are read from the answer. CloudWatch returns composite alarms
# only when asked for them, and only to a caller whose cloudwatch:DescribeAlarms is scoped to "*"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html: "If
# you omit this parameter, only metric alarms are returned"); the game day's roles are scoped to
# their alarms. A composite alarm named in the configuration is therefore "not found", a failure,
# never a silent pass. moto answers both kinds whatever is asked, so the tests hold this rule.
ALARM_TYPES = ["MetricAlarm"]


@dataclass(frozen=True)
class AlarmState:
    state: str
    # When StateValue last changed, in epoch seconds: StateTransitionedTimestamp, "the date and time
    # that the alarm's StateValue most recently changed"
    # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html),
    # None where the answer has none (moto's never has).
    transitioned_at: float | None = None

    @property
    def firing(self) -> bool:
        return self.state == IN_ALARM


def alarm_states(cloudwatch: BaseClient, names: Sequence[str]) -> dict[str, AlarmState]:
    """The state of each named alarm that exists; a name CloudWatch does not know is left out."""
    found: dict[str, AlarmState] = {}
    paginator = cloudwatch.get_paginator("describe_alarms")
    for chunk in _chunks(list(dict.fromkeys(names)), _NAMES_PER_CALL):
        for page in paginator.paginate(AlarmNames=chunk, AlarmTypes=ALARM_TYPES):
            for alarm in page.get("MetricAlarms", []):
                found[alarm["AlarmName"]] = AlarmState(
                    alarm.get("StateValue", ""), _epoch(alarm.get("StateTransitionedTimestamp"))
                )
    return found


def _epoch(value: object) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def _chunks(names: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]
