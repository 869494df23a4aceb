"""The scoring rubric: which checks run, with which parameters, and how they are weighted.

A rubric is a TOML file (format in docs/rubric.md; the built-in one is
``callqa/rubrics/default.toml``)::

    name = "default"
    auto_fail_cap = 0.0            # overall score (0-100) ceiling once an auto-fail item fails
    phrase_packs = []              # user phrase packs, paths relative to the rubric file

    [[sections]]
    id = "hear"
    title = "Hear the customer out"

    [[sections.items]]
    check = "hear.paraphrase"      # a check id of callqa.checks.registry()
    title = "Paraphrases the customer's problem"
    weight = 2.0                   # > 0
    na_if = []                     # "no_complaint", "no_audio"
    auto_fail = false
    params = { min_reflections = 1 }

Scoring: an item's score is its check's score (0-1); "na" items are left out. A section's score
is ``100 * sum(weight * score) / sum(weight)`` over its non-"na" items, the overall score the same
over every non-"na" item of the rubric (not a mean of section scores). When an ``auto_fail``
item fails, the overall score is capped at ``auto_fail_cap`` and the item id is reported.
"""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from callqa.checks import defaults, registry
from callqa.checks.custom import MODES, SPEAKERS
from callqa.config import LimitsConfig
from callqa.errors import ConfigError
from callqa.files import UnsafeFileError, read_capped
from callqa.languages import parse_language
from callqa.measures.dynamics import OVERLAP_KINDS
from callqa.ranges import Range

DEFAULT_RUBRIC = Path(__file__).resolve().parent / "rubrics" / "default.toml"
STARTER_RUBRIC = DEFAULT_RUBRIC.with_name("starter.toml")  # `callqa rubric init` writes it

NA_RULES = {
    "no_complaint": "the customer stated no problem or complaint",
    "no_audio": "scored from a transcript without audio",
}

MAX_WEIGHT = 1000.0  # an item's weight; the ratio of weights is what counts
MAX_PHRASE_PACKS = 100  # user phrase packs one rubric may name

# Ranges of the checks' numeric parameters (the rubric's schema; docs/rubric.md). A parameter
# not listed takes any finite number from -1e6 to 1e6.
_SHARE, _COUNT = Range(0.0, 1.0), Range(0, 1000)
_SHARES = ("min_probability", "min_paraphrase", "partial_score", "min_overlap", "max", "zero_at")
_COUNTS = ("first_turns", "min_components", "last_turns", "min_customer_words", "min_reflections",
           "max_repeats", "min_open", "lead_words", "window", "min_digits", "min_words",
           "max_allowed", "max_sentences")  # fmt: skip
PARAM_RANGES: dict[str, Range] = {
    **dict.fromkeys(_SHARES, _SHARE),
    **dict.fromkeys(_COUNTS, _COUNT),
    "max_per_minute": Range(0.0, 1000.0),
    "min_agent_seconds": Range(0.0, 3600.0),
    "min_overlap_s": Range(0.0, 60.0),
    "level_db": Range(0.0, 120.0),
    "pitch_st": Range(0.0, 48.0),
    "min_sd_st": Range(0.0, 48.0),
    "min_voiced_s": Range(0.0, 3600.0),
    "max_ratio": Range(0.0, 100.0, low_open=True),
    "max_wpm": Range(0.0, 1000.0, low_open=True),
    "negative_at": Range(-1.0, 1.0),  # sentiment scores are -1..1
    "min_recovery": Range(0.0, 2.0),
    "interrupt_s": Range(0.0, 60.0),
}
_ANY_PARAM = Range(-1e6, 1e6)

_TOP_KEYS = {
    "name",
    "description",
    "auto_fail_cap",
    "auto_fail_min_confidence",
    "review_below",
    "min_words",
    "phrase_packs",
    "sections",
}
_EXTEND_KEYS = {"extends", "remove", "items"}  # only in a rubric that extends another
_SECTION_KEYS = {"id", "title", "items"}
_ITEM_KEYS = {"check", "title", "weight", "na_if", "auto_fail", "params"}
_PHRASE_KEYS = {"id", "title", "weight", "na_if", "auto_fail", "phrases", "mode", "speaker",
                "first_turns", "tip"}  # fmt: skip
