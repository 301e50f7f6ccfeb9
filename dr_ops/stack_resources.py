"""Which physical resource a deployed stack holds under a logical ID."""

from __future__ import annotations

from botocore.exceptions import ClientError

from dr_ops.assembly import StackArtifact
from dr_ops.aws import AwsClients, error_code

_GONE = ("DELETE_COMPLETE", "DELETE_SKIPPED")


class StackResources:
    """Answers from CloudFormation DescribeStackResource, asked once per stack and logical ID."""

    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws
        self._answers: dict[tuple[str, str], str | None] = {}
        self._missing_stacks: set[str] = set()

    def physical_id(self, stack: StackArtifact, logical_id: str) -> str | None:
        """The resource's physical ID; None when the stack or the resource does not exist."""
        if stack.stack_name in self._missing_stacks:
            return None
        key = (stack.stack_name, logical_id)
        if key not in self._answers:
            self._answers[key] = self._describe(stack, logical_id)
        return self._answers[key]

    def _describe(self, stack: StackArtifact, logical_id: str) -> str | None:
        cloudformation = self._aws.client("cloudformation", stack.region)
        try:
            detail = cloudformation.describe_stack_resource(
                StackName=stack.stack_name, LogicalResourceId=logical_id
            )["StackResourceDetail"]
        except ClientError as error:
            if error_code(error) != "ValidationError":
                raise
            # "Stack with id X does not exist": a stack not deployed yet owns nothing.
            if "does not exist" in str(error) and f"id {stack.stack_name}" in str(error):
                self._missing_stacks.add(stack.stack_name)
            return None
        # A resource the stack retained on delete or rollback (DELETE_SKIPPED) is no longer the
        # stack's: the next deploy creates it anew and collides with the one left behind.
        if detail.get("ResourceStatus") in _GONE:
            return None
        return str(detail.get("PhysicalResourceId") or "") or None
