"""ParameterReplication copies the SSM parameters below the primary path to the DR path as SecureStrings
under the DR key: on every change, after every deploy and on a schedule, with every failure in an
alarmed dead-letter queue (seed failure 18), least privilege (seed failure 11), and never a parameter
value in the template (seed failure 5; the whole app is checked in tests/app/test_services_wiring.py)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from dr_constructs.app_key import AppKey
from dr_constructs.parameter_replication import ParameterReplication
from dr_constructs.service_function import FunctionDefaults
from tests.cfn import at_path, only, render
from tests.conftest import ACCOUNT, bare_stack, masked

REGION, TARGET_REGION = "us-east-1", "us-west-2"
SOURCE_PATH = "/dev-us-east-1-orders-v1/"
TARGET_PATH = "/dev-us-west-2-orders-v1/"
DR_ALIAS = "alias/dev-us-west-2-orders-v1"
CHANGE_RULE = "dev-us-east-1-ssm-change-v1"
DEPLOY_RULE = "dev-us-east-1-ssm-after-deploy-v1"
RETRY_POLICY = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}
ROLE_POLICY = "Test/ParameterReplication/Replicator/Role/DefaultPolicy/Resource"
SCHEDULER_ROLE = "Test/ParameterReplication/SchedulerRole/Resource"
SCHEDULER_POLICY = "Test/ParameterReplication/SchedulerRole/DefaultPolicy/Resource"


def _replication(config, stack: cdk.Stack, *, target_region: str) -> ParameterReplication:
    key = AppKey(stack, "Key", alias="alias/dev-us-east-1-orders-v1", region=stack.region, account=ACCOUNT)
    return ParameterReplication(
        stack,
        "ParameterReplication",
        naming=config.naming,
        source_path=SOURCE_PATH,
        source_key=key,
        target_path=TARGET_PATH,
        target_region=target_region,
        target_key_alias=DR_ALIAS,
        alert_topic=sns.Topic(stack, "Alerts", master_key=key.key),
        defaults=FunctionDefaults(
            log_key=key.key, log_retention=logs.RetentionDays.THREE_MONTHS, powertools_layer_version=27
        ),
        reconcile_every=cdk.Duration.hours(1),
        dead_letter_max_age=cdk.Duration.minutes(15),
    )


@pytest.fixture(scope="module")
def replication(config) -> ParameterReplication:
    # Given the replication of the primary's parameter path to the DR region, every hour
    return _replication(config, bare_stack(config, REGION), target_region=TARGET_REGION)


@pytest.fixture(scope="module")
def template(replication) -> Template:
    return Template.from_stack(cdk.Stack.of(replication))


# --- Helpers: references by construct, statements by action ---------------------------------------


def _resolve(replication: ParameterReplication, value: Any) -> Any:
    return cdk.Stack.of(replication).resolve(value)


def _function_arn(replication: ParameterReplication) -> Any:
    return _resolve(replication, replication.function.function_arn)


def _queue_arn(replication: ParameterReplication) -> Any:
    return _resolve(replication, replication.dead_letters.queue.queue_arn)


def _key_arn(template: Template) -> dict[str, Any]:
    (key_id, _) = only(template, "AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _statements(template: Template, path: str) -> list[dict[str, Any]]:
    (_, policy) = at_path(template, path)
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _replicator_allowing(template: Template, action: str) -> list[dict[str, Any]]:
    return [s for s in _statements(template, ROLE_POLICY) if action in _actions(s) and s["Effect"] == "Allow"]


def _rule(template: Template, name: str) -> dict[str, Any]:
    (rule,) = template.find_resources("AWS::Events::Rule", {"Properties": {"Name": name}}).values()
    return rule["Properties"]


def _targets_the_replicator_with_dead_letters(replication: ParameterReplication) -> list[dict[str, Any]]:
    return [
        {
            "Id": "Target0",
            "Arn": _function_arn(replication),
            "DeadLetterConfig": {"Arn": _queue_arn(replication)},
            "RetryPolicy": RETRY_POLICY,
        }
    ]


# --- Triggers -------------------------------------------------------------------------------------


def test_a_parameter_store_change_below_the_source_path_replicates_it(replication, template):
    rule = _rule(template, CHANGE_RULE)
    assert rule["EventPattern"] == {
        "source": ["aws.ssm"],
        "detail-type": ["Parameter Store Change"],
        "detail": {"name": [{"prefix": SOURCE_PATH}]},
    }
    assert rule["State"] == "ENABLED"
    # And the rule retries the replicator, then dead-letters the event
    assert rule["Targets"] == _targets_the_replicator_with_dead_letters(replication)


def test_every_successful_create_or_update_of_this_stack_reconciles(replication, template):
    rule = _rule(template, DEPLOY_RULE)
    assert rule["EventPattern"] == {
        "source": ["aws.cloudformation"],
        "detail-type": ["CloudFormation Stack Status Change"],
        "detail": {
            "stack-id": [{"Ref": "AWS::StackId"}],
            "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]},
        },
    }
    assert rule["Targets"] == _targets_the_replicator_with_dead_letters(replication)


def test_the_replicator_has_exactly_the_two_rules(template):
    template.resource_count_is("AWS::Events::Rule", 2)
    names = sorted(r["Properties"]["Name"] for r in template.find_resources("AWS::Events::Rule").values())
    assert names == [DEPLOY_RULE, CHANGE_RULE]


def test_a_schedule_reconciles_every_hour_with_retries_and_dead_letters(replication, template):
    # Given the reconcile schedule
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    # Then it runs every hour
    assert properties["Name"] == "dev-us-east-1-ssm-reconcile-v1"
    assert properties["ScheduleExpression"] == "rate(1 hour)"
    assert properties["State"] == "ENABLED"
    # And asks the replicator for a reconcile, retrying, then dead-lettering
    target = properties["Target"]
    assert target["Arn"] == _function_arn(replication)
    assert json.loads(target["Input"]) == {"action": "reconcile"}
    assert target["DeadLetterConfig"] == {"Arn": _queue_arn(replication)}
    assert target["RetryPolicy"] == RETRY_POLICY
    # As its own named role
    (role_id, role) = at_path(template, SCHEDULER_ROLE)
    assert target["RoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert role["Properties"]["RoleName"] == "dev-us-east-1-ssm-reconcile-scheduler-v1"


def test_the_scheduler_role_is_assumed_only_by_scheduler_of_this_account(template):
    (_, role) = at_path(template, SCHEDULER_ROLE)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ]


def test_the_scheduler_role_may_invoke_the_replicator_and_dead_letter_into_the_queue(replication, template):
    statements = _statements(template, SCHEDULER_POLICY)
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    function = _function_arn(replication)
    assert _actions(invoke) == {"lambda:InvokeFunction"}
    assert render(invoke["Resource"]) == render([function, {"Fn::Join": ["", [function, ":*"]]}])
    # The target's own send grant, and the queue's grant that adds the key
    sends = [s for s in statements if "sqs:SendMessage" in _actions(s)]
    assert sends, "the scheduler must be allowed to dead-letter"
    assert {a for s in sends for a in _actions(s)} <= {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert all(s["Resource"] == _queue_arn(replication) for s in sends)


def test_the_scheduler_role_may_encrypt_into_the_cmk_encrypted_dead_letter_queue(template):
    allowed: set[str] = set()
    for statement in _statements(template, SCHEDULER_POLICY):
        if statement["Effect"] == "Allow" and statement["Resource"] == _key_arn(template):
            allowed |= _actions(statement)
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= {a.rstrip("*") for a in allowed}


def test_eventbridge_of_this_account_may_encrypt_dead_letters_into_the_source_key(template):
    # EventBridge itself writes a rule's undeliverable events into the CMK-encrypted queue.
    (_, key) = only(template, "AWS::KMS::Key")
    (events,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_asynchronous_invocations_retry_twice_then_go_to_the_dead_letter_queue(replication, template):
    (config,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"] == {
        "FunctionName": _resolve(replication, replication.function.function_name),
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Destination": _queue_arn(replication)}},
    }


# --- The replicator function ----------------------------------------------------------------------


def test_the_replicator_runs_outside_the_vpc_to_reach_ssm_in_the_dr_region(template):
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": "dev-us-east-1-ssm-replicator-v1", "Timeout": 300, "VpcConfig": Match.absent()},
    )


def test_the_replicator_environment_holds_only_names_never_a_parameter_value(replication, template):
    (_, function) = only(template, "AWS::Lambda::Function")
    assert function["Properties"]["Environment"]["Variables"] == {
        "SOURCE_PATH": SOURCE_PATH,
        "TARGET_PATH": TARGET_PATH,
        "TARGET_REGION": TARGET_REGION,
        "TARGET_KEY_ID": DR_ALIAS,
        "POWERTOOLS_SERVICE_NAME": "ssm_replicator",
        "POWERTOOLS_METRICS_NAMESPACE": "OrdersDr",
        "LOG_LEVEL": "INFO",
    }


def test_the_construct_declares_no_parameter(template):
    # Operators own the parameters; a declared one would put its value in the template.
    template.resource_count_is("AWS::SSM::Parameter", 0)


# --- Replicator IAM (least privilege) -------------------------------------------------------------


def _parameter_arns(region: str, path: str) -> list[str]:
    base = f"arn:aws:ssm:{region}:123456789012:parameter{path.rstrip('/')}"
    return [base, f"{base}/*"]


def test_the_replicator_reads_only_the_source_path(template):
    for action in ("ssm:GetParameter", "ssm:GetParametersByPath"):
        resources = [render(s["Resource"]) for s in _replicator_allowing(template, action)]
        if action == "ssm:GetParametersByPath":  # also lists the DR copies, see below
            resources.remove(_parameter_arns(TARGET_REGION, TARGET_PATH))
        assert resources == [_parameter_arns(REGION, SOURCE_PATH)], action


def test_the_replicator_writes_and_deletes_only_the_target_path(template):
    (statement,) = [s for s in _statements(template, ROLE_POLICY) if "ssm:PutParameter" in _actions(s)]
    assert _actions(statement) == {"ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParametersByPath"}
    assert render(statement["Resource"]) == _parameter_arns(TARGET_REGION, TARGET_PATH)
    assert "Condition" not in statement
    assert len(_replicator_allowing(template, "ssm:DeleteParameter")) == 1


def test_the_replicator_has_no_other_ssm_actions(template):
    ssm = {a for s in _statements(template, ROLE_POLICY) for a in _actions(s) if a.startswith("ssm:")}
    assert ssm == {
        "ssm:GetParameter",
        "ssm:GetParametersByPath",
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "ssm:DescribeParameters",
    }


def test_the_replicator_may_describe_parameters_in_the_target_region_only(template):
    # The handler reads each DR copy's type, key and tier; the action takes no resource ARN.
    (statement,) = _replicator_allowing(template, "ssm:DescribeParameters")
    assert _actions(statement) == {"ssm:DescribeParameters"}
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": TARGET_REGION}}


def test_the_replicator_decrypts_with_the_source_key_only_through_ssm(template):
    (statement,) = [s for s in _replicator_allowing(template, "kms:Decrypt") if s["Action"] == "kms:Decrypt"]
    assert statement["Resource"] == _key_arn(template)
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}


def test_the_replicator_encrypts_only_with_the_key_carrying_the_target_alias_through_ssm(template):
    (statement,) = [
        s for s in _replicator_allowing(template, "kms:Encrypt") if TARGET_REGION in render(s["Resource"])
    ]
    assert _actions(statement) == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
    assert render(statement["Resource"]) == "arn:aws:kms:us-west-2:123456789012:key/*"
    assert statement["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": DR_ALIAS},
        "StringEquals": {"kms:ViaService": "ssm.us-west-2.amazonaws.com"},
    }


def test_every_other_kms_statement_is_on_the_source_key(template):
    # CDK's send grant on the CMK-encrypted dead-letter queue (the on-failure destination).
    checked = 0
    for statement in _statements(template, ROLE_POLICY):
        if any(a.startswith("kms:") for a in _actions(statement)) and "Condition" not in statement:
            assert statement["Resource"] == _key_arn(template), statement
            checked += 1
    assert checked >= 1


# Actions with no resource-level permissions, which only "*" can grant: their "Resource types"
# column is empty in the Service Authorization Reference (X-Ray, Systems Manager):
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
_NO_RESOURCE_TYPES = {"xray:PutTelemetryRecords", "xray:PutTraceSegments", "ssm:DescribeParameters"}


def test_the_replicator_has_no_wildcard_resource_but_for_actions_that_take_none(template):
    wildcard = [s for s in _statements(template, ROLE_POLICY) if "*" in _resources(s)]
    assert wildcard, "X-Ray needs one: the test must look at something"
    assert {a for s in wildcard for a in _actions(s)} <= _NO_RESOURCE_TYPES


# --- The dead-letter queue ------------------------------------------------------------------------


def test_the_dead_letter_queue_is_named_and_encrypted_with_the_source_key(template):
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "dev-us-east-1-ssm-replication-dlq-v1",
            "KmsMasterKeyId": _key_arn(template),
            "MessageRetentionPeriod": 14 * 24 * 3600,
        },
    )
    template.has_resource("AWS::SQS::Queue", {"DeletionPolicy": "RetainExceptOnCreate"})


def test_both_rules_may_dead_letter_into_the_queue_and_nothing_else_may(replication, template):
    # EventBridge writes a rule's undeliverable events with its own principal, per rule.
    (policy,) = template.find_resources("AWS::SQS::QueuePolicy").values()
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(allows) == 2
    for statement in allows:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == _queue_arn(replication)
    rules = (replication.change_rule, replication.deploy_rule)
    assert sorted(render(s["Condition"]["ArnEquals"]["aws:SourceArn"]) for s in allows) == sorted(
        render(_resolve(replication, rule.rule_arn)) for rule in rules
    )


def test_the_dead_letter_queue_alarms_notify_the_alert_topic_on_alarm_and_on_ok(replication, template):
    # Given the alert topic and the queue's alarms
    (topic_id, _) = only(template, "AWS::SNS::Topic")
    queue_name = _resolve(replication, replication.dead_letters.queue.queue_name)
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"Dimensions": [{"Name": "QueueName", "Value": queue_name}]}},
    ).values()
    # Then any message, and a message older than the max age, notify the topic both ways
    thresholds = sorted((a["Properties"]["MetricName"], a["Properties"]["Threshold"]) for a in alarms)
    assert thresholds == [("ApproximateAgeOfOldestMessage", 900), ("ApproximateNumberOfMessagesVisible", 1)]
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


# --- Validation -----------------------------------------------------------------------------------


def test_replication_into_its_own_region_is_refused(config, stack_in):
    # Given a stack in the source region
    stack = stack_in(REGION)
    # When the target region is that region too
    # Then the construct refuses: a copy in the region it protects is no disaster-recovery copy
    with pytest.raises(ValueError, match="needs a target in another region"):
        _replication(config, stack, target_region=REGION)


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
