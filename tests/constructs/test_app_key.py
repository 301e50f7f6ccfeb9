"""AppKey: one customer-managed key per region, rotated, aliased, retained, and usable by the
account only through the app's AWS services; alias_arn and use_by_alias name a key another
stack made."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template

from dr_constructs.app_key import AppKey, alias_arn, use_by_alias
from tests.cfn import only, render
from tests.conftest import ACCOUNT, bare_stack, masked

REGION = "us-east-1"
ALIAS = "alias/dev-us-east-1-orders-v1"


@pytest.fixture(scope="module")
def stack(config) -> cdk.Stack:
    # Given a key in us-east-1 that CloudWatch Logs, alarms and EventBridge rules may use, as the
    # regional services set it up
    stack = bare_stack(config, REGION)
    key = AppKey(stack, "Key", alias=ALIAS, region=REGION, account=ACCOUNT)
    key.allow_cloudwatch_logs()
    key.allow_service_publisher("cloudwatch.amazonaws.com")
    key.allow_service_publisher("events.amazonaws.com")
    return stack


@pytest.fixture(scope="module")
def template(stack) -> Template:
    return Template.from_stack(stack)


def _statements(template: Template) -> list[dict[str, Any]]:
    (_, key) = only(template, "AWS::KMS::Key")
    return key["Properties"]["KeyPolicy"]["Statement"]


def _by_sid(template: Template) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in _statements(template) if "Sid" in s}


def test_key_is_rotated_and_retained_except_on_a_failed_first_create(template):
    # Then there is one key, rotated yearly, with the longest deletion window
    template.resource_count_is("AWS::KMS::Key", 1)
    # And it is kept on stack delete and replacement, but not after a rolled-back first create
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": Match.object_like({"EnableKeyRotation": True, "PendingWindowInDays": 30}),
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_key_carries_the_given_alias(template):
    # Then the alias names the key
    (key_id, _) = only(template, "AWS::KMS::Key")
    template.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": ALIAS, "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )


def test_key_policy_gives_the_account_administration_but_not_use(template):
    # Then the account may manage the key, with no action that reads or writes data
    admin = _by_sid(template)["KeyAdministration"]
    assert render(admin["Principal"]["AWS"]) == "arn:aws:iam::123456789012:root"
    assert not {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"} & set(admin["Action"])


def test_key_use_is_only_through_this_regions_app_services(template):
    # Then the account may use the key only from itself, through this region's app services
    condition = _by_sid(template)["UseOnlyThroughAppServices"]["Condition"]["StringEquals"]
    assert condition["kms:CallerAccount"] == ACCOUNT
    assert "dynamodb.us-east-1.amazonaws.com" in condition["kms:ViaService"]
    assert "s3.us-east-1.amazonaws.com" in condition["kms:ViaService"]
    assert all(s.endswith(".us-east-1.amazonaws.com") for s in condition["kms:ViaService"])


def test_key_use_follows_the_region_the_key_is_in(stack_in):
    # Given a key in us-west-2 that may be used only through S3
    stack = stack_in("us-west-2")
    AppKey(stack, "Key", alias="alias/dr", region="us-west-2", account=ACCOUNT, via_services=["s3"])
    # Then its use and grant statements name S3 in us-west-2 only
    statements = _by_sid(Template.from_stack(stack))
    for sid in ("UseOnlyThroughAppServices", "GrantsOnlyForAppResources"):
        assert statements[sid]["Condition"]["StringEquals"]["kms:ViaService"] == [
            "s3.us-west-2.amazonaws.com"
        ]


def test_no_statement_of_the_key_policy_allows_everything(template):
    # Then no statement allows every action or every principal
    for statement in _statements(template):
        assert statement["Action"] != "kms:*"
        assert statement["Principal"] != "*"
        assert statement["Principal"] != {"AWS": "*"}


def test_grants_are_only_for_aws_resources(template):
    # Then grants may only be created for AWS resources (DynamoDB, RDS, Lambda)
    grants = _by_sid(template)["GrantsOnlyForAppResources"]
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_every_account_wide_use_of_the_key_goes_through_an_aws_service(stack_in):
    # Given a key that also encrypts a secret (CDK adds its own Secrets Manager grant to the policy)
    stack = stack_in(REGION)
    key = AppKey(stack, "Key", alias=ALIAS, region=REGION, account=ACCOUNT)
    key.allow_cloudwatch_logs()
    secretsmanager.Secret(stack, "Secret", encryption_key=key.key)
    statements = _statements(Template.from_stack(stack))
    assert any("Sid" not in s for s in statements), "expected CDK's grant for Secrets Manager"
    # Then every statement for the account's principals, CDK's grant included, names a service
    for statement in statements:
        if statement.get("Sid") == "KeyAdministration" or "Service" in statement["Principal"]:
            continue
        assert "kms:ViaService" in statement["Condition"]["StringEquals"], statement


def test_cloudwatch_logs_may_use_the_key_only_for_this_accounts_log_groups(template):
    # Then CloudWatch Logs of this region may use it for this account's log groups only
    logs = _by_sid(template)["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"
    }


def test_alarm_and_event_publishers_are_scoped_to_this_account(template):
    # Then alarms and EventBridge rules may encrypt messages on behalf of this account only
    for sid, service in (
        ("CloudwatchPublishesForThisAccount", "cloudwatch.amazonaws.com"),
        ("EventsPublishesForThisAccount", "events.amazonaws.com"),
    ):
        statement = _by_sid(template)[sid]
        assert statement["Principal"] == {"Service": service}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_a_publisher_allowed_twice_gets_one_statement(stack_in):
    # Given two consumers that each allow CloudWatch alarms to publish
    stack = stack_in(REGION)
    key = AppKey(stack, "Key", alias=ALIAS, region=REGION, account=ACCOUNT)
    key.allow_service_publisher("cloudwatch.amazonaws.com")
    key.allow_service_publisher("cloudwatch.amazonaws.com")
    # Then the policy has the statement once (a duplicate Sid would fail the deploy)
    sids = [s.get("Sid") for s in _statements(Template.from_stack(stack))]
    assert sids.count("CloudwatchPublishesForThisAccount") == 1


@pytest.mark.parametrize("alias", ["orders", "alias/aws/orders", "alias/aws-orders"])
def test_an_alias_outside_the_customer_namespace_is_refused(stack_in, alias):
    # Given an alias that is not a customer alias
    # Then the key is refused
    with pytest.raises(ValueError, match="must start with 'alias/' and not 'alias/aws'"):
        AppKey(stack_in(REGION), "Key", alias=alias, region=REGION, account=ACCOUNT)


def test_a_key_usable_through_no_service_is_refused(stack_in):
    # Given no service to use the key through
    # Then the key is refused: nobody could use it
    with pytest.raises(ValueError, match="at least one service"):
        AppKey(stack_in(REGION), "Key", alias=ALIAS, region=REGION, account=ACCOUNT, via_services=[])


def test_alias_arn_names_a_key_of_another_region_before_it_exists(stack):
    # When another region's key is named by its alias
    arn = alias_arn(alias="alias/dev-us-west-2-orders-v1", region="us-west-2", account=ACCOUNT)
    # Then the ARN is that region's alias, in the stack's partition
    assert render(stack.resolve(arn)) == "arn:aws:kms:us-west-2:123456789012:alias/dev-us-west-2-orders-v1"


def test_use_by_alias_pins_every_key_of_the_region_to_the_one_with_the_alias(stack):
    # When a statement allows use of another stack's key by its alias, through S3, for one bucket
    statement = use_by_alias(
        sid="Encrypt",
        alias="alias/dr",
        region="us-west-2",
        account=ACCOUNT,
        partition="aws",
        actions=["kms:Encrypt"],
        via_service="s3",
        string_like={"kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::bucket/*"]},
    )
    # Then it names every key of that region, narrowed to the alias, the service and the bucket
    assert stack.resolve(statement.to_statement_json()) == {
        "Sid": "Encrypt",
        "Effect": "Allow",
        "Action": "kms:Encrypt",
        "Resource": "arn:aws:kms:us-west-2:123456789012:key/*",
        "Condition": {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/dr"},
            "StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::bucket/*"]},
        },
    }


def test_template_matches_snapshot(template, snapshot_json):
    # Then the template is the reviewed one (--snapshot-update accepts a deliberate change)
    assert masked(template.to_json()) == snapshot_json
