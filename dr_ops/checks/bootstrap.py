"""(b) The CDK bootstrap stack, at the version the synthesized stacks require, in every region."""

from __future__ import annotations

from botocore.exceptions import ClientError

from dr_ops.assembly import CloudAssembly, StackArtifact
from dr_ops.aws import AwsClients, error_code
from dr_ops.checks import Check, Outcome, failed, passed
from dr_ops.context import Invocation


def bootstrap_checks(aws: AwsClients, assembly: CloudAssembly, invocation: Invocation) -> list[Check]:
    checks = []
    for region in assembly.regions:
        stacks = assembly.in_region(region)
        # Every stack of a region needs the same bootstrap: the strictest requirement counts.
        needed = max(stacks, key=lambda stack: stack.bootstrap_version or 0)
        checks.append(_bootstrap_check(aws, needed, invocation))
    return checks


def _bootstrap_check(aws: AwsClients, stack: StackArtifact, invocation: Invocation) -> Check:
    target = f"aws://{stack.account}/{stack.region}"
    fix = f"./dev cdk bootstrap {target} {invocation.shell_context()}".rstrip()
    fix += f" (runs npx cdk bootstrap {target})"

    def run() -> Outcome:
        if stack.bootstrap_parameter is None or stack.bootstrap_version is None:
            return passed("the stacks name no bootstrap requirement")
        try:
            answer = aws.client("ssm", stack.region).get_parameter(Name=stack.bootstrap_parameter)
        except ClientError as error:
            if error_code(error) != "ParameterNotFound":
                raise
            return failed(f"not bootstrapped ({stack.bootstrap_parameter} not found)", fix)
        value = str(answer["Parameter"]["Value"])
        found = f"{stack.bootstrap_parameter} = {value}, stacks need >= {stack.bootstrap_version}"
        if value.isdigit() and int(value) >= stack.bootstrap_version:
            return passed(found)
        return failed(found, fix)

    return Check(f"bootstrap {stack.region}", run)
