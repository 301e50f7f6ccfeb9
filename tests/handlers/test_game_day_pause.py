"""The pause function's ticks, against moto in both regions: canaries written in the primary and
looked for in the DR region, the pause's alarms read in the primary.

moto replicates nothing across regions, so each test plays replication itself, between ticks, on
the fake clock. CloudWatch's StateTransitionedTimestamp, which moto leaves out of DescribeAlarms,
is added to moto's answer where a test needs it (API_MetricAlarm documents it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.handlers.conftest import DR, PRIMARY
from tests.handlers.game_day_fakes import (
    ALARM_WINDOWS,
    GAME_DAY_ID,
    PAUSE_ALARMS,
    PAUSE_ENV,
    REPLICA_BUCKET,
    RESUME_WINDOWS,
    SETTLE_SECONDS,
    SOURCE_BUCKET,
    TABLE_NAME,
    Answers,
    FakeClock,
    GameDay,
    aws_client,
    create_alarm,
    set_alarm,
    set_env,
)

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

START = 1_750_000_000.0
TICK = 30.0
PAUSES = ["dynamodb-pause", "s3-pause"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    set_env(monkeypatch, PAUSE_ENV)
    with mock_aws():
        dynamodb = {region: aws_client("dynamodb", region) for region in (PRIMARY, DR)}
        s3 = {region: aws_client("s3", region) for region in (PRIMARY, DR)}
        for client in dynamodb.values():
            client.create_table(
                TableName=TABLE_NAME,
                KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        s3[PRIMARY].create_bucket(Bucket=SOURCE_BUCKET)
        s3[DR].create_bucket(Bucket=REPLICA_BUCKET, CreateBucketConfiguration={"LocationConstraint": DR})
        cloudwatch = aws_client("cloudwatch", PRIMARY)
        for names in PAUSE_ALARMS.values():
            for name in names:
                create_alarm(cloudwatch, name)
        yield SimpleNamespace(dynamodb=dynamodb, s3=s3, cloudwatch=cloudwatch)


@pytest.fixture
def game_day(aws: SimpleNamespace) -> GameDay:
    return GameDay()


@pytest.fixture
def clock(game_day: GameDay, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(START)
    game_day.use(monkeypatch, clock=clock, sleep=clock.sleep)
    return clock


def tick(
    game_day: GameDay,
    experiment: str,
    phase: str,
    pause: dict[str, Any] | None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event = {"experiment": experiment, "game_day_id": GAME_DAY_ID, "phase": phase, "pause": pause}
    return game_day.step("pause_tick", event | ({"run": run} if run else {}))


def item_key(n: int) -> dict[str, Any]:
    return {"order_id": {"S": f"gameday#{GAME_DAY_ID}#{n}"}}


def object_key(n: int) -> str:
    return f"gameday/{GAME_DAY_ID}/{n}.txt"


def replicate(aws: SimpleNamespace, experiment: str, n: int) -> None:
    """What replication does with canary n once the pause lets it."""
    if experiment == "dynamodb-pause":
        item = aws.dynamodb[PRIMARY].get_item(TableName=TABLE_NAME, Key=item_key(n))["Item"]
        aws.dynamodb[DR].put_item(TableName=TABLE_NAME, Item=item)
    else:
        body = aws.s3[PRIMARY].get_object(Bucket=SOURCE_BUCKET, Key=object_key(n))["Body"].read()
        aws.s3[DR].put_object(Bucket=REPLICA_BUCKET, Key=object_key(n), Body=body)


def canaries_in_primary(aws: SimpleNamespace, experiment: str) -> list[Any]:
    if experiment == "dynamodb-pause":
        return aws.dynamodb[PRIMARY].scan(TableName=TABLE_NAME)["Items"]
    return [
        entry["Key"] for entry in aws.s3[PRIMARY].list_objects_v2(Bucket=SOURCE_BUCKET).get("Contents", [])
    ]


def paused_ticks(game_day: GameDay, clock: FakeClock, experiment: str, count: int) -> dict[str, Any]:
    """`count` paused ticks, 30 s apart; the last one's state."""
    state = None
    for index in range(count):
        if index:
            clock.advance(TICK)
        state = tick(game_day, experiment, "paused", state)
    assert state is not None
    return state


# The paused phase


