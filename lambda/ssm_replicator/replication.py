"""Copy SSM parameters from the primary region's path to the DR region's path.

Values live only in local variables between a GetParameter and a PutParameter:
nothing here logs, and what it returns carries names and counts, never a value
or a digest. Everything under the target path belongs to the replicator, which
deletes what has no source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

# Parameter Store's limit for a Standard-tier value; larger values need the Advanced tier.
STANDARD_TIER_MAX_BYTES = 4096


class Outcome(StrEnum):
    REPLICATED = "replicated"
    DELETED = "deleted"
    ABSENT = "absent"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Change:
    name: str
    target: str | None
    outcome: Outcome


class OutOfTime(RuntimeError):
    """A reconcile stopped before a call that might not finish before the function times out.

    Raised, so Lambda retries the event: the retry skips what is already in sync and carries on.
    """


@dataclass(frozen=True)
class Budget:
    """What a reconcile may still spend: Lambda's remaining time, less the longest one call can take."""

    remaining_ms: Callable[[], int]
    reserve_seconds: float

    def check(self) -> None:
        remaining = self.remaining_ms() / 1000
        if remaining < self.reserve_seconds:
            raise OutOfTime(
                f"reconcile stopped with {remaining:.1f} s left, under the {self.reserve_seconds:.1f} s "
                "one more call may take; the retry carries on from what is already in sync"
            )


@dataclass
class ReconcileReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "unchanged": self.unchanged,
        }


class Replicator:
    def __init__(
        self, *, source: Any, target: Any, source_path: str, target_path: str, target_key_id: str
    ) -> None:
        self.source = source
        self.target = target
        self.source_path = source_path
        self.target_path = target_path
        self.target_key_id = target_key_id

    def target_name(self, source_name: str) -> str | None:
        if not source_name.startswith(self.source_path):
            return None
        return self.target_path + source_name[len(self.source_path) :]

    def apply(self, source_name: str) -> Change:
        """Mirror one Parameter Store change event, whatever its operation.

        The source is re-read every time, Delete included, instead of trusting the event: a late or
        retried event (a Delete after a re-Create, an Update after a Delete) converges on the
        source's current state rather than replaying a past one.
        """
        target = self.target_name(source_name)
        if target is None:
            return Change(source_name, None, Outcome.IGNORED)
        try:
            value = self.source.get_parameter(Name=source_name, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as error:
            if not _not_found(error):
                raise
            return Change(source_name, target, self._delete(target))
        self._put(target, value, self._current_tier(target))
        return Change(source_name, target, Outcome.REPLICATED)

    def reconcile(self, budget: Budget) -> ReconcileReport:
        """Make the target path mirror the source path; raises OutOfTime, before any call the budget
        cannot cover, rather than be killed mid-way by the function timeout."""
        report = ReconcileReport()
        source_values = {p["Name"]: p["Value"] for p in self._values(self.source, self.source_path, budget)}
        target_digests = {
            p["Name"]: _digest(p["Value"]) for p in self._values(self.target, self.target_path, budget)
        }
        target_metadata = {p["Name"]: p for p in self._metadata(self.target, self.target_path, budget)}

        expected: set[str] = set()
        for source_name in sorted(source_values):
            value = source_values[source_name]
            # GetParametersByPath only returns names under the source path, so every one maps.
            target = self.target_path + source_name[len(self.source_path) :]
            expected.add(target)
            metadata = target_metadata.get(target)
            if target not in target_digests:
                budget.check()
                self._put(target, value, None)
                report.created.append(target)
            elif (
                target_digests[target] != _digest(value)
                or metadata is None
                or metadata.get("Type") != "SecureString"
                or metadata.get("KeyId") != self.target_key_id
            ):
                budget.check()
                self._put(target, value, metadata.get("Tier") if metadata else None)
                report.updated.append(target)
            else:
                report.unchanged += 1

        for orphan in sorted(target_digests.keys() - expected):
            budget.check()
            if self._delete(orphan) is Outcome.DELETED:
                report.deleted.append(orphan)
        return report

    def _put(self, name: str, value: str, current_tier: str | None) -> None:
        # Parameter Store refuses to move an Advanced parameter back to Standard.
        advanced = len(value.encode()) > STANDARD_TIER_MAX_BYTES or current_tier == "Advanced"
        self.target.put_parameter(
            Name=name,
            Value=value,
            Type="SecureString",
            KeyId=self.target_key_id,
            Overwrite=True,
            Tier="Advanced" if advanced else "Standard",
        )

    def _delete(self, name: str) -> Outcome:
        try:
            self.target.delete_parameter(Name=name)
        except ClientError as error:
            if not _not_found(error):
                raise
            return Outcome.ABSENT
        return Outcome.DELETED

    def _current_tier(self, name: str) -> str | None:
        pages = self._describe_pages(self.target, {"Key": "Name", "Option": "Equals", "Values": [name]})
        return next((parameter.get("Tier") for page in pages for parameter in page["Parameters"]), None)

    @staticmethod
    def _values(client: Any, path: str, budget: Budget) -> Iterator[dict[str, Any]]:
        pages = client.get_paginator("get_parameters_by_path").paginate(
            Path=path, Recursive=True, WithDecryption=True
        )
        for page in _within(budget, pages):
            yield from page["Parameters"]

    @classmethod
    def _metadata(cls, client: Any, path: str, budget: Budget) -> Iterator[dict[str, Any]]:
        pages = cls._describe_pages(
            client, {"Key": "Path", "Option": "Recursive", "Values": [path.rstrip("/")]}
        )
        for page in _within(budget, pages):
            yield from page["Parameters"]

    @staticmethod
    def _describe_pages(client: Any, parameter_filter: dict[str, Any]) -> Iterable[dict[str, Any]]:
        # DescribeParameters filters after paging, so a page can be empty yet not the last one.
        pages: Iterable[dict[str, Any]] = client.get_paginator("describe_parameters").paginate(
            ParameterFilters=[parameter_filter]
        )
        return pages


def _within(budget: Budget, pages: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The pages, with the budget checked before each page's call (a paginator calls on next())."""
    iterator = iter(pages)
    while True:
        budget.check()
        page = next(iterator, None)
        if page is None:
            return
        yield page


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _not_found(error: ClientError) -> bool:
    code: str = error.response.get("Error", {}).get("Code", "")
    return code == "ParameterNotFound"
