"""What the commands need from outside the process, injectable so tests replace each part."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dr_ops.aws import AwsClients
from dr_ops.dns_delegation import NsLookup, public_ns
from dr_ops.switch.io import SwitchIo

# Runs a command in the project root; returns its exit code.
CommandRunner = Callable[[Sequence[str]], int]


class CommandFailed(Exception):
    def __init__(self, command: Sequence[str], code: int) -> None:
        super().__init__(f"{shlex.join(command)} failed with exit code {code}")
        self.code = code


def subprocess_runner(root: Path) -> CommandRunner:
    def run(command: Sequence[str]) -> int:
        print(f"$ {shlex.join(command)}", file=sys.stderr, flush=True)
        # The child's stdout goes to stderr: stdout carries only the commands' own lines.
        return subprocess.run(list(command), cwd=root, stdout=sys.stderr, check=False).returncode

    return run


def cdk(*args: str) -> list[str]:
    """The pinned CDK CLI, as ./dev runs it (the venv's node first on PATH)."""
    return ["npx", "cdk", *args]


@dataclass(frozen=True)
class Tools:
    run: CommandRunner
    # profile (None: boto3's default chain) -> clients
    aws: Callable[[str | None], AwsClients]
    lookup: NsLookup
    # Where cdk.json lives and commands run.
    root: Path
    # Where `cdk synth` writes the cloud assembly the checks read.
    assembly_dir: Path
    # What failover and failback need besides: HTTP, authoritative DNS, a clock, a console, a person.
    switch: SwitchIo = field(default_factory=SwitchIo.real)

    @classmethod
    def real(cls, root: Path) -> Tools:
        return cls(
            run=subprocess_runner(root),
            aws=AwsClients.default,
            lookup=public_ns,
            root=root,
            assembly_dir=root / "cdk.out",
        )
