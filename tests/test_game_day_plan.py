"""GameDayPlan: each experiment's windows and FIS action durations, from the config's thresholds and
the delays AWS documents, so no experiment ends before the alarm it tests could fire."""

from __future__ import annotations

import pytest

from dr_core.config import AppConfig
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
    # metric delay, and the S3 alarm its 900 s threshold + the same periods and delay
    assert plan.alarm_window == {"dynamodb-pause": 785, "s3-pause": 1380}
    assert plan.resume_window == {"dynamodb-pause": 780, "s3-pause": 1380}
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
    assert plan.alarm_window["s3-pause"] == 1380 + 900
    assert plan.action_seconds["s3-pause"] == 1380 + 900 + 300


@pytest.mark.parametrize(
    ("seconds", "text"), [(60, "PT1M"), (1020, "PT17M"), (1085, "PT18M5S"), (45, "PT0M45S")]
)
def test_durations_are_iso_8601_as_fis_takes_them(seconds, text):
    assert iso_duration(seconds) == text
