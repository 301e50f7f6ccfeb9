"""PostgreSQL across the two regions: the DR read replica's promotion, and the replica of the way back.

Each call goes through one region's own endpoint. Promotion uses only the DR region's (RDS's
PromoteReadReplica, Secrets Manager's StopReplicationToReplica), so it needs nothing of the
primary region; the way back creates its replica through the primary's. What AWS does, and
these calls rely on:

- PromoteReadReplica makes a read replica a standalone instance, for good: it stops replicating and
  reboots (with backups on, it takes one too); DescribeDBInstances answers ``available`` without a
  ``ReadReplicaSourceDBInstanceIdentifier`` once it is done.
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html
- StopReplicationToReplica, called in the replica's region, makes a replica secret standalone
  there, so it can be changed and rotated. A replica's DescribeSecret names the region of its
  primary. https://docs.aws.amazon.com/secretsmanager/latest/userguide/standalone-secret.html
- A cross-region read replica is created through the endpoint of its own region, naming its
  source by ARN; boto3 signs the source region's part of the request from ``SourceRegion``.
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.XRgn.html
- RDS publishes a replica's ``ReplicaLag`` (seconds behind its source) in the replica's region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dr_core.config import AppConfig
from dr_core.naming import Kind
from dr_ops.aws import AwsClients, AwsError, describe, or_none
from dr_ops.switch.io import Clock
from dr_ops.switch.metrics import Metric

# How often DescribeDBInstances and ReplicaLag are read while waiting.
POLL_SECONDS = 15.0
# The window ReplicaLag is read over, with the Maximum statistic: as the replica's lag alarm reads it.
REPLICA_LAG_MINUTES = 5
_NOT_FOUND = ("DBInstanceNotFound", "DBInstanceNotFoundFault")
# What a negative ReplicaLag means: RDS documents -1 for "replication not active" (MySQL, MariaDB).
NOT_REPLICATING = "a negative lag is RDS's word for replication not running"


def failback_replica(config: AppConfig) -> str:
    """The primary region's replica of the promoted DR instance, made by ``failback --database``.

    Named by the app's one naming function (suffix last, checked against RDS's identifier rules)
    rather than ``<database_instance>-failback``, which could pass RDS's 63 characters unchecked."""
    return config.naming.name(Kind.RDS_INSTANCE, "orders-db-failback", region=config.primary.name)


@dataclass(frozen=True)
class Instance:
    """What the commands read of one RDS instance."""

    identifier: str
    arn: str
    status: str
    # Its source (an identifier, or an ARN across regions) while it is a read replica; empty after.
    source: str
    endpoint: str
    multi_az: bool
    subnet_group: str
    security_groups: tuple[str, ...]

    @property
    def standalone(self) -> bool:
        return not self.source

    def state(self) -> str:
        role = f"a read replica of {self.source}" if self.source else "standalone"
        return f"{self.status}, {role}"

    def brief(self) -> str:
        """The state without the source's name: what a wait reports, line after line."""
        return f"{self.status}, {'a read replica' if self.source else 'standalone'}"

    @classmethod
    def of(cls, answer: dict[str, Any]) -> Instance:
        return cls(
            identifier=str(answer["DBInstanceIdentifier"]),
            arn=str(answer.get("DBInstanceArn", "")),
            status=str(answer.get("DBInstanceStatus", "")),
            source=str(answer.get("ReadReplicaSourceDBInstanceIdentifier") or ""),
            endpoint=str(answer.get("Endpoint", {}).get("Address", "")),
            multi_az=bool(answer.get("MultiAZ", False)),
            subnet_group=str(answer.get("DBSubnetGroup", {}).get("DBSubnetGroupName", "")),
            security_groups=tuple(
                str(group["VpcSecurityGroupId"]) for group in answer.get("VpcSecurityGroups", [])
            ),
        )


def read_instance(aws: AwsClients, region: str, identifier: str) -> Instance | None:
    """The instance through ``region``'s RDS endpoint; None when there is none of that name."""
    answer = or_none(
        lambda: aws.client("rds", region).describe_db_instances(DBInstanceIdentifier=identifier), *_NOT_FOUND
    )
    return None if answer is None else Instance.of(answer["DBInstances"][0])


def replica_lag(region: str, identifier: str) -> Metric:
    return Metric(region, "AWS/RDS", "ReplicaLag", (("DBInstanceIdentifier", identifier),), "Maximum")


def secret_primary_region(aws: AwsClients, region: str, name: str) -> str:
    """The region of the secret's primary, as ``region``'s copy names it: ``region`` when standalone."""
    answer = aws.client("secretsmanager", region).describe_secret(SecretId=name)
    return str(answer.get("PrimaryRegion") or region)


@dataclass(frozen=True)
class Waited:
    """Seconds from ``since`` until the probe said done, or None when the timeout came first; and
    the last state it reported."""

    seconds: float | None
    last: str


# One reading: done or not, and the state in words.
Probe = Callable[[], tuple[bool, str]]


def wait_until(
    probe: Probe,
    *,
    clock: Clock,
    timeout: float,
    on_change: Callable[[str, float], None],
    since: float,
    poll_seconds: float = POLL_SECONDS,
) -> Waited:
    """Read ``probe`` every ``poll_seconds`` until it is done or ``timeout`` seconds passed since
    ``since`` (a monotonic time). A reading that fails is a state like any other: the wait goes on.
    ``on_change`` hears each new state, with the seconds since ``since``."""
    start = since
    said = None
    while True:
        try:
            done, state = probe()
        except AwsError as error:
            done, state = False, f"could not read: {describe(error)}"
        elapsed = clock.monotonic() - start
        if state != said:
            on_change(state, elapsed)
            said = state
        if done:
            return Waited(elapsed, state)
        if elapsed + poll_seconds > timeout:
            return Waited(None, state)
        clock.sleep(poll_seconds)
