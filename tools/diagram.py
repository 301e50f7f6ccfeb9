"""Draw the synthesized app's architecture as a Mermaid flowchart in a Markdown file.

Usage: python tools/diagram.py [--assembly cdk.out] [--output docs/architecture.md]

Reads the cloud assembly only (manifest.json and the stack templates, no CDK import):
one subgraph per stack in deploy order, one node per top-level construct with a
summary of its resource types, and an edge for each stack dependency. The output
depends on nothing but the assembly, so the same app always gives the same file.
"""

from __future__ import annotations

import argparse
import heapq
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"

# Top-level construct ids that CDK adds on its own (the AwsCustomResource provider
# singleton, custom-resource providers, the analytics resource, the bootstrap check).
INTERNAL_PREFIXES = ("AWS679f53fac", "Custom", "CDKMetadata", "BootstrapVersion")

# Top-level constructs that only group others (RegionalServices): drawn as their parts.
COMPOSITES = frozenset({"Services"})

# Types that only attach to or wire up a resource the node already counts (policies,
# permissions, rules, aliases, route plumbing) or that CDK adds for its analytics:
# CDK creates them alongside the resource, and listing them pushes the main ones out.
IGNORED_TYPES = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::IAM::Policy",
        "AWS::Lambda::Permission",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::KMS::Alias",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::Route",
        "AWS::EC2::RouteTable",
    }
)

# Short names, most important first: a node lists its types in this order, so the
# resource that says what a construct is comes before the ones that support it.
# Types not named here come after them, as "Service Type".
SHORT_NAMES = {
    "AWS::DynamoDB::GlobalTable": "DynamoDB global table",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::RDS::DBCluster": "RDS cluster",
    "AWS::RDS::DBInstance": "RDS instance",
    "AWS::Route53::HostedZone": "Route 53 hosted zone",
    "AWS::Route53::HealthCheck": "Route 53 health check",
    "AWS::Route53::RecordSet": "Route 53 record",
    "AWS::ApiGatewayV2::Api": "HTTP API",
    "AWS::ApiGatewayV2::DomainName": "API domain",
    "AWS::Lambda::Function": "Lambda",
    "AWS::Lambda::Url": "Lambda URL",
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "Subnet",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::SecurityGroup": "Security group",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::SNS::Subscription": "SNS subscription",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::KMS::Key": "KMS key",
    "AWS::SecretsManager::Secret": "Secret",
    "AWS::Events::Rule": "EventBridge rule",
    "AWS::Scheduler::Schedule": "EventBridge schedule",
    "AWS::CloudWatch::Dashboard": "CloudWatch dashboard",
    "AWS::CloudWatch::Alarm": "CloudWatch alarm",
    "AWS::CertificateManager::Certificate": "ACM certificate",
    "AWS::IAM::Role": "IAM Role",
    "AWS::Logs::LogGroup": "Log group",
    "Custom::AWS": "AWS SDK call",
}

# Kinds of resource a node names; the rest are counted as "+N more".
MAX_KINDS = 4

LEGEND = "_Generated from the cloud assembly by `./dev diagram`; regenerate it instead of editing by hand._"


class AssemblyError(Exception):
    """The assembly cannot be read; the message is one line for the user."""


@dataclass
class Stack:
    id: str
    region: str
    dependencies: list[str]
    constructs: dict[str, Counter[str]] = field(default_factory=dict)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise AssemblyError(f"{path} not found; run `./dev synth` first") from None
    except (OSError, ValueError) as error:
        raise AssemblyError(f"cannot read {path}: {error}") from None


def load_stacks(assembly: Path) -> list[Stack]:
    if not assembly.is_dir():
        raise AssemblyError(f"cloud assembly {assembly} not found; run `./dev synth` first")
    artifacts = read_json(assembly / "manifest.json").get("artifacts", {})
    stacks = []
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        environment = artifact.get("environment", "aws://unknown-account/unknown-region")
        properties = artifact.get("properties", {})
        template = read_json(assembly / properties.get("templateFile", f"{artifact_id}.template.json"))
        stack = Stack(
            id=artifact_id,
            region=environment.rsplit("/", 1)[-1],
            dependencies=[
                d
                for d in artifact.get("dependencies", [])
                if artifacts.get(d, {}).get("type") == STACK_ARTIFACT
            ],
        )
        stack.constructs = constructs_of(template)
        stacks.append(stack)
    return deploy_order(stacks)


