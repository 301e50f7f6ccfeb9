"""What the game day's functions are given: their environment and their events, as pydantic models.

Four functions share this asset, each with its own configuration model, parsed from the environment
on the first call and kept for the execution environment's life. Only types, presence and the few
rules without which a game day could pass without proving anything are checked. Any bad
configuration or event is a GameDayInputError naming the variable or field, never its value: the
health URLs carry the health route's token.
"""

from __future__ import annotations

import ipaddress
import os
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    Json,
    PositiveFloat,
    PositiveInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

PRIMARY_PATH, DYNAMODB_PAUSE, S3_PAUSE = "primary-path", "dynamodb-pause", "s3-pause"
EXPERIMENTS = (PRIMARY_PATH, DYNAMODB_PAUSE, S3_PAUSE)
PAUSES = (DYNAMODB_PAUSE, S3_PAUSE)
# The store each replication pause cuts off: the dimension of its metrics.
PAUSED_STORE = {DYNAMODB_PAUSE: "dynamodb", S3_PAUSE: "s3"}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Experiment = Literal["primary-path", "dynamodb-pause", "s3-pause"]
Pause = Literal["dynamodb-pause", "s3-pause"]
Model = TypeVar("Model", bound=BaseModel)


class GameDayInputError(ValueError):
    """A bad event or a bad configuration: the step cannot run, and a retry would fail the same way."""


class _Frozen(BaseModel):
    # Errors name fields, never quote values: a health URL's path is the health route's token.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


