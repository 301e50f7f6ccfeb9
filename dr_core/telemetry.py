"""Names the stacks give to metrics and replication rules, which the operator commands read back.

Here, not in dr_constructs, so that `./dev failover` can read them without loading the CDK.
"""

from __future__ import annotations

from typing import Final

# Every custom metric of the app's functions (Powertools' namespace).
METRICS_NAMESPACE: Final = "OrdersDr"
# The drill's functions' service name: the "service" dimension of its metrics, and its asset folder.
DRILL_SERVICE: Final = "dr_drill"
# The drill's measured lag per replicated store (dimension "Store").
DRILL_LAG_METRIC: Final = "DrillReplicationLagSeconds"
# The one replication rule of the primary's data bucket (S3's replication metrics carry its ID).
S3_REPLICATION_RULE_ID: Final = "replicate-everything"
