from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import AppKey, keys_of_region, use_by_alias, use_key
from dr_constructs.dead_letter_queue import DeadLetterQueue
from dr_constructs.parameter_access import parameter_arns
from dr_constructs.service_function import FunctionDefaults, ServiceFunction
from dr_core.naming import Kind, Naming

_RETRIES = 2
_MAX_EVENT_AGE = cdk.Duration.hours(1)


class ParameterReplication(Construct):
    """Copies every parameter under the primary path to the DR path as a SecureString
    under the DR key, without a value ever entering a template, variable or log.

    A Parameter Store change event replicates one parameter (deletes follow
    deletes); a reconcile run syncs the whole path after every deploy of this
    stack and on a schedule. Every way in is asynchronous, so every failure ends
    in the construct's dead-letter queue, whose alarms notify the alert topic.

    Args:
        naming: names the replicator function, its role, its dead-letter queue, the two
            EventBridge rules, the schedule and the scheduler's role, in this region.
        source_path, source_key: this region's parameter path and its key.
        target_path, target_region, target_key_alias: the DR path, its region, and the alias
            of the key its copies are encrypted with (the key's ID is not known here).
        alert_topic: where the dead-letter queue's alarms go.
        defaults: what every function of this region shares.
        reconcile_every: how often the whole path is reconciled.
        dead_letter_max_age: the age of the oldest failed event that raises an alarm.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        naming: Naming,
        source_path: str,
        source_key: AppKey,
        target_path: str,
        target_region: str,
        target_key_alias: str,
        alert_topic: sns.ITopic,
        defaults: FunctionDefaults,
        reconcile_every: cdk.Duration,
        dead_letter_max_age: cdk.Duration,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        here = stack.region
        if target_region == here:
            raise ValueError("ParameterReplication needs a target in another region")
        self.dead_letters = DeadLetterQueue(
            self,
            "DeadLetters",
            queue_name=naming.name(Kind.SQS_QUEUE, "ssm-replication-dlq", region=here),
            key=source_key.key,
            alert_topic=alert_topic,
            max_age=dead_letter_max_age,
            feeds_from="the SSM parameter replicator",
        )
        replicator = ServiceFunction(
            self,
            "Replicator",
            function_name=naming.name(Kind.LAMBDA_FUNCTION, "ssm-replicator", region=here),
            role_name=naming.name(Kind.IAM_ROLE, "ssm-replicator-fn", region=here),
            asset="ssm_replicator",
            description=f"Replicates {source_path} to {target_region} as SecureStrings",
            environment={
                "SOURCE_PATH": source_path,
                "TARGET_PATH": target_path,
                "TARGET_REGION": target_region,
                "TARGET_KEY_ID": target_key_alias,
            },
            defaults=defaults,
            timeout=cdk.Duration.minutes(5),
        )
        self.function = replicator.function
        role = replicator.role
        partition, account = stack.partition, stack.account
        target_keys = keys_of_region(target_region, account=account, partition=partition)
        for statement in (
            iam.PolicyStatement(
                actions=["ssm:GetParameter", "ssm:GetParametersByPath"],
                resources=parameter_arns(
                    source_path, region=stack.region, account=account, partition=partition
                ),
            ),
            use_key(source_key.key, ["kms:Decrypt"], "ssm"),
            iam.PolicyStatement(
                actions=["ssm:GetParametersByPath", "ssm:PutParameter", "ssm:DeleteParameter"],
                resources=parameter_arns(
                    target_path, region=target_region, account=account, partition=partition
                ),
            ),
            # Reconcile reads each DR copy's type, key and tier (metadata only, never values).
            # The action has no resource-level permissions.
            iam.PolicyStatement(
                actions=["ssm:DescribeParameters"],
                resources=["*"],
                conditions={"StringEquals": {"aws:RequestedRegion": target_region}},
            ),
            use_by_alias(
                alias=target_key_alias,
                region=target_region,
                account=account,
                partition=partition,
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                via_service="ssm",
            ),
        ):
            role.add_to_policy(statement)
        Validations.of(role).acknowledge(
            nag.wildcard_resource(
                self,
                "*",
                reason="X-Ray segments, and ssm:DescribeParameters in the DR region (metadata "
                "of the DR copies, never values), support no resource-level permissions.",
            ),
            nag.wildcard_resource(
                self,
                target_keys,
                reason="The DR key's ID is not known in the primary region at synth; kms:ResourceAliases "
                "pins the statement to the one key with the DR alias, used only through SSM.",
            ),
            *(
                nag.wildcard_resource(
                    self,
                    parameter_arns(path, region=region, account=account, partition=partition)[1],
                    reason="Replication covers every parameter below this one path of the naming "
                    "convention, whatever operators create there.",
                )
                for region, path in ((stack.region, source_path), (target_region, target_path))
            ),
            *nag.cdk_key_grant_wildcards("send grant on the dead-letter queue (the on-failure destination)"),
        )

        # EventBridge itself writes undeliverable events into the dead-letter queue's key.
        source_key.allow_service_publisher("events.amazonaws.com")
        self.function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.dead_letters.queue),
            retry_attempts=_RETRIES,
            max_event_age=_MAX_EVENT_AGE,
        )

        def invoke(event: events.RuleTargetInput | None = None) -> targets.LambdaFunction:
            return targets.LambdaFunction(
                self.function,
                event=event,
                dead_letter_queue=self.dead_letters.queue,
                retry_attempts=_RETRIES,
                max_event_age=_MAX_EVENT_AGE,
            )

        self.change_rule = events.Rule(
            self,
            "OnParameterChange",
            rule_name=naming.name(Kind.EVENT_RULE, "ssm-change", region=here),
            description=f"Replicates changes below {source_path} to {target_region}",
            event_pattern=events.EventPattern(
                source=["aws.ssm"],
                detail_type=["Parameter Store Change"],
                detail={"name": [{"prefix": source_path}]},
            ),
            targets=[invoke()],
        )
        self.deploy_rule = events.Rule(
            self,
            "AfterDeploy",
            rule_name=naming.name(Kind.EVENT_RULE, "ssm-after-deploy", region=here),
            description=f"Reconciles {target_path} after every deploy of {stack.stack_name}",
            event_pattern=events.EventPattern(
                source=["aws.cloudformation"],
                detail_type=["CloudFormation Stack Status Change"],
                detail={
                    "stack-id": [stack.stack_id],
                    "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]},
                },
            ),
            targets=[invoke()],
        )
        scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            role_name=naming.name(Kind.IAM_ROLE, "ssm-reconcile-scheduler", region=here),
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            description="Lets EventBridge Scheduler start the parameter reconcile",
        )
        # Scheduler writes dead letters as this role, into a CMK-encrypted queue: the
        # target grants sqs:SendMessage only, not the key.
        self.dead_letters.queue.grant_send_messages(scheduler_role)
        self.schedule = scheduler.Schedule(
            self,
            "Reconcile",
            schedule_name=naming.name(Kind.SCHEDULE, "ssm-reconcile", region=here),
            description=f"Reconciles {target_path} with {source_path}",
            schedule=scheduler.ScheduleExpression.rate(reconcile_every),
            target=scheduler_targets.LambdaInvoke(
                self.function,
                input=scheduler.ScheduleTargetInput.from_object({"action": "reconcile"}),
                dead_letter_queue=self.dead_letters.queue,
                retry_attempts=_RETRIES,
                max_event_age=_MAX_EVENT_AGE,
                role=scheduler_role,
            ),
        )
        Validations.of(scheduler_role).acknowledge(
            nag.wildcard_resource(
                self,
                f"{self.function.function_arn}:*",
                reason="CDK's invoke grant covers the replicator's versions and aliases; the "
                "wildcard is the qualifier of this one function's ARN.",
            ),
            *nag.cdk_key_grant_wildcards("send grant on the dead-letter queue"),
        )
