"""Time `cdk synth` of this app against an empty CDK Python app, in the same run.

Usage: ./dev bench [--runs N]. Prints the median of N runs of each and their ratio.
The empty app pays the same fixed costs (CDK CLI, Python, jsii start-up), so the
ratio shows what this app's own constructs add.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "node_modules" / ".bin" / "cdk"

EMPTY_APP = """\
import aws_cdk as cdk

app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""


def time_synth(app_dir: Path, outdir: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [CDK, "synth", "--quiet", "--app", f"{sys.executable} app.py", "--output", str(outdir)],
        cwd=app_dir,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"cdk synth failed in {app_dir}:\n{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        empty_dir = Path(scratch, "empty")
        empty_dir.mkdir()
        (empty_dir / "app.py").write_text(EMPTY_APP)
        (empty_dir / "cdk.json").write_text("{}\n")
        this, empty = [], []
        for run in range(runs):
            this.append(time_synth(ROOT, Path(scratch, f"this-{run}")))
            empty.append(time_synth(empty_dir, Path(scratch, f"empty-{run}")))
    this_s, empty_s = statistics.median(this), statistics.median(empty)
    print(f"this app   cdk synth: {this_s:6.2f} s (median of {runs})")
    print(f"empty app  cdk synth: {empty_s:6.2f} s (median of {runs})")
    print(f"ratio this/empty:     {this_s / empty_s:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
