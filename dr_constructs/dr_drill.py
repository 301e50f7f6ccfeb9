from __future__ import annotations

import json
from collections.abc import Mapping

import aws_cdk as cdk
import jsii
from aws_cdk import Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from dr_constructs import nag
from dr_constructs.drill_probes import PROBE_FUNCTION_TIMEOUT, DrillProbes
from dr_constructs.evidence_bucket import EvidenceBucket
from dr_constructs.logged_state_machine import logged_state_machine
from dr_constructs.service_function import FunctionDefaults, ServiceFunction
from dr_core.naming import Kind, Naming
from dr_core.shared_names import RegionNames
from dr_core.telemetry import DRILL_LAG_METRIC, DRILL_SERVICE, METRICS_NAMESPACE

# The task's timeout leaves the probe function its own timeout and a margin.
_PROBE_TIMEOUT = PROBE_FUNCTION_TIMEOUT.plus(cdk.Duration.seconds(30))
# A drill's alarms reflect the last drill that reported: a failure stays in ALARM through the
# hours without datapoints until a later drill passes (missing data keeps the current state).
_UNTIL_THE_NEXT_DRILL = cw.TreatMissingData.IGNORE
# What the drill's code raises for an event or configuration it cannot run with.
_INPUT_ERROR = "DrillInputError"
EXECUTION_OUTCOME_METRIC = "DrillExecutionSucceeded"
_PASSED_STATUSES = ("SUCCEEDED",)
_FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


