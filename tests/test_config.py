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
            {"healthFunctionConcurrency": 2, "lambdaConcurrencyQuota": 11},
            "healthFunctionConcurrency",
            "lambdaConcurrencyQuota (11) allows 1",
        ),
        ({"lambdaConcurrencyQuota": 5}, "lambdaConcurrencyQuota", "from 10 to"),
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
