"""The cloud assembly `cdk synth` writes: its stacks, their environments and templates."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STACK_ARTIFACT = "aws:cloudformation:stack"
HOSTED_ZONE = "AWS::Route53::HostedZone"


class AssemblyError(Exception):
    """A cloud assembly the commands cannot read."""


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class StackArtifact:
    # What `cdk deploy <artifact_id>` selects: the construct ID, e.g. "Dns".
    artifact_id: str
    stack_name: str
    account: str
    region: str
    template: Mapping[str, Any]
    bootstrap_version: int | None
    bootstrap_parameter: str | None

    @property
    def resources(self) -> Iterator[Resource]:
        for logical_id, resource in self.template.get("Resources", {}).items():
            yield Resource(logical_id, resource["Type"], resource.get("Properties", {}))

    def resources_of(self, resource_type: str) -> Iterator[Resource]:
        return (resource for resource in self.resources if resource.type == resource_type)


@dataclass(frozen=True)
class CloudAssembly:
    stacks: tuple[StackArtifact, ...]

    @classmethod
    def read(cls, directory: Path) -> CloudAssembly:
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
        except (OSError, ValueError) as error:
            raise AssemblyError(f"cannot read {directory / 'manifest.json'}: {error}") from None
        stacks = tuple(
            _stack(directory, artifact_id, artifact)
            for artifact_id, artifact in manifest.get("artifacts", {}).items()
            if artifact.get("type") == STACK_ARTIFACT
        )
        return cls(stacks=stacks)

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({stack.region for stack in self.stacks}))

    def in_region(self, region: str) -> tuple[StackArtifact, ...]:
        return tuple(stack for stack in self.stacks if stack.region == region)

    def zone_stack(self) -> tuple[StackArtifact, Resource] | None:
        """The stack that creates the public hosted zone, and the zone: absent with ``hostedZoneId``."""
        for stack in self.stacks:
            for zone in stack.resources_of(HOSTED_ZONE):
                return stack, zone
        return None


def _stack(directory: Path, artifact_id: str, artifact: Mapping[str, Any]) -> StackArtifact:
    environment = str(artifact.get("environment", ""))
    account, _, region = environment.removeprefix("aws://").partition("/")
    # Environment-agnostic stacks leave these unresolved; this app always pins both.
    if not account.isdigit() or not region or region.startswith("unknown"):
        raise AssemblyError(f"stack {artifact_id} has no concrete environment ({environment!r})")
    properties = artifact.get("properties", {})
    template = json.loads((directory / properties["templateFile"]).read_text())
    version = properties.get("requiresBootstrapStackVersion")
    return StackArtifact(
        artifact_id=artifact_id,
        stack_name=properties.get("stackName", artifact_id),
        account=account,
        region=region,
        template=template,
        bootstrap_version=int(version) if version is not None else None,
        bootstrap_parameter=properties.get("bootstrapStackVersionSsmParameter"),
    )
