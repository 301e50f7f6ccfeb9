"""DrDrill: a Step Functions Parallel of the five probes, each turning its own failure into a FAILED
result, then a report; a schedule; alarms that keep their state until the next drill reports; and
one outcome metric per execution from the execution's final status (seed failure 15)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from dr_constructs.dr_drill import DrDrill, drill_metric
from dr_constructs.drill_probes import PROBES
from dr_constructs.evidence_bucket import EvidenceBucket
from dr_constructs.service_function import FunctionDefaults
from tests.cfn import at_path, only, render
from tests.conftest import ACCOUNT, bare_stack, masked

PREFIX = "dev-us-east-1-orders-global-v1"
RPO_TARGETS = {"dynamodb": 5, "s3": 900, "sns": 60, "ssm": 300}


def _drill(stack: cdk.Stack, config, names, every: cdk.Duration | None = None) -> DrDrill:
    every = every or cdk.Duration.hours(6)
    key = kms.Key(stack, "LogKey")
    return DrDrill(
        stack,
        "Drill",
        naming=config.naming,
        primary=names.primary,
        dr=names.dr,
        orders_table=names.orders_table,
        dr_health_url="https://drhealthhost.lambda-url.us-west-2.on.aws/",
        health_check_ids={"us-east-1": "primary-check-id", "us-west-2": "dr-check-id"},
        defaults=FunctionDefaults(
            log_key=key, log_retention=logs.RetentionDays.THREE_MONTHS, powertools_layer_version=27
        ),
        alert_topic=sns.Topic(stack, "Alerts"),
        alarm_prefix=PREFIX,
        rpo_targets=RPO_TARGETS,
        every=every,
        evidence=EvidenceBucket(
            stack,
            "Evidence",
            bucket_name="evidence-bucket",
            access_log_bucket_name="evidence-logs",
            key=key,
            retention=s3.ObjectLockRetention.governance(cdk.Duration.days(365)),
        ),
        state_machine_name="dev-us-east-1-dr-drill-v1",
    )


@pytest.fixture(scope="module")
def template(config, names) -> Template:
    # Given a drill in us-east-1 that runs every 6 hours, reports to a topic and keeps its evidence
    stack = bare_stack(config, "us-east-1")
    _drill(stack, config, names)
    return Template.from_stack(stack)


def _definition(template: Template) -> dict[str, Any]:
    """The state machine's definition, each function ARN shown as <LogicalId.Arn>."""
    (_, machine) = at_path(template, "Test/Drill/StateMachine/Resource")
    return json.loads(render(machine["Properties"]["DefinitionString"]))


def _branch(template: Template, probe: str) -> dict[str, Any]:
    (branch,) = [
        b
        for b in _definition(template)["States"]["Probes"]["Branches"]
        if b["StartAt"] == f"{probe.capitalize()}Probe"
    ]
    return branch


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def test_the_drill_runs_every_probe_in_parallel_then_reports(template):
    definition = _definition(template)
    # Then it starts with one Parallel state with a branch per probe
    assert definition["StartAt"] == "Probes"
    probes = definition["States"]["Probes"]
    assert (probes["Type"], probes["ResultPath"], probes["Next"]) == ("Parallel", "$.results", "Report")
    assert sorted(b["StartAt"] for b in probes["Branches"]) == sorted(
        f"{p.capitalize()}Probe" for p in PROBES
    )
    # And the report gets the execution's name as the drill ID and every probe's result
    (report_id, _) = at_path(template, "Test/Drill/ReportFunction/Function/Resource")
    report = definition["States"]["Report"]
    assert report["Resource"] == f"<{report_id}.Arn>"
    assert report["Parameters"] == {"drill_id.$": "$$.Execution.Name", "results.$": "$.results"}
    assert report["End"] is True
    # And a stuck drill ends after 15 minutes
    assert definition["TimeoutSeconds"] == 900


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_has_a_timeout_retries_and_a_catch_that_records_failed(template, probe):
    # Given the probe's branch
    branch = _branch(template, probe)
    task = branch["States"][f"{probe.capitalize()}Probe"]
    # Then the task invokes the probe's own function with the drill ID, 180 s at most
    (function_id, _) = at_path(template, f"Test/Drill/ProbeFunctions/{probe.capitalize()}/Function/Resource")
    assert task["Resource"] == f"<{function_id}.Arn>"
    assert task["Parameters"] == {"drill_id.$": "$$.Execution.Name"}
    assert task["TimeoutSeconds"] == 180
    # And tries twice more on error, but never again on a bad event or configuration (the same each time)
    assert task["Retry"] == [
        {"ErrorEquals": ["DrillInputError"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 2, "BackoffRate": 2},
    ]
    # And any failure left becomes this probe's FAILED result, not a failed drill
    assert task["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{probe.capitalize()}Failed"}
    ]
    failed = branch["States"][f"{probe.capitalize()}Failed"]
    assert failed["Type"] == "Pass"
    assert failed["Parameters"] == {"probe": probe, "status": "FAILED", "error.$": "$.error"}


