"""A customer-managed key per region: rotated, aliased, usable only through the app's services."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match


@pytest.mark.parametrize(("stack", "region"), [("primary", "us-east-1"), ("dr", "us-west-2")])
def test_each_region_has_a_rotated_retained_key_with_a_convention_alias(request, stack, region):
    template = request.getfixturevalue(stack)
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": Match.object_like({"EnableKeyRotation": True, "PendingWindowInDays": 30}),
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": f"alias/dev-{region}-orders-v1"})


def _all_statements(template):
    (key,) = template.find_resources("AWS::KMS::Key").values()
    return key["Properties"]["KeyPolicy"]["Statement"]


def _key_statements(template):
    return {s["Sid"]: s for s in _all_statements(template) if "Sid" in s}


def test_key_policy_gives_the_account_administration_but_not_use(primary):
    admin = _key_statements(primary)["KeyAdministration"]
    assert not {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"} & set(admin["Action"])


def test_key_use_is_only_through_this_regions_app_services(primary):
    use = _key_statements(primary)["UseOnlyThroughAppServices"]
    condition = use["Condition"]["StringEquals"]
    assert condition["kms:CallerAccount"] == "123456789012"
    assert "dynamodb.us-east-1.amazonaws.com" in condition["kms:ViaService"]
    assert "s3.us-east-1.amazonaws.com" in condition["kms:ViaService"]
    assert all(s.endswith(".us-east-1.amazonaws.com") for s in condition["kms:ViaService"])


def test_no_statement_of_the_key_policy_allows_everything(primary, dr):
    for template in (primary, dr):
        for statement in _all_statements(template):
            assert statement["Action"] != "kms:*"
            assert statement["Principal"] != "*"
            assert statement["Principal"] != {"AWS": "*"}


def test_grants_are_only_for_aws_resources(dr):
    grants = _key_statements(dr)["GrantsOnlyForAppResources"]
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_every_account_wide_use_of_the_key_goes_through_an_aws_service(primary, dr):
    # Account principals may only use the key via a service (CDK's Secrets Manager grant included).
    for template in (primary, dr):
        for statement in _all_statements(template):
            if statement.get("Sid") == "KeyAdministration" or "Service" in statement["Principal"]:
                continue
            assert "kms:ViaService" in statement["Condition"]["StringEquals"], statement


def test_cloudwatch_logs_may_use_the_key_only_for_this_accounts_log_groups(primary):
    logs = _key_statements(primary)["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"
    }


def test_alarm_and_event_publishers_are_scoped_to_this_account(primary):
    for sid in ("CloudwatchPublishesForThisAccount", "EventsPublishesForThisAccount"):
        statement = _key_statements(primary)[sid]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