_OVERRIDE_KEYS = {"title", "weight", "na_if", "auto_fail", "params", "phrases", "mode",
                  "speaker", "first_turns", "tip"}  # fmt: skip


@dataclass(frozen=True)
class RubricItem:
    """One scored item: a check, its weight and parameters.

    Attributes
    ----------
    check : str
        Check id (also the item's id; unique in a rubric).
    title : str
        What a reviewer reads.
    weight : float > 0
        Relative weight within the rubric.
    params : Mapping
        Parameters given to the check (over its defaults).
    na_if : tuple of str
        Conditions (:data:`NA_RULES`) under which the item is "na" whatever the check says.
    auto_fail : bool
        A "fail" caps the call's overall score at the rubric's ``auto_fail_cap``.
    """

    check: str
    title: str
    weight: float
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    na_if: tuple[str, ...] = ()
    auto_fail: bool = False
    kind: str = "check"  # "check" (a built-in check) or "phrases" (a phrase list, no Python)


@dataclass(frozen=True)
class RubricSection:
    """A titled group of items (Hear, Empathise, Lead, Take action, Positive language, Tone)."""

    id: str
    title: str
    items: tuple[RubricItem, ...]


@dataclass(frozen=True)
class Rubric:
    """A parsed, validated rubric.

    Attributes
    ----------
    name : str
    description : str
    sections : tuple of RubricSection
    auto_fail_cap : float in [0, 100]
        Ceiling of the overall score when an auto-fail item fails (0: the call fails).
    auto_fail_min_confidence : float in [0, 1]
        An auto-fail item's "fail" caps the score only when its confidence is at least this;
        an unsure one is listed for review and the score is provisional (default 0.8).
    review_below : float in [0, 1]
        Verdicts with a confidence below this are listed for review (default 0.7).
    min_words : int >= 0
        A call with fewer transcribed words is not judged: every item "na" (default 10).
    phrase_packs : tuple of str
        Absolute paths of user phrase packs merged over the built-in ones.
    source : str
        The file it was read from.
    """

    name: str
    sections: tuple[RubricSection, ...]
    description: str = ""
    auto_fail_cap: float = 0.0
    auto_fail_min_confidence: float = 0.8
    review_below: float = 0.7
    min_words: int = 10
    phrase_packs: tuple[str, ...] = ()
    source: str = ""

    @property
    def items(self) -> tuple[tuple[RubricSection, RubricItem], ...]:
        """Every (section, item) pair in rubric order."""
        return tuple((s, i) for s in self.sections for i in s.items)


# --- loading ------------------------------------------------------------------------------


def _unknown(keys: Sequence[str], allowed: set[str], where: str, path: Path) -> None:
    extra = [k for k in keys if k not in allowed]
    if extra:
        raise ConfigError(
            f"{path}: unknown key {extra[0]!r} in {where} (allowed: {', '.join(sorted(allowed))})"
        )


def _need(
    table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, path: Path
) -> Any:
    if key not in table:
        raise ConfigError(f"{path}: {where} lacks {key!r}")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{path}: {key!r} in {where} has the wrong type ({value!r})")
    return value


def _params(check: str, params: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: 'params' in {where} must be a table")
    known = defaults().get(check)
    if known is None:
        return dict(params)
    for key, value in params.items():
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise ConfigError(
                f"{path}: unknown key {key!r} in params of {check} (allowed: {allowed})"
            )
        default = known[key]
        numeric = (int, float)
        ok = (
            isinstance(value, bool) == isinstance(default, bool)
            and (isinstance(value, numeric) if isinstance(default, numeric) else True)
            and (isinstance(value, type(default)) or isinstance(default, numeric))
        )
        if not ok:
            raise ConfigError(
                f"{path}: params.{key} of {check} must be {type(default).__name__}, got {value!r}"
            )
        _param_in_range(check, key, value, path)
        _param_items(check, key, value, default, path)
    return dict(params)


def _param_items(check: str, key: str, value: Any, default: Any, path: Path) -> None:
    """A list's items and a table's values of the default's kind (``max_wpm = {en = "fast"}``
    had failed every call), and ``kinds`` among the overlap types."""
    if not isinstance(value, list | dict) or not isinstance(default, list | dict) or not default:
        return
    like = list(default.values() if isinstance(default, dict) else default)
    for item in value.values() if isinstance(value, dict) else value:
        number = isinstance(like[0], int | float) and not isinstance(like[0], bool)
        if (number and (isinstance(item, bool) or not isinstance(item, int | float))) or (
            not number and not isinstance(item, type(like[0]))
        ):
            raise ConfigError(
                f"{path}: params.{key} of {check} holds {item!r}; its values are like {like[0]!r}"
            )
        if key == "kinds" and item not in OVERLAP_KINDS:
            raise ConfigError(f"{path}: kinds of {check}: {item!r} is none of {OVERLAP_KINDS}")


def _param_in_range(check: str, key: str, value: Any, path: Path) -> None:
    """Every number in a parameter (a list's items, a table's values) within its range."""
    allowed = PARAM_RANGES.get(key, _ANY_PARAM)
    items = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    )
    items = list(items)
    if len(items) > 1000:
        raise ConfigError(f"{path}: params.{key} of {check} has {len(items)} items; at most 1000")
    for item in items:
        if isinstance(item, int | float) and not isinstance(item, bool) and item not in allowed:
            raise ConfigError(f"{path}: params.{key} of {check} must be {allowed}, got {item!r}")


