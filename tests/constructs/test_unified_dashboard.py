"""UnifiedDashboard: one dashboard for both regions side by side, every metric naming the region
that publishes it, so one dashboard in us-east-1 shows both (seed failure 16)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from dr_constructs.unified_dashboard import DashboardRegion, ObjectReplication, UnifiedDashboard
from tests.cfn import only, render
from tests.conftest import ACCOUNT, bare_stack, masked

PRIMARY = DashboardRegion(
    name="us-east-1", order_function="dev-us-east-1-orders-v1", health_check_id="primary-check"
)
DR = DashboardRegion(name="us-west-2", order_function="dev-us-west-2-orders-v1", health_check_id="dr-check")
TABLE = "dev-us-east-1-orders-v1"
DATABASE_REPLICA = "dev-us-west-2-orders-db-replica-v1"
OBJECTS = ObjectReplication(
    source_bucket="source-bucket", destination_bucket="replica-bucket", rule_id="rule-1"
)
PROBES = ("dynamodb", "s3")
STORES = ("dynamodb", "s3")
ALARM_ARNS = {
    "table lag": f"arn:aws:cloudwatch:us-west-2:{ACCOUNT}:alarm:dev-us-west-2-table-lag-v1",
    "unhealthy": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:dev-us-east-1-unhealthy-v1",
}
TARGETS = "## Recovery targets\n**RTO budget 45 s** (target 60 s)"


def _dashboard(stack: cdk.Stack, *, primary: DashboardRegion, dr: DashboardRegion) -> UnifiedDashboard:
    return UnifiedDashboard(
        stack,
        "Dashboard",
        dashboard_name="dev-us-east-1-orders-dr-v1",
        primary=primary,
        dr=dr,
        table_name=TABLE,
        objects=OBJECTS,
        database_replica=DATABASE_REPLICA,
        targets_markdown=TARGETS,
        drill_probes=PROBES,
        drill_stores=STORES,
        rto_budget_seconds=45,
        game_day_experiment="primary-path",
        paused_stores=("dynamodb", "s3"),
        alarm_arns=ALARM_ARNS,
    )


@pytest.fixture(scope="module")
def template(config) -> Template:
    # Given the dashboard in us-east-1, for a primary in us-east-1 and DR in us-west-2
    stack = bare_stack(config, "us-east-1")
    _dashboard(stack, primary=PRIMARY, dr=DR)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def widgets(template) -> list[dict[str, Any]]:
    (_, dashboard) = only(template, "AWS::CloudWatch::Dashboard")
    return json.loads(render(dashboard["Properties"]["DashboardBody"]))["widgets"]


def _metrics(widgets: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """Every graphed metric as (namespace, name, dimensions, options such as region and label)."""
    found = []
    for widget in widgets:
        for namespace, name, *rest in widget["properties"].get("metrics", []):
            *dimensions, options = rest
            found.append(
                (namespace, name, dict(zip(dimensions[::2], dimensions[1::2], strict=True)), options)
            )
    return found


def _metric(widgets, namespace: str, name: str, **dimensions: str) -> dict[str, Any]:
    (options,) = [o for ns, n, d, o in _metrics(widgets) if (ns, n, d) == (namespace, name, dimensions)]
    return options


def test_one_dashboard_by_name_over_the_last_three_hours(template, widgets):
    # Then there is one dashboard, named as given, opening on the last three hours
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "dev-us-east-1-orders-dr-v1"}
    )
    (_, dashboard) = only(template, "AWS::CloudWatch::Dashboard")
    assert json.loads(render(dashboard["Properties"]["DashboardBody"]))["start"] == "-PT3H"


def test_every_metric_names_the_region_that_publishes_it(widgets):
    # Then no metric falls back to the dashboard's own region (seed 16: DR metrics shown as empty)
    metrics = _metrics(widgets)
    assert metrics
    assert [
        (ns, n, d) for ns, n, d, options in metrics if options.get("region") not in ("us-east-1", "us-west-2")
    ] == []


@pytest.mark.parametrize("region", [PRIMARY, DR], ids=lambda r: r.name)
@pytest.mark.parametrize("name", ["Invocations", "Errors", "Throttles"])
def test_each_regions_order_function_is_graphed_from_that_region(widgets, region, name):
    # Then each region's order function metric is read in that region
    options = _metric(widgets, "AWS/Lambda", name, FunctionName=region.order_function)
    assert (options["region"], options["stat"], options["period"]) == (region.name, "Sum", 60)


@pytest.mark.parametrize("region", [PRIMARY, DR], ids=lambda r: r.name)
def test_both_health_checks_are_graphed_from_us_east_1_where_route53_publishes_them(widgets, region):
    # Then each health check's status is read in us-east-1, labelled with the region it checks
    options = _metric(widgets, "AWS/Route53", "HealthCheckStatus", HealthCheckId=region.health_check_id)
    assert (options["region"], options["stat"]) == ("us-east-1", "Minimum")
    assert options["label"] == f"{region.name} healthy (1) / unhealthy (0)"


@pytest.mark.parametrize(
    ("sending", "receiving"), [(PRIMARY, DR), (DR, PRIMARY)], ids=["to dr", "to primary"]
)
def test_table_replication_latency_is_graphed_from_the_sending_region(widgets, sending, receiving):
    # Then each direction's lag is read in the region that sends the change
    options = _metric(
        widgets, "AWS/DynamoDB", "ReplicationLatency", ReceivingRegion=receiving.name, TableName=TABLE
    )
    assert options["region"] == sending.name


@pytest.mark.parametrize(
    "name", ["ReplicationLatency", "OperationsPendingReplication", "OperationsFailedReplication"]
)
def test_object_replication_is_graphed_from_the_source_buckets_region(widgets, name):
    # Then the rule's replication metrics are read in the source bucket's region
    options = _metric(
        widgets,
        "AWS/S3",
        name,
        DestinationBucket="replica-bucket",
        RuleId="rule-1",
        SourceBucket="source-bucket",
    )
    assert options["region"] == PRIMARY.name


def test_the_database_replicas_lag_is_graphed_from_the_dr_region_where_rds_publishes_it(widgets):
    # Then the replica's ReplicaLag is read in the DR region, its worst minute, labelled by direction
    options = _metric(widgets, "AWS/RDS", "ReplicaLag", DBInstanceIdentifier=DATABASE_REPLICA)
    assert (options["region"], options["stat"], options["period"]) == (DR.name, "Maximum", 60)
    assert options["label"] == f"{PRIMARY.name} -> {DR.name}"


def test_the_replication_row_fits_the_dashboards_width(widgets):
    # Given the row of the three stores' replication graphs
    (row_y,) = {w["y"] for w in widgets if w["properties"].get("title") == "PostgreSQL replica lag (s)"}
    row = [w for w in widgets if w["y"] == row_y]
    # Then DynamoDB, PostgreSQL and S3 share its 24 columns side by side
    assert [w["properties"]["title"] for w in row] == [
        "DynamoDB replication latency (ms)",
        "PostgreSQL replica lag (s)",
        "S3 replication",
    ]
    assert [(w["x"], w["width"]) for w in row] == [(0, 8), (8, 8), (16, 8)]


def test_the_drills_probe_results_and_measured_lags_are_graphed_from_the_dashboards_region(widgets):
    # Then each probe's result and each store's lag, as the drill reports them here
    for probe in PROBES:
        options = _metric(widgets, "OrdersDr", "DrillProbeSuccess", Probe=probe, service="dr_drill")
        assert (options["region"], options["stat"], options["label"]) == ("us-east-1", "Minimum", probe)
    for store in STORES:
        options = _metric(widgets, "OrdersDr", "DrillReplicationLagSeconds", Store=store, service="dr_drill")
        assert (options["region"], options["stat"], options["label"]) == ("us-east-1", "Maximum", store)


def _graph(widgets, title: str) -> dict[str, Any]:
    (widget,) = [w for w in widgets if w["properties"].get("title") == title]
    return widget["properties"]


def test_the_game_days_measured_rto_trends_against_the_budget_over_90_days(widgets):
    # Then the measured RTO of the primary-path game day is graphed with the budget as a line
    graph = _graph(widgets, "Game day: measured RTO (s) against the budget")
    options = _metric(
        widgets, "OrdersDr", "GameDayMeasuredRtoSeconds", Experiment="primary-path", service="game_day"
    )
    assert (options["region"], options["stat"], options["period"]) == ("us-east-1", "Maximum", 86400)
    assert graph["annotations"]["horizontal"] == [
        {"value": 45, "label": "RTO budget", "color": "#d62728", "yAxis": "left"}
    ]
    assert graph["start"] == "-P90D"


@pytest.mark.parametrize("store", ["dynamodb", "s3"])
def test_the_rpo_under_fault_and_writes_at_risk_trend_per_paused_store(widgets, store):
    for name in ("GameDayRpoUnderFaultSeconds", "GameDayWritesAtRisk"):
        options = _metric(widgets, "OrdersDr", name, Store=store, service="game_day")
        assert (options["region"], options["stat"]) == ("us-east-1", "Maximum")
    assert _graph(widgets, "Game day: RPO under a replication pause")["start"] == "-P90D"


def test_the_drills_measured_lag_trends_over_90_days(widgets):
    assert _graph(widgets, "DR drill: measured replication lag (s)")["start"] == "-P90D"


def test_the_alarm_widget_shows_every_given_alarm_of_both_regions(widgets):
    # Then the alarm-status widget lists every given alarm, in order
    (alarms,) = [w for w in widgets if w["type"] == "alarm"]
    assert alarms["properties"]["alarms"] == list(ALARM_ARNS.values())


def test_the_recovery_targets_are_shown_as_given(widgets):
    # Then the recovery targets are shown as given
    (text,) = [w for w in widgets if w["type"] == "text"]
    assert text["properties"]["markdown"] == TARGETS


def test_a_dashboard_of_one_region_twice_is_refused(stack_in):
    # Given the same region as primary and DR, When the dashboard is made, Then it is refused
    with pytest.raises(ValueError, match="UnifiedDashboard needs two different regions"):
        _dashboard(stack_in("us-east-1"), primary=PRIMARY, dr=PRIMARY)


def test_template_matches_snapshot(template, snapshot_json):
    assert masked(template.to_json()) == snapshot_json
