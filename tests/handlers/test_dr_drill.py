"""The DR drill's steps against moto in both regions: primary us-east-1, DR us-west-2.

Each probe runs on a fake clock (drill_fakes), with the clients the handler makes; the steps run
as Step Functions calls them. What bounds a probe's time is in test_dr_drill_budget.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.handlers.conftest import DR, PRIMARY, sample_event
from tests.handlers.drill_fakes import (
    DR_ALERTS_ARN,
    DRILL_ID,
    ENV,
    HEALTH_PATH,
    HEALTHY_BODY,
    ITEM_KEY,
    POLL_TIMEOUT,
    RPO_TARGETS,
    SERVICE,
    Aws,
    CannedFunction,
    Drill,
    FakeClock,
    FakeHealthEndpoint,
    LongPollingQueue,
    OrderFunctionInProcess,
    build_aws,
    run_probe,
    set_env,
)
from tests.handlers.loader import load_handler

UNAVAILABLE_BODY = (
    '{"status":"unavailable","region":"us-west-2",'
    '"checks":{"table":"failed","decrypt":"ok","parameters":"ok"},"fences":[]}'
)

# The in-process order function's GET emits no metric by design; Powertools warns on every flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)


@pytest.fixture
def aws(env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        yield build_aws(monkeypatch)


@pytest.fixture
def drill(aws: Aws) -> Drill:
    return Drill()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def run(drill: Drill, probe: str, clock: FakeClock, dr: Any = None) -> Any:
    """A replication probe on the fake clock; the SNS probe's inbox long-polls on it too."""
    if dr is None and probe == "sns":
        dr = LongPollingQueue(drill.client("sqs", DR), clock)
    return run_probe(drill, probe, clock.budget(drill), dr=dr)


# Replication probes: DynamoDB, S3, SNS, SSM


@pytest.mark.parametrize(("probe", "canary"), [("dynamodb", "item"), ("s3", "object"), ("ssm", "value")])
def test_replicated_canary_passes_with_the_lag_of_the_first_poll_that_saw_it(
    drill, aws, clock, probe, canary
):
    # Given the canary reaches the DR region 5 s after the write
    clock.after(5, aws.replication(probe))

    # When the probe runs, polling every 2 s
    result = run(drill, probe, clock)

    # Then it passed, timed by the poll at 6 s
    assert result.model_dump(exclude={"error"}) == {
        "probe": probe,
        "status": "PASSED",
        "lag_seconds": 6.0,
        "detail": f"{canary} replicated in 6.000 s",
    }


@pytest.mark.parametrize(
    ("probe", "canary"), [("dynamodb", "item"), ("s3", "object"), ("sns", "canary"), ("ssm", "value")]
)
def test_canary_that_never_arrives_fails_without_raising_with_the_budget_as_lag(
    drill, aws, clock, probe, canary
):
    # Given replication (for SNS, the DR forwarder) that never delivers
    # When the probe runs
    result = run(drill, probe, clock)

    # Then it failed, with the 30 s budget as its lag
    assert result.model_dump(exclude={"error"}) == {
        "probe": probe,
        "status": "FAILED",
        "lag_seconds": POLL_TIMEOUT,
        "detail": f"{canary} not replicated within 30 s",
    }


@pytest.mark.parametrize("replicates", [True, False], ids=["replicated", "never-replicated"])
@pytest.mark.parametrize("probe", ["dynamodb", "s3"])
def test_canary_is_removed_from_the_primary_whatever_the_outcome(drill, aws, clock, probe, replicates):
    # Given a canary that replicates, or never does
    if replicates:
        clock.after(5, aws.replication(probe))

    # When the probe runs
    run(drill, probe, clock)

    # Then the canary is gone from the primary region (its delete replicates as well)
    assert aws.canaries_left(probe) == []


