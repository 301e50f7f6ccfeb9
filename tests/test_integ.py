"""The integration test's wiring, without deploying it: integ/dr_drill.py's app holds every platform
stack as its test case and an assertion stack in the observer region that starts the DR drill and
waits for a PASSED report with every store within its RPO; ``./dev integ`` deploys it and always
destroys it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from dr_core.config import DRILL_STORES
from dr_ops.cli import main
from integ import dr_drill
from tests.conftest import default_context
from tests.ops.helpers import FakeRunner
from tests.ops.helpers import tools as ops_tools

INTEG = ("-c", "account=210987654321", "-c", "domain=orders.acme-sandbox.net", "-c", "hostedZoneId=Z0SANDBOX")
ISSUER = ("-c", "jwtIssuer=https://login.acme-sandbox.net")


@pytest.fixture(scope="module")
def integ_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Given the integration app synthesized with cdk.json's defaults
    outdir = tmp_path_factory.mktemp("integ")
    app = cdk.App(context=default_context(), outdir=str(outdir))
    dr_drill.build(app)
    app.synth()
    return outdir


def _calls(outdir: Path) -> dict[str, dict[str, Any]]:
    template = json.loads((outdir / "DrillAssertions.template.json").read_text())
    return {
        resource["Properties"]["api"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"].startswith("Custom::DeployAssert@SdkCall")
    }


def test_every_platform_stack_is_a_test_case_and_the_assertions_run_last_in_the_observer(integ_app):
    # Then the manifest's test case deploys every stack, then the assertion stack
    manifest = json.loads((integ_app / "integ.json").read_text())
    (case,) = manifest["testCases"].values()
    assert case["stacks"] == ["Dns", "DrRegion", "PrimaryRegion", "DatabaseReplica", "Routing", "Observer"]
    assert case["assertionStack"] == "DrillAssertions"
    assembly = json.loads((integ_app / "manifest.json").read_text())["artifacts"]
    assert assembly["DrillAssertions"]["environment"] == "aws://123456789012/us-west-2"
    # And it deploys after the observer, whose drill it runs
    assert "Observer" in assembly["DrillAssertions"]["dependencies"]


def test_the_assertion_starts_the_observers_drill(integ_app):
    start = _calls(integ_app)["startExecution"]
    assert start["service"] == "StepFunctions"
    arn = "".join(
        p if isinstance(p, str) else "aws" for p in start["parameters"]["stateMachineArn"]["Fn::Join"][1]
    )
    # The provider JSON-decodes each parameter: the value is the quoted ARN
    assert json.loads(arn) == "arn:aws:states:us-west-2:123456789012:stateMachine:dev-us-west-2-dr-drill-v1"


def test_the_assertion_waits_for_a_passed_report_with_every_store_within_its_rpo(integ_app):
    described = _calls(integ_app)["describeExecution"]
    expected = json.loads(described["expected"])
    report = expected["$ObjectLike"]["output"]["$SerializedJson"]["$ObjectLike"]
    assert expected["$ObjectLike"]["status"] == "SUCCEEDED"
    assert report["status"] == "PASSED"
    assert report["probes"]["$ObjectLike"] == {
        store: {"$ObjectLike": {"within_rpo": True}} for store in DRILL_STORES
    }


def test_the_assertion_polls_every_30_s_for_20_minutes(integ_app):
    template = json.loads((integ_app / "DrillAssertions.template.json").read_text())
    (waiter,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    definition = "".join(
        p for p in waiter["Properties"]["DefinitionString"]["Fn::Join"][1] if isinstance(p, str)
    )
    assert '"IntervalSeconds":30,"MaxAttempts":40,"BackoffRate":1' in definition


def test_integ_deploys_the_app_then_destroys_it_with_one_day_evidence_lock(tmp_path):
    # Given cdk commands that succeed
    runner = FakeRunner()
    # When ./dev integ runs against a sandbox
    code = main(["integ", *INTEG, *ISSUER, "--profile", "sandbox"], ops_tools(None, runner, None, tmp_path))  # type: ignore[arg-type]
    # Then it deployed everything of the integration app, then destroyed it, with the same context
    assert code == 0
    assert runner.cdk_verbs == ["cdk deploy --all", "cdk destroy --all"]
    for command in runner.commands:
        assert command[command.index("--app") + 1] == "python -m integ.dr_drill"
        assert "evidenceRetentionDays=1" in command and "hostedZoneId=Z0SANDBOX" in command
        assert command[-2:] == ["--profile", "sandbox"]


def test_integ_destroys_even_when_the_drill_assertion_fails_the_deploy(tmp_path):
    # Given a deploy that fails (the assertion's custom resource failed: the drill did not pass)
    runner = FakeRunner(codes={("npx", "cdk", "deploy"): 1})
    # When ./dev integ runs
    code = main(["integ", *INTEG, *ISSUER], ops_tools(None, runner, None, tmp_path))  # type: ignore[arg-type]
    # Then it still destroyed the stacks, and exits with the deploy's code
    assert runner.cdk_verbs == ["cdk deploy --all", "cdk destroy --all"]
    assert code == 1


def test_integ_refuses_cdk_json_placeholders_naming_what_to_give(tmp_path, capsys):
    # Given no sandbox named on the command line
    runner = FakeRunner()
    # When ./dev integ runs
    code = main(["integ", "-c", "account=210987654321"], ops_tools(None, runner, None, tmp_path))  # type: ignore[arg-type]
    # Then nothing ran, and the error names each missing key
    assert (code, runner.commands) == (2, [])
    assert "-c domain=... -c hostedZoneId=... -c jwtIssuer=..." in capsys.readouterr().err
