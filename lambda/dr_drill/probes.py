"""The drill's probes: write a canary in the primary region, time its arrival in the DR region.

A replica that does not arrive within the poll budget is a FAILED result, not an error; any other
error is raised, for Step Functions to retry the step and then record it through its Catch. What a
probe writes is removed afterwards, best effort, and a failed removal is named in the detail.
Details carry statuses, counts and error codes only: never a parameter value, a message body or
object content.

Every call is bounded (one attempt, short timeouts), and a probe starts no call that could end
after its budget: the poll budget, or less if the invocation would end first, once the clean-up's
worst case and a margin to answer are kept back. A stalled endpoint costs a FAILED result or an
error, never the function's timeout, and the clean-up always gets its turn.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError
from models import (
    FAILED,
    PASSED,
    DrillInputError,
    DynamoDbConfig,
    FailoverConfig,
    ProbeOutcome,
    S3Config,
    SnsConfig,
    SsmConfig,
)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

CANARY_KIND = "dr-drill-canary"
CANARY_SUBJECT = "DR drill canary"
# SQS long polls for at most this long.
INBOX_WAIT_SECONDS = 5
# Room for one lost SYN, which is sent again after 1 s.
CONNECT_TIMEOUT = 2
# Seconds an answer may take: small reads and writes; a long poll, answered when it ends; the DR
# order function, answered when it has run (10 s timeout, after an init of up to 10 s).
READ_TIMEOUT = 2
READ_TIMEOUTS = {"sqs": INBOX_WAIT_SECONDS + 2, "lambda": 25}
# botocore waits up to 1 s for S3's "100 Continue" before it sends a request body.
_EXPECT_CONTINUE_SECONDS = {"s3": 1}
# Kept back from the invocation's time for the step to log and answer.
ANSWER_MARGIN_SECONDS = 1
HEALTH_TIMEOUT_SECONDS = 5
HEALTH_SEARCH_STRING = '"status":"ok"'
# What the order function answers for an order it looked up and did not find. A 404 with any
# other body comes from routing (wrong path or method), which proves nothing about the read path.
ORDER_NOT_FOUND_MESSAGE = "order not found"
# The order function's ORDER_ID_PATTERN: an id outside it is answered 404 without reading the table.
_ORDER_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_ORDER_ID_MAX = 64
_S3_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def client_config(service: str) -> Config:
    # One attempt: Step Functions retries the step, so a call's worst case is just its timeouts.
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUTS.get(service, READ_TIMEOUT),
        retries={"mode": "standard", "total_max_attempts": 1},
    )


def call_cost(client: BaseClient) -> float:
    """The longest one call can take on a client made with client_config."""
    config, service = client.meta.config, client.meta.service_model.service_name
    return float(config.connect_timeout + config.read_timeout + _EXPECT_CONTINUE_SECONDS.get(service, 0))


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Budget:
    """A probe's time: its poll budget, cut short if the invocation would end first."""

    def __init__(
        self,
        poll_seconds: float,
        context: RemainingTime,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.poll_seconds, self._context, self.clock, self.sleep = poll_seconds, context, clock, sleep
        self._started = clock()

    def elapsed(self) -> float:
        return self.clock() - self._started

    def seconds(self, reserve: float) -> float:
        """The budget now: the invocation's time, less `reserve` for the clean-up and a margin to
        answer, if that ends before the poll budget."""
        left = self._context.get_remaining_time_in_millis() / 1000 - ANSWER_MARGIN_SECONDS - reserve
        return min(self.poll_seconds, self.elapsed() + left)

    def slack(self, cost: float, reserve: float) -> float:
        """How long a call that can take `cost` seconds may wait to start; negative: it must not."""
        return self.seconds(reserve) - self.elapsed() - cost


class Call(NamedTuple):
    client: BaseClient
    run: Callable[[], Any]


def probe_dynamodb(
    primary: BaseClient, dr: BaseClient, config: DynamoDbConfig, drill_id: str, budget: Budget
) -> ProbeOutcome:
    table, key = config.table_name, {"order_id": {"S": f"drill#{drill_id}"}}
    item = {**key, "drill": {"BOOL": True}, "written_at": {"S": datetime.now(UTC).isoformat()}}
    return _replicate(
        "dynamodb",
        "item",
        budget,
        config.poll_interval_seconds,
        write=Call(primary, lambda: primary.put_item(TableName=table, Item=item)),
        # No ConsistentRead: DynamoDB refuses it on a replica of a global table in another region.
        appeared=Call(dr, lambda: "Item" in dr.get_item(TableName=table, Key=key)),
        # The delete replicates too, so the DR replica is cleaned through the same path.
        clean_up=Call(primary, lambda: primary.delete_item(TableName=table, Key=key)),
    )


def probe_s3(
    primary: BaseClient, dr: BaseClient, config: S3Config, drill_id: str, budget: Budget
) -> ProbeOutcome:
    source, replica, key = config.source_bucket, config.replica_bucket, f"drill/{drill_id}.txt"
    body = f"DR drill {drill_id}\n".encode()
    return _replicate(
        "s3",
        "object",
        budget,
        config.poll_interval_seconds,
        # No ServerSideEncryption header: with "aws:kms" and no key id S3 would use the aws/s3 key, and
        # the drill must take the bucket's default key, the path real objects and their replication take.
        write=Call(primary, lambda: primary.put_object(Bucket=source, Key=key, Body=body)),
        appeared=Call(dr, lambda: _object_exists(dr, replica, key)),
        # On a versioned bucket this adds a delete marker, which replication carries to the replica.
        clean_up=Call(primary, lambda: primary.delete_object(Bucket=source, Key=key)),
    )


def probe_sns(
    primary: BaseClient, dr_sqs: BaseClient, config: SnsConfig, drill_id: str, budget: Budget
) -> ProbeOutcome:
    """Publish to the primary alert topic and wait for the DR forwarder's copy in the DR inbox.

    The inbox's long poll is the wait, so there is no sleep. Other messages (alerts, other
    drills' canaries) are left alone and come back when their visibility timeout ends. A
    canary that arrives after the budget stays in the inbox until the queue's retention drops it.
    """
    message = json.dumps({"drill_id": drill_id, "kind": CANARY_KIND})
    canaries: list[dict[str, Any]] = []

    def arrived() -> bool:
        received = dr_sqs.receive_message(
            QueueUrl=config.inbox_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=INBOX_WAIT_SECONDS
        ).get("Messages", [])
        canaries.extend(m for m in received if canary_drill_id(m.get("Body", "")) == drill_id)
        return bool(canaries)

    return _replicate(
        "sns",
        "canary",
        budget,
        0,
        write=Call(
            primary,
            lambda: primary.publish(
                TopicArn=config.source_topic_arn, Subject=CANARY_SUBJECT, Message=message
            ),
        ),
        appeared=Call(dr_sqs, arrived),
        clean_up=Call(dr_sqs, lambda: _delete(dr_sqs, config.inbox_queue_url, canaries)),
    )


def probe_ssm(
    primary: BaseClient, dr: BaseClient, config: SsmConfig, drill_id: str, budget: Budget
) -> ProbeOutcome:
    """Write a fresh secret value and wait for the replicator's DR copy to hold it.

    The value and its digest stay in this function's locals: only digests are compared, and
    neither goes into the result. The canary parameter stays: the replicator owns the DR copy
    and would only delete and recreate it. drill_id is not written; a fresh random value
    already tells this drill's copy from the last one.
    """
    value = secrets.token_hex(16)
    expected = hashlib.sha256(value.encode()).digest()

    def write() -> None:
        primary.put_parameter(
            Name=config.source_parameter,
            Value=value,
            Type="SecureString",
            KeyId=config.source_key_id,
            Overwrite=True,
        )

    def replicated() -> bool:
        try:
            copy = dr.get_parameter(Name=config.target_parameter, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as error:
            if _error_code(error) != "ParameterNotFound":
                raise
            return False
        return hmac.compare_digest(hashlib.sha256(copy.encode()).digest(), expected)

    return _replicate(
        "ssm", "value", budget, config.poll_interval_seconds, Call(primary, write), Call(dr, replicated)
    )


def _replicate(
    probe: str,
    canary: str,
    budget: Budget,
    interval: float,
    write: Call,
    appeared: Call,
    clean_up: Call | None = None,
) -> ProbeOutcome:
    """Write the canary, poll until it appears or no poll could end within the budget, clean up."""
    reserve = call_cost(clean_up.client) if clean_up else 0
    poll_cost = call_cost(appeared.client)
    needed = call_cost(write.client) + poll_cost
    # Write no canary that no poll could look for within the budget.
    if budget.slack(needed, reserve) < 0:
        raise DrillInputError(
            f"a canary write and one poll can take {needed:g} s, more than the probe's "
            f"{budget.seconds(reserve):.1f} s: raise POLL_TIMEOUT_SECONDS or the function timeout"
        )
    limit, lag, started = budget.seconds(reserve), None, budget.clock()
    try:
        write.run()  # inside the try: a write that timed out may still have landed
        while budget.slack(poll_cost, reserve) >= 0:
            if appeared.run():
                lag = budget.clock() - started
                break
            if (slack := budget.slack(poll_cost, reserve)) <= 0:
                break
            budget.sleep(min(interval, slack))
    finally:
        cleanup_error = _attempt(clean_up.run) if clean_up else None
    if lag is None:
        # The budget, not the time spent: the contract's "at least this long".
        status, lag, detail = FAILED, limit, f"{canary} not replicated within {limit:g} s"
    else:
        status, lag, detail = PASSED, round(lag, 3), f"{canary} replicated in {lag:.3f} s"
    if cleanup_error:
        detail += f"; cleanup failed ({cleanup_error})"
    return ProbeOutcome(probe=probe, status=status, lag_seconds=lag, detail=detail)


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


def probe_failover(
    dr_lambda: BaseClient,
    route53: BaseClient,
    config: FailoverConfig,
    drill_id: str,
    *,
    fetch: Fetch = fetch_https,
) -> ProbeOutcome:
    """Would the DR region take traffic now: its health route (the complete URL, called as is: the
    order function's GET <HEALTH_PATH> through the DR region's own API name), its order read path,
    Route 53's view."""
    checks = [
        _check_health(fetch, str(config.dr_health_url)),
        _check_order_read(dr_lambda, config.dr_order_function_name, drill_id),
        *(_check_route53(route53, region, check_id) for region, check_id in config.health_check_ids),
    ]
    passed = all(ok for _, ok, _ in checks)
    detail = "; ".join(f"{name}: {'ok' if ok else 'FAILED'} ({note})" for name, ok, note in checks)
    return ProbeOutcome(probe="failover", status=PASSED if passed else FAILED, detail=detail)


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


def canary_drill_id(body: str) -> str | None:
    """The drill id in an SNS envelope (raw delivery off) around a canary; None for anything else."""
    try:
        message = json.loads(json.loads(body)["Message"])
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(message, dict) or message.get("kind") != CANARY_KIND:
        return None
    return message.get("drill_id")


Check = tuple[str, bool, str]


def _check_health(fetch: Fetch, url: str) -> Check:
    try:
        answer = fetch(url)
    except OSError as error:  # refused, reset, TLS or DNS failure, timeout: the region is not answering
        return "health", False, type(error).__name__
    if answer.status != 200:
        return "health", False, f"HTTP {answer.status}"
    if HEALTH_SEARCH_STRING not in answer.body:
        return "health", False, "HTTP 200 without status ok"
    return "health", True, "HTTP 200"


def _check_order_read(dr_lambda: BaseClient, function_name: str, drill_id: str) -> Check:
    response = dr_lambda.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(order_read_event(drill_order_id(drill_id))).encode(),
    )
    if "FunctionError" in response:
        return "order read", False, f"function error {response['FunctionError']}"
    try:
        answer = json.loads(response["Payload"].read())
        status, body = answer["statusCode"], json.loads(answer.get("body") or "null")
    except (ValueError, TypeError, KeyError, AttributeError):  # anything not shaped like an HTTP API answer
        return "order read", False, "not an HTTP API response"
    if status != 404:
        return "order read", False, f"status {status}"
    if not isinstance(body, dict) or body.get("message") != ORDER_NOT_FOUND_MESSAGE:
        return "order read", False, "404 not from the order route"
    return "order read", True, "404 order not found"


def _check_route53(route53: BaseClient, region: str, health_check_id: str) -> Check:
    observations = route53.get_health_check_status(HealthCheckId=health_check_id)["HealthCheckObservations"]
    succeeding = sum(
        1 for o in observations if o.get("StatusReport", {}).get("Status", "").startswith("Success")
    )
    return (
        f"route53 {region}",
        succeeding * 2 > len(observations),
        f"{succeeding}/{len(observations)} checkers Success",
    )


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


def _delete(sqs: BaseClient, queue_url: str, messages: list[dict[str, Any]]) -> None:
    if not messages:
        return
    # One call, whatever the number of canaries: the clean-up's reserve is one call's worst case.
    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    failed = sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed")
    if failed:
        raise ClientError({"Error": failed[0]}, "DeleteMessageBatch")


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
    code: str = error.response.get("Error", {}).get("Code", "")
    return code
