"""hosted_zone: the zone of the domain as any stack sees it, without a synth-time lookup: imported
by ID when one is configured, otherwise read at deploy time from the exact SSM parameter the DNS
stack writes, in us-east-1."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Template

from dr_constructs.hosted_zone import hosted_zone
from tests.cfn import only
from tests.conftest import ACCOUNT, bare_stack, masked

DOMAIN = "orders-dr.internal.test"
PARAMETER = "/dev-us-east-1-orders-dns-v1/hosted-zone-id"


def _zone_with_a_record(stack: cdk.Stack, *, zone_id: str) -> None:
    zone = hosted_zone(
        stack,
        "Zone",
        domain=DOMAIN,
        zone_id=zone_id,
        zone_id_parameter=PARAMETER,
        log_key=kms.Key(stack, "LogKey"),
        log_retention=logs.RetentionDays.THREE_MONTHS,
    )
    # A record shows which zone ID the zone resolves to.
    route53.TxtRecord(stack, "Probe", zone=zone, record_name="probe", values=["zone"])


@pytest.fixture(scope="module")
def looked_up(config) -> Template:
    # Given no configured zone ID, in a stack of the DR region
    stack = bare_stack(config, "us-west-2")
    _zone_with_a_record(stack, zone_id="")
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def imported(config) -> Template:
    # Given a configured zone ID
    stack = bare_stack(config, "us-east-1")
    _zone_with_a_record(stack, zone_id="Z0123456789ABCDEFGHIJ")
    return Template.from_stack(stack)


def test_a_configured_zone_id_is_imported_as_is_with_no_lookup(imported):
    # Then records go into that zone
    imported.has_resource_properties(
        "AWS::Route53::RecordSet", {"HostedZoneId": "Z0123456789ABCDEFGHIJ", "Name": f"probe.{DOMAIN}."}
    )
    # And nothing is read at deploy time
    imported.resource_count_is("Custom::AWS", 0)


def test_without_an_id_the_zone_id_is_read_from_the_exact_parameter_in_us_east_1(looked_up):
    # Then one deploy-time call gets that parameter by its exact name, in us-east-1 whatever the
    # stack's region: a missing parameter fails the deploy, where ListHostedZonesByName would have
    # answered with the next zone alphabetically
    (lookup_id, lookup) = only(looked_up, "Custom::AWS")
    call = json.loads(lookup["Properties"]["Update"])
    assert (call["service"], call["action"], call["region"]) == ("SSM", "getParameter", "us-east-1")
    assert call["parameters"] == {"Name": PARAMETER}
    # And records go into the zone with the ID it read
    looked_up.has_resource_properties(
        "AWS::Route53::RecordSet", {"HostedZoneId": {"Fn::GetAtt": [lookup_id, "Parameter.Value"]}}
    )


def test_the_lookup_may_read_only_that_parameter(looked_up):
    (_, policy) = only(looked_up, "AWS::IAM::Policy")
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "ssm:GetParameter",
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{PARAMETER}",
    )


def test_the_lookups_provider_logs_under_the_given_key_for_the_given_days(looked_up):
    # Then the provider function logs to a group encrypted and expiring like every other (CDK's own
    # would be unencrypted and kept two years)
    (_, provider) = only(looked_up, "AWS::Lambda::Function")
    (key_id, _) = only(looked_up, "AWS::KMS::Key")
    (group_id, group) = only(looked_up, "AWS::Logs::LogGroup")
    assert provider["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group_id}}
    assert group["Properties"] == {"KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]}, "RetentionInDays": 90}


def test_template_matches_snapshot(looked_up, snapshot_json):
    assert masked(looked_up.to_json()) == snapshot_json
