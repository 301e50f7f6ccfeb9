"""The failover times the traffic configuration yields, checked against the target at synth."""

from __future__ import annotations

from dataclasses import dataclass

from dr_core.config import TrafficConfig
from dr_core.errors import ConfigError

# AWS publishes no figure for how long a health check's new status (and the calculated check
# built on it) takes to reach every Route 53 name server; a few seconds is typical. A margin, stated.
ROUTE53_PROPAGATION_SECONDS = 10
# ./dev failover before its fence write: the target's health route, the lag and capacity reads.
# Its timed report shows what a run really took.
SWITCH_PRECHECK_SECONDS = 10


@dataclass(frozen=True)
class RtoBudget:
    """Worst case from a failure (or a decision) to clients resolving the other region.

    detection: the failure may start just after a passing check, so the last of `threshold`
    failing checks of the region's health route ends `interval x threshold` later. A manual
    switch is detected the same way: the standby's health route names the primary fenced, and
    the inverted check needs `threshold` results to turn.
    propagation: the status change reaching Route 53's answers.
    dns_cache: resolvers may hold the old answer for one TTL.
    switch: manual failover only, the command's pre-checks before its fence write.
    """

    detection_seconds: int
    propagation_seconds: int
    dns_cache_seconds: int
    switch_seconds: int

    @classmethod
    def of(cls, traffic: TrafficConfig) -> RtoBudget:
        return cls(
            detection_seconds=traffic.health_check_interval_seconds * traffic.health_check_failure_threshold,
            propagation_seconds=ROUTE53_PROPAGATION_SECONDS,
            dns_cache_seconds=traffic.record_ttl_seconds,
            switch_seconds=SWITCH_PRECHECK_SECONDS,
        )

    @property
    def automatic_seconds(self) -> int:
        return self.detection_seconds + self.propagation_seconds + self.dns_cache_seconds

    @property
    def manual_seconds(self) -> int:
        return self.switch_seconds + self.automatic_seconds

    def describe(self) -> str:
        return (
            f"automatic {self.automatic_seconds} s (detection {self.detection_seconds} + propagation "
            f"{self.propagation_seconds} + DNS TTL {self.dns_cache_seconds}), manual {self.manual_seconds} s "
            f"(the same after {self.switch_seconds} s of pre-checks)"
        )

    def enforce(self, target_seconds: int) -> None:
        if self.manual_seconds > target_seconds:
            raise ConfigError(
                "rtoTargetSeconds",
                f"the traffic settings fail over in up to {self.describe()}, over the {target_seconds} s "
                "target: lower healthCheckIntervalSeconds, healthCheckFailureThreshold or recordTtlSeconds",
            )
