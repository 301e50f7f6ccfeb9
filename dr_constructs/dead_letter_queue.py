from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from dr_constructs import nag
from dr_constructs.lifecycle import RETAINED

_PERIOD = cdk.Duration.minutes(1)


class DeadLetterQueue(Construct):
    """Where failed asynchronous invocations land, with the two alarms that make
    someone look: any message visible, and the oldest one getting old.

    CMK-encrypted and TLS-only; messages are kept 14 days, SQS's maximum, so
    there is time to redrive them (README: "Redriving a dead-letter queue").
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        queue_name: str,
        key: kms.IKey,
        alert_topic: sns.ITopic,
        max_age: cdk.Duration,
        feeds_from: str,
    ) -> None:
        super().__init__(scope, id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
            # Failed events outlive the stack: they can be redriven once it is back, or read.
            removal_policy=RETAINED,
        )
        Validations.of(self.queue).acknowledge(
            nag.rule(
                "AwsSolutions-SQS3",
                reason=f"This queue is itself the dead-letter queue of {feeds_from}; a queue behind "
                "it would only hide failures from its alarms.",
            )
        )
        notify = cw_actions.SnsAction(alert_topic)
        self.messages_visible_alarm = cw.Alarm(
            self,
            "MessagesVisible",
            alarm_name=f"{queue_name}-messages-visible",
            alarm_description=f"Failed events from {feeds_from} are waiting in {queue_name}",
            metric=self.queue.metric_approximate_number_of_messages_visible(
                period=_PERIOD, statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.oldest_message_alarm = cw.Alarm(
            self,
            "OldestMessageAge",
            alarm_name=f"{queue_name}-oldest-message-age",
            alarm_description=f"A failed event from {feeds_from} has waited over "
            f"{max_age.to_seconds()} s in {queue_name}",
            metric=self.queue.metric_approximate_age_of_oldest_message(period=_PERIOD, statistic="Maximum"),
            threshold=max_age.to_seconds(),
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.messages_visible_alarm, self.oldest_message_alarm):
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)
