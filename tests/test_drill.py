"""The DR drill: a Step Functions Parallel of probes, one per replication path, each
turning its own failure into a FAILED result; a report; a schedule; alarms (seed failure 15)."""

from __future__ import annotations

import json

import pytest

from tests.cfn import at_path, render

PROBES = ["dynamodb", "s3", "sns", "failover", "ssm"]


def _definition(global_):
    (_, machine) = at_path(global_, "Global/Drill/StateMachine/Resource")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads(
        "".join(p if isinstance(p, str) else '"<token>"' for p in parts).replace('""<token>""', '"<token>"')
    )


def test_the_drill_runs_every_probe_in_parallel_then_reports(global_):
    definition = _definition(global_)
    assert definition["StartAt"] == "Probes"
    probes = definition["States"]["Probes"]
    assert probes["Type"] == "Parallel"
    assert probes["Next"] == "Report"
    assert sorted(branch["StartAt"] for branch in probes["Branches"]) == sorted(
        f"{p.capitalize()}Probe" for p in PROBES
    )
    assert definition["States"]["Report"]["Parameters"] == {
        "drill_id.$": "$$.Execution.Name",
        "results.$": "$.results",
    }


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_has_a_timeout_retries_and_a_catch_that_records_failed(global_, probe):
    (branch,) = [
        b
        for b in _definition(global_)["States"]["Probes"]["Branches"]
        if b["StartAt"] == f"{probe.capitalize()}Probe"
    ]
    task = branch["States"][f"{probe.capitalize()}Probe"]
    assert task["TimeoutSeconds"] == 180
    assert task["Retry"] == [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 2, "BackoffRate": 2}
    ]
    assert task["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": f"{probe.capitalize()}Failed"}
    ]
    assert task["Parameters"] == {"drill_id.$": "$$.Execution.Name"}
    failed = branch["States"][f"{probe.capitalize()}Failed"]
    assert failed["Type"] == "Pass"
    assert failed["Parameters"] == {"probe": probe, "status": "FAILED", "error.$": "$.error"}


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_runs_its_own_entry_point_with_its_own_role(global_, probe):
    (_, function) = at_path(global_, f"Global/Drill{probe.capitalize()}/Function/Resource")
    assert function["Properties"]["Handler"] == f"handler.{probe}_probe"
    assert function["Properties"]["FunctionName"] == f"dev-us-east-1-drill-{probe}-v1"


def test_the_state_machine_logs_without_execution_data_and_traces(global_):
    (_, machine) = at_path(global_, "Global/Drill/StateMachine/Resource")
    properties = machine["Properties"]
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["StateMachineName"] == "dev-us-east-1-dr-drill-v1"


def test_eventbridge_scheduler_runs_the_drill(global_):
    (machine_id, _) = at_path(global_, "Global/Drill/StateMachine/Resource")
    (_, schedule) = at_path(global_, "Global/Drill/Schedule/Resource")
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "rate(6 hours)"
    assert properties["Target"]["Arn"] == {"Ref": machine_id}


def test_the_dynamodb_probe_writes_the_primary_and_reads_the_dr_replica_only(global_):
    (_, policy) = at_path(global_, "Global/DrillDynamodb/Role/DefaultPolicy/Resource")
    dynamodb = {
        tuple(s["Action"]) if isinstance(s["Action"], list) else (s["Action"],): s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "dynamodb:" in str(s["Action"])
    }
    assert dynamodb == {
        (
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
        ): "arn:aws:dynamodb:us-east-1:123456789012:table/dev-us-east-1-orders-v1",
        ("dynamodb:GetItem",): "arn:aws:dynamodb:us-west-2:123456789012:table/dev-us-east-1-orders-v1",
    }


def test_the_failover_probe_may_invoke_only_the_dr_order_function(global_):
    (_, policy) = at_path(global_, "Global/DrillFailover/Role/DefaultPolicy/Resource")
    (invoke,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "lambda:InvokeFunction"
    ]
    assert invoke["Resource"] == "arn:aws:lambda:us-west-2:123456789012:function:dev-us-west-2-orders-v1"


def test_the_ssm_probe_gets_only_parameter_names(global_):
    (_, function) = at_path(global_, "Global/DrillSsm/Function/Resource")
    env = function["Properties"]["Environment"]["Variables"]
    assert env["SOURCE_PARAMETER"] == "/dev-us-east-1-orders-v1/drill/canary"
    assert env["TARGET_PARAMETER"] == "/dev-us-west-2-orders-v1/drill/canary"


