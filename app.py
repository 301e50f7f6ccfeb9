#!/usr/bin/env python3
"""Entry point of `cdk synth` / `cdk deploy`: context -> validated config -> stacks."""

from __future__ import annotations

import sys
from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from dr_core.config import CONTEXT_KEYS, AppConfig
from dr_core.errors import ConfigError
from stacks.platform import Platform, compose


def config_of(app: cdk.App) -> AppConfig:
    """The one place context is read: the validated config every stack is built from."""
    return AppConfig.from_context({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})


def build(app: cdk.App) -> Platform:
    """Everything `cdk synth` builds, with the cdk-nag gate; raises ConfigError on bad context."""
    platform = compose(app, config_of(app))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return platform


def run(build: Callable[[cdk.App], object]) -> int:
    """Build an app and synthesize it; bad context is one line on stderr and exit code 2."""
    app = cdk.App()
    try:
        build(app)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    app.synth()
    return 0


def main() -> int:
    return run(build)


if __name__ == "__main__":
    sys.exit(main())
