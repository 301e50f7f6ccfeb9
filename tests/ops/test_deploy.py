"""``python -m dr_ops deploy``: preflight, then the app's zone and its delegation, then everything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.route53.models import HostedZoneIdentifier
from moto.utilities.id_generator import moto_id_manager

from dr_ops.aws import AwsClients
from dr_ops.cli import main
from dr_ops.deploy import AWAITING_DELEGATION
from tests.ops.helpers import (
    ACCOUNT,
    DOMAIN,
    MOTO_NAME_SERVERS,
    FakeResolver,
    FakeRunner,
    bootstrap,
    delegated_to,
    stack,
    tools,
    write_assembly,
    zone_template,
)

DNS = stack("Dns", "us-east-1", zone_template())
REGIONAL = (stack("DrRegion", "us-west-2"), stack("PrimaryRegion", "us-east-1"), stack("Global", "us-east-1"))
GIVEN_ZONE_ID = "Z0ORDERSDR"
FLAGS = ["-c", "account=123456789012", "--require-approval", "never"]


@pytest.fixture
def app_zone(tmp_path: Path) -> Path:
    """The app as synthesized without hostedZoneId: the Dns stack first."""
    return write_assembly(tmp_path / "cdk.out", DNS, *REGIONAL)


@pytest.fixture
def given_zone(tmp_path: Path, aws: AwsClients) -> Iterator[Path]:
    """The app as synthesized with hostedZoneId, and that public zone in the account."""
    # Route 53 IDs look like Z...; moto's random ones do not, so this zone gets a fixed one.
    identifier = HostedZoneIdentifier(ACCOUNT, f"{DOMAIN}.", "")
    moto_id_manager.set_custom_id(identifier, GIVEN_ZONE_ID)
    try:
        aws.client("route53", "us-east-1").create_hosted_zone(Name=DOMAIN, CallerReference="given")
        yield write_assembly(tmp_path / "cdk.out", *REGIONAL)
    finally:
        moto_id_manager.unset_custom_id(identifier)


@pytest.fixture
def runner(aws: AwsClients) -> FakeRunner:
    """`cdk deploy Dns` creates the zone stack in moto, as CloudFormation would; the rest only record."""

    def deploy_dns() -> None:
        cloudformation = aws.client("cloudformation", "us-east-1")
        if not cloudformation.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]:
            cloudformation.create_stack(StackName=DNS.stack_name, TemplateBody=json.dumps(DNS.template))

    return FakeRunner(actions={("npx", "cdk", "deploy", "Dns"): deploy_dns})


@pytest.fixture(autouse=True)
def bootstrapped(aws: AwsClients) -> None:
    bootstrap(aws, "us-east-1", "us-west-2")


def test_a_created_and_delegated_zone_deploys_the_zone_then_everything(
    aws: AwsClients, app_zone: Path, runner: FakeRunner
) -> None:
    # Given the app creating its zone, and resolvers that will answer the zone's name servers
    # When deploy runs with context and a deploy option
    code = main(["deploy", *FLAGS], tools(aws, runner, delegated_to(MOTO_NAME_SERVERS), app_zone))

    # Then it synthesizes, deploys the zone stack alone, then every stack, with the user's flags each time
    assert runner.cdk_verbs == ["cdk synth", "cdk deploy Dns", "cdk deploy --all"]
    assert runner.commands[1][4:] == FLAGS
    assert runner.commands[2][4:] == FLAGS
    assert code == 0


def test_an_undelegated_zone_stops_before_any_regional_stack(
    aws: AwsClients, app_zone: Path, runner: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the app creating its zone, and the parent not delegating to it yet
    resolver = FakeResolver({}, default="NXDOMAIN")

    # When deploy runs
    code = main(["deploy", *FLAGS], tools(aws, runner, resolver, app_zone))

    # Then the zone stack is deployed and nothing after it
    assert runner.cdk_verbs == ["cdk synth", "cdk deploy Dns"]
    assert code == AWAITING_DELEGATION == 3
    # and one message lists the NS records to create and says to run deploy again
    message = capsys.readouterr().out.split("deploy: stopped before the regional stacks: ")[1]
    assert "8.8.8.8: NXDOMAIN; 1.1.1.1: NXDOMAIN; 9.9.9.9: NXDOMAIN" in message
    for server in sorted(MOTO_NAME_SERVERS):
        assert f"  {DOMAIN}. NS {server}.\n" in message
    assert "Then run ./dev deploy again" in message


def test_a_given_zone_has_no_zone_stage(
    aws: AwsClients, given_zone: Path, runner: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given hostedZoneId of an existing public zone that the domain is delegated to
    # When deploy runs
    code = main(
        ["deploy", "-c", f"hostedZoneId={GIVEN_ZONE_ID}", *FLAGS],
        tools(aws, runner, delegated_to(MOTO_NAME_SERVERS), given_zone),
    )

    # Then its delegation was part of preflight, and every stack deploys at once
    assert "PASS     delegation" in capsys.readouterr().out
    assert runner.cdk_verbs == ["cdk synth", "cdk deploy --all"]
    assert code == 0


def test_a_failed_preflight_deploys_nothing(aws: AwsClients, app_zone: Path, runner: FakeRunner) -> None:
    # Given the DR region's bootstrap gone
    aws.client("ssm", "us-west-2").delete_parameter(Name="/cdk-bootstrap/hnb659fds/version")

    # When deploy runs
    code = main(["deploy", *FLAGS], tools(aws, runner, delegated_to(MOTO_NAME_SERVERS), app_zone))

    # Then it stops after synth, with the failure's exit code
    assert runner.cdk_verbs == ["cdk synth"]
    assert code == 1


def test_a_second_run_passes_straight_through(
    aws: AwsClients, app_zone: Path, runner: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a first deploy that went all the way
    resolver = delegated_to(MOTO_NAME_SERVERS)
    assert main(["deploy", *FLAGS], tools(aws, runner, resolver, app_zone)) == 0
    first = capsys.readouterr().out
    runner.commands.clear()

    # When deploy runs again
    code = main(["deploy", *FLAGS], tools(aws, runner, resolver, app_zone))

    # Then the zone preflight found pending the first time is now the stack's, and the same
    # steps run (cdk itself skips unchanged stacks) to the same end
    assert "PENDING  hosted zone" in first
    assert "PASS     hosted zone" in capsys.readouterr().out
    assert runner.cdk_verbs == ["cdk synth", "cdk deploy Dns", "cdk deploy --all"]
    assert code == 0


def test_a_rerun_before_delegation_stops_at_the_same_place(
    aws: AwsClients, app_zone: Path, runner: FakeRunner
) -> None:
    # Given a first deploy that stopped awaiting delegation, and still no delegation
    resolver = FakeResolver({}, default="NXDOMAIN")
    assert main(["deploy", *FLAGS], tools(aws, runner, resolver, app_zone)) == AWAITING_DELEGATION
    runner.commands.clear()

    # When deploy runs again
    code = main(["deploy", *FLAGS], tools(aws, runner, resolver, app_zone))

    # Then preflight does not fail on the undelegated zone; the run stops after the zone stack again
    assert runner.cdk_verbs == ["cdk synth", "cdk deploy Dns"]
    assert code == AWAITING_DELEGATION


def test_a_failed_zone_stack_deploy_stops_with_its_exit_code(aws: AwsClients, app_zone: Path) -> None:
    # Given `cdk deploy Dns` failing with exit code 1
    runner = FakeRunner(codes={("npx", "cdk", "deploy", "Dns"): 1})

    # When deploy runs
    code = main(["deploy", *FLAGS], tools(aws, runner, delegated_to(MOTO_NAME_SERVERS), app_zone))

    # Then nothing else is deployed and cdk's exit code is returned
    assert runner.cdk_verbs == ["cdk synth", "cdk deploy Dns"]
    assert code == 1
