"""`-c suffix=... -c environment=...` reach every physical name the app makes."""

from __future__ import annotations

import pytest

from tests.conftest import synthesize

# Every property that carries a physical name in the templates, by resource type.
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::IAM::Role": "RoleName",
    "AWS::KMS::Alias": "AliasName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name",
}


@pytest.fixture(scope="module")
def renamed(tmp_path_factory):
    return synthesize(
        tmp_path_factory.mktemp("renamed"), suffix="-qa7", environment="stage", domain="orders.acme-corp.net"
    )


def _physical_names(synthesized):
    names = [stack.stack_name for stack in synthesized.stacks]
    for stack in synthesized.stacks:
        for resource in synthesized.template_json(stack)["Resources"].values():
            prop = NAME_PROPERTIES.get(resource["Type"])
            if prop and prop in resource["Properties"]:
                names.append(resource["Properties"][prop])
    return names


def test_every_physical_name_carries_the_environment_and_suffix(renamed):
    names = _physical_names(renamed)
    assert len(names) >= 30
    for name in names:
        assert name.removeprefix("alias/").startswith("stage-"), name
        assert name.endswith("-qa7"), name


def test_no_default_name_survives_an_override(renamed):
    text = str(_physical_names(renamed))
    assert "dev-" not in text
    assert "-v1" not in text


def test_the_domain_comes_from_context(renamed):
    assert renamed.platform.config.domain == "orders.acme-corp.net"