def _item(raw: Any, path: Path, where: str, known: set[str]) -> RubricItem:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {where} must be a table")
    if "phrases" in raw:
        return _phrase_item(raw, path, where, known)
    _unknown(list(raw), _ITEM_KEYS, where, path)
    check = _need(raw, "check", str, where, path)
    where = f"item {check!r}"
    if check not in known:
        raise ConfigError(
            f"{path}: unknown check id {check!r} in {where}; run `callqa rubric show` for the "
            "ids, or make it a phrase item (docs/rubric.md)"
        )
    return RubricItem(
        check=check,
        title=str(raw.get("title", check)),
        weight=_weight(raw, path, where),
        params=_params(check, raw.get("params", {}), path, where),
        na_if=_na_if(raw, path, where),
        auto_fail=_auto_fail(raw, path, where),
    )


def _weight(raw: Mapping[str, Any], path: Path, where: str) -> float:
    weight = _need(raw, "weight", (int, float), where, path)
    if not 0 < weight <= MAX_WEIGHT:  # NaN and inf fail too
        raise ConfigError(
            f"{path}: weight of {where} must be > 0 and <= {MAX_WEIGHT:g}, got {weight!r}"
        )
    return float(weight)


def _na_if(raw: Mapping[str, Any], path: Path, where: str) -> tuple[str, ...]:
    na_if = raw.get("na_if", [])
    if not isinstance(na_if, list) or any(r not in NA_RULES for r in na_if):
        raise ConfigError(
            f"{path}: na_if of {where} must list rules from: {', '.join(sorted(NA_RULES))}"
        )
    return tuple(na_if)


def _auto_fail(raw: Mapping[str, Any], path: Path, where: str) -> bool:
    auto_fail = raw.get("auto_fail", False)
    if not isinstance(auto_fail, bool):
        raise ConfigError(f"{path}: auto_fail of {where} must be true or false")
    return auto_fail


def _phrase_item(raw: Mapping[str, Any], path: Path, where: str, known: set[str]) -> RubricItem:
    """An item whose check is a phrase list per language (:mod:`callqa.checks.custom`)."""
    _unknown(list(raw), _PHRASE_KEYS, where, path)
    item_id = _need(raw, "id", str, where, path)
    where = f"item {item_id!r}"
    if item_id in known or "." not in item_id:
        raise ConfigError(
            f"{path}: the id of phrase {where} must be new and look like 'section.name' "
            "(e.g. 'open.recording_disclosure')"
        )
    return RubricItem(
        check=item_id,
        title=str(raw.get("title", item_id)),
        weight=_weight(raw, path, where),
        params=_phrase_params(raw, path, where),
        na_if=_na_if(raw, path, where),
        auto_fail=_auto_fail(raw, path, where),
        kind="phrases",
    )


