"""Shared fixtures.

Construct tests build one construct on a bare stack (``stack_in``) and read it with
``Template.from_stack``; whole-app wiring tests and the gates share one synthesized app
(``synthesized``), built once per session because jsii start-up is slow.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.loaders
import pytest
from aws_cdk.assertions import Template
from filelock import FileLock
from syrupy.extensions.json import JSONSnapshotExtension

import app as app_entry
from dr_core.config import AppConfig, RegionConfig
from dr_core.shared_names import SharedNames
from stacks.platform import Platform
from stacks.regional_stack import RegionalStack

ROOT = Path(__file__).resolve().parents[1]


def default_context(**overrides: Any) -> dict[str, Any]:
    """cdk.json's context, as `cdk synth` passes it to the app, with overrides."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    # The CLI turns construct-path metadata on; tests find resources by those paths.
    return {**context, "aws:cdk:enable-path-metadata": True, **overrides}


ACCOUNT = "123456789012"

# moto gives every test a fresh boto3 session, and each session parses botocore's service models
# from JSON again: a third of the handler tests' time. The files never change during a run, so
# their parsed form is shared (botocore only reads it).
_parsed_botocore_files: dict[str, Any] = {}
_load_botocore_file = botocore.loaders.JSONFileLoader.load_file


def _load_botocore_file_once(loader: botocore.loaders.JSONFileLoader, file_path: str) -> Any:
    if file_path not in _parsed_botocore_files:
        _parsed_botocore_files[file_path] = _load_botocore_file(loader, file_path)
    return _parsed_botocore_files[file_path]


botocore.loaders.JSONFileLoader.load_file = _load_botocore_file_once  # type: ignore[method-assign]

# Likewise the scan of botocore's data folders for the services it knows, which every new session
# repeats (hundreds of directories, stat by stat).
_listed_botocore_services: dict[tuple[tuple[str, ...], str], Any] = {}
_list_botocore_services = botocore.loaders.Loader.list_available_services


def _list_botocore_services_once(loader: botocore.loaders.Loader, type_name: str) -> Any:
    key = (tuple(loader.search_paths), type_name)
    if key not in _listed_botocore_services:
        _listed_botocore_services[key] = _list_botocore_services(loader, type_name)
    return _listed_botocore_services[key]


botocore.loaders.Loader.list_available_services = _list_botocore_services_once  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def config() -> AppConfig:
    """cdk.json's defaults, validated."""
    return AppConfig.from_context(default_context())


@pytest.fixture(scope="session")
def names(config: AppConfig) -> SharedNames:
    return SharedNames.of(config)


def bare_stack(config: AppConfig, region: str = "us-east-1") -> cdk.Stack:
    """A stack in ``region`` with nothing in it, in an app with cdk.json's feature flags: the
    home of one construct under test. Its zones and VPC range come from ``config``."""
    app = cdk.App(context=default_context())
    known = {config.primary.name: config.primary, config.dr.name: config.dr}
    region_config = known.get(region) or RegionConfig(
        region, tuple(f"{region}{z}" for z in "abc"), "10.99.0.0/16"
    )
    return RegionalStack(app, "Test", account=ACCOUNT, region=region_config, stack_name="test")


@pytest.fixture(scope="session")
def stack_in(config: AppConfig) -> Callable[[str], cdk.Stack]:
    """``bare_stack`` with the default config: ``stack_in("us-west-2")``."""

    def make(region: str = "us-east-1") -> cdk.Stack:
        return bare_stack(config, region)

    return make


_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def masked(value: Any) -> Any:
    """A template with asset hashes masked: they change with every edit of handler code."""
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    """syrupy's snapshot as JSON: ``assert masked(template.to_json()) == snapshot_json``.
    Accept a deliberate change with ``./dev test --snapshot-update``."""
    return snapshot.use_extension(JSONSnapshotExtension)


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
    """The app with cdk.json's defaults, synthesized once per run: the first xdist worker writes
    the cloud assembly, the others build the same construct tree (cheap) and read its templates."""
    # Under xdist each worker's base folder sits in the run's folder; without it, the base is the run's.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    outdir = shared / "cdk.out-defaults"
    failure = shared / "cdk.out-defaults.synth-error"
    with FileLock(f"{outdir}.lock"):
        if (outdir / "manifest.json").is_file():
            app = cdk.App(context=default_context(), outdir=str(tmp_path_factory.mktemp("unused")))
            error = RuntimeError(failure.read_text()) if failure.is_file() else None
            return Synthesized(platform=app_entry.build(app), outdir=outdir, synth_error=error)
        synthesized = synthesize(outdir)
        if synthesized.synth_error is not None:
            failure.write_text(str(synthesized.synth_error))
        return synthesized


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
def routing(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.platform.routing)


@pytest.fixture(scope="session")
def observer(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.platform.observer)


@pytest.fixture(scope="session")
def database_replica(synthesized: Synthesized) -> Template:
    return synthesized.template(synthesized.platform.database_replica)
