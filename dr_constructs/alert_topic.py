from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from dr_constructs.app_key import AppKey

# The AWS services that raise this app's alerts.
ALERT_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class AlertTopic(Construct):
    """A region's alert topic: CMK-encrypted, TLS-only, publishable by CloudWatch alarms and
    EventBridge of this account (and by roles granted ``topic.grant_publish``), with the
    on-call subscriptions.

    Args:
        topic_name: the topic's physical name.
        key: the region's key; it is told to let CloudWatch and EventBridge encrypt into it
            (a topic under ``alias/aws/sns`` cannot receive CloudWatch alarms).
        email: an address subscribed to every alert; empty (the default) for none.
        https_endpoint: an ``https://`` URL subscribed to every alert; empty (the default) for none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        topic_name: str,
        key: AppKey,
        email: str = "",
        https_endpoint: str = "",
    ) -> None:
        super().__init__(scope, id)
        for publisher in ALERT_PUBLISHERS:
            key.allow_service_publisher(publisher)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name="Order-processing DR platform alerts",
            master_key=key.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlertPublishersOfThisAccount",
                principals=[iam.ServicePrincipal(p) for p in ALERT_PUBLISHERS],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": self.topic.stack.account}},
            )
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        if https_endpoint:
            self.topic.add_subscription(subscriptions.UrlSubscription(https_endpoint))
