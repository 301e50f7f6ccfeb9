from __future__ import annotations

from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_constructs import nag
from dr_constructs.dead_letter_queue import DeadLetterQueue
from dr_constructs.service_function import ServiceFunction


class AlertForwarder(Construct):
    """In one region, republishes the other region's alerts into this region's topic,
    so people subscribed to either topic hear about both regions.

    The subscription itself is made by ``subscribe_forwarder`` in whichever stack
    deploys after both the topic and the function exist.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        forwarder: ServiceFunction,
        own_topic: sns.ITopic,
        source_topic_arn: str,
        dead_letter: DeadLetterQueue,
    ) -> None:
        super().__init__(scope, id)
        self.function = forwarder.function
        own_topic.grant_publish(forwarder.role)
        self.function.add_permission(
            "InvokedByOtherRegionAlerts",
            principal=iam.ServicePrincipal("sns.amazonaws.com"),
            source_arn=source_topic_arn,
        )
        self.function.configure_async_invoke(
            on_failure=destinations.SqsDestination(dead_letter.queue), retry_attempts=2
        )
        Validations.of(forwarder.role).acknowledge(
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
