"""The game day's Step Functions steps: four functions over this one asset, each with its own role.

  experiment  start_experiment, stop_experiment: the FIS experiment, in the primary region (FIS_REGION);
  watch       preflight, measure_failover, restore: the world as clients see it;
  pause       pause_tick: canaries and alarms while a replication pause runs, and after;
  report      report: the verdict, its metrics, kept under Object Lock and published.

Each function is deployed with the one entry point `step`, which the state machine calls with
{"step": <name>, "state": <the whole state>, ...}: every step gets the whole state and reads what it
needs, so no JSONPath ever points at a key a failed step never wrote.

Every step takes and returns plain JSON. A function reads only its own configuration. A bad event
or configuration raises GameDayInputError (the state machine does not retry it); AWS errors are
raised as they are, for Step Functions' retry and Catch. No step logs, traces or returns a health
URL (its path is the health route's token), the client secret or a token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
import dns_wire
import experiments
import failover_watch
import oauth
import pause_watch
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.config import Config
from report import Metric, build_report, evidence_key, metrics, subject
from route53_view import AuthoritativeDns, QueryCname, QueryNs
from settings import (
    ExperimentConfig,
    GameDayEvent,
    MeasureEvent,
    PauseConfig,
    PauseEvent,
    ReportConfig,
    ReportEvent,
    RestoreEvent,
    StepRequest,
    StopEvent,
    WatchConfig,
    configuration,
    parse_event,
)

# botocore logs request and response bodies at DEBUG, the client secret's among them. Pinning it
# keeps a function log level turned up for troubleshooting from ever printing one.
logging.getLogger("botocore").setLevel(logging.INFO)

logger = Logger()
# AWS SDK calls only: X-Ray's patch of http.client would record every URL fetched, and a health
# URL's path is the health route's token.
tracer = Tracer(patch_modules=("boto3", "botocore"))

_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}
)


@dataclass(frozen=True)
class Io:
    """What the steps reach the world and time through; the tests put fakes here."""

    fetch: oauth.Fetch
    query_ns: QueryNs
    query_cname: QueryCname
    clock: failover_watch.Clock
    sleep: failover_watch.Sleep
    resolve: Callable[[str], None]


def _resolve(name: str) -> None:
    # No answer is the order phase's to see, not this look's.
    with contextlib.suppress(OSError):
        socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)


IO = Io(
    fetch=oauth.fetch_https,
    query_ns=dns_wire.query_ns,
    query_cname=dns_wire.query_cname,
    clock=time.time,
    sleep=time.sleep,
    resolve=_resolve,
)


@cache
def client(service: str, region: str) -> BaseClient:
    """One client per service and region for the execution environment's life, made on first use."""
    return boto3.client(service, region_name=region, config=_CLIENT_CONFIG)


# The experiment function


