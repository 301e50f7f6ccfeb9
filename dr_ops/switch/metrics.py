"""CloudWatch reads for the pre-checks: a window's peak, or its latest datapoint.

A read that cannot answer raises Unmeasured with the reason: the check then says UNKNOWN, never
PASS. A region whose CloudWatch did not answer at all is not asked again in the same run (each
attempt would wait out the client's timeouts and retries while the operator waits on a failover).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from dr_ops.aws import AwsClients, describe

# What an endpoint that does not answer raises, once botocore's retries are spent.
_NO_ANSWER = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


class Unmeasured(Exception):
    """Why a metric has no value: unreadable, or no datapoints in the window."""


@dataclass(frozen=True)
class Metric:
    region: str
    namespace: str
    name: str
    # In the order the metric was published with: CloudWatch matches them as a set, moto in order.
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period_seconds: int = 60

    def describe(self) -> str:
        dimensions = ", ".join(f"{key}={value}" for key, value in self.dimensions)
        return f"{self.namespace} {self.name} {self.stat} ({dimensions}) in {self.region}"


@dataclass(frozen=True)
class Datapoint:
    at: datetime
    value: float


class CloudWatchReader:
    def __init__(self, aws: AwsClients) -> None:
        self._aws = aws
        self._unreachable: dict[str, str] = {}

    def peak(self, metric: Metric, start: datetime, end: datetime) -> float:
        """The highest datapoint in [start, end)."""
        return max(point.value for point in self._points(metric, start, end))

    def latest(self, metric: Metric, start: datetime, end: datetime) -> Datapoint:
        return max(self._points(metric, start, end), key=lambda point: point.at)

    def _points(self, metric: Metric, start: datetime, end: datetime) -> list[Datapoint]:
        if metric.region in self._unreachable:
            raise Unmeasured(
                f"{metric.region}'s CloudWatch did not answer ({self._unreachable[metric.region]})"
            )
        try:
            points = list(self._read(metric, start, end))
        except (ClientError, BotoCoreError) as error:
            if isinstance(error, _NO_ANSWER):
                self._unreachable[metric.region] = describe(error)
            raise Unmeasured(f"cannot read {metric.describe()}: {describe(error)}") from None
        if not points:
            minutes = (end - start).total_seconds() / 60
            raise Unmeasured(f"no datapoints of {metric.describe()} in the last {minutes:g} min")
        return points

    def _read(self, metric: Metric, start: datetime, end: datetime) -> Iterator[Datapoint]:
        cloudwatch = self._aws.client("cloudwatch", metric.region)
        query: dict[str, Any] = {
            "Id": "m",
            "MetricStat": {
                "Metric": {
                    "Namespace": metric.namespace,
                    "MetricName": metric.name,
                    "Dimensions": [{"Name": key, "Value": value} for key, value in metric.dimensions],
                },
                "Period": metric.period_seconds,
                "Stat": metric.stat,
            },
        }
        request: dict[str, Any] = {"MetricDataQueries": [query], "StartTime": start, "EndTime": end}
        while True:
            answer = cloudwatch.get_metric_data(**request)
            for result in answer["MetricDataResults"]:
                for at, value in zip(result["Timestamps"], result["Values"], strict=True):
                    yield Datapoint(at, float(value))
            if not answer.get("NextToken"):
                return
            request["NextToken"] = answer["NextToken"]


def window(end: datetime, *, minutes: float) -> tuple[datetime, datetime]:
    return end - timedelta(minutes=minutes), end
