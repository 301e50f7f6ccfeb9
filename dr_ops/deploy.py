"""``deploy``: the first deploy in stages, so no certificate waits on an undelegated zone.

`cdk deploy --all` alone deploys the app's zone and at once the regional stacks, whose
DNS-validated certificates then wait for a delegation nobody has made until
CloudFormation times out. Here: (1) preflight; (2) when the app creates the zone,
deploy only its stack and stop until the domain is delegated to it; (3) everything.
Every stage is safe to repeat: a second run deploys nothing new and passes through.
"""

from __future__ import annotations

from dr_ops.aws import AwsClients
from dr_ops.checks import Result, Status
from dr_ops.checks.account import account_check
from dr_ops.checks.hosted_zone import HostedZone, delegation_of, delegation_outcome
from dr_ops.context import Invocation
from dr_ops.dns_delegation import Delegation
from dr_ops.preflight import Plan, any_failed, checks, prepare, run_checks
from dr_ops.stack_resources import StackResources
from dr_ops.tools import Tools, cdk

# Exit code of a deploy stopped until the domain is delegated: not an error, a step for a person.
AWAITING_DELEGATION = 3


def deploy(invocation: Invocation, tools: Tools) -> int:
    # Deploy options (e.g. --require-approval) mean nothing to synth: only the context goes there.
    plan = prepare(invocation, tools, ())
    aws = tools.aws(invocation.profile)
    app_creates_zone = not plan.config.traffic.hosted_zone_id
    print("deploy: stage 1 of 3: preflight", flush=True)
    results = run_checks(
        account_check(aws, plan.config), checks(plan, aws, tools.lookup, delegation=not app_creates_zone)
    )
    if any_failed(results):
        print("deploy: stopped, nothing deployed: fix the failed checks above, then run ./dev deploy again")
        return 1
    if app_creates_zone:
        code = _deploy_zone(plan, aws, tools)
        if code:
            return code
    else:
        print("deploy: stage 2 of 3: skipped, the zone exists (hostedZoneId)", flush=True)
    print("deploy: stage 3 of 3: every stack", flush=True)
    return tools.run(cdk("deploy", "--all", *invocation.context_args, *invocation.cdk_args))


def _deploy_zone(plan: Plan, aws: AwsClients, tools: Tools) -> int:
    declared = plan.assembly.zone_stack()
    if declared is None:
        print("deploy: the cloud assembly has no hosted zone stack although hostedZoneId is empty")
        return 1
    stack = declared[0]
    print(f"deploy: stage 2 of 3: the hosted zone ({stack.artifact_id}), then its delegation", flush=True)
    invocation = plan.invocation
    code = tools.run(cdk("deploy", stack.artifact_id, *invocation.context_args, *invocation.cdk_args))
    if code:
        return code
    # Asked afresh: the zone did not exist when preflight looked.
    zone = HostedZone(aws, plan.config, plan.assembly, StackResources(aws))
    if zone.finding.outcome.status is not Status.PASS:
        print(Result("hosted zone", zone.finding.outcome).line())
        return 1
    delegation = delegation_of(zone, tools.lookup)
    if not delegation.delegated:
        print(_awaiting(delegation, zone.finding.zone_id))
        return AWAITING_DELEGATION
    print(Result("delegation", delegation_outcome(delegation)).line(), flush=True)
    return 0


def _awaiting(delegation: Delegation, zone_id: str) -> str:
    records = "\n".join(f"  {record}" for record in delegation.ns_records())
    return (
        f"deploy: stopped before the regional stacks: {delegation.domain} is not delegated to its hosted "
        f"zone {zone_id} yet ({delegation.describe_answers()}).\n"
        f"Create these NS records in the parent zone of {delegation.domain} (or set these name servers "
        f"at its registrar):\n{records}\n"
        "Then run ./dev deploy again, with the same flags, once public resolvers return them "
        f"(dig +short NS {delegation.domain} @8.8.8.8). Stopping here keeps the certificates from "
        "waiting on DNS validation until CloudFormation times out."
    )
