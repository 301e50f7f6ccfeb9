"""The integration test for a real (sandbox) account: deploy the whole platform, run the DR drill,
assert it passed with every measured lag within its store's RPO target, destroy.

`./dev integ -c account=... -c domain=... -c hostedZoneId=...` runs it: `cdk deploy --all` of this
app deploys the platform, then the assertion stack, whose custom resources (aws-cdk.integ-tests-alpha)
start the drill and poll its execution until it succeeded with a PASSED report; a failed assertion
fails the deploy. `cdk destroy --all` follows whatever happened. This file only builds the app:
tests/test_integ.py checks its wiring without deploying.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest, Match

from app import config_of, run
from dr_core.config import DRILL_STORES
from dr_core.naming import Kind
from dr_core.shared_names import SharedNames, state_machine_arn
from stacks.platform import Platform, compose

# The drill takes about three minutes (its probes poll for at most two); the margin covers a cold start.
DRILL_TIMEOUT = cdk.Duration.minutes(20)
POLL_INTERVAL = cdk.Duration.seconds(30)


def build(app: cdk.App) -> tuple[Platform, IntegTest]:
    """The platform's stacks as app.py composes them (its synth in the test suite is the cdk-nag and
    cfn-lint gate; the assertion stack holds only integ-tests-alpha's provider), and the test."""
    config = config_of(app)
    platform = compose(app, config)
    observer = config.observer_region
    naming = config.naming
    assertions = cdk.Stack(
        app,
        "DrillAssertions",
        env=cdk.Environment(account=config.account, region=observer),
        stack_name=naming.name(Kind.STACK, "orders-integ-assertions", region=observer),
        description="Order-processing DR platform: the integration test's assertions (runs the DR drill)",
    )
    # The drill's state machine must exist before its execution is asked for.
    assertions.add_stack_dependency(platform.observer, "runs the observer's DR drill")
    test = IntegTest(
        app,
        "DrDrill",
        test_cases=platform.stacks,
        assertion_stack=assertions,
        diff_assets=False,
    )
    arn = state_machine_arn(
        SharedNames.of(config).drill_state_machine,
        region=observer,
        account=config.account,
        partition=cdk.Aws.PARTITION,
    )
    start = test.assertions.aws_api_call("StepFunctions", "startExecution", {"stateMachineArn": arn})
    finished = test.assertions.aws_api_call(
        "StepFunctions", "describeExecution", {"executionArn": start.get_att_string("executionArn")}
    )
    # The report step's output is the drill's report: PASSED only when every probe passed, and each
    # store's lag is judged against its RPO target (within_rpo).
    finished.expect(
        ExpectedResult.object_like(
            {
                "status": "SUCCEEDED",
                "output": Match.serialized_json(
                    Match.object_like(
                        {
                            "status": "PASSED",
                            "probes": Match.object_like(
                                {store: Match.object_like({"within_rpo": True}) for store in DRILL_STORES}
                            ),
                        }
                    )
                ),
            }
        )
    )
    finished.wait_for_assertions(total_timeout=DRILL_TIMEOUT, interval=POLL_INTERVAL, backoff_rate=1)
    start.next(finished)
    return platform, test


if __name__ == "__main__":
    sys.exit(run(build))