@pytest.mark.parametrize("experiment", PAUSES)
def test_first_paused_tick_writes_canary_0_and_waits(game_day, aws, clock, experiment):
    # Given no alarm in ALARM
    # When the first paused tick runs
    state = tick(game_day, experiment, "paused", None)

    # Then the phase begins now, with canary 0 written in the primary and not yet in the DR region
    assert state == {
        "phase": "paused",
        "phase_started_at": START,
        "canaries": [{"n": 0, "written_at": START, "arrived_at": None}],
        "alarm_at": None,
        "alarm_name": None,
        "alarm_seconds": None,
        "ok_at": None,
        "at_risk": None,
        "done": False,
        "outcome": "",
        "recovered": None,
    }
    assert len(canaries_in_primary(aws, experiment)) == 1


def test_dynamodb_canary_is_a_marked_item_keyed_by_the_game_day(game_day, aws, clock):
    # Given no alarm in ALARM
    # When two paused ticks run
    paused_ticks(game_day, clock, "dynamodb-pause", 2)

    # Then the primary replica holds canaries 0 and 1, each marked with the game day
    items = aws.dynamodb[PRIMARY].scan(TableName=TABLE_NAME)["Items"]
    assert sorted(item["order_id"]["S"] for item in items) == [f"gameday#{GAME_DAY_ID}#{n}" for n in (0, 1)]
    assert {item["game_day"]["S"] for item in items} == {GAME_DAY_ID}


@pytest.mark.parametrize("experiment", PAUSES)
def test_alarm_within_window_ends_the_pause_with_the_writes_at_risk(game_day, aws, clock, experiment):
    # Given canary 0 replicated before the pause bit, then the pause's last alarm in ALARM at 60 s
    state = tick(game_day, experiment, "paused", None)
    replicate(aws, experiment, 0)
    clock.advance(TICK)
    state = tick(game_day, experiment, "paused", state)
    clock.advance(TICK)
    alarm = PAUSE_ALARMS[experiment][-1]
    set_alarm(aws.cloudwatch, alarm, "ALARM")

    # When the next paused tick runs
    state = tick(game_day, experiment, "paused", state)

    # Then the phase is done, the alarm timed, and canary 1 is at risk, 30 s old when it fired; no
    # canary is written once the alarm has fired
    assert state["done"] is True
    assert (state["alarm_at"], state["alarm_name"], state["alarm_seconds"]) == (START + 60, alarm, 60.0)
    assert state["outcome"] == f"alarm {alarm} fired after 60 s"
    assert state["at_risk"] == {"writes": 1, "oldest_seconds": 30.0}
    assert [canary["arrived_at"] for canary in state["canaries"]] == [START + 30, None]
    assert len(canaries_in_primary(aws, experiment)) == 2


def test_writes_at_risk_are_counted_when_the_alarm_fired_not_when_the_tick_saw_it(game_day, aws, clock):
    # Given canaries written at 0, 30 and 60 s, none replicated, and the alarm in ALARM since 45 s,
    # seen by the tick at 90 s
    experiment, alarm = "dynamodb-pause", PAUSE_ALARMS["dynamodb-pause"][0]
    state = paused_ticks(game_day, clock, experiment, 3)
    set_alarm(aws.cloudwatch, alarm, "ALARM")
    with_transition(game_day, datetime.fromtimestamp(START + 45, UTC))
    clock.advance(TICK)

    # When that tick runs
    state = tick(game_day, experiment, "paused", state)

    # Then the writes at risk are those made by 45 s (canaries 0 and 1), the oldest 45 s old then
    assert state["alarm_at"] == START + 45
    assert state["at_risk"] == {"writes": 2, "oldest_seconds": 45.0}


@pytest.mark.parametrize("experiment", PAUSES)
def test_no_alarm_within_window_ends_the_pause_saying_so(game_day, aws, clock, experiment):
    # Given a paused phase under way, and no alarm by the end of its window
    state = tick(game_day, experiment, "paused", None)
    window = ALARM_WINDOWS[experiment]
    clock.advance(window + 1)

    # When the next paused tick runs
    state = tick(game_day, experiment, "paused", state)

    # Then the phase is done without an alarm, and the canary is at risk
    assert state["done"] is True
    assert state["alarm_at"] is None
    assert state["outcome"] == f"no alarm within {window} s"
    assert state["at_risk"] == {"writes": 1, "oldest_seconds": window + 1.0}


