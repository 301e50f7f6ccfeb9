"""Bad context ends the build with one line naming the key; good context gives a frozen config."""

from __future__ import annotations

import dataclasses

import pytest

from dr_core.config import AppConfig
from dr_core.errors import ConfigError
from tests.conftest import default_context


def test_defaults_give_a_frozen_config():
    # Given cdk.json's defaults / When the config is built
    config = AppConfig.from_context(default_context())
    # Then
    assert (config.primary.name, config.dr.name) == ("us-east-1", "us-west-2")
    assert len(config.primary.availability_zones) >= 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.suffix = "-other"  # type: ignore[misc]


def test_default_domain_is_no_documentation_placeholder():
    config = AppConfig.from_context(default_context())
    assert "example." not in config.domain


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [
        ({"drRegion": "us-east-1"}, "drRegion", "also the primary region"),
        ({"primaryRegion": "us-nowhere-9"}, "primaryRegion", "not a supported region"),
        ({"drRegion": "mars-1"}, "drRegion", "allowed: "),
        ({"suffix": "_Blue!"}, "suffix", "characters a resource name cannot hold"),
        ({"suffix": "-blue-"}, "suffix", "not at the end"),
        ({"suffix": "--x"}, "suffix", "single '-'"),
        ({"domain": "not a domain"}, "domain", "not a domain name"),
        ({"domain": "localhost"}, "domain", "not a domain name"),
        ({"domain": "orders.example.com"}, "domain", "documentation placeholder"),
        ({"environment": "Prod_1"}, "environment", "lower-case letters"),
        ({"account": "12345"}, "account", "12 digits"),
        ({"account": None}, "account", "is missing"),
        ({"availabilityZones": {"us-east-1": ["us-east-1a"]}}, "availabilityZones", "two or more"),
        (
            {"availabilityZones": {"us-east-1": ["us-east-1a", "us-west-2b"], "us-west-2": ["us-west-2a"]}},
            "availabilityZones",
            "not a zone of us-east-1",
        ),
        ({"availabilityZones": "[not json"}, "availabilityZones", "must map each region"),
        ({"orderFunctionConcurrency": 1}, "orderFunctionConcurrency", "Lambda keeps 10 unreserved"),
        (
            {"orderFunctionConcurrency": 2, "lambdaConcurrencyQuota": 11},
            "orderFunctionConcurrency",
            "lambdaConcurrencyQuota (11) allows 1",
        ),
        ({"lambdaConcurrencyQuota": 5}, "lambdaConcurrencyQuota", "from 10 to"),
        ({"drillEveryHours": 85}, "drillEveryHours", "from 1 to 84"),
        ({"evidenceRetentionDays": 0}, "evidenceRetentionDays", "from 1 to 36500"),
        ({"evidenceLockMode": "legal-hold"}, "evidenceLockMode", "'governance' or 'compliance'"),
        ({"jwtIssuer": "http://auth.acme-corp.net"}, "jwtIssuer", "not an OIDC issuer URL"),
        ({"jwtIssuer": ""}, "jwtIssuer", "not an OIDC issuer URL"),
        ({"jwtAudience": []}, "jwtAudience", "one or more audiences"),
        ({"jwtAudience": ["orders-api", ""]}, "jwtAudience", "one or more audiences"),
        ({"observerRegion": "us-east-1"}, "observerRegion", "the observer must outlive the primary"),
        ({"observerRegion": "mars-1"}, "observerRegion", "not a supported region"),
        ({"healthPathToken": "short"}, "healthPathToken", "16-64 letters"),
        ({"apiSubdomain": "a" * 50}, "apiSubdomain", "too long for <apiSubdomain>-<region>"),
    ],
)
def test_bad_context_names_the_key_and_what_is_allowed(overrides, key, hint):
    # Given a context with one bad value / When the config is built
    with pytest.raises(ConfigError) as raised:
        AppConfig.from_context(default_context(**overrides))
    # Then the one-line message names the key and what it accepts
    message = str(raised.value)
    assert message.startswith(f"context key '{key}':")
    assert hint in message
    assert "\n" not in message


def test_zones_given_as_json_text_on_the_command_line_are_accepted():
    zones = '{"us-east-1": ["us-east-1a", "us-east-1b"], "us-west-2": ["us-west-2a", "us-west-2c"]}'
    config = AppConfig.from_context(default_context(availabilityZones=zones))
    assert config.dr.availability_zones == ("us-west-2a", "us-west-2c")


def test_both_regions_take_one_issuer_and_its_audiences_from_context():
    # Given an OIDC issuer and two audiences, one as a comma list on the command line
    config = AppConfig.from_context(
        default_context(jwtIssuer="https://login.acme-corp.net/tenant", jwtAudience="orders-api,orders-cli")
    )
    # Then the config holds them as given, for every region's authorizer alike
    assert (config.auth.issuer, config.auth.audiences) == (
        "https://login.acme-corp.net/tenant",
        ("orders-api", "orders-cli"),
    )


def test_the_observer_defaults_to_the_dr_region():
    config = AppConfig.from_context(default_context())
    assert config.observer_region == config.dr.name != config.primary.name


def test_each_region_has_its_own_api_name_beside_the_shared_one():
    traffic = AppConfig.from_context(default_context()).traffic
    assert traffic.api_domain == "api.orders-dr.internal.test"
    assert traffic.regional_api_domain("us-west-2") == "api-us-west-2.orders-dr.internal.test"


def test_the_health_path_is_derived_per_deployment_unless_given():
    # Given two deployments that differ only in their suffix
    first = AppConfig.from_context(default_context()).traffic.health_path
    second = AppConfig.from_context(default_context(suffix="-v2")).traffic.health_path
    given = AppConfig.from_context(default_context(healthPathToken="a" * 20)).traffic.health_path
    # Then each gets its own unguessable path, and a given token is used as is
    assert first.startswith("/health/") and second.startswith("/health/") and first != second
    assert given == "/health/" + "a" * 20
