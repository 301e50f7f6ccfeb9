from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from dr_core.config import AppConfig
from dr_core.shared_names import SharedNames
from stacks.dr_region import DrRegionStack
from stacks.global_stack import GlobalStack
from stacks.primary_region import PrimaryRegionStack


@dataclass(frozen=True)
class Platform:
    config: AppConfig
    dr: DrRegionStack
    primary: PrimaryRegionStack
    global_: GlobalStack


def compose(app: cdk.App, config: AppConfig) -> Platform:
    """The three stacks, in the order `cdk deploy --all` must follow.

    DR first: the primary's global-table replica and replication rule name the DR
    key and bucket. Global last: it watches both. The stacks share no tokens,
    only names from the naming convention, so these dependencies are the only
    ones and there is no cycle.
    """
    names = SharedNames.of(config)
    dr = DrRegionStack(app, "DrRegion", config=config, names=names)
    primary = PrimaryRegionStack(app, "PrimaryRegion", config=config, names=names)
    primary.add_stack_dependency(dr, "replicates into the DR key and bucket")
    global_ = GlobalStack(app, "Global", config=config, names=names)
    global_.add_stack_dependency(primary, "watches both regions' resources")
    for stack in (dr, primary, global_):
        cdk.Tags.of(stack).add("Application", "orders-dr")
        cdk.Tags.of(stack).add("Environment", config.environment)
    return Platform(config=config, dr=dr, primary=primary, global_=global_)