def fis_answering(game_day: GameDay, status: str, reason: str) -> Answers:
    fis = Answers(game_day.module.client("fis", PRIMARY))
    state = {"status": status, "reason": reason}
    fis.on("GetExperiment", lambda **_: {"experiment": {"id": RUN["id"], "state": state}})
    return fis


RUN = {"id": "EXP7Hk2b9dQm4Lp", "status": "running"}


@pytest.mark.parametrize("experiment", PAUSES)
def test_experiment_ended_before_an_alarm_ends_the_pause_saying_so(game_day, aws, clock, experiment):
    # Given a paused phase under way, then the experiment stopped by its stop condition
    fis = fis_answering(game_day, "running", "Experiment is running")
    state = tick(game_day, experiment, "paused", None, RUN)
    stopped = {"status": "stopped", "reason": "Experiment stopped by stop condition"}
    fis.on("GetExperiment", lambda **_: {"experiment": {"id": RUN["id"], "state": stopped}})
    clock.advance(TICK)

    # When the next paused tick runs
    state = tick(game_day, experiment, "paused", state, RUN)

    # Then the phase ends at once, cut short, without waiting out its window or writing more
    assert state["done"] is True
    assert state["alarm_at"] is None
    assert state["outcome"] == (
        "the experiment ended before an alarm fired (stopped: Experiment stopped by stop condition)"
    )
    assert len(state["canaries"]) == 1


def test_running_experiment_keeps_the_pause_going(game_day, aws, clock):
    # Given FIS reports the experiment running
    fis = fis_answering(game_day, "running", "Experiment is running")

    # When a paused tick runs
    state = tick(game_day, "s3-pause", "paused", None, RUN)

    # Then it asked FIS about this experiment, and wrote its canary
    assert fis.calls[-1][1] == {"id": RUN["id"]}
    assert (state["done"], len(state["canaries"])) == (False, 1)


def test_alarm_is_timed_by_its_transition_when_cloudwatch_gives_one(game_day, aws, clock):
    # Given the alarm went into ALARM 5 s before the window's end, seen by the first tick after it
    experiment, alarm = "dynamodb-pause", PAUSE_ALARMS["dynamodb-pause"][0]
    state = tick(game_day, experiment, "paused", None)
    window = ALARM_WINDOWS[experiment]
    transitioned = datetime.fromtimestamp(START + window - 5, UTC)
    set_alarm(aws.cloudwatch, alarm, "ALARM")
    with_transition(game_day, transitioned)
    clock.advance(window + 20)

    # When that tick runs
    state = tick(game_day, experiment, "paused", state)

    # Then the alarm counts when it fired, within the window, not when the tick saw it
    assert (state["alarm_at"], state["alarm_seconds"]) == (START + window - 5, window - 5.0)
    assert state["outcome"] == f"alarm {alarm} fired after {window - 5} s"


def test_alarm_already_in_alarm_before_the_pause_proves_nothing(game_day, aws, clock):
    # Given the alarm has been in ALARM since before the pause began
    experiment, alarm = "dynamodb-pause", PAUSE_ALARMS["dynamodb-pause"][0]
    set_alarm(aws.cloudwatch, alarm, "ALARM")
    with_transition(game_day, datetime.fromtimestamp(START - 600, UTC))

    # When the first paused tick runs
    state = tick(game_day, experiment, "paused", None)

    # Then the phase ends without an alarm time: it cannot be told from weather
    assert (state["done"], state["alarm_at"]) == (True, None)
    assert state["outcome"] == f"alarm {alarm} was in ALARM before the pause began: the pause proves nothing"


def with_transition(game_day: GameDay, at: datetime) -> None:
    """Add the StateTransitionedTimestamp CloudWatch documents, which moto leaves out, to the
    handler's DescribeAlarms answers
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html)."""

    def add(parsed: dict[str, Any], **_: Any) -> None:
        for alarm in parsed.get("MetricAlarms", []):
            if alarm["StateValue"] == "ALARM":
                alarm["StateTransitionedTimestamp"] = at

    game_day.module.client("cloudwatch", PRIMARY).meta.events.register(
        "after-call.cloudwatch.DescribeAlarms", add
    )