def _phrase_params(raw: Mapping[str, Any], path: Path, where: str) -> dict[str, Any]:
    phrases = raw["phrases"]
    if not isinstance(phrases, dict) or not phrases:
        raise ConfigError(f"{path}: phrases of {where} must be a table: language = [phrases]")
    by_language: dict[str, list[str]] = {}
    for language, texts in phrases.items():
        code = parse_language(language)
        ok = isinstance(texts, list) and texts and all(isinstance(t, str) and t for t in texts)
        if code is None or not ok:
            raise ConfigError(
                f"{path}: phrases.{language} of {where} must be a non-empty list of strings"
            )
        by_language[code] = list(texts)
    mode, speaker = raw.get("mode", "required"), raw.get("speaker", "agent")
    if mode not in MODES or speaker not in SPEAKERS:
        raise ConfigError(
            f"{path}: {where}: mode must be one of {', '.join(MODES)} and speaker one of "
            f"{', '.join(SPEAKERS)}"
        )
    first = raw.get("first_turns", 0)
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise ConfigError(f"{path}: first_turns of {where} must be an integer >= 0")
    tip = raw.get("tip", "")
    if not isinstance(tip, str):
        raise ConfigError(f"{path}: tip of {where} must be a string")
    return {"phrases": by_language, "mode": mode, "speaker": speaker, "first_turns": first,
            "tip": tip}  # fmt: skip


def _section(raw: Any, path: Path, n: int, known: set[str]) -> RubricSection:
    where = f"section {n + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {where} must be a table ([[sections]])")
    _unknown(list(raw), _SECTION_KEYS, where, path)
    sid = _need(raw, "id", str, where, path)
    items = _need(raw, "items", list, f"section {sid!r}", path)
    if not items:
        raise ConfigError(f"{path}: section {sid!r} has no items")
    return RubricSection(
        id=sid,
        title=str(raw.get("title", sid)),
        items=tuple(
            _item(it, path, f"item {i + 1} of section {sid!r}", known) for i, it in enumerate(items)
        ),
    )


def parse_rubric(data: Mapping[str, Any], path: Path, chain: tuple[Path, ...] = ()) -> Rubric:
    """Validate a rubric's TOML table (read from ``path``) into a :class:`Rubric`.

    Raises
    ------
    ConfigError
        Naming the offending key and ``path``: unknown keys, unknown check ids, weights <= 0,
        duplicate items or sections, bad parameter types.
    """
    if "extends" in data:
        return _extended(data, path, chain)
    _unknown(list(data), _TOP_KEYS, "the top level", path)
    known = set(registry())
    sections = tuple(
        _section(s, path, n, known)
        for n, s in enumerate(_need(data, "sections", list, "the rubric", path))
    )
    if not sections:
        raise ConfigError(f"{path}: the rubric has no [[sections]]")
    _no_duplicates([s.id for s in sections], "section", path)
    _no_duplicates([i.check for s in sections for i in s.items], "item (check)", path)
    cap = data.get("auto_fail_cap", 0.0)
    if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 0 <= cap <= 100:
        raise ConfigError(f"{path}: auto_fail_cap must be a number from 0 to 100, got {cap!r}")
    packs = data.get("phrase_packs", [])
    if not isinstance(packs, list) or not all(isinstance(p, str) for p in packs):
        raise ConfigError(f"{path}: phrase_packs must be a list of file paths")
    if len(packs) > MAX_PHRASE_PACKS:
        raise ConfigError(
            f"{path}: phrase_packs names {len(packs)} files; at most {MAX_PHRASE_PACKS}"
        )
    return Rubric(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        sections=sections,
        auto_fail_cap=float(cap),
        auto_fail_min_confidence=_share(data, "auto_fail_min_confidence", 0.8, path),
        review_below=_share(data, "review_below", 0.7, path),
        min_words=_count(data, "min_words", 10, path),
        phrase_packs=tuple(str((path.parent / p).resolve()) for p in packs),
        source=str(path),
    )


def _share(data: Mapping[str, Any], key: str, default: float, path: Path) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{path}: {key} must be a number from 0 to 1, got {value!r}")
    return float(value)


def _count(data: Mapping[str, Any], key: str, default: int, path: Path) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise ConfigError(f"{path}: {key} must be a whole number from 0 to 10000, got {value!r}")
    return value


