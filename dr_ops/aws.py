"""boto3 clients from the caller's own credentials (boto3's default chain, or ``--profile``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

T = TypeVar("T")

# Bounded retries and timeouts: a preflight must answer, not hang on an unreachable endpoint.
_CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20)

AwsError = (ClientError, BotoCoreError)


class AwsClients:
    """One client per service and region, made once and reused (a stubbed one stays stubbed)."""

    def __init__(self, session: boto3.session.Session) -> None:
        self._session = session
        self._clients: dict[tuple[str, str], Any] = {}

    @classmethod
    def default(cls, profile: str | None) -> AwsClients:
        return cls(boto3.session.Session(profile_name=profile))

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(service, region_name=region, config=_CLIENT_CONFIG)
        return self._clients[key]

    def partition(self, region: str) -> str:
        return str(self._session.get_partition_for_region(region))


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def or_none(call: Callable[[], T], *absent: str) -> T | None:
    """The call's answer, or None when it fails with one of the not-found codes ``absent``."""
    try:
        return call()
    except ClientError as error:
        if error_code(error) in absent:
            return None
        raise


def describe(error: Exception) -> str:
    """An AWS error as one short phrase: the code and AWS's message, or botocore's text."""
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message", "")
        return f"{error_code(error)}: {message}".rstrip(": ")
    return str(error)
