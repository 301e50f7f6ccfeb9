"""The replicator's configuration: its environment, parsed once at import.

A deployment missing a variable fails on cold start, naming it, instead of on the first event that
happens to need it. The values come from this app's own stack (Lambda sets AWS_REGION), so they are
checked for presence and type only.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    # A missing variable's error would otherwise quote the environment, credentials included.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    source_region: str = Field(alias="AWS_REGION", min_length=1)
    source_path: str = Field(alias="SOURCE_PATH", min_length=1)
    target_region: str = Field(alias="TARGET_REGION", min_length=1)
    target_path: str = Field(alias="TARGET_PATH", min_length=1)
    target_key_id: str = Field(alias="TARGET_KEY_ID", min_length=1)
    service_name: str = Field("ssm-replicator", alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field("OrdersDr", alias="POWERTOOLS_METRICS_NAMESPACE")


SETTINGS = Settings.model_validate(dict(os.environ))
