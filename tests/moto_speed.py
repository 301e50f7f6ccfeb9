"""Test-speed patches for moto that change nothing a test observes.

moto makes a 2048-bit RSA key for every KMS key, symmetric ones included, where it never
uses it (about 45 ms each, seconds per test file). Symmetric keys share one here. And every
EC2 backend moto starts (an availability-zone or region lookup is enough) registers thousands
of default AMIs with their snapshots and volumes, which no test here looks at.
"""

from __future__ import annotations

import os
from functools import cache

import moto.kms.models
import moto.kms.utils

os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"

_generate = moto.kms.models.generate_private_key


@cache
def _shared_unused_key() -> moto.kms.utils.AbstractPrivateKey:
    return _generate("SYMMETRIC_DEFAULT")


def _generate_private_key(key_spec: str) -> moto.kms.utils.AbstractPrivateKey:
    return _shared_unused_key() if key_spec == "SYMMETRIC_DEFAULT" else _generate(key_spec)


moto.kms.models.generate_private_key = _generate_private_key
