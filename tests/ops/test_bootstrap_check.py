"""(b) The CDK bootstrap stack in every region, at the version the stacks require."""

from __future__ import annotations

from dr_ops.aws import AwsClients
from dr_ops.checks import Status
from dr_ops.checks.bootstrap import bootstrap_checks
from tests.ops.helpers import assembly, bootstrap, invocation, run, stack

APP = assembly(stack("PrimaryRegion", "us-east-1"), stack("DrRegion", "us-west-2"))


def test_a_current_bootstrap_in_every_region_passes(aws: AwsClients) -> None:
    # Given both regions bootstrapped at version 21
    bootstrap(aws, "us-east-1", "us-west-2")

    # When the bootstrap is checked
    results = [run(check) for check in bootstrap_checks(aws, APP, invocation())]

    # Then each region passes, with the version found and the version needed
    assert [(r.name, r.status) for r in results] == [
        ("bootstrap us-east-1", Status.PASS),
        ("bootstrap us-west-2", Status.PASS),
    ]
    assert results[0].outcome.found == "/cdk-bootstrap/hnb659fds/version = 21, stacks need >= 6"


def test_a_region_never_bootstrapped_fails_with_the_bootstrap_command(aws: AwsClients) -> None:
    # Given only the primary region bootstrapped
    bootstrap(aws, "us-east-1")

    # When the bootstrap is checked, with the user's context flags
    results = [run(c) for c in bootstrap_checks(aws, APP, invocation("-c", "account=123456789012"))]

    # Then the DR region fails and the fix is the bootstrap command for it, with the same flags
    assert results[1].status is Status.FAIL
    assert "not found" in results[1].outcome.found
    assert results[1].outcome.fix.startswith(
        "./dev cdk bootstrap aws://123456789012/us-west-2 -c account=123456789012"
    )
    assert "npx cdk bootstrap aws://123456789012/us-west-2" in results[1].outcome.fix


def test_a_bootstrap_older_than_the_stacks_need_fails(aws: AwsClients) -> None:
    # Given both regions bootstrapped at version 5, below the stacks' 6
    bootstrap(aws, "us-east-1", "us-west-2", version="5")

    # When the bootstrap is checked
    result = run(bootstrap_checks(aws, APP, invocation())[0])

    # Then it fails with both versions, and the fix bootstraps again
    assert result.status is Status.FAIL
    assert result.outcome.found == "/cdk-bootstrap/hnb659fds/version = 5, stacks need >= 6"
    assert "cdk bootstrap aws://123456789012/us-east-1" in result.outcome.fix
