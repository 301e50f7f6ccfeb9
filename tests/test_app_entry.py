"""`cdk synth` runs app.py: bad context must end it with one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, default_context


def run_app(tmp_path, **overrides):
    # The CDK CLI hands the merged context to the app in CDK_CONTEXT_JSON.
    env = {
        **os.environ,
        # jsii's Node comes first on PATH, as under ./dev (the venv's Node 24).
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CDK_CONTEXT_JSON": json.dumps(default_context(**overrides)),
        "CDK_OUTDIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"drRegion": "us-east-1"}, "config error: context key 'drRegion':"),
        # Valid characters, but the bucket names outgrow S3's 63: found while building.
        ({"suffix": "-" + "a" * 30}, "config error: context key 'suffix': makes the S3 bucket name"),
        # A traffic config slower than the RTO target stops synth.
        (
            {"healthCheckIntervalSeconds": 30, "healthCheckFailureThreshold": 3},
            "config error: context key 'rtoTargetSeconds': the traffic settings fail over in up to 115 s",
        ),
    ],
)
def test_bad_context_exits_non_zero_with_one_line_and_no_traceback(tmp_path, overrides, expected):
    result = run_app(tmp_path, **overrides)
    assert result.returncode == 2
    assert result.stderr.startswith(expected)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
