"""``python -m dr_ops preflight``: one line per check on stdout, and the exit code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.stub import Stubber

from dr_ops.aws import AwsClients
from dr_ops.cli import main
from tests.ops.helpers import (
    MOTO_NAME_SERVERS,
    FakeRunner,
    bootstrap,
    delegated_to,
    stack,
    tools,
    write_assembly,
    zone_template,
)

LINE = re.compile(r"(PASS|FAIL|PENDING|SKIP) +\S.*")
DR_FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {"FunctionName": "dev-us-west-2-health-v1", "ReservedConcurrentExecutions": 2},
}


@pytest.fixture
def assembly_dir(tmp_path: Path) -> Path:
    """The four stacks as synth writes them, small: a zone, a function reserving 2 in the DR region."""
    return write_assembly(
        tmp_path / "cdk.out",
        stack("Dns", "us-east-1", zone_template()),
        stack("DrRegion", "us-west-2", {"Health": DR_FUNCTION}),
        stack("PrimaryRegion", "us-east-1"),
        stack("Global", "us-east-1"),
    )


@pytest.fixture
def dr_lambda(aws: AwsClients) -> Iterator[None]:
    """The DR region's Lambda answers, in the order the checks ask: moto 5.2.5 has no
    GetAccountSettings, and a Stubber answers every call of its client."""
    with Stubber(aws.client("lambda", "us-west-2")) as stubber:
        limits = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}
        stubber.add_response("get_account_settings", {"AccountLimit": limits}, {})
        # The concurrency check, then the fixed-name check, find no such function yet.
        for operation in ("get_function_concurrency", "get_function_configuration"):
            stubber.add_client_error(operation, "ResourceNotFoundException", http_status_code=404)
        yield


def test_one_line_per_check_and_exit_1_when_one_fails(
    aws: AwsClients, assembly_dir: Path, dr_lambda: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an account bootstrapped in the primary region only
    bootstrap(aws, "us-east-1")
    runner = FakeRunner()

    # When preflight runs with a context flag
    code = main(
        ["preflight", "-c", "account=123456789012"],
        tools(aws, runner, delegated_to(frozenset()), assembly_dir),
    )

    # Then synth ran first with the same context, into the directory the checks read
    assert runner.commands == [
        ["npx", "cdk", "synth", "--quiet", "--output", str(assembly_dir), "-c", "account=123456789012"]
    ]
    # and stdout holds exactly one status line per check, in order
    lines = capsys.readouterr().out.splitlines()
    assert all(LINE.fullmatch(line) for line in lines), lines
    assert [line.split()[0] + " " + line[9:37].strip() for line in lines] == [
        "PASS account",
        "PASS region us-east-1",
        "PASS region us-west-2",
        "PASS zones us-east-1",
        "PASS zones us-west-2",
        "PASS bootstrap us-east-1",
        "FAIL bootstrap us-west-2",
        "PASS lambda concurrency us-west-2",
        "PENDING hosted zone",
        "PENDING delegation",
        "PASS fixed names Dns",
        "PASS fixed names DrRegion",
        "PASS fixed names PrimaryRegion",
        "PASS fixed names Global",
    ]
    # and the failure carries its fix on the same line; the exit code says something failed
    assert "-- fix: ./dev cdk bootstrap aws://123456789012/us-west-2" in lines[6]
    assert code == 1


def test_pending_is_not_a_failure(
    aws: AwsClients, assembly_dir: Path, dr_lambda: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given both regions bootstrapped and no zone created yet
    bootstrap(aws, "us-east-1", "us-west-2")

    # When preflight runs
    code = main(["preflight"], tools(aws, FakeRunner(), delegated_to(MOTO_NAME_SERVERS), assembly_dir))

    # Then nothing failed: the zone is pending and the exit code is 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert "PENDING  hosted zone" in out
    assert code == 0


def test_another_account_skips_every_other_check(
    aws: AwsClients, assembly_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given credentials of 123456789012 and a context account of 111111111111
    # When preflight runs
    code = main(
        ["preflight", "-c", "account=111111111111"],
        tools(aws, FakeRunner(), delegated_to(MOTO_NAME_SERVERS), assembly_dir),
    )

    # Then the account fails and the rest are skipped: they would answer for the wrong account
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("FAIL     account")
    assert all(line.startswith("SKIP") and line.endswith("account check failed") for line in lines[1:])
    assert code == 1


def test_a_config_error_is_one_line_and_exit_2_without_synth(
    aws: AwsClients, assembly_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a context override the app refuses
    runner = FakeRunner()

    # When preflight runs
    code = main(
        ["preflight", "-c", "drRegion=us-east-1"], tools(aws, runner, delegated_to(frozenset()), assembly_dir)
    )

    # Then one line names the key, exit 2, no traceback, and nothing was synthesized
    captured = capsys.readouterr()
    assert captured.err == (
        "config error: context key 'drRegion': 'us-east-1' is also the primary region; "
        "pick a different region\n"
    )
    assert captured.out == ""
    assert code == 2
    assert runner.commands == []


def test_a_failed_synth_stops_with_its_exit_code(
    aws: AwsClients, assembly_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a synth that fails (cdk-nag findings, say) with exit code 1
    runner = FakeRunner(codes={("npx", "cdk", "synth"): 1})

    # When preflight runs
    code = main(["preflight"], tools(aws, runner, delegated_to(frozenset()), assembly_dir))

    # Then no check runs and the synth's exit code is returned
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "npx cdk synth --quiet" in captured.err and "failed with exit code 1" in captured.err
    assert code == 1


def test_an_unknown_command_prints_the_usage(
    aws: AwsClients, assembly_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no command
    # When the module runs
    code = main([], tools(aws, FakeRunner(), delegated_to(frozenset()), assembly_dir))

    # Then it prints its usage and exits 2
    assert capsys.readouterr().err.startswith("usage: python -m dr_ops preflight|deploy")
    assert code == 2
