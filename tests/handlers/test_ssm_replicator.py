"""The SSM replicator against moto: primary us-east-1, DR us-west-2.

Events are AWS's samples (events/ssm_replicator/, see SOURCES.md there), adapted only in the
parameter name and, where the page has no example of an operation, the operation.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws
from pydantic import ValidationError

from tests.handlers.conftest import FakeLambdaContext, sample_event
from tests.handlers.loader import load_handler

SOURCE_PATH = "/dev-us-east-1-orders-v1/"
TARGET_PATH = "/dev-us-west-2-orders-v1/"
DR_KEY_ALIAS = "alias/dev-us-west-2-orders-v1"
PRIMARY_KEY_ALIAS = "alias/dev-us-east-1-orders-v1"
SECRET = "s3cr3t-VALUE-123"
NEW_SECRET = "s3cr3t-VALUE-456"
STALE_SECRET = "s3cr3t-STALE-789"
# The function's timeout in the stack.
TIMEOUT_SECONDS = 300

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "SOURCE_PATH": SOURCE_PATH,
    "TARGET_PATH": TARGET_PATH,
    "TARGET_REGION": "us-west-2",
    "TARGET_KEY_ID": DR_KEY_ALIAS,
    # The most verbose level anyone could set: the no-leak tests must hold even there.
    "POWERTOOLS_LOG_LEVEL": "DEBUG",
}


@dataclass
class Regions:
    primary: Any
    dr: Any

    def put_source(self, rest: str, value: str) -> None:
        self.primary.put_parameter(
            Name=SOURCE_PATH + rest, Value=value, Type="SecureString", KeyId=PRIMARY_KEY_ALIAS, Overwrite=True
        )

    def put_dr(self, rest: str, value: str, **extra: Any) -> None:
        extra.setdefault("Type", "SecureString")
        if extra["Type"] == "SecureString":
            extra.setdefault("KeyId", DR_KEY_ALIAS)
        self.dr.put_parameter(Name=TARGET_PATH + rest, Value=value, Overwrite=True, **extra)

    def dr_value(self, rest: str) -> str:
        return self.dr.get_parameter(Name=TARGET_PATH + rest, WithDecryption=True)["Parameter"]["Value"]

    def dr_metadata(self, rest: str) -> dict[str, Any]:
        found = self.dr.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [TARGET_PATH + rest]}]
        )["Parameters"]
        assert len(found) == 1, f"no DR copy of {rest}"
        return found[0]

    def all_dr(self) -> dict[str, str]:
        return _values_under(self.dr, "/")

    def all_source(self) -> dict[str, str]:
        return _values_under(self.primary, SOURCE_PATH)


def _values_under(client: Any, path: str) -> dict[str, str]:
    pages = client.get_paginator("get_parameters_by_path").paginate(
        Path=path, Recursive=True, WithDecryption=True
    )
    return {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def regions(env: None) -> Iterator[Regions]:
    with mock_aws():
        dr_kms = boto3.client("kms", region_name="us-west-2")
        dr_key = dr_kms.create_key(Description="DR key")["KeyMetadata"]["KeyId"]
        dr_kms.create_alias(AliasName=DR_KEY_ALIAS, TargetKeyId=dr_key)
        primary_kms = boto3.client("kms", region_name="us-east-1")
        primary_key = primary_kms.create_key(Description="primary key")["KeyMetadata"]["KeyId"]
        primary_kms.create_alias(AliasName=PRIMARY_KEY_ALIAS, TargetKeyId=primary_key)
        yield Regions(
            primary=boto3.client("ssm", region_name="us-east-1"),
            dr=boto3.client("ssm", region_name="us-west-2"),
        )


def load_replicator() -> ModuleType:
    # Powertools configures its service logger once per process; a fresh one gets a fresh stream.
    logging.Logger.manager.loggerDict.pop("ssm-replicator", None)
    return load_handler("ssm_replicator")


class Function:
    """The function as Lambda runs it, imported on first use inside the test itself.

    pytest gives each test phase its own sys.stdout, and Powertools binds its log handler to the
    one current at import, so importing in a fixture would hide the log lines from capsys.
    """

    def __init__(self) -> None:
        self._module: ModuleType | None = None

    @property
    def module(self) -> ModuleType:
        if self._module is None:
            self._module = load_replicator()
        return self._module

    def __call__(self, event: Any, context: FakeLambdaContext | None = None) -> dict[str, Any]:
        context = context or FakeLambdaContext(
            function_name="ssm-replicator", timeout_seconds=TIMEOUT_SECONDS
        )
        return self.module.lambda_handler(event, context)


@pytest.fixture
def function(regions: Regions) -> Function:
    return Function()


# The page has examples of these operations only; others start from the Update example.
_SAMPLED = {"Create": "create", "Update": "update", "Delete": "delete"}


def change_event(operation: str, name: str) -> dict[str, Any]:
    """AWS's sample Parameter Store Change event for the operation, about one of our parameters."""
    event = sample_event(f"ssm_replicator/parameter_store_change_{_SAMPLED.get(operation, 'update')}")
    event["detail"].update(operation=operation, name=name)
    return event


