from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from dr_constructs import nag
from dr_constructs.service_function import ServiceFunction


def logged_state_machine(
    scope: Construct,
    *,
    name: str,
    definition: sfn.IChainable,
    timeout: cdk.Duration,
    log_key: kms.IKey,
    log_retention: logs.RetentionDays,
    functions: Sequence[ServiceFunction],
) -> sfn.StateMachine:
    """A state machine over this app's functions, traced, logging every state to an encrypted log
    group (``scope``/Logs) without its inputs and outputs, as ``scope``/StateMachine.

    ``functions``: the functions its tasks invoke, whose versions CDK's invoke grant covers.
    """
    machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=name,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=logs.LogGroup(
                scope,
                "Logs",
                encryption_key=log_key,
                retention=log_retention,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            ),
            level=sfn.LogLevel.ALL,
            # States hold lags, timings and canary keys, never a secret; still, they stay out of logs.
            include_execution_data=False,
        ),
    )
    Validations.of(machine).acknowledge(
        nag.wildcard_resource(
            scope,
            "*",
            reason="Step Functions log delivery and X-Ray actions support no resource-level permissions.",
        ),
        *(
            nag.wildcard_resource(
                scope,
                f"{fn.function.function_arn}:*",
                reason="CDK's invoke grant covers the function's versions; the wildcard is the qualifier "
                "of this one function's ARN.",
            )
            for fn in functions
        ),
    )
    return machine
