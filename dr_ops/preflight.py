"""``preflight``: synthesize, then check read-only what a first deploy needs from the account."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from dr_core.config import AppConfig
from dr_ops.assembly import CloudAssembly
from dr_ops.aws import AwsClients
from dr_ops.checks import Check, Result, Status, skipped
from dr_ops.checks.account import account_check, region_checks, zone_checks
from dr_ops.checks.bootstrap import bootstrap_checks
from dr_ops.checks.concurrency import concurrency_checks
from dr_ops.checks.fixed_names import fixed_name_checks
from dr_ops.checks.hosted_zone import HostedZone, delegation_check, zone_check
from dr_ops.context import Invocation
from dr_ops.dns_delegation import NsLookup
from dr_ops.stack_resources import StackResources
from dr_ops.tools import CommandFailed, Tools, cdk


@dataclass(frozen=True)
class Plan:
    """What is about to be deployed: the validated config and the cloud assembly synthesized from it."""

    invocation: Invocation
    config: AppConfig
    assembly: CloudAssembly

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({*self.assembly.regions, self.config.primary.name, self.config.dr.name}))


def prepare(invocation: Invocation, tools: Tools, synth_args: Sequence[str]) -> Plan:
    """Validate the config (ConfigError: one line, no synth), then synthesize with the same context."""
    config = invocation.config(tools.root)
    output = ("--output", str(tools.assembly_dir))
    command = cdk("synth", "--quiet", *output, *invocation.context_args, *synth_args)
    code = tools.run(command)
    if code:
        raise CommandFailed(command, code)
    return Plan(invocation, config, CloudAssembly.read(tools.assembly_dir))


def checks(plan: Plan, aws: AwsClients, lookup: NsLookup, *, delegation: bool) -> list[Check]:
    """Every check but the account's, in the order they print. ``delegation=False`` leaves the
    delegation to a later stage (deploy checks it once the zone stack is deployed)."""
    owners = StackResources(aws)
    zone = HostedZone(aws, plan.config, plan.assembly, owners)
    later = Check("delegation", lambda: skipped("checked once the zone stack is deployed"))
    return [
        *region_checks(aws, plan.regions),
        *zone_checks(aws, plan.config),
        *bootstrap_checks(aws, plan.assembly, plan.invocation),
        *concurrency_checks(aws, plan.assembly, owners),
        zone_check(zone),
        delegation_check(zone, lookup) if delegation else later,
        *fixed_name_checks(aws, plan.assembly, owners, plan.invocation),
    ]


def run_checks(account: Check, others: Sequence[Check]) -> list[Result]:
    """Print one line per check as it completes. Checks against another account than the
    config's would answer for the wrong account: they are skipped when the account check fails."""
    first = account.evaluate()
    print(first.line(), flush=True)
    results = [first]
    for check in others:
        result = check.evaluate() if first.status is Status.PASS else check.skip("account check failed")
        print(result.line(), flush=True)
        results.append(result)
    counts = Counter(result.status.value for result in results)
    print("preflight: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())), file=sys.stderr)
    return results


def any_failed(results: Sequence[Result]) -> bool:
    return any(result.status is Status.FAIL for result in results)


def preflight(invocation: Invocation, tools: Tools) -> int:
    plan = prepare(invocation, tools, invocation.cdk_args)
    aws = tools.aws(invocation.profile)
    results = run_checks(account_check(aws, plan.config), checks(plan, aws, tools.lookup, delegation=True))
    return 1 if any_failed(results) else 0
