"""``failback --database``: PostgreSQL's way back to the primary region, run before the traffic's.

After ``failover --promote-database`` the DR instance is the primary's database, and the primary
region's old instance stopped where the failover left it. The way back copies the DR instance into
the primary region as a cross-region read replica, lets it catch up, and promotes it once DR takes
no more writes. What this command automates, one line per step, and nothing without a yes (or
``--yes``) that creates anything:

(a) checks, read-only: the DR instance is a standalone (promoted) primary and available; the old
    primary is in the primary region, and the copy takes its subnet group and security groups
    (without them RDS would put the copy in the region's default VPC, if it has one); no instance
    has the copy's name yet, or the one that has is a replica of the DR instance (an earlier run's:
    this run waits on it);
(b) after the yes: CreateDBInstanceReadReplica through the primary's endpoint, with the DR
    instance's ARN as source, encrypted with the primary's key (by alias), Multi-AZ like the
    primary's instance;
(c) DescribeDBInstances every 15 s until the copy is available, then its ReplicaLag until it is
    under the PostgreSQL RPO, for at most ``--replica-timeout`` in all.

Then it prints, and does not run, what is left (the NEXT lines): the traffic's failback, the copy's
promotion, pointing the app at it, the secret, and the DR replica again. Those cut the app's
database over and delete stale instances: a person's decisions, at a time a person picks.

Exit codes: 0 the copy is available and under the RPO (``--dry-run``: the checks passed, nothing
created); 1 a check failed, or the question was declined: nothing created; 2 bad command line or
config; 4 CreateDBInstanceReadReplica failed: nothing created; 5 created (or found), but not
available and under the RPO within ``--replica-timeout``: run it again to wait on.
"""

from __future__ import annotations

import shlex
from typing import Any

from dr_core.config import AppConfig
from dr_core.shared_names import SharedNames
from dr_ops.aws import AwsClients, AwsError, describe
from dr_ops.context import Invocation
from dr_ops.switch.database import (
    NOT_REPLICATING,
    REPLICA_LAG_MINUTES,
    Instance,
    Probe,
    Waited,
    failback_replica,
    read_instance,
    replica_lag,
)
from dr_ops.switch.metrics import CloudWatchReader, Unmeasured, window
from dr_ops.switch.report import Narrated
from dr_ops.switch.verdicts import State, Verdict, failed, passed, summary
from dr_ops.tools import Tools

STOPPED = 1
CREATE_FAILED = 4
NOT_CAUGHT_UP = 5
# The construct IDs of stacks/platform.py, by which `cdk deploy` and `cdk destroy` name the stacks.
PRIMARY_STACK = "PrimaryRegion"
REPLICA_STACK = "DatabaseReplica"


