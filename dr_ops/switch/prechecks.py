"""The checks before a switch, each one line with its numbers: PASS, FAIL, UNKNOWN or SKIP.

In the direction of the move (``source``: where traffic leaves, ``target``: where it goes):
the target answers healthy; the fences allow the move; every store's replication lag towards the
target is under its RPO; with ``--promote-database``, the DR replica can be promoted; the target's
order function can run as many executions as the source's peak of the last hour; the zone's
authoritative name servers can be asked (to verify afterwards). Nothing here writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from dr_core.config import AppConfig
from dr_core.failover import fenced_token
from dr_core.shared_names import RegionNames, SharedNames
from dr_core.telemetry import DRILL_LAG_METRIC, DRILL_SERVICE, METRICS_NAMESPACE, S3_REPLICATION_RULE_ID
from dr_ops.aws import AwsClients, AwsError, error_code
from dr_ops.dns_delegation import LookupFailed, NsLookup
from dr_ops.switch.database import (
    NOT_REPLICATING,
    REPLICA_LAG_MINUTES,
    failback_replica,
    read_instance,
    replica_lag,
)
from dr_ops.switch.dns_watch import ask_all, authoritative_servers, tally
from dr_ops.switch.fence import read_fences
from dr_ops.switch.io import HttpFailed, SwitchIo
from dr_ops.switch.metrics import CloudWatchReader, Metric, Unmeasured, window
from dr_ops.switch.verdicts import PreCheck, Verdict, failed, passed, skipped, unknown

HEALTH_TIMEOUT_SECONDS = 5.0
# The windows each lag is read over, and the statistic: as the alarms on them read it.
DYNAMODB_LAG_MINUTES = 5
S3_LAG_MINUTES = 15
CAPACITY_MINUTES = 60
DRILL_PERIOD_SECONDS = 300


@dataclass(frozen=True)
class Move:
    """Traffic moves from ``source`` to ``target``."""

    command: str
    source: RegionNames
    target: RegionNames
    # Stores other than DynamoDB replicate primary -> DR only.
    towards_dr: bool

    @classmethod
    def of(cls, command: str, names: SharedNames, target_region: str) -> Move:
        towards_dr = target_region == names.dr.region
        source, target = (names.primary, names.dr) if towards_dr else (names.dr, names.primary)
        return cls(command, source, target, towards_dr)


@dataclass
class Scene:
    """What every check reads: shared so the name servers found by one serve the DNS watch later."""

    config: AppConfig
    names: SharedNames
    aws: AwsClients
    io: SwitchIo
    lookup: NsLookup
    move: Move
    cloudwatch: CloudWatchReader
    name_servers: tuple[str, ...] = field(default=())
    # ``failover --promote-database``: the DR replica is promoted after the switch.
    promote_database: bool = False

    @property
    def regions(self) -> tuple[str, str]:
        return self.names.primary.region, self.names.dr.region


def regional_names(config: AppConfig) -> dict[str, str]:
    """Each region's own API name -> the region: what the shared name's CNAME points at."""
    return {config.traffic.regional_api_domain(r): r for r in (config.primary.name, config.dr.name)}


def shown_url(config: AppConfig, region: str) -> str:
    """The health URL without its path token, which keeps floods off the public route."""
    return f"https://{config.traffic.regional_api_domain(region)}/health/<token>"


def prechecks(scene: Scene) -> list[PreCheck]:
    return [
        PreCheck("target health", lambda: target_health(scene)),
        PreCheck("fences", lambda: fence_state(scene)),
        PreCheck("lag dynamodb", lambda: dynamodb_lag(scene)),
        PreCheck("lag s3", lambda: s3_lag(scene)),
        PreCheck("lag sns", lambda: drill_lag(scene, "sns")),
        PreCheck("lag ssm", lambda: drill_lag(scene, "ssm")),
        PreCheck("lag postgres", lambda: postgres_lag(scene)),
        *([PreCheck("db replica", lambda: promotable(scene))] if scene.promote_database else []),
        PreCheck("capacity", lambda: capacity(scene)),
        PreCheck("name servers", lambda: name_servers(scene)),
    ]


def target_health(scene: Scene) -> Verdict:
    name, target = "target health", scene.move.target.region
    url, shown = scene.config.traffic.health_url(target), shown_url(scene.config, target)
    fix = f'{target} must answer 200 with "status":"ok" to take traffic; see its health answer'
    clock = scene.io.clock
    start = clock.monotonic()
    try:
        answer = scene.io.http_get(url, HEALTH_TIMEOUT_SECONDS)
    except HttpFailed as error:
        return failed(name, f"GET {shown}: no answer ({error})", fix, forceable=False)
    took = clock.monotonic() - start
    text = answer.body.decode("utf-8", "replace")
    status = _status_of(text)
    found = f"GET {shown}: {answer.status}, status {status or 'absent'}, in {took:.1f} s"
    fenced = [region for region in scene.regions if fenced_token(region) in text]
    if fenced:
        found += f"; it lists fenced: {', '.join(fenced)}"
    if answer.status == 200 and status == "ok":
        return passed(name, found)
    return failed(name, found, fix, forceable=False)


def _status_of(text: str) -> str:
    try:
        body: Any = json.loads(text)
    except ValueError:
        return ""
    return str(body.get("status", "")) if isinstance(body, dict) else ""


def fence_state(scene: Scene) -> Verdict:
    name, move = "fences", scene.move
    table, target = scene.names.orders_table, move.target.region
    fences = read_fences(scene.aws, table, target, scene.regions)
    held = "; ".join(f"{region} since {item.get('fenced_at', '?')}" for region, item in fences.items())
    if move.command == "failback":
        if not fences:
            return passed(name, f"none set (read through {target}): the deletes change nothing")
        return passed(name, f"{held} (read through {target}); failback clears them")
    if target in fences:
        return failed(
            name,
            f"{target} itself is fenced ({held}): fencing {move.source.region} too would leave no region "
            "taking writes",
            "./dev failback clears every fence",
            forceable=False,
        )
    if fences:
        return passed(name, f"{held} (read through {target}); the write renews it")
    return passed(name, f"none set (read through {target})")


def dynamodb_lag(scene: Scene) -> Verdict:
    name, move = "lag dynamodb", scene.move
    rpo = scene.config.monitoring.rpo_targets["dynamodb"]
    # DynamoDB publishes it in the sending region, per receiving region, in milliseconds.
    metric = Metric(
        move.source.region,
        "AWS/DynamoDB",
        "ReplicationLatency",
        (("TableName", scene.names.orders_table), ("ReceivingRegion", move.target.region)),
        "Average",
    )
    try:
        milliseconds = scene.cloudwatch.peak(
            metric, *window(scene.io.clock.now(), minutes=DYNAMODB_LAG_MINUTES)
        )
    except Unmeasured as reason:
        return unknown(name, str(reason))
    found = (
        f"{move.source.region} -> {move.target.region}: max {milliseconds:g} ms (average per minute, "
        f"last {DYNAMODB_LAG_MINUTES} min), RPO {rpo:g} s"
    )
    return _against_rpo(name, milliseconds / 1000, rpo, found)


def s3_lag(scene: Scene) -> Verdict:
    name, move, names = "lag s3", scene.move, scene.names
    if not move.towards_dr:
        return skipped(name, "objects replicate primary -> DR only")
    rpo = scene.config.monitoring.rpo_targets["s3"]
    metric = Metric(
        names.primary.region,
        "AWS/S3",
        "ReplicationLatency",
        (
            ("SourceBucket", names.primary.data_bucket),
            ("DestinationBucket", names.dr.data_bucket),
            ("RuleId", S3_REPLICATION_RULE_ID),
        ),
        "Maximum",
    )
    try:
        seconds = scene.cloudwatch.peak(metric, *window(scene.io.clock.now(), minutes=S3_LAG_MINUTES))
    except Unmeasured as reason:
        return unknown(name, str(reason))
    found = f"{names.primary.data_bucket} -> DR: max {seconds:g} s (last {S3_LAG_MINUTES} min), RPO {rpo:g} s"
    return _against_rpo(name, seconds, rpo, found)


def drill_lag(scene: Scene, store: str) -> Verdict:
    """SNS and SSM have no AWS lag metric: the drill's last measurement stands in, when recent."""
    name = f"lag {store}"
    if not scene.move.towards_dr:
        return skipped(name, f"{store} replicates primary -> DR only")
    rpo = scene.config.monitoring.rpo_targets[store]
    hours = 2 * scene.config.operations.drill_every_hours
    metric = Metric(
        scene.config.observer_region,
        METRICS_NAMESPACE,
        DRILL_LAG_METRIC,
        (("Store", store), ("service", DRILL_SERVICE)),
        "Maximum",
        DRILL_PERIOD_SECONDS,
    )
    try:
        point = scene.cloudwatch.latest(metric, *window(scene.io.clock.now(), minutes=hours * 60))
    except Unmeasured as reason:
        return unknown(name, f"{reason} (the drill runs every {scene.config.operations.drill_every_hours} h)")
    age = (scene.io.clock.now() - point.at) / timedelta(minutes=1)
    found = f"{point.value:g} s measured by the drill {age:.0f} min ago, RPO {rpo:g} s"
    return _against_rpo(name, point.value, rpo, found)


