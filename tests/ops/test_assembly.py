"""Reading the cloud assembly `cdk synth` writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dr_ops.assembly import AssemblyError, CloudAssembly
from dr_ops.database_failback import PRIMARY_STACK, REPLICA_STACK
from tests.conftest import Synthesized


def test_the_synthesized_app_has_its_stacks_in_two_regions(synthesized: Synthesized) -> None:
    # Given the app synthesized with cdk.json's defaults
    # When its cloud assembly is read
    assembly = CloudAssembly.read(synthesized.outdir)

    # Then every stack has its environment, name and bootstrap requirement
    by_id = {stack.artifact_id: stack for stack in assembly.stacks}
    assert set(by_id) == {"Dns", "DrRegion", "PrimaryRegion", "DatabaseReplica", "Routing", "Observer"}
    assert by_id["DrRegion"].region == "us-west-2"
    assert by_id["DatabaseReplica"].region == "us-west-2"
    assert by_id["Observer"].region == "us-west-2"
    assert by_id["PrimaryRegion"].stack_name == "dev-us-east-1-orders-primary-v1"
    assert by_id["Routing"].bootstrap_version == 6
    assert by_id["Routing"].bootstrap_parameter == "/cdk-bootstrap/hnb659fds/version"
    assert assembly.regions == ("us-east-1", "us-west-2")


def test_the_stacks_the_database_failback_names_are_the_apps(synthesized: Synthesized) -> None:
    # Given the app synthesized with cdk.json's defaults
    # When its cloud assembly is read
    by_id = {stack.artifact_id: stack for stack in CloudAssembly.read(synthesized.outdir).stacks}

    # Then the stacks `failback --database` tells the operator to deploy are there, in their regions
    assert by_id[PRIMARY_STACK].region == "us-east-1"
    assert by_id[REPLICA_STACK].region == "us-west-2"


def test_the_zone_stack_is_the_one_declaring_the_hosted_zone(synthesized: Synthesized) -> None:
    # Given the app synthesized without hostedZoneId
    # When the zone stack is looked for
    declared = CloudAssembly.read(synthesized.outdir).zone_stack()

    # Then it is the Dns stack and its zone resource
    assert declared is not None
    stack, zone = declared
    assert stack.artifact_id == "Dns"
    assert zone.properties["Name"] == "orders-dr.internal.test."


def test_an_environment_agnostic_stack_is_refused(tmp_path: Path) -> None:
    # Given a manifest whose stack has no concrete account and region
    artifact = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://unknown-account/unknown-region",
        "properties": {"templateFile": "S.template.json"},
    }
    (tmp_path / "S.template.json").write_text("{}")
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": {"S": artifact}}))

    # When it is read
    # Then the commands refuse it: they cannot tell which account and region to check
    with pytest.raises(AssemblyError, match="no concrete environment"):
        CloudAssembly.read(tmp_path)