@pytest.mark.parametrize("probe", ["dynamodb", "s3", "sns"])
def test_probe_result_never_carries_what_its_canary_carries(drill, aws, clock, probe):
    # Given a canary, which holds the drill id, that replicates
    clock.after(1, aws.replication(probe))

    # When the probe runs
    result = run(drill, probe, clock)

    # Then its result holds no part of the item, object body or message
    assert result.status == "PASSED"
    assert DRILL_ID not in result.model_dump_json()
    assert "dr-drill-canary" not in result.model_dump_json()


def test_dynamodb_canary_is_a_marked_drill_item(drill, aws, clock):
    # Given the item reaches the DR replica 5 s after the write
    clock.after(5, aws.replicate_item)

    # When the probe runs
    run(drill, "dynamodb", clock)

    # Then what replicated is keyed by the drill and marked as a drill item
    replica = aws.dynamodb[DR].get_item(TableName=ENV["TABLE_NAME"], Key=ITEM_KEY)["Item"]
    assert replica["drill"] == {"BOOL": True}
    assert replica["written_at"]["S"].endswith("+00:00")


def test_dynamodb_failed_clean_up_is_named_not_raised(drill, aws, clock, monkeypatch):
    # Given a primary replica that refuses the clean-up delete
    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteItem")

    monkeypatch.setattr(drill.client("dynamodb", PRIMARY), "delete_item", denied)
    clock.after(1, aws.replicate_item)

    # When the probe runs
    result = run(drill, "dynamodb", clock)

    # Then the measured result stands and the detail says the clean-up failed, by its code alone
    assert result.status == "PASSED"
    assert result.detail == "item replicated in 2.000 s; cleanup failed (AccessDeniedException)"


def test_s3_canary_is_encrypted_with_the_bucket_default_key(drill, aws, clock, monkeypatch):
    # Given a replicated object, and the probe's write request recorded
    clock.after(1, aws.replicate_object)
    primary = drill.client("s3", PRIMARY)
    write, requests = primary.put_object, []
    monkeypatch.setattr(primary, "put_object", lambda **kwargs: requests.append(kwargs) or write(**kwargs))

    # When the probe runs
    run(drill, "s3", clock)

    # Then the request left encryption to the bucket: S3 answers a bare "aws:kms" with the aws/s3
    # key (moto does not model that), and replication is set up for the bucket's own key
    (request,) = requests
    assert "ServerSideEncryption" not in request
    assert "SSEKMSKeyId" not in request
    versions = aws.s3[PRIMARY].list_object_versions(Bucket=ENV["SOURCE_BUCKET"])["Versions"]
    head = aws.s3[PRIMARY].head_object(
        Bucket=ENV["SOURCE_BUCKET"], Key=f"drill/{DRILL_ID}.txt", VersionId=versions[0]["VersionId"]
    )
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", aws.kms_key_arn)


