"""Gates that every change must keep at zero: cdk-nag AwsSolutions, cfn-lint, ruff."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def _nag_report(synthesized):
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    return nag


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(synthesized):
    nag = _nag_report(synthesized)
    unacknowledged = [
        f"{v['ruleName']} at {c['constructPath']}"
        for v in nag["violations"]
        for c in v["violatingConstructs"]
    ]
    assert unacknowledged == []
    assert synthesized.synth_error is None


def test_every_cdk_nag_acknowledgement_gives_a_specific_reason(synthesized):
    for finding in _nag_report(synthesized)["suppressedViolations"]:
        reason = finding["reason"]
        assert len(reason) >= 60, f"{finding['ruleName']}: reason too thin: {reason!r}"


# W3005 (a DependsOn that a Ref or GetAtt already implies) where it is not redundant or not ours:
# a resource that depends on a whole role construct (CDK's Lambda and Step Functions wiring, the FIS
# templates) also waits for the role's policy, which its GetAtt of the role does not; and CDK's API
# mapping depends on the domain it names. Any other W3005 is a DependsOn this app wrote for nothing.
_ROLE_OR_DOMAIN = re.compile(r":W3005:.* at 'Resources/\w+/Properties/(Role|RoleArn|DomainName)'$")


def test_cfn_lint_finds_nothing_in_any_synthesized_template(synthesized):
    templates = sorted(str(p) for p in synthesized.outdir.glob("*.template.json"))
    assert len(templates) == len(synthesized.stacks) == 6
    result = subprocess.run(
        [BIN / "cfn-lint", "--format", "parseable", "--non-zero-exit-code", "error", "--", *templates],
        capture_output=True,
        text=True,
    )
    findings = [line for line in result.stdout.splitlines() if not _ROLE_OR_DOMAIN.search(line)]
    assert findings == []
    # Any error (or a failure to lint at all) also fails the run itself.
    assert result.returncode == 0, result.stderr


def test_ruff_lint_and_format_are_clean():
    check = subprocess.run([BIN / "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run([BIN / "ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout
