from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from dr_constructs.app_key import AppKey

# The AWS services that raise this app's alerts.
ALERT_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class AlertTopic(Construct):
    """A region's alert topic: CMK-encrypted, TLS-only, and publishable by CloudWatch
    alarms and EventBridge of this account (and by roles granted ``grant_publish``)."""

    def __init__(self, scope: Construct, id: str, *, topic_name: str, key: AppKey) -> None:
        super().__init__(scope, id)
        # CloudWatch cannot publish into a topic under alias/aws/sns: it needs a key that trusts it.
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