def test_s3_forbidden_replica_is_raised_not_mistaken_for_lag(drill, aws, clock, monkeypatch):
    # Given a replica bucket that answers 403 (as S3 does for a missing key without s3:ListBucket)
    def forbidden(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    monkeypatch.setattr(drill.client("s3", DR), "head_object", forbidden)

    # When the probe runs
    # Then the error is raised for Step Functions to retry and catch, and the canary is still deleted
    with pytest.raises(ClientError):
        run(drill, "s3", clock)
    assert aws.canaries_left("s3") == []


# SNS


def test_sns_forwarded_canary_passes_with_its_arrival_time_and_only_it_is_deleted(drill, aws, clock):
    # Given an inbox already holding an alarm and another drill's canary, and a forwarder taking 3 s
    dr_topic = DR_ALERTS_ARN
    alarm = json.dumps(sample_event("alert_forwarder/cloudwatch_alarm_message"))
    aws.sns[DR].publish(TopicArn=dr_topic, Subject="ALARM: latency", Message=alarm)
    other = json.dumps({"drill_id": "another-drill", "kind": "dr-drill-canary"})
    aws.sns[DR].publish(TopicArn=dr_topic, Subject="DR drill canary", Message=other)
    clock.after(3, aws.forward_alerts)

    # When the probe runs
    result = run(drill, "sns", clock)

    # Then it passed when the canary landed, deleted it and left the others
    assert (result.status, result.lag_seconds) == ("PASSED", 3.0)
    assert result.detail == "canary replicated in 3.000 s"
    assert aws.inbox_count() == 2


def test_sns_probe_long_polls_the_inbox_5_s_at_a_time(drill, aws, clock):
    # Given a DR forwarder that never republishes
    inbox = LongPollingQueue(drill.client("sqs", DR), clock)

    # When the probe runs
    run(drill, "sns", clock, inbox)

    # Then every receive long-polled for 5 s, the budget being checked between them
    assert set(inbox.waits) == {5}


def test_sns_canary_is_published_to_the_primary_topic_with_its_subject(drill, aws, clock):
    # Given nothing forwards it, so it stays where the primary topic delivered it
    # When the probe runs
    run(drill, "sns", clock)

    # Then the primary topic got the canary message under the drill's subject
    (message,) = aws.sqs[PRIMARY].receive_message(QueueUrl=aws.tap_url)["Messages"]
    envelope = json.loads(message["Body"])
    assert envelope["Subject"] == "DR drill canary"
    assert json.loads(envelope["Message"]) == {"drill_id": DRILL_ID, "kind": "dr-drill-canary"}


@pytest.mark.parametrize(
    ("message", "drill_id"),
    [
        ("Hello world!", None),
        (json.dumps(sample_event("alert_forwarder/cloudwatch_alarm_message")), None),
        (json.dumps({"drill_id": DRILL_ID, "kind": "dr-drill-canary"}), DRILL_ID),
    ],
    ids=["documented-sample", "alarm", "canary"],
)
def test_sns_inbox_message_is_a_canary_only_when_its_envelope_holds_one(env, message, drill_id):
    # Given the SQS body AWS documents for an SNS subscription without raw delivery, around a message
    body = json.dumps({**sample_event("dr_drill/sns_sqs_envelope"), "Message": message})

    # When the probe reads it
    found = load_handler("dr_drill", "probes").canary_drill_id(body)

    # Then only a canary yields its drill id
    assert found == drill_id


# SSM


def test_ssm_canary_parameter_stays_a_secure_string_under_the_primary_key(drill, aws, clock):
    # Given the replicator copies the value 5 s after the write
    clock.after(5, aws.replicate_parameter)

    # When the probe runs
    run(drill, "ssm", clock)

    # Then the source canary is left as a SecureString under the primary's own key, as real
    # parameters there are
    (described,) = aws.ssm[PRIMARY].describe_parameters(
        ParameterFilters=[{"Key": "Name", "Values": [ENV["SOURCE_PARAMETER"]]}]
    )["Parameters"]
    assert (described["Type"], described["KeyId"]) == ("SecureString", ENV["SOURCE_KEY_ID"])


def test_ssm_stale_dr_copy_that_is_never_updated_fails_with_the_budget_as_lag(drill, aws, clock):
    # Given a DR copy left by an earlier drill, and a replicator that never runs
    aws.ssm[DR].put_parameter(Name=ENV["TARGET_PARAMETER"], Value="0" * 32, Type="SecureString")

    # When the probe runs
    result = run(drill, "ssm", clock)

    # Then the old copy does not count: it fails with the budget as its lag
    assert (result.status, result.lag_seconds) == ("FAILED", POLL_TIMEOUT)
    assert result.detail == "value not replicated within 30 s"


def test_ssm_probe_writes_a_fresh_value_each_run(drill, aws, clock):
    # Given two drills, each replicated at once
    values = []
    for _ in range(2):
        clock.after(0, aws.replicate_parameter)
        run(drill, "ssm", clock)
        values.append(aws.source_value())

    # Then each wrote a value of its own
    assert values[0] != values[1]


def test_ssm_step_never_exposes_the_value_or_its_digest(drill, aws, monkeypatch, capsys, caplog):
    # Given every logger open down to DEBUG, and a replicator that copies the value as it is written
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    primary = drill.client("ssm", PRIMARY)
    write, written = primary.put_parameter, []

    def write_and_replicate(**kwargs: Any) -> dict[str, Any]:
        response = write(**kwargs)
        written.append(kwargs["Value"])
        aws.replicate_parameter()
        return response

    monkeypatch.setattr(primary, "put_parameter", write_and_replicate)

    # When the step runs
    result = drill.step("ssm_probe", {"drill_id": DRILL_ID})

    # Then it passed and logged its result, yet no output holds the value or any form of its digest
    assert result["status"] == "PASSED"
    captured = capsys.readouterr()
    assert '"probe":"ssm"' in captured.out
    (value,) = written
    digest = hashlib.sha256(value.encode()).digest()
    seen = "\n".join([captured.out, captured.err, caplog.text, json.dumps(result), repr(result)])
    for secret in (value, digest.hex(), repr(digest)):
        assert secret not in seen


# Failover


@pytest.fixture
def order_function(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> OrderFunctionInProcess:
    """The real orders handler over the DR replica, so the probe's synthetic event is proven routable."""
    monkeypatch.setenv("TABLE_REGION", DR)
    # What else the stack gives the order function; its order read path uses none of it.
    monkeypatch.setenv("CANARY_SECRET_ID", "dev-us-west-2-health-canary-v1")
    monkeypatch.setenv("PARAMETER_PATH", "/dev-us-west-2-orders-v1/")
    monkeypatch.setenv("APP_REGIONS", f"{PRIMARY},{DR}")
    monkeypatch.setenv("HEALTH_PATH", HEALTH_PATH)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    function = OrderFunctionInProcess(load_handler("orders"))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)
    return function


def run_failover(drill: Drill, aws: Aws, function: Any, health: FakeHealthEndpoint | None = None) -> Any:
    health = health or healthy(drill)
    return drill.probes.probe_failover(
        function, aws.route53, drill.config("FailoverConfig"), DRILL_ID, fetch=health
    )


def healthy(drill: Drill) -> FakeHealthEndpoint:
    return FakeHealthEndpoint(drill.probes.HttpAnswer(200, HEALTHY_BODY))


def test_failover_all_parts_good_passes_without_a_lag(drill, aws, order_function):
    # Given a healthy DR endpoint, the real order function and Route 53 checks that succeed
    # When the probe runs
    result = run_failover(drill, aws, order_function)

    # Then it passed with every part named, and no lag
    assert (result.status, result.lag_seconds) == ("PASSED", None)
    assert result.detail == (
        "health: ok (HTTP 200); order read: ok (404 order not found); "
        "route53 us-east-1: ok (1/1 checkers Success); route53 us-west-2: ok (1/1 checkers Success)"
    )


def test_failover_calls_the_dr_health_path_and_the_order_read_route(drill, aws, order_function):
    # Given every part healthy
    health = healthy(drill)

    # When the probe runs
    run_failover(drill, aws, order_function, health)

    # Then it fetched the DR health URL as given and read a drill order id through GET /orders/{order_id}
    assert health.urls == [ENV["DR_HEALTH_URL"]]
    (call,) = order_function.calls
    event = json.loads(call["Payload"])
    order_id = f"drill-probe-{DRILL_ID}"
    assert (call["FunctionName"], call["InvocationType"]) == (
        ENV["DR_ORDER_FUNCTION_NAME"],
        "RequestResponse",
    )
    assert (event["rawPath"], event["routeKey"]) == (f"/orders/{order_id}", "GET /orders/{order_id}")
    assert event["pathParameters"] == {"order_id": order_id}
    assert event["requestContext"]["http"]["method"] == "GET"


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        ((503, UNAVAILABLE_BODY), "HTTP 503"),
        ((200, UNAVAILABLE_BODY), "HTTP 200 without status ok"),
        (urllib.error.URLError("timed out"), "URLError"),
    ],
    ids=["503", "200-unavailable-body", "unreachable"],
)
def test_failover_unhealthy_dr_endpoint_fails_naming_the_health_part(
    drill, aws, order_function, answer, note
):
    # Given a DR health endpoint that is down, says it is unavailable, or does not answer
    health = FakeHealthEndpoint(answer if isinstance(answer, Exception) else drill.probes.HttpAnswer(*answer))

    # When the probe runs
    result = run_failover(drill, aws, order_function, health)

    # Then it failed, and the detail names the health part and why
    assert result.status == "FAILED"
    assert result.detail.startswith(f"health: FAILED ({note}); order read: ok")