CLOUDFORMATION_EVENT = sample_event("ssm_replicator/cloudformation_stack_status_change")
# This app's own scheduler input (dr_constructs/parameter_replication.py).
SCHEDULED_EVENT = {"action": "reconcile"}


def out_of_time() -> type[Exception]:
    """The loaded replicator's OutOfTime: every load imports the asset's modules afresh."""
    return sys.modules["replication"].OutOfTime


@dataclass
class SlowCallsContext(FakeLambdaContext):
    """Lambda's clock as a reconcile sees it when every call is slow: each look finds `step` seconds gone."""

    step_seconds: float = 1.0
    _looks: int = field(default=0, init=False)

    def get_remaining_time_in_millis(self) -> int:
        self._looks += 1
        return int((self.timeout_seconds - self._looks * self.step_seconds) * 1000)


def test_event_models_accept_the_sample_events(env: None) -> None:
    # Given AWS's sample Parameter Store Change and CloudFormation Stack Status Change events
    samples = [
        *(sample_event(f"ssm_replicator/parameter_store_change_{op}") for op in _SAMPLED.values()),
        CLOUDFORMATION_EVENT,
    ]

    # When Powertools' EventBridgeModel, and the replicator's own event model, parse them
    events = load_handler("ssm_replicator", "events")
    parsed = [events.ReplicatorEvent.model_validate(sample).root for sample in samples]

    # Then every sample parses, each into the model of its kind
    assert all(EventBridgeModel.model_validate(sample) for sample in samples)
    assert [type(event).__name__ for event in parsed] == [
        "ParameterStoreChange",
        "ParameterStoreChange",
        "ParameterStoreChange",
        "StackStatusChange",
    ]


def test_create_event_writes_a_securestring_copy_under_the_dr_key(regions, function):
    # Given a new SecureString in the primary path
    regions.put_source("db/password", SECRET)

    # When its Create event arrives
    result = function(change_event("Create", SOURCE_PATH + "db/password"))

    # Then the DR copy sits at the mapped name, encrypted with the DR key, and decrypts to the value.
    # moto stores KeyId as given in PutParameter, so it reports the alias rather than the key id.
    metadata = regions.dr_metadata("db/password")
    assert metadata["Type"] == "SecureString"
    assert metadata["KeyId"] == DR_KEY_ALIAS
    assert regions.dr_value("db/password") == SECRET
    assert result == {
        "operation": "Create",
        "name": SOURCE_PATH + "db/password",
        "target": TARGET_PATH + "db/password",
        "outcome": "replicated",
    }