def test_pause_alarm_that_does_not_exist_is_an_input_error(game_day, aws, clock):
    # Given one of the pause's alarms was never created
    aws.cloudwatch.delete_alarms(AlarmNames=[PAUSE_ALARMS["s3-pause"][0]])

    # When a paused tick runs
    # Then it raises the input error naming the alarm: it could never fire
    with pytest.raises(game_day.settings.GameDayInputError, match=PAUSE_ALARMS["s3-pause"][0]):
        tick(game_day, "s3-pause", "paused", None)


def test_s3_forbidden_replica_is_raised_not_mistaken_for_lag(game_day, aws, clock, monkeypatch):
    # Given a replica bucket that answers 403, as S3 does for a missing key to a caller without
    # s3:ListBucket ("If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP
    # status code 403 Forbidden": https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html);
    # moto answers 404 either way
    def forbidden(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    monkeypatch.setattr(game_day.module.client("s3", DR), "head_object", forbidden)
    state = tick(game_day, "s3-pause", "paused", None)
    clock.advance(TICK)

    # When the next paused tick looks for canary 0
    # Then the error is raised for Step Functions to retry and catch
    with pytest.raises(ClientError, match="403"):
        tick(game_day, "s3-pause", "paused", state)


# The resumed phase


def paused_with_alarm(
    game_day: GameDay, aws: SimpleNamespace, clock: FakeClock, experiment: str
) -> dict[str, Any]:
    """Two paused ticks, none replicated, and the first alarm in ALARM at the third."""
    state = paused_ticks(game_day, clock, experiment, 2)
    clock.advance(TICK)
    set_alarm(aws.cloudwatch, PAUSE_ALARMS[experiment][0], "ALARM")
    state = tick(game_day, experiment, "paused", state)
    assert state["done"] is True
    return state


@pytest.mark.parametrize("experiment", PAUSES)
def test_resume_recovers_once_every_canary_arrived_and_every_alarm_held_ok(game_day, aws, clock, experiment):
    # Given a pause that ended in ALARM with two canaries at risk, and the experiment stopped
    paused = paused_with_alarm(game_day, aws, clock, experiment)
    clock.advance(TICK)
    state = tick(game_day, experiment, "resumed", paused)
    assert state["done"] is False
    # And then the backlog replicates and the alarm returns to OK
    for n in range(2):
        replicate(aws, experiment, n)
    set_alarm(aws.cloudwatch, PAUSE_ALARMS[experiment][0], "OK")
    clock.advance(TICK)
    state = tick(game_day, experiment, "resumed", state)
    # And the alarm holds OK for less than the settle time: not yet recovered
    assert (state["done"], state["ok_at"]) == (False, START + 120)
    clock.advance(SETTLE_SECONDS)

    # When the resumed tick after the settle time runs
    state = tick(game_day, experiment, "resumed", state)

    # Then the game day recovered, what the paused phase measured is kept, and the canaries are gone
    assert state["phase"] == "resumed"
    assert state["phase_started_at"] == START + 90
    assert (state["done"], state["recovered"]) == (True, True)
    assert state["outcome"] == "recovered: 2 canaries arrived, every alarm OK since 30 s"
    assert state["ok_at"] == START + 120
    assert (state["alarm_at"], state["alarm_seconds"]) == (paused["alarm_at"], 60.0)
    assert state["at_risk"] == {"writes": 2, "oldest_seconds": 60.0}
    assert all(canary["arrived_at"] == START + 120 for canary in state["canaries"])
    assert canaries_in_primary(aws, experiment) == []


def test_resume_starts_over_when_an_alarm_fires_again_as_the_backlog_lands(game_day, aws, clock):
    # Given a resumed pause whose alarm went OK, then back into ALARM as the backlog's lag landed
    experiment, alarm = "s3-pause", PAUSE_ALARMS["s3-pause"][0]
    paused = paused_with_alarm(game_day, aws, clock, experiment)
    set_alarm(aws.cloudwatch, alarm, "OK")
    clock.advance(TICK)
    state = tick(game_day, experiment, "resumed", paused)
    assert state["ok_at"] == START + 90
    for n in range(2):
        replicate(aws, experiment, n)
    set_alarm(aws.cloudwatch, alarm, "ALARM")
    clock.advance(TICK)
    state = tick(game_day, experiment, "resumed", state)
    assert (state["done"], state["ok_at"]) == (False, None)

    # When its window passes with the alarm still in ALARM
    clock.advance(RESUME_WINDOWS[experiment])
    state = tick(game_day, experiment, "resumed", state)

    # Then it did not recover, naming the alarm: every canary arriving is not enough
    assert (state["done"], state["recovered"]) == (True, False)
    assert state["outcome"] == f"not recovered within {RESUME_WINDOWS[experiment]} s: {alarm} ALARM"


@pytest.mark.parametrize("experiment", PAUSES)
def test_resume_not_recovered_within_its_window_names_what_is_missing(game_day, aws, clock, experiment):
    # Given a pause that ended in ALARM, and only canary 0 replicated since, the alarm still in ALARM
    paused = paused_with_alarm(game_day, aws, clock, experiment)
    clock.advance(TICK)
    state = tick(game_day, experiment, "resumed", paused)
    replicate(aws, experiment, 0)
    clock.advance(RESUME_WINDOWS[experiment] + 1)

    # When the resumed tick after its window runs
    state = tick(game_day, experiment, "resumed", state)

    # Then it is done, saying what did not recover, and the canaries are removed all the same
    alarm = PAUSE_ALARMS[experiment][0]
    window = RESUME_WINDOWS[experiment]
    assert (state["done"], state["recovered"]) == (True, False)
    assert state["ok_at"] is None
    assert state["outcome"] == f"not recovered within {window} s: 1 of 2 canaries not arrived; {alarm} ALARM"
    assert canaries_in_primary(aws, experiment) == []


def test_resume_clean_up_failure_is_named_not_raised(game_day, aws, clock, monkeypatch):
    # Given a recovered pause whose primary refuses the canaries' deletes
    experiment = "dynamodb-pause"
    paused = paused_with_alarm(game_day, aws, clock, experiment)
    for n in range(2):
        replicate(aws, experiment, n)
    set_alarm(aws.cloudwatch, PAUSE_ALARMS[experiment][0], "OK")

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DeleteItem")

    monkeypatch.setattr(game_day.module.client("dynamodb", PRIMARY), "delete_item", denied)
    clock.advance(TICK)
    state = tick(game_day, experiment, "resumed", paused)
    clock.advance(SETTLE_SECONDS)

    # When the resumed tick after the settle time runs
    state = tick(game_day, experiment, "resumed", state)

    # Then the recovery stands and the outcome names the failed clean-up by count and code
    assert (state["done"], state["recovered"]) == (True, True)
    assert state["outcome"] == (
        "recovered: 2 canaries arrived, every alarm OK since 0 s; "
        "cleanup failed for 2 of 2 canaries (AccessDeniedException)"
    )


def test_tick_after_the_phase_ended_changes_nothing(game_day, aws, clock):
    # Given a paused phase that ended in ALARM
    paused = paused_with_alarm(game_day, aws, clock, "s3-pause")
    clock.advance(TICK)

    # When Step Functions retries the last paused tick
    again = tick(game_day, "s3-pause", "paused", paused)

    # Then it writes no canary and answers the same state
    assert again == paused
    assert len(canaries_in_primary(aws, "s3-pause")) == 2


def test_pause_state_is_small_json(game_day, aws, clock):
    # Given no alarm ever fires
    # When a paused phase ticks through the S3 pause's whole window (83 minutes), a canary every 30 s
    ticks = int(ALARM_WINDOWS["s3-pause"] // TICK) + 2
    state = paused_ticks(game_day, clock, "s3-pause", ticks)

    # Then its state is JSON, far inside Step Functions' 256 KB payload limit
    assert state["done"] is True
    assert len(state["canaries"]) == ticks - 1
    assert len(json.dumps(state)) < 32 * 1024


def test_resume_without_a_paused_phase_has_nothing_to_wait_for(game_day, aws, clock):
    # Given the experiment's start, or the first paused tick, failed: the state has no pause
    # When the first resumed tick runs
    state = tick(game_day, "s3-pause", "resumed", None)

    # Then it is done at once, writing nothing and waiting for nothing
    assert (state["done"], state["canaries"], state["outcome"]) == (
        True,
        [],
        "nothing to resume: the paused phase never ran",
    )
    assert canaries_in_primary(aws, "s3-pause") == []
