"""The SSM replicator against moto: primary us-east-1, DR us-west-2."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.handlers.loader import load_handler

SOURCE_PATH = "/dev-us-east-1-orders-v1/"
TARGET_PATH = "/dev-us-west-2-orders-v1/"
DR_KEY_ALIAS = "alias/dev-us-west-2-orders-v1"
PRIMARY_KEY_ALIAS = "alias/dev-us-east-1-orders-v1"
SECRET = "s3cr3t-VALUE-123"
NEW_SECRET = "s3cr3t-VALUE-456"
STALE_SECRET = "s3cr3t-STALE-789"

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "SOURCE_PATH": SOURCE_PATH,
    "TARGET_PATH": TARGET_PATH,
    "TARGET_REGION": "us-west-2",
    "TARGET_KEY_ID": DR_KEY_ALIAS,
    "POWERTOOLS_TRACE_DISABLED": "1",
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


@dataclass
class LambdaContextStub:
    function_name: str = "ssm-replicator"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ssm-replicator"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
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
            # Powertools configures its service logger once per process; a fresh one gets a fresh stream.
            logging.Logger.manager.loggerDict.pop("ssm-replicator", None)
            self._module = load_handler("ssm_replicator")
        return self._module

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.module.lambda_handler(event, LambdaContextStub())


@pytest.fixture
def function(regions: Regions) -> Function:
    return Function()


def change_event(operation: str, name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Parameter Store Change",
        "source": "aws.ssm",
        "account": "123456789012",
        "time": "2025-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:ssm:us-east-1:123456789012:parameter{name}"],
        "detail": {"operation": operation, "name": name, "type": "SecureString", "description": ""},
    }


CLOUDFORMATION_EVENT = {
    "version": "0",
    "id": "2f3c0c3e-0000-0000-0000-000000000000",
    "detail-type": "CloudFormation Stack Status Change",
    "source": "aws.cloudformation",
    "account": "123456789012",
    "time": "2025-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:cloudformation:us-east-1:123456789012:stack/PrimaryRegion/abc"],
    "detail": {"stack-id": "PrimaryRegion", "status-details": {"status": "UPDATE_COMPLETE"}},
}
SCHEDULED_EVENT = {"action": "reconcile"}


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
    # Then it fails, so it lands in the dead-letter queue instead of vanishing
    with pytest.raises(ValueError, match="unsupported event"):
        function(event)


def test_settings_reject_a_target_path_without_trailing_slash(env, monkeypatch):
    # Given a TARGET_PATH missing its trailing slash
    monkeypatch.setenv("TARGET_PATH", "/dev-us-west-2-orders-v1")

    # When the settings are parsed (at import, as on a cold start)
    # Then the failure names the variable
    with pytest.raises(ValueError, match="TARGET_PATH"):
        load_handler("ssm_replicator", "settings")


def test_settings_reject_a_missing_variable(env, monkeypatch):
    # Given no TARGET_KEY_ID
    monkeypatch.delenv("TARGET_KEY_ID")

    # When the settings are parsed
    # Then the failure names the variable
    with pytest.raises(ValueError, match="TARGET_KEY_ID"):
        load_handler("ssm_replicator", "settings")


def test_settings_default_the_powertools_names(env):
    # Given no POWERTOOLS_SERVICE_NAME or POWERTOOLS_METRICS_NAMESPACE
    # When the settings are parsed
    settings = load_handler("ssm_replicator", "settings").SETTINGS

    # Then the contract's defaults apply
    assert (settings.service_name, settings.metrics_namespace) == ("ssm-replicator", "OrdersDr")
