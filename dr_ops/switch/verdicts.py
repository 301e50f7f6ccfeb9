"""A pre-check's answer as one line, and whether the switch may go on after all of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from dr_ops.aws import AwsError, describe


class State(Enum):
    PASS = "pass"
    FAIL = "fail"
    # Could not be measured (a region's API impaired, no datapoints): not a pass.
    UNKNOWN = "unknown"
    # Does not apply to this direction (a store that replicates primary -> DR only).
    SKIP = "skip"


@dataclass(frozen=True)
class Verdict:
    name: str
    state: State
    found: str
    fix: str = ""
    # A failure --force may override (a lag over its RPO, too little capacity). Not one that would
    # make the switch itself pointless or harmful (an unhealthy target, a fenced target).
    forceable: bool = False

    def line(self) -> str:
        """The check as one line: state, name, what was measured, and for a failure the way on."""
        text = f"{self.state.name:<8} {self.name:<16} {self.found}"
        if self.fix:
            text += f" -- {self.fix}"
        return text.replace("\r", " ").replace("\n", " ")


def passed(name: str, found: str) -> Verdict:
    return Verdict(name, State.PASS, found)


def failed(name: str, found: str, fix: str, *, forceable: bool) -> Verdict:
    return Verdict(name, State.FAIL, found, fix, forceable)


def unknown(name: str, found: str) -> Verdict:
    return Verdict(name, State.UNKNOWN, found, "--accept-unknown to switch without it")


def skipped(name: str, found: str) -> Verdict:
    return Verdict(name, State.SKIP, found)


@dataclass(frozen=True)
class PreCheck:
    name: str
    run: Callable[[], Verdict]

    def evaluate(self) -> Verdict:
        try:
            return self.run()
        except AwsError as error:
            # Credentials, throttling, an endpoint that does not answer: the answer is not known.
            return unknown(self.name, f"could not read: {describe(error)}")


@dataclass(frozen=True)
class Decision:
    go: bool
    why: str


def summary(verdicts: Sequence[Verdict]) -> str:
    counts = Counter(verdict.state.value for verdict in verdicts)
    return ", ".join(f"{counts[state.value]} {state.value}" for state in State if counts[state.value])


def decide(
    verdicts: Sequence[Verdict],
    *,
    force: bool,
    accept_unknown: bool,
    ask: Callable[[str], bool] | None,
) -> Decision:
    """Go only when nothing failed (or every failure is forceable and forced) and every unknown is
    accepted: by --accept-unknown, or by the person at the terminal when ``ask`` is given."""
    failures = [v for v in verdicts if v.state is State.FAIL]
    hard = [v.name for v in failures if not v.forceable]
    if hard:
        return Decision(False, f"{', '.join(hard)} failed, which --force does not override")
    soft = [v.name for v in failures]
    if soft and not force:
        return Decision(False, f"{', '.join(soft)} failed: fix it, or --force to switch anyway")
    unknowns = [v.name for v in verdicts if v.state is State.UNKNOWN]
    if unknowns and not accept_unknown:
        question = f"{', '.join(unknowns)} could not be measured. Switch anyway?"
        if ask is None or not ask(question):
            return Decision(False, f"{', '.join(unknowns)} unknown: --accept-unknown to switch without")
    overridden = [*(f"{name} forced" for name in soft), *(f"{name} accepted" for name in unknowns)]
    return Decision(True, "; ".join(overridden) or "every check passed")
