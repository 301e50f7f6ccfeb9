"""The game day's configuration: one model per function, parsed once from its environment, and
any bad variable a GameDayInputError that names it without quoting it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.handlers.conftest import DR, PRIMARY
from tests.handlers.game_day_fakes import (
    EXPERIMENT_ENV,
    HEALTH_TOKEN,
    PAUSE_ENV,
    REPORT_ENV,
    TEMPLATES,
    WATCH_ENV,
    set_env,
)
from tests.handlers.loader import load_handler

ENVIRONMENTS = {
    "ExperimentConfig": EXPERIMENT_ENV,
    "WatchConfig": WATCH_ENV,
    "PauseConfig": PAUSE_ENV,
    "ReportConfig": REPORT_ENV,
}


def environment(monkeypatch: pytest.MonkeyPatch, model: str, **overrides: str | None) -> None:
    """The model's function's environment, with variables set or (None) unset."""
    set_env(monkeypatch, ENVIRONMENTS[model])
    for name, value in overrides.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def configure(monkeypatch: pytest.MonkeyPatch, model: str) -> Any:
    environment(monkeypatch, model)
    settings = load_handler("game_day", "settings")
    return settings.configuration(getattr(settings, model))


@pytest.mark.parametrize("model", list(ENVIRONMENTS))
def test_each_function_is_configured_by_its_own_variables_alone(monkeypatch, model):
    # Given only the variables the stack gives that function
    # When its configuration is parsed
    # Then it parses
    assert configure(monkeypatch, model) is not None


def test_watch_configuration_reads_each_region_pair_and_its_defaults(monkeypatch):
    # Given the watch function's variables, optional ones left out
    # When its configuration is parsed
    config = configure(monkeypatch, "WatchConfig")

    # Then the pairs are by region, names compared in lower case, and the contract's defaults apply
    assert config.regional_names == {
        PRIMARY: f"api-{PRIMARY}.orders-dr.internal.test",
        DR: f"api-{DR}.orders-dr.internal.test",
    }
    assert (
        config.health_url(PRIMARY) == f"https://api-{PRIMARY}.orders-dr.internal.test/health/{HEALTH_TOKEN}"
    )
    assert (
        config.fault_timeout_seconds,
        config.phase_timeout_seconds,
        config.restore_timeout_seconds,
        config.poll_interval_seconds,
        config.resolvers,
    ) == (180.0, 180.0, 600.0, 1.0, ("1.1.1.1", "8.8.8.8"))


def test_experiment_configuration_defaults(monkeypatch):
    # Given no timeouts or interval set
    # When the configuration is parsed
    config = configure(monkeypatch, "ExperimentConfig")

    # Then the contract's defaults apply
    assert (config.start_timeout_seconds, config.stop_timeout_seconds, config.poll_interval_seconds) == (
        120.0,
        300.0,
        5.0,
    )
    assert config.experiment_templates == TEMPLATES


def test_configuration_is_parsed_once(monkeypatch):
    # Given the pause function's configuration, parsed on its first use
    set_env(monkeypatch, PAUSE_ENV)
    settings = load_handler("game_day", "settings")
    first = settings.configuration(settings.PauseConfig)

    # When the environment changes afterwards
    monkeypatch.setenv("TABLE_NAME", "another-table")

    # Then the function keeps what it parsed
    assert settings.configuration(settings.PauseConfig) is first


@pytest.mark.parametrize(
    ("model", "name", "value"),
    [
        ("ExperimentConfig", "FIS_REGION", None),
        (
            "ExperimentConfig",
            "EXPERIMENT_TEMPLATES",
            json.dumps({"primary-path": "EXT1", "dynamodb-pause": "EXT2"}),
        ),
        ("ExperimentConfig", "EXPERIMENT_TEMPLATES", "primary-path=EXT1"),
        ("ExperimentConfig", "START_TIMEOUT_SECONDS", "soon"),
        ("ExperimentConfig", "POLL_INTERVAL_SECONDS", "0"),
        ("WatchConfig", "DR_REGION", PRIMARY),
        ("WatchConfig", "OBSERVER_REGION", None),
        ("WatchConfig", "API_NAME", "api.elsewhere.test"),
        ("WatchConfig", "REGIONAL_NAMES", f"{PRIMARY}=api-{PRIMARY}.orders-dr.internal.test"),
        ("WatchConfig", "REGIONAL_NAMES", "api-us-east-1.orders-dr.internal.test"),
        (
            "WatchConfig",
            "HEALTH_URLS",
            f"{PRIMARY}=http://api-{PRIMARY}.test/health/{HEALTH_TOKEN},{DR}=https://x.test/h",
        ),
        (
            "WatchConfig",
            "HEALTH_URLS",
            f"{PRIMARY}=api-{PRIMARY}/health/{HEALTH_TOKEN},{DR}=https://x.test/h",
        ),
        ("WatchConfig", "HEALTH_CHECK_IDS", f"{PRIMARY}=hc-1,eu-west-1=hc-2"),
        ("WatchConfig", "RTO_BUDGET_SECONDS", "-5"),
        ("WatchConfig", "RESOLVERS", "one.one.one.one"),
        ("WatchConfig", "CLIENT_SECRET_ID", ""),
        ("WatchConfig", "STEADY_ALARMS", "dev-alarm-1,dev-alarm-2"),
        ("PauseConfig", "TABLE_NAME", None),
        ("PauseConfig", "PAUSE_ALARMS", json.dumps({"dynamodb-pause": ["a"], "s3-pause": []})),
        ("PauseConfig", "PAUSE_ALARMS", json.dumps({"dynamodb-pause": ["a"]})),
        ("PauseConfig", "ALARM_WINDOW_SECONDS", json.dumps({"dynamodb-pause": 600, "s3-pause": 0})),
        ("PauseConfig", "RESUME_WINDOW_SECONDS", json.dumps({"dynamodb-pause": 600, "s3pause": 600})),
        ("ReportConfig", "REPORT_TOPIC_ARN", "dev-us-west-2-game-day-reports-v1"),
        ("ReportConfig", "EVIDENCE_BUCKET", None),
    ],
)
def test_bad_variable_raises_the_input_error_naming_it_not_its_value(monkeypatch, model, name, value):
    # Given a variable missing, or set to something the game day cannot work with
    environment(monkeypatch, model, **{name: value})
    settings = load_handler("game_day", "settings")

    # When the function's configuration is parsed
    # Then the failure names the variable, and quotes no part of what it was set to
    with pytest.raises(settings.GameDayInputError, match=name) as raised:
        settings.configuration(getattr(settings, model))
    if value and len(value) > 2:  # a value as short as "0" is in any message
        assert value not in str(raised.value)
    assert HEALTH_TOKEN not in str(raised.value)
