"""The scorecard's plain-data (JSON) form and its schema.

The JSON layout is documented in docs/scorecard.md and pinned by
``callqa/schema/scorecard.schema.json`` (a test validates real output against it).
Dataclasses are serialised field by field; tuples become lists; times and scores are rounded
to the precision that means something (1 ms, 0.001).
"""

from __future__ import annotations

import dataclasses
import json
import math
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from callqa.fsutil import atomic_write_text
from callqa.types import Scorecard

SCHEMA_VERSION = "1.0"
_DECIMALS = 3  # 1 ms for times, 0.001 for scores and shares


def to_dict(card: Scorecard) -> dict[str, Any]:
    """The scorecard as JSON-ready plain data (``schema_version`` first)."""
    data = plain(card)
    return {"schema_version": SCHEMA_VERSION, **data}


def to_json(card: Scorecard, *, indent: int | None = 2) -> str:
    """The scorecard as a JSON document."""
    return json.dumps(to_dict(card), indent=indent, ensure_ascii=False)


def write_json(card: Scorecard, path: Path) -> Path:
    """Write the scorecard JSON atomically to ``path``."""
    return atomic_write_text(path, to_json(card) + "\n")


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every scorecard document satisfies."""
    text = resources.files("callqa").joinpath("schema/scorecard.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def plain(value: Any) -> Any:
    """Convert dataclasses, tuples, numpy scalars, paths and enums to JSON-ready values.

    Floats are rounded to 3 decimals; NaN and infinities become None (JSON has no NaN).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return None if not math.isfinite(f) else round(f, _DECIMALS)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value
