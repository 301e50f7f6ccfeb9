"""The drill's configuration, read from the environment once, at import.

One code asset serves six functions, one per Step Functions step, each with its
own role and only its own step's variables. Lambda puts the configured handler
("handler.<step>") in _HANDLER, so only that step's variables are parsed and
required; anywhere else (a test, a local run) every step's are. A bad
deployment fails on cold start, naming the variable, instead of in the middle
of a drill.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")

# Entry points of handler.py and the probe each one runs ("report" runs none).
STEPS = {
    "dynamodb_probe": "dynamodb",
    "s3_probe": "s3",
    "sns_probe": "sns",
    "failover_probe": "failover",
    "ssm_probe": "ssm",
    "report": "report",
}
# The stores whose replication lag the drill measures; failover has no lag to judge.
STORES = ("dynamodb", "s3", "sns", "ssm")

DEFAULT_POLL_TIMEOUT_SECONDS = 120.0
DEFAULT_POLL_INTERVAL_SECONDS = 2.0


@dataclass(frozen=True)
class Regions:
    primary: str
    dr: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Regions:
        primary, dr = _region(env, "PRIMARY_REGION"), _region(env, "DR_REGION")
        # A drill from a region to itself would pass without proving any replication.
        if primary == dr:
            raise ValueError(f"environment variables PRIMARY_REGION and DR_REGION are both {primary!r}")
        return cls(primary=primary, dr=dr)


@dataclass(frozen=True)
class Polling:
    timeout_seconds: float
    interval_seconds: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Polling:
        timeout = _seconds(env, "POLL_TIMEOUT_SECONDS", DEFAULT_POLL_TIMEOUT_SECONDS)
        interval = _seconds(env, "POLL_INTERVAL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS)
        if interval > timeout:
            raise ValueError(
                f"environment variable POLL_INTERVAL_SECONDS ({interval:g}) exceeds "
                f"POLL_TIMEOUT_SECONDS ({timeout:g})"
            )
        return cls(timeout_seconds=timeout, interval_seconds=interval)


@dataclass(frozen=True)
class DynamoDbProbeSettings:
    table_name: str
    regions: Regions
    polling: Polling

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DynamoDbProbeSettings:
        return cls(
            table_name=_required(env, "TABLE_NAME"),
            regions=Regions.from_env(env),
            polling=Polling.from_env(env),
        )


@dataclass(frozen=True)
class S3ProbeSettings:
    source_bucket: str
    replica_bucket: str
    regions: Regions
    polling: Polling

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3ProbeSettings:
        return cls(
            source_bucket=_required(env, "SOURCE_BUCKET"),
            replica_bucket=_required(env, "REPLICA_BUCKET"),
            regions=Regions.from_env(env),
            polling=Polling.from_env(env),
        )


@dataclass(frozen=True)
class SnsProbeSettings:
    source_topic_arn: str
    inbox_queue_url: str
    regions: Regions
    polling: Polling

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SnsProbeSettings:
        regions = Regions.from_env(env)
        topic_arn = _required(env, "SOURCE_TOPIC_ARN")
        # The canary is published with a client of the primary region, which can only reach its topics.
        if _topic_region(topic_arn, "SOURCE_TOPIC_ARN") != regions.primary:
            raise ValueError(
                f"environment variable SOURCE_TOPIC_ARN is not a topic of PRIMARY_REGION {regions.primary!r}"
            )
        return cls(
            source_topic_arn=topic_arn,
            inbox_queue_url=_required(env, "INBOX_QUEUE_URL"),
            regions=regions,
            polling=Polling.from_env(env),
        )


@dataclass(frozen=True)
class HealthCheck:
    region: str
    health_check_id: str


@dataclass(frozen=True)
class FailoverProbeSettings:
    health_url: str
    order_function_name: str
    health_checks: tuple[HealthCheck, ...]
    regions: Regions

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FailoverProbeSettings:
        health_url = _required(env, "DR_HEALTH_URL")
        # urllib would also open file:// and plain-HTTP URLs; the probe appends "health" to the URL.
        if not (health_url.startswith("https://") and health_url.endswith("/")):
            raise ValueError(
                f"environment variable DR_HEALTH_URL must be an https URL ending in '/', got {health_url!r}"
            )
        return cls(
            health_url=health_url,
            order_function_name=_required(env, "DR_ORDER_FUNCTION_NAME"),
            health_checks=_health_checks(_required(env, "HEALTH_CHECK_IDS")),
            regions=Regions.from_env(env),
        )


@dataclass(frozen=True)
class SsmProbeSettings:
    source_parameter: str
    target_parameter: str
    # The primary's key, as real parameters there use it: the canary takes the same path.
    source_key_id: str
    regions: Regions
    polling: Polling

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SsmProbeSettings:
        return cls(
            source_parameter=_parameter(env, "SOURCE_PARAMETER"),
            target_parameter=_parameter(env, "TARGET_PARAMETER"),
            source_key_id=_required(env, "SOURCE_KEY_ID"),
            regions=Regions.from_env(env),
            polling=Polling.from_env(env),
        )


@dataclass(frozen=True)
class ReportSettings:
    topic_arn: str
    topic_region: str
    rpo_targets: Mapping[str, float]
    metrics_namespace: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReportSettings:
        topic_arn = _required(env, "REPORT_TOPIC_ARN")
        return cls(
            topic_arn=topic_arn,
            topic_region=_topic_region(topic_arn, "REPORT_TOPIC_ARN"),
            rpo_targets=_rpo_targets(_required(env, "RPO_TARGETS")),
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or "OrdersDr",
        )


@dataclass(frozen=True)
class Settings:
    """Each step's settings, or None for a step this function was not deployed to run."""

    service_name: str
    dynamodb: DynamoDbProbeSettings | None
    s3: S3ProbeSettings | None
    sns: SnsProbeSettings | None
    failover: FailoverProbeSettings | None
    ssm: SsmProbeSettings | None
    report: ReportSettings | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        step = STEPS.get(env.get("_HANDLER", "").rpartition(".")[2])
        wanted = {step} if step else set(STEPS.values())
        return cls(
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or "dr-drill",
            dynamodb=DynamoDbProbeSettings.from_env(env) if "dynamodb" in wanted else None,
            s3=S3ProbeSettings.from_env(env) if "s3" in wanted else None,
            sns=SnsProbeSettings.from_env(env) if "sns" in wanted else None,
            failover=FailoverProbeSettings.from_env(env) if "failover" in wanted else None,
            ssm=SsmProbeSettings.from_env(env) if "ssm" in wanted else None,
            report=ReportSettings.from_env(env) if "report" in wanted else None,
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ValueError(f"environment variable {name} is missing or empty")
    return value


def _region(env: Mapping[str, str], name: str) -> str:
    region = _required(env, name)
    if not _REGION.fullmatch(region):
        raise ValueError(f"environment variable {name} is not an AWS region, got {region!r}")
    return region


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} is not a number of seconds, got {raw!r}") from None
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"environment variable {name} must be a positive number of seconds, got {raw!r}")
    return seconds


