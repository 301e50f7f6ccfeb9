"""The report function: the game day's verdict from the state machine's whole state, its metrics,
the report kept in the locked evidence bucket and published to the report topic.

The states are what the other steps return (their tests hold those shapes), assembled as the state
machine's ResultPaths place them; a caught error is the {"Error", "Cause"} a Catch records.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from moto import mock_aws

from tests.handlers.game_day_fakes import (
    EVIDENCE_BUCKET,
    GAME_DAY_ID,
    OBSERVER,
    REPORT_ENV,
    REPORT_TOPIC_ARN,
    RTO_BUDGET,
    SERVICE,
    TEMPLATES,
    FakeClock,
    GameDay,
    aws_client,
    emitted_metrics,
    set_env,
)

START = 1_750_000_000.0
EXPERIMENT_ID = "EXP7Hk2b9dQm4Lp"
STEADY = {
    "steady": True,
    "checks": {
        name: "ok"
        for name in (
            "health us-east-1",
            "health us-west-2",
            "route53 us-east-1",
            "route53 us-west-2",
            "dns",
            "alarms",
            "client",
        )
    },
}


def run(experiment: str) -> dict[str, Any]:
    return {
        "id": EXPERIMENT_ID,
        "template_id": TEMPLATES[experiment],
        "started_at": START,
        "status": "running",
    }


STOPPED = {
    "id": EXPERIMENT_ID,
    "status": "stopped",
    "reason": "Experiment stopped",
    "stopped_at": START + 200,
}
PRIMARY_PATH = {
    "experiment": "primary-path",
    "game_day_id": GAME_DAY_ID,
    "preflight": STEADY,
    "run": run("primary-path"),
    "failover": {
        "fault_at": START + 40,
        "phases": {"unhealthy": 25.0, "dns": 40.0, "order": 45.0},
        "measured_rto_seconds": 45.0,
        "budget_seconds": RTO_BUDGET,
        "within_budget": True,
        "failed_phase": None,
        "detail": "fault: primary health HTTP 503; ...",
    },
    "stop": STOPPED,
    "restore": {"restored": True, "restored_after": 84.0, "detail": "us-east-1 healthy ..."},
}
DYNAMODB_PAUSE = {
    "experiment": "dynamodb-pause",
    "game_day_id": GAME_DAY_ID,
    "preflight": {"steady": True, "checks": {name: "ok" for name in STEADY["checks"] if name != "client"}},
    "run": run("dynamodb-pause"),
    "stop": STOPPED,
    "pause": {
        "phase": "resumed",
        "phase_started_at": START + 660,
        "canaries": [{"n": n, "written_at": START + 30 * n, "arrived_at": START + 700} for n in range(14)],
        "alarm_at": START + 615,
        "alarm_name": "dev-us-east-1-orders-v1-dynamodb-replication-to-us-west-2",
        "alarm_seconds": 615.0,
        "ok_at": START + 690,
        "at_risk": {"writes": 12, "oldest_seconds": 300.0},
        "done": True,
        "outcome": "recovered: 14 canaries arrived, every alarm OK since 30 s",
        "recovered": True,
    },
}


def lambda_error(message: str, error: str = "ClientError") -> dict[str, str]:
    """What a Catch records of a failed Lambda step."""
    cause = {"errorMessage": message, "errorType": error, "stackTrace": ['  File "/var/task/handler.py"']}
    return {"Error": error, "Cause": json.dumps(cause)}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    set_env(monkeypatch, REPORT_ENV)
    with mock_aws():
        s3, sns, sqs = (aws_client(service, OBSERVER) for service in ("s3", "sns", "sqs"))
        # The evidence bucket as drill_fakes builds it: Object Lock with a default retention.
        s3.create_bucket(
            Bucket=EVIDENCE_BUCKET,
            CreateBucketConfiguration={"LocationConstraint": OBSERVER},
            ObjectLockEnabledForBucket=True,
        )
        s3.put_object_lock_configuration(
            Bucket=EVIDENCE_BUCKET,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
            },
        )
        sns.create_topic(Name=REPORT_TOPIC_ARN.split(":")[5])
        queue = sqs.create_queue(QueueName="reports")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=REPORT_TOPIC_ARN, Protocol="sqs", Endpoint=arn)
        yield SimpleNamespace(s3=s3, sqs=sqs, queue=queue)


@pytest.fixture
def game_day(aws: SimpleNamespace) -> GameDay:
    return GameDay()


@pytest.fixture
def report(game_day: GameDay, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def run_report(state: dict[str, Any]) -> dict[str, Any]:
        clock = FakeClock(START + 900)
        game_day.use(monkeypatch, clock=clock, sleep=clock.sleep)
        return game_day.step("report", state)

    return run_report


def published(aws: SimpleNamespace) -> list[dict[str, Any]]:
    messages = aws.sqs.receive_message(QueueUrl=aws.queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def changed(state: dict[str, Any], *absent: str, **changes: Any) -> dict[str, Any]:
    """A copy of `state` without the `absent` steps' keys (steps that did not run), and with
    `changes`: a key "part__key" sets a key inside a part."""
    copied = {key: value for key, value in copy.deepcopy(state).items() if key not in absent}
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        target = copied
        for part in path:
            target = target[part]
        target[key] = value
    return copied


# The verdict


@pytest.mark.parametrize("state", [PRIMARY_PATH, DYNAMODB_PAUSE], ids=["primary-path", "dynamodb-pause"])
def test_game_day_that_did_everything_passes_with_no_reasons(report, state):
    # Given a steady world, an experiment that ran and stopped, and a measurement within bounds
    # When the report step runs
    verdict = report(state)

    # Then the game day passed, and the report carries each part
    assert (verdict["status"], verdict["reasons"]) == ("PASSED", [])
    assert verdict["game_day_id"] == GAME_DAY_ID
    assert verdict["preflight"] == state["preflight"]
    assert verdict["experiment_run"] == {
        "id": EXPERIMENT_ID,
        "template_id": state["run"]["template_id"],
        "started_at": START,
        "status": "stopped",
        "reason": "Experiment stopped",
        "stopped_at": START + 200,
    }
    assert verdict["measurement"] == state.get("failover", state.get("pause"))


@pytest.mark.parametrize(
    ("state", "reasons"),
    [
        (
            changed(
                PRIMARY_PATH,
                "run",
                "failover",
                "restore",
                preflight={"steady": False, "checks": {**STEADY["checks"], "dns": "split"}},
                stop={"status": "not-started"},
            ),
            ["preflight: not steady (dns: split)", "experiment: not started"],
        ),
        (
            changed(
                PRIMARY_PATH,
                "preflight",
                "run",
                "failover",
                "stop",
                "restore",
                preflight_error=lambda_error("AccessDenied on DescribeAlarms"),
            ),
            ["preflight: ClientError: AccessDenied on DescribeAlarms", "experiment: not started"],
        ),
        (
            changed(
                PRIMARY_PATH,
                "run",
                "failover",
                "restore",
                start_error=lambda_error(
                    "experiment EXP1 is failed before running: no targets",
                    "ExperimentNotRunning",
                ),
                stop={"status": "not-started"},
            ),
            ["start: ExperimentNotRunning: experiment EXP1 is failed before running: no targets"],
        ),
        (
            changed(PRIMARY_PATH, stop={**STOPPED, "status": "failed", "reason": "Action failed"}),
            ["experiment: not stopped (status failed)"],
        ),
        (
            changed(
                DYNAMODB_PAUSE,
                stop={**STOPPED, "reason": "Experiment stopped by stop condition", "already_ended": True},
            ),
            [
                "experiment: ended before the game day stopped it "
                "(stopped: Experiment stopped by stop condition)"
            ],
        ),
        (
            changed(
                PRIMARY_PATH,
                "stop",
                stop_error=lambda_error("still stopping 300 s after the stop", "ExperimentNotStopped"),
            ),
            ["stop: ExperimentNotStopped: still stopping 300 s after the stop"],
        ),
        (
            changed(
                PRIMARY_PATH,
                failover__failed_phase="dns",
                failover__within_budget=None,
                failover__measured_rto_seconds=None,
                failover__detail="dns: not seen within 180 s",
            ),
            ["failover: the dns phase was not seen: dns: not seen within 180 s"],
        ),
        (
            changed(PRIMARY_PATH, failover__measured_rto_seconds=130.0, failover__within_budget=False),
            [f"failover: measured RTO 130 s is over the {RTO_BUDGET} s budget"],
        ),
        (
            changed(PRIMARY_PATH, "failover", failover_error={"Error": "States.Timeout", "Cause": ""}),
            ["failover: States.Timeout"],
        ),
        (
            changed(
                PRIMARY_PATH,
                restore={"restored": False, "restored_after": None, "detail": "us-east-1 not restored"},
            ),
            ["restore: us-east-1 not restored"],
        ),
        (
            changed(PRIMARY_PATH, "restore", restore_error=lambda_error("Rate exceeded")),
            ["restore: ClientError: Rate exceeded"],
        ),
        (
            changed(DYNAMODB_PAUSE, pause__alarm_at=None, pause__alarm_name=None, pause__alarm_seconds=None),
            ["pause: no alarm in ALARM within the window"],
        ),
        (
            changed(
                DYNAMODB_PAUSE,
                pause__ok_at=None,
                pause__recovered=False,
                pause__outcome="not recovered within 780 s: x ALARM",
            ),
            ["resume: not recovered (not recovered within 780 s: x ALARM)"],
        ),
        (
            changed(
                DYNAMODB_PAUSE,
                pause__canaries=[
                    {"n": 0, "written_at": START, "arrived_at": None},
                    {"n": 1, "written_at": START, "arrived_at": START},
                ],
            ),
            ["resume: 1 of 2 canaries never arrived"],
        ),
        (
            changed(DYNAMODB_PAUSE, pause__phase="paused", resume_error=lambda_error("Throttling")),
            ["resume: ClientError: Throttling"],
        ),
        (
            changed(DYNAMODB_PAUSE, "pause", pause_error=lambda_error("AccessDenied")),
            ["pause: ClientError: AccessDenied"],
        ),
    ],
    ids=[
        "not-steady",
        "preflight-error",
        "not-started",
        "not-stopped",
        "ended-early",
        "stop-error",
        "phase-not-seen",
        "over-budget",
        "failover-error",
        "not-restored",
        "restore-error",
        "no-alarm",
        "alarm-not-ok",
        "canary-lost",
        "resume-error",
        "pause-error",
    ],
)
def test_each_shortfall_fails_the_game_day_with_its_reason(report, state, reasons):
    # Given a game day short of one condition
    # When the report step runs
    verdict = report(state)

    # Then it failed, with exactly that shortfall's reasons
    assert (verdict["status"], verdict["reasons"]) == ("FAILED", reasons)


def test_caught_error_reason_is_cut_to_300_characters(report):
    # Given a failover step whose Catch recorded a very long message
    state = changed(PRIMARY_PATH, "failover", failover_error=lambda_error("AccessDenied " + "x" * 500))

    # When the report step runs
    verdict = report(state)

    # Then the reason starts with the step and the error's message, cut to 300 characters
    (reason,) = verdict["reasons"]
    assert reason.startswith("failover: ClientError: AccessDenied x")
    assert len(reason) == 300


# Where the report goes


def test_report_is_kept_in_the_locked_evidence_bucket_with_a_checksum(game_day, report, aws):
    # Given a game day that passed, and the report step's uploads watched
    uploads: list[dict[str, Any]] = []
    game_day.module.client("s3", OBSERVER).meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: uploads.append(dict(params))
    )
    # When the report step runs
    verdict = report(PRIMARY_PATH)

    # Then the same report is one object under reports/gameday/<day>/<execution>.json
    (entry,) = aws.s3.list_objects_v2(Bucket=EVIDENCE_BUCKET)["Contents"]
    assert entry["Key"] == f"reports/gameday/2025/06/15/{GAME_DAY_ID}.json"
    stored = aws.s3.get_object(Bucket=EVIDENCE_BUCKET, Key=entry["Key"], ChecksumMode="ENABLED")
    assert json.loads(stored["Body"].read()) == verdict
    assert stored["ContentType"] == "application/json"
    # And it carries the checksum S3 demands of an upload to a bucket with Object Lock
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, Content-MD5)
    assert stored["ChecksumSHA256"]
    # And it asks for no retention of its own, so the bucket's default retention locks it, as S3
    # applies a bucket's default to every new object version; moto applies it too
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html)
    (upload,) = uploads
    assert not {"ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus"} & set(upload)
    assert stored["ObjectLockMode"] == "GOVERNANCE"


@pytest.mark.parametrize(
    ("state", "subject"),
    [
        (PRIMARY_PATH, "DR game day primary-path PASSED"),
        (changed(DYNAMODB_PAUSE, "pause"), "DR game day dynamodb-pause FAILED"),
    ],
)
def test_report_is_published_with_its_verdict_in_the_subject(report, aws, state, subject):
    # Given a game day that passed, or one that failed
    # When the report step runs
    verdict = report(state)

    # Then the report topic got the report as is, under a subject with the experiment and verdict
    (envelope,) = published(aws)
    assert envelope["Subject"] == subject
    assert json.loads(envelope["Message"]) == verdict


def test_subject_stays_within_snss_100_characters(report, aws):
    # Given a state naming an experiment no game day has, at length
    state = changed(PRIMARY_PATH, experiment="x" * 200)

    # When the report step runs
    verdict = report(state)

    # Then it fails, and its subject is cut to SNS's limit
    assert verdict["status"] == "FAILED"
    (envelope,) = published(aws)
    assert len(envelope["Subject"]) == 100


def test_report_without_a_game_day_id_is_an_input_error(game_day, report):
    # Given a state without the game day's id: there is no key to keep it under
    # When the report step runs
    # Then it raises the input error naming the field
    with pytest.raises(game_day.settings.GameDayInputError, match="bad event: game_day_id"):
        report({"experiment": "primary-path"})


# Metrics


def metrics_of(report: Callable[[dict[str, Any]], dict[str, Any]], state: dict[str, Any], capsys: Any) -> Any:
    capsys.readouterr()
    report(state)
    return emitted_metrics(capsys.readouterr().out)


def test_primary_path_emits_its_verdict_and_measured_rto(report, capsys):
    # Given a primary-path game day that passed in 45 s
    # When the report step runs
    metrics = metrics_of(report, PRIMARY_PATH, capsys)

    # Then it emits one document per metric, each with its one dimension next to Powertools' service
    service = ("service", SERVICE)
    assert metrics == {
        ("GameDayPassed", (("Experiment", "primary-path"), service)): ([1.0], "Count"),
        ("GameDayMeasuredRtoSeconds", (("Experiment", "primary-path"), service)): ([45.0], "Seconds"),
    }


def test_pause_emits_alarm_time_and_what_was_at_risk_by_store(report, capsys):
    # Given a DynamoDB pause whose alarm fired after 615 s with 12 writes at risk, the oldest 300 s old
    # When the report step runs
    metrics = metrics_of(report, DYNAMODB_PAUSE, capsys)

    # Then the verdict is by experiment, the rest by store
    service = ("service", SERVICE)
    assert metrics == {
        ("GameDayPassed", (("Experiment", "dynamodb-pause"), service)): ([1.0], "Count"),
        ("GameDayAlarmSeconds", (("Store", "dynamodb"), service)): ([615.0], "Seconds"),
        ("GameDayRpoUnderFaultSeconds", (("Store", "dynamodb"), service)): ([300.0], "Seconds"),
        ("GameDayWritesAtRisk", (("Store", "dynamodb"), service)): ([12.0], "Count"),
    }


def test_failed_game_day_without_measurements_emits_only_its_verdict(report, capsys):
    # Given a game day stopped by its preflight
    state = changed(
        DYNAMODB_PAUSE, "run", "stop", "pause", preflight={"steady": False, "checks": {"dns": "split"}}
    )

    # When the report step runs
    metrics = metrics_of(report, state, capsys)

    # Then only GameDayPassed, at 0
    assert metrics == {
        ("GameDayPassed", (("Experiment", "dynamodb-pause"), ("service", SERVICE))): ([0.0], "Count")
    }