def test_update_event_makes_the_dr_copy_follow_the_new_value(regions, function):
    # Given a replicated parameter whose source value then changes
    regions.put_source("db/password", SECRET)
    function(change_event("Create", SOURCE_PATH + "db/password"))
    regions.put_source("db/password", NEW_SECRET)

    # When the Update event arrives
    function(change_event("Update", SOURCE_PATH + "db/password"))

    # Then the DR copy holds the new value
    assert regions.dr_value("db/password") == NEW_SECRET


def test_label_event_resyncs_the_dr_copy(regions, function):
    # Given a DR copy that drifted from its source
    regions.put_source("db/password", SECRET)
    regions.put_dr("db/password", STALE_SECRET)

    # When a LabelParameterVersion event arrives for it
    result = function(change_event("LabelParameterVersion", SOURCE_PATH + "db/password"))

    # Then the DR copy is the source's current value again
    assert regions.dr_value("db/password") == SECRET
    assert result["outcome"] == "replicated"


def test_delete_event_removes_the_dr_copy(regions, function):
    # Given a replicated parameter that is then deleted in the primary region
    regions.put_source("db/password", SECRET)
    function(change_event("Create", SOURCE_PATH + "db/password"))
    regions.primary.delete_parameter(Name=SOURCE_PATH + "db/password")

    # When the Delete event arrives
    result = function(change_event("Delete", SOURCE_PATH + "db/password"))

    # Then the DR copy is gone
    assert regions.all_dr() == {}
    assert result["outcome"] == "deleted"


def test_delete_event_for_an_absent_dr_copy_is_not_an_error(regions, function):
    # Given no DR copy at all
    # When a Delete event arrives (say, a retry after the copy was already deleted)
    result = function(change_event("Delete", SOURCE_PATH + "db/password"))

    # Then it succeeds and says there was nothing to delete
    assert result["outcome"] == "absent"


def test_late_delete_event_keeps_the_copy_of_a_recreated_source(regions, function):
    # Given a parameter deleted and created again in the primary region, its DR copy up to date
    regions.put_source("db/password", NEW_SECRET)
    regions.put_dr("db/password", NEW_SECRET)

    # When the Delete event arrives late (or is retried) after the re-Create
    result = function(change_event("Delete", SOURCE_PATH + "db/password"))

    # Then the DR copy still mirrors the source, which exists
    assert regions.dr_value("db/password") == NEW_SECRET
    assert result["outcome"] == "replicated"


def test_change_event_for_a_source_deleted_since_removes_the_dr_copy(regions, function):
    # Given a DR copy whose source no longer exists by the time its (late) Update event arrives
    regions.put_dr("db/password", SECRET)

    # When that Update event arrives
    result = function(change_event("Update", SOURCE_PATH + "db/password"))

    # Then the DR copy follows the source and is deleted
    assert regions.all_dr() == {}
    assert result["outcome"] == "deleted"


def test_name_outside_the_source_path_is_ignored(regions, function):
    # Given a parameter of another application in the primary region
    regions.primary.put_parameter(Name="/other-app/db/password", Value=SECRET, Type="SecureString")

    # When its Create event arrives
    result = function(change_event("Create", "/other-app/db/password"))

    # Then nothing is written in DR and the result says it was ignored
    assert regions.all_dr() == {}
    assert result == {
        "operation": "Create",
        "name": "/other-app/db/password",
        "target": None,
        "outcome": "ignored",
    }


def test_value_over_4096_bytes_is_written_to_the_advanced_tier(regions, function):
    # Given a source value one byte over the Standard tier's limit
    regions.primary.put_parameter(
        Name=SOURCE_PATH + "tls/chain", Value="x" * 4097, Type="SecureString", Tier="Advanced"
    )

    # When its Create event arrives
    function(change_event("Create", SOURCE_PATH + "tls/chain"))

    # Then the DR copy is Advanced
    assert regions.dr_metadata("tls/chain")["Tier"] == "Advanced"


