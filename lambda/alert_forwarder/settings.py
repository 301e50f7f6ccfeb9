"""The forwarder's configuration, read from the environment once, at import.

A bad deployment fails on cold start, naming the variable, instead of on the
first alert, which is the moment nobody is watching the forwarder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

# Goes into every forwarded subject, so a typo would mislabel which region is alarming.
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


@dataclass(frozen=True)
class Settings:
    target_topic_arn: str
    # The topic's own region: publishing there keeps working when the source region is impaired.
    target_region: str
    source_region: str
    service_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        target_topic_arn = _required(env, "TARGET_TOPIC_ARN")
        target_region = _topic_region(target_topic_arn)
        source_region = _region(env, "SOURCE_REGION")
        # Forwarding a region's alerts into its own topic would deliver every alert twice.
        if source_region == target_region:
            raise ValueError(
                f"environment variable SOURCE_REGION must differ from TARGET_TOPIC_ARN's region, "
                f"both are {source_region!r}"
            )
        return cls(
            target_topic_arn=target_topic_arn,
            target_region=target_region,
            source_region=source_region,
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or "alert-forwarder",
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ValueError(f"environment variable {name} is missing or empty")
    return value


def _region(env: Mapping[str, str], name: str) -> str:
    region = _required(env, name)
    if not _REGION.fullmatch(region):
        raise ValueError(f"environment variable {name} is not an AWS region, got {region!r}")
    return region


def _topic_region(arn: str) -> str:
    parts = arn.split(":")
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != "sns"
        or not parts[5]
        or not _REGION.fullmatch(parts[3])
    ):
        raise ValueError(f"environment variable TARGET_TOPIC_ARN is not an SNS topic ARN, got {arn!r}")
    return parts[3]


SETTINGS = Settings.from_env(os.environ)
