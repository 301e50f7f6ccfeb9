"""``failover --to <region>`` and ``failback``: move traffic with data-plane calls only.

Neither needs the old primary nor us-east-1's control planes (Route 53's API, CloudFormation):
the switch is one DynamoDB write through the region traffic moves to. ``failover`` puts the
fence item of the region traffic leaves; it replicates there, whose order function then refuses
writes, and every health answer lists that region as fenced, which Route 53's checks read, so
DNS answers with the other region ("standby takes over primary"). ``failback`` fences DR and
lifts the primary's fence in one go through the primary, and lifts DR's fence only once every
authoritative server answers the primary and the records' TTL has passed: there is no moment
when both regions take writes (global tables resolve concurrent writes by last writer wins).
Before the write the checks of ``dr_ops.switch.prechecks`` run; after it the zone's
authoritative name servers are asked until each answers with the target; a timed report ends
every run.

Exit codes: 0 switched and verified (``--dry-run``: the checks would let it switch); 1 stopped by
the checks, nothing written; 2 bad command line or config; 4 the write through the target region
failed, nothing switched; 5 written, but not every authoritative server answered the target
within ``--timeout``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from dr_core.config import AppConfig
from dr_core.failover import fence_key
from dr_core.shared_names import SharedNames
from dr_ops.aws import AwsClients, AwsError, describe
from dr_ops.context import Invocation, UsageError
from dr_ops.switch.dns_watch import Answer, Watch, tally, watch
from dr_ops.switch.fence import BestEffort, Fence, Write
from dr_ops.switch.io import SwitchIo
from dr_ops.switch.metrics import CloudWatchReader
from dr_ops.switch.prechecks import Move, Scene, prechecks, regional_names
from dr_ops.switch.report import Report, Step
from dr_ops.switch.verdicts import Verdict, decide, summary
from dr_ops.tools import Tools

STOPPED = 1
WRITE_FAILED = 4
NOT_VERIFIED = 5
DEFAULT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class Options:
    to: str
    dry_run: bool
    force: bool
    accept_unknown: bool
    timeout: float
    reason: str


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


_DESCRIPTIONS = {
    "failover": "Move traffic to --to by fencing the other region: one DynamoDB write through --to.",
    "failback": "Move traffic back to the primary: fence DR, lift the primary's fence, DR's once DNS moved.",
}


def _options(command: str, args: Sequence[str]) -> Options:
    parser = _Parser(
        prog=f"./dev {command}",
        description=_DESCRIPTIONS[command],
        epilog="-c key=value and --profile work as for ./dev deploy. Exit codes: 0 switched and verified; "
        "1 stopped by the checks, nothing written; 2 usage or config; 4 the write failed, nothing "
        "switched; 5 written, DNS not verified in time.",
    )
    if command == "failover":
        parser.add_argument("--to", required=True, metavar="REGION", help="the DR or the primary region")
        parser.add_argument(
            "--reason",
            default="manual failover (./dev failover)",
            metavar="TEXT",
            help="kept in the fence item",
        )
    parser.add_argument("--dry-run", action="store_true", help="run the checks, print what would be written")
    parser.add_argument("--force", action="store_true", help="switch although a lag or capacity check failed")
    parser.add_argument(
        "--accept-unknown", action="store_true", help="switch although a check could not be measured"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"seconds to wait for every authoritative name server (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parsed = parser.parse_args(list(args))
    if parsed.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {parsed.timeout:g}")
    return Options(
        to=getattr(parsed, "to", ""),
        dry_run=parsed.dry_run,
        force=parsed.force,
        accept_unknown=parsed.accept_unknown,
        timeout=parsed.timeout,
        reason=getattr(parsed, "reason", ""),
    )


def failover(invocation: Invocation, tools: Tools) -> int:
    options = _options("failover", invocation.cdk_args)
    config = invocation.config(tools.root)
    regions = (config.primary.name, config.dr.name)
    if options.to not in regions:
        raise UsageError(
            f"--to must be {config.dr.name} (the DR region) or {config.primary.name} (the primary), "
            f"not {options.to!r}"
        )
    names = SharedNames.of(config)
    return _Switch(config, names, Move.of("failover", names, options.to), options, invocation, tools).run()


def failback(invocation: Invocation, tools: Tools) -> int:
    options = _options("failback", invocation.cdk_args)
    config = invocation.config(tools.root)
    names = SharedNames.of(config)
    move = Move.of("failback", names, config.primary.name)
    return _Switch(config, names, move, options, invocation, tools).run()


class _Switch:
    def __init__(
        self,
        config: AppConfig,
        names: SharedNames,
        move: Move,
        options: Options,
        invocation: Invocation,
        tools: Tools,
    ) -> None:
        self.config, self.names, self.move, self.options = config, names, move, options
        self.io: SwitchIo = tools.switch
        self.aws: AwsClients = tools.aws(invocation.profile)
        self.scene = Scene(config, names, self.aws, self.io, tools.lookup, move, CloudWatchReader(self.aws))
        self.source, self.target = move.source.region, move.target.region
        self.report = Report(f"{move.command} {self.source} -> {self.target}")
        self.started = self.io.clock.monotonic()

    def say(self, text: str) -> None:
        self.io.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def elapsed(self, since: float) -> float:
        return self.io.clock.monotonic() - since

    def finish(self, code: int, result: str) -> int:
        self.report.print(self.io.console, self.elapsed(self.started), result)
        return code

    def run(self) -> int:
        command, options = self.move.command, self.options
        self.say(f"{command}: traffic {self.source} -> {self.target}; {self._plan()}")
        verdicts = self._checks()
        ask = None if options.dry_run else self.io.confirm
        decision = decide(verdicts, force=options.force, accept_unknown=options.accept_unknown, ask=ask)
        if not decision.go:
            would = "dry run: a real run would stop" if options.dry_run else "stopped before any write"
            self.say(f"{command}: {would}: {decision.why}")
            return self.finish(STOPPED, "stopped, nothing written")
        write = self._write()
        if options.dry_run:
            self.say(
                f"{command}: dry run, nothing written ({decision.why}); would {write.describe()} "
                f"through {self.target}, then through {self.source} (best effort)"
            )
            return self.finish(0, "dry run, nothing written")
        return self._switch(write, decision.why)

    def _plan(self) -> str:
        if self.move.command == "failback":
            return (
                f"fence {self.source} and lift {self.target}'s fence through {self.target}; lift "
                f"{self.source}'s once DNS answers {self.target} and the TTL has passed"
            )
        return f"fence {self.source} (its order function refuses writes), written through {self.target}"

    def _checks(self) -> list[Verdict]:
        started = self.io.clock.monotonic()
        verdicts = []
        with self.io.console.status("checking") as status:
            for check in prechecks(self.scene):
                status.update(f"checking {check.name}")
                verdict = check.evaluate()
                self.say(verdict.line())
                verdicts.append(verdict)
        self.report.add("checks", self.elapsed(started), summary(verdicts))
        return verdicts

    def _write(self) -> Write:
        table = self.names.orders_table
        at = self.io.clock.now().isoformat(timespec="seconds")
        if self.move.command == "failback":
            # DR refuses writes before the primary takes them again, until clients have followed DNS.
            until = f"failback: until DNS answers {self.target} ({self.options.reason})"
            return Write(
                table, put=Fence(self.source, at, self._caller(), until), delete=(fence_key(self.target),)
            )
        return Write(table, put=Fence(self.source, at, self._caller(), self.options.reason))

    def _caller(self) -> str:
        # Through the target's regional STS endpoint: nothing of us-east-1's global one.
        try:
            return str(self.aws.client("sts", self.target).get_caller_identity()["Arn"])
        except AwsError as error:
            return f"unknown caller ({describe(error)})"

    def _switch(self, write: Write, why: str) -> int:
        command = self.move.command
        started = self.io.clock.monotonic()
        try:
            with self.io.console.status(f"writing through {self.target}"):
                write.apply(self.aws, self.target)
        except AwsError as error:
            took = self.elapsed(started)
            failure = f"the {write.verb} through {self.target} failed: {describe(error)}"
            self.say(f"{command}: {failure}; nothing switched")
            self.report.add(f"{write.verb} via {self.target}", took, f"failed: {describe(error)}")
            return self.finish(WRITE_FAILED, "failed, nothing switched")
        took = self.elapsed(started)
        self.say(f"{command}: {write.describe()} through {self.target} in {took:.1f} s ({why})")
        self.report.add(f"{write.verb} via {self.target}", took, "done")
        # Made here, not in the thread: boto3 makes clients safely in one thread only.
        self.aws.client("dynamodb", self.source)
        other = BestEffort(lambda: write.apply(self.aws, self.source))
        verified = self._verify()
        outcome = other.outcome()
        self.say(f"{command}: the same {write.verb} through {self.source} (best effort): {outcome}")
        self.report.steps.insert(2, Step(f"{write.verb} via {self.source} (best effort)", None, outcome))
        if verified is not None and verified.every is not None:
            if command == "failback":
                return self._lift_source_fence()
            return self.finish(0, f"switched to {self.target}")
        self.say(self._unverified(verified))
        if verified is None:
            return self.finish(NOT_VERIFIED, "written, DNS not verified")
        return self.finish(NOT_VERIFIED, f"written, not verified in {self.options.timeout:g} s")

    def _lift_source_fence(self) -> int:
        """The last step of a failback: DR takes writes again once no client should still be sent there."""
        ttl = self.config.traffic.record_ttl_seconds
        started = self.io.clock.monotonic()
        with self.io.console.status(f"waiting {ttl} s (the records' TTL) before {self.source} takes writes"):
            self.io.clock.sleep(ttl)
        lift = Write(self.names.orders_table, delete=(fence_key(self.source),))
        try:
            lift.apply(self.aws, self.target)
        except AwsError as error:
            self.say(
                f"failback: traffic is back on {self.target}, but lifting {self.source}'s fence failed "
                f"({describe(error)}): it still refuses writes; run ./dev failback again"
            )
            self.report.add(f"lift {self.source}'s fence after the TTL", self.elapsed(started), "failed")
            return self.finish(WRITE_FAILED, f"switched to {self.target}, {self.source} still fenced")
        BestEffort(lambda: lift.apply(self.aws, self.source)).outcome()
        self.say(f"failback: {lift.describe()} through {self.target}, {ttl} s after DNS moved")
        self.report.add(f"lift {self.source}'s fence after the TTL", self.elapsed(started), "done")
        return self.finish(0, f"switched to {self.target}")

    def _verify(self) -> Watch | None:
        servers, api = self.scene.name_servers, self.config.traffic.api_domain
        if not servers:
            self.report.add("authoritative answers", None, "not verified: no name servers found")
            return None
        timeout = self.options.timeout

        def on_answer(answer: Answer, seconds: float) -> None:
            self.say(f"DNS      {answer.server} answers {answer.cname} ({seconds:.1f} s after the write)")

        with self.io.console.status(f"asking the authoritative servers of {self.config.domain}") as status:

            def on_round(answers: tuple[Answer, ...], seconds: float) -> None:
                status.update(
                    f"{api} on its authoritative servers: {tally(answers)} ({seconds:.0f}/{timeout:g} s)"
                )

            result = watch(
                servers,
                api,
                self.target,
                regions=regional_names(self.config),
                query=self.io.authoritative,
                clock=self.io.clock,
                timeout=timeout,
                on_answer=on_answer,
                on_round=on_round,
            )
        self.report.add(
            f"first server answers {self.target} (since write)", result.first, result.first_server or "none"
        )
        self.report.add(
            f"every server answers {self.target} (since write)",
            result.every,
            tally(result.last)
            if result.every is not None
            else f"not after {timeout:g} s: {tally(result.last)}",
        )
        return result

    def _unverified(self, verified: Watch | None) -> str:
        command, source, target = self.move.command, self.source, self.target
        seen = tally(verified.last) if verified is not None else "no name servers to ask"
        if command == "failback":
            state = f"{source} stays fenced (refuses writes) until a later run sees DNS answer {target}"
        else:
            state = f"{source} refuses writes (fenced) while DNS still sends some clients there"
        return (
            f"{command}: written, but not every authoritative server answers {target} after "
            f"{self.options.timeout:g} s ({seen}): {state}. Check both regions' Route 53 health checks; "
            f"run again to watch longer (the write is safe to repeat)"
            + ("" if command == "failback" else "; ./dev failback undoes it")
        )