@pytest.mark.parametrize(
    ("function", "note"),
    [
        (CannedFunction({"statusCode": 500, "body": '{"message":"Internal server error"}'}), "status 500"),
        (CannedFunction({"statusCode": 200, "body": '{"order_id":"x"}'}), "status 200"),
        (
            CannedFunction({"statusCode": 404, "body": '{"statusCode":404,"message":"Not found"}'}),
            "404 not from",
        ),
        (CannedFunction({"errorMessage": "boom"}, function_error="Unhandled"), "function error Unhandled"),
    ],
    ids=["500", "found", "route-not-found", "crashed"],
)
def test_failover_order_read_that_does_not_answer_not_found_fails(drill, aws, function, note):
    # Given a DR order function that errs, finds something, or is never routed to
    # When the probe runs
    result = run_failover(drill, aws, function)

    # Then it failed, and the detail names the order read part
    assert result.status == "FAILED"
    assert f"order read: FAILED ({note}" in result.detail


def test_failover_health_check_with_a_minority_of_checkers_succeeding_fails(
    drill, aws, order_function, monkeypatch
):
    # Given Route 53 checkers of which only one in three sees the DR region succeed
    statuses = {
        aws.health_check_ids[PRIMARY]: ["Success: HTTP Status Code 200"] * 3,
        aws.health_check_ids[DR]: [
            "Success: HTTP Status Code 200",
            "Failure: HTTP Status Code 503",
            "Failure",
        ],
    }

    def status(*, HealthCheckId: str) -> dict[str, Any]:
        reports = [{"StatusReport": {"Status": s}} for s in statuses[HealthCheckId]]
        return {"HealthCheckObservations": reports}

    monkeypatch.setattr(aws.route53, "get_health_check_status", status)

    # When the probe runs
    result = run_failover(drill, aws, order_function)

    # Then it failed on that region's check alone
    assert result.status == "FAILED"
    assert "route53 us-east-1: ok (3/3 checkers Success)" in result.detail
    assert "route53 us-west-2: FAILED (1/3 checkers Success)" in result.detail


