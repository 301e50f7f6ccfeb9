"""What the failover switch, the order function and the health checks agree on.

A region is *fenced* while the orders table holds the item ``fence_key(region)``. The switch
writes it in the region taking over (a DynamoDB write there is a data-plane call that needs
nothing of the old primary nor of us-east-1) and it replicates to every replica:

- the fenced region's order function refuses writes (global tables resolve concurrent writes to
  one order by last writer wins, so two regions must never take writes at once);
- every region's health answer names the fenced regions (``fenced_token``), and the primary's
  record carries an inverted Route 53 check of that token on the standby's health route: when
  the standby says the primary is fenced, the primary is unhealthy and DNS answers with the
  standby. If the standby itself is down, its check fails, the inversion reads healthy, and the
  primary keeps its traffic ("standby takes over primary").

The order function's asset cannot import this package; it keeps copies of these values, and a
test holds them equal.
"""

from __future__ import annotations

# '#' is outside ORDER_ID_PATTERN, so no client can read or write these items as orders.
FENCE_KEY_PREFIX = "control#fence#"


def fence_key(region: str) -> str:
    return f"{FENCE_KEY_PREFIX}{region}"


def fenced_token(region: str) -> str:
    """What a health answer holds, quoted, while ``region`` is fenced: Route 53's search string."""
    return f'"fenced:{region}"'
