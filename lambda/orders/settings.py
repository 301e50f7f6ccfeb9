"""The function's configuration: its environment, parsed once when Lambda loads the code."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Field aliases are the environment variable names. The values come from our own stack, so they are
    checked for presence only: a second copy of the stack's naming rules here could only drift from it."""

    # The environment holds the function's AWS credentials: errors name variables, never quote values.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    # The replica this function uses: its own region's, so it keeps working when the other region is down.
    table_region: str = Field(alias="TABLE_REGION", min_length=1)
    service_name: str = Field(default="orders", alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field(default="OrdersDr", alias="POWERTOOLS_METRICS_NAMESPACE")


# A missing variable fails the import: Lambda reports an init error naming it instead of serving requests.
SETTINGS = Settings.model_validate(dict(os.environ))