def _pairs(raw: Any) -> Any:
    """A "region=value,region=value" string as a dict; anything else is left for the field's type."""
    if not isinstance(raw, str):
        return raw
    pairs = [pair.split("=", 1) for pair in raw.split(",") if pair.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError("expected region=value pairs separated by commas")
    return {region.strip(): value.strip() for region, value in pairs}


def _host_name(name: str) -> str:
    # DNS answers are compared lower-case and without the root's trailing dot.
    return name.lower().rstrip(".")


class _Regions(_Frozen):
    primary_region: Text = Field(alias="PRIMARY_REGION")
    dr_region: Text = Field(alias="DR_REGION")

    @model_validator(mode="after")
    def _two_regions(self) -> _Regions:
        # A game day from a region to itself would pass without proving any failover or replication.
        if self.primary_region == self.dr_region:
            raise ValueError("PRIMARY_REGION and DR_REGION are the same region")
        return self

    def _both(self, variable: str, regions: dict[str, Any]) -> None:
        if set(regions) != {self.primary_region, self.dr_region}:
            raise ValueError(
                f"{variable} needs exactly the regions {self.primary_region} and {self.dr_region}"
            )


class ExperimentConfig(_Frozen):
    """The "experiment" function: start and stop the FIS experiments, in the primary region."""

    fis_region: Text = Field(alias="FIS_REGION")
    experiment_templates: Json[dict[Text, Text]] = Field(alias="EXPERIMENT_TEMPLATES")
    start_timeout_seconds: PositiveFloat = Field(120.0, alias="START_TIMEOUT_SECONDS")
    stop_timeout_seconds: PositiveFloat = Field(300.0, alias="STOP_TIMEOUT_SECONDS")
    poll_interval_seconds: PositiveFloat = Field(5.0, alias="POLL_INTERVAL_SECONDS")

    @field_validator("experiment_templates")
    @classmethod
    def _every_experiment(cls, templates: dict[str, str]) -> dict[str, str]:
        if set(templates) != set(EXPERIMENTS):
            raise ValueError(f"needs exactly the experiments {', '.join(EXPERIMENTS)}")
        return templates


class WatchConfig(_Regions):
    """The "watch" function: the preflight, the failover's measurement, the way back."""

    observer_region: Text = Field(alias="OBSERVER_REGION")
    zone_name: Text = Field(alias="ZONE_NAME")
    api_name: Text = Field(alias="API_NAME")
    regional_names: dict[Text, Text] = Field(alias="REGIONAL_NAMES")
    health_urls: dict[Text, HttpUrl] = Field(alias="HEALTH_URLS")
    # Each region's OWN Route 53 check, the one that calls its health URL (not the calculated one).
    health_check_ids: dict[Text, Text] = Field(alias="HEALTH_CHECK_IDS")
    rto_budget_seconds: PositiveInt = Field(alias="RTO_BUDGET_SECONDS")
    fault_timeout_seconds: PositiveFloat = Field(180.0, alias="FAULT_TIMEOUT_SECONDS")
    phase_timeout_seconds: PositiveFloat = Field(180.0, alias="PHASE_TIMEOUT_SECONDS")
    restore_timeout_seconds: PositiveFloat = Field(600.0, alias="RESTORE_TIMEOUT_SECONDS")
    poll_interval_seconds: PositiveFloat = Field(1.0, alias="POLL_INTERVAL_SECONDS")
    # IP addresses: a host name would be looked up by the system resolver, which no timeout bounds.
    resolvers: tuple[Text, ...] = Field(("1.1.1.1", "8.8.8.8"), alias="RESOLVERS", min_length=1)
    client_secret_id: Text = Field(alias="CLIENT_SECRET_ID")
    steady_alarms: Json[list[Text]] = Field(alias="STEADY_ALARMS")
    # The game day's own state machine: no other execution of it may run while one breaks things.
    state_machine_arn: str = Field(
        alias="STATE_MACHINE_ARN", pattern=r"^arn:[\w-]+:states:[\w-]+:\d{12}:stateMachine:[\w-]+$"
    )

    @field_validator("regional_names", "health_urls", "health_check_ids", mode="before")
    @classmethod
    def _by_region(cls, raw: Any) -> Any:
        return _pairs(raw)

    @field_validator("regional_names")
    @classmethod
    def _lower_case(cls, names: dict[str, str]) -> dict[str, str]:
        return {region: _host_name(name) for region, name in names.items()}

    @field_validator("zone_name", "api_name")
    @classmethod
    def _dns_name(cls, name: str) -> str:
        return _host_name(name)

    @field_validator("health_urls")
    @classmethod
    def _https(cls, urls: dict[str, HttpUrl]) -> dict[str, HttpUrl]:
        # Route 53 calls the health route over HTTPS; a plain-HTTP URL would prove another path.
        if any(url.scheme != "https" for url in urls.values()):
            raise ValueError("every URL must be https")
        return urls

    @field_validator("resolvers", mode="before")
    @classmethod
    def _addresses(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        addresses = tuple(address.strip() for address in raw.split(",") if address.strip())
        for address in addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError("expected IP addresses separated by commas") from None
        return addresses

    @model_validator(mode="after")
    def _consistent(self) -> WatchConfig:
        self._both("REGIONAL_NAMES", self.regional_names)
        self._both("HEALTH_URLS", self.health_urls)
        self._both("HEALTH_CHECK_IDS", self.health_check_ids)
        # The zone's servers answer only for names in the zone: any other name would never fail over.
        if not self.api_name.endswith(f".{self.zone_name}"):
            raise ValueError("API_NAME is not a name in ZONE_NAME")
        return self

    def health_url(self, region: str) -> str:
        return str(self.health_urls[region])


class PauseConfig(_Regions):
    """The "pause" function: canaries and alarms while a replication pause runs and after it."""

    table_name: Text = Field(alias="TABLE_NAME")
    source_bucket: Text = Field(alias="SOURCE_BUCKET")
    replica_bucket: Text = Field(alias="REPLICA_BUCKET")
    pause_alarms: Json[dict[Text, list[Text]]] = Field(alias="PAUSE_ALARMS")
    alarm_window_seconds: Json[dict[Text, PositiveFloat]] = Field(alias="ALARM_WINDOW_SECONDS")
    resume_window_seconds: Json[dict[Text, PositiveFloat]] = Field(alias="RESUME_WINDOW_SECONDS")
    # How long every alarm must stay OK after the last canary arrived: the alarm's evaluation and
    # metric delay, so the backlog's own lag has had its chance to fire it again.
    settle_seconds: PositiveFloat = Field(alias="SETTLE_SECONDS")

    @field_validator("pause_alarms", "alarm_window_seconds", "resume_window_seconds")
    @classmethod
    def _every_pause(cls, by_pause: dict[str, Any]) -> dict[str, Any]:
        # A pause missing here would have nothing to watch or no window to judge it by.
        if set(by_pause) != set(PAUSES):
            raise ValueError(f"needs exactly the experiments {', '.join(PAUSES)}")
        return by_pause

    @field_validator("pause_alarms")
    @classmethod
    def _some_alarm(cls, alarms: dict[str, list[str]]) -> dict[str, list[str]]:
        # With no alarm to watch, a pause could only ever end "no alarm within the window".
        if not all(alarms.values()):
            raise ValueError("every experiment needs at least one alarm")
        return alarms


class ReportConfig(_Frozen):
    """The "report" function: the verdict, kept under Object Lock and published."""

    observer_region: Text = Field(alias="OBSERVER_REGION")
    evidence_bucket: Text = Field(alias="EVIDENCE_BUCKET")
    report_topic_arn: str = Field(alias="REPORT_TOPIC_ARN", pattern=r"^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w.-]+$")

    @property
    def topic_region(self) -> str:
        return self.report_topic_arn.split(":")[3]


# Events


class GameDayEvent(_Frozen):
    experiment: Experiment
    game_day_id: Text


class Run(_Frozen):
    """What the start step returned: the running experiment."""

    id: Text
    template_id: str = ""
    started_at: float | None = None
    status: str = ""


class StopEvent(_Frozen):
    run: Run | None = None
    # Step Functions' retry count of this step ($$.State.RetryCount): 0 on its first attempt.
    attempt: int = Field(0, ge=0)


class MeasureEvent(_Frozen):
    game_day_id: Text
    run: Run | None = None


class RestoreEvent(_Frozen):
    game_day_id: Text
    stop: dict[str, Any] | None = None


class Canary(_Frozen):
    n: int = Field(ge=0)
    written_at: float
    arrived_at: float | None = None


class AtRisk(_Frozen):
    writes: int = Field(ge=0)
    oldest_seconds: float | None = None


class PauseState(_Frozen):
    """What one tick hands the next; small, as Step Functions payloads must stay under 256 KB."""

    phase: Literal["paused", "resumed"]
    phase_started_at: float
    canaries: list[Canary] = []
    alarm_at: float | None = None
    alarm_name: str | None = None
    # Seconds from the paused phase's start to alarm_at: the window's measure, kept once the
    # resumed phase has its own start.
    alarm_seconds: float | None = None
    # Since when every alarm has been OK without a break (resumed phase).
    ok_at: float | None = None
    at_risk: AtRisk | None = None
    done: bool = False
    outcome: str = ""
    # The resumed phase's verdict: every canary arrived and every alarm settled OK in time.
    recovered: bool | None = None


class PauseEvent(_Frozen):
    experiment: Pause
    game_day_id: Text
    phase: Literal["paused", "resumed"]
    pause: PauseState | None = None
    run: Run | None = None


class StepRequest(_Frozen):
    """What the state machine sends each function: the step to run and the whole state."""

    step: Literal[
        "start_experiment",
        "stop_experiment",
        "preflight",
        "measure_failover",
        "restore",
        "pause_tick",
        "report",
    ]
    state: dict[str, Any]


class ReportEvent(_Frozen):
    """The whole state machine state: the id names the report's object; the report reads the rest
    of it as it is, whatever shape it has."""

    game_day_id: Text


@cache
def configuration(model: type[Model]) -> Model:
    """The function's configuration, parsed from the environment on first use and kept."""
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as error:
        raise GameDayInputError(_describe("configuration", error)) from None


def parse_event(data: Any, model: type[Model]) -> Model:
    try:
        return parse(event=data, model=model)
    except ValidationError as error:
        raise GameDayInputError(_describe("event", error)) from None


def _describe(source: str, error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        where = ".".join(map(str, problem["loc"]))
        problems.append(f"{where}: {problem['msg']}" if where else problem["msg"])
    return f"bad {source}: {'; '.join(problems)}"
