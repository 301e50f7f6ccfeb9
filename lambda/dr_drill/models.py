"""What the drill's steps are given and what a probe answers, as pydantic models.

Each step has its own configuration model, parsed from the environment on the step's first call
and kept for the execution environment's life. Only types and presence are checked, plus the few
rules without which a drill could pass without proving anything. Any bad configuration or event
is a DrillInputError naming the variable or field (never its value).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    Json,
    PositiveFloat,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

PASSED, FAILED = "PASSED", "FAILED"
PROBES = ("dynamodb", "s3", "sns", "failover", "ssm")
# The stores whose replication lag the drill measures; failover has no lag to judge.
STORES = ("dynamodb", "s3", "sns", "ssm")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Model = TypeVar("Model", bound=BaseModel)


class DrillInputError(ValueError):
    """A bad event or a bad configuration: the step cannot run, and a retry would fail the same way."""


class _Frozen(BaseModel):
    # The environment holds the function's credentials: errors name fields, never quote values.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


class _Regions(_Frozen):
    primary_region: Text = Field(alias="PRIMARY_REGION")
    dr_region: Text = Field(alias="DR_REGION")

    @model_validator(mode="after")
    def _two_regions(self) -> _Regions:
        # A drill from a region to itself would pass without proving any replication.
        if self.primary_region == self.dr_region:
            raise ValueError("PRIMARY_REGION and DR_REGION are the same region")
        return self


class PollingConfig(_Regions):
    poll_timeout_seconds: PositiveFloat = Field(120.0, alias="POLL_TIMEOUT_SECONDS")
    poll_interval_seconds: PositiveFloat = Field(2.0, alias="POLL_INTERVAL_SECONDS")


class DynamoDbConfig(PollingConfig):
    table_name: Text = Field(alias="TABLE_NAME")


class S3Config(PollingConfig):
    source_bucket: Text = Field(alias="SOURCE_BUCKET")
    replica_bucket: Text = Field(alias="REPLICA_BUCKET")


class SnsConfig(PollingConfig):
    source_topic_arn: Text = Field(alias="SOURCE_TOPIC_ARN")
    inbox_queue_url: Text = Field(alias="INBOX_QUEUE_URL")


class SsmConfig(PollingConfig):
    source_parameter: Text = Field(alias="SOURCE_PARAMETER")
    target_parameter: Text = Field(alias="TARGET_PARAMETER")
    # The primary's key, as real parameters there use it: the canary takes the same path.
    source_key_id: Text = Field(alias="SOURCE_KEY_ID")


class FailoverConfig(_Regions):
    # The complete URL of the DR region's health route, https://api-<dr region>.<domain>/health/<token>.
    dr_health_url: HttpUrl = Field(alias="DR_HEALTH_URL")
    dr_order_function_name: Text = Field(alias="DR_ORDER_FUNCTION_NAME")
    # "region=id,region=id": the Route 53 health check of each region.
    health_check_ids: tuple[tuple[Text, Text], ...] = Field(alias="HEALTH_CHECK_IDS")

    @field_validator("health_check_ids", mode="before")
    @classmethod
    def _pairs(cls, raw: Any) -> Any:
        return [pair.split("=", 1) for pair in raw.split(",")] if isinstance(raw, str) else raw


class ReportConfig(_Frozen):
    report_topic_arn: str = Field(alias="REPORT_TOPIC_ARN", pattern=r"^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w.-]+$")
    rpo_targets: Json[dict[str, PositiveFloat]] = Field(alias="RPO_TARGETS")
    # In the observer region, as the report topic is.
    evidence_bucket: Text = Field(alias="EVIDENCE_BUCKET")

    @field_validator("rpo_targets")
    @classmethod
    def _every_store(cls, targets: dict[str, float]) -> dict[str, float]:
        # A missing or misspelt store would leave its lag unjudged: the drill would pass without it.
        if set(targets) != set(STORES):
            raise ValueError(f"needs exactly the stores {', '.join(STORES)}")
        return targets

    @property
    def topic_region(self) -> str:
        return self.report_topic_arn.split(":")[3]


class DrillEvent(_Frozen):
    drill_id: Text


class CaughtError(_Frozen):
    Error: str = "error"
    Cause: str = ""


class ProbeOutcome(_Frozen):
    """A probe's answer, or what its step's Catch made of a probe that raised (error, no lag)."""

    probe: str
    status: str
    lag_seconds: float | None = None
    detail: str = ""
    error: CaughtError | None = None


class ReportEvent(DrillEvent):
    results: list[ProbeOutcome]


@cache
def configuration(model: type[Model]) -> Model:
    """The step's configuration, parsed from the environment on first use and kept."""
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as error:
        raise DrillInputError(_describe("configuration", error)) from None


def parse_event(data: Any, model: type[Model]) -> Model:
    try:
        return parse(event=data, model=model)
    except ValidationError as error:
        raise DrillInputError(_describe("event", error)) from None


def _describe(source: str, error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        where = ".".join(map(str, problem["loc"]))
        problems.append(f"{where}: {problem['msg']}" if where else problem["msg"])
    return f"bad {source}: {'; '.join(problems)}"
