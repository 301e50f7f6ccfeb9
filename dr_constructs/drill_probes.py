from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import use_region_key
from dr_constructs.service_function import FunctionDefaults, ServiceFunction
from dr_core.naming import Kind, Naming
from dr_core.shared_names import RegionNames
from dr_core.telemetry import DRILL_SERVICE

# The asset folder of the drill's functions; Powertools adds it as the `service` dimension.
# Each probe polls for its replica for at most this long; the function's timeout leaves it
# room to clean up and answer.
POLL_TIMEOUT_SECONDS = 120
PROBE_FUNCTION_TIMEOUT = cdk.Duration.seconds(POLL_TIMEOUT_SECONDS + 30)
# The SSM probe's canary, below each region's parameter path (so the replicator copies it).
DRILL_CANARY_PARAMETER = "drill/canary"
# The probes, in the order the drill's report lists them.
PROBES = ("dynamodb", "s3", "sns", "failover", "ssm")


class DrillProbes(Construct):
    """The drill's five probe functions, each with exactly the access its probe needs in each
    region: write a canary in the primary, read its copy in DR, use each region's key only
    through the probed service.

    Args:
        naming: names each function and role, in this (the observer's) region.
        primary, dr: the names of what each region holds.
        orders_table: the global table's name (the same in both regions).
        dr_health_url: the DR health route's whole URL (https://<apiSubdomain>-<dr>.<domain>/health/<token>).
        health_check_ids: region -> Route 53 health check ID, for the failover probe.
        defaults: what every function of this region shares.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        naming: Naming,
        primary: RegionNames,
        dr: RegionNames,
        orders_table: str,
        dr_health_url: str,
        health_check_ids: Mapping[str, str],
        defaults: FunctionDefaults,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        account, partition, here = stack.account, stack.partition, stack.region

        def allow(actions: list[str], resources: list[str]) -> iam.PolicyStatement:
            return iam.PolicyStatement(actions=actions, resources=resources)

        table = f"arn:{partition}:dynamodb:{{}}:{account}:table/{orders_table}"
        primary_topic = primary.topic_arn(account=account, partition=partition)
        canary = {
            region.region: f"arn:{partition}:ssm:{region.region}:{account}:parameter"
            f"{region.parameter_path}{DRILL_CANARY_PARAMETER}"
            for region in (primary, dr)
        }
        access: dict[str, tuple[dict[str, str], list[iam.PolicyStatement]]] = {
            "dynamodb": (
                {"TABLE_NAME": orders_table},
                [
                    allow(["dynamodb:PutItem", "dynamodb:DeleteItem"], [table.format(primary.region)]),
                    allow(["dynamodb:GetItem"], [table.format(dr.region)]),
                    use_region_key(
                        self,
                        primary,
                        ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                        "dynamodb",
                    ),
                    use_region_key(self, dr, ["kms:Decrypt", "kms:DescribeKey"], "dynamodb"),
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
                    use_region_key(self, primary, ["kms:GenerateDataKey", "kms:Decrypt"], "s3"),
                ],
            ),
            "sns": (
                {
                    "SOURCE_TOPIC_ARN": primary_topic,
                    "INBOX_QUEUE_URL": f"https://sqs.{dr.region}.amazonaws.com/{account}/{dr.drill_inbox_queue}",
                },
                [
                    allow(["sns:Publish"], [primary_topic]),
                    use_region_key(self, primary, ["kms:GenerateDataKey", "kms:Decrypt"], "sns"),
                    allow(
                        ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                        [f"arn:{partition}:sqs:{dr.region}:{account}:{dr.drill_inbox_queue}"],
                    ),
                    use_region_key(self, dr, ["kms:Decrypt"], "sqs"),
                ],
            ),
            "failover": (
                {
                    "DR_HEALTH_URL": dr_health_url,
                    "DR_ORDER_FUNCTION_NAME": dr.order_function,
                    "HEALTH_CHECK_IDS": cdk.Fn.join(
                        ",", [f"{region}={check_id}" for region, check_id in sorted(health_check_ids.items())]
                    ),
                },
                [
                    allow(
                        ["lambda:InvokeFunction"],
                        [dr.function_arn(dr.order_function, account=account, partition=partition)],
                    ),
                    allow(
                        ["route53:GetHealthCheckStatus"],
                        [
                            f"arn:{partition}:route53:::healthcheck/{check_id}"
                            for _, check_id in sorted(health_check_ids.items())
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
                    allow(["ssm:PutParameter"], [canary[primary.region]]),
                    allow(["ssm:GetParameter"], [canary[dr.region]]),
                    use_region_key(self, primary, ["kms:Encrypt", "kms:GenerateDataKey"], "ssm"),
                    use_region_key(self, dr, ["kms:Decrypt"], "ssm"),
                ],
            ),
        }
        common = {
            "POLL_TIMEOUT_SECONDS": str(POLL_TIMEOUT_SECONDS),
            "POLL_INTERVAL_SECONDS": "2",
            "PRIMARY_REGION": primary.region,
            "DR_REGION": dr.region,
        }
        self.functions: dict[str, ServiceFunction] = {}
        for name in PROBES:
            environment, statements = access[name]
            probe = ServiceFunction(
                self,
                name.capitalize(),
                function_name=naming.name(Kind.LAMBDA_FUNCTION, f"drill-{name}", region=here),
                role_name=naming.name(Kind.IAM_ROLE, f"drill-{name}-fn", region=here),
                asset=DRILL_SERVICE,
                entry_point=f"{name}_probe",
                description=f"DR drill step: {name}",
                environment={**common, **environment},
                defaults=defaults,
                timeout=PROBE_FUNCTION_TIMEOUT,
            )
            for statement in statements:
                probe.role.add_to_policy(statement)
            _acknowledge_wildcards(probe.role, statements)
            self.functions[name] = probe


def _acknowledge_wildcards(role: iam.IRole, statements: list[iam.PolicyStatement]) -> None:
    # The only wildcards the probes hold: keys pinned by alias, and their canaries' prefix.
    nag.acknowledge_wildcards(
        role,
        statements,
        {
            ":kms:": nag.alias_pinned_key("in the observer's stack", "the probed service"),
            ":s3:": "The probe's canary objects get a per-run key under drill/ of this one bucket.",
        },
    )
