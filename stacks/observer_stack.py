from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from dr_constructs.alert_forwarding import AlertForwarder, subscribe_forwarder
from dr_constructs.alert_topic import AlertTopic
from dr_constructs.app_key import AppKey
from dr_constructs.deploy_time_lookup import DeployTimeLookup
from dr_constructs.dr_drill import DrDrill
from dr_constructs.drill_probes import PROBES
from dr_constructs.evidence_bucket import EvidenceBucket
from dr_constructs.game_day import GameDay, GameDayTargets
from dr_constructs.replication_alarms import ReplicationAlarms
from dr_constructs.secure_bucket import ReplicationToRegion
from dr_constructs.service_function import FunctionDefaults, log_retention
from dr_constructs.unified_dashboard import DashboardRegion, ObjectReplication, UnifiedDashboard
from dr_core.config import DRILL_STORES, GLOBAL_REGION, AppConfig, EvidenceLockMode
from dr_core.game_day import DYNAMODB_PAUSE, EXPERIMENTS, PAUSED_STORE, PRIMARY_PATH, S3_PAUSE, GameDayPlan
from dr_core.naming import Kind, pascal
from dr_core.rto import RtoBudget
from dr_core.shared_names import SharedNames, alarm_arn


def _targets_markdown(config: AppConfig, rto: RtoBudget) -> str:
    rpo = "\n".join(
        f"| {store} | {seconds:g} s |" for store, seconds in config.monitoring.rpo_targets.items()
    )
    return (
        "## Recovery targets\n"
        f"**RTO budget** (target {config.traffic.rto_target_seconds} s): {rto.describe()}\n\n"
        "| store | RPO target |\n|---|---|\n" + rpo
    )


def _lock_retention(config: AppConfig) -> s3.ObjectLockRetention:
    days = cdk.Duration.days(config.operations.evidence_retention_days)
    if config.operations.evidence_lock_mode is EvidenceLockMode.COMPLIANCE:
        return s3.ObjectLockRetention.compliance(days)
    return s3.ObjectLockRetention.governance(days)