def test_shrunk_value_keeps_an_advanced_dr_copy_advanced(regions, function):
    # Given an Advanced DR copy whose source value now fits the Standard tier
    # (Parameter Store rejects a move back from Advanced to Standard; moto does not, so check the request)
    regions.put_dr("tls/chain", "x" * 4097, Tier="Advanced")
    regions.put_source("tls/chain", SECRET)

    # When the Update event arrives
    function(change_event("Update", SOURCE_PATH + "tls/chain"))

    # Then the copy holds the new value and stays Advanced
    assert regions.dr_value("tls/chain") == SECRET
    assert regions.dr_metadata("tls/chain")["Tier"] == "Advanced"


def test_reconcile_creates_updates_deletes_and_counts(regions, function):
    # Given one source parameter missing in DR, one stale in DR, one equal, and one DR orphan
    regions.put_source("missing", "s3cr3t-MISSING-1")
    regions.put_source("stale", NEW_SECRET)
    regions.put_dr("stale", STALE_SECRET)
    regions.put_source("equal", SECRET)
    regions.put_dr("equal", SECRET)
    regions.put_dr("orphan", "s3cr3t-ORPHAN-2")

    # When a reconcile runs
    result = function(SCHEDULED_EVENT)

    # Then each was counted once and DR mirrors the source
    assert result == {"operation": "Reconcile", "created": 1, "updated": 1, "deleted": 1, "unchanged": 1}
    assert regions.all_dr() == {
        TARGET_PATH + "missing": "s3cr3t-MISSING-1",
        TARGET_PATH + "stale": NEW_SECRET,
        TARGET_PATH + "equal": SECRET,
    }


def test_reconcile_rewrites_an_equal_value_not_under_the_dr_key(regions, function):
    # Given DR copies with the right values, one a plain String and one under another key
    regions.put_source("plain", SECRET)
    regions.put_dr("plain", SECRET, Type="String")
    regions.put_source("other-key", NEW_SECRET)
    regions.put_dr("other-key", NEW_SECRET, KeyId="alias/aws/ssm")

    # When a reconcile runs
    result = function(SCHEDULED_EVENT)

    # Then both are rewritten as SecureStrings under the DR key
    assert result["updated"] == 2
    for rest in ("plain", "other-key"):
        metadata = regions.dr_metadata(rest)
        assert (metadata["Type"], metadata["KeyId"]) == ("SecureString", DR_KEY_ALIAS)


def test_reconcile_pages_through_more_than_ten_parameters(regions, function):
    # Given 25 source parameters (moto pages at 10) and 12 DR orphans, across nested paths
    for i in range(25):
        regions.put_source(f"group{i % 3}/param{i}", f"s3cr3t-{i}")
    for i in range(12):
        regions.put_dr(f"old/param{i}", f"s3cr3t-old-{i}")

    # When a reconcile runs
    result = function(SCHEDULED_EVENT)

    # Then every page was seen on both sides
    assert result == {"operation": "Reconcile", "created": 25, "updated": 0, "deleted": 12, "unchanged": 0}
    assert regions.all_dr() == {
        name.replace(SOURCE_PATH, TARGET_PATH, 1): value for name, value in regions.all_source().items()
    }


@pytest.mark.parametrize(
    "event", [CLOUDFORMATION_EVENT, SCHEDULED_EVENT], ids=["cloudformation-stack-status", "scheduler"]
)
def test_reconcile_is_triggered_by(event, regions, function):
    # Given a source parameter with no DR copy
    regions.put_source("db/password", SECRET)

    # When the trigger's event arrives
    result = function(event)

    # Then a reconcile ran and created the copy
    assert result["operation"] == "Reconcile"
    assert regions.dr_value("db/password") == SECRET