def _extended(data: Mapping[str, Any], path: Path, chain: tuple[Path, ...]) -> Rubric:
    """A rubric that ``extends`` another: the base, less ``remove``, with ``[items."id"]``
    overrides, and ``[[sections]]`` adding items to a section of the same id or new sections.
    """
    _unknown(list(data), _TOP_KEYS | _EXTEND_KEYS, "the top level", path)
    base_name = _need(data, "extends", str, "the rubric", path)
    base_path = DEFAULT_RUBRIC if base_name == "default" else (path.parent / base_name)
    chain = (*chain, path.resolve())
    if base_path.resolve() in chain or len(chain) > 8:
        why = "extend each other in a loop" if base_path.resolve() in chain else "nest > 8 deep"
        loop = " -> ".join(p.name for p in (*chain, base_path))
        raise ConfigError(f"{path}: the rubrics {why} ({loop})")
    base = load_rubric(base_path, chain=chain)
    remove = data.get("remove", [])
    if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
        raise ConfigError(f"{path}: remove must be a list of item ids")
    sections = _drop(base.sections, remove, path)
    sections = _override(sections, data.get("items", {}), path)
    raw = {**data, "sections": data.get("sections", [])}
    known = set(registry())
    added = [_section(s, path, n, known) for n, s in enumerate(raw["sections"])]
    merged = _merge_sections(sections, added)
    if not merged:
        raise ConfigError(f"{path}: the rubric has no items left (remove names them all)")
    _no_duplicates([s.id for s in merged], "section", path)
    _no_duplicates([i.check for s in merged for i in s.items], "item (check)", path)
    cap = data.get("auto_fail_cap", base.auto_fail_cap)
    if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not 0 <= cap <= 100:
        raise ConfigError(f"{path}: auto_fail_cap must be a number from 0 to 100, got {cap!r}")
    packs = data.get("phrase_packs", [])
    if not isinstance(packs, list) or not all(isinstance(p, str) for p in packs):
        raise ConfigError(f"{path}: phrase_packs must be a list of file paths")
    return Rubric(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", base.description)),
        sections=merged,
        auto_fail_cap=float(cap),
        auto_fail_min_confidence=_share(
            data, "auto_fail_min_confidence", base.auto_fail_min_confidence, path
        ),
        review_below=_share(data, "review_below", base.review_below, path),
        min_words=_count(data, "min_words", base.min_words, path),
        phrase_packs=base.phrase_packs + tuple(str((path.parent / p).resolve()) for p in packs),
        source=str(path),
    )


def _drop(
    sections: tuple[RubricSection, ...], remove: list[str], path: Path
) -> tuple[RubricSection, ...]:
    have = {i.check for s in sections for i in s.items}
    unknown = [r for r in remove if r not in have]
    if unknown:
        raise ConfigError(f"{path}: remove names {unknown[0]!r}, which the base rubric lacks")
    kept = [replace(s, items=tuple(i for i in s.items if i.check not in remove)) for s in sections]
    return tuple(s for s in kept if s.items)


def _override(
    sections: tuple[RubricSection, ...], changes: Any, path: Path
) -> tuple[RubricSection, ...]:
    if not isinstance(changes, dict):
        raise ConfigError(f'{path}: items must be tables: [items."hear.talk_share"]')
    have = {i.check: i for s in sections for i in s.items}
    for item_id, change in changes.items():
        where = f'[items."{item_id}"]'
        if item_id not in have:
            raise ConfigError(f"{path}: {where} changes an item the base rubric lacks")
        if not isinstance(change, dict) or not isinstance(change.get("params", {}), dict):
            raise ConfigError(f"{path}: {where} and its params must be tables")
        _unknown(list(change), _OVERRIDE_KEYS, where, path)
    return tuple(
        replace(s, items=tuple(_changed(i, changes.get(i.check), path) for i in s.items))
        for s in sections
    )


def _changed(item: RubricItem, change: Mapping[str, Any] | None, path: Path) -> RubricItem:
    """``item`` with the keys of ``change`` over it, validated as a fresh item would be."""
    if not change:
        return item
    where = f'[items."{item.check}"]'
    if item.kind == "phrases":
        raw = {"id": item.check, "title": item.title, "weight": item.weight,
               "na_if": list(item.na_if), "auto_fail": item.auto_fail, **item.params}  # fmt: skip
        raw.update(change)
        return replace(_phrase_item(raw, path, where, set()), check=item.check)
    raw = {"check": item.check, "title": item.title, "weight": item.weight,
           "na_if": list(item.na_if), "auto_fail": item.auto_fail, **change}  # fmt: skip
    raw["params"] = {**item.params, **change.get("params", {})}
    return _item(raw, path, where, set(registry()))


