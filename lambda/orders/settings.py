"""Configuration from the environment, read once per cold start: a bad deploy fails at init."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(RuntimeError):
    pass


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is missing or empty")
    return value


@dataclass(frozen=True)
class Settings:
    table_name: str
    # The replica this function uses: its own region's, so it keeps working when the other region is down.
    table_region: str
    service_name: str
    metrics_namespace: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            table_name=_required(env, "TABLE_NAME"),
            table_region=_required(env, "TABLE_REGION"),
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or "orders",
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE") or "OrdersDr",
        )


SETTINGS = Settings.from_env(os.environ)
