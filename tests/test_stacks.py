"""Six stacks, each with an explicit env, deployable in order, sharing no tokens."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.conftest import synthesize


def test_each_stack_has_an_explicit_account_and_region(platform):
    envs = {s.node.id: (s.account, s.region) for s in platform.stacks}
    assert envs == {
        "Dns": ("123456789012", "us-east-1"),
        "DrRegion": ("123456789012", "us-west-2"),
        "PrimaryRegion": ("123456789012", "us-east-1"),
        "DatabaseReplica": ("123456789012", "us-west-2"),
        "Routing": ("123456789012", "us-east-1"),
        "Observer": ("123456789012", "us-west-2"),
    }


def test_deploy_order_is_dns_then_dr_then_primary_then_replica_and_routing_then_observer(platform):
    # cdk deploy --all follows stack dependencies.
    assert platform.dns.dependencies == []
    assert platform.dr.dependencies == [platform.dns]
    assert set(platform.primary.dependencies) == {platform.dns, platform.dr}
    # The DR region's read replica needs its source, the primary's instance.
    assert platform.database_replica.dependencies == [platform.primary]
    assert platform.routing.dependencies == [platform.primary]
    # The observer reads the routing stack's health check IDs and the primary's FIS template IDs.
    assert set(platform.observer.dependencies) == {platform.routing, platform.primary}


def test_the_observer_is_never_in_the_primary_region(platform):
    # The view of an outage must not go down with the primary.
    assert platform.observer.region != platform.primary.region


def test_an_imported_hosted_zone_needs_no_dns_stack(tmp_path):
    # Given hostedZoneId / When the app is built / Then the regions use the zone as given
    imported = synthesize(tmp_path, hostedZoneId="Z0123456789ABCDEFGHIJ")
    assert imported.platform.dns is None
    assert imported.platform.dr.dependencies == []
    assert imported.platform.database_replica.dependencies == [imported.platform.primary]
    template = imported.template(imported.platform.dr)
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainValidationOptions": Match.array_with(
                [{"DomainName": "api.orders-dr.internal.test", "HostedZoneId": "Z0123456789ABCDEFGHIJ"}]
            )
        },
    )


def test_stacks_share_no_exports_or_imports(synthesized):
    # Cross-region values are names from the convention, never CloudFormation exports.
    for stack in synthesized.stacks:
        text = json.dumps(synthesized.template_json(stack))
        assert "Fn::ImportValue" not in text
        assert '"Export"' not in text


def test_stack_names_follow_the_naming_convention(platform):
    assert platform.dns.stack_name == "dev-us-east-1-orders-dns-v1"
    assert platform.dr.stack_name == "dev-us-west-2-orders-dr-v1"
    assert platform.primary.stack_name == "dev-us-east-1-orders-primary-v1"
    assert platform.database_replica.stack_name == "dev-us-west-2-orders-db-replica-v1"
    assert platform.routing.stack_name == "dev-us-east-1-orders-routing-v1"
    assert platform.observer.stack_name == "dev-us-west-2-orders-observer-v1"


def test_regional_stacks_take_availability_zones_from_config(platform):
    # Without this, anything that needs AZs would make synth call AWS.
    assert platform.primary.availability_zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert platform.dr.availability_zones == ["us-west-2a", "us-west-2b", "us-west-2c"]