def postgres_lag(scene: Scene) -> Verdict:
    """The replica's ReplicaLag where RDS publishes it, its own region: towards DR the DR replica's;
    towards the primary the one ``failback --database`` made there, when there is one."""
    name, move, names = "lag postgres", scene.move, scene.names
    if move.towards_dr:
        replica, region = names.database_replica, names.dr.region
    else:
        replica, region = failback_replica(scene.config), names.primary.region
        instance = read_instance(scene.aws, region, replica)
        if instance is None:
            return skipped(
                name,
                f"PostgreSQL replicates primary -> DR only; no {replica} in {region} "
                "(./dev failback --database makes one)",
            )
        if instance.standalone:
            return skipped(name, f"{replica} in {region} is standalone (promoted): nothing replicates to it")
    rpo = scene.config.monitoring.rpo_targets["postgres"]
    metric = replica_lag(region, replica)
    try:
        seconds = scene.cloudwatch.peak(metric, *window(scene.io.clock.now(), minutes=REPLICA_LAG_MINUTES))
    except Unmeasured as reason:
        if move.towards_dr and _promoted(scene, region, replica):
            # A standalone instance has no ReplicaLag: a failover that promoted it, run again.
            return skipped(name, f"{replica} in {region} is standalone (promoted): nothing replicates to it")
        return unknown(name, str(reason))
    found = f"{replica} in {region}: max {seconds:g} s (last {REPLICA_LAG_MINUTES} min), RPO {rpo:g} s"
    if seconds < 0:
        return unknown(name, f"{found}: {NOT_REPLICATING}")
    return _against_rpo(name, seconds, rpo, found)


