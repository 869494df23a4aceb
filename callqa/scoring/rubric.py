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

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callqa.checks import CheckContext, defaults, not_applicable, registry
from callqa.checks.empathy import has_complaint
from callqa.errors import ConfigError
from callqa.measures.metrics import CallMetrics
from callqa.types import CheckResult, ItemScore, SectionScore, Transcript

DEFAULT_RUBRIC = Path(__file__).resolve().parent / "rubrics" / "default.toml"

NA_RULES = {
    "no_complaint": "the customer stated no problem or complaint",
    "no_audio": "scored from a transcript without audio",
}

_TOP_KEYS = {"name", "description", "auto_fail_cap", "phrase_packs", "sections"}
_SECTION_KEYS = {"id", "title", "items"}
_ITEM_KEYS = {"check", "title", "weight", "na_if", "auto_fail", "params"}


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
    phrase_packs : tuple of str
        Absolute paths of user phrase packs merged over the built-in ones.
    source : str
        The file it was read from.
    """

    name: str
    sections: tuple[RubricSection, ...]
    description: str = ""
    auto_fail_cap: float = 0.0
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
    return dict(params)


def _item(raw: Any, path: Path, where: str, known: set[str]) -> RubricItem:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {where} must be a table")
    _unknown(list(raw), _ITEM_KEYS, where, path)
    check = _need(raw, "check", str, where, path)
    where = f"item {check!r}"
    if check not in known:
        raise ConfigError(
            f"{path}: unknown check id {check!r} in {where}; run `callqa rubric show` for the ids"
        )
    weight = _need(raw, "weight", (int, float), where, path)
    if not weight > 0:
        raise ConfigError(f"{path}: weight of {where} must be > 0, got {weight!r}")
    na_if = raw.get("na_if", [])
    if not isinstance(na_if, list) or any(r not in NA_RULES for r in na_if):
        raise ConfigError(
            f"{path}: na_if of {where} must list rules from: {', '.join(sorted(NA_RULES))}"
        )
    auto_fail = raw.get("auto_fail", False)
    if not isinstance(auto_fail, bool):
        raise ConfigError(f"{path}: auto_fail of {where} must be true or false")
    return RubricItem(
        check=check,
        title=str(raw.get("title", check)),
        weight=float(weight),
        params=_params(check, raw.get("params", {}), path, where),
        na_if=tuple(na_if),
        auto_fail=auto_fail,
    )


def _section(raw: Any, path: Path, n: int, known: set[str]) -> RubricSection:
    where = f"section {n + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {where} must be a table ([[sections]])")
    _unknown(list(raw), _SECTION_KEYS, where, path)
    sid = _need(raw, "id", str, where, path)
    items = _need(raw, "items", list, f"section {sid!r}", path)
    return RubricSection(
        id=sid,
        title=str(raw.get("title", sid)),
        items=tuple(
            _item(it, path, f"item {i + 1} of section {sid!r}", known) for i, it in enumerate(items)
        ),
    )


def parse_rubric(data: Mapping[str, Any], path: Path) -> Rubric:
    """Validate a rubric's TOML table (read from ``path``) into a :class:`Rubric`.

    Raises
    ------
    ConfigError
        Naming the offending key and ``path``: unknown keys, unknown check ids, weights <= 0,
        duplicate items or sections, bad parameter types.
    """
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
    return Rubric(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        sections=sections,
        auto_fail_cap=float(cap),
        phrase_packs=tuple(str((path.parent / p).resolve()) for p in packs),
        source=str(path),
    )


def _no_duplicates(ids: list[str], what: str, path: Path) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ConfigError(f"{path}: {what} {i!r} appears twice; keep one")
        seen.add(i)


def load_rubric(path: Path | None = None) -> Rubric:
    """Read and validate a rubric file (None: the built-in default rubric).

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or invalid (the message names the key and the file).
    """
    path = DEFAULT_RUBRIC if path is None else Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"rubric file {path} not found; check the path") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"rubric {path} is a directory; give a .toml file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return parse_rubric(data, path)


# --- running and scoring ------------------------------------------------------------------


def _na_reason(item: RubricItem, ctx: CheckContext) -> str | None:
    """Why ``item`` is "na" by one of its ``na_if`` rules, or None."""
    for rule in item.na_if:
        if rule == "no_audio" and not ctx.has_audio:
            return NA_RULES[rule]
        if rule == "no_complaint" and has_complaint(ctx) is False:
            return NA_RULES[rule]
    return None


def run_checks(
    rubric: Rubric,
    transcript: Transcript,
    metrics: CallMetrics,
    *,
    has_audio: bool,
    phrase_packs: Sequence[str] = (),
) -> tuple[CheckResult, ...]:
    """Run every item's check on one call, in rubric order.

    Evidence times are clamped to the call, ``[0, metrics.duration_s]`` (a check that looks a
    second around a moment must not quote a time before the call starts).

    Parameters
    ----------
    rubric : Rubric
    transcript : Transcript
        The unredacted transcript.
    metrics : CallMetrics
    has_audio : bool
        False when scoring a transcript file (audio checks answer "na").
    phrase_packs : sequence of str
        Extra user phrase packs (e.g. from the config), merged after the rubric's.

    Raises
    ------
    ConfigError
        An item's check is not in :func:`callqa.checks.registry`.
    """
    checks = registry()
    packs = list(rubric.phrase_packs) + list(phrase_packs)
    out = []
    for _, item in rubric.items:
        fn = checks.get(item.check)
        if fn is None:
            raise ConfigError(f"rubric {rubric.name!r}: no check {item.check!r} is installed")
        params = {**defaults().get(item.check, {}), **item.params, "phrase_packs": packs}
        ctx = CheckContext(transcript, metrics, has_audio=has_audio, params=params)
        reason = _na_reason(item, ctx)
        result = not_applicable(item.check, reason) if reason else fn(ctx)
        out.append(result.clamped(metrics.duration_s) if metrics.duration_s > 0 else result)
    return tuple(out)


def _weighted(items: Sequence[ItemScore]) -> float | None:
    scored = [i for i in items if i.verdict != "na" and i.score is not None]
    total = sum(i.weight for i in scored)
    if not scored or total <= 0:
        return None
    return 100.0 * sum(i.weight * float(i.score or 0.0) for i in scored) / total


def score_checks(
    rubric: Rubric, checks: Sequence[CheckResult]
) -> tuple[tuple[SectionScore, ...], float | None, tuple[str, ...]]:
    """Weight check results into section scores, an overall score and the auto-failed items.

    Returns
    -------
    sections : tuple of SectionScore
        Score 0-100 = weighted mean of the section's non-"na" items x 100 (None if all "na").
    overall : float in [0, 100] or None
        Weighted mean over every non-"na" item x 100, capped at ``rubric.auto_fail_cap`` when an
        auto-fail item failed; None when every item is "na" and none auto-failed.
    auto_failed : tuple of str
        Ids of auto-fail items whose verdict is "fail".

    An item without a result in ``checks`` counts as "na".
    """
    by_id = {c.id: c for c in checks}
    sections = []
    every: list[ItemScore] = []
    for section in rubric.sections:
        items = tuple(_item_score(section, item, by_id.get(item.check)) for item in section.items)
        every += items
        sections.append(SectionScore(section.id, section.title, _round(_weighted(items)), items))
    failed = tuple(i.id for i in every if i.auto_fail and i.verdict == "fail")
    overall = _weighted(every)
    if failed:
        overall = (
            min(overall, rubric.auto_fail_cap) if overall is not None else rubric.auto_fail_cap
        )
    return tuple(sections), _round(overall), failed


def _item_score(section: RubricSection, item: RubricItem, result: CheckResult | None) -> ItemScore:
    verdict = result.verdict if result else "na"
    score = result.score if result and verdict != "na" else None
    return ItemScore(
        id=item.check,
        section=section.id,
        title=item.title,
        weight=item.weight,
        verdict=verdict,
        score=score,
        auto_fail=item.auto_fail,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


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
            params = ", ".join(f"{k}={v!r}" for k, v in item.params.items())
            lines.append(
                f"  {item.check:<30} w={item.weight:<4g} {item.title}"
                + (f"  [{'; '.join(flags)}]" if flags else "")
                + (f"  ({params})" if params else "")
            )
    return "\n".join(lines)
