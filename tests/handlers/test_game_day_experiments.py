"""The game day's experiment function: start and stop the FIS experiment in the primary region.

moto's FIS moves an experiment one status per GetExperiment (pending, initiating, running,
completed; stopping, stopped) and keys StartExperiment on its client token, as FIS does. It never
fails an experiment, keeps one initiating, or refuses a stop: those answers come through the
handler's own FIS client from botocore's Stubber or game_day_fakes.Answers, checked against FIS's
output shapes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.handlers.conftest import PRIMARY
from tests.handlers.game_day_fakes import (
    EXPERIMENT_ENV,
    GAME_DAY_ID,
    PAUSE_ENV,
    REPORT_ENV,
    TEMPLATES,
    WATCH_ENV,
    Answers,
    AwsError,
    FakeClock,
    GameDay,
    aws_client,
    set_env,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

START = 1_750_000_000.0
EXPERIMENT_ID = "EXP7Hk2b9dQm4Lp"


@pytest.fixture
def fis(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """FIS in moto, with the three templates; EXPERIMENT_TEMPLATES names moto's template ids."""
    set_env(monkeypatch, EXPERIMENT_ENV)
    with mock_aws():
        client = aws_client("fis", PRIMARY)
        ids = {}
        for name in TEMPLATES:
            template = client.create_experiment_template(
                clientToken=f"template-{name}",
                description=f"game day {name}",
                stopConditions=[{"source": "none"}],
                actions={
                    "fault": {"actionId": "aws:lambda:invocation-error", "parameters": {"duration": "PT10M"}}
                },
                roleArn=f"arn:aws:iam::123456789012:role/dev-{name}-v1",
            )["experimentTemplate"]
            ids[name] = template["id"]
        monkeypatch.setenv("EXPERIMENT_TEMPLATES", json.dumps(ids))
        client.templates = ids
        yield client


@pytest.fixture
def game_day(fis: Any) -> GameDay:
    return GameDay()