def drill_metric(
    name: str,
    *,
    dimension: str,
    value: str,
    statistic: str,
    region: str | None = None,
    label: str | None = None,
) -> cw.Metric:
    """A metric the drill's report step emits: DrillProbeSuccess per Probe,
    DrillReplicationLagSeconds per Store."""
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={dimension: value, "service": DRILL_SERVICE},
        statistic=statistic,
        period=cdk.Duration.hours(1),
        region=region,
        label=label,
    )


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """Delivers a rule's events to a log group whose resource policy is made elsewhere."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._arn = log_group.log_group_arn

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._arn)


class DrDrill(Construct):
    """A Step Functions drill: a Parallel of probes, one per replication path, each with
    a timeout, retries and a Catch that turns a failure into a FAILED result, then a
    report step that publishes one JSON report and the metrics its alarms watch.
    EventBridge Scheduler runs it on a rate; anyone can start it on demand.

    Args:
        naming: names the functions, roles, state machine and schedule in this region.
        primary, dr: the names of what each region holds.
        orders_table: the global table's name.
        dr_health_url: the DR health endpoint's URL, for the failover probe.
        health_check_ids: region -> Route 53 health check ID, for the failover probe.
        defaults: what every function of this region shares (log key and retention too).
        alert_topic: where the report and the drill's alarms go.
        alarm_prefix: every alarm name starts with it.
        rpo_targets: store -> recovery point target in seconds; a measured lag above it alarms.
        every: how often EventBridge Scheduler runs the drill; an alarm fires when no drill
            has passed for twice as long.
        evidence: where the report step keeps each report, under Object Lock.
        state_machine_name: the drill's state machine, which ./dev drill starts by this name.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        naming: Naming,
        primary: RegionNames,
        dr: RegionNames,
        orders_table: str,
        dr_health_url: str,
        health_check_ids: Mapping[str, str],
        defaults: FunctionDefaults,
        alert_topic: sns.ITopic,
        alarm_prefix: str,
        rpo_targets: Mapping[str, float],
        every: cdk.Duration,
        evidence: EvidenceBucket,
        state_machine_name: str,
    ) -> None:
        super().__init__(scope, id)
        # Twice the interval in 1-hour periods; CloudWatch evaluates at most 7 days of them.
        minutes = every.to_minutes(integral=False)
        if minutes % 60 or not 1 <= minutes // 60 <= 84:
            raise ValueError("DrDrill runs every whole number of hours from 1 to 84")
        here = cdk.Stack.of(self).region
        self._log_key, self._log_retention = defaults.log_key, defaults.log_retention
        self.probe_functions = DrillProbes(
            self,
            "ProbeFunctions",
            naming=naming,
            primary=primary,
            dr=dr,
            orders_table=orders_table,
            dr_health_url=dr_health_url,
            health_check_ids=health_check_ids,
            defaults=defaults,
        )
        probes = self.probe_functions.functions
        report = ServiceFunction(
            self,
            "ReportFunction",
            function_name=naming.name(Kind.LAMBDA_FUNCTION, "drill-report", region=here),
            role_name=naming.name(Kind.IAM_ROLE, "drill-report-fn", region=here),
            asset=DRILL_SERVICE,
            entry_point="report",
            description="DR drill step: report",
            environment={
                "REPORT_TOPIC_ARN": alert_topic.topic_arn,
                "RPO_TARGETS": json.dumps(dict(rpo_targets)),
                "EVIDENCE_BUCKET": evidence.bucket.bucket_name,
            },
            defaults=defaults,
            timeout=cdk.Duration.seconds(30),
        )
        alert_topic.grant_publish(report.role)
        evidence.grant_put_reports(report.role, "drill")
        Validations.of(report.role).acknowledge(
            *nag.cdk_key_grant_wildcards("publish grant on the alert topic")
        )
        schedule_name = naming.name(Kind.SCHEDULE, "dr-drill", region=here)
        scheduler_role_name = naming.name(Kind.IAM_ROLE, "dr-drill-scheduler", region=here)
        log_key, log_retention = defaults.log_key, defaults.log_retention
        drill_id = {"drill_id": sfn.JsonPath.string_at("$$.Execution.Name")}
        parallel = sfn.Parallel(
            self, "Probes", comment="Every replication path at once", result_path="$.results"
        )
        for name, probe in probes.items():
            state = name.capitalize()
            task = tasks.LambdaInvoke(
                self,
                f"{state}Probe",
                lambda_function=probe.function,
                payload=sfn.TaskInput.from_object(drill_id),
                payload_response_only=True,
                retry_on_service_exceptions=False,
                task_timeout=sfn.Timeout.duration(_PROBE_TIMEOUT),
            )
            # A bad event or configuration fails the same way every time: straight to the Catch.
            task.add_retry(errors=[_INPUT_ERROR], max_attempts=0)
            task.add_retry(
                errors=["States.ALL"], max_attempts=2, interval=cdk.Duration.seconds(5), backoff_rate=2
            )
            failed = sfn.Pass(
                self,
                f"{state}Failed",
                comment="A probe that crashed or timed out is a FAILED result, not a failed drill",
                parameters={"probe": name, "status": "FAILED", "error.$": "$.error"},
            )
            task.add_catch(failed, errors=["States.ALL"], result_path="$.error")
            parallel.branch(task)
        report_task = tasks.LambdaInvoke(
            self,
            "Report",
            lambda_function=report.function,
            payload=sfn.TaskInput.from_object({**drill_id, "results": sfn.JsonPath.object_at("$.results")}),
            payload_response_only=True,
            task_timeout=sfn.Timeout.duration(cdk.Duration.minutes(1)),
        )
        report_task.add_retry(errors=["States.ALL"], max_attempts=2, interval=cdk.Duration.seconds(5))
        self.state_machine = logged_state_machine(
            self,
            name=state_machine_name,
            definition=parallel.next(report_task),
            timeout=cdk.Duration.minutes(15),
            log_key=log_key,
            log_retention=log_retention,
            functions=[*probes.values(), report],
        )
        scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            role_name=scheduler_role_name,
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ),
            description="Lets EventBridge Scheduler start the DR drill",
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=schedule_name,
            description="Runs the DR drill",
            schedule=scheduler.ScheduleExpression.rate(every),
            target=scheduler_targets.StepFunctionsStartExecution(
                self.state_machine, role=scheduler_role, retry_attempts=0
            ),
        )
        self.alarms = self._alarms(probes, alert_topic, alarm_prefix, rpo_targets, every)

    def _execution_outcome_metric(self) -> cw.Metric:
        """1 per execution that succeeded, 0 per one that failed, timed out or was aborted.

        Step Functions' own ExecutionsFailed, ExecutionsTimedOut and ExecutionsAborted have
        datapoints only when something went wrong, so an alarm on them cannot tell "no
        failure since" from "no drill since". Each terminal status change event goes to a
        log group, whose metric filters turn it into this one series.
        """
        log_group = logs.LogGroup(
            self,
            "ExecutionOutcomes",
            encryption_key=self._log_key,
            retention=self._log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        rule = events.Rule(
            self,
            "ExecutionOutcomeRule",
            description="Every DR drill execution's final status, to its outcome log",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                    "status": [*_PASSED_STATUSES, *_FAILED_STATUSES],
                },
            ),
            targets=[_LogGroupTarget(log_group)],
        )
        # Not CDK's CloudWatchLogGroup target: it sets this policy through a custom resource whose
        # role needs logs:PutResourcePolicy on "*"; CloudFormation can set it natively.
        delivery = logs.ResourcePolicy(
            self,
            "ExecutionOutcomeDelivery",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[
                        iam.ServicePrincipal("events.amazonaws.com"),
                        iam.ServicePrincipal("delivery.logs.amazonaws.com"),
                    ],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                )
            ],
        )
        # The log group comes first by reference already; the rule must wait for the policy that
        # lets EventBridge write to it, or the first outcomes are dropped.
        rule.node.add_dependency(delivery)
        for name, statuses, value in (
            ("Passed", _PASSED_STATUSES, "1"),
            ("Failed", _FAILED_STATUSES, "0"),
        ):
            logs.MetricFilter(
                self,
                f"Execution{name}Filter",
                log_group=log_group,
                metric_namespace=METRICS_NAMESPACE,
                metric_name=EXECUTION_OUTCOME_METRIC,
                metric_value=value,
                filter_pattern=logs.FilterPattern.any(
                    *(logs.FilterPattern.string_value("$.detail.status", "=", s) for s in statuses)
                ),
            )
        return cw.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=EXECUTION_OUTCOME_METRIC,
            statistic="Minimum",
            period=cdk.Duration.hours(1),
        )

    def _alarms(
        self,
        probes: Mapping[str, ServiceFunction],
        alert_topic: sns.ITopic,
        prefix: str,
        rpo_targets: Mapping[str, float],
        every: cdk.Duration,
    ) -> dict[str, cw.Alarm]:
        notify = cw_actions.SnsAction(alert_topic)
        alarms: dict[str, cw.Alarm] = {}

        for probe in probes:
            alarms[f"probe-{probe}"] = cw.Alarm(
                self,
                f"{probe.capitalize()}ProbeFailed",
                alarm_name=f"{prefix}-drill-{probe}-failed",
                alarm_description=f"The DR drill's {probe} probe failed",
                metric=drill_metric("DrillProbeSuccess", dimension="Probe", value=probe, statistic="Minimum"),
                threshold=1,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=_UNTIL_THE_NEXT_DRILL,
            )
        for store, target in rpo_targets.items():
            alarms[f"rpo-{store}"] = cw.Alarm(
                self,
                f"{store.capitalize()}LagOverRpo",
                alarm_name=f"{prefix}-drill-{store}-lag-over-rpo",
                alarm_description=f"The DR drill measured {store} replication over its {target:g} s RPO",
                metric=drill_metric(DRILL_LAG_METRIC, dimension="Store", value=store, statistic="Maximum"),
                threshold=target,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=_UNTIL_THE_NEXT_DRILL,
            )
        outcome = self._execution_outcome_metric()
        alarms["execution-failed"] = cw.Alarm(
            self,
            "ExecutionFailed",
            alarm_name=f"{prefix}-drill-execution-failed",
            alarm_description="The last DR drill execution failed, timed out or was aborted",
            metric=outcome,
            threshold=1,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=_UNTIL_THE_NEXT_DRILL,
        )
        # An hour without a drill has no datapoint: missing counts as breaching, so the alarm
        # fires once every hour of twice the interval lacked a passed execution, whether the
        # drills failed, stopped being scheduled or the schedule was deleted.
        window = int(2 * every.to_hours())
        alarms["not-passed"] = cw.Alarm(
            self,
            "NoDrillPassed",
            alarm_name=f"{prefix}-drill-not-passed",
            alarm_description=f"No DR drill has passed for {window} hours (twice its interval)",
            metric=outcome.with_(statistic="Maximum"),
            threshold=1,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=window,
            datapoints_to_alarm=window,
            treat_missing_data=cw.TreatMissingData.BREACHING,
        )
        for alarm in alarms.values():
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
        return alarms
