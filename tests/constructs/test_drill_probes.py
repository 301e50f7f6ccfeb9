"""DrillProbes: the drill's five probe functions, each told by its environment what to probe and
allowed exactly that: write a canary in the primary, read its copy in DR, and use each region's key
only through the probed service."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from dr_constructs.drill_probes import PROBES, DrillProbes
from dr_constructs.service_function import FunctionDefaults
from tests.cfn import at_path
from tests.conftest import ACCOUNT, bare_stack, masked

DR_HEALTH_URL = "https://drhealthhost.lambda-url.us-west-2.on.aws/"
TABLE = "dev-us-east-1-orders-v1"
PRIMARY_BUCKET = f"dev-us-east-1-orderdata-{ACCOUNT}-v1"
DR_BUCKET = f"dev-us-west-2-orderdata-{ACCOUNT}-v1"
PRIMARY_TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:dev-us-east-1-alerts-v1"


@pytest.fixture(scope="module")
def template(config, names) -> Template:
    # Given the probes in us-east-1, observing the primary (us-east-1) and DR (us-west-2) regions
    stack = bare_stack(config, "us-east-1")
    DrillProbes(
        stack,
        "Probes",
        naming=config.naming,
        primary=names.primary,
        dr=names.dr,
        orders_table=names.orders_table,
        dr_health_url=DR_HEALTH_URL,
        health_check_ids={"us-west-2": "dr-check-id", "us-east-1": "primary-check-id"},
        defaults=FunctionDefaults(
            log_key=kms.Key(stack, "LogKey"),
            log_retention=logs.RetentionDays.THREE_MONTHS,
            powertools_layer_version=27,
        ),
    )
    return Template.from_stack(stack)


def _function(template: Template, probe: str) -> dict[str, Any]:
    return at_path(template, f"Test/Probes/{probe.capitalize()}/Function/Resource")[1]["Properties"]


def _grants(template: Template, probe: str) -> list[dict[str, Any]]:
    """The probe's statements beyond writing its own logs and traces, every one as a sorted dict."""
    (_, policy) = at_path(template, f"Test/Probes/{probe.capitalize()}/Role/DefaultPolicy/Resource")
    statements = [
        {key: value for key, value in s.items() if key != "Effect"}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") != "WriteOwnLogs" and not str(s["Action"]).startswith("['xray:")
    ]
    assert all(
        s.get("Effect", "Allow") == "Allow" for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )
    return sorted(statements, key=lambda s: json.dumps(s, sort_keys=True))


def _key(region: str, actions: list[str] | str, service: str) -> dict[str, Any]:
    """Use of the app's key in ``region``, found by its alias, only through ``service``."""
    return {
        "Action": actions,
        "Resource": f"arn:aws:kms:{region}:{ACCOUNT}:key/*",
        "Condition": {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/dev-{region}-orders-v1"},
            "StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"},
        },
    }


GRANTS = {
    "dynamodb": [
        {
            "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem"],
            "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}",
        },
        {"Action": "dynamodb:GetItem", "Resource": f"arn:aws:dynamodb:us-west-2:{ACCOUNT}:table/{TABLE}"},
        _key(
            "us-east-1", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], "dynamodb"
        ),
        _key("us-west-2", ["kms:Decrypt", "kms:DescribeKey"], "dynamodb"),
    ],
    "s3": [
        {"Action": ["s3:DeleteObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{PRIMARY_BUCKET}/drill/*"},
        {"Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{DR_BUCKET}/drill/*"},
        # Without it S3 answers 403, not 404, while the replica is still on its way.
        {"Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{DR_BUCKET}"},
        _key("us-east-1", ["kms:Decrypt", "kms:GenerateDataKey"], "s3"),
    ],
    "sns": [
        {"Action": "sns:Publish", "Resource": PRIMARY_TOPIC},
        _key("us-east-1", ["kms:Decrypt", "kms:GenerateDataKey"], "sns"),
        {
            "Action": ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
            "Resource": f"arn:aws:sqs:us-west-2:{ACCOUNT}:dev-us-west-2-drill-inbox-v1",
        },
        _key("us-west-2", "kms:Decrypt", "sqs"),
    ],
    "failover": [
        {
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:us-west-2:{ACCOUNT}:function:dev-us-west-2-orders-v1",
        },
        {
            "Action": "route53:GetHealthCheckStatus",
            "Resource": [
                "arn:aws:route53:::healthcheck/dr-check-id",
                "arn:aws:route53:::healthcheck/primary-check-id",
            ],
        },
    ],
    "ssm": [
        {
            "Action": "ssm:PutParameter",
            "Resource": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/dev-us-east-1-orders-v1/drill/canary",
        },
        {
            "Action": "ssm:GetParameter",
            "Resource": f"arn:aws:ssm:us-west-2:{ACCOUNT}:parameter/dev-us-west-2-orders-v1/drill/canary",
        },
        _key("us-east-1", ["kms:Encrypt", "kms:GenerateDataKey"], "ssm"),
        _key("us-west-2", "kms:Decrypt", "ssm"),
    ],
}

