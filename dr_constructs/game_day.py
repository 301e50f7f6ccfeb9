from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import use_region_key
from dr_constructs.evidence_bucket import EvidenceBucket
from dr_constructs.logged_state_machine import logged_state_machine
from dr_constructs.service_function import FunctionDefaults, ServiceFunction
from dr_core.game_day import (
    EXPERIMENTS,
    FAULT_START_SECONDS,
    PHASE_SECONDS,
    PRIMARY_PATH,
    RESTORE_SECONDS,
    GameDayPlan,
)
from dr_core.naming import Kind, Naming
from dr_core.shared_names import RegionNames, state_machine_arn
from dr_core.telemetry import METRICS_NAMESPACE

GAME_DAY_SERVICE = "game_day"
# What the game day's code raises for an event or configuration it cannot run with.
_INPUT_ERROR = "GameDayInputError"
# Between two ticks of a replication pause: canary writes and alarm reads every 30 s.
TICK_SECONDS = 30
# The functions' own bounds (see lambda/game_day/settings.py for the defaults they match).
_START_TIMEOUT, _STOP_TIMEOUT = 120, 300
_WATCH_FUNCTION_TIMEOUT = cdk.Duration.minutes(15)
_PAUSE_FUNCTION_TIMEOUT = cdk.Duration.minutes(5)


def game_day_metric(
    name: str, *, dimension: str, value: str, statistic: str, region: str, label: str
) -> cw.Metric:
    """A metric the game day's report step emits: GameDayMeasuredRtoSeconds and GameDayPassed per
    Experiment, GameDayRpoUnderFaultSeconds, GameDayWritesAtRisk and GameDayAlarmSeconds per Store.
    Game days are rare: a day per datapoint."""
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={dimension: value, "service": GAME_DAY_SERVICE},
        statistic=statistic,
        period=cdk.Duration.days(1),
        region=region,
        label=label,
    )


@dataclass(frozen=True)
class GameDayTargets:
    """What the game day watches and where.

    api_name: the shared name (api.<domain>); zone_name: the hosted zone's domain.
    regional_names: region -> its own API name; health_urls: region -> its deep health URL.
    health_check_ids: region -> its own Route 53 check's ID.
    steady_alarms: alarms in the primary that must not be in ALARM before a game day starts.
    pause_alarms: experiment -> the lag alarms in the primary its pause must trip.
    """

    api_name: str
    zone_name: str
    regional_names: Mapping[str, str]
    health_urls: Mapping[str, str]
    health_check_ids: Mapping[str, str]
    steady_alarms: Sequence[str]
    pause_alarms: Mapping[str, Sequence[str]]


def _pairs(mapping: Mapping[str, str]) -> str:
    return cdk.Fn.join(",", [f"{key}={value}" for key, value in sorted(mapping.items())])