@pytest.mark.parametrize(
    ("drill_id", "order_id"),
    [
        ("manual-2025-01-01", "drill-probe-manual-2025-01-01"),
        ("drill:nightly/01", "drill-probe-drill-nightly-01"),
        ("x" * 80, "drill-probe-" + "x" * 52),
    ],
)
def test_drill_order_id_always_fits_the_order_id_pattern(env, drill_id, order_id):
    # Given an execution name with characters or a length the order function never looks up
    # When the probe derives its order id
    # Then the id is one the order function reads its table for
    assert load_handler("dr_drill", "probes").drill_order_id(drill_id) == order_id


# Report


def passed(probe: str, lag: float | None) -> dict[str, Any]:
    return {"probe": probe, "status": "PASSED", "lag_seconds": lag, "detail": "replicated"}


def all_passed() -> list[dict[str, Any]]:
    lags = {"dynamodb": 1.5, "s3": 12.0, "sns": 3.0, "failover": None, "ssm": 6.0}
    return [passed(probe, lag) for probe, lag in lags.items()]


def report(drill: Drill, results: list[dict[str, Any]]) -> dict[str, Any]:
    return drill.step("report", {"drill_id": DRILL_ID, "results": results})


def published_reports(aws: Aws) -> list[dict[str, Any]]:
    messages = aws.sqs[PRIMARY].receive_message(QueueUrl=aws.report_url, MaxNumberOfMessages=10)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_report_all_passed_is_passed_and_published(drill, aws):
    # Given every probe passed within its RPO target
    # When the report step runs
    verdict = report(drill, all_passed())

    # Then the drill passed, and the report went to the report topic as is
    assert verdict["status"] == "PASSED"
    assert verdict["probes"]["dynamodb"] == {
        "status": "PASSED",
        "lag_seconds": 1.5,
        "rpo_target_seconds": 5.0,
        "within_rpo": True,
        "detail": "replicated",
    }
    assert verdict["probes"]["failover"]["within_rpo"] is None
    (envelope,) = published_reports(aws)
    assert envelope["Subject"] == "DR drill PASSED"
    assert json.loads(envelope["Message"]) == verdict


