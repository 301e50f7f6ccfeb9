"""The health function's configuration, read from its environment once, when Lambda loads the code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_REQUIRED = ("TABLE_NAME", "TABLE_REGION", "PARAMETER_PATH")


@dataclass(frozen=True)
class Settings:
    table_name: str
    table_region: str
    parameter_path: str
    service_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        # Failing at import turns a misdeployed function into an init error that names every gap at
        # once, instead of a health check that quietly reports a healthy-looking but wrong answer.
        missing = [name for name in _REQUIRED if not env.get(name)]
        if missing:
            raise RuntimeError(f"missing required environment variable(s): {', '.join(missing)}")
        return cls(
            table_name=env["TABLE_NAME"],
            table_region=env["TABLE_REGION"],
            parameter_path=env["PARAMETER_PATH"],
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or "health",
        )


SETTINGS = Settings.from_env(os.environ)
