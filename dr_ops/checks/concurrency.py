"""(c) Lambda reserved concurrency: what the templates reserve must leave AWS's unreserved minimum.

"Lambda reserves 10 concurrent executions ... unreserved" for functions without a
reservation, so a reservation that would take the account's unreserved pool below
10 fails: https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dr_ops.assembly import CloudAssembly, Resource, StackArtifact
from dr_ops.aws import AwsClients, error_code
from dr_ops.checks import Check, Outcome, failed, passed
from dr_ops.stack_resources import StackResources

# The documented minimum of unreserved concurrency per account and region (page above).
MINIMUM_UNRESERVED = 10
LAMBDA_FUNCTION = "AWS::Lambda::Function"
# Service Quotas code of Lambda's "Concurrent executions" quota.
_QUOTA_CODE = "L-B99A9384"


@dataclass(frozen=True)
class _Function:
    stack: StackArtifact
    resource: Resource

    @property
    def planned(self) -> int:
        value = self.resource.properties.get("ReservedConcurrentExecutions")
        # An unresolved intrinsic cannot be summed; none of this app's functions uses one.
        return int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else 0

    def name(self, owners: StackResources) -> str | None:
        """Its fixed name, or the name its deployed stack gave it; None when not deployed yet."""
        fixed = self.resource.properties.get("FunctionName")
        if isinstance(fixed, str):
            return fixed
        return owners.physical_id(self.stack, self.resource.logical_id)


def concurrency_checks(aws: AwsClients, assembly: CloudAssembly, owners: StackResources) -> list[Check]:
    checks = []
    for region in assembly.regions:
        functions = list(_functions(assembly.in_region(region)))
        if functions:
            checks.append(_concurrency_check(aws, region, functions, owners))
    return checks


def _functions(stacks: tuple[StackArtifact, ...]) -> Iterator[_Function]:
    for stack in stacks:
        for resource in stack.resources_of(LAMBDA_FUNCTION):
            yield _Function(stack, resource)


def _concurrency_check(
    aws: AwsClients, region: str, functions: list[_Function], owners: StackResources
) -> Check:
    def run() -> Outcome:
        client = aws.client("lambda", region)
        limits = client.get_account_settings()["AccountLimit"]
        unreserved = int(limits["UnreservedConcurrentExecutions"])
        # A deployed function's reservation is already out of the unreserved pool; the deploy replaces it.
        already = sum(_reserved(client, name) for f in functions if (name := f.name(owners)))
        planned = sum(f.planned for f in functions)
        left = unreserved + already - planned
        found = (
            f"unreserved {unreserved} + already reserved by these functions {already} - planned {planned} "
            f"= {left}; AWS keeps {MINIMUM_UNRESERVED} unreserved"
        )
        if left >= MINIMUM_UNRESERVED:
            return passed(found)
        quota = int(limits["ConcurrentExecutions"]) + MINIMUM_UNRESERVED - left
        return failed(
            found,
            f"ask for a Lambda 'Concurrent executions' quota ({_QUOTA_CODE}) of at least {quota} "
            f"in {region}, "
            "or reserve less: -c orderFunctionConcurrency=0",
        )

    return Check(f"lambda concurrency {region}", run)


def _reserved(client: Any, name: str) -> int:
    try:
        answer = client.get_function_concurrency(FunctionName=name)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return 0
        raise
    # Absent when the function exists without a reservation.
    return int(answer.get("ReservedConcurrentExecutions", 0))