def test_the_state_machine_logs_without_execution_data_and_traces(template):
    # Then it logs every step but no inputs or outputs, and is traced
    (_, machine) = at_path(template, "Test/Drill/StateMachine/Resource")
    properties = machine["Properties"]
    assert properties["StateMachineName"] == "dev-us-east-1-dr-drill-v1"
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert properties["TracingConfiguration"] == {"Enabled": True}


def test_the_state_machine_may_invoke_only_the_drills_own_functions(template):
    # Then its role may invoke the five probes and the report, each with its versions, nothing else
    (_, policy) = at_path(template, "Test/Drill/StateMachine/Role/DefaultPolicy/Resource")
    (invoke,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "lambda:" in str(s["Action"])
    ]
    functions = {
        f"<{at_path(template, f'Test/Drill/ProbeFunctions/{p.capitalize()}/Function/Resource')[0]}.Arn>"
        for p in PROBES
    } | {f"<{at_path(template, 'Test/Drill/ReportFunction/Function/Resource')[0]}.Arn>"}
    # Each function and its versions, nothing else
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert set(render(invoke["Resource"])) == functions | {f"{arn}:*" for arn in functions}


def test_eventbridge_scheduler_runs_the_drill_at_the_configured_rate_without_retries(template):
    # Then a schedule starts the state machine every 6 hours; a missed run waits for the next one
    (machine_id, _) = at_path(template, "Test/Drill/StateMachine/Resource")
    (role_id, _) = at_path(template, "Test/Drill/SchedulerRole/Resource")
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "Name": "dev-us-east-1-dr-drill-v1",
            "ScheduleExpression": "rate(6 hours)",
            "State": "ENABLED",
            "Target": Match.object_like(
                {
                    "Arn": {"Ref": machine_id},
                    "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
                    "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 0}),
                }
            ),
        },
    )


def test_the_schedulers_role_is_for_this_accounts_scheduler_and_may_only_start_the_drill(template):
    # Then only this account's Scheduler may assume the role, and it may only start the drill
    (machine_id, _) = at_path(template, "Test/Drill/StateMachine/Resource")
    (_, role) = at_path(template, "Test/Drill/SchedulerRole/Resource")
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    (_, policy) = at_path(template, "Test/Drill/SchedulerRole/DefaultPolicy/Resource")
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": machine_id}}
    ]


