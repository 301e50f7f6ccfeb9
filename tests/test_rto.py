"""The failover time the traffic config yields, exposed and enforced at synth."""

from __future__ import annotations

import pytest

from dr_core.config import AppConfig
from dr_core.errors import ConfigError
from dr_core.rto import ROUTE53_PROPAGATION_SECONDS, SWITCH_PRECHECK_SECONDS, RtoBudget
from tests.conftest import default_context


def _budget(**overrides):
    return RtoBudget.of(AppConfig.from_context(default_context(**overrides)).traffic)


def test_defaults_fail_over_within_the_60_second_target_automatically_and_by_hand():
    # Given cdk.json's traffic settings
    budget = _budget()
    # Then the health route's detection, propagation and TTL add up to 45 s, and a manual switch
    # adds its pre-checks before the same path
    assert (budget.detection_seconds, budget.propagation_seconds, budget.dns_cache_seconds) == (20, 10, 15)
    assert (budget.automatic_seconds, budget.manual_seconds) == (45, 45 + SWITCH_PRECHECK_SECONDS)
    budget.enforce(60)


def test_detection_is_interval_times_threshold_and_ttl_adds_on():
    budget = _budget(healthCheckIntervalSeconds=30, healthCheckFailureThreshold=3, recordTtlSeconds=60)
    assert budget.automatic_seconds == 30 * 3 + ROUTE53_PROPAGATION_SECONDS + 60


def test_a_slow_config_fails_naming_the_target_and_both_paths():
    with pytest.raises(ConfigError) as raised:
        _budget(healthCheckIntervalSeconds=30, healthCheckFailureThreshold=3).enforce(60)
    message = str(raised.value)
    assert message.startswith(
        "context key 'rtoTargetSeconds': the traffic settings fail over in up to automatic 115 s"
    )
    assert "detection 90" in message
    assert "manual 125 s" in message


def test_the_manual_path_alone_can_exceed_the_target():
    # Given settings whose automatic failover fits 55 s but whose manual one does not
    budget = _budget(recordTtlSeconds=25)
    assert budget.automatic_seconds <= 55 < budget.manual_seconds
    # Then the stricter of the two is enforced
    with pytest.raises(ConfigError):
        budget.enforce(55)


def test_the_worst_case_is_a_stack_output(routing):
    outputs = routing.to_json()["Outputs"]
    assert outputs["RtoBudgetSeconds"]["Value"] == "55"


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
