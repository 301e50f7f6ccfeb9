"""Start a Step Functions execution in the observer region and follow it to its end.

Progress comes from the execution's history: each state entered, left or failed is printed once,
with the seconds since the start. The end is the execution's status and, when a state named
``result_state`` exited, that state's output (the report), read from the history so a failed
execution's report is found too (a Fail state leaves the execution no output).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dr_ops.switch.io import Clock

POLL_SECONDS = 5.0
RUNNING = "RUNNING"
# History events worth a line, and the verb of that line.
_PROGRESS = {
    "TaskStateEntered": "started",
    "WaitStateEntered": "waiting",
    "TaskSucceeded": "answered",
    "TaskFailed": "failed",
    "TaskTimedOut": "timed out",
}


@dataclass(frozen=True)
class Outcome:
    execution_arn: str
    # SUCCEEDED, FAILED, TIMED_OUT, ABORTED; RUNNING when the command stopped waiting.
    status: str
    seconds: float
    # The result state's output, parsed; None when that state never exited.
    result: dict[str, Any] | None
    error: str = ""


def _events(stepfunctions: Any, execution_arn: str, after: int) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = stepfunctions.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        for event in page["events"]:
            if event["id"] > after:
                yield event
        token = page.get("nextToken")
        if not token:
            return


def follow(
    stepfunctions: Any,
    state_machine_arn: str,
    execution_input: dict[str, Any],
    *,
    result_state: str,
    clock: Clock,
    timeout: float,
    say: Callable[[str], None],
) -> Outcome:
    """Starts the execution and prints its progress until it ends or ``timeout`` seconds pass;
    a timeout leaves it running (its own timeouts and Catches still end it well)."""
    started = clock.monotonic()
    arn = stepfunctions.start_execution(
        stateMachineArn=state_machine_arn,
        input=json.dumps(execution_input),
    )["executionArn"]
    say(f"started {arn}")
    seen, result = 0, None
    status, error = RUNNING, ""
    while True:
        for event in _events(stepfunctions, arn, seen):
            seen = event["id"]
            result = _result(event, result_state) or result
            line = _progress(event)
            if line:
                say(f"{clock.monotonic() - started:7.1f} s  {line}")
        if status != RUNNING:
            break
        described = stepfunctions.describe_execution(executionArn=arn)
        status = described["status"]
        error = ": ".join(filter(None, (described.get("error", ""), described.get("cause", ""))))
        if status != RUNNING:
            # One more pass over the history: the last events may have landed with the status.
            continue
        if clock.monotonic() - started >= timeout:
            say(f"still running after {timeout:g} s; it goes on without this command: {arn}")
            break
        clock.sleep(POLL_SECONDS)
    return Outcome(arn, status, clock.monotonic() - started, result, error)


def _progress(event: dict[str, Any]) -> str:
    verb = _PROGRESS.get(event["type"])
    if verb is None:
        return ""
    details = event.get("stateEnteredEventDetails") or {}
    name = details.get("name", "")
    if not name:
        # Task results name their resource, not the state; the entered line already named it.
        failure = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
        return f"  {verb}" + (f": {failure.get('error', '')}" if failure else "")
    return f"{name} {verb}"


def _result(event: dict[str, Any], state: str) -> dict[str, Any] | None:
    details = event.get("stateExitedEventDetails") or {}
    if event["type"] != "TaskStateExited" or details.get("name") != state or "output" not in details:
        return None
    output = json.loads(details["output"])
    return output if isinstance(output, dict) else None