def test_the_report_publishes_to_the_alert_topic_with_the_rpo_targets(template):
    # Then the report step knows the topic and the RPO targets, and may publish to that topic
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    (_, function) = at_path(template, "Test/Drill/ReportFunction/Function/Resource")
    properties = function["Properties"]
    assert (properties["FunctionName"], properties["Handler"]) == (
        "dev-us-east-1-drill-report-v1",
        "handler.report",
    )
    env = properties["Environment"]["Variables"]
    assert env["REPORT_TOPIC_ARN"] == {"Ref": topic_id}
    assert json.loads(env["RPO_TARGETS"]) == RPO_TARGETS
    (_, policy) = at_path(template, "Test/Drill/ReportFunction/Role/DefaultPolicy/Resource")
    assert {"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": topic_id}} in policy[
        "Properties"
    ]["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("probe", PROBES)
def test_an_alarm_fires_when_a_probe_fails(template, probe):
    # Then the probe's success metric below 1 alarms, on the topic, on alarm and on recovery
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{PREFIX}-drill-{probe}-failed",
            "Namespace": "OrdersDr",
            "MetricName": "DrillProbeSuccess",
            "Dimensions": [{"Name": "Probe", "Value": probe}, {"Name": "service", "Value": "dr_drill"}],
            "Statistic": "Minimum",
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "AlarmActions": [{"Ref": topic_id}],
            "OKActions": [{"Ref": topic_id}],
        },
    )


@pytest.mark.parametrize(("store", "target"), RPO_TARGETS.items())
def test_an_alarm_fires_when_a_measured_lag_exceeds_the_stores_rpo(template, store, target):
    # Then a lag the drill measured above the store's RPO target alarms
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{PREFIX}-drill-{store}-lag-over-rpo",
            "Namespace": "OrdersDr",
            "MetricName": "DrillReplicationLagSeconds",
            "Dimensions": [{"Name": "Store", "Value": store}, {"Name": "service", "Value": "dr_drill"}],
            "Statistic": "Maximum",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": target,
        },
    )


def test_drill_alarms_stay_in_alarm_until_a_later_drill_reports(template):
    # Given a drill that reports once per 6 hours on hourly periods: with notBreaching a failure
    # would clear itself an hour later; "ignore" keeps the alarm's state while no datapoint
    # arrives (CloudWatch, "Configuring how CloudWatch alarms treat missing data")
    alarms = _alarms(template)
    # Then each probe, each store and the execution have one alarm, and every one ignores missing data
    del alarms[f"{PREFIX}-drill-not-passed"]
    assert len(alarms) == len(PROBES) + len(RPO_TARGETS) + 1
    assert {(a["Period"], a["EvaluationPeriods"], a["TreatMissingData"]) for a in alarms.values()} == {
        (3600, 1, "ignore")
    }


def test_an_alarm_fires_when_no_drill_passed_for_twice_the_interval(template):
    # Given a drill every 6 hours: an hour without any execution has no datapoint, and an hour
    # whose only drills failed has a maximum of 0
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    alarm = _alarms(template)[f"{PREFIX}-drill-not-passed"]
    # Then 12 hourly periods without a 1 alarm: missing data is breaching, all 12 must breach
    assert alarm["MetricName"] == "DrillExecutionSucceeded"
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Maximum",
        "LessThanThreshold",
        1,
    )
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3600, 12, 12)
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic_id}]


@pytest.mark.parametrize("hours", [0, 85, 1.5])
def test_an_interval_the_no_pass_alarm_cannot_cover_is_refused(config, names, hours):
    # Given an interval whose double is not whole hours within CloudWatch's 7-day evaluation range
    # (PutMetricAlarm: Period x EvaluationPeriods <= 604,800 s)
    stack = bare_stack(config, "us-east-1")
    # Then the drill is refused, naming the allowed range
    with pytest.raises(ValueError, match="1 to 84"):
        _drill(stack, config, names, every=cdk.Duration.minutes(hours * 60))


def test_the_report_step_may_only_add_drill_reports_to_the_evidence_bucket(template):
    # Then its function knows the bucket and its role may put objects under reports/drill/ only
    (bucket_id, _) = at_path(template, "Test/Evidence/Bucket/Resource")
    (_, function) = at_path(template, "Test/Drill/ReportFunction/Function/Resource")
    assert function["Properties"]["Environment"]["Variables"]["EVIDENCE_BUCKET"] == {"Ref": bucket_id}
    (_, policy) = at_path(template, "Test/Drill/ReportFunction/Role/DefaultPolicy/Resource")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    s3_actions = [
        (s["Action"], render(s["Resource"])) for s in statements if str(s["Action"]).startswith("s3:")
    ]
    assert s3_actions == [("s3:PutObject", f"<{bucket_id}.Arn>/reports/drill/*")]