class DatabaseFailback(Narrated):
    def __init__(
        self,
        config: AppConfig,
        names: SharedNames,
        invocation: Invocation,
        tools: Tools,
        *,
        dry_run: bool,
        yes: bool,
        timeout: float,
    ) -> None:
        self.primary, self.dr = config.primary.name, config.dr.name
        super().__init__(tools.switch, f"failback --database {self.dr} -> {self.primary}")
        self.config, self.names, self.invocation = config, names, invocation
        self.dry_run, self.yes, self.timeout = dry_run, yes, timeout
        self.aws: AwsClients = tools.aws(invocation.profile)
        self.copy = failback_replica(config)
        # What the checks found: the DR instance, the old primary, an instance of the copy's name.
        self.dr_instance: Instance | None = None
        self.old_primary: Instance | None = None
        self.existing: Instance | None = None

    def run(self) -> int:
        self.say(
            f"failback --database: PostgreSQL {self.dr} -> {self.primary}, before the traffic: a copy of "
            f"{self.names.database_replica} in {self.primary}, {self.copy}; asks before it creates anything"
        )
        verdicts = self._checks()
        stopped = [verdict.name for verdict in verdicts if verdict.state is not State.PASS]
        source, old = self.dr_instance, self.old_primary
        if stopped or source is None or old is None:
            self.say(f"failback --database: stopped, nothing created: {', '.join(stopped)} failed")
            return self.finish(STOPPED, "stopped, nothing created")
        if self.existing is not None:
            if self.dry_run:
                self.say(
                    f"failback --database: dry run: would wait on {self.copy} (up to {self.timeout:g} s)"
                )
                self._next_steps()
                return self.finish(0, "dry run, nothing created")
            return self._wait(self.io.clock.monotonic(), created=False)
        request = self._request(source, old)
        if self.dry_run:
            would = "would create" if self.yes else "would ask, then create"
            self.say(f"failback --database: dry run, nothing created; {would} {self._plan(request)}")
            self._next_steps()
            return self.finish(0, "dry run, nothing created")
        question = (
            f"Create {self._plan(request)}? It copies the whole database across regions, and is billed as "
            "one more Multi-AZ instance."
        )
        if not self.yes and (self.io.confirm is None or not self.io.confirm(question)):
            self.say("failback --database: declined, nothing created")
            self.report.add(f"create {self.copy} via {self.primary}", None, "declined")
            return self.finish(STOPPED, "declined, nothing created")
        started = self.io.clock.monotonic()
        try:
            with self.io.console.status(f"CreateDBInstanceReadReplica {self.copy} through {self.primary}"):
                self.aws.client("rds", self.primary).create_db_instance_read_replica(**request)
        except AwsError as error:
            took = self.elapsed(started)
            found = f"CreateDBInstanceReadReplica {self.copy} through {self.primary}: {describe(error)}"
            self.say(
                failed(
                    "create replica", found, "nothing created; fix it and run again", forceable=False
                ).line()
            )
            self.report.add(f"create {self.copy} via {self.primary}", took, f"failed: {describe(error)}")
            return self.finish(CREATE_FAILED, "create failed, nothing created")
        took = self.elapsed(started)
        found = f"CreateDBInstanceReadReplica through {self.primary} in {took:.1f} s: {self._plan(request)}"
        self.say(passed("create replica", found).line())
        self.report.add(f"create {self.copy} via {self.primary}", took, "accepted")
        return self._wait(started, created=True)

    def _checks(self) -> list[Verdict]:
        started = self.io.clock.monotonic()
        verdicts = []
        with self.io.console.status("checking") as status:
            for name, check in (
                ("dr database", self._dr_database),
                ("placement", self._placement),
                ("failback replica", self._existing),
            ):
                status.update(f"checking {name}")
                try:
                    verdict = check()
                except AwsError as error:
                    verdict = failed(name, f"could not read: {describe(error)}", "run again", forceable=False)
                self.say(verdict.line())
                verdicts.append(verdict)
        self.report.add("checks", self.elapsed(started), summary(verdicts))
        return verdicts

    def _dr_database(self) -> Verdict:
        name, replica, dr = "dr database", self.names.database_replica, self.dr
        self.dr_instance = instance = read_instance(self.aws, dr, replica)
        if instance is None:
            return failed(
                name, f"no {replica} in {dr}", "check -c environment, suffix and drRegion", forceable=False
            )
        found = f"{replica} in {dr}: {instance.state()}"
        if not instance.standalone:
            return failed(
                name,
                found,
                f"PostgreSQL never failed over ({self.names.database_instance} is still its source): "
                "./dev failback alone moves the traffic back",
                forceable=False,
            )
        if instance.status != "available":
            return failed(name, found, "wait until it is available", forceable=False)
        return passed(name, f"{found} (promoted): the primary's database since the failover")

    def _placement(self) -> Verdict:
        name, old, primary = "placement", self.names.database_instance, self.primary
        self.old_primary = instance = read_instance(self.aws, primary, old)
        by_hand = (
            f"create {self.copy} by hand (aws rds create-db-instance-read-replica) in the primary stack's "
            "database subnet group and security group"
        )
        if instance is None:
            return failed(
                name,
                f"no {old} in {primary} to take the subnet group and security groups from",
                by_hand,
                forceable=False,
            )
        if not instance.subnet_group or not instance.security_groups:
            return failed(
                name, f"{old} in {primary} names no subnet group or security group", by_hand, forceable=False
            )
        return passed(
            name,
            f"{old} in {primary} (the old primary, {instance.status}, stale since the failover) lends the "
            f"copy its subnet group {instance.subnet_group}, security groups "
            f"{', '.join(instance.security_groups)}",
        )

    def _existing(self) -> Verdict:
        name, copy, primary = "failback replica", self.copy, self.primary
        self.existing = instance = read_instance(self.aws, primary, copy)
        if instance is None:
            return passed(name, f"no {copy} in {primary} yet: it is created next")
        found = f"{copy} in {primary}: {instance.state()}"
        source = self.dr_instance
        if source is not None and instance.source in (source.arn, source.identifier):
            return passed(name, f"{found}: an earlier run's, not created again")
        return failed(
            name,
            found,
            f"not a read replica of {self.names.database_replica}: delete or rename it; or, if it is the "
            "copy promoted already, go on with the next steps by hand",
            forceable=False,
        )

    def _request(self, source: Instance, old: Instance) -> dict[str, Any]:
        return {
            "DBInstanceIdentifier": self.copy,
            "SourceDBInstanceIdentifier": source.arn,
            # boto3 signs the source region's part of the request (PreSignedUrl) from this.
            "SourceRegion": self.dr,
            "KmsKeyId": self.names.primary.key_alias,
            "DBInstanceClass": f"db.{self.config.database_instance_type}",
            # It becomes the primary's instance, which is Multi-AZ.
            "MultiAZ": True,
            "DBSubnetGroupName": old.subnet_group,
            "VpcSecurityGroupIds": list(old.security_groups),
            "PubliclyAccessible": False,
            "DeletionProtection": True,
            "EnableIAMDatabaseAuthentication": True,
            "CopyTagsToSnapshot": True,
        }

    def _plan(self, request: dict[str, Any]) -> str:
        return (
            f"{self.copy} in {self.primary}, a read replica of {request['SourceDBInstanceIdentifier']}: "
            f"{request['DBInstanceClass']}, Multi-AZ, encrypted with {request['KmsKeyId']}, subnet group "
            f"{request['DBSubnetGroupName']}, security groups {', '.join(request['VpcSecurityGroupIds'])}"
        )

    def _wait(self, since: float, *, created: bool) -> int:
        copy, primary = self.copy, self.primary
        rpo = self.config.monitoring.rpo_targets["postgres"]
        label = "since the create" if created else "waited"
        again = f"run ./dev failback --database again to wait on: it finds {copy} and creates nothing"

        def available() -> tuple[bool, str]:
            instance = read_instance(self.aws, primary, copy)
            if instance is None:
                return False, "not found"
            return instance.status == "available", instance.brief()

        waited = self._poll(available, since, label)
        self.report.add(f"{copy} available ({label})", waited.seconds, self._outcome(waited))
        if waited.seconds is None:
            found = f"{copy} not available after {self.timeout:g} s ({waited.last})"
            self.say(failed("available", found, again, forceable=False).line())
            return self.finish(NOT_CAUGHT_UP, f"{copy} not available in {self.timeout:g} s")
        self.say(
            passed("available", f"{copy} in {primary}: available, {waited.seconds:.1f} s ({label})").line()
        )

        def caught_up() -> tuple[bool, str]:
            # A reader per reading: one that did not answer once is asked again next time.
            reader = CloudWatchReader(self.aws)
            metric = replica_lag(primary, copy)
            try:
                seconds = reader.peak(metric, *window(self.io.clock.now(), minutes=REPLICA_LAG_MINUTES))
            except Unmeasured as reason:
                return False, str(reason)
            found = f"ReplicaLag max {seconds:g} s (last {REPLICA_LAG_MINUTES} min), RPO {rpo:g} s"
            if seconds < 0:
                return False, f"{found}: {NOT_REPLICATING}"
            return seconds <= rpo, found

        lag = self._poll(caught_up, since, label)
        self.report.add(f"{copy} lag under the RPO ({label})", lag.seconds, self._outcome(lag))
        if lag.seconds is None:
            self.say(
                failed(
                    "replica lag", f"{copy}: {lag.last}, after {self.timeout:g} s", again, forceable=False
                ).line()
            )
            return self.finish(NOT_CAUGHT_UP, f"{copy} not under the RPO in {self.timeout:g} s")
        self.say(passed("replica lag", f"{copy}: {lag.last}, {lag.seconds:.1f} s ({label})").line())
        self._next_steps()
        return self.finish(0, f"{copy} available and caught up; the NEXT steps are yours")

    def _poll(self, probe: Probe, since: float, label: str) -> Waited:
        return self.wait_for(self.copy, probe, since=since, timeout=self.timeout, note=f", {label}")

    def _outcome(self, waited: Waited) -> str:
        return waited.last if waited.seconds is not None else f"not after {self.timeout:g} s: {waited.last}"

    def _next_steps(self) -> None:
        """What this command leaves to a person, in order, each as one line with its commands."""
        names, primary, dr, copy = self.names, self.primary, self.dr, self.copy
        db, replica, secret = names.database_instance, names.database_replica, names.database_secret
        profile = ("--profile", self.invocation.profile) if self.invocation.profile else ()
        flags = (*self.invocation.context_args, *profile)

        def dev(*words: str) -> str:
            return shlex.join(("./dev", *words, *flags))

        def aws(region: str, *words: str) -> str:
            return shlex.join(("aws", *words, "--region", region, *profile))

        def rds(region: str, verb: str, identifier: str, *words: str) -> str:
            return aws(region, "rds", verb, "--db-instance-identifier", identifier, *words)

        unprotect = ("--no-deletion-protection", "--apply-immediately")
        unprotect_old = rds(primary, "modify-db-instance", db, *unprotect)
        delete_old = rds(primary, "delete-db-instance", db, "--final-db-snapshot-identifier", f"{db}-stale")
        wait_old = aws(primary, "rds", "wait", "db-instance-deleted", "--db-instance-identifier", db)
        rename = rds(
            primary, "modify-db-instance", copy, "--new-db-instance-identifier", db, "--apply-immediately"
        )
        drift = aws(primary, "cloudformation", "detect-stack-drift", "--stack-name", names.primary.stack)
        delete_dr = rds(
            dr, "delete-db-instance", replica, "--final-db-snapshot-identifier", f"{replica}-stale"
        )
        replicate = aws(
            primary,
            "secretsmanager",
            "replicate-secret-to-regions",
            "--secret-id",
            secret,
            "--add-replica-regions",
            f"Region={dr},KmsKeyId={names.dr.key_alias}",
            "--force-overwrite-replica-secret",
        )
        steps = (
            (
                "1 traffic",
                f"{dev('failback')}: moves the traffic to {primary}, fencing {dr} first so its writers stop; "
                f"its lag postgres check reads {copy}'s ReplicaLag against the RPO",
            ),
            (
                "2 promote",
                f"once {dr} takes no writes (after step 1): {rds(primary, 'promote-read-replica', copy)} "
                f"(cannot be undone: {replica} stops being its source); done when "
                f"{rds(primary, 'describe-db-instances', copy)} shows it available with no "
                "ReadReplicaSourceDBInstanceIdentifier",
            ),
            (
                "3 app",
                f"the primary stack's instance is {db}, not {copy}. Either rename: take the stale {db} away "
                f"({unprotect_old}, then {delete_old}, then {wait_old}), "
                f"then {rename} (it takes {db}'s endpoint name, which the secret names), then "
                f"{dev('cdk', 'deploy', PRIMARY_STACK)} and {drift} (CloudFormation applies template changes "
                f"only: set by hand what drifted). Or keep {copy}: a change to the app (database_instance in "
                "dr_core/shared_names.py) and cdk import of the instance into the primary stack, not covered "
                "here",
            ),
            (
                "4 secret",
                f"{copy} kept {dr}'s credentials: if they changed in {dr} since the failover (rotation, by "
                f"hand), put them into {primary}'s {secret} too, with {db}'s endpoint as host: "
                + aws(primary, "secretsmanager", "put-secret-value", "--secret-id", secret)
                + " --secret-string <JSON>",
            ),
            (
                "5 dr replica",
                f"after step 3, take the promoted, now stale {replica} away "
                f"({rds(dr, 'modify-db-instance', replica, *unprotect)}, then {delete_dr}), replicate the "
                f"secret again ({replicate}), then deploy the replica stack again: "
                f"{dev('cdk', 'destroy', REPLICA_STACK)} and {dev('cdk', 'deploy', REPLICA_STACK)} (destroy "
                f"retains its instance, gone by then; deploy makes a new replica of {db})",
            ),
        )
        for name, text in steps:
            self.say(f"NEXT     {name:<16} {text}")