class GameDay(Construct):
    """A Step Functions game day that runs one FIS experiment in the primary and measures what the
    platform promises under it: for the primary-path fault the real RTO (fault -> health check
    unhealthy -> every authoritative name server answers DR -> an order through the shared name
    succeeds in DR), against the synth-time budget; for a replication pause, that the store's lag
    alarm fires within its window and recovers after, and how many canary writes were at risk.

    Every step has a timeout, and every failure is caught and routed on: the experiment is always
    stopped and (primary path) the return to the primary watched, then one report goes to the
    evidence bucket and the alert topic, and the execution fails when the verdict does.

    Args:
        naming: names the functions, roles and state machine in this (the observer's) region.
        primary, dr: the names of what each region holds.
        orders_table: the global table's name.
        template_ids: experiment -> its FIS template's ID in the primary region.
        targets: what the game day watches.
        plan: the experiments' windows and the RTO budget.
        client_secret_name: the OAuth client the game day orders with (made by you, see README).
        defaults: what every function of this region shares.
        alert_topic: where each report goes.
        evidence: where each report is kept.
        state_machine_name: the game day's state machine, which ./dev gameday starts by this name.
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
        template_ids: Mapping[str, str],
        targets: GameDayTargets,
        plan: GameDayPlan,
        client_secret_name: str,
        defaults: FunctionDefaults,
        alert_topic: sns.ITopic,
        evidence: EvidenceBucket,
        state_machine_name: str,
    ) -> None:
        super().__init__(scope, id)
        if set(template_ids) != set(EXPERIMENTS):
            raise ValueError(f"GameDay template_ids needs exactly {', '.join(EXPERIMENTS)}")
        if set(targets.pause_alarms) != set(plan.alarm_window):
            raise ValueError(f"GameDay pause_alarms needs exactly {', '.join(plan.alarm_window)}")
        stack = cdk.Stack.of(self)
        self._account, self._partition, here = stack.account, stack.partition, stack.region
        self._naming, self._defaults, self._here = naming, defaults, here
        p = primary.region

        def alarm_arns(names: Sequence[str]) -> list[str]:
            return [
                primary.alarm_arn(name, account=self._account, partition=self._partition) for name in names
            ]

        template_arns = [
            f"arn:{self._partition}:fis:{p}:{self._account}:experiment-template/{template_id}"
            for _, template_id in sorted(template_ids.items())
        ]
        experiments = f"arn:{self._partition}:fis:{p}:{self._account}:experiment/*"
        self.experiment_function = self._function(
            "experiment",
            {
                "FIS_REGION": p,
                "EXPERIMENT_TEMPLATES": cdk.Fn.to_json_string(dict(template_ids)),
                "START_TIMEOUT_SECONDS": str(_START_TIMEOUT),
                "STOP_TIMEOUT_SECONDS": str(_STOP_TIMEOUT),
            },
            cdk.Duration.seconds(_STOP_TIMEOUT + 60),
            [
                iam.PolicyStatement(actions=["fis:StartExperiment"], resources=[*template_arns, experiments]),
                # StartExperiment tags the experiment with the game day's execution.
                iam.PolicyStatement(actions=["fis:TagResource"], resources=[experiments]),
                iam.PolicyStatement(
                    actions=["fis:GetExperiment", "fis:StopExperiment"], resources=[experiments]
                ),
                # An account's first experiment creates FIS's service-linked role, as its starter.
                # https://docs.aws.amazon.com/fis/latest/userguide/using-service-linked-roles.html
                iam.PolicyStatement(
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[
                        f"arn:{self._partition}:iam::{self._account}:role/aws-service-role/"
                        "fis.amazonaws.com/AWSServiceRoleForFIS"
                    ],
                    conditions={"StringEquals": {"iam:AWSServiceName": "fis.amazonaws.com"}},
                ),
            ],
        )
        secret_arn = (
            f"arn:{self._partition}:secretsmanager:{here}:{self._account}:secret:{client_secret_name}-??????"
        )
        # By its name: the machine's own ARN attribute would make it depend on itself.
        self._machine_name = state_machine_name
        machine_arn = state_machine_arn(
            state_machine_name, region=here, account=self._account, partition=self._partition
        )
        self.watch_function = self._function(
            "watch",
            {
                "PRIMARY_REGION": p,
                "DR_REGION": dr.region,
                "OBSERVER_REGION": here,
                "ZONE_NAME": targets.zone_name,
                "API_NAME": targets.api_name,
                "REGIONAL_NAMES": _pairs(targets.regional_names),
                "HEALTH_URLS": _pairs(targets.health_urls),
                "HEALTH_CHECK_IDS": _pairs(targets.health_check_ids),
                "RTO_BUDGET_SECONDS": str(plan.rto_budget_seconds),
                # The primary path's phases, as long as its FIS action was made to last.
                "FAULT_TIMEOUT_SECONDS": str(FAULT_START_SECONDS),
                "PHASE_TIMEOUT_SECONDS": str(PHASE_SECONDS),
                "RESTORE_TIMEOUT_SECONDS": str(RESTORE_SECONDS),
                "CLIENT_SECRET_ID": client_secret_name,
                "STEADY_ALARMS": json.dumps(list(targets.steady_alarms)),
                "STATE_MACHINE_ARN": machine_arn,
            },
            _WATCH_FUNCTION_TIMEOUT,
            [
                iam.PolicyStatement(
                    actions=["route53:GetHealthCheckStatus"],
                    resources=[
                        f"arn:{self._partition}:route53:::healthcheck/{check_id}"
                        for _, check_id in sorted(targets.health_check_ids.items())
                    ],
                ),
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret_arn]),
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"], resources=alarm_arns(targets.steady_alarms)
                ),
                iam.PolicyStatement(actions=["states:ListExecutions"], resources=[machine_arn]),
            ],
        )
        table = f"arn:{self._partition}:dynamodb:{{}}:{self._account}:table/{orders_table}"

        pause_alarm_names = sorted({name for names in targets.pause_alarms.values() for name in names})
        self.pause_function = self._function(
            "pause",
            {
                "PRIMARY_REGION": p,
                "DR_REGION": dr.region,
                "TABLE_NAME": orders_table,
                "SOURCE_BUCKET": primary.data_bucket,
                "REPLICA_BUCKET": dr.data_bucket,
                "PAUSE_ALARMS": json.dumps({e: list(names) for e, names in targets.pause_alarms.items()}),
                "ALARM_WINDOW_SECONDS": json.dumps(plan.alarm_window),
                "RESUME_WINDOW_SECONDS": json.dumps(plan.resume_window),
                "SETTLE_SECONDS": str(plan.settle_seconds),
            },
            # A tick looks for every canary not yet arrived, one call each: the S3 pause's window
            # holds about 170, and the last resumed tick deletes them all.
            _PAUSE_FUNCTION_TIMEOUT,
            [
                iam.PolicyStatement(
                    actions=["dynamodb:PutItem", "dynamodb:DeleteItem"], resources=[table.format(p)]
                ),
                iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table.format(dr.region)]),
                use_region_key(
                    self,
                    primary,
                    ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    "dynamodb",
                ),
                use_region_key(self, dr, ["kms:Decrypt", "kms:DescribeKey"], "dynamodb"),
                iam.PolicyStatement(
                    actions=["s3:PutObject", "s3:DeleteObject"],
                    resources=[f"arn:{self._partition}:s3:::{primary.data_bucket}/gameday/*"],
                ),
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[f"arn:{self._partition}:s3:::{dr.data_bucket}/gameday/*"],
                ),
                # Without it S3 answers 403, not 404, while a canary is still on its way
                # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
                iam.PolicyStatement(
                    actions=["s3:ListBucket"], resources=[f"arn:{self._partition}:s3:::{dr.data_bucket}"]
                ),
                use_region_key(self, primary, ["kms:GenerateDataKey", "kms:Decrypt"], "s3"),
                use_region_key(self, dr, ["kms:Decrypt"], "s3"),
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"], resources=alarm_arns(pause_alarm_names)
                ),
                # Whether a stop condition or an operator ended the experiment before an alarm fired.
                iam.PolicyStatement(actions=["fis:GetExperiment"], resources=[experiments]),
            ],
        )
        self.report_function = self._function(
            "report",
            {
                "OBSERVER_REGION": here,
                "EVIDENCE_BUCKET": evidence.bucket.bucket_name,
                "REPORT_TOPIC_ARN": alert_topic.topic_arn,
            },
            cdk.Duration.seconds(30),
            [],
        )
        alert_topic.grant_publish(self.report_function.role)
        evidence.grant_put_reports(self.report_function.role, "gameday")
        Validations.of(self.report_function.role).acknowledge(
            *nag.cdk_key_grant_wildcards("publish grant on the alert topic")
        )
        self.state_machine = self._state_machine(cdk.Duration.seconds(plan.execution_seconds))

    def _function(
        self,
        name: str,
        environment: Mapping[str, str],
        timeout: cdk.Duration,
        statements: Sequence[iam.PolicyStatement],
    ) -> ServiceFunction:
        function = ServiceFunction(
            self,
            f"{name.capitalize()}Function",
            function_name=self._naming.name(Kind.LAMBDA_FUNCTION, f"game-day-{name}", region=self._here),
            role_name=self._naming.name(Kind.IAM_ROLE, f"game-day-{name}-fn", region=self._here),
            asset=GAME_DAY_SERVICE,
            # One entry point runs the step the state machine names: a function per role, not per step.
            entry_point="step",
            description=f"DR game day step: {name}",
            environment=environment,
            defaults=self._defaults,
            timeout=timeout,
        )
        for statement in statements:
            function.role.add_to_policy(statement)
        _acknowledge_wildcards(function.role, statements)
        return function

    def _task(
        self,
        id: str,
        function: ServiceFunction,
        step: str,
        result_path: str,
        timeout: cdk.Duration,
        retries: int = 0,
        **extra: Any,
    ) -> tasks.LambdaInvoke:
        # Every step gets the whole state and picks what it needs: a JSONPath to a key an earlier,
        # failed step never wrote would be a States.Runtime error, which no Catch catches.
        task = tasks.LambdaInvoke(
            self,
            id,
            lambda_function=function.function,
            payload=sfn.TaskInput.from_object({"step": step, "state": sfn.JsonPath.object_at("$"), **extra}),
            payload_response_only=True,
            retry_on_service_exceptions=False,
            result_path=result_path,
            task_timeout=sfn.Timeout.duration(timeout),
        )
        task.add_retry(errors=[_INPUT_ERROR], max_attempts=0)
        if retries:
            task.add_retry(
                errors=["States.ALL"], max_attempts=retries, interval=cdk.Duration.seconds(5), backoff_rate=2
            )
        return task

    def _state_machine(self, timeout: cdk.Duration) -> sfn.StateMachine:
        begin = sfn.Pass(
            self,
            "Begin",
            comment="The execution's name is the game day's ID, in every report and canary",
            parameters={"experiment.$": "$.experiment", "game_day_id.$": "$$.Execution.Name"},
        )
        preflight = self._task(
            "Preflight", self.watch_function, "preflight", "$.preflight", cdk.Duration.minutes(2), 1
        )
        # Retried: the client token gives a retry the experiment an earlier attempt started, so an
        # attempt cut off after FIS took the experiment never leaves it running unknown to the stop.
        start = self._task(
            "StartExperiment",
            self.experiment_function,
            "start_experiment",
            "$.run",
            # The function's own timeout: a task given up on while its attempt runs on could see
            # that attempt stop the experiment a retry has just reported running.
            cdk.Duration.seconds(_STOP_TIMEOUT + 60),
            retries=2,
        )
        measure = self._task(
            "MeasureFailover",
            self.watch_function,
            "measure_failover",
            "$.failover",
            _WATCH_FUNCTION_TIMEOUT.plus(cdk.Duration.minutes(1)),
        )
        # A retry cannot tell an experiment that ended by itself from one its earlier attempt stopped.
        stop = self._task(
            "StopExperiment",
            self.experiment_function,
            "stop_experiment",
            "$.stop",
            cdk.Duration.seconds(_STOP_TIMEOUT + 60),
            retries=2,
            attempt=sfn.JsonPath.number_at("$$.State.RetryCount"),
        )
        restore = self._task(
            "Restore",
            self.watch_function,
            "restore",
            "$.restore",
            _WATCH_FUNCTION_TIMEOUT.plus(cdk.Duration.minutes(1)),
        )
        report = self._task(
            "Report", self.report_function, "report", "$.report", cdk.Duration.minutes(1), retries=2
        )

        def tick(id: str, phase: str) -> tasks.LambdaInvoke:
            return self._task(
                id,
                self.pause_function,
                "pause_tick",
                "$.pause",
                _PAUSE_FUNCTION_TIMEOUT.plus(cdk.Duration.minutes(1)),
                retries=2,
                phase=phase,
            )

        pause_tick, resume_tick = tick("PauseTick", "paused"), tick("ResumeTick", "resumed")
        # Each catch keeps the error beside the state and moves on: the experiment is stopped and
        # the report written whatever failed.
        for task, path, then in (
            (preflight, "$.preflight_error", report),
            (start, "$.start_error", stop),
            (measure, "$.failover_error", stop),
            (pause_tick, "$.pause_error", stop),
            (stop, "$.stop_error", None),
            (restore, "$.restore_error", report),
            (resume_tick, "$.resume_error", report),
        ):
            if then is not None:
                task.add_catch(then, errors=["States.ALL"], result_path=path)
        verdict = (
            sfn.Choice(self, "Verdict")
            .when(sfn.Condition.string_equals("$.report.status", "PASSED"), sfn.Succeed(self, "Passed"))
            .otherwise(sfn.Fail(self, "Failed", error="GameDayFailed", cause="See the report"))
        )
        report.next(verdict)
        after_stop = (
            sfn.Choice(self, "AfterStop")
            .when(sfn.Condition.string_equals("$.experiment", PRIMARY_PATH), restore.next(report))
            .otherwise(resume_tick)
        )
        stop.add_catch(after_stop, errors=["States.ALL"], result_path="$.stop_error")
        stop.next(after_stop)
        resume_wait = sfn.Wait(
            self, "ResumeWait", time=sfn.WaitTime.duration(cdk.Duration.seconds(TICK_SECONDS))
        )
        resume_tick.next(
            sfn.Choice(self, "Recovered")
            .when(sfn.Condition.boolean_equals("$.pause.done", True), report)
            .otherwise(resume_wait.next(resume_tick))
        )
        pause_wait = sfn.Wait(
            self, "PauseWait", time=sfn.WaitTime.duration(cdk.Duration.seconds(TICK_SECONDS))
        )
        pause_tick.next(
            sfn.Choice(self, "AlarmSeen")
            .when(sfn.Condition.boolean_equals("$.pause.done", True), stop)
            .otherwise(pause_wait.next(pause_tick))
        )
        start.next(
            sfn.Choice(self, "Experiment")
            .when(sfn.Condition.string_equals("$.experiment", PRIMARY_PATH), measure.next(stop))
            .otherwise(pause_tick)
        )
        definition = begin.next(preflight).next(
            sfn.Choice(self, "Steady")
            .when(sfn.Condition.boolean_equals("$.preflight.steady", True), start)
            .otherwise(report)
        )
        return logged_state_machine(
            self,
            name=self._machine_name,
            definition=definition,
            timeout=timeout,
            log_key=self._defaults.log_key,
            log_retention=self._defaults.log_retention,
            functions=[
                self.experiment_function,
                self.watch_function,
                self.pause_function,
                self.report_function,
            ],
        )


def _acknowledge_wildcards(role: iam.IRole, statements: Sequence[iam.PolicyStatement]) -> None:
    nag.acknowledge_wildcards(
        role,
        statements,
        {
            ":kms:": nag.alias_pinned_key("in the observer's stack", "the named service"),
            ":fis:": "Each game day starts a new experiment whose ID FIS makes; the wildcard is the "
            "experiment part of this account's ARNs in the primary region (templates are named one by one).",
            ":s3:": "Each canary is a new object under gameday/ of this one bucket.",
        },
    )
