"""Copy SSM parameters from the primary region's path to the DR region's path.

Values live only in local variables between a GetParameter and a PutParameter:
nothing here logs, and what it returns carries names and counts, never a value
or a digest. Everything under the target path belongs to the replicator, which
deletes what has no source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
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

    def apply(self, source_name: str, operation: str) -> Change:
        """Mirror one Parameter Store change event.

        Anything but a delete re-reads the source instead of trusting the event, so a
        late or repeated event (Create, Update, LabelParameterVersion or one AWS adds
        later) still converges on the source's current value.
        """
        target = self.target_name(source_name)
        if target is None:
            return Change(source_name, None, Outcome.IGNORED)
        if operation == "Delete":
            return Change(source_name, target, self._delete(target))
        try:
            value = self.source.get_parameter(Name=source_name, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as error:
            if not _not_found(error):
                raise
            return Change(source_name, target, self._delete(target))
        self._put(target, value, self._current_tier(target))
        return Change(source_name, target, Outcome.REPLICATED)

    def reconcile(self) -> ReconcileReport:
        report = ReconcileReport()
        source_values = {p["Name"]: p["Value"] for p in self._values(self.source, self.source_path)}
        target_digests = {p["Name"]: _digest(p["Value"]) for p in self._values(self.target, self.target_path)}
        target_metadata = {p["Name"]: p for p in self._metadata(self.target, self.target_path)}

        expected: set[str] = set()
        for source_name in sorted(source_values):
            value = source_values[source_name]
            # GetParametersByPath only returns names under the source path, so every one maps.
            target = self.target_path + source_name[len(self.source_path) :]
            expected.add(target)
            metadata = target_metadata.get(target)
            if target not in target_digests:
                self._put(target, value, None)
                report.created.append(target)
            elif (
                target_digests[target] != _digest(value)
                or metadata is None
                or metadata.get("Type") != "SecureString"
                or metadata.get("KeyId") != self.target_key_id
            ):
                self._put(target, value, metadata.get("Tier") if metadata else None)
                report.updated.append(target)
            else:
                report.unchanged += 1

        for orphan in sorted(target_digests.keys() - expected):
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
        for parameter in self._describe(self.target, {"Key": "Name", "Option": "Equals", "Values": [name]}):
            return parameter.get("Tier")
        return None

    @staticmethod
    def _values(client: Any, path: str) -> Iterator[dict[str, Any]]:
        pages = client.get_paginator("get_parameters_by_path").paginate(
            Path=path, Recursive=True, WithDecryption=True
        )
        for page in pages:
            yield from page["Parameters"]

    @classmethod
    def _metadata(cls, client: Any, path: str) -> Iterator[dict[str, Any]]:
        return cls._describe(client, {"Key": "Path", "Option": "Recursive", "Values": [path.rstrip("/")]})

    @staticmethod
    def _describe(client: Any, parameter_filter: dict[str, Any]) -> Iterator[dict[str, Any]]:
        # DescribeParameters filters after paging, so a page can be empty yet not the last one.
        for page in client.get_paginator("describe_parameters").paginate(ParameterFilters=[parameter_filter]):
            yield from page["Parameters"]


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ParameterNotFound"
