"""Small builders for the operator-command tests: configs, stacks, assemblies, fakes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dr_core.config import AppConfig
from dr_ops.assembly import CloudAssembly, StackArtifact
from dr_ops.aws import AwsClients
from dr_ops.checks import Check, Result
from dr_ops.context import Invocation
from dr_ops.dns_delegation import LookupFailed
from dr_ops.tools import Tools

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"  # cdk.json's account, and moto's
DOMAIN = "orders-dr.internal.test"  # cdk.json's domain
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# What moto's delegation set holds for every public zone.
MOTO_NAME_SERVERS = frozenset(
    {"ns-2048.awsdns-64.com", "ns-2049.awsdns-65.net", "ns-2050.awsdns-66.org", "ns-2051.awsdns-67.co.uk"}
)


def invocation(*args: str) -> Invocation:
    return Invocation.parse(args)


def config(*args: str) -> AppConfig:
    """cdk.json's context with ``-c key=value`` overrides, validated."""
    return invocation(*args).config(ROOT)


def stack(
    artifact_id: str,
    region: str,
    resources: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    bootstrap_version: int = 6,
) -> StackArtifact:
    """A stack artifact as the manifest describes it, with a hand-written template."""
    return StackArtifact(
        artifact_id=artifact_id,
        stack_name=f"dev-{region}-{artifact_id.lower()}-v1",
        account=ACCOUNT,
        region=region,
        template={"Resources": dict(resources or {})},
        bootstrap_version=bootstrap_version,
        bootstrap_parameter=BOOTSTRAP_PARAMETER,
    )


def assembly(*stacks: StackArtifact) -> CloudAssembly:
    return CloudAssembly(stacks=stacks)


def write_assembly(directory: Path, *stacks: StackArtifact) -> Path:
    """A cloud assembly on disk, as `cdk synth` writes it, holding these stacks."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for artifact in stacks:
        template_file = f"{artifact.artifact_id}.template.json"
        (directory / template_file).write_text(json.dumps(artifact.template))
        artifacts[artifact.artifact_id] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{artifact.account}/{artifact.region}",
            "properties": {
                "templateFile": template_file,
                "stackName": artifact.stack_name,
                "requiresBootstrapStackVersion": artifact.bootstrap_version,
                "bootstrapStackVersionSsmParameter": artifact.bootstrap_parameter,
            },
        }
    (directory / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    return directory


def zone_template(domain: str = DOMAIN) -> dict[str, Any]:
    """The Dns stack's zone as CDK writes it (the CDK metadata left out: moto cannot create it)."""
    return {"Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": f"{domain}."}}}


def bootstrap(aws: AwsClients, *regions: str, version: str = "21") -> None:
    for region in regions:
        aws.client("ssm", region).put_parameter(Name=BOOTSTRAP_PARAMETER, Value=version, Type="String")


def run(check: Check) -> Result:
    return check.evaluate()


@dataclass
class FakeResolver:
    """Public resolvers as a table: resolver address -> NS names it answers, or the failure it reports."""

    answers: Mapping[str, frozenset[str] | str]
    default: frozenset[str] | str = "NXDOMAIN"
    asked: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, resolver: str, domain: str) -> frozenset[str]:
        self.asked.append((resolver, domain))
        answer = self.answers.get(resolver, self.default)
        if isinstance(answer, str):
            raise LookupFailed(answer)
        return answer


def delegated_to(name_servers: frozenset[str]) -> FakeResolver:
    """Every public resolver answers these name servers."""
    return FakeResolver({}, default=name_servers)


@dataclass
class FakeRunner:
    """Records each command; a command starting with a registered prefix runs its action first."""

    codes: Mapping[tuple[str, ...], int] = field(default_factory=dict)
    actions: dict[tuple[str, ...], Callable[[], None]] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)

    def __call__(self, command: Sequence[str]) -> int:
        self.commands.append(list(command))
        for prefix, action in self.actions.items():
            if tuple(command[: len(prefix)]) == prefix:
                action()
        return next((code for p, code in self.codes.items() if tuple(command[: len(p)]) == p), 0)

    @property
    def cdk_verbs(self) -> list[str]:
        """Each command as `cdk <verb> [stack]`, without flags: the sequence a test asserts."""
        return [" ".join(_verb(command)) for command in self.commands]


def _verb(command: Sequence[str]) -> list[str]:
    words = []
    for arg in command[1:]:
        if arg.startswith("-") and arg != "--all":
            break
        words.append(arg)
    return words


def tools(aws: AwsClients, runner: FakeRunner, resolver: FakeResolver, assembly_dir: Path) -> Tools:
    return Tools(run=runner, aws=lambda _profile: aws, lookup=resolver, root=ROOT, assembly_dir=assembly_dir)
