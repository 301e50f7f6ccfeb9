"""The forwarder's configuration: its environment, parsed once at import.

A deployment missing a variable fails on cold start, naming it, instead of on the first alert,
which is the moment nobody is watching the forwarder. The values come from this app's own stack,
so they are checked for presence and type only.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    # A missing variable's error would otherwise quote the environment, credentials included.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    target_topic_arn: str = Field(alias="TARGET_TOPIC_ARN", min_length=1)
    # Goes into every forwarded subject: the region the alert comes from.
    source_region: str = Field(alias="SOURCE_REGION", min_length=1)
    service_name: str = Field("alert-forwarder", alias="POWERTOOLS_SERVICE_NAME")

    @property
    def target_region(self) -> str:
        # The topic's own region (an ARN's fourth field), whatever region the client would default to.
        return self.target_topic_arn.split(":")[3]


SETTINGS = Settings.model_validate(dict(os.environ))
