"""The app's configuration: read from CDK context once, in app.py, and validated here.

Everything below app.py receives the frozen ``AppConfig``; nothing else reads
context or the environment.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

from dr_core.errors import ConfigError
from dr_core.naming import Naming

# Commercial regions that offer every service this app uses (DynamoDB global
# tables, S3 Replication Time Control, Route 53 health checks).
KNOWN_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "ca-central-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
        "ap-southeast-1", "ap-southeast-2",
    }
)  # fmt: skip

# Route 53 publishes health-check metrics only here, so the global stack
# (dashboard and failover alarms) always lives in this region.
GLOBAL_REGION = "us-east-1"

CONTEXT_KEYS = (
    "environment",
    "suffix",
    "domain",
    "account",
    "primaryRegion",
    "drRegion",
    "availabilityZones",
    "vpcCidrs",
    "egress",
    "orderFunctionConcurrency",
    "lambdaConcurrencyQuota",
    "logRetentionDays",
    "powertoolsLayerVersion",
    "databaseInstanceType",
    "replicaInstanceType",
    "parameterReconcileMinutes",
    "deadLetterMaxAgeSeconds",
    "drillEveryHours",
    "evidenceRetentionDays",
    "evidenceLockMode",
    "hostedZoneId",
    "apiSubdomain",
    "healthPathToken",
    "jwtIssuer",
    "jwtAudience",
    "observerRegion",
    "primaryWeight",
    "drWeight",
    "healthCheckIntervalSeconds",
    "healthCheckFailureThreshold",
    "recordTtlSeconds",
    "rtoTargetSeconds",
    "alertEmail",
    "alertHttpsEndpoint",
    "alarmThresholds",
    "rpoTargetSeconds",
)

# Alarm thresholds and what each counts; cdk.json holds the defaults (README justifies them).
ALARM_THRESHOLD_KEYS = (
    "lambdaErrors",  # errors per function per 5 minutes
    "lambdaThrottles",  # throttled invocations per function per 5 minutes
    "api5xx",  # 5xx answers per region per 5 minutes
    "apiLatencyP90Ms",  # p90 latency of the regional API
    "rdsCpuPercent",
    "rdsFreeStorageGiB",
    "rdsConnections",
    "dynamodbReplicationLatencyMs",  # average per minute, per receiving region
    "s3ReplicationLatencySeconds",  # maximum per minute
    "s3PendingOperations",  # operations waiting to replicate
)
# Every store with a recovery-point target. The drill measures the first four by canary;
# PostgreSQL's lag is the DR replica's ReplicaLag metric.
RPO_STORES = ("dynamodb", "s3", "sns", "ssm", "postgres")
DRILL_STORES = ("dynamodb", "s3", "sns", "ssm")

# Lambda keeps this many executions of each account and region unreserved: a reservation that
# would leave fewer fails the deploy. https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
UNRESERVED_CONCURRENCY_MINIMUM = 10
# A new account may start with a concurrency quota this low, so the defaults reserve nothing.
NEW_ACCOUNT_CONCURRENCY_QUOTA = 10

# What CloudWatch Logs accepts as a retention period.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

_ENVIRONMENT = re.compile(r"[a-z][a-z0-9]{0,9}")
_SUFFIX = re.compile(r"(?:-?[a-z0-9]+)*")
_ACCOUNT = re.compile(r"\d{12}")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")


class EvidenceLockMode(Enum):
    # Governance: a principal granted s3:BypassGovernanceRetention can still delete a report
    # (a sandbox can be torn down). Compliance: no one can, not even the account's root user,
    # until the retention ends.
    GOVERNANCE = "governance"
    COMPLIANCE = "compliance"


class Egress(Enum):
    """How functions in private subnets reach AWS APIs."""

    ENDPOINTS = "endpoints"  # VPC endpoints only; subnets have no route to the internet
    NAT = "nat"  # a NAT gateway per AZ; gateway endpoints still carry DynamoDB and S3


@dataclass(frozen=True)
class RegionConfig:
    name: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str


@dataclass(frozen=True)
class ComputeConfig:
    # 0 leaves a function on the account's unreserved pool: the default, because
    # a new account's quota may leave nothing to reserve.
    order_concurrency: int
    log_retention_days: int
    powertools_layer_version: int


@dataclass(frozen=True)
class OperationsConfig:
    parameter_reconcile_minutes: int
    dead_letter_max_age_seconds: int
    drill_every_hours: int
    # How long S3 Object Lock keeps each drill and game-day report from being changed or deleted.
    evidence_retention_days: int
    evidence_lock_mode: EvidenceLockMode


@dataclass(frozen=True)
class TrafficConfig:
    # Empty: the app creates the hosted zone for `domain` in its DNS stack.
    hosted_zone_id: str
    api_subdomain: str
    domain: str
    # The health route's path, /health/<token>: Route 53 calls it anonymously, so only a path an
    # attacker cannot guess keeps a flood of requests off it (see docs/design.md, "Health").
    health_path: str
    primary_weight: int
    dr_weight: int
    health_check_interval_seconds: int
    health_check_failure_threshold: int
    record_ttl_seconds: int
    rto_target_seconds: int

    @property
    def api_domain(self) -> str:
        """The shared name users call; DNS points it at the healthy region."""
        return f"{self.api_subdomain}.{self.domain}"

    def regional_api_domain(self, region: str) -> str:
        """One region's own name, to check it or call it on purpose: <apiSubdomain>-<region>.<domain>."""
        return f"{self.api_subdomain}-{region}.{self.domain}"

    def health_url(self, region: str) -> str:
        """The region's deep health route on its own name: what Route 53, the drill and the game
        day call (its path holds the health route's token: never log it)."""
        return f"https://{self.regional_api_domain(region)}{self.health_path}"


