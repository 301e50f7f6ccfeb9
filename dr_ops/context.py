"""What a command takes from its command line and from cdk.json, read the way `cdk` reads it."""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from dr_core.config import CONTEXT_KEYS, AppConfig

_CONTEXT_FLAGS = ("-c", "--context")


class UsageError(Exception):
    """A command line the commands cannot act on."""


class Parser(argparse.ArgumentParser):
    """A command's own flags; a bad one is a UsageError (exit 2, one line), not argparse's exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def positive_seconds(flag: str, seconds: float | None) -> float | None:
    """A duration flag's value, refused unless positive; None when not given."""
    if seconds is not None and seconds <= 0:
        raise UsageError(f"{flag} must be a positive number of seconds, not {seconds:g}")
    return seconds


@dataclass(frozen=True)
class Invocation:
    """The user's ``-c key=value`` overrides, and every other argument for `cdk` untouched."""

    context: tuple[tuple[str, str], ...]
    cdk_args: tuple[str, ...]
    # boto3 must use the profile `cdk` is told to use, or preflight checks another account.
    profile: str | None

    @classmethod
    def parse(cls, args: Sequence[str]) -> Invocation:
        context: list[tuple[str, str]] = []
        cdk_args: list[str] = []
        profile: str | None = None
        tokens = iter(args)
        for token in tokens:
            if token in _CONTEXT_FLAGS or token.startswith("--context="):
                pair = next(tokens, "") if token in _CONTEXT_FLAGS else token.removeprefix("--context=")
                key, separator, value = pair.partition("=")
                if not key or not separator:
                    raise UsageError(f"{token} needs key=value, got {pair!r}")
                context.append((key, value))
            elif token == "--profile" or token.startswith("--profile="):
                profile = next(tokens, "") if token == "--profile" else token.removeprefix("--profile=")
                if not profile:
                    raise UsageError("--profile needs a profile name")
                cdk_args.extend(("--profile", profile))
            else:
                cdk_args.append(token)
        return cls(context=tuple(context), cdk_args=tuple(cdk_args), profile=profile)

    @property
    def context_args(self) -> tuple[str, ...]:
        """The overrides as `cdk` takes them, so every cdk call sees the same context."""
        return tuple(arg for key, value in self.context for arg in ("-c", f"{key}={value}"))

    def shell_context(self) -> str:
        """The overrides quoted for a command a person copies from a fix."""
        return shlex.join(self.context_args)

    def config(self, root: Path) -> AppConfig:
        """cdk.json's context with the overrides on top, validated as app.py validates it.

        Raises ConfigError. Values from the command line stay strings, as `cdk` passes them.
        """
        context = json.loads((root / "cdk.json").read_text())["context"]
        context.update(self.context)
        return AppConfig.from_context({key: context.get(key) for key in CONTEXT_KEYS})
