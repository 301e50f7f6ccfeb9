"""SSM parameters of the primary path copied to the DR path as SecureStrings under the DR key:
on every change, after every deploy and hourly, with every failure in an alarmed dead-letter queue."""

from __future__ import annotations

import json
import re

from tests.cfn import at_path, only, render

FUNCTION = "PrimaryRegion/ParameterReplicator/Function/Resource"
ROLE_POLICY = "PrimaryRegion/ParameterReplicator/Role/DefaultPolicy/Resource"
QUEUE = "PrimaryRegion/ParameterReplicationDeadLetters/Queue/Resource"
SCHEDULER_ROLE = "PrimaryRegion/ParameterReplication/SchedulerRole/Resource"
SCHEDULER_POLICY = "PrimaryRegion/ParameterReplication/SchedulerRole/DefaultPolicy/Resource"
SOURCE_PATH = "/dev-us-east-1-orders-v1/"
TARGET_PATH = "/dev-us-west-2-orders-v1/"
DR_ALIAS = "alias/dev-us-west-2-orders-v1"
ALERT_TOPIC = "dev-us-east-1-alerts-v1"
RETRY_POLICY = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}


def _arn(template, path):
    (logical_id, _) = at_path(template, path)
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _key_arn(template):
    (key_id, _) = only(template, "AWS::KMS::Key")
    return {"Fn::GetAtt": [key_id, "Arn"]}


def _rule(template, name):
    (rule,) = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if r["Properties"]["Name"] == name
    ]
    return rule


def _actions(statement):
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement):
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _replicator_statements(template):
    (_, policy) = at_path(template, ROLE_POLICY)
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _statements_allowing(template, action):
    return [s for s in _replicator_statements(template) if action in _actions(s) and s["Effect"] == "Allow"]


def _assert_targets_the_replicator_with_dead_letters(template, rule):
    assert rule["Targets"] == [
        {
            "Id": "Target0",
            "Arn": _arn(template, FUNCTION),
            "DeadLetterConfig": {"Arn": _arn(template, QUEUE)},
            "RetryPolicy": RETRY_POLICY,
        }
    ]


# --- Triggers -------------------------------------------------------------------------------------


def test_change_rule_matches_parameter_store_changes_below_the_primary_path(primary):
    rule = _rule(primary, "dev-us-east-1-ssm-change-v1")
    assert rule["EventPattern"] == {
        "source": ["aws.ssm"],
        "detail-type": ["Parameter Store Change"],
        "detail": {"name": [{"prefix": SOURCE_PATH}]},
    }
    assert rule["State"] == "ENABLED"


def test_change_rule_invokes_the_replicator_with_retries_and_a_dead_letter_queue(primary):
    _assert_targets_the_replicator_with_dead_letters(primary, _rule(primary, "dev-us-east-1-ssm-change-v1"))


def test_after_deploy_rule_matches_this_stacks_successful_creates_and_updates(primary):
    rule = _rule(primary, "dev-us-east-1-ssm-after-deploy-v1")
    assert rule["EventPattern"] == {
        "source": ["aws.cloudformation"],
        "detail-type": ["CloudFormation Stack Status Change"],
        "detail": {
            "stack-id": [{"Ref": "AWS::StackId"}],
            "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]},
        },
    }
    _assert_targets_the_replicator_with_dead_letters(primary, rule)


def test_the_replicator_has_exactly_the_two_rules(primary):
    function = _arn(primary, FUNCTION)
    names = sorted(
        r["Properties"]["Name"]
        for r in primary.find_resources("AWS::Events::Rule").values()
        if any(t["Arn"] == function for t in r["Properties"]["Targets"])
    )
    assert names == ["dev-us-east-1-ssm-after-deploy-v1", "dev-us-east-1-ssm-change-v1"]


def test_schedule_reconciles_hourly_with_a_dead_letter_queue_and_its_own_role(primary):
    # Given the reconcile schedule
    (properties,) = [
        s["Properties"]
        for s in primary.find_resources("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Name"] == "dev-us-east-1-ssm-reconcile-v1"
    ]
    # Then it runs every hour
    assert properties["ScheduleExpression"] == "rate(1 hour)"
    assert properties["State"] == "ENABLED"
    # And asks the replicator for a reconcile, retrying, then dead-lettering
    target = properties["Target"]
    assert target["Arn"] == _arn(primary, FUNCTION)
    assert json.loads(target["Input"]) == {"action": "reconcile"}
    assert target["DeadLetterConfig"] == {"Arn": _arn(primary, QUEUE)}
    assert target["RetryPolicy"] == RETRY_POLICY
    # As its own named role
    assert target["RoleArn"] == _arn(primary, SCHEDULER_ROLE)
    (_, role) = at_path(primary, SCHEDULER_ROLE)
    assert role["Properties"]["RoleName"] == "dev-us-east-1-ssm-reconcile-scheduler-v1"


def test_scheduler_role_is_assumed_only_by_scheduler_of_this_account(primary):
    (_, role) = at_path(primary, SCHEDULER_ROLE)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ]


