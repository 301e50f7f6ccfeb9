#!/usr/bin/env python3
"""Entry point of `cdk synth` / `cdk deploy`: context -> validated config -> stacks."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from dr_core.config import CONTEXT_KEYS, AppConfig
from dr_core.errors import ConfigError
from stacks.platform import Platform, compose


def build(app: cdk.App) -> Platform:
    """Everything `cdk synth` builds, with the cdk-nag gate; raises ConfigError on bad context."""
    config = AppConfig.from_context({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})
    platform = compose(app, config)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return platform


def main() -> int:
    app = cdk.App()
    try:
        build(app)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
