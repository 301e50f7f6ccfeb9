"""The drill's probes: write a canary in the primary region, time its arrival in the DR region.

Each probe returns a ProbeResult. A replica that does not arrive within the
poll budget is a FAILED result, not an error; any other AWS error is raised, so
Step Functions retries the step and then its Catch records the failure. What a
probe writes is removed afterwards, best effort, and a failed removal is named
in the detail. Details carry statuses, counts and error codes only: never a
parameter value, a message body or object content.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from settings import (
    DynamoDbProbeSettings,
    FailoverProbeSettings,
    Polling,
    S3ProbeSettings,
    SnsProbeSettings,
    SsmProbeSettings,
)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

CANARY_KIND = "dr-drill-canary"
CANARY_SUBJECT = "DR drill canary"
HEALTH_TIMEOUT_SECONDS = 5
# SQS long polls for at most this long, so the budget is checked at least this often.
INBOX_WAIT_SECONDS = 5
HEALTH_SEARCH_STRING = '"status":"ok"'
# What the order function answers for an order it looked up and did not find. A 404 with any
# other body comes from routing (wrong path or method), which proves nothing about the read path.
ORDER_NOT_FOUND_MESSAGE = "order not found"
# The order function's ORDER_ID_PATTERN: an id outside it is answered 404 without reading the table.
_ORDER_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_ORDER_ID_MAX = 64
_S3_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class Status(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    status: Status
    lag_seconds: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe,
            "status": str(self.status),
            "lag_seconds": self.lag_seconds,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: str


Fetch = Callable[[str], HttpAnswer]


def fetch_https(url: str) -> HttpAnswer:
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "dr-drill"})
    try:
        with urllib.request.urlopen(request, timeout=HEALTH_TIMEOUT_SECONDS) as response:
            return HttpAnswer(response.status, response.read(4096).decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        # urllib raises for an error status; a 503 is the endpoint's answer, not a failure to reach it.
        with error:
            return HttpAnswer(error.code, error.read(4096).decode("utf-8", "replace"))


def probe_dynamodb(
    primary: BaseClient,
    dr: BaseClient,
    settings: DynamoDbProbeSettings,
    drill_id: str,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> ProbeResult:
    key = {"order_id": {"S": f"drill#{drill_id}"}}
    item = {**key, "drill": {"BOOL": True}, "written_at": {"S": datetime.now(UTC).isoformat()}}
    started = clock()
    primary.put_item(TableName=settings.table_name, Item=item)
    try:
        # No ConsistentRead: DynamoDB refuses it on a replica of a global table in another region.
        lag = _wait_for(
            lambda: "Item" in dr.get_item(TableName=settings.table_name, Key=key),
            settings.polling,
            clock,
            sleep,
            started,
        )
    finally:
        # The delete replicates too, so the DR replica is cleaned through the same path.
        cleanup = _attempt(lambda: primary.delete_item(TableName=settings.table_name, Key=key))
    return _replication_result("dynamodb", "item", lag, settings.polling, cleanup)


def probe_s3(
    primary: BaseClient,
    dr: BaseClient,
    settings: S3ProbeSettings,
    drill_id: str,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> ProbeResult:
    key = f"drill/{drill_id}.txt"
    started = clock()
    # No ServerSideEncryption header: with "aws:kms" and no key id S3 would use the aws/s3 key, and
    # the drill must take the bucket's default key, the path real objects and their replication take.
    primary.put_object(Bucket=settings.source_bucket, Key=key, Body=f"DR drill {drill_id}\n".encode())
    try:
        lag = _wait_for(
            lambda: _object_exists(dr, settings.replica_bucket, key), settings.polling, clock, sleep, started
        )
    finally:
        # On a versioned bucket this adds a delete marker, which replication carries to the replica.
        cleanup = _attempt(lambda: primary.delete_object(Bucket=settings.source_bucket, Key=key))
    return _replication_result("s3", "object", lag, settings.polling, cleanup)


def probe_sns(
    primary: BaseClient,
    dr_sqs: BaseClient,
    settings: SnsProbeSettings,
    drill_id: str,
    *,
    clock: Clock = time.monotonic,
) -> ProbeResult:
    """Publish to the primary alert topic and wait for the DR forwarder's copy in the DR inbox.

    The inbox's long poll is the wait, so there is no sleep. Other messages (alerts, other
    drills' canaries) are left alone and come back when their visibility timeout ends. A
    canary that arrives after the budget stays in the inbox until the queue's retention drops it.
    """
    message = json.dumps({"drill_id": drill_id, "kind": CANARY_KIND})
    started = clock()
    primary.publish(TopicArn=settings.source_topic_arn, Subject=CANARY_SUBJECT, Message=message)
    while (remaining := settings.polling.timeout_seconds - (clock() - started)) > 0:
        received = dr_sqs.receive_message(
            QueueUrl=settings.inbox_queue_url,
            MaxNumberOfMessages=10,
            # Whole seconds only; rounding up keeps a last fraction of the budget from busy-polling.
            WaitTimeSeconds=min(INBOX_WAIT_SECONDS, math.ceil(remaining)),
        ).get("Messages", [])
        canaries = [m for m in received if _canary_drill_id(m.get("Body", "")) == drill_id]
        if canaries:
            lag = clock() - started
            cleanup = _delete_messages(dr_sqs, settings.inbox_queue_url, canaries)
            return _replication_result("sns", "canary", lag, settings.polling, cleanup)
    return _replication_result("sns", "canary", None, settings.polling, None)


def probe_ssm(
    primary: BaseClient,
    dr: BaseClient,
    settings: SsmProbeSettings,
    drill_id: str,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> ProbeResult:
    """Write a fresh secret value and wait for the replicator's DR copy to hold it.

    The value and its digest stay in this function's locals: only digests are compared, and
    neither goes into the result. The canary parameter stays: the replicator owns the DR copy
    and would only delete and recreate it. drill_id is not written; a fresh random value
    already tells this drill's copy from the last one.
    """
    value = secrets.token_hex(16)
    expected = hashlib.sha256(value.encode()).digest()
    started = clock()
    primary.put_parameter(
        Name=settings.source_parameter,
        Value=value,
        Type="SecureString",
        KeyId=settings.source_key_id,
        Overwrite=True,
    )

    def replicated() -> bool:
        try:
            copy = dr.get_parameter(Name=settings.target_parameter, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as error:
            if _error_code(error) != "ParameterNotFound":
                raise
            return False
        return hmac.compare_digest(hashlib.sha256(copy.encode()).digest(), expected)

    lag = _wait_for(replicated, settings.polling, clock, sleep, started)
    return _replication_result("ssm", "value", lag, settings.polling, None)


@dataclass(frozen=True)
class _Check:
    name: str
    ok: bool
    note: str


def probe_failover(
    dr_lambda: BaseClient,
    route53: BaseClient,
    settings: FailoverProbeSettings,
    drill_id: str,
    *,
    fetch: Fetch = fetch_https,
) -> ProbeResult:
    """Would the DR region take traffic now: its health endpoint, its order read path, Route 53's view."""
    checks = [
        _check_health(fetch, settings.health_url + "health"),
        _check_order_read(dr_lambda, settings.order_function_name, drill_id),
        *(_check_route53(route53, check.region, check.health_check_id) for check in settings.health_checks),
    ]
    passed = all(check.ok for check in checks)
    detail = "; ".join(f"{check.name}: {'ok' if check.ok else 'FAILED'} ({check.note})" for check in checks)
    return ProbeResult("failover", Status.PASSED if passed else Status.FAILED, None, detail)


