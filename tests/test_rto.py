"""The failover time the traffic config yields, exposed and enforced at synth."""

from __future__ import annotations

import pytest

from dr_core.config import AppConfig
from dr_core.errors import ConfigError
from dr_core.rto import ROUTE53_PROPAGATION_SECONDS, RtoBudget
from tests.conftest import default_context


def _budget(**overrides):
    return RtoBudget.of(AppConfig.from_context(default_context(**overrides)).traffic)


def test_defaults_fail_over_within_the_60_second_target():
    budget = _budget()
    assert (budget.detection_seconds, budget.propagation_seconds, budget.dns_cache_seconds) == (20, 10, 15)
    assert budget.total_seconds == 45
    budget.enforce(60)


def test_detection_is_interval_times_threshold_and_ttl_adds_on():
    budget = _budget(healthCheckIntervalSeconds=30, healthCheckFailureThreshold=3, recordTtlSeconds=60)
    assert budget.total_seconds == 30 * 3 + ROUTE53_PROPAGATION_SECONDS + 60


def test_a_slow_config_fails_naming_the_target_and_the_parts():
    with pytest.raises(ConfigError) as raised:
        _budget(healthCheckIntervalSeconds=30, healthCheckFailureThreshold=3).enforce(60)
    message = str(raised.value)
    assert message.startswith("context key 'rtoTargetSeconds': the traffic settings fail over in up to 115 s")
    assert "detection 90" in message


def test_the_budget_is_a_stack_output(global_):
    outputs = global_.to_json()["Outputs"]
    assert outputs["RtoBudgetSeconds"]["Value"] == "45"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"healthCheckIntervalSeconds": 20}, "healthCheckIntervalSeconds"),
        ({"healthCheckFailureThreshold": 11}, "healthCheckFailureThreshold"),
        ({"primaryWeight": 0, "drWeight": 0}, "drWeight"),
        ({"hostedZoneId": "not-a-zone"}, "hostedZoneId"),
        ({"apiSubdomain": "a.b"}, "apiSubdomain"),
        ({"alertEmail": "nobody"}, "alertEmail"),
        ({"alertHttpsEndpoint": "http://plain.example.org/hook"}, "alertHttpsEndpoint"),
    ],
)
def test_bad_traffic_and_alerting_context_names_the_key(overrides, key):
    with pytest.raises(ConfigError, match=rf"^context key '{key}':"):
        AppConfig.from_context(default_context(**overrides))
