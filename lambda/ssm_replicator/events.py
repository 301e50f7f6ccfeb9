"""The three events that invoke the replicator, as Powertools parser models.

Anything else is a wiring fault and fails validation with pydantic's ValidationError, which names
what is wrong: Lambda retries it and then hands it to the on-failure destination, instead of a
KeyError halfway through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Discriminator, Field, RootModel, Tag


class ParameterStoreChangeDetail(BaseModel):
    operation: str
    name: str = Field(min_length=1)


class ParameterStoreChange(EventBridgeModel):
    """The "Parameter Store Change" event the change rule routes for the source path."""

    source: Literal["aws.ssm"]
    detail_type: Literal["Parameter Store Change"] = Field(alias="detail-type")
    detail: ParameterStoreChangeDetail


class StackStatus(BaseModel):
    status: str


class StackStatusChangeDetail(BaseModel):
    stack_id: str = Field(alias="stack-id")
    status_details: StackStatus = Field(alias="status-details")


class StackStatusChange(EventBridgeModel):
    """The "CloudFormation Stack Status Change" event the after-deploy rule routes."""

    source: Literal["aws.cloudformation"]
    detail_type: Literal["CloudFormation Stack Status Change"] = Field(alias="detail-type")
    detail: StackStatusChangeDetail


class ReconcileRequest(BaseModel):
    """The scheduler's input, ``{"action": "reconcile"}``."""

    action: Literal["reconcile"]


def _kind(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    return "scheduler" if "action" in event else event.get("source")


class ReplicatorEvent(
    RootModel[
        Annotated[
            Annotated[ParameterStoreChange, Tag("aws.ssm")]
            | Annotated[StackStatusChange, Tag("aws.cloudformation")]
            | Annotated[ReconcileRequest, Tag("scheduler")],
            Discriminator(
                _kind,
                custom_error_type="unsupported_event",
                custom_error_message=(
                    "not an event for this function: expected a Parameter Store Change event "
                    "(aws.ssm), a CloudFormation Stack Status Change event (aws.cloudformation) "
                    'or {"action": "reconcile"}'
                ),
            ),
        ]
    ]
):
    pass
