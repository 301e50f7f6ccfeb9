"""./dev drill and ./dev gameday: start the observer's execution, print its progress from the
history, end with the report as a table and the verdict's exit code.

moto runs no state machine: the Step Functions calls are botocore Stubber answers in the shapes of
the API reference (StartExecution, DescribeExecution, GetExecutionHistory), on a fake clock.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from rich.console import Console

from dr_ops.cli import main
from dr_ops.switch.io import SwitchIo
from dr_ops.tools import Tools
from tests.ops.failover_world import FakeClock
from tests.ops.helpers import ACCOUNT, ROOT

OBSERVER = "us-west-2"  # cdk.json: no observerRegion, so the DR region
DRILL_ARN = f"arn:aws:states:{OBSERVER}:{ACCOUNT}:stateMachine:dev-{OBSERVER}-dr-drill-v1"
GAME_DAY_ARN = f"arn:aws:states:{OBSERVER}:{ACCOUNT}:stateMachine:dev-{OBSERVER}-dr-game-day-v1"
EXECUTION = f"arn:aws:states:{OBSERVER}:{ACCOUNT}:execution:dev-{OBSERVER}-dr-drill-v1:run-1"
WHEN = datetime(2026, 11, 29, tzinfo=UTC)


def _event(id: int, type: str, **details: Any) -> dict[str, Any]:
    return {"id": id, "timestamp": WHEN, "type": type, **details}


def entered(id: int, name: str) -> dict[str, Any]:
    return _event(id, "TaskStateEntered", stateEnteredEventDetails={"name": name})


def exited(id: int, name: str, output: Any) -> dict[str, Any]:
    return _event(id, "TaskStateExited", stateExitedEventDetails={"name": name, "output": json.dumps(output)})


@dataclass
class Aws:
    """The clients the commands ask for, stubbed, and nothing else."""

    stubs: dict[tuple[str, str], Stubber] = field(default_factory=dict)
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self.clients:
            client = boto3.client(service, region_name=region)
            self.clients[(service, region)] = client
            self.stubs[(service, region)] = Stubber(client)
            self.stubs[(service, region)].activate()
        return self.clients[(service, region)]

    def stub(self, service: str, region: str) -> Stubber:
        self.client(service, region)
        return self.stubs[(service, region)]

    def partition(self, region: str) -> str:
        return "aws"


@dataclass
class World:
    aws: Aws = field(default_factory=Aws)
    clock: FakeClock = field(default_factory=FakeClock)
    output: io.StringIO = field(default_factory=io.StringIO)

    def run(self, *args: str) -> int:
        console = Console(file=self.output, width=200, highlight=False, color_system=None)
        tools = Tools(
            run=lambda command: 0,
            aws=lambda _profile: self.aws,  # type: ignore[arg-type,return-value]
            lookup=lambda resolver, domain: [],
            root=ROOT,
            assembly_dir=ROOT / "cdk.out",
            switch=SwitchIo(lambda url, t: None, lambda s, n: "", self.clock, console, None),  # type: ignore[arg-type,return-value]
        )
        return main(list(args), tools)

    @property
    def printed(self) -> str:
        return self.output.getvalue()

    def execution(
        self,
        machine: str,
        execution_input: dict[str, Any],
        history: list[list[dict[str, Any]]],
        statuses: list[str],
        execution: str = EXECUTION,
    ) -> None:
        """Step Functions' answers for one execution: the start, then per poll a page of new events
        and a status (each poll reads the whole history; the command skips what it has seen)."""
        stub = self.aws.stub("stepfunctions", OBSERVER)
        stub.add_response(
            "start_execution",
            {"executionArn": execution, "startDate": WHEN},
            {"stateMachineArn": machine, "input": json.dumps(execution_input)},
        )
        events: list[dict[str, Any]] = []
        for page, status in zip(history, statuses, strict=True):
            events = events + page
            stub.add_response(
                "get_execution_history",
                {"events": list(events)},
                {"executionArn": execution, "maxResults": 1000},
            )
            described = {
                "executionArn": execution,
                "stateMachineArn": machine,
                "status": status,
                "startDate": WHEN,
            }
            if status == "FAILED":
                described |= {"error": "GameDayFailed", "cause": "See the report"}
            stub.add_response("describe_execution", described, {"executionArn": execution})
        if statuses[-1] != "RUNNING":
            stub.add_response(
                "get_execution_history",
                {"events": list(events)},
                {"executionArn": execution, "maxResults": 1000},
            )


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    yield w
    for stub in w.aws.stubs.values():
        stub.assert_no_pending_responses()


def drill_report(status: str, lag: float = 1.5) -> dict[str, Any]:
    within = lag <= 5
    return {
        "drill_id": "run-1",
        "status": status,
        "probes": {
            "dynamodb": {
                "status": "PASSED",
                "lag_seconds": lag,
                "rpo_target_seconds": 5.0,
                "within_rpo": within,
                "detail": "replicated",
            }
        },
    }


def test_drill_that_passes_prints_its_progress_and_report_and_exits_0(world):
    # Given the drill's execution: the probes run, then the report says PASSED
    world.execution(
        DRILL_ARN,
        {},
        [[entered(2, "DynamodbProbe")], [exited(9, "Report", drill_report("PASSED"))]],
        ["RUNNING", "SUCCEEDED"],
    )
    # When ./dev drill runs
    code = world.run("drill")
    # Then it printed each state as it started, the report as a table, and passed
    assert code == 0
    assert "DynamodbProbe started" in world.printed
    assert "DR drill run-1: PASSED" in world.printed
    assert "│ dynamodb │ PASSED │   1.5 │" in world.printed
    # And it polled every 5 s, no faster
    assert world.clock.slept == [5.0]


def test_drill_whose_report_failed_exits_1_naming_the_verdict(world):
    # Given a drill whose report failed it (a lag over its RPO); the execution itself succeeded
    world.execution(DRILL_ARN, {}, [[exited(9, "Report", drill_report("FAILED", lag=7.5))]], ["SUCCEEDED"])
    # When ./dev drill runs
    code = world.run("drill")
    # Then its exit code is the verdict's
    assert code == 1
    assert "FAILED: the report says FAILED" in world.printed
    assert "│ NO " in world.printed


def test_drill_still_running_at_the_timeout_exits_3_and_leaves_it_running(world):
    # Given a drill that is still running after the command's --timeout
    world.execution(DRILL_ARN, {}, [[entered(2, "DynamodbProbe")], []], ["RUNNING", "RUNNING"])
    # When ./dev drill waits 5 s at most (one poll, 5 s of sleep, one more poll)
    code = world.run("drill", "--timeout", "5")
    # Then it says so and exits 3, without stopping the execution
    assert code == 3
    assert "still running after 5 s" in world.printed


def test_game_day_over_budget_exits_1_with_the_measured_rto_in_the_table(world):
    # Given a primary-path game day whose report failed it: 61.2 s measured against 45 s
    report = {
        "game_day_id": "run-1",
        "experiment": "primary-path",
        "status": "FAILED",
        "reasons": ["measured RTO 61.2 s is over the 45 s budget"],
        "measurement": {
            "phases": {"unhealthy": 21.0, "dns": 33.5, "order": 61.2},
            "measured_rto_seconds": 61.2,
            "budget_seconds": 45,
        },
        "restore": {"restored": True, "restored_after": 48.0},
    }
    world.execution(
        GAME_DAY_ARN,
        {"experiment": "primary-path"},
        [
            [entered(2, "MeasureFailover")],
            [exited(30, "Report", {"experiment": "primary-path", "report": report})],
        ],
        ["RUNNING", "FAILED"],
    )
    # When one experiment is asked for
    code = world.run("gameday", "--experiment", "primary-path")
    # Then the table shows each phase and the verdict, and the exit code is 1
    assert code == 1
    assert "measured RTO (s)" in world.printed and "61.2" in world.printed
    assert "over the 45 s budget" in world.printed
    assert "back on the primary after (s)" in world.printed


def test_game_day_runs_every_experiment_in_order_by_default(world):
    # Given three game days that pass
    for number, experiment in enumerate(("primary-path", "dynamodb-pause", "s3-pause")):
        report = {"game_day_id": f"run-{number}", "experiment": experiment, "status": "PASSED", "reasons": []}
        world.execution(
            GAME_DAY_ARN,
            {"experiment": experiment},
            [[exited(30, "Report", {"report": report})]],
            ["SUCCEEDED"],
            execution=f"{EXECUTION}-{number}",
        )
    # When ./dev gameday runs with no experiment named
    code = world.run("gameday")
    # Then it ran them one after another (the stubs answer in order) and every one passed
    assert code == 0
    assert world.printed.count("PASSED in") == 3


def test_game_day_after_a_failed_experiment_runs_no_further_fault(world):
    # Given a primary-path game day that failed (an operator's emergency stop, say)
    report = {"game_day_id": "run-0", "experiment": "primary-path", "status": "FAILED", "reasons": ["x"]}
    world.execution(
        GAME_DAY_ARN,
        {"experiment": "primary-path"},
        [[exited(30, "Report", {"report": report})]],
        ["FAILED"],
    )
    # When ./dev gameday runs all three
    code = world.run("gameday")
    # Then it stops there: no pause is started (the stubs hold no other execution), and it exits 1
    assert code == 1
    assert "the remaining experiments are not run" in world.printed


def test_game_day_stop_sets_the_stop_alarm_that_every_experiment_stops_on(world):
    # Given the primary's CloudWatch
    world.aws.stub("cloudwatch", "us-east-1").add_response(
        "set_alarm_state",
        {},
        {"AlarmName": "dev-us-east-1-game-day-stop-v1", "StateValue": "ALARM", "StateReason": ANY},
    )
    # When the operator pulls the emergency stop
    code = world.run("gameday", "--stop")
    # Then the stop alarm is in ALARM (FIS stops any experiment with it as a stop condition)
    assert code == 0
    assert "set to ALARM" in world.printed


@pytest.mark.parametrize(
    "args",
    [
        ("gameday", "--experiment", "az-outage"),
        ("gameday", "--stop", "--experiment", "s3-pause"),
        ("gameday", "--timeout", "0"),
        ("drill", "--timeout", "-1"),
    ],
)
def test_bad_command_lines_exit_2_before_any_call(world, args):
    assert world.run(*args) == 2