@dataclass(frozen=True)
class AuthConfig:
    """The OIDC issuer whose JWTs both regions' APIs accept, and the audiences a token may name."""

    issuer: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class AlertingConfig:
    email: str
    https_endpoint: str


@dataclass(frozen=True)
class MonitoringConfig:
    thresholds: Mapping[str, float]
    # The recovery point each store must meet in a drill, in seconds.
    rpo_targets: Mapping[str, float]


@dataclass(frozen=True)
class AppConfig:
    environment: str
    suffix: str
    domain: str
    account: str
    primary: RegionConfig
    dr: RegionConfig
    egress: Egress
    compute: ComputeConfig
    database_instance_type: str
    # The DR region's read replica: it must keep up with the primary's write rate.
    replica_instance_type: str
    operations: OperationsConfig
    traffic: TrafficConfig
    auth: AuthConfig
    alerting: AlertingConfig
    monitoring: MonitoringConfig
    # Where the drill, the dashboard and their alarms live: never the primary, so the view of an
    # outage does not go down with it.
    observer_region: str

    @property
    def global_region(self) -> str:
        return GLOBAL_REGION

    @property
    def naming(self) -> Naming:
        return Naming(environment=self.environment, suffix=self.suffix, account=self.account)

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> AppConfig:
        primary_region = _region(context, "primaryRegion")
        dr_region = _region(context, "drRegion")
        if primary_region == dr_region:
            raise ConfigError(
                "drRegion", f"'{dr_region}' is also the primary region; pick a different region"
            )
        zones = _region_map(context, "availabilityZones", '{"us-east-1": ["us-east-1a", "us-east-1b"]}')
        cidrs = _region_map(context, "vpcCidrs", '{"us-east-1": "10.10.0.0/16"}')
        primary_cidr, dr_cidr = _cidr_of(cidrs, primary_region), _cidr_of(cidrs, dr_region)
        if ipaddress.ip_network(primary_cidr).overlaps(ipaddress.ip_network(dr_cidr)):
            raise ConfigError(
                "vpcCidrs", f"{primary_cidr} and {dr_cidr} overlap; the regions need distinct ranges"
            )
        domain = _domain(context)
        account, environment, suffix = _account(context), _environment(context), _suffix(context)
        return cls(
            environment=environment,
            suffix=suffix,
            domain=domain,
            account=account,
            primary=RegionConfig(primary_region, _zones_of(zones, primary_region), primary_cidr),
            dr=RegionConfig(dr_region, _zones_of(zones, dr_region), dr_cidr),
            egress=_egress(context),
            compute=_compute(context),
            database_instance_type=_instance_type(context, "databaseInstanceType"),
            replica_instance_type=_instance_type(context, "replicaInstanceType"),
            operations=OperationsConfig(
                parameter_reconcile_minutes=_integer(context, "parameterReconcileMinutes", 5, 1440),
                dead_letter_max_age_seconds=_integer(context, "deadLetterMaxAgeSeconds", 60, 1_209_600),
                # The "no drill passed" alarm looks back twice the interval in 1-hour periods, and
                # CloudWatch evaluates an alarm over at most 7 days (168 periods of 1 hour).
                drill_every_hours=_integer(context, "drillEveryHours", 1, 84),
                evidence_retention_days=_integer(context, "evidenceRetentionDays", 1, 36_500),
                evidence_lock_mode=_evidence_lock_mode(context),
            ),
            traffic=_traffic(context, domain, f"{account}/{environment}{suffix}"),
            auth=_auth(context),
            alerting=AlertingConfig(email=_email(context), https_endpoint=_https_endpoint(context)),
            monitoring=MonitoringConfig(
                thresholds=_positive_numbers(context, "alarmThresholds", ALARM_THRESHOLD_KEYS),
                rpo_targets=_positive_numbers(context, "rpoTargetSeconds", RPO_STORES),
            ),
            observer_region=_observer_region(context, primary_region, dr_region),
        )


