"""The health function's configuration: its environment, parsed once when Lambda loads the code."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Field aliases are the environment variable names. The values come from our own stack, so they are
    checked for presence only: a second copy of the stack's naming rules here could only drift from it."""

    # The environment holds the function's AWS credentials: errors name variables, never quote values.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    # This region: the other region's health is not this endpoint's answer.
    table_region: str = Field(alias="TABLE_REGION", min_length=1)
    # This region's copy of the parameters replicated from the primary.
    parameter_path: str = Field(alias="PARAMETER_PATH", min_length=1)
    # A secret the stack generates under this region's KMS key, read only to prove the key decrypts.
    canary_secret_id: str = Field(alias="CANARY_SECRET_ID", min_length=1)
    service_name: str = Field(default="health", alias="POWERTOOLS_SERVICE_NAME")


# A missing variable fails the import: a misdeployed function is an init error that names every gap at once,
# not a health check that answers ok without checking what it should.
SETTINGS = Settings.model_validate(dict(os.environ))