def _merge_sections(
    sections: tuple[RubricSection, ...], added: list[RubricSection]
) -> tuple[RubricSection, ...]:
    out = list(sections)
    for new in added:
        at = next((n for n, s in enumerate(out) if s.id == new.id), None)
        if at is None:
            out.append(new)
        else:
            old = out[at]
            title = new.title if new.title != new.id else old.title
            out[at] = replace(old, title=title, items=old.items + new.items)
    return tuple(out)


def _no_duplicates(ids: list[str], what: str, path: Path) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ConfigError(f"{path}: {what} {i!r} appears twice; keep one")
        seen.add(i)


def load_rubric(
    path: Path | None = None, *, limits: LimitsConfig | None = None, chain: tuple[Path, ...] = ()
) -> Rubric:
    """Read and validate a rubric file (None: the built-in default rubric).

    Parameters
    ----------
    path : Path, optional
        A rubric TOML file.
    limits : LimitsConfig, optional
        ``max_rubric_bytes`` caps the file, ``max_phrase_pack_bytes`` each phrase pack it
        names (defaults: 1 MiB, 4 MiB).
    chain : tuple of Path
        The rubrics that extend this one, resolved (left empty by callers: ``extends`` passes
        it on, so rubrics extending each other in a loop are an error, not a recursion).

    Raises
    ------
    ConfigError
        The file is missing, too large, not a regular file, not TOML, or invalid (the message
        names the key and the file).
    """
    path = DEFAULT_RUBRIC if path is None else Path(path)
    limits = limits or LimitsConfig()
    try:
        data = tomllib.loads(read_capped(path, limits.max_rubric_bytes).decode("utf-8-sig"))
    except FileNotFoundError as exc:
        raise ConfigError(f"rubric file {path} not found; check the path") from exc
    except UnsafeFileError as exc:
        raise ConfigError(f"rubric {exc}; give a rubric .toml file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read rubric {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({_first_line(exc)})") from exc
    rubric = parse_rubric(data, path, chain)
    for pack in rubric.phrase_packs:
        _check_pack_size(Path(pack), limits.max_phrase_pack_bytes, path)
    return rubric


def _check_pack_size(pack: Path, cap: int, rubric: Path) -> None:
    """A phrase pack the rubric names must be a regular file within ``cap`` bytes (a missing
    one had passed ``rubric check`` and failed every call)."""
    try:
        info = pack.stat()
    except OSError as exc:
        raise ConfigError(f"{rubric}: phrase pack {pack}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode) or info.st_size > cap:
        what = "not a regular file" if not stat.S_ISREG(info.st_mode) else f"{info.st_size:,} bytes"
        raise ConfigError(
            f"{rubric}: phrase pack {pack} is {what}; a pack may have at most {cap:,} bytes"
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def format_rubric(rubric: Rubric) -> str:
    """A plain-text listing of the rubric for ``callqa rubric show``."""
    lines = [f"Rubric: {rubric.name}  ({rubric.source})"]
    if rubric.description:
        lines.append(rubric.description)
    lines.append(f"Auto-fail cap: {rubric.auto_fail_cap:g} / 100")
    for pack in rubric.phrase_packs:
        lines.append(f"Phrase pack: {pack}")
    for section in rubric.sections:
        total = sum(i.weight for i in section.items)
        lines.append("")
        lines.append(f"[{section.id}] {section.title}  (weight {total:g})")
        for item in section.items:
            flags = []
            if item.auto_fail:
                flags.append("AUTO-FAIL")
            if item.na_if:
                flags.append("na if " + ", ".join(item.na_if))
            if item.kind == "phrases":
                p = item.params
                flags.append(f"phrases ({', '.join(p['phrases'])}), {p['mode']}, {p['speaker']}")
                if p["first_turns"]:
                    flags.append(f"first {p['first_turns']} turns")
            params = (
                ""
                if item.kind == "phrases"
                else ", ".join(f"{k}={v!r}" for k, v in item.params.items())
            )
            lines.append(
                f"  {item.check:<30} w={item.weight:<4g} {item.title}"
                + (f"  [{'; '.join(flags)}]" if flags else "")
                + (f"  ({params})" if params else "")
            )
    return "\n".join(lines)