@pytest.fixture
def clock(game_day: GameDay, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(START)
    game_day.use(monkeypatch, clock=clock, sleep=clock.sleep)
    return clock


def start(game_day: GameDay, experiment: str = "primary-path") -> dict[str, Any]:
    return game_day.step("start_experiment", {"experiment": experiment, "game_day_id": GAME_DAY_ID})


def stop(game_day: GameDay, run: dict[str, Any] | None, attempt: int | None = None) -> dict[str, Any]:
    event = ({} if run is None else {"run": run}) | ({} if attempt is None else {"attempt": attempt})
    return game_day.step("stop_experiment", event)


def experiment(status: str, reason: str = "", template_id: str = TEMPLATES["primary-path"]) -> dict[str, Any]:
    """An experiment as FIS answers it, in `status`."""
    state = {"status": status, **({"reason": reason} if reason else {})}
    return {"experiment": {"id": EXPERIMENT_ID, "experimentTemplateId": template_id, "state": state}}


def expected_token(experiment_name: str = "primary-path") -> str:
    return hashlib.sha256((GAME_DAY_ID + experiment_name).encode()).hexdigest()[:64]


# Start


def test_start_waits_until_the_experiment_runs(game_day, fis, clock):
    # Given moto's FIS, whose experiment is pending, then initiating, then running
    # When the start step runs
    run = start(game_day)

    # Then it polled every 5 s until running, and answers the contract, started_at being FIS's own
    assert run == {
        "id": run["id"],
        "template_id": fis.templates["primary-path"],
        "started_at": fis.get_experiment(id=run["id"])["experiment"]["startTime"].timestamp(),
        "status": "running",
    }
    assert clock.slept == [5.0, 5.0]


def test_start_without_fis_start_time_answers_when_it_asked(game_day, clock):
    # Given FIS answering the experiment without a startTime
    fis = Answers(game_day.module.client("fis", PRIMARY))
    fis.on("StartExperiment", lambda **_: experiment("pending"))
    fis.on("GetExperiment", lambda **_: experiment("running"))

    # When the start step runs, 5 s of polling
    run = start(game_day)

    # Then started_at is when the step asked FIS: never later than the fault could begin
    assert run["started_at"] == START
    assert clock.now == START + 5


def test_start_whose_look_fails_after_fis_took_it_stops_the_experiment_and_raises(game_day, clock):
    # Given FIS took the experiment, then throttles the look at it
    fis = Answers(game_day.module.client("fis", PRIMARY))
    fis.on("StartExperiment", lambda **_: experiment("pending"))
    fis.on("GetExperiment", lambda **_: AwsError("ThrottlingException", 429))
    fis.on("StopExperiment", lambda **_: experiment("stopping"))

    # When the start step runs
    # Then it stops the experiment it cannot watch, and raises naming it
    with pytest.raises(Exception, match=rf"{EXPERIMENT_ID} not watched to running.*it was stopped") as raised:
        start(game_day)
    assert type(raised.value).__name__ == "ExperimentNotRunning"
    assert fis.names()[-1] == "StopExperiment"
    assert fis.calls[-1][1] == {"id": EXPERIMENT_ID}


def test_start_is_idempotent_on_a_retry(game_day, fis, clock):
    # Given the start step already ran once for this game day
    first = start(game_day)

    # When Step Functions retries it
    second = start(game_day)

    # Then the retry found the same experiment, started at the same time, and FIS has only that
    # one, tagged with the game day: moto keys StartExperiment on clientToken as FIS documents it,
    # "to ensure the idempotency of the request"
    # (https://docs.aws.amazon.com/fis/latest/APIReference/API_StartExperiment.html)
    assert (second["id"], second["started_at"]) == (first["id"], first["started_at"])
    (only,) = fis.list_experiments()["experiments"]
    assert only["id"] == first["id"]
    assert fis.get_experiment(id=first["id"])["experiment"]["tags"] == {"GameDay": GAME_DAY_ID}


def test_start_sends_a_client_token_derived_from_the_game_day_and_experiment(game_day, fis, clock):
    # Given FIS answering the experiment as running at once
    stubber = Stubber(game_day.module.client("fis", PRIMARY))
    stubber.add_response(
        "start_experiment",
        experiment("running"),
        {
            "experimentTemplateId": fis.templates["dynamodb-pause"],
            "clientToken": expected_token("dynamodb-pause"),
            "tags": {"GameDay": GAME_DAY_ID},
        },
    )

    # When the start step runs
    with stubber:
        run = start(game_day, "dynamodb-pause")

    # Then the request carried sha256(game_day_id + experiment) as its token, the same on every retry
    stubber.assert_no_pending_responses()
    assert run["id"] == EXPERIMENT_ID


def test_start_tags_a_long_game_day_id_within_the_tag_limit(game_day, clock, monkeypatch):
    # Given a game day id longer than a tag value may be
    long_id = "g" * 300
    stubber = Stubber(game_day.module.client("fis", PRIMARY))
    stubber.add_response("start_experiment", experiment("running"))
    requests: list[dict[str, Any]] = []
    game_day.module.client("fis", PRIMARY).meta.events.register(
        "before-parameter-build.fis.StartExperiment", lambda params, **_: requests.append(dict(params))
    )

    # When the start step runs
    with stubber:
        game_day.step("start_experiment", {"experiment": "primary-path", "game_day_id": long_id})

    # Then the tag holds its first 256 characters, and the token is still 64
    (request,) = requests
    assert request["tags"] == {"GameDay": "g" * 256}
    assert len(request["clientToken"]) == 64


@pytest.mark.parametrize("status", ["failed", "cancelled", "completed", "stopped"])
def test_start_raises_when_the_experiment_ends_before_running(game_day, clock, status):
    # Given FIS answering the experiment pending, then ended with a reason
    stubber = Stubber(game_day.module.client("fis", PRIMARY))
    stubber.add_response("start_experiment", experiment("pending"))
    stubber.add_response(
        "get_experiment", experiment(status, "Target resolution failed"), {"id": EXPERIMENT_ID}
    )

    # When the start step runs
    # Then it raises ExperimentNotRunning naming the status and FIS's reason
    with (
        stubber,
        pytest.raises(Exception, match=f"is {status} before running: Target resolution failed") as raised,
    ):
        start(game_day)
    assert type(raised.value).__name__ == "ExperimentNotRunning"


def test_start_that_never_runs_stops_the_experiment_and_raises(game_day, clock):
    # Given an experiment that stays initiating
    fis = Answers(game_day.module.client("fis", PRIMARY))
    fis.on("StartExperiment", lambda **_: experiment("pending"))
    fis.on("GetExperiment", lambda **_: experiment("initiating", "Experiment is initiating"))
    fis.on("StopExperiment", lambda **_: experiment("stopping"))

    # When the start step runs
    # Then after the 120 s start timeout it stops the experiment, so nothing is left running, and raises
    with pytest.raises(
        Exception, match=r"not running within 120 s \(still initiating.*it was stopped"
    ) as raised:
        start(game_day)
    assert type(raised.value).__name__ == "ExperimentNotRunning"
    assert fis.names()[-1] == "StopExperiment"
    assert fis.calls[-1][1] == {"id": EXPERIMENT_ID}
    assert clock.now - START == 120


def test_start_of_an_unknown_experiment_is_an_input_error(game_day, clock):
    # Given an execution input naming no game-day experiment
    # When the start step runs
    # Then it raises the input error naming the field, and FIS is not called
    with pytest.raises(game_day.settings.GameDayInputError, match="bad event: experiment"):
        start(game_day, "region-outage")


# Stop


def test_stop_of_a_running_experiment_waits_until_it_stopped(game_day, clock):
    # Given a running experiment, which FIS takes 10 s to stop (moto's would complete on the first look)
    fis = Answers(game_day.module.client("fis", PRIMARY))
    looks = iter([experiment("running"), experiment("stopping"), experiment("stopped", "Experiment stopped")])
    fis.on("GetExperiment", lambda **_: next(looks))
    fis.on("StopExperiment", lambda **_: experiment("stopping"))

    # When the stop step runs
    stopped = stop(game_day, {"id": EXPERIMENT_ID, "status": "running"})

    # Then FIS was asked to stop it, and the step answers its final status and reason once stopped
    assert stopped == {
        "id": EXPERIMENT_ID,
        "status": "stopped",
        "reason": "Experiment stopped",
        "stopped_at": START + 10,
        "already_ended": False,
    }
    assert fis.names() == ["GetExperiment", "StopExperiment", "GetExperiment", "GetExperiment"]
    assert fis.calls[1][1] == {"id": EXPERIMENT_ID}


def test_stop_of_an_already_completed_experiment_is_fine(game_day, fis, clock):
    # Given an experiment that ran to completion (moto: one more look after running)
    run = start(game_day)
    fis.get_experiment(id=run["id"])
    requests: list[str] = []
    game_day.module.client("fis", PRIMARY).meta.events.register(
        "before-call.fis.*", lambda model, **_: requests.append(model.name)
    )

    # When the stop step runs
    stopped = stop(game_day, run)

    # Then it answers "completed", ended before the stop step, without asking FIS to stop anything
    assert (stopped["status"], stopped["reason"]) == ("completed", "Experiment completed")
    assert stopped["already_ended"] is True
    assert requests == ["GetExperiment"]


def test_retried_stop_of_an_ended_experiment_cannot_say_it_ended_by_itself(game_day, fis, clock):
    # Given an experiment a first stop attempt stopped before that attempt failed
    run = start(game_day)
    fis.stop_experiment(id=run["id"])
    fis.get_experiment(id=run["id"])

    # When Step Functions retries the stop step
    stopped = stop(game_day, run, attempt=1)

    # Then it answers how the experiment ended, but not that it ended before the game day stopped it
    assert stopped["status"] == "stopped"
    assert stopped["already_ended"] is None


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "ConflictException"])
def test_stop_of_an_experiment_that_ends_meanwhile_is_fine(game_day, clock, code):
    # Given an experiment running when looked at, finished by the time it is stopped
    fis = Answers(game_day.module.client("fis", PRIMARY))
    looks = iter([experiment("running"), experiment("completed", "Experiment completed")])
    fis.on("GetExperiment", lambda **_: next(looks))
    fis.on("StopExperiment", lambda **_: AwsError(code, 404 if code.startswith("Resource") else 409))

    # When the stop step runs
    stopped = stop(game_day, {"id": EXPERIMENT_ID, "status": "running"})

    # Then the refused stop is no error: the step answers how it ended
    assert (stopped["status"], stopped["reason"]) == ("completed", "Experiment completed")
    assert fis.names() == ["GetExperiment", "StopExperiment", "GetExperiment"]