def constructs_of(template: dict[str, Any]) -> dict[str, Counter[str]]:
    """Resource types under each top-level construct (each part of a composite), by aws:cdk:path."""
    constructs: dict[str, Counter[str]] = {}
    for resource in template.get("Resources", {}).values():
        path = resource.get("Metadata", {}).get("aws:cdk:path", "")
        segments = path.split("/")
        if len(segments) < 2 or segments[1].startswith(INTERNAL_PREFIXES):
            continue
        node = "/".join(segments[1:3]) if segments[1] in COMPOSITES and len(segments) > 3 else segments[1]
        types = constructs.setdefault(node, Counter())
        if resource["Type"] not in IGNORED_TYPES:
            types[resource["Type"]] += 1
    return constructs


def deploy_order(stacks: list[Stack]) -> list[Stack]:
    """A stack after the stacks it depends on; among stacks free to go, by id."""
    by_id = {stack.id: stack for stack in stacks}
    waiting = {stack.id: {d for d in stack.dependencies if d in by_id} for stack in stacks}
    ready = [stack_id for stack_id, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    ordered: list[Stack] = []
    while ready:
        stack_id = heapq.heappop(ready)
        ordered.append(by_id[stack_id])
        del waiting[stack_id]
        for other, deps in waiting.items():
            if stack_id in deps:
                deps.discard(stack_id)
                if not deps:
                    heapq.heappush(ready, other)
    # A cycle cannot synthesize; should one appear anyway, draw those stacks last.
    ordered.extend(by_id[stack_id] for stack_id in sorted(waiting))
    return ordered


def short_name(resource_type: str) -> str:
    if resource_type in SHORT_NAMES:
        return SHORT_NAMES[resource_type]
    parts = resource_type.split("::")
    return " ".join(parts[1:] if parts[0] == "AWS" else parts)


def summary(types: Counter[str]) -> str:
    rank = {resource_type: index for index, resource_type in enumerate(SHORT_NAMES)}
    kinds = sorted(types.items(), key=lambda kv: (rank.get(kv[0], len(rank)), -kv[1], short_name(kv[0])))
    shown = [f"{short_name(t)} x{n}" if n > 1 else short_name(t) for t, n in kinds[:MAX_KINDS]]
    rest = sum(n for _, n in kinds[MAX_KINDS:])
    if rest:
        shown.append(f"+{rest} more")
    return ", ".join(shown)


def mermaid_id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9_]", "_", part) for part in parts)


def label(*lines: str) -> str:
    text = "<br/>".join(line.replace('"', "#quot;") for line in lines if line)
    return f'["{text}"]'


def render(stacks: list[Stack]) -> str:
    used: set[str] = set()

    def unique(candidate: str) -> str:
        # Sanitising can map two names to one id ("a-b", "a_b"); keep them apart.
        node_id, n = candidate, 2
        while node_id in used:
            node_id, n = f"{candidate}_{n}", n + 1
        used.add(node_id)
        return node_id

    # Stack ids get a prefix so that no stack can be called `end` or clash with a node.
    subgraphs = {stack.id: unique(mermaid_id("stack", stack.id)) for stack in stacks}
    lines = ["flowchart LR"]
    for stack in stacks:
        lines.append(f"  subgraph {subgraphs[stack.id]}{label(f'{stack.id} ({stack.region})')}")
        for name in sorted(stack.constructs):
            node_id = unique(mermaid_id(stack.id, name))
            lines.append(f"    {node_id}{label(name, summary(stack.constructs[name]))}")
        lines.append("  end")
    for stack in stacks:
        for dependency in sorted(stack.dependencies):
            if dependency in subgraphs:
                lines.append(f"  {subgraphs[dependency]} -->|deploys before| {subgraphs[stack.id]}")
    diagram = "\n".join(lines)
    return f"# Architecture\n\n```mermaid\n{diagram}\n```\n\n{LEGEND}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="cloud assembly directory")
    parser.add_argument("--output", type=Path, default=Path("docs/architecture.md"), help="Markdown file")
    args = parser.parse_args(argv)
    try:
        markdown = render(load_stacks(args.assembly))
    except AssemblyError as error:
        print(f"diagram: {error}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
