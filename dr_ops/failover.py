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

``failover --to <dr> --promote-database`` then makes the DR region's PostgreSQL read replica the
primary's database (``dr_ops.switch.database``): only once the fence is written and every
authoritative server answers DR, so the old primary's writers have stopped, and only after a
person confirms (or ``--yes``), since a promotion cannot be undone. Through DR's endpoints alone:
PromoteReadReplica, then StopReplicationToReplica on DR's copy of the admin secret (so it can be
changed and rotated there), then DescribeDBInstances every 15 s until the instance is available
and standalone, for at most ``--promote-timeout``. ``failback --database`` runs PostgreSQL's way
back, before the traffic's (``dr_ops.database_failback``).

Exit codes: 0 switched and verified, and with ``--promote-database`` promoted (``--dry-run``: the
checks would let it switch); 1 stopped by the checks, nothing written; 2 bad command line or
config; 4 the write through the target region failed, nothing switched; 5 written, but not every
authoritative server answered the target within ``--timeout`` (nothing promoted); 6 switched and
verified, but the database is not promoted: declined at the prompt, or PromoteReadReplica failed
(the instance is still a read replica), or StopReplicationToReplica failed (the instance is
promoted, DR's secret is still a read-only replica): run the same command again, which renews the
fence and promotes only what is left; 7 switched, verified and PromoteReadReplica accepted, but
the instance was not available and standalone within ``--promote-timeout``: RDS goes on by
itself, traffic is already on DR, and until it is done the database there takes no writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dr_core.config import AppConfig
from dr_core.failover import fence_key
from dr_core.shared_names import SharedNames
from dr_ops.aws import AwsClients, AwsError, describe
from dr_ops.context import Invocation, Parser, UsageError, positive_seconds
from dr_ops.database_failback import DatabaseFailback
from dr_ops.switch.database import Waited, read_instance, secret_primary_region
from dr_ops.switch.dns_watch import Answer, Watch, tally, watch
from dr_ops.switch.fence import BestEffort, Fence, Write
from dr_ops.switch.metrics import CloudWatchReader
from dr_ops.switch.prechecks import Move, Scene, prechecks, regional_names
from dr_ops.switch.report import Narrated, Step
from dr_ops.switch.verdicts import Verdict, decide, summary
from dr_ops.tools import Tools

STOPPED = 1
WRITE_FAILED = 4
NOT_VERIFIED = 5
NOT_PROMOTED = 6
PROMOTION_UNFINISHED = 7
DEFAULT_TIMEOUT_SECONDS = 300.0
# RDS documents no bound: a promotion reboots the instance and takes a backup, minutes in practice.
DEFAULT_PROMOTE_TIMEOUT_SECONDS = 1800.0
# A cross-region replica copies the whole database first: an hour, and a second run waits longer.
DEFAULT_REPLICA_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class Options:
    to: str
    dry_run: bool
    force: bool
    accept_unknown: bool
    timeout: float
    reason: str
    # failover --promote-database: promote the DR replica once the switch is verified.
    promote_database: bool = False
    promote_timeout: float = DEFAULT_PROMOTE_TIMEOUT_SECONDS
    # The database step's question answered beforehand (--promote-database, failback --database).
    yes: bool = False
    # failback --database: PostgreSQL's way back, instead of the traffic's.
    database: bool = False
    replica_timeout: float = DEFAULT_REPLICA_TIMEOUT_SECONDS


_DESCRIPTIONS = {
    "failover": "Move traffic to --to by fencing the other region: one DynamoDB write through --to.",
    "failback": "Move traffic back to the primary: fence DR, lift the primary's fence, DR's once DNS moved. "
    "With --database: PostgreSQL's way back instead, to run first.",
}
_EPILOGS = {
    "failover": "-c key=value and --profile work as for ./dev deploy. Exit codes: 0 switched and verified "
    "(and promoted); 1 stopped by the checks, nothing written; 2 usage or config; 4 the write failed, "
    "nothing switched; 5 written, DNS not verified in time; 6 switched, the database not promoted "
    "(declined, or a call failed); 7 switched, promotion not finished within --promote-timeout.",
    "failback": "-c key=value and --profile work as for ./dev deploy. Exit codes: 0 switched and verified "
    "(--database: the replica is available and caught up); 1 stopped by the checks (or declined), nothing "
    "written; 2 usage or config; 4 the write (--database: the create) failed; 5 written, DNS not verified "
    "in time (--database: created, not caught up in time: run it again to wait on).",
}


def _options(command: str, args: Sequence[str]) -> Options:
    parser = Parser(prog=f"./dev {command}", description=_DESCRIPTIONS[command], epilog=_EPILOGS[command])
    if command == "failover":
        parser.add_argument("--to", required=True, metavar="REGION", help="the DR or the primary region")
        parser.add_argument(
            "--reason",
            default="manual failover (./dev failover)",
            metavar="TEXT",
            help="kept in the fence item",
        )
        parser.add_argument(
            "--promote-database",
            action="store_true",
            help="once DNS answers the DR region, promote its PostgreSQL replica (irreversible; asks first)",
        )
        parser.add_argument(
            "--promote-timeout",
            type=float,
            metavar="SECONDS",
            help=f"seconds to wait for the promoted instance (default {DEFAULT_PROMOTE_TIMEOUT_SECONDS:g})",
        )
    else:
        parser.add_argument(
            "--database",
            action="store_true",
            help="PostgreSQL's way back, before the traffic's: a replica in the primary, then the steps left",
        )
        parser.add_argument(
            "--replica-timeout",
            type=float,
            metavar="SECONDS",
            help=f"seconds to wait for the new replica (default {DEFAULT_REPLICA_TIMEOUT_SECONDS:g})",
        )
    parser.add_argument("--yes", action="store_true", help="do the database step without asking first")
    parser.add_argument("--dry-run", action="store_true", help="run the checks, print what would be written")
    parser.add_argument("--force", action="store_true", help="switch although a lag or capacity check failed")
    parser.add_argument(
        "--accept-unknown", action="store_true", help="switch although a check could not be measured"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=f"seconds to wait for every authoritative name server (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parsed = parser.parse_args(list(args))
    promote, database = getattr(parsed, "promote_database", False), getattr(parsed, "database", False)
    promote_timeout, replica_timeout = (
        getattr(parsed, "promote_timeout", None),
        getattr(parsed, "replica_timeout", None),
    )
    for flag, seconds in (
        ("--timeout", parsed.timeout),
        ("--promote-timeout", promote_timeout),
        ("--replica-timeout", replica_timeout),
    ):
        positive_seconds(flag, seconds)
    if parsed.yes and not (promote or database):
        raise UsageError(
            "--yes answers the database step's question: only with --promote-database or --database"
        )
    if promote_timeout is not None and not promote:
        raise UsageError("--promote-timeout only with --promote-database")
    if replica_timeout is not None and not database:
        raise UsageError("--replica-timeout only with --database")
    if database:
        moving = [
            flag
            for flag, given in (
                ("--force", parsed.force),
                ("--accept-unknown", parsed.accept_unknown),
                ("--timeout", parsed.timeout is not None),
            )
            if given
        ]
        if moving:
            raise UsageError(
                f"{', '.join(moving)}: not with --database, which moves no traffic and goes on only when "
                "every step passed"
            )
    return Options(
        to=getattr(parsed, "to", ""),
        dry_run=parsed.dry_run,
        force=parsed.force,
        accept_unknown=parsed.accept_unknown,
        timeout=DEFAULT_TIMEOUT_SECONDS if parsed.timeout is None else parsed.timeout,
        reason=getattr(parsed, "reason", ""),
        promote_database=promote,
        promote_timeout=DEFAULT_PROMOTE_TIMEOUT_SECONDS if promote_timeout is None else promote_timeout,
        yes=parsed.yes,
        database=database,
        replica_timeout=DEFAULT_REPLICA_TIMEOUT_SECONDS if replica_timeout is None else replica_timeout,
    )


def _someone_to_ask(options: Options, tools: Tools, flag: str, step: str) -> None:
    """A database step asks first; with nobody at a terminal only --yes may answer for them."""
    if not (options.yes or options.dry_run) and tools.switch.confirm is None:
        raise UsageError(
            f"{flag} asks before {step}, and there is no terminal to ask at: add --yes to go on without "
            "asking"
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
    if options.promote_database:
        if options.to != config.dr.name:
            raise UsageError(
                f"--promote-database promotes the replica in {config.dr.name}: only with --to "
                f"{config.dr.name}"
            )
        _someone_to_ask(options, tools, "--promote-database", "the promotion, which cannot be undone")
    names = SharedNames.of(config)
    return _Switch(config, names, Move.of("failover", names, options.to), options, invocation, tools).run()


def failback(invocation: Invocation, tools: Tools) -> int:
    options = _options("failback", invocation.cdk_args)
    config = invocation.config(tools.root)
    names = SharedNames.of(config)
    if options.database:
        _someone_to_ask(options, tools, "--database", "it creates the replica")
        return DatabaseFailback(
            config,
            names,
            invocation,
            tools,
            dry_run=options.dry_run,
            yes=options.yes,
            timeout=options.replica_timeout,
        ).run()
    move = Move.of("failback", names, config.primary.name)
    return _Switch(config, names, move, options, invocation, tools).run()


class _Switch(Narrated):
    def __init__(
        self,
        config: AppConfig,
        names: SharedNames,
        move: Move,
        options: Options,
        invocation: Invocation,
        tools: Tools,
    ) -> None:
        self.source, self.target = move.source.region, move.target.region
        super().__init__(tools.switch, f"{move.command} {self.source} -> {self.target}")
        self.config, self.names, self.move, self.options = config, names, move, options
        self.aws: AwsClients = tools.aws(invocation.profile)
        self.scene = Scene(
            config,
            names,
            self.aws,
            self.io,
            tools.lookup,
            move,
            CloudWatchReader(self.aws),
            promote_database=options.promote_database,
        )

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
            if options.promote_database:
                self.say(
                    f"{command}: dry run: once every name server answers {self.target}, it would "
                    + ("" if options.yes else "ask, then ")
                    + f"PromoteReadReplica {self.names.database_replica} and StopReplicationToReplica "
                    f"{self.names.database_secret} through {self.target}, and wait up to "
                    f"{options.promote_timeout:g} s until the instance is available and standalone"
                )
                self.report.add("promote database", None, "dry run, not promoted")
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
            if self.options.promote_database:
                return self._promote()
            return self.finish(0, f"switched to {self.target}")
        self.say(self._unverified(verified))
        if self.options.promote_database:
            self.say(
                f"{command}: the database was not promoted: PostgreSQL moves only once every name server "
                f"answers {self.target}; run the same command again to finish both"
            )
            self.report.add("promote database", None, "not attempted: DNS not verified")
        if verified is None:
            return self.finish(NOT_VERIFIED, "written, DNS not verified")
        return self.finish(NOT_VERIFIED, f"written, not verified in {self.options.timeout:g} s")

    def _promote(self) -> int:
        """After a verified failover: DR's replica becomes the primary's database, for good."""
        replica, secret, dr = self.names.database_replica, self.names.database_secret, self.target
        try:
            instance = read_instance(self.aws, dr, replica)
            secret_from = secret_primary_region(self.aws, dr, secret)
        except AwsError as error:
            why = f"reading {replica} and {secret} through {dr} failed: {describe(error)}"
            return self._not_promoted(why, row="not promoted: could not read")
        if instance is None:
            return self._not_promoted(f"there is no {replica} in {dr}", row="not promoted: no replica")
        todo = []
        if not instance.standalone:
            todo.append(f"promote {replica} ({instance.state()}) to a standalone instance")
        if secret_from != dr:
            todo.append(f"make {dr}'s copy of {secret} standalone (a replica of {secret_from}'s)")
        if not todo:
            self.say(f"failover: {replica} and {secret} in {dr} are standalone already: nothing to promote")
            self.report.add("promote database", None, "standalone already")
            return self.finish(0, f"switched to {dr}, database standalone already")
        question = f"Traffic is on {dr}: {' and '.join(todo)}?"
        if not instance.standalone:
            question += f" This cannot be undone: {self.names.database_instance} stops being its source."
        if not self.options.yes and (self.io.confirm is None or not self.io.confirm(question)):
            return self._not_promoted("declined at the prompt", row="declined")
        started = self.io.clock.monotonic()
        if not instance.standalone:
            try:
                with self.io.console.status(f"PromoteReadReplica {replica} through {dr}"):
                    self.aws.client("rds", dr).promote_read_replica(DBInstanceIdentifier=replica)
            except AwsError as error:
                self.report.add(
                    f"PromoteReadReplica via {dr}", self.elapsed(started), f"failed: {describe(error)}"
                )
                return self._not_promoted(
                    f"PromoteReadReplica of {replica} failed ({describe(error)}); it is still "
                    f"{instance.state()}"
                )
            self.say(f"failover: PromoteReadReplica {replica} through {dr}: accepted")
            self.report.add(f"PromoteReadReplica via {dr}", self.elapsed(started), "accepted")
        secret_failure = self._promote_secret() if secret_from != dr else ""
        if not instance.standalone:
            waited = self._wait_promoted(started)
            if waited.seconds is None:
                self.say(
                    f"failover: traffic is on {dr}, and {replica} is being promoted, but it was not "
                    f"available and standalone after {self.options.promote_timeout:g} s (last: "
                    f"{waited.last}). RDS goes on by itself; until it is done the database takes no writes. "
                    f"Watch it: aws rds describe-db-instances --region {dr} --db-instance-identifier "
                    f"{replica}"
                    + (f"; then run the same command again for {secret}" if secret_failure else "")
                )
                timeout = f"{self.options.promote_timeout:g} s"
                return self.finish(
                    PROMOTION_UNFINISHED, f"switched to {dr}, promotion not finished in {timeout}"
                )
            self.say(
                f"failover: {replica} is the primary's database now: available and standalone in {dr}, "
                f"{waited.seconds:.1f} s after PromoteReadReplica"
            )
        if secret_failure:
            return self._not_promoted(
                f"{replica} is promoted, but StopReplicationToReplica of {secret} failed ({secret_failure}); "
                f"{dr}'s copy of the secret is still a read-only replica",
                result=f"switched to {dr}, database promoted, secret still a replica",
            )
        self._after_promotion(replica, dr, secret)
        return self.finish(0, f"switched to {dr}, database promoted")

    def _promote_secret(self) -> str:
        """DR's copy of the admin secret becomes standalone; returns the failure, if any."""
        secret, dr = self.names.database_secret, self.target
        started = self.io.clock.monotonic()
        try:
            self.aws.client("secretsmanager", dr).stop_replication_to_replica(SecretId=secret)
        except AwsError as error:
            self.report.add(
                f"StopReplicationToReplica via {dr}", self.elapsed(started), f"failed: {describe(error)}"
            )
            return describe(error)
        self.say(
            f"failover: StopReplicationToReplica {secret} through {dr}: standalone, to change and rotate "
            "there"
        )
        self.report.add(f"StopReplicationToReplica via {dr}", self.elapsed(started), "standalone")
        return ""

    def _wait_promoted(self, started: float) -> Waited:
        replica, dr, timeout = self.names.database_replica, self.target, self.options.promote_timeout

        def probe() -> tuple[bool, str]:
            instance = read_instance(self.aws, dr, replica)
            if instance is None:
                return False, "not found"
            return instance.status == "available" and instance.standalone, instance.brief()

        waited = self.wait_for(
            replica, probe, since=started, timeout=timeout, note=" after PromoteReadReplica"
        )
        self.report.add(
            f"{replica} available, standalone (since PromoteReadReplica)",
            waited.seconds,
            waited.last if waited.seconds is not None else f"not after {timeout:g} s: {waited.last}",
        )
        return waited

    def _after_promotion(self, replica: str, dr: str, secret: str) -> None:
        """What the promotion leaves to the operator, said once."""
        try:
            instance = read_instance(self.aws, dr, replica)
        except AwsError:
            instance = None
        if instance is None:
            return
        if not instance.multi_az:
            self.say(
                f"failover: {replica} runs in one zone; to keep it as the primary's database, make it "
                f"Multi-AZ: aws rds modify-db-instance --region {dr} --db-instance-identifier {replica} "
                "--multi-az --apply-immediately"
            )
        self.say(
            f"failover: {secret} in {dr} still names {self.names.database_instance}'s endpoint as its host; "
            f"this instance answers at {instance.endpoint or '(no endpoint yet)'}"
        )

    def _not_promoted(self, why: str, *, row: str = "", result: str = "") -> int:
        """Traffic moved; the promotion did not happen, or only in part: exit 6."""
        dr = self.target
        self.say(
            f"failover: traffic is on {dr}, but the promotion is not done: {why}. To finish it, run "
            f"./dev failover --to {dr} --promote-database again (it renews the fence, verifies DNS, then "
            "promotes only what is left)"
        )
        if row:
            self.report.add("promote database", None, row)
        return self.finish(NOT_PROMOTED, result or f"switched to {dr}, database not promoted")

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
