from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from dr_constructs import nag
from dr_constructs.app_key import AppKey

# What the drill's SNS probe publishes; only such messages reach the inbox.
CANARY_KIND = "dr-drill-canary"


class DrillInbox(Construct):
    """In the DR region, a queue on the DR alert topic that receives only the drill's
    canaries, so the drill can see an alert from the primary arrive in DR.

    Args:
        queue_name: the queue's physical name.
        key: the region's key; the queue is encrypted with it, and SNS of this account is
            let to encrypt into it.
        topic: the DR alert topic the queue subscribes to.
    """

    def __init__(self, scope: Construct, id: str, *, queue_name: str, key: AppKey, topic: sns.ITopic) -> None:
        super().__init__(scope, id)
        key.allow_service_publisher("sns.amazonaws.com")
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key.key,
            enforce_ssl=True,
            # A canary is read within minutes or not at all.
            retention_period=cdk.Duration.hours(1),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        Validations.of(self.queue).acknowledge(
            nag.rule(
                "AwsSolutions-SQS3",
                reason="The drill reads and deletes its canaries itself; a message it never reads is a "
                "failed probe already, and expires within the hour.",
            )
        )
        # Not SqsSubscription: it would write the topic's ARN into the shared key's policy,
        # and the topic is encrypted with that key (a cycle). The key already lets SNS of
        # this account deliver into its queues; the queue policy names the topic.
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
            )
        )
        self.subscription = sns.Subscription(
            self,
            "Subscription",
            topic=topic,
            endpoint=self.queue.queue_arn,
            protocol=sns.SubscriptionProtocol.SQS,
            filter_policy_with_message_body={
                "kind": sns.FilterOrPolicy.filter(
                    sns.SubscriptionFilter.string_filter(allowlist=[CANARY_KIND])
                )
            },
        )
