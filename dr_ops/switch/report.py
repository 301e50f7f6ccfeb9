"""The timed report printed at the end of every run: each step, how long it took, what came of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dr_ops.switch.database import Probe, Waited, wait_until
from dr_ops.switch.io import SwitchIo


@dataclass(frozen=True)
class Step:
    name: str
    # Seconds the step took (or, for the DNS rows, after the fence write); None: not timed or not done.
    seconds: float | None
    outcome: str


@dataclass
class Report:
    title: str
    steps: list[Step] = field(default_factory=list)

    def add(self, name: str, seconds: float | None, outcome: str) -> None:
        self.steps.append(Step(name, seconds, outcome))

    def table(self, total_seconds: float, result: str) -> Table:
        table = Table()
        table.add_column("step")
        table.add_column("seconds", justify="right")
        table.add_column("outcome")
        for step in self.steps:
            table.add_row(Text(step.name), _seconds(step.seconds), Text(step.outcome))
        table.add_row("total", _seconds(total_seconds), Text(result), end_section=True)
        return table

    def print(self, console: Console, total_seconds: float, result: str) -> None:
        console.print(f"{self.title}: {result}", markup=False, highlight=False, soft_wrap=True)
        console.print(self.table(total_seconds, result))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class Narrated:
    """A command run that says what it does as it goes, times itself, and ends with its report."""

    def __init__(self, io: SwitchIo, title: str) -> None:
        self.io = io
        self.report = Report(title)
        self.started = io.clock.monotonic()

    def say(self, text: str) -> None:
        self.io.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def elapsed(self, since: float) -> float:
        return self.io.clock.monotonic() - since

    def finish(self, code: int, result: str) -> int:
        self.report.print(self.io.console, self.elapsed(self.started), result)
        return code

    def wait_for(self, instance: str, probe: Probe, *, since: float, timeout: float, note: str) -> Waited:
        """Wait on an RDS instance with a live status line, saying each state it passes through
        with the seconds since ``since`` and ``note`` ("after PromoteReadReplica")."""
        with self.io.console.status(f"waiting for {instance}") as status:

            def on_change(state: str, seconds: float) -> None:
                self.say(f"RDS      {instance}: {state} ({seconds:.1f} s{note})")
                status.update(f"{instance}: {state} ({seconds:.0f}/{timeout:g} s)")

            return wait_until(probe, clock=self.io.clock, timeout=timeout, on_change=on_change, since=since)