@pytest.mark.parametrize("probe", PROBES)
def test_an_alarm_fires_when_a_probe_fails(global_, probe):
    (topic_id, _) = at_path(global_, "Global/Alerts/Topic/Resource")
    global_.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"dev-us-east-1-orders-global-v1-drill-{probe}-failed",
            "MetricName": "DrillProbeSuccess",
            "Namespace": "OrdersDr",
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "AlarmActions": [{"Ref": topic_id}],
            "TreatMissingData": "ignore",
        },
    )


@pytest.mark.parametrize(("store", "target"), [("dynamodb", 5), ("s3", 900), ("sns", 60), ("ssm", 300)])
def test_an_alarm_fires_when_a_measured_lag_exceeds_the_stores_rpo(global_, store, target):
    global_.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"dev-us-east-1-orders-global-v1-drill-{store}-lag-over-rpo",
            "MetricName": "DrillReplicationLagSeconds",
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": target,
            "TreatMissingData": "ignore",
        },
    )


def test_drill_alarms_stay_in_alarm_until_a_later_drill_reports(global_):
    # The drill reports once per drillEveryHours (6) on hourly periods: with notBreaching a failure
    # would clear itself an hour later. "ignore" keeps the alarm's state while no datapoint
    # arrives (CloudWatch, "Configuring how CloudWatch alarms treat missing data").
    drill_alarms = [
        a["Properties"]
        for a in global_.find_resources("AWS::CloudWatch::Alarm").values()
        if "-drill-" in a["Properties"]["AlarmName"]
    ]
    assert len(drill_alarms) == len(PROBES) + 4 + 1
    assert {a["TreatMissingData"] for a in drill_alarms} == {"ignore"}


def test_every_final_execution_status_feeds_one_outcome_metric(global_):
    # Given the rule on the drill's final status changes, into a log group
    (machine_id, _) = at_path(global_, "Global/Drill/StateMachine/Resource")
    (_, rule) = at_path(global_, "Global/Drill/ExecutionOutcomeRule/Resource")
    (group_id, group) = at_path(global_, "Global/Drill/ExecutionOutcomes/Resource")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": machine_id}]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "SUCCEEDED", "TIMED_OUT"]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [group_id, "Arn"]}
    assert "KmsKeyId" in group["Properties"]
    # Then metric filters make 1 of a success and 0 of a failure, timeout or abort
    filters = {
        f["Properties"]["MetricTransformations"][0]["MetricValue"]: f["Properties"]["FilterPattern"]
        for f in global_.find_resources("AWS::Logs::MetricFilter").values()
        if f["Properties"]["LogGroupName"] == {"Ref": group_id}
    }
    assert filters == {
        "1": '{ $.detail.status = "SUCCEEDED" }',
        "0": '{ ($.detail.status = "FAILED") || ($.detail.status = "TIMED_OUT") '
        '|| ($.detail.status = "ABORTED") }',
    }
    # And EventBridge may write into the group (CloudFormation's own resource policy, no custom resource)
    (policy,) = global_.find_resources("AWS::Logs::ResourcePolicy").values()
    (statement,) = json.loads(render(policy["Properties"]["PolicyDocument"]))["Statement"]
    assert statement["Principal"]["Service"] == ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    assert statement["Resource"] == f"<{group_id}.Arn>"


def test_the_execution_alarm_covers_failed_timed_out_and_aborted_drills(global_):
    global_.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "dev-us-east-1-orders-global-v1-drill-execution-failed",
            "MetricName": "DrillExecutionSucceeded",
            "Namespace": "OrdersDr",
            "Statistic": "Minimum",
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
        },
    )


def test_the_dr_inbox_receives_only_drill_canaries_from_the_dr_topic(dr):
    (topic_id, _) = at_path(dr, "DrRegion/Alerts/Topic/Resource")
    (queue_id, _) = at_path(dr, "DrRegion/DrillInbox/Queue/Resource")
    (_, subscription) = at_path(dr, "DrRegion/DrillInbox/Subscription/Resource")
    properties = subscription["Properties"]
    assert properties["TopicArn"] == {"Ref": topic_id}
    assert properties["Endpoint"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert properties["FilterPolicyScope"] == "MessageBody"
    assert properties["FilterPolicy"] == {"kind": ["dr-drill-canary"]}