def test_report_is_kept_in_the_evidence_bucket_locked_and_checksummed(drill, aws):
    # Given every probe passed, and the report step's uploads watched
    uploads: list[dict[str, Any]] = []
    drill.client("s3", PRIMARY).meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: uploads.append(dict(params))
    )
    # When the report step runs
    verdict = report(drill, all_passed())

    # Then the same report is one object under reports/drill/<day>/<execution>.json
    s3 = aws.s3[PRIMARY]
    (entry,) = s3.list_objects_v2(Bucket=ENV["EVIDENCE_BUCKET"])["Contents"]
    assert re.fullmatch(rf"reports/drill/\d{{4}}/\d{{2}}/\d{{2}}/{DRILL_ID}\.json", entry["Key"])
    stored = s3.get_object(Bucket=ENV["EVIDENCE_BUCKET"], Key=entry["Key"], ChecksumMode="ENABLED")
    assert json.loads(stored["Body"].read()) == verdict
    # And it carries the checksum S3 demands of an upload to a bucket with Object Lock
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, Content-MD5)
    assert stored["ChecksumSHA256"]
    # And it asks for no retention of its own, so the bucket's default retention locks it, as S3
    # applies a bucket's default to every new object version; moto applies it too
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html)
    (upload,) = uploads
    assert not {"ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus"} & set(upload)
    assert stored["ObjectLockMode"] == "GOVERNANCE"


def test_report_caught_failure_fails_the_drill_and_keeps_the_others(drill, aws):
    # Given the DynamoDB probe raised and its Catch recorded a long Lambda error
    cause = json.dumps(
        {"errorMessage": "AccessDenied " + "x" * 500, "errorType": "ClientError", "stackTrace": ["..."] * 50}
    )
    caught = {"probe": "dynamodb", "status": "FAILED", "error": {"Error": "ClientError", "Cause": cause}}

    # When the report step runs
    verdict = report(drill, [caught, *all_passed()[1:]])

    # Then the drill failed, the failure is cut short, and every other probe is still reported
    assert verdict["status"] == "FAILED"
    failed = verdict["probes"]["dynamodb"]
    assert (failed["status"], failed["lag_seconds"], failed["within_rpo"]) == ("FAILED", None, None)
    assert failed["detail"].startswith("ClientError: AccessDenied x")
    assert len(failed["detail"]) == 300
    assert verdict["probes"]["s3"]["lag_seconds"] == 12.0
    others = [probe["status"] for name, probe in verdict["probes"].items() if name != "dynamodb"]
    assert others == ["PASSED"] * 4
    (envelope,) = published_reports(aws)
    assert envelope["Subject"] == "DR drill FAILED"


def test_report_lag_above_its_rpo_fails_the_drill(drill, aws):
    # Given DynamoDB replicated, but in 7.5 s against a 5 s target
    # When the report step runs
    verdict = report(drill, [passed("dynamodb", 7.5), *all_passed()[1:]])

    # Then the probe passed but missed its RPO, which fails the drill
    assert verdict["status"] == "FAILED"
    assert verdict["probes"]["dynamodb"]["status"] == "PASSED"
    assert verdict["probes"]["dynamodb"]["within_rpo"] is False


