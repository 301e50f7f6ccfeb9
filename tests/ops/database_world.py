"""PostgreSQL for the failover and failback tests: moto's RDS in both regions, and what moto does not
model of it laid over moto's answers.

moto 5.2.5 models the RDS calls the commands make: DescribeDBInstances, CreateDBInstanceReadReplica
across regions (the source by ARN, KmsKeyId, SourceRegion) and PromoteReadReplica. What it does not
model is laid over its answers with botocore's events on the command's own RDS clients:

- time: every moto instance is ``available`` at once. The world answers ``modifying`` for
  ``promotion_seconds`` of the fake clock after PromoteReadReplica, and ``creating`` for
  ``creation_seconds`` after CreateDBInstanceReadReplica (None: for ever);
- a promoted moto instance still names its source: once the promotion is done the world drops
  ``ReadReplicaSourceDBInstanceIdentifier``, as RDS does (promotion reboots the instance, then it is
  standalone: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html);
- moto looks a cross-region replica's DBSubnetGroupName up in the source's region (RDS: in the
  replica's own): the world makes a group of the same name in DR too;
- failures: ``refuse[operation]`` answers that call with that error code before moto sees it.

Secrets Manager: moto has no StopReplicationToReplica, so DR's client is stubbed whole (Stubber),
as the promotion of a replica secret is documented
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/standalone-secret.html):
DescribeSecret names the primary's region (the copy is a replica) unless ``secret_standalone``,
then StopReplicationToReplica answers, or fails with ``secret_refusal``. Every RDS and Secrets
Manager call the command makes (Secrets Manager: in DR) is recorded (region, operation,
parameters), so a test can say where each went.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from tests.ops.failover_world import DR, FAILBACK_REPLICA, NAMES, NOW, PRIMARY, World, put_datapoint

SECRET_ARN = f"arn:aws:secretsmanager:{DR}:123456789012:secret:{NAMES.database_secret}-AbCdEf"
# A name as CDK makes it for the primary stack's subnet group (not one of the app's fixed names).
SUBNET_GROUP = "dev-us-east-1-orders-primary-v1-databasesubnetgroup1a2b3c"
_CIDRS = {PRIMARY: "10.10", DR: "10.20"}
# RDS's answers while an instance is on its way, by what started it.
_BUSY = {"PromoteReadReplica": "modifying", "CreateDBInstanceReadReplica": "creating"}


@dataclass(frozen=True)
class Call:
    region: str
    operation: str
    params: dict[str, Any]


@dataclass
class DatabaseWorld(World):
    promotion_seconds: float | None = 120.0
    creation_seconds: float | None = 300.0
    # The primary region's replica's ReplicaLag once created: (seconds after NOW, value) datapoints.
    lag_back: list[tuple[float, float]] = field(default_factory=lambda: [(350.0, 3.0)])
    secret_standalone: bool = False
    secret_refusal: str = ""
    # Operation -> the error code it answers with.
    refuse: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    # The security group of the old primary, once ``failed_over`` made it.
    security_group: str = ""
    # (region, identifier) -> (the call that started a change, fake seconds when it did).
    _changes: dict[tuple[str, str], tuple[str, float]] = field(init=False, default_factory=dict)
    # DR's Secrets Manager, stubbed anew for each run.
    secrets: Stubber | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        for region in (PRIMARY, DR):
            events = self.aws.client("rds", region).meta.events
            events.register("provide-client-params.rds", self._recorder(region))
            events.register("before-call.rds", self._refuser())
            events.register("after-call.rds", self._timeline(region))
        # The commands call Secrets Manager in DR only; a call in the primary would meet moto, unrecorded.
        secrets = self.aws.client("secretsmanager", DR).meta.events
        secrets.register("provide-client-params.secrets-manager", self._recorder(DR))

    def run(self, *argv: str) -> int:
        if self.secrets is not None:
            self.stubs.remove(self.secrets)
        self.secrets = self._secret_answers()
        self.stubs.append(self.secrets)
        cloudwatch = self.own.client("cloudwatch", PRIMARY)
        dimensions = (("DBInstanceIdentifier", FAILBACK_REPLICA),)
        for seconds, value in self.lag_back:
            put_datapoint(
                cloudwatch, "AWS/RDS", "ReplicaLag", dimensions, value, NOW + timedelta(seconds=seconds)
            )
        return super().run(*argv)

    def replicating(self) -> None:
        """Before a failover: the primary's instance, and its cross-region replica in DR."""
        source = self._instance(PRIMARY, NAMES.database_instance)
        self.own.client("rds", DR).create_db_instance_read_replica(
            DBInstanceIdentifier=NAMES.database_replica,
            SourceDBInstanceIdentifier=source["DBInstanceArn"],
            SourceRegion=PRIMARY,
            KmsKeyId=NAMES.dr.key_alias,
        )

    def failed_over(self) -> None:
        """After failover --promote-database: DR's instance standalone; the old primary in the primary
        region, stale, in its subnet group and security group."""
        self.security_group = self._subnet_group(PRIMARY)
        self._subnet_group(DR)  # where moto looks the replica's group up
        self._instance(
            PRIMARY,
            NAMES.database_instance,
            DBSubnetGroupName=SUBNET_GROUP,
            VpcSecurityGroupIds=[self.security_group],
            MultiAZ=True,
        )
        self.promoted()

    def promoted(self) -> None:
        """DR's instance standalone, as a promotion leaves it (and nothing else)."""
        self._instance(DR, NAMES.database_replica)

    def copied_back(self) -> None:
        """After failback --database: DR's instance standalone, and its replica in the primary region."""
        source = self._instance(DR, NAMES.database_replica)
        self.own.client("rds", PRIMARY).create_db_instance_read_replica(
            DBInstanceIdentifier=FAILBACK_REPLICA,
            SourceDBInstanceIdentifier=source["DBInstanceArn"],
            SourceRegion=DR,
            KmsKeyId=NAMES.primary.key_alias,
        )

    def instance(self, region: str, identifier: str) -> dict[str, Any] | None:
        """What moto holds (no time laid over it), or None."""
        found = self.own.client("rds", region).describe_db_instances(
            Filters=[{"Name": "db-instance-id", "Values": [identifier]}]
        )["DBInstances"]
        return found[0] if found else None

    def called(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]

    def _instance(self, region: str, identifier: str, **extra: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.own.client("rds", region).create_db_instance(
            DBInstanceIdentifier=identifier,
            Engine="postgres",
            DBInstanceClass="db.t4g.medium",
            MasterUsername="orders_admin",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=20,
            StorageEncrypted=True,
            **extra,
        )
        return dict(answer["DBInstance"])

    def _subnet_group(self, region: str) -> str:
        """A VPC with two subnets and a database security group, and SUBNET_GROUP over the subnets."""
        ec2, cidr = self.own.client("ec2", region), _CIDRS[region]
        vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{i}.0/24", AvailabilityZone=f"{region}{zone}")[
                "Subnet"
            ]["SubnetId"]
            for i, zone in enumerate("ab")
        ]
        self.own.client("rds", region).create_db_subnet_group(
            DBSubnetGroupName=SUBNET_GROUP, DBSubnetGroupDescription="database subnets", SubnetIds=subnets
        )
        return str(ec2.create_security_group(GroupName="db", Description="database", VpcId=vpc)["GroupId"])

    def _secret_answers(self) -> Stubber:
        stubber = Stubber(self.aws.client("secretsmanager", DR))
        expected = {"SecretId": NAMES.database_secret}
        primary = DR if self.secret_standalone else PRIMARY
        described = {"ARN": SECRET_ARN, "Name": NAMES.database_secret, "PrimaryRegion": primary}
        stubber.add_response("describe_secret", described, expected)
        if self.secret_refusal:
            stubber.add_client_error("stop_replication_to_replica", self.secret_refusal, "refused")
        else:
            stubber.add_response("stop_replication_to_replica", {"ARN": SECRET_ARN}, expected)
        return stubber

    def _recorder(self, region: str) -> Any:
        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.calls.append(Call(region, model.name, dict(params)))

        return record

    def _refuser(self) -> Any:
        def refuse(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
            code = self.refuse.get(model.name)
            if code is None:
                return None
            return AWSResponse("", 400, {}, None), {"Error": {"Code": code, "Message": "refused by the test"}}

        return refuse

    def _timeline(self, region: str) -> Any:
        def answer(http_response: AWSResponse, parsed: dict[str, Any], model: Any, **_: Any) -> None:
            if http_response.status_code >= 300:
                return
            if model.name in _BUSY:
                identifier = parsed["DBInstance"]["DBInstanceIdentifier"]
                self._changes[(region, identifier)] = (model.name, self.clock.seconds)
            elif model.name == "DescribeDBInstances":
                for instance in parsed.get("DBInstances", []):
                    self._as_rds_would(region, instance)

        return answer

    def _as_rds_would(self, region: str, instance: dict[str, Any]) -> None:
        change = self._changes.get((region, instance["DBInstanceIdentifier"]))
        if change is None:
            return
        operation, since = change
        takes = self.promotion_seconds if operation == "PromoteReadReplica" else self.creation_seconds
        # Within a microsecond: the fake clock adds up floats (0.2 s of a health GET, then 15 s steps).
        if takes is None or self.clock.seconds - since < takes - 1e-6:
            instance["DBInstanceStatus"] = _BUSY[operation]
        elif operation == "PromoteReadReplica":
            instance.pop("ReadReplicaSourceDBInstanceIdentifier", None)