def _text(context: Mapping[str, Any], key: str) -> str:
    value = context.get(key)
    if value is None:
        raise ConfigError(key, "is missing (cdk.json holds the defaults)")
    return str(value).strip()


def _environment(context: Mapping[str, Any]) -> str:
    value = _text(context, "environment")
    if not _ENVIRONMENT.fullmatch(value):
        raise ConfigError(
            "environment",
            f"'{value}' is not allowed; use 1-10 lower-case letters or digits, starting "
            "with a letter (e.g. dev, prod)",
        )
    return value


def _suffix(context: Mapping[str, Any]) -> str:
    value = _text(context, "suffix")
    if not _SUFFIX.fullmatch(value):
        raise ConfigError(
            "suffix",
            f"'{value}' has characters a resource name cannot hold; allowed: lower-case "
            "letters, digits and single '-' between them, not at the end (e.g. -blue)",
        )
    return value


def _account(context: Mapping[str, Any]) -> str:
    value = _text(context, "account")
    if not _ACCOUNT.fullmatch(value):
        raise ConfigError("account", f"'{value}' is not an AWS account ID (12 digits)")
    return value


def _domain(context: Mapping[str, Any]) -> str:
    value = _text(context, "domain").lower().rstrip(".")
    labels = value.split(".")
    valid = (
        len(value) <= 253
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        and labels[-1].isalpha()
    )
    if not valid:
        raise ConfigError(
            "domain",
            f"'{value}' is not a domain name; give one you control, like orders.mycompany.net",
        )
    if value.endswith(_PLACEHOLDER_DOMAINS):
        raise ConfigError("domain", f"'{value}' is a documentation placeholder; give your own")
    return value


def _region(context: Mapping[str, Any], key: str) -> str:
    value = _text(context, key)
    if value not in KNOWN_REGIONS:
        raise ConfigError(
            key, f"'{value}' is not a supported region; allowed: {', '.join(sorted(KNOWN_REGIONS))}"
        )
    return value


def _region_map(context: Mapping[str, Any], key: str, example: str) -> Mapping[str, Any]:
    value = context.get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"must map each region to its value, e.g. {example}")
    return value


def _cidr_of(cidrs: Mapping[str, Any], region: str) -> str:
    value = cidrs.get(region)
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        network = None
    if network is None or network.version != 4 or not 16 <= network.prefixlen <= 20 or not network.is_private:
        raise ConfigError("vpcCidrs", f"{region}: '{value}' must be a private IPv4 range from /16 to /20")
    return str(network)


