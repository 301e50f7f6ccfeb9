"""(e) No resource the templates name explicitly already exists outside the stack that declares it.

CloudFormation cannot create a resource whose fixed name is taken, and fails the
whole stack late in the deploy. Each resource type maps to the property holding its
name and a read-only call that finds an existing resource of that name: extend
``FIXED_NAMES`` to cover another type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dr_ops.assembly import CloudAssembly, Resource, StackArtifact
from dr_ops.aws import AwsClients, error_code, or_none
from dr_ops.checks import Check, Outcome, failed, passed
from dr_ops.context import Invocation
from dr_ops.stack_resources import StackResources


@dataclass(frozen=True)
class Existing:
    """A resource found under the name, by every ID CloudFormation may report for it."""

    identifiers: frozenset[str]
    # Set when nobody here can own the name (an S3 bucket of another account).
    taken_elsewhere: str = ""


@dataclass(frozen=True)
class Place:
    aws: AwsClients
    region: str
    account: str

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.region)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.aws.partition(self.region)}:{service}:{self.region}:{self.account}:{resource}"


# (where, name, the resource's properties) -> what exists under that name, or None.
Finder = Callable[[Place, str, Mapping[str, Any]], Existing | None]


def _stack_region(_properties: Mapping[str, Any], region: str) -> tuple[str, ...]:
    return (region,)


@dataclass(frozen=True)
class NamedType:
    name_property: str
    find: Finder
    # Every region the name must be free in: the stack's, or its replicas' too.
    regions: Callable[[Mapping[str, Any], str], tuple[str, ...]] = _stack_region


def _bucket(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    try:
        place.client("s3").head_bucket(Bucket=name)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchBucket", "NotFound"):
            return None
        if error_code(error) in ("403", "AccessDenied"):
            return Existing(frozenset(), "S3 bucket names are global and another account holds this one")
        raise
    return Existing(frozenset({name}))


def _table(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    dynamodb = place.client("dynamodb")
    table = or_none(lambda: dynamodb.describe_table(TableName=name)["Table"], "ResourceNotFoundException")
    return Existing(frozenset({name, table["TableArn"]})) if table else None


def _replica_regions(properties: Mapping[str, Any], region: str) -> tuple[str, ...]:
    # A global table is created with all its replicas: each region must be free of the name.
    replicas = [r.get("Region") for r in properties.get("Replicas", []) if isinstance(r, Mapping)]
    return tuple(dict.fromkeys(r for r in replicas if isinstance(r, str))) or (region,)


def _queue(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    sqs = place.client("sqs")
    url = or_none(
        lambda: sqs.get_queue_url(QueueName=name)["QueueUrl"],
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    )
    return Existing(frozenset({name, url})) if url else None


def _topic(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    arn = place.arn("sns", name)
    sns = place.client("sns")
    found = or_none(lambda: sns.get_topic_attributes(TopicArn=arn), "NotFound")
    return Existing(frozenset({name, arn})) if found else None


def _function(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    client = place.client("lambda")
    function = or_none(
        lambda: client.get_function_configuration(FunctionName=name), "ResourceNotFoundException"
    )
    return Existing(frozenset({name, function["FunctionArn"]})) if function else None


def _role(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    iam = place.client("iam")
    role = or_none(lambda: iam.get_role(RoleName=name)["Role"], "NoSuchEntity")
    return Existing(frozenset({name, role["Arn"]})) if role else None


def _alias(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    kms = place.client("kms")
    key = or_none(lambda: kms.describe_key(KeyId=name), "NotFoundException")
    return Existing(frozenset({name})) if key else None


def _secret(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    secrets = place.client("secretsmanager")
    secret = or_none(lambda: secrets.describe_secret(SecretId=name), "ResourceNotFoundException")
    if not secret:
        return None
    arn = str(secret["ARN"])
    # A replica belongs to whoever owns its primary, whose ARN differs only in the region.
    primary = str(secret.get("PrimaryRegion") or place.region)
    return Existing(frozenset({name, arn, arn.replace(f":{place.region}:", f":{primary}:", 1)}))


def _secret_regions(properties: Mapping[str, Any], region: str) -> tuple[str, ...]:
    replicas = [r.get("Region") for r in properties.get("ReplicaRegions", []) if isinstance(r, Mapping)]
    return tuple(dict.fromkeys([region, *(r for r in replicas if isinstance(r, str))]))


def _db_instance(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    rds = place.client("rds")
    answer = or_none(
        lambda: rds.describe_db_instances(DBInstanceIdentifier=name),
        "DBInstanceNotFound",
        "DBInstanceNotFoundFault",
    )
    if not answer:
        return None
    instance = answer["DBInstances"][0]
    return Existing(frozenset({name, instance["DBInstanceIdentifier"], instance["DBInstanceArn"]}))


def _db_subnet_group(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    rds = place.client("rds")
    # RDS stores subnet group names in lower case.
    answer = or_none(
        lambda: rds.describe_db_subnet_groups(DBSubnetGroupName=name.lower()), "DBSubnetGroupNotFoundFault"
    )
    return Existing(frozenset({name, name.lower()})) if answer else None


def _parameter(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    ssm = place.client("ssm")
    found = or_none(lambda: ssm.get_parameter(Name=name), "ParameterNotFound")
    return Existing(frozenset({name})) if found else None


def _log_group(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    pages = place.client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
    # The call matches a prefix; only the exact name collides.
    found = any(group["logGroupName"] == name for page in pages for group in page["logGroups"])
    return Existing(frozenset({name})) if found else None


def _state_machine(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    arn = place.arn("states", f"stateMachine:{name}")
    sfn = place.client("stepfunctions")
    found = or_none(lambda: sfn.describe_state_machine(stateMachineArn=arn), "StateMachineDoesNotExist")
    return Existing(frozenset({name, arn})) if found else None


def _schedule(place: Place, name: str, properties: Mapping[str, Any]) -> Existing | None:
    group = properties.get("GroupName")
    group = group if isinstance(group, str) else "default"
    scheduler = place.client("scheduler")
    schedule = or_none(
        lambda: scheduler.get_schedule(Name=name, GroupName=group), "ResourceNotFoundException"
    )
    return Existing(frozenset({name, schedule["Arn"]})) if schedule else None


def _rule(place: Place, name: str, properties: Mapping[str, Any]) -> Existing | None:
    bus = properties.get("EventBusName")
    bus = bus if isinstance(bus, str) else "default"
    events = place.client("events")
    rule = or_none(lambda: events.describe_rule(Name=name, EventBusName=bus), "ResourceNotFoundException")
    # CloudFormation reports a rule by name, or "bus|name" for rules on a custom bus.
    return Existing(frozenset({name, f"{bus}|{name}", rule["Arn"]})) if rule else None


def _alarm(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    answer = place.client("cloudwatch").describe_alarms(
        AlarmNames=[name], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
    )
    alarms = [*answer.get("MetricAlarms", []), *answer.get("CompositeAlarms", [])]
    return Existing(frozenset({name, *(alarm["AlarmArn"] for alarm in alarms)})) if alarms else None


def _dashboard(place: Place, name: str, _properties: Mapping[str, Any]) -> Existing | None:
    cloudwatch = place.client("cloudwatch")
    dashboard = or_none(lambda: cloudwatch.get_dashboard(DashboardName=name), "ResourceNotFound")
    return Existing(frozenset({name, dashboard["DashboardArn"]})) if dashboard else None


FIXED_NAMES: Mapping[str, NamedType] = {
    "AWS::S3::Bucket": NamedType("BucketName", _bucket),
    "AWS::DynamoDB::GlobalTable": NamedType("TableName", _table, _replica_regions),
    "AWS::SQS::Queue": NamedType("QueueName", _queue),
    "AWS::SNS::Topic": NamedType("TopicName", _topic),
    "AWS::Lambda::Function": NamedType("FunctionName", _function),
    "AWS::IAM::Role": NamedType("RoleName", _role),
    "AWS::KMS::Alias": NamedType("AliasName", _alias),
    "AWS::SecretsManager::Secret": NamedType("Name", _secret, _secret_regions),
    "AWS::RDS::DBInstance": NamedType("DBInstanceIdentifier", _db_instance),
    "AWS::RDS::DBSubnetGroup": NamedType("DBSubnetGroupName", _db_subnet_group),
    "AWS::SSM::Parameter": NamedType("Name", _parameter),
    "AWS::Logs::LogGroup": NamedType("LogGroupName", _log_group),
    "AWS::StepFunctions::StateMachine": NamedType("StateMachineName", _state_machine),
    "AWS::Scheduler::Schedule": NamedType("Name", _schedule),
    "AWS::Events::Rule": NamedType("Name", _rule),
    "AWS::CloudWatch::Alarm": NamedType("AlarmName", _alarm),
    "AWS::CloudWatch::Dashboard": NamedType("DashboardName", _dashboard),
}


@dataclass(frozen=True)
class FixedName:
    resource: Resource
    kind: NamedType
    name: str
    region: str


def fixed_names(stack: StackArtifact) -> tuple[list[FixedName], int]:
    """The plain-string fixed names of a stack, one per region they need; and how many names
    were computed (an intrinsic function), which only a deploy can resolve."""
    names: list[FixedName] = []
    computed = 0
    for resource in stack.resources:
        kind = FIXED_NAMES.get(resource.type)
        value = resource.properties.get(kind.name_property) if kind else None
        if kind is None or value is None:
            continue
        if not isinstance(value, str):
            computed += 1
            continue
        regions = kind.regions(resource.properties, stack.region)
        names.extend(FixedName(resource, kind, value, region) for region in regions)
    return names, computed


def fixed_name_checks(
    aws: AwsClients, assembly: CloudAssembly, owners: StackResources, invocation: Invocation
) -> list[Check]:
    return [_stack_check(aws, stack, owners, invocation) for stack in assembly.stacks]


def _conflicts(
    aws: AwsClients, stack: StackArtifact, names: list[FixedName], owners: StackResources
) -> Iterator[tuple[FixedName, Existing]]:
    for fixed in names:
        place = Place(aws, fixed.region, stack.account)
        existing = fixed.kind.find(place, fixed.name, fixed.resource.properties)
        if existing is None:
            continue
        owner_holds = owners.physical_id(stack, fixed.resource.logical_id)
        if existing.taken_elsewhere or owner_holds not in existing.identifiers:
            yield fixed, existing


def _stack_check(
    aws: AwsClients, stack: StackArtifact, owners: StackResources, invocation: Invocation
) -> Check:
    def run() -> Outcome:
        names, computed = fixed_names(stack)
        conflicts = list(_conflicts(aws, stack, names, owners))
        if conflicts:
            return _failure(stack, conflicts, invocation)
        counts = Counter(fixed.resource.type.removeprefix("AWS::") for fixed in names)
        found = "no fixed names"
        if counts:
            found = f"{len(names)} names free or already in {stack.stack_name}: "
            found += ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
        if computed:
            found += f"; {computed} computed name{'s' * (computed > 1)} left to the deploy"
        return passed(found)

    return Check(f"fixed names {stack.artifact_id}", run)


def _failure(
    stack: StackArtifact, conflicts: list[tuple[FixedName, Existing]], invocation: Invocation
) -> Outcome:
    found = "; ".join(
        f"{fixed.resource.type} {fixed.name} in {fixed.region} "
        + (existing.taken_elsewhere or f"exists outside stack {stack.stack_name}")
        for fixed, existing in conflicts
    )
    fixes = []
    if any(not existing.taken_elsewhere for _, existing in conflicts):
        command = f"./dev cdk import {stack.artifact_id} {invocation.shell_context()}".rstrip()
        fixes.append(f"delete what exists outside the stack, or adopt it into the stack with {command}")
    if any(existing.taken_elsewhere for _, existing in conflicts):
        fixes.append("pick another suffix or environment (-c suffix=...) so the names change")
    return failed(found, "; ".join(fixes))
