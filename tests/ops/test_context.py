"""The command line and cdk.json, read as `cdk` reads them."""

from __future__ import annotations

import pytest

from dr_core.errors import ConfigError
from dr_ops.context import Invocation, UsageError
from tests.ops.helpers import config


def test_context_flags_are_collected_and_everything_else_goes_to_cdk() -> None:
    # Given a command line mixing context flags in both spellings with deploy options
    args = ["-c", "account=111111111111", "--require-approval", "never", "--context=suffix=-v2"]

    # When it is parsed
    parsed = Invocation.parse(args)

    # Then the context is kept in order, re-rendered for cdk, and the rest passes through untouched
    assert parsed.context == (("account", "111111111111"), ("suffix", "-v2"))
    assert parsed.context_args == ("-c", "account=111111111111", "-c", "suffix=-v2")
    assert parsed.cdk_args == ("--require-approval", "never")


def test_a_profile_is_used_for_aws_calls_and_still_passed_to_cdk() -> None:
    # Given a named profile on the command line
    # When it is parsed
    parsed = Invocation.parse(["--profile", "prod", "-c", "account=111111111111"])

    # Then boto3 gets the profile and cdk keeps it too, so both act in the same account
    assert parsed.profile == "prod"
    assert parsed.cdk_args == ("--profile", "prod")


def test_a_context_flag_without_a_value_is_a_usage_error() -> None:
    # Given -c followed by something that is not key=value
    # When it is parsed
    # Then the user is told what -c needs
    with pytest.raises(UsageError, match="key=value"):
        Invocation.parse(["-c", "account"])


def test_overrides_apply_over_cdk_json() -> None:
    # Given cdk.json's defaults and an override of the DR region
    # When the config is read
    result = config("-c", "drRegion=us-east-2")

    # Then the override wins and the rest is cdk.json's
    assert result.dr.name == "us-east-2"
    assert result.primary.name == "us-east-1"


def test_a_bad_override_raises_the_apps_config_error() -> None:
    # Given an override the app would refuse
    # When the config is read
    # Then the app's own ConfigError names the key
    with pytest.raises(ConfigError, match="drRegion"):
        config("-c", "drRegion=us-east-1")