ENVIRONMENTS = {
    "dynamodb": {"TABLE_NAME": TABLE},
    "s3": {"SOURCE_BUCKET": PRIMARY_BUCKET, "REPLICA_BUCKET": DR_BUCKET},
    "sns": {
        "SOURCE_TOPIC_ARN": PRIMARY_TOPIC,
        "INBOX_QUEUE_URL": f"https://sqs.us-west-2.amazonaws.com/{ACCOUNT}/dev-us-west-2-drill-inbox-v1",
    },
    "failover": {
        "DR_HEALTH_URL": DR_HEALTH_URL,
        "DR_ORDER_FUNCTION_NAME": "dev-us-west-2-orders-v1",
        "HEALTH_CHECK_IDS": "us-east-1=primary-check-id,us-west-2=dr-check-id",
    },
    "ssm": {
        "SOURCE_PARAMETER": "/dev-us-east-1-orders-v1/drill/canary",
        "TARGET_PARAMETER": "/dev-us-west-2-orders-v1/drill/canary",
        "SOURCE_KEY_ID": "alias/dev-us-east-1-orders-v1",
    },
}


def test_there_is_one_function_per_probe(template):
    # Then there are five functions, one per probe
    template.resource_count_is("AWS::Lambda::Function", len(PROBES))
    assert set(GRANTS) == set(ENVIRONMENTS) == set(PROBES)


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_runs_its_own_entry_point_under_its_own_name_and_role(template, probe):
    # Then each probe has its entry point, its name and its own role
    function = _function(template, probe)
    assert function["Handler"] == f"handler.{probe}_probe"
    assert function["FunctionName"] == f"dev-us-east-1-drill-{probe}-v1"
    (role_id, role) = at_path(template, f"Test/Probes/{probe.capitalize()}/Role/Resource")
    assert function["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert role["Properties"]["RoleName"] == f"dev-us-east-1-drill-{probe}-fn-v1"


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_polls_for_two_minutes_within_a_longer_function_timeout(template, probe):
    # Then each probe polls for its replica for 120 s, inside a 150 s function timeout
    function = _function(template, probe)
    env = function["Environment"]["Variables"]
    assert (env["POLL_TIMEOUT_SECONDS"], env["POLL_INTERVAL_SECONDS"]) == ("120", "2")
    assert function["Timeout"] == 150
    assert (env["PRIMARY_REGION"], env["DR_REGION"]) == ("us-east-1", "us-west-2")


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_is_told_the_names_it_probes(template, probe):
    # Then beyond the common settings, each probe gets exactly the names it works on
    env = _function(template, probe)["Environment"]["Variables"]
    common = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
    common |= {"POLL_TIMEOUT_SECONDS", "POLL_INTERVAL_SECONDS", "PRIMARY_REGION", "DR_REGION"}
    assert {k: v for k, v in env.items() if k not in common} == ENVIRONMENTS[probe]


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_may_do_only_what_its_probe_needs(template, probe):
    # Then beyond its own logs and traces, the role holds exactly these statements: writes in the
    # primary, reads in DR, each key only by alias and through the probed service
    expected = sorted(GRANTS[probe], key=lambda s: json.dumps(s, sort_keys=True))
    assert _grants(template, probe) == expected


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
