from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from dr_core.config import AppConfig
from dr_core.rto import RtoBudget
from dr_core.shared_names import SharedNames
from stacks.database_replica_stack import DatabaseReplicaStack
from stacks.dns_stack import DnsStack
from stacks.dr_region import DrRegionStack
from stacks.observer_stack import ObserverStack
from stacks.primary_region import PrimaryRegionStack
from stacks.routing_stack import RoutingStack


@dataclass(frozen=True)
class Platform:
    config: AppConfig
    rto: RtoBudget
    dns: DnsStack | None
    dr: DrRegionStack
    primary: PrimaryRegionStack
    database_replica: DatabaseReplicaStack
    routing: RoutingStack
    observer: ObserverStack

    @property
    def stacks(self) -> list[cdk.Stack]:
        stacks = (self.dns, self.dr, self.primary, self.database_replica, self.routing, self.observer)
        return [s for s in stacks if s is not None]


def compose(app: cdk.App, config: AppConfig) -> Platform:
    """The stacks, in the order `cdk deploy --all` must follow.

    DNS first (when the app creates the zone): both regions validate their
    certificates in it. DR next: the primary's global-table replica, replication
    rule and alert subscriptions name the DR key, bucket, topic and forwarder.
    The DR region's database replica after the primary: its source must exist.
    Routing after both regions: its health checks call their names. The observer
    last: it reads the routing stack's health check IDs and the primary's FIS
    template IDs, and subscribes to the routing topic. The stacks share no
    tokens, only names from the naming convention (generated IDs are read at
    deploy time), so these dependencies are the only ones: no cycle.
    """
    rto = RtoBudget.of(config.traffic)
    rto.enforce(config.traffic.rto_target_seconds)
    names = SharedNames.of(config)
    dns = None if config.traffic.hosted_zone_id else DnsStack(app, "Dns", config=config, names=names)
    dr = DrRegionStack(app, "DrRegion", config=config, names=names)
    primary = PrimaryRegionStack(app, "PrimaryRegion", config=config, names=names)
    database_replica = DatabaseReplicaStack(app, "DatabaseReplica", config=config, names=names)
    routing = RoutingStack(app, "Routing", config=config, names=names, rto=rto)
    observer = ObserverStack(app, "Observer", config=config, names=names, rto=rto)
    if dns:
        dr.add_stack_dependency(dns, "validates its certificate in the hosted zone")
        primary.add_stack_dependency(dns, "validates its certificate in the hosted zone")
    primary.add_stack_dependency(dr, "replicates into the DR key and bucket, subscribes the DR forwarder")
    database_replica.add_stack_dependency(primary, "copies the primary's database")
    routing.add_stack_dependency(primary, "checks both regions' health routes by their names")
    observer.add_stack_dependency(routing, "reads the health check IDs and subscribes to the routing topic")
    observer.add_stack_dependency(primary, "reads the FIS experiment template IDs")
    platform = Platform(
        config=config,
        rto=rto,
        dns=dns,
        dr=dr,
        primary=primary,
        database_replica=database_replica,
        routing=routing,
        observer=observer,
    )
    for stack in platform.stacks:
        cdk.Tags.of(stack).add("Application", "orders-dr")
        cdk.Tags.of(stack).add("Environment", config.environment)
    return platform