def test_report_timed_out_probe_misses_its_rpo_only_when_the_budget_exceeds_it(drill, aws):
    # Given DynamoDB (5 s target) and S3 (900 s target) both timed out at the 30 s budget
    timed_out = {"status": "FAILED", "lag_seconds": POLL_TIMEOUT, "detail": "not replicated within 30 s"}
    results = [{"probe": "dynamodb", **timed_out}, {"probe": "s3", **timed_out}, *all_passed()[2:]]

    # When the report step runs
    verdict = report(drill, results)

    # Then 30 s proves DynamoDB missed its target, and proves nothing about S3's
    assert verdict["probes"]["dynamodb"]["within_rpo"] is False
    assert verdict["probes"]["s3"]["within_rpo"] is None


def test_report_missing_probe_result_fails_the_drill(drill, aws):
    # Given the SSM probe's result is missing from the input
    # When the report step runs
    verdict = report(drill, [result for result in all_passed() if result["probe"] != "ssm"])

    # Then the drill failed, naming the probe with no result
    assert verdict["status"] == "FAILED"
    assert verdict["probes"]["ssm"]["detail"] == "no result from this probe"


def test_report_emits_one_metric_per_dimension_set(drill, aws, capsys):
    # Given S3 timed out and DynamoDB passed over its RPO target
    timed_out = {"probe": "s3", "status": "FAILED", "lag_seconds": POLL_TIMEOUT, "detail": "not replicated"}

    # When the report step runs
    report(drill, [passed("dynamodb", 7.5), timed_out, *all_passed()[2:]])

    # Then each probe has its own success metric by Probe, and each measured store a lag metric by
    # Store, both next to Powertools' service dimension; the RPO miss shows in the lag, not the success
    metrics = {}
    for line in (json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")):
        if "_aws" not in line:
            continue
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        (metric,) = directive["Metrics"]
        assert directive["Namespace"] == "OrdersDr"
        (dimensions,) = directive["Dimensions"]
        key = (metric["Name"], tuple((name, line[name]) for name in dimensions))
        metrics[key] = (line[metric["Name"]], metric["Unit"])
    service = ("service", SERVICE)
    assert metrics == {
        ("DrillProbeSuccess", (("Probe", "dynamodb"), service)): ([1.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "s3"), service)): ([0.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "sns"), service)): ([1.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "failover"), service)): ([1.0], "Count"),
        ("DrillProbeSuccess", (("Probe", "ssm"), service)): ([1.0], "Count"),
        ("DrillReplicationLagSeconds", (("Store", "dynamodb"), service)): ([7.5], "Seconds"),
        ("DrillReplicationLagSeconds", (("Store", "sns"), service)): ([3.0], "Seconds"),
        ("DrillReplicationLagSeconds", (("Store", "ssm"), service)): ([6.0], "Seconds"),
    }


# Steps as Step Functions calls them


def test_probe_step_output_is_exactly_the_contract(drill, aws):
    # Given the item is already in the DR replica (replication that beat the first poll)
    aws.dynamodb[DR].put_item(TableName=ENV["TABLE_NAME"], Item=ITEM_KEY)

    # When Step Functions runs the step with its input
    output = drill.step("dynamodb_probe", {"drill_id": DRILL_ID})

    # Then the output has the contract's keys and types, and the canary is gone
    assert set(output) == {"probe", "status", "lag_seconds", "detail"}
    assert (output["probe"], output["status"]) == ("dynamodb", "PASSED")
    assert isinstance(output["lag_seconds"], float)
    assert aws.canaries_left("dynamodb") == []