def _start_experiment(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(ExperimentConfig)
    event = parse_event(data, GameDayEvent)
    fis = client("fis", config.fis_region)
    run = experiments.start(fis, config, event.experiment, event.game_day_id, clock=IO.clock, sleep=IO.sleep)
    logger.info("Experiment running", extra={"experiment": event.experiment, **run})
    return run


def _stop_experiment(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(ExperimentConfig)
    event = parse_event(data, StopEvent)
    if event.run is None:
        logger.info("Experiment not started: nothing to stop")
        return {"status": "not-started"}
    fis = client("fis", config.fis_region)
    stopped = experiments.stop(
        fis, config, event.run.id, attempt=event.attempt, clock=IO.clock, sleep=IO.sleep
    )
    logger.info("Experiment ended", extra=stopped)
    return stopped


# The watch function


def _preflight(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(WatchConfig)
    event = parse_event(data, GameDayEvent)
    result = failover_watch.preflight(
        _watch(config, context),
        client("cloudwatch", config.primary_region),
        client("secretsmanager", config.observer_region),
        client("stepfunctions", config.observer_region),
        event.experiment,
        event.game_day_id,
    )
    logger.info("Preflight", extra={"experiment": event.experiment, **result})
    return result


def _measure_failover(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(WatchConfig)
    event = parse_event(data, MeasureEvent)
    # Read before the outage is watched: a secret that cannot be used fails the step at once.
    credentials = oauth.load_credentials(
        client("secretsmanager", config.observer_region), config.client_secret_id
    )
    tokens = oauth.TokenSource(credentials, IO.fetch, IO.clock)
    started_at = event.run.started_at if event.run is not None else None
    result = failover_watch.measure_failover(_watch(config, context), tokens, event.game_day_id, started_at)
    logger.info("Failover measured", extra=result)
    return result


def _restore(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(WatchConfig)
    parse_event(data, RestoreEvent)
    result = failover_watch.restore(_watch(config, context))
    logger.info("Restore watched", extra=result)
    return result


def _watch(config: WatchConfig, context: LambdaContext) -> failover_watch.Watch:
    dns = AuthoritativeDns(
        config.zone_name,
        config.api_name,
        config.regional_names,
        config.resolvers,
        IO.query_ns,
        IO.query_cname,
    )
    return failover_watch.Watch(
        config=config,
        # Route 53's API is global: a client of any region reaches it.
        route53=client("route53", config.observer_region),
        dns=dns,
        fetch=IO.fetch,
        clock=IO.clock,
        sleep=IO.sleep,
        remaining=lambda: context.get_remaining_time_in_millis() / 1000,
        resolve=IO.resolve,
    )


# The pause function


def _pause_tick(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(PauseConfig)
    event = parse_event(data, PauseEvent)
    primary, dr = config.primary_region, config.dr_region
    canaries: pause_watch.Canaries
    if event.experiment == "dynamodb-pause":
        canaries = pause_watch.TableCanaries(
            client("dynamodb", primary), client("dynamodb", dr), config.table_name, event.game_day_id
        )
    else:
        canaries = pause_watch.BucketCanaries(
            client("s3", primary),
            client("s3", dr),
            config.source_bucket,
            config.replica_bucket,
            event.game_day_id,
        )
    status = None
    if event.run is not None:
        fis, experiment_id = client("fis", primary), event.run.id

        def status() -> tuple[str, str]:
            return experiments.current_state(fis, experiment_id)

    state = pause_watch.tick(canaries, client("cloudwatch", primary), config, event, IO.clock, status)
    output = state.model_dump(mode="json")
    logger.info(
        "Pause tick",
        extra={
            "experiment": event.experiment,
            "phase": state.phase,
            "canaries": len(state.canaries),
            "done": state.done,
            "outcome": state.outcome,
        },
    )
    return output


# The report function


def _report(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = configuration(ReportConfig)
    event = parse_event(data, ReportEvent)
    verdict = build_report(data)
    # Metrics first: should the archive or the publish fail, Step Functions' retry repeats them,
    # which the alarms' Minimum and Maximum statistics are indifferent to; a lost game day is not.
    for metric in metrics(verdict):
        _metric(metric)
    body = json.dumps(verdict, indent=2)
    # The bucket's default Object Lock retention locks the report as it lands; S3 takes a locked
    # upload only with a checksum, which ChecksumAlgorithm makes the SDK compute and send
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, Content-MD5).
    client("s3", config.observer_region).put_object(
        Bucket=config.evidence_bucket,
        Key=evidence_key(event.game_day_id, datetime.fromtimestamp(IO.clock(), UTC)),
        Body=body.encode(),
        ContentType="application/json",
        ChecksumAlgorithm="SHA256",
    )
    client("sns", config.topic_region).publish(
        TopicArn=config.report_topic_arn, Subject=subject(verdict), Message=body
    )
    logger.info(
        "Game day reported",
        extra={
            "game_day_id": event.game_day_id,
            "experiment": verdict["experiment"],
            "game_day_status": verdict["status"],
            "reasons": verdict["reasons"],
        },
    )
    return verdict


def _metric(metric: Metric) -> None:
    # One EMF document per metric: a shared Metrics object would give every metric of the flush the
    # same dimension set. Powertools adds "service" and takes the namespace from the environment.
    with single_metric(name=metric.name, unit=MetricUnit(metric.unit), value=metric.value) as emitted:
        emitted.add_dimension(name=metric.dimension, value=metric.dimension_value)


# Entry points

_STEPS: dict[str, Callable[[dict[str, Any], LambdaContext], dict[str, Any]]] = {
    "start_experiment": _start_experiment,
    "stop_experiment": _stop_experiment,
    "preflight": _preflight,
    "measure_failover": _measure_failover,
    "restore": _restore,
    "pause_tick": _pause_tick,
    "report": _report,
}


# log_event=False is explicit so POWERTOOLS_LOGGER_LOG_EVENT cannot switch event logging on.
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def step(data: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """What the state machine calls: the named step, on the whole state plus the task's other keys
    (a tick's "phase")."""
    request = parse_event(data, StepRequest)
    extra = {key: value for key, value in data.items() if key not in ("step", "state")}
    return _STEPS[request.step]({**request.state, **extra}, context)
