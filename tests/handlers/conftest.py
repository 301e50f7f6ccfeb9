"""What every handler test shares: fake credentials for both regions, a Lambda context,
an endpoint that never answers, and AWS's documented sample events.

Handlers parse their settings once, at import: set the environment first, then
``load_handler``. moto stands in for AWS where it models the call; where a verdict
depends on AWS semantics moto does not model, the test encodes the documented rule
and names the page.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import tests.moto_speed  # noqa: F401  (patches moto for speed on import)

ACCOUNT = "123456789012"
PRIMARY, DR = "us-east-1", "us-west-2"
EVENTS = Path(__file__).resolve().parent / "events"


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches real AWS: fake credentials, no profile, no endpoint override, no X-Ray."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": PRIMARY,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "OrdersDrTest",
    }.items():
        monkeypatch.setenv(name, value)


@dataclass
class FakeLambdaContext:
    """The parts of Lambda's context object that Powertools and the handlers read."""

    function_name: str = "function"
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 256
    region: str = PRIMARY
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An HTTP endpoint that accepts connections and never answers.

    The kernel completes the TCP handshake from the listen backlog, so a client
    connects at once and then waits on its read timeout: the stalled dependency a
    Lambda function must give up on before its own timeout.
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def sample_event(name: str) -> dict[str, Any]:
    """A sample event, e.g. ``sample_event("orders/http_api_post")``: a JSON file under
    tests/handlers/events/<handler>/, transcribed from the AWS page that the SOURCES.md
    beside it names (AWS's documented examples, not shapes invented here)."""
    return json.loads((EVENTS / f"{name}.json").read_text())
