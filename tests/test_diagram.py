"""tools/diagram.py draws the synthesized cloud assembly as a Mermaid flowchart."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

TOOL = ROOT / "tools" / "diagram.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("diagram_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


diagram_tool = _load_tool()


def _draw(synthesized, output):
    assert diagram_tool.main(["--assembly", str(synthesized.outdir), "--output", str(output)]) == 0
    return output.read_text()


@pytest.fixture(scope="module")
def markdown(synthesized, tmp_path_factory):
    return _draw(synthesized, tmp_path_factory.mktemp("diagram") / "architecture.md")


@pytest.fixture(scope="module")
def mermaid(markdown):
    (block,) = re.findall(r"^```mermaid\n(.*?)^```$", markdown, flags=re.M | re.S)
    return block


@pytest.fixture(scope="module")
def subgraphs(mermaid):
    """Subgraph title -> {construct name: node label}, in the order the diagram draws them."""
    drawn: dict[str, dict[str, str]] = {}
    nodes: dict[str, str] = {}
    for line in mermaid.splitlines():
        if match := re.fullmatch(r'\s*subgraph \w+\["(.+)"\]', line):
            nodes = drawn.setdefault(match[1], {})
        elif match := re.fullmatch(r'\s*\w+\["([^"<]+)(?:<br/>)?([^"]*)"\]', line):
            nodes[match[1]] = match[2]
    return drawn


def test_markdown_holds_one_mermaid_flowchart(mermaid):
    assert mermaid.startswith("flowchart ")


def test_each_stack_is_a_subgraph_titled_with_its_region_in_deploy_order(subgraphs, synthesized):
    assert list(subgraphs) == [f"{stack.artifact_id} ({stack.region})" for stack in synthesized.stacks]


def test_orders_node_shows_the_dynamodb_global_table(subgraphs, synthesized):
    primary = synthesized.platform.primary
    assert "DynamoDB global table" in subgraphs[f"PrimaryRegion ({primary.region})"]["Orders"]


def test_database_node_shows_the_rds_instance(subgraphs, synthesized):
    primary = synthesized.platform.primary
    assert "RDS instance" in subgraphs[f"PrimaryRegion ({primary.region})"]["Database"]


def test_the_dr_database_replica_and_its_placement_are_drawn_in_their_stacks(subgraphs, synthesized):
    # The replica in its own stack; its subnet group, parameter and log groups in the DR stack.
    platform = synthesized.platform
    assert "RDS instance" in subgraphs[f"DatabaseReplica ({platform.database_replica.region})"]["Replica"]
    placement = subgraphs[f"DrRegion ({platform.dr.region})"]["DatabaseReplicaPlacement"]
    assert "RDS DBSubnetGroup" in placement


def test_failover_node_shows_the_route53_health_checks(subgraphs, synthesized):
    routing = synthesized.platform.routing
    # Per region: its own check, the inverted fence check, and the calculated one the record carries.
    assert "Route 53 health check x6" in subgraphs[f"Routing ({routing.region})"]["Failover"]


def test_cdk_internal_constructs_are_not_drawn(subgraphs):
    names = {name for nodes in subgraphs.values() for name in nodes}
    assert not {n for n in names if n.startswith(diagram_tool.INTERNAL_PREFIXES)}


def test_node_ids_are_mermaid_safe(mermaid):
    ids = re.findall(r"^\s*(?:subgraph )?(\S+?)\[", mermaid, flags=re.M)
    assert ids
    assert [i for i in ids if not re.fullmatch(r"\w+", i, flags=re.A)] == []


def test_stack_dependencies_are_edges_labelled_deploys_before(mermaid):
    edges = set(re.findall(r"^\s*stack_(\w+) -->\|deploys before\| stack_(\w+)$", mermaid, flags=re.M))
    assert {
        ("Dns", "DrRegion"),
        ("DrRegion", "PrimaryRegion"),
        ("PrimaryRegion", "DatabaseReplica"),
        ("PrimaryRegion", "Routing"),
        ("Routing", "Observer"),
    } <= edges


def test_legend_names_the_generator_under_the_diagram(markdown):
    after = markdown.split("```mermaid", 1)[1].split("```", 1)[1]
    assert "generated from the cloud assembly by `./dev diagram`" in after.lower()


def test_drawing_the_same_assembly_twice_gives_identical_markdown(synthesized, tmp_path):
    assert _draw(synthesized, tmp_path / "first.md") == _draw(synthesized, tmp_path / "second.md")


def test_missing_assembly_exits_2_with_a_one_line_message(tmp_path):
    missing = tmp_path / "no-cdk.out"
    result = subprocess.run(
        [sys.executable, TOOL, "--assembly", missing, "--output", tmp_path / "out.md"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert str(missing) in result.stderr
    assert not (tmp_path / "out.md").exists()


def test_the_committed_architecture_picture_is_current(synthesized, tmp_path):
    # docs/architecture.md is what `./dev diagram` draws from today's app; redraw it after a change.
    assert (ROOT / "docs" / "architecture.md").read_text() == _draw(synthesized, tmp_path / "now.md")
