"""The switch itself: one DynamoDB write (or delete) of fence items in the orders global table.

Written through the region traffic moves to: a data-plane call there needs nothing of the old
primary nor of us-east-1, and the item replicates to every replica. The same write through the
other region is best effort, in the background: it may land sooner than replication where that
region still answers, and when it does not answer, the switch must not wait on its timeouts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dr_core.failover import fence_key
from dr_ops.aws import AwsClients, describe

# How long the report waits for the best-effort write once DNS is verified (its own client bounds it).
BEST_EFFORT_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Fence:
    """A fence item: while it exists, ``region``'s order function refuses writes and its record
    turns unhealthy in Route 53."""

    region: str
    fenced_at: str
    fenced_by: str
    reason: str

    @property
    def key(self) -> str:
        return fence_key(self.region)

    def item(self) -> dict[str, dict[str, str]]:
        return {
            "order_id": {"S": self.key},
            "fenced_at": {"S": self.fenced_at},
            "fenced_by": {"S": self.fenced_by},
            "reason": {"S": self.reason},
        }

    def plain(self) -> dict[str, str]:
        return {name: value["S"] for name, value in self.item().items()}


@dataclass(frozen=True)
class Write:
    """What the switch writes: a fence to put (failover), or fence keys to delete (failback)."""

    table: str
    put: Fence | None = None
    delete: tuple[str, ...] = ()

    def apply(self, aws: AwsClients, region: str) -> None:
        dynamodb = aws.client("dynamodb", region)
        if self.put is not None:
            dynamodb.put_item(TableName=self.table, Item=self.put.item())
        for key in self.delete:
            # Deleting an absent item succeeds: failback is safe to repeat.
            dynamodb.delete_item(TableName=self.table, Key={"order_id": {"S": key}})

    @property
    def verb(self) -> str:
        return "write" if self.put is not None else "delete"

    def describe(self) -> str:
        parts = [f"put {json.dumps(self.put.plain())}"] if self.put is not None else []
        if self.delete:
            parts.append(f"delete {', '.join(self.delete)}")
        return f"{' and '.join(parts)} in {self.table}"


def read_fences(aws: AwsClients, table: str, region: str, regions: tuple[str, ...]) -> Mapping[str, Any]:
    """The fence items that exist, by fenced region, read consistently through ``region``."""
    dynamodb = aws.client("dynamodb", region)
    found = {}
    for fenced in regions:
        answer = dynamodb.get_item(
            TableName=table, Key={"order_id": {"S": fence_key(fenced)}}, ConsistentRead=True
        )
        if "Item" in answer:
            found[fenced] = {name: value.get("S", "") for name, value in answer["Item"].items()}
    return found


class BestEffort:
    """Runs one call in a daemon thread: the process never waits on it beyond ``outcome``'s wait."""

    def __init__(self, call: Callable[[], None]) -> None:
        self._outcome = ""
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], None]) -> None:
        try:
            call()
            self._outcome = "landed"
        except Exception as error:  # whatever it was, the switch goes on and the report says so
            self._outcome = f"failed: {describe(error)}"

    def outcome(self, wait_seconds: float = BEST_EFFORT_WAIT_SECONDS) -> str:
        self._thread.join(wait_seconds)
        return self._outcome or f"no answer after {wait_seconds:g} s more (still trying)"
