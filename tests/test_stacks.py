"""Three stacks, each with an explicit env, deployable in order, sharing no tokens."""

from __future__ import annotations

import json


def test_each_stack_has_an_explicit_account_and_region(platform):
    envs = {s.node.id: (s.account, s.region) for s in (platform.dr, platform.primary, platform.global_)}
    assert envs == {
        "DrRegion": ("123456789012", "us-west-2"),
        "PrimaryRegion": ("123456789012", "us-east-1"),
        "Global": ("123456789012", "us-east-1"),
    }


def test_deploy_order_is_dr_then_primary_then_global(platform):
    # cdk deploy --all follows stack dependencies.
    assert platform.primary.dependencies == [platform.dr]
    assert platform.global_.dependencies == [platform.primary]
    assert platform.dr.dependencies == []


def test_stacks_share_no_exports_or_imports(synthesized):
    # Cross-region values are names from the convention, never CloudFormation exports.
    for stack in synthesized.stacks:
        text = json.dumps(synthesized.template_json(stack))
        assert "Fn::ImportValue" not in text
        assert '"Export"' not in text


def test_stack_names_follow_the_naming_convention(platform):
    assert platform.dr.stack_name == "dev-us-west-2-orders-dr-v1"
    assert platform.primary.stack_name == "dev-us-east-1-orders-primary-v1"
    assert platform.global_.stack_name == "dev-us-east-1-orders-global-v1"


def test_regional_stacks_take_availability_zones_from_config(platform):
    # Without this, anything that needs AZs would make synth call AWS.
    assert platform.primary.availability_zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert platform.dr.availability_zones == ["us-west-2a", "us-west-2b", "us-west-2c"]
