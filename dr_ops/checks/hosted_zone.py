"""(d) The public hosted zone of ``domain``, and whether the internet is delegated to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from botocore.exceptions import ClientError

from dr_core.config import AppConfig
from dr_ops.assembly import CloudAssembly
from dr_ops.aws import AwsClients, error_code
from dr_ops.checks import Check, Outcome, Status, failed, passed, pending, skipped
from dr_ops.dns_delegation import Delegation, NsLookup, check_delegation
from dr_ops.stack_resources import StackResources

# Route 53 is global; its API lives in us-east-1.
_ROUTE53_REGION = "us-east-1"


@dataclass(frozen=True)
class ZoneFinding:
    outcome: Outcome
    zone_id: str = ""
    name_servers: tuple[str, ...] = ()


class HostedZone:
    """Finds the zone once per run; the zone check and the delegation check share the answer."""

    def __init__(
        self,
        aws: AwsClients,
        config: AppConfig,
        assembly: CloudAssembly,
        owners: StackResources,
    ) -> None:
        self._route53 = aws.client("route53", _ROUTE53_REGION)
        self.domain = config.domain
        self._zone_id = config.traffic.hosted_zone_id
        self._declared = assembly.zone_stack()
        self._owners = owners

    @cached_property
    def finding(self) -> ZoneFinding:
        return self._given() if self._zone_id else self._created_by_app()

    def _given(self) -> ZoneFinding:
        fix = (
            f"pass the ID of the public zone of {self.domain} "
            f"(aws route53 list-hosted-zones-by-name --dns-name {self.domain}), "
            "or leave hostedZoneId empty so the app creates the zone"
        )
        try:
            answer = self._route53.get_hosted_zone(Id=self._zone_id)
        except ClientError as error:
            if error_code(error) != "NoSuchHostedZone":
                raise
            return ZoneFinding(failed(f"hostedZoneId {self._zone_id} does not exist in this account", fix))
        zone = answer["HostedZone"]
        name = str(zone["Name"])
        if zone["Config"].get("PrivateZone"):
            private = f"{self._zone_id} ({name}) is private; the certificates validate in public DNS"
            return ZoneFinding(failed(private, fix))
        if name.lower().rstrip(".") != self.domain:
            return ZoneFinding(failed(f"{self._zone_id} is the zone of {name}, not of {self.domain}", fix))
        servers = tuple(answer["DelegationSet"]["NameServers"])
        return ZoneFinding(passed(f"{self._zone_id} {name} public (hostedZoneId)"), self._zone_id, servers)

    def _created_by_app(self) -> ZoneFinding:
        zone_ids = list(self._public_zones_named_domain())
        owned = self._owner()
        stack = self._declared[0].stack_name if self._declared else "the zone stack"
        if owned and owned in zone_ids:
            servers = tuple(self._route53.get_hosted_zone(Id=owned)["DelegationSet"]["NameServers"])
            return ZoneFinding(passed(f"{owned} {self.domain}. public, in stack {stack}"), owned, servers)
        if zone_ids:
            # Route 53 allows two zones of one name: the app would add a second one nobody delegates to.
            return ZoneFinding(
                failed(
                    f"public zone {', '.join(zone_ids)} of {self.domain} exists outside stack {stack}",
                    f"use it: -c hostedZoneId={zone_ids[0]} (or delete it if nothing delegates to it)",
                )
            )
        return ZoneFinding(
            pending(f"no public zone of {self.domain} yet; ./dev deploy creates it first (stack {stack})")
        )

    def _owner(self) -> str | None:
        """The zone ID the app's zone stack holds, when that stack is deployed."""
        if self._declared is None:
            return None
        stack, zone = self._declared
        return self._owners.physical_id(stack, zone.logical_id)

    def _public_zones_named_domain(self) -> Iterator[str]:
        """IDs of public zones named exactly ``domain``.

        ListHostedZonesByName starts at the name and goes on alphabetically, so it also
        returns the next zones when there is none of that name; stop at the first other name.
        """
        wanted = f"{self.domain}."
        request = {"DNSName": wanted}
        while True:
            page = self._route53.list_hosted_zones_by_name(**request)
            for zone in page["HostedZones"]:
                if str(zone["Name"]).lower() != wanted:
                    return
                if not zone.get("Config", {}).get("PrivateZone"):
                    yield str(zone["Id"]).removeprefix("/hostedzone/")
            if not page.get("IsTruncated"):
                return
            request = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"]}


def zone_check(zone: HostedZone) -> Check:
    return Check("hosted zone", lambda: zone.finding.outcome)


def delegation_check(zone: HostedZone, lookup: NsLookup) -> Check:
    def run() -> Outcome:
        finding = zone.finding
        if finding.outcome.status is Status.PENDING:
            return pending("no zone to delegate to yet")
        if finding.outcome.status is not Status.PASS:
            return skipped("the hosted zone check failed")
        return delegation_outcome(delegation_of(zone, lookup))

    return Check("delegation", run)


def delegation_of(zone: HostedZone, lookup: NsLookup) -> Delegation:
    return check_delegation(zone.domain, zone.finding.name_servers, lookup)


def delegation_outcome(delegation: Delegation) -> Outcome:
    if delegation.delegated:
        return passed(f"{delegation.domain} is delegated to the zone: {delegation.describe_answers()}")
    return failed(
        f"{delegation.domain} is not delegated to the zone: {delegation.describe_answers()}",
        "create these NS records at the parent zone or registrar: " + "; ".join(delegation.ns_records()),
    )