def test_every_final_execution_status_goes_to_an_encrypted_outcome_log(template):
    # Given the rule on the drill's status changes, and the outcome log group
    (machine_id, _) = at_path(template, "Test/Drill/StateMachine/Resource")
    (_, rule) = at_path(template, "Test/Drill/ExecutionOutcomeRule/Resource")
    (group_id, group) = at_path(template, "Test/Drill/ExecutionOutcomes/Resource")
    # Then it matches this state machine's every final status
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine_id}]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "SUCCEEDED", "TIMED_OUT"]
    # And delivers them into the group, which is encrypted with the log key
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    (key_id, _) = only(template, "AWS::KMS::Key")
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_eventbridge_may_write_the_outcome_log_through_a_native_resource_policy(template):
    # Then CloudFormation's own resource policy lets EventBridge write into the group (no custom resource)
    (group_id, _) = at_path(template, "Test/Drill/ExecutionOutcomes/Resource")
    (_, policy) = only(template, "AWS::Logs::ResourcePolicy")
    (statement,) = json.loads(render(policy["Properties"]["PolicyDocument"]))["Statement"]
    assert statement["Principal"]["Service"] == ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == f"<{group_id}.Arn>"
    template.resource_count_is("Custom::CloudwatchLogResourcePolicy", 0)


def test_the_outcome_rule_waits_for_the_policy_that_lets_it_deliver(template):
    # Given the rule and the log group's resource policy
    (policy_id, _) = only(template, "AWS::Logs::ResourcePolicy")
    (_, rule) = at_path(template, "Test/Drill/ExecutionOutcomeRule/Resource")
    # Then the rule is created only once EventBridge may write, so no first outcome is dropped
    assert rule["DependsOn"] == [policy_id]


def test_metric_filters_turn_a_success_into_1_and_a_failure_timeout_or_abort_into_0(template):
    # Then the group's two filters make one series: 1 per success, 0 per failure, timeout or abort
    (group_id, _) = at_path(template, "Test/Drill/ExecutionOutcomes/Resource")
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricValue"]: f["Properties"]
        for f in template.find_resources("AWS::Logs::MetricFilter").values()
    }
    assert {value: f["FilterPattern"] for value, f in filters.items()} == {
        "1": '{ $.detail.status = "SUCCEEDED" }',
        "0": '{ ($.detail.status = "FAILED") || ($.detail.status = "TIMED_OUT") '
        '|| ($.detail.status = "ABORTED") }',
    }
    for f in filters.values():
        assert f["LogGroupName"] == {"Ref": group_id}
        transformation = f["MetricTransformations"][0]
        assert (transformation["MetricNamespace"], transformation["MetricName"]) == (
            "OrdersDr",
            "DrillExecutionSucceeded",
        )


def test_the_execution_alarm_covers_failed_timed_out_and_aborted_drills(template):
    # Then the outcome's minimum below 1 alarms: the last drill did not succeed
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{PREFIX}-drill-execution-failed",
            "Namespace": "OrdersDr",
            "MetricName": "DrillExecutionSucceeded",
            "Statistic": "Minimum",
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "AlarmActions": [{"Ref": topic_id}],
            "OKActions": [{"Ref": topic_id}],
        },
    )


def test_drill_metric_is_the_reports_hourly_metric_with_its_dimension_and_service():
    # When the dashboard asks for a probe's metric as seen from us-east-1
    metric = drill_metric(
        "DrillProbeSuccess",
        dimension="Probe",
        value="s3",
        statistic="Minimum",
        region="us-east-1",
        label="s3",
    )
    # Then it is the one the report step publishes, per probe and per service, in hourly periods
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "OrdersDr",
        "DrillProbeSuccess",
        "Minimum",
    )
    assert metric.dimensions == {"Probe": "s3", "service": "dr_drill"}
    assert metric.period.to_seconds() == 3600
    assert (metric.region, metric.label) == ("us-east-1", "s3")


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
