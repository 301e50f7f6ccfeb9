"""(a) The caller's account, its regions and the configured availability zones."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from dr_ops.aws import AwsClients
from dr_ops.checks import Status
from dr_ops.checks.account import account_check, region_checks, zone_checks
from tests.ops.helpers import config, run


def test_credentials_of_the_context_account_pass(aws: AwsClients) -> None:
    # Given credentials in 123456789012, the context account
    # When the account is checked
    result = run(account_check(aws, config()))

    # Then it passes and names the caller
    assert result.status is Status.PASS
    assert "arn:aws:sts::123456789012:user/moto" in result.outcome.found


def test_credentials_of_another_account_fail_with_both_ways_out(aws: AwsClients) -> None:
    # Given a context account other than the caller's
    # When the account is checked
    result = run(account_check(aws, config("-c", "account=111111111111")))

    # Then it fails, naming both accounts, and the fix offers either set of credentials or the other account
    assert result.status is Status.FAIL
    assert "123456789012" in result.outcome.found and "111111111111" in result.outcome.found
    assert "-c account=123456789012" in result.outcome.fix


def test_regions_enabled_by_default_pass(aws: AwsClients) -> None:
    # Given the app's two regions, which need no opt-in
    # When they are checked
    results = [run(check) for check in region_checks(aws, ("us-east-1", "us-west-2"))]

    # Then both pass with their opt-in status
    assert [r.status for r in results] == [Status.PASS, Status.PASS]
    assert results[1].name == "region us-west-2"
    assert "opt-in-not-required" in results[1].outcome.found


def test_a_region_not_opted_in_fails_with_how_to_enable_it(aws: AwsClients) -> None:
    # Given an opt-in region the account has not enabled. moto reports every region in the
    # app's list as enabled, so EC2's answer for this one is stubbed.
    ec2 = aws.client("ec2", "us-east-1")
    answer = {"Regions": [{"RegionName": "eu-south-1", "OptInStatus": "not-opted-in"}]}
    with Stubber(ec2) as stubber:
        stubber.add_response("describe_regions", answer, {"AllRegions": True, "RegionNames": ["eu-south-1"]})

        # When it is checked
        result = run(region_checks(aws, ("eu-south-1",))[0])

    # Then it fails and the fix enables it
    assert result.status is Status.FAIL
    assert "not-opted-in" in result.outcome.found
    assert "aws account enable-region --region-name eu-south-1" in result.outcome.fix


def test_configured_zones_that_exist_pass(aws: AwsClients) -> None:
    # Given cdk.json's zones a, b and c in both regions
    # When they are checked
    results = [run(check) for check in zone_checks(aws, config())]

    # Then each region passes, listing its zones
    assert [r.status for r in results] == [Status.PASS, Status.PASS]
    assert results[1].outcome.found == "us-west-2a, us-west-2b, us-west-2c available"


def test_a_zone_that_does_not_exist_fails_naming_the_ones_that_do(aws: AwsClients) -> None:
    # Given a DR zone us-west-2e, which that region does not have (moto: a to d)
    zones = '{"us-east-1": ["us-east-1a", "us-east-1b"], "us-west-2": ["us-west-2a", "us-west-2e"]}'
    checks = zone_checks(aws, config("-c", f"availabilityZones={zones}"))

    # When the DR region's zones are checked
    result = run(checks[1])

    # Then it fails naming the zone, and the fix lists the zones that exist
    assert result.status is Status.FAIL
    assert result.outcome.found == "us-west-2e does not exist"
    assert '"us-west-2": ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]' in result.outcome.fix


def test_no_credentials_fail_with_how_to_configure_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given no credentials anywhere boto3 looks (no variables, no files, no instance metadata)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    # When the account is checked
    result = run(account_check(AwsClients(boto3.session.Session()), config()))

    # Then it fails on one line, saying how to provide credentials
    assert result.status is Status.FAIL
    assert result.outcome.found == "could not check: Unable to locate credentials"
    assert "aws configure" in result.outcome.fix
