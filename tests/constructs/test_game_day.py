"""GameDay: the observer's state machine that runs one FIS experiment in the primary, measures it,
always stops it and (primary path) watches traffic come back, then reports; four functions with
their own least-privilege roles. Read from the observer stack as the app synthesizes it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from dr_core.game_day import GameDayPlan
from tests.cfn import at_path, render

PATH = "Observer/GameDay"
FUNCTIONS = ("Experiment", "Watch", "Pause", "Report")


@pytest.fixture(scope="module")
def definition(observer: Template) -> dict[str, Any]:
    (_, machine) = at_path(observer, f"{PATH}/StateMachine/Resource")
    text = render(machine["Properties"]["DefinitionString"])
    return json.loads(re.sub(r"<[^>]+>", "function", text))


def _function(observer: Template, name: str) -> dict[str, Any]:
    (_, function) = at_path(observer, f"{PATH}/{name}Function/Function/Resource")
    return function["Properties"]


def _statements(observer: Template, name: str) -> list[dict[str, Any]]:
    (_, policy) = at_path(observer, f"{PATH}/{name}Function/Role/DefaultPolicy/Resource")
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _actions(observer: Template, name: str) -> dict[str, Any]:
    """action -> its resources, rendered."""
    found: dict[str, Any] = {}
    for statement in _statements(observer, name):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            found.setdefault(action, []).extend(
                render(statement["Resource"])
                if isinstance(statement["Resource"], list)
                else [render(statement["Resource"])]
            )
    return found


def test_it_checks_the_steady_state_before_it_breaks_anything(definition):
    states = definition["States"]
    assert definition["StartAt"] == "Begin"
    assert states["Begin"]["Parameters"] == {
        "experiment.$": "$.experiment",
        "game_day_id.$": "$$.Execution.Name",
    }
    assert states["Begin"]["Next"] == "Preflight"
    (steady,) = states["Steady"]["Choices"]
    assert steady == {"Variable": "$.preflight.steady", "BooleanEquals": True, "Next": "StartExperiment"}
    # An unsteady world is reported, never broken further
    assert states["Steady"]["Default"] == "Report"


def test_the_primary_path_is_measured_then_stopped_then_traffic_watched_back(definition):
    states = definition["States"]
    (primary_path,) = states["Experiment"]["Choices"]
    assert (primary_path["StringEquals"], primary_path["Next"]) == ("primary-path", "MeasureFailover")
    assert states["MeasureFailover"]["Next"] == "StopExperiment"
    assert states["StopExperiment"]["Next"] == "AfterStop"
    (back,) = states["AfterStop"]["Choices"]
    assert back["Next"] == "Restore"
    assert states["Restore"]["Next"] == "Report"


def test_a_pause_ticks_every_30_s_until_done_then_stops_then_ticks_until_recovered(definition):
    states = definition["States"]
    assert states["Experiment"]["Default"] == "PauseTick"
    assert states["PauseTick"]["Next"] == "AlarmSeen"
    (done,) = states["AlarmSeen"]["Choices"]
    assert done == {"Variable": "$.pause.done", "BooleanEquals": True, "Next": "StopExperiment"}
    assert (states["PauseWait"]["Seconds"], states["PauseWait"]["Next"]) == (30, "PauseTick")
    assert states["AfterStop"]["Default"] == "ResumeTick"
    (recovered,) = states["Recovered"]["Choices"]
    assert recovered["Next"] == "Report"
    assert (states["ResumeWait"]["Seconds"], states["ResumeWait"]["Next"]) == (30, "ResumeTick")
    assert states["PauseTick"]["Parameters"]["phase"] == "paused"
    assert states["ResumeTick"]["Parameters"]["phase"] == "resumed"


@pytest.mark.parametrize(
    ("state", "then"),
    [
        ("Preflight", "Report"),
        ("StartExperiment", "StopExperiment"),
        ("MeasureFailover", "StopExperiment"),
        ("PauseTick", "StopExperiment"),
        ("StopExperiment", "AfterStop"),
        ("Restore", "Report"),
        ("ResumeTick", "Report"),
    ],
)
def test_every_failure_is_caught_and_moves_on_towards_stop_and_report(definition, state, then):
    # Then a failed step keeps its error beside the state: the experiment is still stopped, and reported
    (catch,) = definition["States"][state]["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert catch["Next"] == then
    assert catch["ResultPath"].endswith("_error")


def test_every_task_has_a_timeout_and_gets_the_whole_state(definition):
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        assert 0 < state["TimeoutSeconds"] <= 960, name
        # No JSONPath to a key a failed step never wrote: that error (States.Runtime) is not catchable
        assert state["Parameters"]["state.$"] == "$", name
        # A bad event or configuration is never retried: it fails the same way every time
        assert state["Retry"][0] == {"ErrorEquals": ["GameDayInputError"], "MaxAttempts": 0}, name


def test_no_step_retries_a_measurement(definition):
    # A retried measurement would time something else: it runs once, its failure is caught
    for name in ("MeasureFailover", "Restore"):
        assert len(definition["States"][name]["Retry"]) == 1, name


def test_the_stop_step_knows_whether_it_is_a_retry(definition):
    # A retry cannot tell an experiment that ended by itself from one its first attempt stopped
    parameters = definition["States"]["StopExperiment"]["Parameters"]
    assert parameters["attempt.$"] == "$$.State.RetryCount"


def test_start_waits_as_long_as_its_function_may_run(definition, observer):
    # A task given up on while its attempt runs on could stop the experiment a retry reported running
    timeout = _function(observer, "Experiment")["Timeout"]
    assert definition["States"]["StartExperiment"]["TimeoutSeconds"] == timeout


def test_start_is_retried_so_an_experiment_fis_took_is_never_lost(definition):
    # Given a start cut off after FIS took the experiment (its ID never reached the state)
    # Then the step is retried; its client token gets the same experiment back, for the stop to find
    (_, retry) = definition["States"]["StartExperiment"]["Retry"]
    assert retry["ErrorEquals"] == ["States.ALL"]
    assert retry["MaxAttempts"] == 2


def test_the_verdict_is_the_executions_outcome(definition):
    states = definition["States"]
    assert states["Report"]["Next"] == "Verdict"
    (passed,) = states["Verdict"]["Choices"]
    assert passed == {"Variable": "$.report.status", "StringEquals": "PASSED", "Next": "Passed"}
    assert states["Verdict"]["Default"] == "Failed"
    assert states["Failed"]["Type"] == "Fail"


def test_the_state_machine_is_named_bounded_traced_and_logged_without_data(observer, config):
    (_, machine) = at_path(observer, f"{PATH}/StateMachine/Resource")
    properties = machine["Properties"]
    assert properties["StateMachineName"] == "dev-us-west-2-dr-game-day-v1"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
    definition = json.loads(re.sub(r"<[^>]+>", "x", render(properties["DefinitionString"])))
    # Bounded by the slowest experiment (the S3 pause's windows) and the steps around it
    assert definition["TimeoutSeconds"] == GameDayPlan.of(config).execution_seconds == 12240


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_runs_the_named_step_of_the_game_day_asset(observer, name):
    function = _function(observer, name)
    assert function["Handler"] == "handler.step"
    assert function["FunctionName"] == f"dev-us-west-2-game-day-{name.lower()}-v1"


def test_the_watch_step_knows_the_budget_the_names_and_the_checks(observer, config, names):
    env = _function(observer, "Watch")["Environment"]["Variables"]
    assert env["RTO_BUDGET_SECONDS"] == str(GameDayPlan.of(config).rto_budget_seconds) == "45"
    assert env["API_NAME"] == f"api.{config.domain}"
    assert env["ZONE_NAME"] == config.domain
    assert render(env["REGIONAL_NAMES"]) == (
        f"us-east-1=api-us-east-1.{config.domain},us-west-2=api-us-west-2.{config.domain}"
    )
    assert render(env["HEALTH_URLS"]).count(config.traffic.health_path) == 2
    assert env["CLIENT_SECRET_ID"] == names.game_day_client_secret
    assert "dev-us-east-1-game-day-stop-v1" in json.loads(env["STEADY_ALARMS"])


def test_the_watch_step_measures_the_primary_path_for_as_long_as_its_fault_lasts(observer, config):
    # Given the primary-path FIS action, made to last the fault's start, three phases and a margin
    action = GameDayPlan.of(config).action_seconds["primary-path"]
    env = _function(observer, "Watch")["Environment"]["Variables"]
    fault, phase = int(env["FAULT_TIMEOUT_SECONDS"]), int(env["PHASE_TIMEOUT_SECONDS"])
    # Then the watch gives up on the failover before the fault ends by itself
    assert fault + 3 * phase + 300 == action
    assert int(env["RESTORE_TIMEOUT_SECONDS"]) == 600


def test_the_pause_step_knows_each_pauses_alarms_and_windows(observer, config):
    env = _function(observer, "Pause")["Environment"]["Variables"]
    plan = GameDayPlan.of(config)
    assert json.loads(env["PAUSE_ALARMS"]) == {
        "dynamodb-pause": ["dev-us-east-1-orders-v1-dynamodb-replication-to-us-west-2"],
        "s3-pause": [
            "dev-us-east-1-orders-v1-s3-replication-latency",
            "dev-us-east-1-orders-v1-s3-replication-pending",
        ],
    }
    assert json.loads(env["ALARM_WINDOW_SECONDS"]) == plan.alarm_window
    assert json.loads(env["RESUME_WINDOW_SECONDS"]) == plan.resume_window
    assert env["SETTLE_SECONDS"] == str(plan.settle_seconds) == "480"


def test_the_experiment_step_may_start_only_the_three_templates_and_run_their_experiments(observer):
    actions = _actions(observer, "Experiment")
    templates = [r for r in actions["fis:StartExperiment"] if "experiment-template/" in r]
    assert len(templates) == 3
    assert all(r.startswith("arn:aws:fis:us-east-1:123456789012:experiment-template/") for r in templates)
    experiments = "arn:aws:fis:us-east-1:123456789012:experiment/*"
    assert actions["fis:GetExperiment"] == actions["fis:StopExperiment"] == [experiments]
    assert set(actions) == {
        "fis:StartExperiment",
        "fis:TagResource",
        "fis:GetExperiment",
        "fis:StopExperiment",
        "iam:CreateServiceLinkedRole",
    } | {a for a in actions if a.startswith(("logs:", "xray:"))}


def test_the_experiment_step_may_create_only_fis_service_linked_role(observer):
    # Given an account where FIS never ran: its first StartExperiment creates AWSServiceRoleForFIS
    # as the caller (https://docs.aws.amazon.com/fis/latest/userguide/using-service-linked-roles.html)
    (statement,) = [
        s for s in _statements(observer, "Experiment") if s["Action"] == "iam:CreateServiceLinkedRole"
    ]
    assert render(statement["Resource"]) == (
        "arn:aws:iam::123456789012:role/aws-service-role/fis.amazonaws.com/AWSServiceRoleForFIS"
    )
    assert statement["Condition"] == {"StringEquals": {"iam:AWSServiceName": "fis.amazonaws.com"}}


def test_the_watch_step_reads_only_the_two_checks_the_client_secret_and_the_steady_alarms(observer, names):
    actions = _actions(observer, "Watch")
    assert len(actions["route53:GetHealthCheckStatus"]) == 2
    assert actions["secretsmanager:GetSecretValue"] == [
        f"arn:aws:secretsmanager:us-west-2:123456789012:secret:{names.game_day_client_secret}-??????"
    ]
    assert all(
        r.startswith("arn:aws:cloudwatch:us-east-1:123456789012:alarm:")
        for r in actions["cloudwatch:DescribeAlarms"]
    )


def test_the_watch_step_lists_only_its_own_state_machines_executions(observer):
    # Two game days at once would measure each other's faults: the preflight looks for another
    (_, machine) = at_path(observer, f"{PATH}/StateMachine/Resource")
    arn = f"arn:aws:states:us-west-2:123456789012:stateMachine:{machine['Properties']['StateMachineName']}"
    assert _actions(observer, "Watch")["states:ListExecutions"] == [arn]
    assert _function(observer, "Watch")["Environment"]["Variables"]["STATE_MACHINE_ARN"] == arn


def test_a_pause_tick_has_time_for_every_canary_of_the_longest_window(observer, definition):
    # About 170 canaries in the S3 pause's window, one call each, and the last tick deletes them all
    timeout = _function(observer, "Pause")["Timeout"]
    assert timeout == 300
    # And Step Functions waits for the tick as long as it may run
    for name in ("PauseTick", "ResumeTick"):
        assert definition["States"][name]["TimeoutSeconds"] >= timeout, name


def test_the_pause_step_writes_canaries_only_under_gameday_of_the_primary_bucket(observer, names):
    actions = _actions(observer, "Pause")
    assert (
        actions["s3:PutObject"]
        == actions["s3:DeleteObject"]
        == [f"arn:aws:s3:::{names.primary.data_bucket}/gameday/*"]
    )
    assert actions["s3:GetObject"] == [f"arn:aws:s3:::{names.dr.data_bucket}/gameday/*"]
    assert actions["dynamodb:PutItem"] == [
        f"arn:aws:dynamodb:us-east-1:123456789012:table/{names.orders_table}"
    ]
    assert actions["dynamodb:GetItem"] == [
        f"arn:aws:dynamodb:us-west-2:123456789012:table/{names.orders_table}"
    ]


def test_the_pause_step_may_look_at_the_primarys_experiments_only(observer):
    # A stop condition or an operator may end the experiment first: each tick asks FIS
    assert _actions(observer, "Pause")["fis:GetExperiment"] == [
        "arn:aws:fis:us-east-1:123456789012:experiment/*"
    ]


def test_the_report_step_may_add_game_day_reports_to_the_evidence_bucket_and_publish(observer):
    actions = _actions(observer, "Report")
    (bucket_id, _) = at_path(observer, "Observer/Evidence/Bucket/Resource")
    assert actions["s3:PutObject"] == [f"<{bucket_id}.Arn>/reports/gameday/*"]
    assert "sns:Publish" in actions
    assert not any(
        a.startswith(("s3:Delete", "s3:PutObjectRetention", "s3:BypassGovernanceRetention")) for a in actions
    )


@pytest.mark.parametrize("experiment", ["primary-path", "dynamodb-pause", "s3-pause"])
def test_each_template_id_is_read_from_the_primarys_parameter_at_deploy_time(observer, names, experiment):
    # Given the FIS template IDs published by the primary stack under the same names
    calls = [
        json.loads(render(r["Properties"]["Create"]))
        for r in observer.find_resources("Custom::AWS").values()
        if "Create" in r["Properties"]
    ]
    parameters = [
        c["parameters"]["Name"] for c in calls if c["action"] == "getParameter" and c["region"] == "us-east-1"
    ]
    assert names.game_day_template_parameter_prefix + experiment in parameters
