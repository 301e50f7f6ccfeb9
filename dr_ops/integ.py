"""``integ``: the integration test on a real, disposable account (integ/dr_drill.py).

`cdk deploy --all` of the integration app deploys the whole platform and then the assertion stack,
which runs the DR drill and waits for a PASSED report with every lag within its RPO target; a failed
assertion fails the deploy. `cdk destroy --all` runs afterwards whatever happened, so a failed run
leaves no stack behind (retained data stays: see the README).

It needs a real account, a domain whose public zone is already delegated to Route 53 in that
account (``hostedZoneId``): certificates validate by DNS while the stacks deploy, and an issuer
(``jwtIssuer``). Evidence written by the drill is locked for one day (``evidenceRetentionDays=1``)
unless given, so the sandbox can be cleaned the next day.

Exit codes: 0 the drill passed and everything was destroyed; 2 usage or config; otherwise the
failed cdk command's exit code (the deploy's when both failed).
"""

from __future__ import annotations

from dr_ops.context import Invocation, UsageError
from dr_ops.tools import Tools, cdk

APP = "python -m integ.dr_drill"
REQUIRED = ("account", "domain", "hostedZoneId", "jwtIssuer")
DEFAULTS = {"evidenceRetentionDays": "1", "evidenceLockMode": "governance"}


def integ(invocation: Invocation, tools: Tools) -> int:
    given = {key for key, _ in invocation.context}
    missing = [key for key in REQUIRED if key not in given]
    if missing:
        raise UsageError(
            "the integration test deploys to a real account: give "
            + " ".join(f"-c {key}=..." for key in missing)
            + " (a sandbox account, a domain whose zone that account already hosts, your OIDC issuer)"
        )
    context = Invocation(
        context=(*((k, v) for k, v in DEFAULTS.items() if k not in given), *invocation.context),
        cdk_args=invocation.cdk_args,
        profile=invocation.profile,
    )
    # Validates the whole context that will be deployed first: a bad value fails here, not
    # half-way through a deploy.
    context.config(tools.root)
    common = ("--app", APP, *context.context_args)
    deployed = tools.run(cdk("deploy", "--all", "--require-approval", "never", *common, *context.cdk_args))
    destroyed = tools.run(cdk("destroy", "--all", "--force", *common, *context.cdk_args))
    return deployed or destroyed
