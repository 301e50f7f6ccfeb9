"""GameDayPlan: each experiment's windows and FIS action durations, from the config's thresholds and
the delays AWS documents, so no experiment ends before the alarm it tests could fire."""

from __future__ import annotations

import pytest

from dr_core.config import AppConfig
from dr_core.errors import ConfigError
from dr_core.game_day import EXPERIMENTS, GameDayPlan, iso_duration
from tests.conftest import default_context


def _plan(**thresholds: float) -> GameDayPlan:
    context = default_context()
    context["alarmThresholds"] = {**context["alarmThresholds"], **thresholds}
    return GameDayPlan.of(AppConfig.from_context(context))


def test_the_defaults_give_the_windows_the_readme_states():
    # Given cdk.json's thresholds (DynamoDB 5000 ms, S3 900 s)
    plan = _plan()
    # Then the DynamoDB alarm has 300 s for FIS to take effect + 5 s + 5 one-minute periods + 180 s of
    # metric delay, and the S3 alarm the hour FIS may take + its 900 s threshold + the same periods and delay
    assert plan.alarm_window == {"dynamodb-pause": 785, "s3-pause": 3600 + 1380}
    # And after the stop, 300 s (DynamoDB) or RTC's 15 minutes (S3) to catch up, then its 5 periods
    # and 3 minutes of delay for the alarm to clear, and as long again to hold OK
    assert plan.settle_seconds == 480
    assert plan.resume_window == {"dynamodb-pause": 300 + 2 * 480, "s3-pause": 900 + 2 * 480}
    # And the measured RTO is judged against the automatic failover's budget
    assert plan.rto_budget_seconds == 45


def test_every_action_outlasts_its_window_by_the_margin():
    plan = _plan()
    assert set(plan.action_seconds) == set(EXPERIMENTS)
    for experiment, window in plan.alarm_window.items():
        assert plan.action_seconds[experiment] == window + 300
    # The primary path: up to 180 s for the fault to start, then three phases of up to 180 s each
    assert plan.action_seconds["primary-path"] == 180 + 3 * 180 + 300


def test_a_higher_threshold_widens_its_window_and_its_action():
    # Given the S3 latency alarm raised to 1800 s
    plan = _plan(s3ReplicationLatencySeconds=1800)
    # Then its pause waits 900 s longer for it, and runs 900 s longer
    assert plan.alarm_window["s3-pause"] == 3600 + 1380 + 900
    assert plan.action_seconds["s3-pause"] == 3600 + 1380 + 900 + 300


def test_an_execution_outlasts_its_slowest_experiment_and_the_steps_around_it():
    plan = _plan()
    # The S3 pause: its alarm window, then its resume window, then 90 minutes for the other steps
    assert plan.execution_seconds == 3600 + 1380 + 1860 + 90 * 60
    assert plan.execution_seconds < 4 * 3600


def test_a_threshold_that_would_outlast_an_fis_action_is_a_config_error():
    # Given an S3 latency threshold of 12 hours: its pause would run past FIS's 12-hour limit
    # Then synth stops on the key that caused it
    with pytest.raises(ConfigError, match=r"alarmThresholds.*s3ReplicationLatencySeconds.*12-hour"):
        _plan(s3ReplicationLatencySeconds=12 * 3600)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(60, "PT1M"), (1020, "PT17M"), (1085, "PT18M5S"), (3600, "PT1H"), (5280, "PT1H28M"), (43200, "PT12H")],
)
def test_durations_are_iso_8601_as_fis_takes_them(seconds, text):
    assert iso_duration(seconds) == text


@pytest.mark.parametrize("seconds", [59, 43201])
def test_a_duration_outside_fis_bounds_is_refused(seconds):
    # "The duration, from one minute to 12 hours."
    with pytest.raises(ValueError, match="from 60 to 43200 seconds"):
        iso_duration(seconds)