def _promoted(scene: Scene, region: str, identifier: str) -> bool:
    """True when the instance is there and standalone; False when not, or when RDS does not say."""
    try:
        instance = read_instance(scene.aws, region, identifier)
    except AwsError:
        return False
    return instance is not None and instance.standalone


def promotable(scene: Scene) -> Verdict:
    """With ``--promote-database``: the DR replica is there and available, read through DR's RDS."""
    name, replica, region = "db replica", scene.names.database_replica, scene.names.dr.region
    without = "or fail over without --promote-database"
    instance = read_instance(scene.aws, region, replica)
    if instance is None:
        return failed(
            name, f"no {replica} in {region}", f"deploy its stack first, {without}", forceable=False
        )
    found = f"{replica} in {region}: {instance.state()}"
    if instance.status != "available":
        return failed(name, found, f"wait until it is available, {without}", forceable=False)
    if instance.standalone:
        return passed(name, f"{found} (promoted before): the promotion leaves it as it is")
    return passed(name, found)


def _against_rpo(name: str, lag_seconds: float, rpo_seconds: float, found: str) -> Verdict:
    if lag_seconds <= rpo_seconds:
        return passed(name, found)
    return failed(
        name,
        found,
        "wait until replication catches up, or --force to switch and lose what has not replicated",
        forceable=True,
    )


def capacity(scene: Scene) -> Verdict:
    """The target's order function must run at least the source's peak executions of the last hour.

    A function with reserved concurrency runs at most that many (Lambda's reservation is a cap as
    well as a guarantee); one without shares the region's unreserved pool."""
    name, move = "capacity", scene.move
    source, target = move.source, move.target
    client = scene.aws.client("lambda", target.region)
    try:
        reservation = client.get_function_concurrency(FunctionName=target.order_function)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        return failed(
            name, f"no function {target.order_function} in {target.region}", "deploy it first", forceable=True
        )
    reserved = reservation.get("ReservedConcurrentExecutions")
    if reserved is None:
        unreserved = int(client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"])
        room, kind = unreserved, f"the unreserved pool of {target.region}"
    else:
        room, kind = int(reserved), "its reservation"
    metric = Metric(
        source.region,
        "AWS/Lambda",
        "ConcurrentExecutions",
        (("FunctionName", source.order_function),),
        "Maximum",
    )
    try:
        peak = scene.cloudwatch.peak(metric, *window(scene.io.clock.now(), minutes=CAPACITY_MINUTES))
    except Unmeasured as reason:
        return unknown(name, f"{target.order_function} can run {room} ({kind}); source peak: {reason}")
    found = (
        f"{target.order_function} can run {room} ({kind}); {source.order_function} peaked at {peak:g} "
        f"in the last {CAPACITY_MINUTES} min"
    )
    if room >= peak:
        return passed(name, found)
    return failed(
        name,
        found,
        "raise the target's reserved concurrency (orderFunctionConcurrency) or the account quota, or "
        "--force and expect throttles",
        forceable=True,
    )


def name_servers(scene: Scene) -> Verdict:
    """Finds the zone's authoritative servers now, so the watch after the write starts at once."""
    name, domain = "name servers", scene.config.domain
    api = scene.config.traffic.api_domain
    try:
        scene.name_servers = authoritative_servers(domain, scene.lookup)
    except LookupFailed as error:
        return unknown(name, f"{error}: the switch could not be verified")
    answers = ask_all(scene.name_servers, api, scene.io.authoritative, regional_names(scene.config))
    found = f"{len(answers)} of {domain}; {api} now: {tally(answers)}"
    failures = [answer.describe() for answer in answers if answer.error]
    if failures:
        return unknown(name, f"{found} ({'; '.join(failures)})")
    return passed(name, found)
