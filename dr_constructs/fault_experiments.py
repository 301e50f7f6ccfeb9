from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import use_key
from dr_constructs.secure_bucket import kms_bucket
from dr_constructs.service_function import ServiceFunction
from dr_core.game_day import DYNAMODB_PAUSE, EXPERIMENTS, PRIMARY_PATH, S3_PAUSE, iso_duration
from dr_core.naming import pascal
from dr_core.telemetry import METRICS_NAMESPACE

# The FIS Lambda extension's layer, by architecture; AWS publishes its ARN per region here.
# https://docs.aws.amazon.com/fis/latest/userguide/actions-lambda-extension-arns.html
FIS_EXTENSION_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x"
# Where FIS writes a Lambda fault's configuration and the extension reads it.
FIS_CONFIG_PREFIX = "FisConfigs/"
# S3 pause targets buckets by tag only ("This action only supports targeting by tags").
BUCKET_TARGET_TAG = "DrFaultTarget"
STOP_METRIC = "GameDayStop"


class FaultExperiments(Construct):
    """The game day's three AWS FIS experiment templates, in the region they break (the primary):

    - ``primary-path``: every invocation of the order function, which serves the orders routes and
      the region's deep health route, answers 503 without running (the FIS Lambda extension);
    - ``dynamodb-pause``: the global table's replication to and from this region's replica pauses;
    - ``s3-pause``: the data bucket's replication to the other region pauses.

    Each template has its own role, allowed exactly its action on exactly its target; every
    experiment logs to one encrypted log group; every template stops on the ``stop`` alarm (an
    operator's or the game day's emergency stop: any datapoint of OrdersDr/GameDayStop, or
    ``SetAlarmState``), and the replication pauses also stop when customers see errors (the
    ``customer_impact_alarms``). The primary-path fault has no such alarm: failing the region's
    user path is its purpose; the game day stops it once it has measured the failover. Each
    template's ID goes to an SSM parameter, for the observer's game day to read by name.

    The order function gets the FIS extension layer and its configuration location; while no
    experiment runs, the extension only polls that S3 prefix (every 60 s per execution environment).

    Args:
        order_function: the function behind the health route; it must run in a VPC with a path to S3.
        table_name: the global table, whose replica in this region the DynamoDB pause isolates.
        data_bucket: the replicated data bucket (tagged here for the S3 pause's target).
        replica_region, replica_bucket_name: where the data bucket replicates to.
        key: this region's key (the fault configuration bucket and the experiment log).
        access_logs: where the configuration bucket's server access logs go.
        config_bucket_name: the bucket the FIS Lambda extension reads its configuration from.
        role_names: experiment -> its IAM role's name.
        stop_alarm_name: the emergency-stop alarm's name.
        customer_impact_alarms: alarms that stop a replication pause.
        alert_topic: notified when the emergency stop alarm fires.
        action_seconds: experiment -> its FIS action's duration.
        template_id_parameter_prefix: each template's ID is published at <prefix><experiment>.
        log_retention: the experiment log's retention.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        order_function: ServiceFunction,
        table_name: str,
        data_bucket: s3.Bucket,
        replica_region: str,
        replica_bucket_name: str,
        key: kms.IKey,
        access_logs: s3.IBucket,
        config_bucket_name: str,
        role_names: Mapping[str, str],
        stop_alarm_name: str,
        customer_impact_alarms: Sequence[cw.IAlarm],
        alert_topic: sns.ITopic,
        action_seconds: Mapping[str, int],
        template_id_parameter_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id)
        for what, given in (("role_names", role_names), ("action_seconds", action_seconds)):
            if set(given) != set(EXPERIMENTS):
                raise ValueError(f"FaultExperiments {what} needs exactly {', '.join(EXPERIMENTS)}")
        if not customer_impact_alarms:
            raise ValueError("FaultExperiments needs a customer-impact alarm to stop replication pauses")
        if not template_id_parameter_prefix.endswith("/"):
            raise ValueError("FaultExperiments template_id_parameter_prefix must end with '/'")
        stack = cdk.Stack.of(self)
        self._account, self._partition, self._region = stack.account, stack.partition, stack.region
        self._key = key
        self.config_bucket = kms_bucket(
            self,
            "ConfigBucket",
            bucket_name=config_bucket_name,
            key=key,
            access_logs=access_logs,
            # FIS deletes a configuration when its experiment ends; anything left is stale.
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-stale-fault-configurations",
                    expiration=cdk.Duration.days(1),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
        )
        self.log_group = logs.LogGroup(
            self,
            "ExperimentLogs",
            encryption_key=key,
            retention=log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.stop_alarm = cw.Alarm(
            self,
            "StopAlarm",
            alarm_name=stop_alarm_name,
            alarm_description="Emergency stop of every game-day experiment: FIS stops any running one "
            "when this alarm fires (put a GameDayStop datapoint, or set the alarm's state)",
            metric=cw.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=STOP_METRIC,
                statistic="Maximum",
                period=cdk.Duration.minutes(1),
            ),
            threshold=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.stop_alarm.add_alarm_action(cw_actions.SnsAction(alert_topic))
        self.stop_alarm.add_ok_action(cw_actions.SnsAction(alert_topic))
        self._prepare(order_function)
        # The S3 pause role's name is unique to this deployment: no other bucket carries the tag.
        bucket_tag = {BUCKET_TARGET_TAG: role_names[S3_PAUSE]}
        cdk.Tags.of(data_bucket).add(BUCKET_TARGET_TAG, role_names[S3_PAUSE])
        function_arn = order_function.function.function_arn
        table_arn = f"arn:{self._partition}:dynamodb:{self._region}:{self._account}:table/{table_name}"
        bucket_arn = data_bucket.bucket_arn
        pause_stops = [self.stop_alarm, *customer_impact_alarms]
        self.templates: dict[str, fis.CfnExperimentTemplate] = {}
        self.roles: dict[str, iam.Role] = {}

        def template(
            experiment: str,
            description: str,
            target: fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty,
            target_key: str,
            action_id: str,
            parameters: Mapping[str, str],
            statements: Sequence[iam.PolicyStatement],
            stops: Sequence[cw.IAlarm],
        ) -> None:
            role = self._role(experiment, role_names[experiment], statements)
            construct_id = pascal(experiment)
            self.templates[experiment] = fis.CfnExperimentTemplate(
                self,
                construct_id,
                description=description,
                role_arn=role.role_arn,
                targets={target_key: target},
                actions={
                    construct_id: fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                        action_id=action_id,
                        parameters={"duration": iso_duration(action_seconds[experiment]), **parameters},
                        targets={target_key: target_key},
                    )
                },
                stop_conditions=[
                    fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty(
                        source="aws:cloudwatch:alarm", value=alarm.alarm_arn
                    )
                    for alarm in stops
                ],
                log_configuration=fis.CfnExperimentTemplate.ExperimentTemplateLogConfigurationProperty(
                    log_schema_version=2,
                    cloud_watch_logs_configuration={"LogGroupArn": f"{self.log_group.log_group_arn}"},
                ),
                experiment_options=fis.CfnExperimentTemplate.ExperimentTemplateExperimentOptionsProperty(
                    account_targeting="single-account", empty_target_resolution_mode="fail"
                ),
                tags={"Name": role_names[experiment]},
            )
            self.templates[experiment].node.add_dependency(role)
            ssm.StringParameter(
                self,
                f"{construct_id}TemplateId",
                parameter_name=f"{template_id_parameter_prefix}{experiment}",
                string_value=self.templates[experiment].attr_id,
                description=f"The FIS experiment template of the game day's {experiment} experiment",
            )

        template(
            PRIMARY_PATH,
            "Game day: the primary's order function (orders and deep health) answers 503 without running",
            fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                resource_type="aws:lambda:function", selection_mode="ALL", resource_arns=[function_arn]
            ),
            "Functions",
            "aws:lambda:invocation-http-integration-response",
            {
                "invocationPercentage": "100",
                "statusCode": "503",
                "contentTypeHeader": "application/json",
                "preventExecution": "true",
            },
            [
                iam.PolicyStatement(
                    actions=["s3:PutObject", "s3:DeleteObject"],
                    resources=[self.config_bucket.arn_for_objects(f"{FIS_CONFIG_PREFIX}*")],
                ),
                self._key_through_s3(["kms:GenerateDataKey"]),
                iam.PolicyStatement(actions=["lambda:GetFunction"], resources=[function_arn]),
            ],
            [self.stop_alarm],
        )
        template(
            DYNAMODB_PAUSE,
            "Game day: the orders global table's replication to and from this region pauses",
            fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                resource_type="aws:dynamodb:global-table", selection_mode="ALL", resource_arns=[table_arn]
            ),
            "Tables",
            "aws:dynamodb:global-table-pause-replication",
            {},
            [
                # FIS adds time-bounded Deny statements to the table's and its stream's resource
                # policies, and removes them when the experiment ends.
                iam.PolicyStatement(
                    actions=[
                        "dynamodb:PutResourcePolicy",
                        "dynamodb:DeleteResourcePolicy",
                        "dynamodb:GetResourcePolicy",
                        "dynamodb:DescribeTable",
                    ],
                    resources=[table_arn, f"{table_arn}/stream/*"],
                ),
            ],
            pause_stops,
        )
        template(
            S3_PAUSE,
            f"Game day: replication of the data bucket to {replica_region} pauses",
            fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                resource_type="aws:s3:bucket",
                selection_mode="ALL",
                resource_tags=bucket_tag,
            ),
            "Buckets",
            "aws:s3:bucket-pause-replication",
            {"region": replica_region, "destinationBuckets": replica_bucket_name},
            [
                iam.PolicyStatement(
                    actions=["s3:PauseReplication"],
                    resources=[bucket_arn],
                    conditions={"StringEquals": {"s3:DestinationRegion": replica_region}},
                ),
                iam.PolicyStatement(
                    actions=["s3:PutReplicationConfiguration", "s3:GetReplicationConfiguration"],
                    resources=[bucket_arn],
                    conditions={"BoolIfExists": {"s3:IsReplicationPauseRequest": "true"}},
                ),
                # FIS finds tagged buckets by listing them. ListBucket is not in the actions reference
                # but is in AWS's own example policy for this action, so the target bucket gets it.
                # https://docs.aws.amazon.com/fis/latest/userguide/security_iam_id-based-policy-examples.html
                iam.PolicyStatement(actions=["s3:ListAllMyBuckets"], resources=["*"]),
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket_arn]),
            ],
            pause_stops,
        )

    def _prepare(self, function: ServiceFunction) -> None:
        """The FIS extension layer and its configuration location on the function, and read access
        to that prefix for its role. https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html"""
        layer_arn = ssm.StringParameter.value_for_string_parameter(self, FIS_EXTENSION_PARAMETER)
        function.function.add_layers(
            lambda_.LayerVersion.from_layer_version_arn(self, "FisExtension", layer_arn)
        )
        function.function.add_environment(
            "AWS_FIS_CONFIGURATION_LOCATION", self.config_bucket.arn_for_objects(FIS_CONFIG_PREFIX)
        )
        function.function.add_environment("AWS_LAMBDA_EXEC_WRAPPER", "/opt/aws-fis/bootstrap")
        objects = self.config_bucket.arn_for_objects(f"{FIS_CONFIG_PREFIX}*")
        for statement in (
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.config_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{FIS_CONFIG_PREFIX}*"]}},
            ),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]),
            self._key_through_s3(["kms:Decrypt"]),
        ):
            function.role.add_to_principal_policy(statement)
        Validations.of(function.role).acknowledge(
            nag.wildcard_resource(
                function.role,
                objects,
                reason="The FIS extension reads whichever fault configuration FIS writes under "
                f"{FIS_CONFIG_PREFIX} of this one bucket.",
            )
        )

    def _key_through_s3(self, actions: list[str]) -> iam.PolicyStatement:
        return use_key(self._key, actions, "s3")

    def _role(self, experiment: str, role_name: str, statements: Sequence[iam.PolicyStatement]) -> iam.Role:
        experiments = f"arn:{self._partition}:fis:{self._region}:{self._account}:experiment/*"
        role = iam.Role(
            self,
            f"{pascal(experiment)}Role",
            role_name=role_name,
            description=f"Lets AWS FIS run the game day's {experiment} experiment, and nothing else",
            assumed_by=iam.ServicePrincipal(
                "fis.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": self._account},
                    "ArnLike": {"aws:SourceArn": experiments},
                },
            ),
        )
        for statement in statements:
            role.add_to_policy(statement)
        # Target resolution, and delivery of the experiment log (CloudWatch Logs vended logs:
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html).
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "tag:GetResources",
                    "logs:CreateLogDelivery",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            )
        )
        wildcards = sorted({r for s in statements for r in s.resources if "*" in r and r != "*"})
        lists_buckets = any("s3:ListAllMyBuckets" in s.actions for s in statements)
        Validations.of(role).acknowledge(
            nag.wildcard_resource(
                role,
                "*",
                reason="tag:GetResources (FIS resolves targets with it), "
                + ("s3:ListAllMyBuckets (it lists buckets to find the tagged one), " if lists_buckets else "")
                + "and the CloudWatch Logs log-delivery actions support no resource-level permissions.",
            ),
            *(
                nag.wildcard_resource(
                    role,
                    resource,
                    reason="FIS writes the fault's configuration under this one prefix of the configuration "
                    "bucket"
                    if FIS_CONFIG_PREFIX in str(cdk.Stack.of(self).resolve(resource))
                    else "The table's stream ARNs carry a timestamp; the wildcard covers this one table's "
                    "streams, whose policies FIS changes too.",
                )
                for resource in wildcards
            ),
        )
        self.roles[experiment] = role
        return role