def _parameter(env: Mapping[str, str], name: str) -> str:
    parameter = _required(env, name)
    if not parameter.startswith("/"):
        raise ValueError(f"environment variable {name} must be a parameter name starting with '/'")
    return parameter


def _topic_region(arn: str, name: str) -> str:
    parts = arn.split(":")
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != "sns"
        or not parts[5]
        or not _REGION.fullmatch(parts[3])
    ):
        raise ValueError(f"environment variable {name} is not an SNS topic ARN, got {arn!r}")
    return parts[3]


def _health_checks(raw: str) -> tuple[HealthCheck, ...]:
    checks = []
    for pair in raw.split(","):
        region, _, health_check_id = (part.strip() for part in pair.partition("="))
        if not (_REGION.fullmatch(region) and health_check_id):
            raise ValueError(
                f"environment variable HEALTH_CHECK_IDS must be comma-separated region=id pairs, got {raw!r}"
            )
        checks.append(HealthCheck(region=region, health_check_id=health_check_id))
    return tuple(checks)


def _rpo_targets(raw: str) -> Mapping[str, float]:
    try:
        targets = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("environment variable RPO_TARGETS is not JSON") from None
    # Every store needs a target: a missing or misspelt one would leave that store's lag unjudged,
    # and the drill would pass without checking it.
    if not isinstance(targets, dict) or set(targets) != set(STORES):
        raise ValueError(
            f"environment variable RPO_TARGETS must be a JSON object with exactly the keys {STORES}"
        )
    for store, seconds in targets.items():
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds < math.inf:
            raise ValueError(
                f"environment variable RPO_TARGETS: {store} must be a positive number of seconds"
            )
    return MappingProxyType({store: float(seconds) for store, seconds in targets.items()})


SETTINGS = Settings.from_env(os.environ)
