from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from dr_constructs import nag

_PROVIDER_ID = "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
_PROVIDER_LOGS_ID = "DeployTimeLookupLogs"


class DeployTimeLookup(Construct):
    """Reads one generated value (an ID, a host name) with an AWS API call at deploy time.

    For values that exist only once another stack is deployed and cannot be
    computed from the naming convention. Synth needs no credentials, and no
    stack exports anything. The call runs again whenever its parameters change.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        service: str,
        action: str,
        parameters: Mapping[str, Any],
        output_path: str,
        permissions: Sequence[iam.PolicyStatement],
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
        region: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        region = region or stack.region
        self._resource = cr.AwsCustomResource(
            self,
            "Call",
            on_update=cr.AwsSdkCall(
                service=service,
                action=action,
                parameters=dict(parameters),
                region=region,
                physical_resource_id=cr.PhysicalResourceId.of(f"{service}-{action}-{region}-{id}"),
                output_paths=[output_path],
                logging=cr.Logging.with_data_hidden(),
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(list(permissions)),
            install_latest_aws_sdk=False,
            log_group=_provider_logs(stack, log_key, log_retention),
        )
        self.value: str = self._resource.get_response_field(output_path)
        # One provider function per stack serves every lookup.
        Validations.of(stack.node.find_child(_PROVIDER_ID)).acknowledge(
            nag.rule(
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                reason="The AwsCustomResource provider only writes its own logs; CDK attaches the "
                "basic execution policy to it and offers no way to replace it.",
            )
        )

    @classmethod
    def ssm_parameter(
        cls,
        scope: Construct,
        id: str,
        *,
        name: str,
        region: str,
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> DeployTimeLookup:
        """The value another stack published as an SSM parameter, read by its exact name, with
        leave to read that one parameter only."""
        stack = Stack.of(scope)
        return cls(
            scope,
            id,
            service="SSM",
            action="getParameter",
            parameters={"Name": name},
            output_path="Parameter.Value",
            region=region,
            log_key=log_key,
            log_retention=log_retention,
            permissions=[
                iam.PolicyStatement(
                    actions=["ssm:GetParameter"],
                    resources=[f"arn:{stack.partition}:ssm:{region}:{stack.account}:parameter{name}"],
                )
            ],
        )

    def acknowledge_unscoped(self, reason: str) -> None:
        """For read-only calls that support no resource-level permissions."""
        Validations.of(self._resource).acknowledge(nag.wildcard_resource(self, "*", reason=reason))


def _provider_logs(stack: Stack, key: kms.IKey, retention: logs.RetentionDays) -> logs.ILogGroup:
    """The log group of the stack's one provider function, encrypted and expiring like every
    other (CDK's own would be unencrypted, kept two years and retained)."""
    existing = stack.node.try_find_child(_PROVIDER_LOGS_ID)
    if isinstance(existing, logs.LogGroup):
        return existing
    return logs.LogGroup(
        stack,
        _PROVIDER_LOGS_ID,
        encryption_key=key,
        retention=retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
