"""The scorecard: its type, its plain-data (JSON) form and its schema, both ways.

The JSON layout is documented in docs/scorecard.md and pinned by
``callqa/scoring/schema/scorecard.schema.json`` (a test validates real output against it).
Dataclasses are serialised field by field; tuples become lists; times and scores are rounded
to the precision that means something (1 ms, 0.001). :func:`from_dict` reads that form back
into a :class:`Scorecard` (batch, store, report and dashboard work on the typed value), and is
strict: a scorecard is a file people pass around, so a malformed one is refused with one line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import ScorecardError
from callqa.files import UnsafeFileError, atomic_write_text, load_json, read_capped
from callqa.measures.metrics import CallMetrics
from callqa.sentiment import CallSentiment
from callqa.types import (
    CheckResult,
    ModelInfo,
    RedactionSummary,
    ReviewItem,
    RoleDecision,
    SectionScore,
    SourceInfo,
    Transcript,
)

SCHEMA_VERSION = "1.0"
_DECIMALS = 3  # 1 ms for times, 0.001 for scores and shares
MAX_DEPTH = 12  # a scorecard nests 6 levels deep; deeper input is refused, not recursed into


@dataclass(frozen=True)
class Scorecard:
    """The QA scorecard of one call: the product's main output.

    Its JSON form is documented in docs/scorecard.md and checked against
    callqa/scoring/schema/scorecard.schema.json.
    """

    call_id: str
    source: SourceInfo
    duration_s: float
    language: str
    channels: int
    agent_channel: str | None
    model: ModelInfo
    transcript: Transcript
    metrics: CallMetrics
    checks: tuple[CheckResult, ...]
    sections: tuple[SectionScore, ...]
    score: float | None
    roles: RoleDecision | None = None
    sentiment: CallSentiment | None = None
    redaction: RedactionSummary | None = None
    auto_failed: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    review: tuple[ReviewItem, ...] = ()
    provisional: bool = False
    rubric: str = "default"
    callqa_version: str = ""
    created_at: str = ""  # ISO 8601, UTC
    timings_s: dict[str, float] = field(default_factory=dict, hash=False, compare=False)


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
    text = (
        resources.files("callqa.scoring")
        .joinpath("schema/scorecard.schema.json")
        .read_text("utf-8")
    )
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


def from_dict(data: Any) -> Scorecard:
    """Read a scorecard's JSON form (as :func:`to_dict` writes it) back into a :class:`Scorecard`.

    Unknown keys are ignored (a newer callqa may add some); missing keys take their defaults
    where the type has one.

    Raises
    ------
    ScorecardError
        ``data`` is not a scorecard: a required key is missing or a value has the wrong type.
    """
    if not isinstance(data, dict):
        raise ScorecardError(f"a scorecard is a JSON object, not {type(data).__name__}")
    return typing.cast(Scorecard, _read(Scorecard, data, "scorecard", 0))


def sections_from_dict(data: Any) -> tuple[SectionScore, ...]:
    """Only the ``sections`` of a scorecard's JSON form, typed (for views over many stored
    calls, such as the team dashboard, where reading every transcript would be slow).

    Raises
    ------
    ScorecardError
        ``data`` is not an object or its sections are malformed.
    """
    if not isinstance(data, dict):
        raise ScorecardError(f"a scorecard is a JSON object, not {type(data).__name__}")
    sections = data.get("sections", [])
    return typing.cast(
        tuple[SectionScore, ...], _read(tuple[SectionScore, ...], sections, "scorecard.sections", 1)
    )


def _read(kind: Any, value: Any, where: str, depth: int) -> Any:
    """``value`` converted to ``kind`` (a dataclass, tuple, union, dict or scalar type)."""
    if depth > MAX_DEPTH:
        raise ScorecardError(f"{where}: nested too deeply")
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return _read_dataclass(kind, value, where, depth)
    if origin in (types.UnionType, typing.Union):
        return _read_union(kind, value, where, depth)
    if origin is tuple:
        return _read_tuple(kind, value, where, depth)
    if origin is dict or kind is dict:
        return _read_mapping(kind, value, where, depth)
    if origin is typing.Literal:
        if value not in typing.get_args(kind):
            raise ScorecardError(f"{where}: {value!r} is not one of {typing.get_args(kind)}")
        return value
    return _read_scalar(kind, value, where)


def _read_dataclass(kind: type, value: Any, where: str, depth: int) -> Any:
    if not isinstance(value, dict):
        raise ScorecardError(f"{where}: expected an object, not {type(value).__name__}")
    hints = _hints(kind)
    kwargs = {}
    for f in dataclasses.fields(kind):
        if f.name in value:
            kwargs[f.name] = _read(hints[f.name], value[f.name], f"{where}.{f.name}", depth + 1)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            kwargs[f.name] = _empty(hints[f.name], f"{where}.{f.name}")
    try:
        return kind(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ScorecardError(f"{where}: {exc}") from exc


def _empty(kind: Any, where: str) -> Any:
    """The value of a missing field: None where the type allows it, an empty tuple or dict for
    collections (an older scorecard lacks what a newer callqa added); anything else is an
    error."""
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in typing.get_args(kind):
        return None
    if origin is tuple and typing.get_args(kind)[-1:] == (Ellipsis,):
        return ()
    if origin is dict or kind is dict:
        return {}
    raise ScorecardError(f"{where.rpartition('.')[0]}: missing '{where.rpartition('.')[2]}'")


def _read_union(kind: Any, value: Any, where: str, depth: int) -> Any:
    options = typing.get_args(kind)
    if value is None and type(None) in options:
        return None
    problems = []
    for option in (o for o in options if o is not type(None)):
        try:
            return _read(option, value, where, depth)
        except ScorecardError as exc:
            problems.append(str(exc))
    raise ScorecardError(problems[0] if problems else f"{where}: unexpected null")


def _read_tuple(kind: Any, value: Any, where: str, depth: int) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ScorecardError(f"{where}: expected a list, not {type(value).__name__}")
    args = typing.get_args(kind)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_read(args[0], v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
    if len(args) != len(value):
        raise ScorecardError(f"{where}: expected {len(args)} values, not {len(value)}")
    return tuple(
        _read(a, v, f"{where}[{i}]", depth + 1)
        for i, (a, v) in enumerate(zip(args, value, strict=True))
    )


def _read_mapping(kind: Any, value: Any, where: str, depth: int) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScorecardError(f"{where}: expected an object, not {type(value).__name__}")
    args = typing.get_args(kind)
    item = args[1] if len(args) == 2 else Any
    return {str(k): _read(item, v, f"{where}.{k}", depth + 1) for k, v in value.items()}


def _read_scalar(kind: Any, value: Any, where: str) -> Any:
    if kind is Any:
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is bool and isinstance(value, bool):
        return value
    if kind in (int, str) and isinstance(value, kind) and not isinstance(value, bool):
        return value
    raise ScorecardError(
        f"{where}: expected {getattr(kind, '__name__', kind)}, not {type(value).__name__}"
    )


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(kind: type) -> dict[str, Any]:
    """The resolved field types of a dataclass (cached: resolving them is slow)."""
    if kind not in _HINTS:
        module = __import__(kind.__module__, fromlist=["_"])
        _HINTS[kind] = typing.get_type_hints(kind, vars(module))
    return _HINTS[kind]


MAX_SCORECARD_BYTES = 64 * 2**20  # a 2-hour call's scorecard is ~8 MB; far larger is not one


def read_json(path: Path | str, *, max_bytes: int = MAX_SCORECARD_BYTES) -> Scorecard:
    """Read a scorecard JSON file (as written by ``callqa score --format json``).

    Raises
    ------
    ScorecardError
        The file cannot be read, is larger than ``max_bytes``, is not JSON, or is not a
        scorecard.
    """
    path = Path(path)
    hint = "give a file written by 'callqa score --format json'"
    try:  # opened without blocking and checked to be a regular file: a FIFO had hung here
        data = read_capped(path, max_bytes)
    except UnsafeFileError as exc:
        raise ScorecardError(f"scorecard {exc}; {hint}") from exc
    except OSError as exc:
        raise ScorecardError(f"cannot read scorecard {path}: {exc.strerror or exc}") from exc
    try:
        parsed = load_json(data.decode("utf-8"))
    except ValueError as exc:  # also bad UTF-8, NaN, huge integers, too many objects
        raise ScorecardError(f"{path} is not JSON ({_first_line(exc)}); {hint}") from exc
    try:  # a \ud800 escape decodes to a lone surrogate, which no output can encode
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ScorecardError(f"{path} holds half of a UTF-16 surrogate pair; {hint}") from exc
    except RecursionError as exc:
        raise ScorecardError(f"{path} is nested too deeply; {hint}") from exc
    if not isinstance(parsed, dict) or "call_id" not in parsed:
        raise ScorecardError(f"{path} is not a callqa scorecard (no call_id); {hint}")
    try:
        return from_dict(parsed)
    except ScorecardError as exc:
        raise ScorecardError(f"{path} is not a valid scorecard: {exc}; {hint}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