# Each run's Given: it stores the secrets a run could leak and returns the event that runs it.
def _create(regions: Regions, function: Function, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    regions.put_source("db/password", SECRET)
    return change_event("Create", SOURCE_PATH + "db/password")


def _update(regions: Regions, function: Function, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    regions.put_source("db/password", SECRET)
    regions.put_dr("db/password", STALE_SECRET)
    return change_event("Update", SOURCE_PATH + "db/password")


def _delete(regions: Regions, function: Function, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    regions.put_dr("db/password", SECRET)
    return change_event("Delete", SOURCE_PATH + "db/password")


def _ignored(regions: Regions, function: Function, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    regions.primary.put_parameter(Name="/other-app/db/password", Value=SECRET, Type="SecureString")
    return change_event("Create", "/other-app/db/password")


def _reconcile(regions: Regions, function: Function, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    regions.put_source("missing", SECRET)
    regions.put_source("stale", SECRET)
    regions.put_dr("stale", STALE_SECRET)
    regions.put_dr("orphan", NEW_SECRET)
    return SCHEDULED_EVENT


def _failure(regions: Regions, function: Function, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    _deny_target_writes(function, monkeypatch)
    return _create(regions, function, monkeypatch)


RUNS = {
    "create": _create,
    "update": _update,
    "delete": _delete,
    "ignored": _ignored,
    "reconcile": _reconcile,
    "failure": _failure,
}


@pytest.mark.parametrize("run", RUNS)
def test_no_run_prints_logs_or_returns_a_value(run, regions, function, monkeypatch, capsys, caplog):
    # Given the run's secrets, and every logger, botocore's included, open down to DEBUG
    event = RUNS[run](regions, function, monkeypatch)
    capsys.readouterr()
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    # When the function runs
    try:
        outcome: object = function(event)
    except ClientError as error:  # the failure run: what Lambda would log is the error
        outcome = error

    # Then no value, nor its digest, appears in stdout, stderr, log records, the result or the error
    captured = capsys.readouterr()
    seen = "\n".join([captured.out, captured.err, caplog.text, repr(outcome), str(outcome)])
    for value in (SECRET, NEW_SECRET, STALE_SECRET):
        assert value not in seen
        assert hashlib.sha256(value.encode()).hexdigest() not in seen


def test_log_lines_name_the_parameter_and_the_outcome(regions, function, capsys):
    # Given a source parameter
    regions.put_source("db/password", SECRET)

    # When its Create event arrives
    function(change_event("Create", SOURCE_PATH + "db/password"))

    # Then the function's own log line, the one the no-leak tests also read, names what happened
    line = next(line for line in capsys.readouterr().out.splitlines() if "Parameter change handled" in line)
    assert SOURCE_PATH + "db/password" in line
    assert TARGET_PATH + "db/password" in line
    assert '"outcome":"replicated"' in line


def _deny_target_writes(function: Function, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to ssm:PutParameter"}},
            "PutParameter",
        )

    monkeypatch.setattr(function.module.replicator.target, "put_parameter", denied)


def test_aws_error_propagates_for_the_dead_letter_queue(regions, function, monkeypatch):
    # Given a DR region that refuses writes
    regions.put_source("db/password", SECRET)
    _deny_target_writes(function, monkeypatch)

    # When a Create event arrives
    # Then the error is raised, so Lambda retries and then hands the event to the on-failure destination
    with pytest.raises(ClientError) as raised:
        function(change_event("Create", SOURCE_PATH + "db/password"))
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"


def test_unsupported_event_is_raised_not_swallowed(regions, function):
    # Given an event from a rule this function was never meant to serve
    event = {"source": "aws.s3", "detail-type": "Object Created", "detail": {}}

    # When it arrives
    # Then it fails naming what the function serves, so it lands in the dead-letter queue instead of vanishing
    with pytest.raises(ValidationError, match="not an event for this function"):
        function(event)


def _change_without_name() -> dict[str, Any]:
    event = change_event("Update", SOURCE_PATH + "db/password")
    del event["detail"]["name"]
    return event


@pytest.mark.parametrize(
    "event",
    [_change_without_name(), [], {"detail": {}}, "a string"],
    ids=["no-detail-name", "list", "detail-only", "string"],
)
def test_malformed_event_raises_a_validation_error(event, regions, function):
    # Given a malformed event
    # When it arrives
    # Then pydantic's ValidationError is raised, not a KeyError or AttributeError from halfway through,
    # so Lambda retries it and then keeps it in the on-failure destination
    with pytest.raises(ValidationError):
        function(event)
    assert regions.all_dr() == {}


def test_stalled_ssm_endpoint_fails_a_change_event_within_one_calls_reserve(
    env, monkeypatch, silent_endpoint
):
    # Given an SSM endpoint that accepts connections and never answers
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    module = load_replicator()

    # When a Create event arrives
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        module.lambda_handler(
            change_event("Create", SOURCE_PATH + "db/password"),
            FakeLambdaContext(function_name="ssm-replicator", timeout_seconds=TIMEOUT_SECONDS),
        )
    elapsed = time.monotonic() - started

    # Then the stalled call gave up, and raised for Lambda's retries, within the reserve a reconcile
    # keeps for one call, itself a small part of the function timeout
    assert elapsed < module.CALL_RESERVE_SECONDS < TIMEOUT_SECONDS / 10


def test_reconcile_with_less_time_left_than_one_call_may_take_stops_at_once(
    env, monkeypatch, silent_endpoint
):
    # Given an SSM endpoint that never answers, and a function left less time than one call may take
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    module = load_replicator()
    context = FakeLambdaContext(
        function_name="ssm-replicator", timeout_seconds=module.CALL_RESERVE_SECONDS - 1
    )

    # When a reconcile runs
    started = time.monotonic()
    with pytest.raises(out_of_time()):
        module.lambda_handler(SCHEDULED_EVENT, context)
    elapsed = time.monotonic() - started

    # Then it raised before starting a call it could not finish, long before the function timeout
    assert elapsed < 1 < context.timeout_seconds


def test_reconcile_out_of_time_stops_between_calls_and_its_retry_finishes(regions, function):
    # Given 25 source parameters, and a function whose calls are so slow that time runs out part-way
    for i in range(25):
        regions.put_source(f"param{i:02}", f"s3cr3t-{i}")
    reserve = function.module.CALL_RESERVE_SECONDS
    slow = SlowCallsContext(function_name="ssm-replicator", timeout_seconds=reserve + 12, step_seconds=1)

    # When a reconcile runs out of time
    with pytest.raises(out_of_time()):
        function(SCHEDULED_EVENT, slow)
    copied = len(regions.all_dr())

    # Then it stopped with part of the work done and nothing half-written, and Lambda's retry finishes it
    assert 0 < copied < 25
    result = function(SCHEDULED_EVENT)
    assert (result["created"], result["unchanged"]) == (25 - copied, copied)
    assert regions.all_dr() == {
        name.replace(SOURCE_PATH, TARGET_PATH, 1): value for name, value in regions.all_source().items()
    }


@pytest.mark.parametrize(
    "name", ["AWS_REGION", "SOURCE_PATH", "TARGET_REGION", "TARGET_PATH", "TARGET_KEY_ID"]
)
def test_settings_name_a_missing_variable(name, env, monkeypatch):
    # Given the function is deployed without the variable
    monkeypatch.delenv(name)

    # When the settings are parsed (at import, as on a cold start)
    # Then the failure names the variable
    with pytest.raises(ValidationError, match=name):
        load_handler("ssm_replicator", "settings")


def test_settings_default_the_powertools_names(env):
    # Given no POWERTOOLS_SERVICE_NAME or POWERTOOLS_METRICS_NAMESPACE
    # When the settings are parsed
    settings = load_handler("ssm_replicator", "settings").SETTINGS

    # Then the contract's defaults apply
    assert (settings.service_name, settings.metrics_namespace) == ("ssm-replicator", "OrdersDr")