def test_scheduler_role_may_invoke_the_replicator_and_dead_letter_into_the_queue(primary):
    (_, policy) = at_path(primary, SCHEDULER_POLICY)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    sends = [s for s in statements if "sqs:SendMessage" in _actions(s)]
    function = _arn(primary, FUNCTION)
    assert _actions(invoke) == {"lambda:InvokeFunction"}
    assert render(invoke["Resource"]) == render([function, {"Fn::Join": ["", [function, ":*"]]}])
    # The target's own send grant, and the queue's grant that adds the key.
    assert sends, "the scheduler must be allowed to dead-letter"
    assert {a for s in sends for a in _actions(s)} <= {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    assert all(s["Resource"] == _arn(primary, QUEUE) for s in sends)


def test_scheduler_role_may_encrypt_into_the_cmk_encrypted_dead_letter_queue(primary):
    (_, policy) = at_path(primary, SCHEDULER_POLICY)
    allowed = set()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        if statement["Effect"] == "Allow" and statement["Resource"] == _key_arn(primary):
            allowed |= _actions(statement)
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= {a.rstrip("*") for a in allowed}


def test_asynchronous_invocations_retry_twice_then_go_to_the_dead_letter_queue(primary):
    (function_id, _) = at_path(primary, FUNCTION)
    (config,) = [
        c
        for c in primary.find_resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert config["Properties"] == {
        "FunctionName": {"Ref": function_id},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Destination": _arn(primary, QUEUE)}},
    }


# --- The replicator function ----------------------------------------------------------------------


def test_replicator_is_outside_the_vpc_to_reach_ssm_in_the_dr_region(primary):
    (_, function) = at_path(primary, FUNCTION)
    assert function["Properties"]["FunctionName"] == "dev-us-east-1-ssm-replicator-v1"
    assert "VpcConfig" not in function["Properties"]


def test_replicator_environment_holds_only_names_never_a_parameter_value(primary):
    (_, function) = at_path(primary, FUNCTION)
    assert function["Properties"]["Environment"]["Variables"] == {
        "SOURCE_PATH": SOURCE_PATH,
        "TARGET_PATH": TARGET_PATH,
        "TARGET_REGION": "us-west-2",
        "TARGET_KEY_ID": DR_ALIAS,
        "POWERTOOLS_SERVICE_NAME": "ssm_replicator",
        "POWERTOOLS_METRICS_NAMESPACE": "OrdersDr",
        "LOG_LEVEL": "INFO",
    }


# --- No value in any template ---------------------------------------------------------------------


def test_no_template_declares_a_parameter_of_the_replicated_paths(synthesized):
    # The one parameter a template declares is the DNS stack's hosted zone ID: public, not replicated.
    declared = {
        (stack.stack_name, resource["Properties"]["Name"])
        for stack in synthesized.stacks
        for resource in synthesized.template(stack).find_resources("AWS::SSM::Parameter").values()
    }
    assert declared == {("dev-us-east-1-orders-dns-v1", "/dev-us-east-1-orders-dns-v1/hosted-zone-id")}


def _keys(value):
    """Every key in a property tree, JSON-encoded strings (AwsCustomResource's SDK calls) included."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


# A key that holds a value ("Value", "ParameterValue", "SecretValue") or a SecureString type.
# "Values" of a describe call's filter is a list of search terms, not a value.
_LEAKY_KEY = re.compile(r"value$|securestring", re.IGNORECASE)


def test_no_custom_resource_carries_a_parameter_value_or_secure_string(synthesized):
    # Given every custom resource of the app
    custom = {
        f"{stack.stack_name}/{logical_id}": resource
        for stack in synthesized.stacks
        for logical_id, resource in synthesized.template_json(stack)["Resources"].items()
        if resource["Type"].startswith("Custom::")
        or resource["Type"] == "AWS::CloudFormation::CustomResource"
    }
    assert custom, "the test must look at something: the network's lookups are custom resources"
    for name, resource in custom.items():
        properties = resource.get("Properties", {})
        # Then none has a property that holds a value, at any depth
        assert [k for k in _keys(properties) if _LEAKY_KEY.search(k)] == [], name
        assert "securestring" not in json.dumps(properties).lower(), name


# --- Replicator IAM -------------------------------------------------------------------------------


def _parameter_arns(region, path):
    base = f"arn:aws:ssm:{region}:123456789012:parameter{path.rstrip('/')}"
    return [base, f"{base}/*"]


def test_replicator_reads_only_the_primary_path(primary):
    primary_arns = _parameter_arns("us-east-1", SOURCE_PATH)
    for action in ("ssm:GetParameter", "ssm:GetParametersByPath"):
        resources = [render(s["Resource"]) for s in _statements_allowing(primary, action)]
        if action == "ssm:GetParametersByPath":  # also lists the DR copies, see below
            resources.remove(_parameter_arns("us-west-2", TARGET_PATH))
        assert resources == [primary_arns], action


def test_replicator_writes_and_deletes_only_the_dr_path(primary):
    (statement,) = [s for s in _replicator_statements(primary) if "ssm:PutParameter" in _actions(s)]
    assert _actions(statement) == {"ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParametersByPath"}
    assert render(statement["Resource"]) == [
        "arn:aws:ssm:us-west-2:123456789012:parameter/dev-us-west-2-orders-v1",
        "arn:aws:ssm:us-west-2:123456789012:parameter/dev-us-west-2-orders-v1/*",
    ]
    assert "Condition" not in statement
    assert len(_statements_allowing(primary, "ssm:DeleteParameter")) == 1


def test_replicator_has_no_other_ssm_actions(primary):
    ssm = set()
    for statement in _replicator_statements(primary):
        ssm |= {a for a in _actions(statement) if a.startswith("ssm:")}
    assert ssm == {
        "ssm:GetParameter",
        "ssm:GetParametersByPath",
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "ssm:DescribeParameters",
    }


def test_replicator_may_describe_parameters_in_the_dr_region_only(primary):
    # The handler reads each DR copy's type, key and tier; the action takes no resource ARN.
    (statement,) = _statements_allowing(primary, "ssm:DescribeParameters")
    assert _actions(statement) == {"ssm:DescribeParameters"}
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}


def test_replicator_decrypts_with_the_primary_key_only_through_ssm(primary):
    (statement,) = [s for s in _statements_allowing(primary, "kms:Decrypt") if s["Action"] == "kms:Decrypt"]
    assert statement["Resource"] == _key_arn(primary)
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}}


def test_replicator_encrypts_only_with_the_key_carrying_the_dr_alias_through_ssm(primary):
    (statement,) = [
        s for s in _statements_allowing(primary, "kms:Encrypt") if "us-west-2" in render(s["Resource"])
    ]
    assert _actions(statement) == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
    assert render(statement["Resource"]) == "arn:aws:kms:us-west-2:123456789012:key/*"
    assert statement["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": DR_ALIAS},
        "StringEquals": {"kms:ViaService": "ssm.us-west-2.amazonaws.com"},
    }


def test_every_other_kms_statement_is_on_the_primary_key(primary):
    # CDK's send grant on the CMK-encrypted dead-letter queue (the on-failure destination).
    for statement in _replicator_statements(primary):
        if any(a.startswith("kms:") for a in _actions(statement)) and "Condition" not in statement:
            assert statement["Resource"] == _key_arn(primary), statement


# Actions with no resource-level permissions, which only "*" can grant.
_NO_RESOURCE_TYPES = {"xray:PutTelemetryRecords", "xray:PutTraceSegments", "ssm:DescribeParameters"}


def test_replicator_has_no_wildcard_resource_but_for_actions_that_take_none(primary):
    wildcard = [s for s in _replicator_statements(primary) if "*" in _resources(s)]
    assert wildcard, "X-Ray needs one: the test must look at something"
    assert {a for s in wildcard for a in _actions(s)} <= _NO_RESOURCE_TYPES


# --- The dead-letter queue ------------------------------------------------------------------------


def test_dead_letter_queue_is_encrypted_with_the_primary_key(primary):
    (_, queue) = at_path(primary, QUEUE)
    assert queue["Properties"]["QueueName"] == "dev-us-east-1-ssm-replication-dlq-v1"
    assert queue["Properties"]["KmsMasterKeyId"] == _key_arn(primary)
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_dead_letter_queue_policy_denies_requests_without_tls(primary):
    (queue_id, _) = at_path(primary, QUEUE)
    (policy,) = [
        p["Properties"]
        for p in primary.find_resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert denies == [
        {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        }
    ]


def test_both_rules_may_dead_letter_into_the_queue_and_nothing_else_may(primary):
    # EventBridge writes a rule's undeliverable events with its own principal, per rule.
    (queue_id, _) = at_path(primary, QUEUE)
    (policy,) = [
        p["Properties"]
        for p in primary.find_resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    rules = {
        r["Properties"]["Name"]: {"Fn::GetAtt": [logical_id, "Arn"]}
        for logical_id, r in primary.find_resources("AWS::Events::Rule").items()
    }
    assert len(allows) == 2
    for statement in allows:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert sorted(render(s["Condition"]["ArnEquals"]["aws:SourceArn"]) for s in allows) == sorted(
        render(rules[name]) for name in ("dev-us-east-1-ssm-change-v1", "dev-us-east-1-ssm-after-deploy-v1")
    )


def _queue_alarms(template):
    (queue_id, _) = at_path(template, QUEUE)
    return [
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    ]


def test_dead_letter_queue_alarms_on_any_message_and_on_a_message_older_than_15_minutes(primary):
    alarms = _queue_alarms(primary)
    thresholds = sorted((alarm["MetricName"], alarm["Threshold"]) for alarm in alarms)
    assert thresholds == [("ApproximateAgeOfOldestMessage", 900), ("ApproximateNumberOfMessagesVisible", 1)]
    for alarm in alarms:
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Statistic"] == "Maximum"


def test_dead_letter_queue_alarms_notify_the_alert_topic_on_alarm_and_on_ok(primary):
    (topic_id,) = primary.find_resources("AWS::SNS::Topic", {"Properties": {"TopicName": ALERT_TOPIC}})
    alarms = _queue_alarms(primary)
    assert len(alarms) == 2
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]
