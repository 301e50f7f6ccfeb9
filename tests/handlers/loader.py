"""Import a Lambda asset folder's handler the way Lambda does: its folder is the root.

`lambda` is a Python keyword, so asset folders are never imported as a package.
Every folder has its own top-level `handler` module, so modules loaded from
another asset folder are dropped first. Call after setting the environment:
handlers parse their settings once, at import.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

LAMBDA_ROOT = Path(__file__).resolve().parents[2] / "lambda"


def load_handler(asset: str, module: str = "handler") -> ModuleType:
    folder = LAMBDA_ROOT / asset
    if not (folder / f"{module}.py").is_file():
        raise FileNotFoundError(f"no {module}.py in {folder}")
    for name, loaded in list(sys.modules.items()):
        path = getattr(loaded, "__file__", None) or ""
        if path.startswith(str(LAMBDA_ROOT)):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if not p.startswith(str(LAMBDA_ROOT))]
    sys.path.insert(0, str(folder))
    return importlib.import_module(module)
