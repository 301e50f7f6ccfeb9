"""What Route 53 says about a region: its health check by the checkers' own reports, and which
region the zone's authoritative name servers answer the API name with.

Neither is read from Route 53's API in a way that could lag the data plane: a health check's
status is what its checkers reported last, judged by the rule Route 53 itself applies, and DNS is
asked of the zone's own servers (see dns_wire for why not a caching resolver).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from botocore.client import BaseClient
from dns_wire import DnsQueryFailed

# Route 53 considers an endpoint healthy while MORE than 18 % of its checkers report it healthy:
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html
# ("If more than 18% of health checkers report that an endpoint is healthy, Route 53 considers it
# healthy"). GetHealthCheckStatus gives each checker's last report; one that succeeded starts
# with "Success". moto answers one fixed "Success" observation, so the tests play the checkers.
HEALTHY_PERCENT = 18
# Seconds for one DNS question to one server (UDP, and TCP only after a truncated reply).
DNS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class CheckView:
    """A health check as Route 53 judges it: healthy None while no checker has reported."""

    succeeding: int
    reporting: int

    @property
    def healthy(self) -> bool | None:
        if not self.reporting:
            return None
        return self.succeeding * 100 > HEALTHY_PERCENT * self.reporting

    @property
    def note(self) -> str:
        return f"{self.succeeding}/{self.reporting} checkers Success"


def health_check_view(route53: BaseClient, health_check_id: str) -> CheckView:
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
    succeeding = sum(
        1 for o in observations if o.get("StatusReport", {}).get("Status", "").startswith("Success")
    )
    return CheckView(succeeding, len(observations))


class QueryNs(Protocol):
    def __call__(self, resolver: str, zone: str, *, timeout: float) -> list[str]: ...


class QueryCname(Protocol):
    def __call__(self, server: str, name: str, *, timeout: float) -> str: ...


@dataclass(frozen=True)
class DnsView:
    """The region every authoritative server names (None unless they all name the same one)."""

    region: str | None
    note: str


class AuthoritativeDns:
    """The zone's name servers, found once through the first resolver that answers, and each
    server's answer for the API name."""

    def __init__(
        self,
        zone: str,
        name: str,
        regional_names: Mapping[str, str],
        resolvers: Sequence[str],
        query_ns: QueryNs,
        query_cname: QueryCname,
    ) -> None:
        self._zone, self._name, self._resolvers = zone, name, resolvers
        self._regions = {target: region for region, target in regional_names.items()}
        self._query_ns, self._query_cname = query_ns, query_cname
        self._servers: list[str] | None = None

    def view(self) -> DnsView:
        """Ask every server now. A server that fails to answer names no region."""
        try:
            servers = self._name_servers()
        except DnsQueryFailed as error:
            return DnsView(None, f"no resolver gave the zone's name servers ({error})")
        answers = {server: self._answer(server) for server in servers}
        named = {region for region, _ in answers.values()}
        region = named.pop() if len(named) == 1 else None
        if region is not None:
            return DnsView(region, f"{len(servers)}/{len(servers)} servers answer {region}")
        return DnsView(
            None, "; ".join(f"{server.rstrip('.')}: {note}" for server, (_, note) in answers.items())
        )

    def _name_servers(self) -> list[str]:
        if self._servers is None:
            failure = DnsQueryFailed("no resolver configured")
            for resolver in self._resolvers:
                try:
                    servers = self._query_ns(resolver, self._zone, timeout=DNS_TIMEOUT_SECONDS)
                except DnsQueryFailed as error:
                    failure = error
                    continue
                self._servers = sorted(set(servers))
                break
            else:
                raise failure
        return self._servers

    def _answer(self, server: str) -> tuple[str | None, str]:
        try:
            target = self._query_cname(server, self._name, timeout=DNS_TIMEOUT_SECONDS)
        except DnsQueryFailed as error:
            return None, f"no answer ({error})"
        target = target.lower().rstrip(".")
        region = self._regions.get(target)
        return region, region if region else f"answers {target}, no region's name"
