"""One snapshot per stack: any change to a template shows up in review.

Asset hashes change with every edit of handler code, so they are masked.
Update deliberately with `./dev test --snapshot-update`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", ["dns", "dr", "primary", "global_"])
def test_stack_template_matches_snapshot(synthesized, snapshot_json, stack):
    template = synthesized.template_json(getattr(synthesized.platform, stack))
    assert _mask(template) == snapshot_json
