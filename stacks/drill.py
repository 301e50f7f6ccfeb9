from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import use_by_alias
from dr_constructs.dr_drill import DRILL_SERVICE, POLL_TIMEOUT_SECONDS, DrDrill
from dr_constructs.failover_routing import FailoverRouting
from dr_constructs.service_function import FunctionDefaults, ServiceFunction, log_retention
from dr_core.config import AppConfig
from dr_core.naming import Kind
from dr_core.shared_names import RegionNames, SharedNames

# The SSM probe's canary, below each region's parameter path (so the replicator copies it).
DRILL_CANARY_PARAMETER = "drill/canary"


def add_drill(
    scope: Construct,
    *,
    config: AppConfig,
    names: SharedNames,
    defaults: FunctionDefaults,
    routing: FailoverRouting,
    alert_topic: sns.ITopic,
    alarm_prefix: str,
) -> DrDrill:
    """The drill and its probes, with exactly the access each probe needs in each region."""
    stack = cdk.Stack.of(scope)
    account, partition, here = config.account, stack.partition, config.global_region
    naming, primary, dr = config.naming, names.primary, names.dr

    def key(region: RegionNames, actions: list[str], service: str) -> iam.PolicyStatement:
        return use_by_alias(
            alias=region.key_alias,
            region=region.region,
            account=account,
            partition=partition,
            actions=actions,
            via_service=service,
        )

    def allow(actions: list[str], resources: list[str]) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=actions, resources=resources)

    def step(
        name: str, entry_point: str, environment: dict[str, str], timeout: cdk.Duration
    ) -> ServiceFunction:
        return ServiceFunction(
            scope,
            f"Drill{name.capitalize()}",
            function_name=naming.name(Kind.LAMBDA_FUNCTION, f"drill-{name}", region=here),
            role_name=naming.name(Kind.IAM_ROLE, f"drill-{name}-fn", region=here),
            asset=DRILL_SERVICE,
            entry_point=entry_point,
            description=f"DR drill step: {name}",
            environment=environment,
            defaults=defaults,
            timeout=timeout,
        )

    common = {
        "POLL_TIMEOUT_SECONDS": str(POLL_TIMEOUT_SECONDS),
        "POLL_INTERVAL_SECONDS": "2",
        "PRIMARY_REGION": primary.region,
        "DR_REGION": dr.region,
    }
    table = f"arn:{partition}:dynamodb:{{}}:{account}:table/{names.orders_table}"
    health_check_ids = cdk.Fn.join(
        ",", [f"{region}={check.health_check_id}" for region, check in sorted(routing.health_checks.items())]
    )
    wanted: dict[str, tuple[dict[str, str], list[iam.PolicyStatement]]] = {
        "dynamodb": (
            {"TABLE_NAME": names.orders_table},
            [
                allow(["dynamodb:PutItem", "dynamodb:DeleteItem"], [table.format(primary.region)]),
                allow(["dynamodb:GetItem"], [table.format(dr.region)]),
                key(
                    primary,
                    ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    "dynamodb",
                ),
                key(dr, ["kms:Decrypt", "kms:DescribeKey"], "dynamodb"),
            ],
        ),
        "s3": (
            {"SOURCE_BUCKET": primary.data_bucket, "REPLICA_BUCKET": dr.data_bucket},
            [
                allow(
                    ["s3:PutObject", "s3:DeleteObject"],
                    [f"arn:{partition}:s3:::{primary.data_bucket}/drill/*"],
                ),
                allow(["s3:GetObject"], [f"arn:{partition}:s3:::{dr.data_bucket}/drill/*"]),
                # Without it S3 answers 403, not 404, while the replica is still on its way.
                allow(["s3:ListBucket"], [f"arn:{partition}:s3:::{dr.data_bucket}"]),
                key(primary, ["kms:GenerateDataKey", "kms:Decrypt"], "s3"),
            ],
        ),
        "sns": (
            {
                "SOURCE_TOPIC_ARN": primary.topic_arn(account=account, partition=partition),
                "INBOX_QUEUE_URL": f"https://sqs.{dr.region}.amazonaws.com/{account}/{dr.drill_inbox_queue}",
            },
            [
                allow(["sns:Publish"], [primary.topic_arn(account=account, partition=partition)]),
                key(primary, ["kms:GenerateDataKey", "kms:Decrypt"], "sns"),
                allow(
                    ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                    [f"arn:{partition}:sqs:{dr.region}:{account}:{dr.drill_inbox_queue}"],
                ),
                key(dr, ["kms:Decrypt"], "sqs"),
            ],
        ),
        "failover": (
            {
                "DR_HEALTH_URL": routing.health_urls[dr.region],
                "DR_ORDER_FUNCTION_NAME": dr.order_function,
                "HEALTH_CHECK_IDS": health_check_ids,
            },
            [
                allow(
                    ["lambda:InvokeFunction"],
                    [dr.function_arn(dr.order_function, account=account, partition=partition)],
                ),
                allow(
                    ["route53:GetHealthCheckStatus"],
                    [
                        f"arn:{partition}:route53:::healthcheck/{check.health_check_id}"
                        for _, check in sorted(routing.health_checks.items())
                    ],
                ),
            ],
        ),
        "ssm": (
            {
                "SOURCE_PARAMETER": primary.parameter_path + DRILL_CANARY_PARAMETER,
                "TARGET_PARAMETER": dr.parameter_path + DRILL_CANARY_PARAMETER,
                "SOURCE_KEY_ID": primary.key_alias,
            },
            [
                allow(
                    ["ssm:PutParameter"],
                    [
                        f"arn:{partition}:ssm:{primary.region}:{account}:parameter{primary.parameter_path}{DRILL_CANARY_PARAMETER}"
                    ],
                ),
                allow(
                    ["ssm:GetParameter"],
                    [
                        f"arn:{partition}:ssm:{dr.region}:{account}:parameter{dr.parameter_path}{DRILL_CANARY_PARAMETER}"
                    ],
                ),
                key(primary, ["kms:Encrypt", "kms:GenerateDataKey"], "ssm"),
                key(dr, ["kms:Decrypt"], "ssm"),
            ],
        ),
    }
    probes = {}
    for name, (environment, statements) in wanted.items():
        probe = step(
            name, f"{name}_probe", {**common, **environment}, cdk.Duration.seconds(POLL_TIMEOUT_SECONDS + 30)
        )
        for statement in statements:
            probe.role.add_to_policy(statement)
        _acknowledge_wildcards(probe.role, statements)
        probes[name] = probe

    report = step(
        "report",
        "report",
        {
            "REPORT_TOPIC_ARN": alert_topic.topic_arn,
            "RPO_TARGETS": json.dumps(dict(config.monitoring.rpo_targets)),
        },
        cdk.Duration.seconds(30),
    )
    alert_topic.grant_publish(report.role)
    Validations.of(report.role).acknowledge(*nag.cdk_key_grant_wildcards("publish grant on the alert topic"))
    return DrDrill(
        scope,
        "Drill",
        probes=probes,
        report=report,
        state_machine_name=naming.name(Kind.STATE_MACHINE, "dr-drill", region=here),
        schedule_name=naming.name(Kind.SCHEDULE, "dr-drill", region=here),
        scheduler_role_name=naming.name(Kind.IAM_ROLE, "dr-drill-scheduler", region=here),
        every=cdk.Duration.hours(config.operations.drill_every_hours),
        log_key=defaults.log_key,
        log_retention=log_retention(config.compute.log_retention_days),
        alert_topic=alert_topic,
        alarm_prefix=alarm_prefix,
        rpo_targets=config.monitoring.rpo_targets,
    )


def _acknowledge_wildcards(role: iam.IRole, statements: list[iam.PolicyStatement]) -> None:
    # The only wildcards the probes hold: keys pinned by alias, and their canaries' prefix.
    acknowledgments = []
    for resource in sorted({r for statement in statements for r in statement.resources if "*" in r}):
        reason = (
            "The key's ID is not known in the global stack at synth; kms:ResourceAliases pins the "
            "statement to the one key with that region's alias, used only through the probed service."
            if ":kms:" in resource
            else "The probe's canary objects get a per-run key under drill/ of this one bucket."
        )
        acknowledgments.append(nag.wildcard_resource(role, resource, reason=reason))
    if acknowledgments:
        Validations.of(role).acknowledge(*acknowledgments)
