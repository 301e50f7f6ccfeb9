"""Start and stop the game day's AWS FIS experiment, in the region it breaks.

Start is idempotent: its client token, the identifier StartExperiment takes "to ensure the
idempotency of the request" (https://docs.aws.amazon.com/fis/latest/APIReference/API_StartExperiment.html),
is derived from the game day and the experiment, so Step Functions retrying the step gets the
experiment the first attempt started, not a second one. A start that never reaches "running", or
fails in any way once FIS has the experiment, leaves nothing running: it is stopped before the error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_errors import error_code
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from settings import ExperimentConfig

Clock = Callable[[], float]
Sleep = Callable[[float], None]

RUNNING = "running"
# The statuses an experiment ends in, of those ExperimentState lists:
# https://docs.aws.amazon.com/fis/latest/APIReference/API_ExperimentState.html
TERMINAL = frozenset({"completed", "stopped", "failed", "cancelled"})
# What StopExperiment may answer for an experiment that ended between the step's look and its stop:
# nothing is left to stop, and the look that follows reads how it ended. StopExperiment documents
# ResourceNotFoundException and ValidationException
# (https://docs.aws.amazon.com/fis/latest/APIReference/API_StopExperiment.html); ConflictException is
# taken the same way as the game day's contract asks, though that page does not list it.
_ALREADY_ENDED = frozenset({"ResourceNotFoundException", "ConflictException"})
# A tag value holds at most 256 characters.
_TAG_VALUE_MAX = 256


class ExperimentNotRunning(Exception):
    """The experiment ended, or was still not running in time, before it could be measured."""


class ExperimentNotStopped(Exception):
    """The experiment had not ended when the stop step's time ran out."""


def client_token(game_day_id: str, experiment: str) -> str:
    return hashlib.sha256((game_day_id + experiment).encode()).hexdigest()[:64]


def start(
    fis: BaseClient,
    config: ExperimentConfig,
    experiment: str,
    game_day_id: str,
    *,
    clock: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    """Start the experiment and wait until it runs: {"id", "template_id", "started_at", "status"},
    started_at being when FIS started it (epoch seconds; when this step asked, if FIS does not say),
    the same for a retried step as for the first."""
    template_id = config.experiment_templates[experiment]
    asked_at = clock()
    current = fis.start_experiment(
        experimentTemplateId=template_id,
        clientToken=client_token(game_day_id, experiment),
        tags={"GameDay": game_day_id[:_TAG_VALUE_MAX]},
    )["experiment"]
    experiment_id = current["id"]
    try:
        return _until_running(fis, config, current, template_id, asked_at, clock=clock, sleep=sleep)
    except ExperimentNotRunning:
        raise
    except Exception as error:
        # A throttled look or a timeout after FIS took the experiment: it must not run unwatched.
        stopped = _stop_quietly(fis, experiment_id)
        raise ExperimentNotRunning(
            f"experiment {experiment_id} not watched to running ({type(error).__name__}); {stopped}"
        ) from error


def _until_running(
    fis: BaseClient,
    config: ExperimentConfig,
    current: dict[str, Any],
    template_id: str,
    asked_at: float,
    *,
    clock: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    experiment_id = current["id"]
    deadline = clock() + config.start_timeout_seconds
    while True:
        status, reason = _state(current)
        if status == RUNNING:
            started = current.get("startTime")
            return {
                "id": experiment_id,
                "template_id": template_id,
                "started_at": started.timestamp() if isinstance(started, datetime) else asked_at,
                "status": RUNNING,
            }
        if status in TERMINAL:
            raise ExperimentNotRunning(f"experiment {experiment_id} is {status} before running: {reason}")
        left = deadline - clock()
        if left <= 0:
            stopped = _stop_quietly(fis, experiment_id)
            raise ExperimentNotRunning(
                f"experiment {experiment_id} not running within {config.start_timeout_seconds:g} s "
                f"(still {status}: {reason}); {stopped}"
            )
        sleep(min(config.poll_interval_seconds, left))
        current = fis.get_experiment(id=experiment_id)["experiment"]


def stop(
    fis: BaseClient,
    config: ExperimentConfig,
    experiment_id: str,
    *,
    attempt: int,
    clock: Clock,
    sleep: Sleep,
) -> dict[str, Any]:
    """Stop the experiment unless it has ended, and wait until it has:
    {"id", "status", "reason", "stopped_at", "already_ended"}. already_ended: it had ended before
    this step first looked (a stop condition, an operator, or its own duration ended it); None on a
    retried step, whose earlier attempt may have stopped it."""
    deadline = clock() + config.stop_timeout_seconds
    current = fis.get_experiment(id=experiment_id)["experiment"]
    ended = _state(current)[0] in TERMINAL
    already_ended = ended if attempt == 0 else None
    if not ended:
        try:
            current = fis.stop_experiment(id=experiment_id)["experiment"]
        except ClientError as error:
            if error_code(error) not in _ALREADY_ENDED:
                raise
    while True:
        status, reason = _state(current)
        if status in TERMINAL:
            return {
                "id": experiment_id,
                "status": status,
                "reason": reason,
                "stopped_at": clock(),
                "already_ended": already_ended,
            }
        left = deadline - clock()
        if left <= 0:
            raise ExperimentNotStopped(
                f"experiment {experiment_id} still {status} {config.stop_timeout_seconds:g} s after the stop"
            )
        sleep(min(config.poll_interval_seconds, left))
        current = fis.get_experiment(id=experiment_id)["experiment"]


def current_state(fis: BaseClient, experiment_id: str) -> tuple[str, str]:
    """The experiment's status and FIS's reason for it, as of now."""
    return _state(fis.get_experiment(id=experiment_id)["experiment"])


def _state(experiment: dict[str, Any]) -> tuple[str, str]:
    state = experiment.get("state") or {}
    return str(state.get("status", "")), str(state.get("reason") or "")


def _stop_quietly(fis: BaseClient, experiment_id: str) -> str:
    try:
        fis.stop_experiment(id=experiment_id)
    except ClientError as error:
        return f"its stop failed ({error_code(error)}): stop it by hand"
    return "it was stopped"
