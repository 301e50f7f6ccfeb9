"""`cdk synth` runs app.py: bad context must end it with one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, default_context

# What `cdk synth` runs, from cdk.json, whether the CLI is the pinned one or a global install.
APP_COMMAND = json.loads((ROOT / "cdk.json").read_text())["app"]


def run_app(tmp_path, **overrides):
    # The CDK CLI hands the merged context to the app in CDK_CONTEXT_JSON and runs the app
    # command through a shell, with the user's PATH: no venv on it.
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {
        **os.environ,
        "PATH": path,
        "CDK_CONTEXT_JSON": json.dumps(default_context(**overrides)),
        "CDK_OUTDIR": str(tmp_path),
    }
    return subprocess.run(
        APP_COMMAND, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_app_command_sets_up_its_own_python_instead_of_assuming_a_venv():
    # A globally installed `cdk synth` in a fresh clone failed with ".venv/bin/python: not found".
    assert ".venv" not in APP_COMMAND
    assert APP_COMMAND == "./dev app"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"drRegion": "us-east-1"}, "config error: context key 'drRegion':"),
        # Valid characters, but the bucket names outgrow S3's 63: found while building.
        ({"suffix": "-" + "a" * 30}, "config error: context key 'suffix': makes the S3 bucket name"),
        # A traffic config slower than the RTO target stops synth.
        (
            {"healthCheckIntervalSeconds": 30, "healthCheckFailureThreshold": 3},
            "config error: context key 'rtoTargetSeconds': the traffic settings fail over in up to "
            "automatic 115 s",
        ),
    ],
)
def test_bad_context_exits_non_zero_with_one_line_and_no_traceback(tmp_path, overrides, expected):
    result = run_app(tmp_path, **overrides)
    assert result.returncode == 2
    assert result.stderr.startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