def test_stop_refused_for_another_reason_is_raised(game_day, clock):
    # Given FIS refusing the stop for lack of permission
    fis = Answers(game_day.module.client("fis", PRIMARY))
    fis.on("GetExperiment", lambda **_: experiment("running"))
    fis.on("StopExperiment", lambda **_: AwsError("AccessDeniedException", 403))

    # When the stop step runs
    # Then the AWS error is raised, for Step Functions to retry and catch
    with pytest.raises(Exception, match="AccessDeniedException"):
        stop(game_day, {"id": EXPERIMENT_ID})


def test_stop_that_does_not_end_in_time_raises(game_day, clock):
    # Given an experiment that stays stopping
    fis = Answers(game_day.module.client("fis", PRIMARY))
    fis.on("GetExperiment", lambda **_: experiment("stopping"))
    fis.on("StopExperiment", lambda **_: experiment("stopping"))

    # When the stop step runs
    # Then it raises ExperimentNotStopped after its 300 s
    with pytest.raises(Exception, match="still stopping 300 s after the stop") as raised:
        stop(game_day, {"id": EXPERIMENT_ID})
    assert type(raised.value).__name__ == "ExperimentNotStopped"
    assert clock.now - START == 300


def test_stop_without_a_run_has_nothing_to_stop(game_day, clock):
    # Given the start step failed, so the state has no run
    requests: list[str] = []
    game_day.module.client("fis", PRIMARY).meta.events.register(
        "before-call.fis.*", lambda model, **_: requests.append(model.name)
    )

    # When the stop step runs
    stopped = stop(game_day, None)

    # Then it answers "not-started" and calls nothing
    assert stopped == {"status": "not-started"}
    assert requests == []


def test_experiment_statuses_are_the_ones_fis_documents(game_day):
    # Given FIS's own model of an experiment's status
    statuses = game_day.module.client("fis", PRIMARY).meta.service_model.shape_for("ExperimentStatus").enum

    # When the experiment module's terminal statuses are compared with it
    terminal = game_day.part("experiments").TERMINAL

    # Then every terminal status is one FIS has, and every status FIS has is either terminal or on the way
    assert terminal <= set(statuses)
    assert set(statuses) - terminal == {"pending", "initiating", "running", "stopping"}


# Entry points


@pytest.fixture
def every_function_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in (EXPERIMENT_ENV, WATCH_ENV, PAUSE_ENV, REPORT_ENV):
        set_env(monkeypatch, env)


def test_step_the_state_machine_does_not_know_is_an_input_error(every_function_env):
    # Given a task naming no step of the game day
    game_day = GameDay()

    # When the function runs it
    # Then it raises the input error naming the field, which the state machine does not retry
    with pytest.raises(game_day.settings.GameDayInputError, match="bad event: step"):
        game_day.entry("step", {"step": "failback", "state": {}})
