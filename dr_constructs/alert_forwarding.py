from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_constructs import nag
from dr_constructs.dead_letter_queue import DeadLetterQueue
from dr_constructs.service_function import FunctionDefaults, ServiceFunction


class AlertForwarder(Construct):
    """In one region, republishes the other region's alerts into this region's topic,
    so people subscribed to either topic hear about both regions.

    SNS invokes it asynchronously: failures go to its own alarmed dead-letter queue.
    The subscription to the other region's topic is made by ``subscribe_forwarder``
    in whichever stack deploys after both the topic and this function exist.

    Args:
        function_name, role_name, queue_name: physical names of the function, its role and
            its dead-letter queue.
        topic: this region's alert topic, where forwarded alerts go (and the dead-letter
            queue's alarms).
        key: the region's key, which encrypts the dead-letter queue.
        source_region: the other region, whose alerts this forwards.
        source_topic_arn: the other region's alert topic, the only one allowed to invoke it.
        defaults: what every function of this region shares (log key, retention, layer).
        dead_letter_max_age: the age of the oldest failed alert that raises an alarm.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function_name: str,
        role_name: str,
        queue_name: str,
        topic: sns.ITopic,
        key: kms.IKey,
        source_region: str,
        source_topic_arn: str,
        defaults: FunctionDefaults,
        dead_letter_max_age: cdk.Duration,
    ) -> None:
        super().__init__(scope, id)
        if source_region == cdk.Stack.of(self).region:
            raise ValueError("AlertForwarder forwards from another region, not its own")
        self.dead_letters = DeadLetterQueue(
            self,
            "DeadLetters",
            queue_name=queue_name,
            key=key,
            alert_topic=topic,
            max_age=dead_letter_max_age,
            feeds_from="the alert forwarder",
        )
        forwarder = ServiceFunction(
            self,
            "Forwarder",
            function_name=function_name,
            role_name=role_name,
            asset="alert_forwarder",
            description=f"Republishes {source_region} alerts into this region's topic",
            environment={"TARGET_TOPIC_ARN": topic.topic_arn, "SOURCE_REGION": source_region},
            defaults=defaults,
            timeout=cdk.Duration.seconds(30),
        )
        self.function = forwarder.function
        self.role = forwarder.role
        topic.grant_publish(self.role)
        self.function.add_permission(
            "InvokedByOtherRegionAlerts",
            principal=iam.ServicePrincipal("sns.amazonaws.com"),
            source_arn=source_topic_arn,
        )
        self.function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.dead_letters.queue), retry_attempts=2
        )
        Validations.of(self.role).acknowledge(
            *nag.cdk_key_grant_wildcards("publish grant on the topic and send grant on the dead-letter queue")
        )


def subscribe_forwarder(
    scope: Construct, id: str, *, topic_arn: str, topic_region: str, forwarder_arn: str
) -> sns.Subscription:
    """Subscribe a forwarder to every message of a topic of another region.

    No filter policy: CloudWatch alarm notifications carry no message attributes, and an
    attribute-scope policy never matches an empty attribute set, not even
    ``{"exists": false}`` (SNS docs, "Key matching"). So the forwarder itself drops the
    copies it made (they carry ``forwarded_from``): the loop guard. Lambda's recursive
    loop detection, which covers SNS, stops a loop should that guard ever be lost.
    """
    return sns.Subscription(
        scope,
        id,
        topic=sns.Topic.from_topic_arn(scope, f"{id}Topic", topic_arn),
        endpoint=forwarder_arn,
        protocol=sns.SubscriptionProtocol.LAMBDA,
        region=topic_region,
    )
