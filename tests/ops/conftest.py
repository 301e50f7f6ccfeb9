"""What every operator-command test shares: fake credentials and an AWS that moto stands in for.

No test reaches real AWS or real DNS: moto answers the calls it models, botocore's
Stubber the few it does not (each test says which), and a fake resolver the DNS.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

import tests.moto_speed  # noqa: F401  (patches moto for speed on import)
from dr_ops.aws import AwsClients


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, no profile, no endpoint override: boto3's default chain finds only these."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws() -> Iterator[AwsClients]:
    """Clients on an empty moto account (123456789012, cdk.json's account), made lazily inside the mock."""
    with mock_aws():
        yield AwsClients(boto3.session.Session())
