from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from dr_core.config import RegionConfig


class RegionalStack(cdk.Stack):
    """A stack pinned to one account and region whose availability zones come from config.

    Without the override, anything that asks for AZs (a VPC) makes synth call
    AWS, which needs credentials.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        account: str,
        region: RegionConfig,
        stack_name: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            id,
            env=cdk.Environment(account=account, region=region.name),
            stack_name=stack_name,
            **kwargs,
        )
        self._zones = list(region.availability_zones)

    @property
    def availability_zones(self) -> list[str]:
        return self._zones
