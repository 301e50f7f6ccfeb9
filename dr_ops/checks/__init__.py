"""Preflight checks: each is one named question about the account, answered by one line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from botocore.exceptions import NoCredentialsError

from dr_ops.aws import AwsError, describe


class Status(Enum):
    PASS = "pass"
    FAIL = "fail"
    # Not yet applicable: something a later deploy stage creates (the app's hosted zone).
    PENDING = "pending"
    # Does not apply here (another check's failure makes the answer meaningless).
    SKIP = "skip"


@dataclass(frozen=True)
class Outcome:
    status: Status
    found: str
    fix: str = ""


def passed(found: str) -> Outcome:
    return Outcome(Status.PASS, found)


def failed(found: str, fix: str) -> Outcome:
    return Outcome(Status.FAIL, found, fix)


def pending(found: str) -> Outcome:
    return Outcome(Status.PENDING, found)


def skipped(found: str) -> Outcome:
    return Outcome(Status.SKIP, found)


@dataclass(frozen=True)
class Result:
    name: str
    outcome: Outcome

    @property
    def status(self) -> Status:
        return self.outcome.status

    def line(self) -> str:
        """The check as one line: status, name, what was found, and for a failure the fix."""
        text = f"{self.status.name:<8} {self.name:<28} {self.outcome.found}"
        if self.outcome.fix:
            text += f" -- fix: {self.outcome.fix}"
        # AWS messages may carry newlines; the one-line-per-check contract must hold.
        return text.replace("\r", " ").replace("\n", " ")


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], Outcome]

    def evaluate(self) -> Result:
        try:
            return Result(self.name, self.run())
        except NoCredentialsError as error:
            fix = "configure credentials (aws configure or aws sso login; AWS_PROFILE or --profile)"
            return Result(self.name, failed(f"could not check: {describe(error)}", fix))
        except AwsError as error:
            fix = "use credentials that can make this read-only call (see the error), then run again"
            return Result(self.name, failed(f"could not check: {describe(error)}", fix))

    def skip(self, reason: str) -> Result:
        return Result(self.name, skipped(reason))
