"""The failover time the traffic configuration yields, checked against the target at synth."""

from __future__ import annotations

from dataclasses import dataclass

from dr_core.config import TrafficConfig
from dr_core.errors import ConfigError

# AWS publishes no figure for how long a health check's new status takes to
# reach every Route 53 name server; a few seconds is typical. A margin, stated.
ROUTE53_PROPAGATION_SECONDS = 10


@dataclass(frozen=True)
class RtoBudget:
    """Worst case from a region failing to clients resolving the other region.

    detection: the failure may start just after a passing check, so the last of
    `threshold` failing checks ends `interval x threshold` later.
    propagation: the status change reaching Route 53's answers.
    dns_cache: resolvers may hold the old answer for one TTL.
    """

    detection_seconds: int
    propagation_seconds: int
    dns_cache_seconds: int

    @classmethod
    def of(cls, traffic: TrafficConfig) -> RtoBudget:
        return cls(
            detection_seconds=traffic.health_check_interval_seconds * traffic.health_check_failure_threshold,
            propagation_seconds=ROUTE53_PROPAGATION_SECONDS,
            dns_cache_seconds=traffic.record_ttl_seconds,
        )

    @property
    def total_seconds(self) -> int:
        return self.detection_seconds + self.propagation_seconds + self.dns_cache_seconds

    def enforce(self, target_seconds: int) -> None:
        if self.total_seconds > target_seconds:
            raise ConfigError(
                "rtoTargetSeconds",
                f"the traffic settings fail over in up to {self.total_seconds} s (detection "
                f"{self.detection_seconds} + propagation {self.propagation_seconds} + DNS TTL "
                f"{self.dns_cache_seconds}), over the {target_seconds} s target: lower "
                "healthCheckIntervalSeconds, healthCheckFailureThreshold or recordTtlSeconds",
            )
