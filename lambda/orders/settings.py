"""The function's configuration: its environment, parsed once when Lambda loads the code."""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Region = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Settings(BaseModel):
    """Field aliases are the environment variable names. The values come from our own stack, so they are
    checked for presence only: a second copy of the stack's naming rules here could only drift from it. The
    exceptions are what this code itself relies on: a health path it can route as a literal, and regions it
    can read one fence each of."""

    # The environment holds the function's AWS credentials: errors name variables, never quote values.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    # The replica this function uses: its own region's, so it keeps working when the other region is down.
    table_region: str = Field(alias="TABLE_REGION", min_length=1)
    # A secret the stack generates under this region's KMS key, read only to prove the key decrypts.
    canary_secret_id: str = Field(alias="CANARY_SECRET_ID", min_length=1)
    # This region's copy of the parameters replicated from the primary.
    parameter_path: str = Field(alias="PARAMETER_PATH", min_length=1)
    # Every region of the app ("us-east-1,us-west-2"): the health answer names those that are fenced.
    app_regions: tuple[Region, ...] = Field(alias="APP_REGIONS", min_length=1)
    # The public health route, /health/<token>. Plain path segments only: the resolver reads a route as a
    # pattern, and this one must match itself and nothing else.
    health_path: str = Field(alias="HEALTH_PATH", pattern=r"^(/[A-Za-z0-9_-]+)+$")
    service_name: str = Field(default="orders", alias="POWERTOOLS_SERVICE_NAME")
    metrics_namespace: str = Field(default="OrdersDr", alias="POWERTOOLS_METRICS_NAMESPACE")

    @field_validator("app_regions", mode="before")
    @classmethod
    def _comma_separated(cls, raw: Any) -> Any:
        return raw.split(",") if isinstance(raw, str) else raw

    @model_validator(mode="after")
    def _regions_include_this_one(self) -> Settings:
        # One BatchGetItem may not name a key twice.
        if len(set(self.app_regions)) != len(self.app_regions):
            raise ValueError("APP_REGIONS names a region twice")
        if self.table_region not in self.app_regions:
            raise ValueError("APP_REGIONS does not include TABLE_REGION")
        return self


# A missing variable fails the import: Lambda reports an init error naming it instead of serving requests, or
# a health check that answers ok without checking what it should.
SETTINGS = Settings.model_validate(dict(os.environ))
