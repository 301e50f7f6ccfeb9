"""FaultExperiments: the game day's three FIS experiment templates in the primary, each with alarm
stop conditions (never "none"), its own role allowed only its action on its target, an encrypted
experiment log; the FIS Lambda extension on the order function; the template IDs published.

Read from the primary stack as the app synthesizes it (cdk.json's defaults). The action IDs,
parameters and permissions are those of the FIS actions reference:
https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dr_constructs.fault_experiments import FaultExperiments
from dr_constructs.service_function import FunctionDefaults, ServiceFunction
from tests.cfn import at_path, render
from tests.conftest import bare_stack, masked

PATH = "PrimaryRegion/FaultExperiments"
EXPERIMENTS = {
    "primary-path": ("PrimaryPath", "aws:lambda:invocation-http-integration-response", "Functions"),
    "dynamodb-pause": ("DynamodbPause", "aws:dynamodb:global-table-pause-replication", "Tables"),
    "s3-pause": ("S3Pause", "aws:s3:bucket-pause-replication", "Buckets"),
}


def _template(primary: Template, experiment: str) -> dict[str, Any]:
    (_, template) = at_path(primary, f"{PATH}/{EXPERIMENTS[experiment][0]}")
    return template["Properties"]


def _statements(primary: Template, experiment: str) -> list[dict[str, Any]]:
    (_, policy) = at_path(primary, f"{PATH}/{EXPERIMENTS[experiment][0]}Role/DefaultPolicy/Resource")
    return [
        {**s, "Action": s["Action"] if isinstance(s["Action"], list) else [s["Action"]]}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(primary: Template, experiment: str) -> set[str]:
    return {a for s in _statements(primary, experiment) for a in s["Action"]}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_experiment_runs_its_action_on_its_target_for_a_bounded_time(primary, experiment):
    properties = _template(primary, experiment)
    _construct_id, action_id, target = EXPERIMENTS[experiment]
    (action,) = properties["Actions"].values()
    assert action["ActionId"] == action_id
    assert action["Targets"] == {target: target}
    assert action["Parameters"]["duration"].startswith("PT")
    assert list(properties["Targets"]) == [target]
    # An experiment whose target resolves to nothing fails instead of passing vacuously
    assert properties["ExperimentOptions"] == {
        "AccountTargeting": "single-account",
        "EmptyTargetResolutionMode": "fail",
    }


def test_the_primary_path_fault_answers_503_without_running_the_order_function(primary):
    properties = _template(primary, "primary-path")
    (action,) = properties["Actions"].values()
    assert action["Parameters"] == {
        "duration": "PT17M",
        "invocationPercentage": "100",
        "statusCode": "503",
        "contentTypeHeader": "application/json",
        "preventExecution": "true",
    }
    (function_id, _) = at_path(primary, "PrimaryRegion/Services/OrderService/Orders/Function/Resource")
    assert properties["Targets"]["Functions"] == {
        "ResourceArns": [{"Fn::GetAtt": [function_id, "Arn"]}],
        "ResourceType": "aws:lambda:function",
        "SelectionMode": "ALL",
    }


def test_the_dynamodb_pause_isolates_the_primarys_replica_of_the_orders_table(primary, names):
    properties = _template(primary, "dynamodb-pause")
    assert properties["Targets"]["Tables"] == {
        "ResourceArns": [f"arn:aws:dynamodb:us-east-1:123456789012:table/{names.orders_table}"],
        "ResourceType": "aws:dynamodb:global-table",
        "SelectionMode": "ALL",
    }


def test_the_s3_pause_targets_the_data_bucket_by_its_own_tag_towards_the_dr_bucket(primary, names):
    # "This action only supports targeting by tags": the data bucket carries a tag no other bucket has
    properties = _template(primary, "s3-pause")
    tag = {"DrFaultTarget": "dev-us-east-1-fis-s3-pause-v1"}
    assert properties["Targets"]["Buckets"] == {
        "ResourceTags": tag,
        "ResourceType": "aws:s3:bucket",
        "SelectionMode": "ALL",
    }
    (action,) = properties["Actions"].values()
    assert (action["Parameters"]["region"], action["Parameters"]["destinationBuckets"]) == (
        "us-west-2",
        names.dr.data_bucket,
    )
    (_, bucket) = at_path(primary, "PrimaryRegion/Data/Bucket/Resource")
    assert {"Key": "DrFaultTarget", "Value": tag["DrFaultTarget"]} in bucket["Properties"]["Tags"]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_stops_on_the_emergency_stop_alarm(primary, experiment):
    (stop_id, stop) = at_path(primary, f"{PATH}/StopAlarm/Resource")
    conditions = _template(primary, experiment)["StopConditions"]
    assert {"Source": "aws:cloudwatch:alarm", "Value": {"Fn::GetAtt": [stop_id, "Arn"]}} in conditions
    assert all(c["Source"] == "aws:cloudwatch:alarm" for c in conditions)
    # Any GameDayStop datapoint, or SetAlarmState (./dev gameday --stop), trips it
    properties = stop["Properties"]
    assert (properties["AlarmName"], properties["MetricName"], properties["Threshold"]) == (
        "dev-us-east-1-game-day-stop-v1",
        "GameDayStop",
        1,
    )


@pytest.mark.parametrize("experiment", ["dynamodb-pause", "s3-pause"])
def test_a_replication_pause_also_stops_when_customers_see_errors(primary, experiment):
    (api_errors_id, api_errors) = next(
        (logical_id, resource)
        for logical_id, resource in primary.find_resources("AWS::CloudWatch::Alarm").items()
        if resource["Properties"]["AlarmName"] == "dev-us-east-1-orders-v1-api-Fault-Count-Critical"
    )
    # Given the primary API's 5xx alarm
    (metric,) = api_errors["Properties"]["Metrics"]
    assert (metric["MetricStat"]["Metric"]["Namespace"], metric["MetricStat"]["Metric"]["MetricName"]) == (
        "AWS/ApiGateway",
        "5xx",
    )
    # Then it is a stop condition of the pause: a pause that hurts customers ends
    conditions = _template(primary, experiment)["StopConditions"]
    assert {"Source": "aws:cloudwatch:alarm", "Value": {"Fn::GetAtt": [api_errors_id, "Arn"]}} in conditions


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_experiment_logs_to_the_encrypted_experiment_log(primary, experiment):
    (group_id, group) = at_path(primary, f"{PATH}/ExperimentLogs/Resource")
    (key_id, _) = at_path(primary, "PrimaryRegion/Key/Key/Resource")
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert _template(primary, experiment)["LogConfiguration"] == {
        "CloudWatchLogsConfiguration": {"LogGroupArn": {"Fn::GetAtt": [group_id, "Arn"]}},
        "LogSchemaVersion": 2,
    }


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_role_is_for_fis_experiments_of_this_account_and_region_only(primary, experiment):
    (_, role) = at_path(primary, f"{PATH}/{EXPERIMENTS[experiment][0]}Role/Resource")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "fis.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:fis:us-east-1:123456789012:experiment/*"},
    }
    (role_id, _) = at_path(primary, f"{PATH}/{EXPERIMENTS[experiment][0]}Role/Resource")
    assert _template(primary, experiment)["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_each_role_holds_only_its_own_experiments_actions(primary):
    shared = {
        "tag:GetResources",
        "logs:CreateLogDelivery",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
    assert _actions(primary, "primary-path") == shared | {
        "s3:PutObject",
        "s3:DeleteObject",
        "kms:GenerateDataKey",
        "lambda:GetFunction",
    }
    assert _actions(primary, "dynamodb-pause") == shared | {
        "dynamodb:PutResourcePolicy",
        "dynamodb:DeleteResourcePolicy",
        "dynamodb:GetResourcePolicy",
        "dynamodb:DescribeTable",
    }
    assert _actions(primary, "s3-pause") == shared | {
        "s3:PauseReplication",
        "s3:PutReplicationConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListAllMyBuckets",
        "s3:ListBucket",
    }


def test_the_s3_pause_may_pause_replication_towards_the_dr_region_only(primary):
    statements = _statements(primary, "s3-pause")
    (pause,) = [s for s in statements if s["Action"] == ["s3:PauseReplication"]]
    assert pause["Condition"] == {"StringEquals": {"s3:DestinationRegion": "us-west-2"}}
    (configuration,) = [s for s in statements if "s3:PutReplicationConfiguration" in s["Action"]]
    assert configuration["Condition"] == {"BoolIfExists": {"s3:IsReplicationPauseRequest": "true"}}
    # Listing (in AWS's example policy for the action) reaches the data bucket only
    (listing,) = [s for s in statements if s["Action"] == ["s3:ListBucket"]]
    assert listing["Resource"] == pause["Resource"]


def test_the_dynamodb_pause_may_change_only_the_orders_tables_and_its_streams_policies(primary, names):
    (statement,) = [
        s for s in _statements(primary, "dynamodb-pause") if "dynamodb:PutResourcePolicy" in s["Action"]
    ]
    table = f"arn:aws:dynamodb:us-east-1:123456789012:table/{names.orders_table}"
    assert statement["Resource"] == [table, f"{table}/stream/*"]


def test_the_order_function_carries_the_fis_extension_and_reads_only_its_configuration(primary):
    (_, function) = at_path(primary, "PrimaryRegion/Services/OrderService/Orders/Function/Resource")
    properties = function["Properties"]
    env = properties["Environment"]["Variables"]
    (config_id, _) = at_path(primary, f"{PATH}/ConfigBucket/Resource")
    assert render(env["AWS_FIS_CONFIGURATION_LOCATION"]) == f"<{config_id}.Arn>/FisConfigs/"
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/aws-fis/bootstrap"
    # The layer's ARN is AWS's public parameter, resolved by CloudFormation at deploy time
    (layer,) = [layer for layer in properties["Layers"] if "Ref" in layer]
    parameter = primary.to_json()["Parameters"][layer["Ref"]]
    assert parameter["Default"] == "/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x"
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    (_, policy) = at_path(primary, "PrimaryRegion/Services/OrderService/Orders/Role/DefaultPolicy/Resource")
    reads = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] in ("s3:ListBucket", "s3:GetObject")
    ]
    assert [(s["Action"], render(s["Resource"]), s.get("Condition")) for s in reads] == [
        ("s3:ListBucket", f"<{config_id}.Arn>", {"StringLike": {"s3:prefix": ["FisConfigs/*"]}}),
        ("s3:GetObject", f"<{config_id}.Arn>/FisConfigs/*", None),
    ]


def test_only_the_primarys_order_function_carries_the_extension(dr):
    (_, function) = at_path(dr, "DrRegion/Services/OrderService/Orders/Function/Resource")
    assert "AWS_LAMBDA_EXEC_WRAPPER" not in function["Properties"]["Environment"]["Variables"]


def test_the_configuration_bucket_is_encrypted_private_logged_and_expires_stale_configurations(
    primary, names
):
    (_, bucket) = at_path(primary, f"{PATH}/ConfigBucket/Resource")
    properties = bucket["Properties"]
    assert properties["BucketName"] == names.fault_config_bucket
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == f"{names.fault_config_bucket}/"
    (lifecycle,) = properties["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] == 1


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_template_id_is_published_for_the_observers_game_day(primary, names, experiment):
    (template_id, _) = at_path(primary, f"{PATH}/{EXPERIMENTS[experiment][0]}")
    (_, parameter) = at_path(primary, f"{PATH}/{EXPERIMENTS[experiment][0]}TemplateId/Resource")
    assert parameter["Properties"]["Name"] == names.game_day_template_parameter_prefix + experiment
    assert parameter["Properties"]["Value"] == {"Fn::GetAtt": [template_id, "Id"]}


def _experiments(stack: cdk.Stack, **changes: Any) -> FaultExperiments:
    key = kms.Key(stack, "Key")
    function = ServiceFunction(
        stack,
        "Orders",
        function_name="orders",
        role_name="orders",
        asset="orders",
        description="orders",
        environment={},
        defaults=FunctionDefaults(key, logs.RetentionDays.ONE_DAY, 27),
        timeout=cdk.Duration.seconds(10),
    )
    alarm = cw.Alarm(
        stack,
        "ApiErrors",
        metric=cw.Metric(namespace="n", metric_name="m"),
        threshold=1,
        evaluation_periods=1,
    )
    props: dict[str, Any] = {
        "order_function": function,
        "table_name": "orders",
        "data_bucket": s3.Bucket(stack, "Data"),
        "replica_region": "us-west-2",
        "replica_bucket_name": "replica",
        "key": key,
        "access_logs": s3.Bucket(stack, "Logs"),
        "config_bucket_name": "fault-config",
        "role_names": {"primary-path": "a", "dynamodb-pause": "b", "s3-pause": "c"},
        "stop_alarm_name": "stop",
        "customer_impact_alarms": [alarm],
        "alert_topic": sns.Topic(stack, "Alerts"),
        "action_seconds": {"primary-path": 60, "dynamodb-pause": 60, "s3-pause": 60},
        "template_id_parameter_prefix": "/game-day/",
        "log_retention": logs.RetentionDays.ONE_DAY,
        **changes,
    }
    return FaultExperiments(stack, "FaultExperiments", **props)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role_names": {"primary-path": "a"}}, "role_names needs exactly"),
        ({"action_seconds": {}}, "action_seconds needs exactly"),
        ({"customer_impact_alarms": []}, "customer-impact alarm"),
        ({"template_id_parameter_prefix": "/game-day"}, "must end with '/'"),
    ],
)
def test_bad_props_are_refused_naming_the_prop(stack_in, changes, message):
    with pytest.raises(ValueError, match=message):
        _experiments(stack_in("us-east-1"), **changes)


def test_a_bare_stack_gets_the_three_templates(config):
    stack = bare_stack(config, "us-east-1")
    _experiments(stack)
    Template.from_stack(stack).resource_count_is("AWS::FIS::ExperimentTemplate", 3)


def test_template_matches_snapshot(config, snapshot_json):
    stack = bare_stack(config, "us-east-1")
    _experiments(stack)
    assert masked(Template.from_stack(stack).to_json()) == snapshot_json


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_roles_wildcard_acknowledgement_names_only_the_actions_it_holds(
    synthesized, primary, experiment
):
    # Given the cdk-nag report of the app, and this experiment's role
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    role = f"{PATH}/{EXPERIMENTS[experiment][0]}Role/"
    (reason,) = {
        finding["reason"]
        for finding in nag["suppressedViolations"]
        if finding["ruleName"] == "AwsSolutions-IAM5[Resource::*]"
        and any(c["constructPath"].startswith(role) for c in finding["violatingConstructs"])
    }
    # Then its reason for "*" cites s3:ListAllMyBuckets only where the role may call it
    assert ("s3:ListAllMyBuckets" in reason) == ("s3:ListAllMyBuckets" in _actions(primary, experiment))
    assert ("s3:ListAllMyBuckets" in reason) == (experiment == "s3-pause")
