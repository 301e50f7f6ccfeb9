"""The replicator's configuration, read from the environment once, at import.

A bad deployment fails on cold start, naming the variable, instead of on the
first event that happens to need it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    source_region: str
    source_path: str
    target_region: str
    target_path: str
    target_key_id: str
    service_name: str
    metrics_namespace: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            source_region=_required(env, "AWS_REGION"),
            source_path=_path(env, "SOURCE_PATH"),
            target_region=_required(env, "TARGET_REGION"),
            target_path=_path(env, "TARGET_PATH"),
            target_key_id=_required(env, "TARGET_KEY_ID"),
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or "ssm-replicator",
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or "OrdersDr",
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ValueError(f"environment variable {name} is missing or empty")
    return value


def _path(env: Mapping[str, str], name: str) -> str:
    path = _required(env, name)
    # Names map by swapping prefixes, which is only unambiguous between whole path segments.
    # "/" alone would make reconcile own, and delete from, the whole regional store.
    if not (path.startswith("/") and path.endswith("/")) or path == "/":
        raise ValueError(
            f"environment variable {name} must start and end with '/' below the root, got {path!r}"
        )
    return path


SETTINGS = Settings.from_env(os.environ)
