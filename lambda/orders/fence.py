"""Fences: a region is fenced for failover while the orders table holds its fence item.

The failover switch writes the item in the region taking over and it replicates to every replica. A fenced
region takes no new orders (global tables settle two regions' writes to one order by last writer wins, so two
regions must never take writes at once), and every region's health answer names the fenced regions.

This asset is packaged alone and cannot import dr_core: FENCE_KEY_PREFIX and the marker's format are copies of
dr_core.failover's, held equal by a test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from order_store import aws_errors_as_unavailable

# '#' is outside ORDER_ID_PATTERN, so no client can read or write these items as orders.
FENCE_KEY_PREFIX = "control#fence#"

# How long a fence read is trusted. A fence takes effect on writes here within this plus the table's
# replication lag (typically about a second) after the switch writes it; lifting one, likewise.
FENCE_CACHE_SECONDS = 5.0

# The fence is read before a write, on a client of its own: one attempt with short timeouts, so that the
# read's worst case (1.5 s) and the write's (order_store.CLIENT_CONFIG: 7 s) together stay inside the
# function's 10 s and a stalled table still gets the client a 503. A consistent GetItem of one small item
# answers in milliseconds; a failed read is a retryable 503, and the client's next attempt reads again.
FENCE_CLIENT_CONFIG = Config(
    connect_timeout=0.5, read_timeout=1, retries={"total_max_attempts": 1, "mode": "standard"}
)

Clock = Callable[[], float]


def fence_key(region: str) -> str:
    return f"{FENCE_KEY_PREFIX}{region}"


def fence_marker(region: str) -> str:
    """The string a health answer lists while ``region`` is fenced. JSON-encoded (quoted), it is
    dr_core.failover.fenced_token(region): the string Route 53's inverted check searches for."""
    return f"fenced:{region}"


class FenceReader:
    """Whether this function's own region is fenced, read from its local replica.

    A consistent read, so a fence that has arrived in this replica is seen at once; the answer is kept for
    FENCE_CACHE_SECONDS so that writes do not each pay for a second read. A failed read is not kept: it
    raises StoreUnavailable, like any other failed call of the order path, and the next request reads again.
    """

    def __init__(self, table_name: str, region: str, client: Any, clock: Clock = time.monotonic) -> None:
        self._table_name = table_name
        self._key = {"order_id": {"S": fence_key(region)}}
        self._client = client
        self.clock = clock
        self._fenced = False
        self._read_at: float | None = None

    def is_fenced(self) -> bool:
        # Timed from before the read: the answer is never trusted for longer than FENCE_CACHE_SECONDS
        # after the moment it could last have been true.
        now = self.clock()
        if self._read_at is not None and now - self._read_at < FENCE_CACHE_SECONDS:
            return self._fenced
        with aws_errors_as_unavailable():
            response = self._client.get_item(
                TableName=self._table_name,
                Key=self._key,
                ConsistentRead=True,
                # Presence is the answer; whatever the switch records in the item is not read.
                ProjectionExpression="order_id",
            )
        self._fenced, self._read_at = "Item" in response, now
        return self._fenced