def order_read_event(order_id: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) GET /orders/<order_id>, as the DR API would send it."""
    path = f"/orders/{order_id}"
    route = "GET /orders/{order_id}"
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"user-agent": "dr-drill"},
        "pathParameters": {"order_id": order_id},
        "requestContext": {
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "dr-drill",
            },
            "requestId": f"dr-drill-{order_id}",
            "routeKey": route,
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def drill_order_id(drill_id: str) -> str:
    # An execution name may hold characters or a length the order function never looks up;
    # mapped into its pattern, the probe reaches the table read rather than the early 404.
    return f"drill-probe-{_ORDER_ID_UNSAFE.sub('-', drill_id)}"[:_ORDER_ID_MAX]


def _check_health(fetch: Fetch, url: str) -> _Check:
    try:
        answer = fetch(url)
    except OSError as error:  # refused, reset, TLS or DNS failure, timeout: the region is not answering
        return _Check("health", False, type(error).__name__)
    if answer.status != 200:
        return _Check("health", False, f"HTTP {answer.status}")
    if HEALTH_SEARCH_STRING not in answer.body:
        return _Check("health", False, "HTTP 200 without status ok")
    return _Check("health", True, "HTTP 200")


def _check_order_read(dr_lambda: BaseClient, function_name: str, drill_id: str) -> _Check:
    response = dr_lambda.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(order_read_event(drill_order_id(drill_id))).encode(),
    )
    if "FunctionError" in response:
        return _Check("order read", False, f"function error {response['FunctionError']}")
    try:
        answer = json.loads(response["Payload"].read())
        status, body = answer["statusCode"], json.loads(answer.get("body") or "null")
    except (ValueError, TypeError, KeyError, AttributeError):  # anything not shaped like an HTTP API answer
        return _Check("order read", False, "not an HTTP API response")
    if status != 404:
        return _Check("order read", False, f"status {status}")
    if not isinstance(body, dict) or body.get("message") != ORDER_NOT_FOUND_MESSAGE:
        return _Check("order read", False, "404 not from the order route")
    return _Check("order read", True, "404 order not found")


def _check_route53(route53: BaseClient, region: str, health_check_id: str) -> _Check:
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
    succeeding = sum(
        1 for o in observations if o.get("StatusReport", {}).get("Status", "").startswith("Success")
    )
    return _Check(
        f"route53 {region}",
        succeeding * 2 > len(observations),
        f"{succeeding}/{len(observations)} checkers Success",
    )


def _wait_for(
    appeared: Callable[[], bool], polling: Polling, clock: Clock, sleep: Sleep, started: float
) -> float | None:
    """Seconds from `started` until `appeared()` first holds; None once the budget is spent."""
    while True:
        if appeared():
            return clock() - started
        elapsed = clock() - started
        if elapsed >= polling.timeout_seconds:
            return None
        sleep(min(polling.interval_seconds, polling.timeout_seconds - elapsed))


def _replication_result(
    probe: str, canary: str, lag: float | None, polling: Polling, cleanup_error: str | None
) -> ProbeResult:
    if lag is None:
        # The budget, not the time spent: the contract's "at least this long", the same on every run.
        result = ProbeResult(
            probe,
            Status.FAILED,
            polling.timeout_seconds,
            f"{canary} not replicated within {polling.timeout_seconds:g} s",
        )
    else:
        result = ProbeResult(probe, Status.PASSED, round(lag, 3), f"{canary} replicated in {lag:.3f} s")
    if cleanup_error:
        return ProbeResult(
            result.probe,
            result.status,
            result.lag_seconds,
            f"{result.detail}; cleanup failed ({cleanup_error})",
        )
    return result


def _object_exists(s3: BaseClient, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        # Without s3:ListBucket a missing key is a 403, which is raised: it would otherwise look
        # exactly like replication that never arrives.
        if _error_code(error) in _S3_MISSING:
            return False
        raise
    return True


def _canary_drill_id(body: str) -> str | None:
    """The drill id in an SNS envelope (raw delivery off) around a canary; None for anything else."""
    try:
        message = json.loads(json.loads(body)["Message"])
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(message, dict) or message.get("kind") != CANARY_KIND:
        return None
    return message.get("drill_id")


def _delete_messages(sqs: BaseClient, queue_url: str, messages: list[dict[str, Any]]) -> str | None:
    errors = [
        _attempt(lambda m=message: sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"]))
        for message in messages
    ]
    return next((error for error in errors if error), None)


def _attempt(call: Callable[[], object]) -> str | None:
    """Run a clean-up call; return the error code if it failed. Clean-up never fails a probe."""
    try:
        call()
    except ClientError as error:
        return _error_code(error) or type(error).__name__
    except Exception as error:  # best effort: a network error here must not hide the measured result
        return type(error).__name__
    return None


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