def _integer(context: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = context.get(key)
    try:
        number = int(str(value))
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise ConfigError(key, f"'{value}' must be a whole number from {low} to {high}")
    return number


def _compute(context: Mapping[str, Any]) -> ComputeConfig:
    order = _integer(context, "orderFunctionConcurrency", 0, 1000)
    quota = _integer(context, "lambdaConcurrencyQuota", NEW_ACCOUNT_CONCURRENCY_QUOTA, 1_000_000)
    reservable = quota - UNRESERVED_CONCURRENCY_MINIMUM
    if order > reservable:
        raise ConfigError(
            "orderFunctionConcurrency",
            f"reserves {order} executions per region, but Lambda keeps "
            f"{UNRESERVED_CONCURRENCY_MINIMUM} unreserved, so lambdaConcurrencyQuota ({quota}) allows "
            f"{reservable}: reserve 0, or raise the account's quota and set lambdaConcurrencyQuota to it",
        )
    return ComputeConfig(
        order_concurrency=order,
        log_retention_days=_log_retention(context),
        powertools_layer_version=_integer(context, "powertoolsLayerVersion", 1, 10_000),
    )


def _log_retention(context: Mapping[str, Any]) -> int:
    value = context.get("logRetentionDays")
    if str(value) not in {str(days) for days in LOG_RETENTION_DAYS}:
        raise ConfigError(
            "logRetentionDays", f"'{value}' is not a CloudWatch Logs retention; allowed: {LOG_RETENTION_DAYS}"
        )
    return int(str(value))


def _egress(context: Mapping[str, Any]) -> Egress:
    value = _text(context, "egress")
    try:
        return Egress(value)
    except ValueError:
        raise ConfigError("egress", f"'{value}' is not allowed; use 'endpoints' or 'nat'") from None


def _evidence_lock_mode(context: Mapping[str, Any]) -> EvidenceLockMode:
    value = _text(context, "evidenceLockMode")
    try:
        return EvidenceLockMode(value)
    except ValueError:
        raise ConfigError(
            "evidenceLockMode", f"'{value}' is not allowed; use 'governance' or 'compliance'"
        ) from None


def _instance_type(context: Mapping[str, Any], key: str) -> str:
    value = _text(context, key)
    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", value):
        raise ConfigError(key, f"'{value}' is not an instance type like m7g.large (without 'db.')")
    return value


def _zones_of(zones: Mapping[str, Any], region: str) -> tuple[str, ...]:
    listed = zones.get(region)
    if not isinstance(listed, list | tuple) or len(listed) < 2 or len(set(listed)) != len(listed):
        raise ConfigError(
            "availabilityZones",
            f"needs two or more distinct zones for {region} (synth makes no AWS call to find them)",
        )
    pattern = re.compile(re.escape(region) + r"[a-z]")
    for zone in listed:
        if not isinstance(zone, str) or not pattern.fullmatch(zone):
            raise ConfigError("availabilityZones", f"'{zone}' is not a zone of {region} (like {region}a)")
    return tuple(listed)


def _traffic(context: Mapping[str, Any], domain: str, deployment: str) -> TrafficConfig:
    zone_id = str(context.get("hostedZoneId") or "").strip()
    if zone_id and not re.fullmatch(r"Z[A-Z0-9]{1,31}", zone_id):
        raise ConfigError(
            "hostedZoneId", f"'{zone_id}' is not a Route 53 hosted zone ID (like Z0123456789ABCDEFGHIJ)"
        )
    subdomain = _text(context, "apiSubdomain").lower()
    if not _DOMAIN_LABEL.fullmatch(subdomain):
        raise ConfigError("apiSubdomain", f"'{subdomain}' is not one DNS label (letters, digits, '-')")
    primary_weight = _integer(context, "primaryWeight", 0, 255)
    longest_region = max(KNOWN_REGIONS, key=len)
    if len(f"{subdomain}-{longest_region}") > 63:
        raise ConfigError(
            "apiSubdomain", f"'{subdomain}' is too long for <apiSubdomain>-<region> (63 per label)"
        )
    dr_weight = _integer(context, "drWeight", 0, 255)
    if primary_weight == dr_weight == 0:
        raise ConfigError("drWeight", "primaryWeight and drWeight are both 0; one region must take traffic")
    interval = _integer(context, "healthCheckIntervalSeconds", 10, 30)
    if interval not in (10, 30):
        raise ConfigError(
            "healthCheckIntervalSeconds", f"'{interval}' is not allowed; Route 53 checks every 10 or 30"
        )
    return TrafficConfig(
        hosted_zone_id=zone_id,
        api_subdomain=subdomain,
        domain=domain,
        health_path=f"/health/{_health_path_token(context, deployment, domain)}",
        primary_weight=primary_weight,
        dr_weight=dr_weight,
        health_check_interval_seconds=interval,
        health_check_failure_threshold=_integer(context, "healthCheckFailureThreshold", 1, 10),
        record_ttl_seconds=_integer(context, "recordTtlSeconds", 5, 300),
        rto_target_seconds=_integer(context, "rtoTargetSeconds", 10, 3600),
    )


def _health_path_token(context: Mapping[str, Any], deployment: str, domain: str) -> str:
    value = str(context.get("healthPathToken") or "").strip()
    if not value:
        # Stable for one deployment and not in DNS or TLS; set your own for a secret one.
        return hashlib.sha256(f"{deployment}/{domain}/health".encode()).hexdigest()[:24]
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", value):
        raise ConfigError(
            "healthPathToken",
            f"'{value}' must be 16-64 letters, digits, '-' or '_' (leave empty to derive one)",
        )
    return value


def _auth(context: Mapping[str, Any]) -> AuthConfig:
    issuer = _text(context, "jwtIssuer")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?(/[^\s?#]*)?", issuer):
        raise ConfigError(
            "jwtIssuer",
            f"'{issuer}' is not an OIDC issuer URL: https://, a host, an optional path, exactly as the "
            "tokens' iss claim says it",
        )
    raw = context.get("jwtAudience")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip().startswith("[") else raw.split(",")
        except json.JSONDecodeError:
            raw = None
    audiences = tuple(str(a).strip() for a in raw) if isinstance(raw, list | tuple) else ()
    if not audiences or not all(audiences):
        raise ConfigError(
            "jwtAudience",
            'must list one or more audiences (client IDs) tokens are issued for, e.g. ["orders-api"]',
        )
    return AuthConfig(issuer=issuer, audiences=audiences)


def _observer_region(context: Mapping[str, Any], primary: str, dr: str) -> str:
    value = str(context.get("observerRegion") or "").strip()
    if not value:
        return dr
    region = _region(context, "observerRegion")
    if region == primary:
        raise ConfigError(
            "observerRegion", f"'{region}' is the primary region; the observer must outlive the primary"
        )
    return region


def _email(context: Mapping[str, Any]) -> str:
    value = str(context.get("alertEmail") or "").strip()
    if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", value):
        raise ConfigError("alertEmail", f"'{value}' is not an e-mail address; leave it empty for none")
    return value


def _https_endpoint(context: Mapping[str, Any]) -> str:
    value = str(context.get("alertHttpsEndpoint") or "").strip()
    if value and not re.fullmatch(r"https://[^\s/]+(/\S*)?", value):
        raise ConfigError("alertHttpsEndpoint", f"'{value}' is not an https:// URL; leave it empty for none")
    return value


def _positive_numbers(context: Mapping[str, Any], key: str, names: tuple[str, ...]) -> Mapping[str, float]:
    values = _region_map(context, key, "{" + ", ".join(f'"{n}": 1' for n in names[:2]) + ", ...}")
    if set(values) != set(names):
        raise ConfigError(key, f"must give exactly these: {', '.join(names)}")
    numbers = {}
    for name in names:
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(key, f"{name} must be a positive number, not {value!r}")
        numbers[name] = float(value)
    return MappingProxyType(numbers)
