"""The app is built and synthesized once per test session: jsii start-up is slow."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

import app as app_entry
from stacks.platform import Platform

ROOT = Path(__file__).resolve().parents[1]


def default_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context, as `cdk synth` passes it to the app, with overrides."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    # The CLI turns construct-path metadata on; tests find resources by those paths.
    return {**context, "aws:cdk:enable-path-metadata": True, **overrides}


@dataclass
class Synthesized:
    platform: Platform
    outdir: Path
    synth_error: Exception | None

    def template(self, stack: cdk.Stack) -> Template:
        return Template.from_json(self.template_json(stack))

    def template_json(self, stack: cdk.Stack) -> dict[str, Any]:
        return json.loads((self.outdir / stack.template_file).read_text())

    @property
    def stacks(self) -> list[cdk.Stack]:
        return self.platform.stacks


def synthesize(outdir: Path, **context: Any) -> Synthesized:
    app = cdk.App(context=default_context(**context), outdir=str(outdir))
    platform = app_entry.build(app)
    try:
        app.synth()
        error = None
    except Exception as raised:  # cdk-nag findings raise here; test_gates reports them
        error = raised
    return Synthesized(platform=platform, outdir=outdir, synth_error=error)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def platform(synthesized: Synthesized) -> Platform:
    return synthesized.platform


@pytest.fixture(scope="session")
def primary(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.platform.primary)


@pytest.fixture(scope="session")
def dr(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.platform.dr)


@pytest.fixture(scope="session")
def global_(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.platform.global_)