@pytest.mark.parametrize(
    ("step", "event", "field"),
    [
        ("s3_probe", {}, "drill_id"),
        ("failover_probe", {"drill_id": ""}, "drill_id"),
        ("report", {"drill_id": DRILL_ID, "results": "none"}, "results"),
        ("report", {"drill_id": DRILL_ID, "results": [{"status": "PASSED"}]}, "results.0.probe"),
    ],
    ids=["no-drill-id", "empty-drill-id", "results-not-a-list", "result-without-probe"],
)
def test_step_with_a_bad_event_raises_the_input_error_naming_the_field(drill, aws, step, event, field):
    # Given an input that is not what the state machine sends
    # When the step runs
    # Then it fails, naming the field, rather than write canaries nobody can tell apart or report nothing
    with pytest.raises(drill.models.DrillInputError, match=f"bad event: {field}"):
        drill.step(step, event)


# Configuration


def test_function_for_one_step_needs_only_that_steps_variables(env, monkeypatch):
    # Given the S3 probe's function, deployed with only the S3 probe's variables
    for name in ("TABLE_NAME", "SOURCE_TOPIC_ARN", "DR_HEALTH_URL", "SOURCE_PARAMETER", "RPO_TARGETS"):
        monkeypatch.delenv(name)

    # When the function loads and configures its step
    handler = load_handler("dr_drill")
    config = handler.configuration(handler.S3Config)

    # Then its own step is configured
    assert config.replica_bucket == ENV["REPLICA_BUCKET"]


def test_step_configuration_is_parsed_once(env, monkeypatch):
    # Given the DynamoDB step's configuration, parsed on its first use
    models = load_handler("dr_drill", "models")
    first = models.configuration(models.DynamoDbConfig)

    # When the environment changes afterwards
    monkeypatch.setenv("TABLE_NAME", "another-table")

    # Then the step keeps what it parsed
    assert models.configuration(models.DynamoDbConfig) is first


@pytest.mark.parametrize(
    ("name", "value", "config"),
    [
        ("TABLE_NAME", None, "DynamoDbConfig"),
        ("RPO_TARGETS", json.dumps({"dynamodb": 5, "s3": 900, "sns": 60}), "ReportConfig"),
        ("RPO_TARGETS", json.dumps({**RPO_TARGETS, "dynamo": 5}), "ReportConfig"),
        ("RPO_TARGETS", json.dumps({**RPO_TARGETS, "ssm": 0}), "ReportConfig"),
        ("REPORT_TOPIC_ARN", "dev-us-east-1-drill-reports-v1", "ReportConfig"),
        (
            "DR_HEALTH_URL",
            "api-us-west-2.orders-dr.internal.test/health/b1e2aef643ccccb15642f7b1",
            "FailoverConfig",
        ),
        ("HEALTH_CHECK_IDS", "hc-primary", "FailoverConfig"),
        ("DR_REGION", PRIMARY, "DynamoDbConfig"),
        ("POLL_INTERVAL_SECONDS", "0", "SsmConfig"),
        ("POLL_TIMEOUT_SECONDS", "soon", "S3Config"),
    ],
)
def test_bad_variable_raises_the_input_error_naming_it(env, monkeypatch, name, value, config):
    # Given a variable missing, or set to something the drill cannot work with
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    models = load_handler("dr_drill", "models")

    # When the step's configuration is parsed
    # Then the failure names the variable
    with pytest.raises(models.DrillInputError, match=name):
        models.configuration(getattr(models, config))


def test_poll_budget_defaults_to_120_s_every_2_s(env, monkeypatch):
    # Given no POLL_TIMEOUT_SECONDS or POLL_INTERVAL_SECONDS
    monkeypatch.delenv("POLL_TIMEOUT_SECONDS")
    monkeypatch.delenv("POLL_INTERVAL_SECONDS")

    # When the configuration is parsed
    models = load_handler("dr_drill", "models")
    config = models.configuration(models.DynamoDbConfig)

    # Then the contract's defaults apply
    assert (config.poll_timeout_seconds, config.poll_interval_seconds) == (120.0, 2.0)
