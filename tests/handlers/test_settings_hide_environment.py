"""A function missing a variable fails on cold start naming it; the error must not quote the rest
of the environment, which holds the function's AWS credentials (pydantic's errors show the input
unless hide_input_in_errors is set)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.handlers.loader import load_handler

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
# What each asset's settings need to import at all.
IMPORTABLE = {
    "alert_forwarder": {
        "TARGET_TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:alerts",
        "SOURCE_REGION": "us-east-1",
    },
    "ssm_replicator": {
        "AWS_REGION": "us-east-1",
        "SOURCE_PATH": "/dev-us-east-1-orders-v1/",
        "TARGET_REGION": "us-west-2",
        "TARGET_PATH": "/dev-us-west-2-orders-v1/",
        "TARGET_KEY_ID": "alias/dev-us-west-2-orders-v1",
    },
}


@pytest.mark.parametrize("asset", sorted(IMPORTABLE))
def test_missing_variable_error_does_not_quote_the_environment(asset, monkeypatch):
    # Given the asset's settings, and an environment holding a secret but not its variables
    for name, value in IMPORTABLE[asset].items():
        monkeypatch.setenv(name, value)
    settings = load_handler(asset, "settings")
    environment = {"AWS_SECRET_ACCESS_KEY": SECRET}

    # When it is parsed
    with pytest.raises(ValidationError) as raised:
        settings.Settings.model_validate(environment)

    # Then the error names a missing variable, and quotes no part of the environment (pydantic
    # would show its first and last characters)
    text = str(raised.value)
    assert "Field required" in text
    assert not any(SECRET[i : i + 8] in text for i in range(len(SECRET) - 7))