class ObserverStack(cdk.Stack):
    """The unified cross-region view, in the observer region (never the primary, so it outlives
    the primary's outage): the dashboard, the DR drill with its alarms, the game day, the evidence
    bucket both report into, and the observer's alert topic, which also receives the routing
    stack's health-check alarms from us-east-1.

    Deployed last: it reads the routing stack's health check IDs and the primary's FIS experiment
    template IDs at deploy time, by name.
    """

    def __init__(
        self, scope: Construct, id: str, *, config: AppConfig, names: SharedNames, rto: RtoBudget
    ) -> None:
        here, routing_region = config.observer_region, config.global_region
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=config.account, region=here),
            stack_name=names.observer_stack,
            description="Order-processing DR platform: the DR drill and the cross-region dashboard",
        )
        naming, account = config.naming, config.account
        key = AppKey(
            self,
            "Key",
            alias=names.observer_key_alias,
            region=here,
            account=account,
            via_services=("sns", "sqs", "s3"),
        )
        key.allow_cloudwatch_logs()
        defaults = FunctionDefaults(
            log_key=key.key,
            log_retention=log_retention(config.compute.log_retention_days),
            powertools_layer_version=config.compute.powertools_layer_version,
        )
        self.alert_topic = AlertTopic(
            self,
            "Alerts",
            topic_name=names.observer_alert_topic,
            key=key,
            email=config.alerting.email,
            https_endpoint=config.alerting.https_endpoint,
        )
        routing_topic_arn = f"arn:{self.partition}:sns:{routing_region}:{account}:{names.routing_alert_topic}"
        if here != routing_region:
            # Health-check alarms must live in us-east-1; their copies reach people from here too.
            forwarder = AlertForwarder(
                self,
                "RoutingAlertForwarder",
                function_name=naming.name(Kind.LAMBDA_FUNCTION, "routing-alert-forwarder", region=here),
                role_name=naming.name(Kind.IAM_ROLE, "routing-alert-forwarder-fn", region=here),
                queue_name=naming.name(Kind.SQS_QUEUE, "routing-alert-forwarder-dlq", region=here),
                topic=self.alert_topic.topic,
                key=key.key,
                source_region=routing_region,
                source_topic_arn=routing_topic_arn,
                defaults=defaults,
                dead_letter_max_age=cdk.Duration.seconds(config.operations.dead_letter_max_age_seconds),
            )
            subscribe_forwarder(
                self,
                "RoutingAlertsToObserver",
                topic_arn=routing_topic_arn,
                topic_region=routing_region,
                forwarder_arn=forwarder.function.function_arn,
            )
        self.evidence = EvidenceBucket(
            self,
            "Evidence",
            bucket_name=names.evidence_bucket,
            access_log_bucket_name=names.evidence_access_log_bucket,
            key=key.key,
            retention=_lock_retention(config),
        )
        health_check_ids = {
            region: self._health_check_id(names, region, defaults)
            for region in (config.primary.name, config.dr.name)
        }
        self.drill = DrDrill(
            self,
            "Drill",
            naming=naming,
            primary=names.primary,
            dr=names.dr,
            orders_table=names.orders_table,
            dr_health_url=config.traffic.health_url(config.dr.name),
            health_check_ids=health_check_ids,
            defaults=defaults,
            alert_topic=self.alert_topic.topic,
            alarm_prefix=naming.name(Kind.ALARM, "orders-observer", region=here),
            rpo_targets={store: config.monitoring.rpo_targets[store] for store in DRILL_STORES},
            every=cdk.Duration.hours(config.operations.drill_every_hours),
            evidence=self.evidence,
            state_machine_name=names.drill_state_machine,
        )
        table_lag_alarm = ReplicationAlarms.table_alarm_name(names.primary.alarm_prefix, config.dr.name)
        bucket_failed, bucket_latency, bucket_pending = ReplicationAlarms.bucket_alarm_names(
            names.primary.alarm_prefix
        )
        regions = (config.primary.name, config.dr.name)
        self.game_day = GameDay(
            self,
            "GameDay",
            naming=naming,
            primary=names.primary,
            dr=names.dr,
            orders_table=names.orders_table,
            template_ids={
                experiment: self._parameter(
                    f"TemplateId{pascal(experiment)}",
                    names.game_day_template_parameter_prefix + experiment,
                    config.primary.name,
                    defaults,
                )
                for experiment in EXPERIMENTS
            },
            targets=GameDayTargets(
                api_name=config.traffic.api_domain,
                zone_name=config.domain,
                regional_names={r: config.traffic.regional_api_domain(r) for r in regions},
                health_urls={r: config.traffic.health_url(r) for r in regions},
                health_check_ids=health_check_ids,
                steady_alarms=(
                    names.game_day_stop_alarm,
                    table_lag_alarm,
                    bucket_failed,
                    bucket_latency,
                    bucket_pending,
                ),
                pause_alarms={DYNAMODB_PAUSE: (table_lag_alarm,), S3_PAUSE: (bucket_latency, bucket_pending)},
            ),
            plan=GameDayPlan.of(config),
            client_secret_name=names.game_day_client_secret,
            defaults=defaults,
            alert_topic=self.alert_topic.topic,
            evidence=self.evidence,
            state_machine_name=names.game_day_state_machine,
        )
        partition = self.partition
        alarm_arns = {
            name: region_names.alarm_arn(name, account=account, partition=partition)
            for region_names, other in ((names.primary, names.dr), (names.dr, names.primary))
            for name in [ReplicationAlarms.table_alarm_name(region_names.alarm_prefix, other.region)]
            + (
                ReplicationAlarms.bucket_alarm_names(region_names.alarm_prefix)
                if region_names is names.primary
                else []
            )
        }
        for unhealthy in names.unhealthy_alarms.values():
            alarm_arns[unhealthy] = alarm_arn(
                unhealthy, region=routing_region, account=account, partition=partition
            )
        lag = names.database_replica_lag_alarm
        alarm_arns[lag] = names.dr.alarm_arn(lag, account=account, partition=partition)
        for alarm in self.drill.alarms.values():
            alarm_arns[alarm.node.path] = alarm.alarm_arn
        self.dashboard = UnifiedDashboard(
            self,
            "Dashboard",
            dashboard_name=names.dashboard,
            primary=DashboardRegion(
                name=config.primary.name,
                order_function=names.primary.order_function,
                health_check_id=health_check_ids[config.primary.name],
            ),
            dr=DashboardRegion(
                name=config.dr.name,
                order_function=names.dr.order_function,
                health_check_id=health_check_ids[config.dr.name],
            ),
            table_name=names.orders_table,
            database_replica=names.database_replica,
            objects=ObjectReplication(
                source_bucket=names.primary.data_bucket,
                destination_bucket=names.dr.data_bucket,
                rule_id=ReplicationToRegion.RULE_ID,
            ),
            targets_markdown=_targets_markdown(config, rto),
            drill_probes=PROBES,
            drill_stores=DRILL_STORES,
            rto_budget_seconds=rto.automatic_seconds,
            game_day_experiment=PRIMARY_PATH,
            paused_stores=list(PAUSED_STORE.values()),
            alarm_arns=alarm_arns,
        )
        cdk.CfnOutput(
            self,
            "DashboardUrl",
            value=(
                f"https://{here}.console.aws.amazon.com/cloudwatch/home"
                f"?region={here}#dashboards:name={names.dashboard}"
            ),
        )

    def _health_check_id(self, names: SharedNames, region: str, defaults: FunctionDefaults) -> str:
        """The routing stack's check of ``region``'s health route, read by its parameter's exact name."""
        return self._parameter(
            f"HealthCheckId{pascal(region)}",
            names.health_check_id_parameter_prefix + region,
            GLOBAL_REGION,
            defaults,
        )

    def _parameter(self, id: str, parameter: str, region: str, defaults: FunctionDefaults) -> str:
        """A value another stack published as an SSM parameter, read at deploy time by its exact name."""
        return DeployTimeLookup.ssm_parameter(
            self,
            id,
            name=parameter,
            region=region,
            log_key=defaults.log_key,
            log_retention=defaults.log_retention,
        ).value
