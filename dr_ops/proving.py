"""``drill`` and ``gameday``: run the observer's DR drill or game day now, watch it, judge it.

Each starts an execution of the state machine the observer stack deployed (found by its name
from the naming convention), prints its progress live, and ends with the report as a table. The
report is also in the evidence bucket and on the observer's alert topic.

``gameday --stop`` is the emergency stop: it sets the primary's game-day stop alarm to ALARM,
which is a stop condition of every FIS experiment template, so FIS stops any running one; the
game day then stops, restores and reports as after any failure.

Exit codes: 0 passed; 1 failed (the report's verdict, or an execution that failed without one);
2 bad command line or config; 3 still running when --timeout ran out (it goes on by itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from dr_core.config import AppConfig
from dr_core.game_day import EXPERIMENTS, GameDayPlan
from dr_core.shared_names import SharedNames, state_machine_arn
from dr_ops.context import Invocation, Parser, UsageError, positive_seconds
from dr_ops.executions import RUNNING, Outcome, follow
from dr_ops.tools import Tools

PASSED, FAILED, STILL_RUNNING = 0, 1, 3
DRILL_TIMEOUT_SECONDS = 20 * 60.0


def _state_machine_arn(config: AppConfig, partition: str, name: str) -> str:
    return state_machine_arn(name, region=config.observer_region, account=config.account, partition=partition)


def _timeout(value: float | None, default: float) -> float:
    given = positive_seconds("--timeout", value)
    return default if given is None else given


def drill(invocation: Invocation, tools: Tools) -> int:
    parser = Parser(
        prog="./dev drill",
        description="Run the DR drill now: every replication path and the DR region's readiness.",
        epilog="Exit codes: 0 passed; 1 failed; 2 usage or config; 3 still running at --timeout.",
    )
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop waiting after this long")
    options = parser.parse_args(list(invocation.cdk_args))
    config = invocation.config(tools.root)
    aws = tools.aws(invocation.profile)
    console, region = tools.switch.console, config.observer_region
    outcome = follow(
        aws.client("stepfunctions", region),
        _state_machine_arn(config, aws.partition(region), SharedNames.of(config).drill_state_machine),
        {},
        result_state="Report",
        clock=tools.switch.clock,
        timeout=_timeout(options.timeout, DRILL_TIMEOUT_SECONDS),
        say=lambda line: console.print(line, markup=False, highlight=False),
    )
    report = outcome.result
    if report is not None:
        console.print(_drill_table(report))
    return _verdict(outcome, report, console.print)


def gameday(invocation: Invocation, tools: Tools) -> int:
    parser = Parser(
        prog="./dev gameday",
        description="Run game-day experiments now, one after another, and measure RTO and RPO under fault.",
        epilog="Exit codes: 0 every experiment passed; 1 one failed; 2 usage or config; 3 still running "
        "at --timeout. It injects real faults into the primary region: run it when you mean to.",
    )
    parser.add_argument(
        "--experiment",
        action="append",
        choices=[*EXPERIMENTS, "all"],
        help="repeatable; default all, in the order primary-path, dynamodb-pause, s3-pause",
    )
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="per experiment")
    parser.add_argument(
        "--stop", action="store_true", help="emergency stop: FIS stops any running experiment"
    )
    options = parser.parse_args(list(invocation.cdk_args))
    config = invocation.config(tools.root)
    names = SharedNames.of(config)
    aws = tools.aws(invocation.profile)
    console = tools.switch.console
    if options.stop:
        if options.experiment or options.timeout is not None:
            raise UsageError("--stop takes no other option")
        aws.client("cloudwatch", config.primary.name).set_alarm_state(
            AlarmName=names.game_day_stop_alarm,
            StateValue="ALARM",
            StateReason="./dev gameday --stop: an operator stopped the game day",
        )
        console.print(
            f"{names.game_day_stop_alarm} set to ALARM: FIS stops any running game-day experiment",
            markup=False,
        )
        return PASSED
    chosen = options.experiment or ["all"]
    experiments = list(EXPERIMENTS) if "all" in chosen else list(dict.fromkeys(chosen))
    # By default a little longer than the state machine itself may run an experiment, so its own
    # timeout, not this command's, ends the longest.
    timeout = _timeout(options.timeout, GameDayPlan.of(config).execution_seconds + 300)
    region = config.observer_region
    arn = _state_machine_arn(config, aws.partition(region), SharedNames.of(config).game_day_state_machine)
    codes = []
    for experiment in experiments:
        console.print(f"game day: {experiment}", markup=False, highlight=False)
        outcome = follow(
            aws.client("stepfunctions", region),
            arn,
            {"experiment": experiment},
            result_state="Report",
            clock=tools.switch.clock,
            timeout=timeout,
            say=lambda line: console.print(line, markup=False, highlight=False),
        )
        report = (outcome.result or {}).get("report")
        if isinstance(report, dict):
            console.print(_game_day_table(report))
        codes.append(_verdict(outcome, report if isinstance(report, dict) else None, console.print))
        if codes[-1] != PASSED:
            # Still running, the next would overlap its fault; failed, or stopped by an operator's
            # emergency stop, the platform is not known steady: no further fault goes in.
            if experiment != experiments[-1]:
                console.print("the remaining experiments are not run", markup=False, highlight=False)
            break
    return max(codes)


def _verdict(outcome: Outcome, report: dict[str, Any] | None, say: Any) -> int:
    if outcome.status == RUNNING:
        return STILL_RUNNING
    status = (report or {}).get("status")
    if status == "PASSED" and outcome.status == "SUCCEEDED":
        say(f"PASSED in {outcome.seconds:.0f} s", markup=False)
        return PASSED
    why = f"the report says {status}" if status else f"the execution {outcome.status}: {outcome.error}"
    say(f"FAILED: {why}", markup=False)
    return FAILED


def _drill_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"DR drill {report.get('drill_id', '')}: {report.get('status', '?')}")
    for column in ("probe", "status", "lag s", "RPO target s", "within RPO", "detail"):
        table.add_column(column, justify="right" if column.endswith(" s") else "left")
    for probe, verdict in report.get("probes", {}).items():
        table.add_row(
            probe,
            str(verdict.get("status", "")),
            _number(verdict.get("lag_seconds")),
            _number(verdict.get("rpo_target_seconds")),
            {True: "yes", False: "NO", None: "-"}.get(verdict.get("within_rpo"), "-"),
            Text(str(verdict.get("detail", ""))),
        )
    return table


def _game_day_table(report: dict[str, Any]) -> Table:
    table = Table(
        title=f"Game day {report.get('experiment', '')} {report.get('game_day_id', '')}: "
        f"{report.get('status', '?')}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in _game_day_rows(report):
        table.add_row(name, Text(value))
    for reason in report.get("reasons", []):
        table.add_row("reason", Text(str(reason)))
    return table


def _game_day_rows(report: dict[str, Any]) -> Sequence[tuple[str, str]]:
    measurement = report.get("measurement") or {}
    rows: list[tuple[str, str]] = []
    phases = measurement.get("phases")
    if isinstance(phases, dict):
        rows += [(f"{phase} after fault (s)", _number(seconds)) for phase, seconds in phases.items()]
        rows.append(("measured RTO (s)", _number(measurement.get("measured_rto_seconds"))))
        rows.append(("RTO budget (s)", _number(measurement.get("budget_seconds"))))
    if "canaries" in measurement:
        at_risk = measurement.get("at_risk") or {}
        rows.append(("alarm", str(measurement.get("alarm_name") or "did not fire")))
        rows.append(("writes at risk", _number(at_risk.get("writes"))))
        rows.append(("RPO under fault (s)", _number(at_risk.get("oldest_seconds"))))
        rows.append(("outcome", str(measurement.get("outcome", ""))))
    restore = report.get("restore") or {}
    if restore:
        rows.append(("back on the primary after (s)", _number(restore.get("restored_after"))))
    return rows


def _number(value: Any) -> str:
    return "-" if value is None else f"{float(value):g}"
