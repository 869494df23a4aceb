"""Fitting the numeric thresholds of checks to a team's own reviewers (``calibrate --fit``).

For each rubric item whose check has a numeric threshold (:data:`FITTABLE`), the check itself
is run again on every reviewed call's stored transcript and measures, once per candidate value
of the threshold (the same code that scored the call: nothing is re-implemented here). The
value that maximises Cohen's kappa against the final human verdicts is chosen under K-fold
cross-validation grouped by call: calls (sorted by their recording's sha256) are dealt into
:data:`FOLDS` folds; each fold's verdicts come from the value chosen on the other folds; the
pooled held-out verdicts give the "after" kappa, the current value's verdicts on the same calls
the "before" kappa. Ties between values go to the higher accuracy, then to the value nearest
the current one, then to the smaller.

The value proposed is the one chosen on every reviewed call, and only where the held-out kappa
improves on the current value's; :func:`overlay_text` writes those as a rubric that extends
the one in use (``[items."id"] params``). Nothing changes until that file is passed with
``--rubric``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from callqa.checks import defaults
from callqa.errors import ScorecardError
from callqa.review.agreement import Agreement, agreement, confusion, kappa_of
from callqa.review.reviews import StoredReview, latest_by_item
from callqa.scoring.rubric import DEFAULT_RUBRIC, Rubric, RubricItem, RubricSection
from callqa.scoring.score import run_checks
from callqa.scoring.scorecard import Scorecard, from_dict

FOLDS = 5  # K of the cross-validation (fewer when fewer calls were reviewed)
MIN_CALLS = 10  # reviewed calls an item needs before its threshold is fitted


def _grid(low: float, high: float, step: float) -> tuple[float, ...]:
    n = round((high - low) / step)
    return tuple(round(low + k * step, 4) for k in range(n + 1))


# check id -> (parameter, candidate values). Each is a threshold on a measured quantity; the
# ranges stay inside the parameter's range (callqa.scoring.rubric.PARAM_RANGES).
FITTABLE: dict[str, tuple[str, tuple[float, ...]]] = {
    "hear.talk_share": ("max", _grid(0.40, 0.80, 0.05)),  # agent share of talk time
    "hear.no_interruptions": ("max_allowed", (0, 1, 2, 3, 4, 5)),  # interruptions allowed
    "hear.paraphrase": ("min_paraphrase", _grid(0.20, 0.80, 0.05)),  # P(paraphrase)
    "hear.no_repeat": ("min_overlap", _grid(0.20, 0.70, 0.05)),  # content-lemma overlap
    "positive.negative_language": ("max_per_minute", _grid(0.5, 5.0, 0.25)),  # per agent minute
    "tone.pace": ("max_ratio", _grid(1.10, 1.60, 0.05)),  # agent / customer articulation rate
    "tone.not_monotone": ("min_sd_st", _grid(1.0, 3.5, 0.25)),  # pitch SD, semitones
    "tone.steady_under_pressure": ("level_db", _grid(1.0, 6.0, 0.5)),  # level rise, dB
}


@dataclass(frozen=True)
class FitResult:
    """One item's threshold fit.

    Attributes
    ----------
    item, param : str
    current : float
        The value in use (the rubric's, else the check's default).
    proposed : float or None
        The value chosen on every reviewed call (None when not fitted: see :attr:`note`).
    calls, folds : int
        Reviewed calls used, and folds.
    before, after : Agreement or None
        Held-out agreement with the current value and with the fold-fitted values.
    fold_values : tuple of float
        The value chosen in each fold.
    changed : bool
        Proposed: it differs from the current value and the held-out kappa improved.
    rescored_differently : int
        Calls whose verdict, run again with the current value, differs from the stored one
        (a redacted transcript, a changed rubric or callqa version); 0 normally.
    note : str
        Why nothing was fitted or proposed.
    """

    item: str
    param: str
    current: float
    proposed: float | None
    calls: int
    folds: int
    before: Agreement | None
    after: Agreement | None
    fold_values: tuple[float, ...] = ()
    changed: bool = False
    rescored_differently: int = 0
    note: str = ""


def fit_thresholds(
    rows: Sequence[Mapping[str, Any]],
    reviews: Sequence[StoredReview],
    rubric: Rubric,
    *,
    folds: int = FOLDS,
    min_calls: int = MIN_CALLS,
) -> list[FitResult]:
    """Fit the threshold of every fittable item of ``rubric`` to the reviewers' verdicts.

    Parameters
    ----------
    rows : sequence of dict
        Stored calls (:func:`callqa.batch.store.read_calls`), scored with ``rubric``.
    reviews : sequence of StoredReview
    rubric : Rubric
        The rubric the calls were scored with (its items' parameters are the current values).
    folds : int >= 2
    min_calls : int >= 2
    """
    final = latest_by_item(reviews)
    by_sha = {str(r["audio_sha256"]): r for r in rows}
    cards: dict[str, Scorecard | None] = {}
    out = []
    for section, item in rubric.items:
        if item.check in FITTABLE and item.kind == "check":
            human = {
                sha: final[sha][item.check].verdict
                for sha in by_sha
                if item.check in final.get(sha, {})
            }
            out.append(_fit_item(rubric, section, item, by_sha, human, cards, folds, min_calls))
    return out


def _fit_item(
    rubric: Rubric,
    section: RubricSection,
    item: RubricItem,
    rows: Mapping[str, Mapping[str, Any]],
    human: Mapping[str, str],
    cards: dict[str, Scorecard | None],
    folds: int,
    min_calls: int,
) -> FitResult:
    param, grid = FITTABLE[item.check]
    current = {**defaults().get(item.check, {}), **item.params}[param]
    calls = sorted(sha for sha in human if _card(cards, rows, sha) is not None)
    base = FitResult(item.check, param, current, None, len(calls), 0, None, None)
    if len(calls) < min_calls:
        return replace(base, note=f"not enough reviewed calls ({len(calls)} < {min_calls})")
    if len({human[c] for c in calls}) < 2:
        return replace(base, note=f"every reviewer verdict is '{human[calls[0]]}': nothing to fit")
    values = sorted({*(_typed(v, current) for v in grid), current})
    verdicts = {
        v: {c: _rerun(cards[c], rubric, section, item, param, v) for c in calls} for v in values
    }
    k = min(folds, len(calls))
    fold_of = {c: n % k for n, c in enumerate(calls)}
    chosen = tuple(
        _best(values, verdicts, human, [c for c in calls if fold_of[c] != f], current)
        for f in range(k)
    )
    after = [[(human[c], verdicts[chosen[fold_of[c]]][c])] for c in calls]
    before = [[(human[c], verdicts[current][c])] for c in calls]
    proposed = _best(values, verdicts, human, calls, current)
    b, a = agreement(before), agreement(after)
    better = (a.kappa or -2.0) > (b.kappa or -2.0)
    drift = sum(verdicts[current][c] != _stored_verdict(rows[c], item.check) for c in calls)
    note = "" if better or proposed == current else "no held-out gain: the current value stays"
    return replace(
        base,
        proposed=proposed,
        folds=k,
        before=b,
        after=a,
        fold_values=chosen,
        changed=better and proposed != current,
        rescored_differently=drift,
        note=note if proposed != current else "the current value is the best",
    )


def _typed(value: float, current: Any) -> Any:
    """Integer parameters stay integers."""
    return round(value) if isinstance(current, int) and not isinstance(current, bool) else value


def _card(
    cards: dict[str, Scorecard | None], rows: Mapping[str, Mapping[str, Any]], sha: str
) -> Scorecard | None:
    if sha not in cards:
        row = rows.get(sha)
        try:
            cards[sha] = from_dict(row["scorecard"]) if row is not None else None
        except ScorecardError:
            cards[sha] = None
    return cards[sha]


def _rerun(
    card: Scorecard | None,
    rubric: Rubric,
    section: RubricSection,
    item: RubricItem,
    param: str,
    value: Any,
) -> str:
    """The item's verdict on ``card`` with ``param = value``: the check run again through
    :func:`callqa.scoring.score.run_checks` (its ``na_if`` rules and ``min_words`` included)."""
    assert card is not None
    changed = replace(item, params={**item.params, param: value})
    alone = Rubric(
        name=rubric.name,
        sections=(RubricSection(section.id, section.title, (changed,)),),
        min_words=rubric.min_words,
        phrase_packs=rubric.phrase_packs,
    )
    metrics, transcript = card.metrics, card.transcript
    return run_checks(alone, transcript, metrics, has_audio=card.channels > 0)[0].verdict


def _best(
    values: Sequence[Any],
    verdicts: Mapping[Any, Mapping[str, str]],
    human: Mapping[str, str],
    calls: Sequence[str],
    current: Any,
) -> Any:
    """The value with the highest kappa on ``calls`` (then accuracy, nearness to the current
    value, smallness)."""

    def key(v: Any) -> tuple[float, float, float, float]:
        matrix = confusion([(human[c], verdicts[v][c]) for c in calls])
        kappa, _ = kappa_of(matrix)
        accuracy = float(np.trace(matrix)) / max(1, int(matrix.sum()))
        return (kappa if kappa is not None else -2.0, accuracy, -abs(v - current), -v)

    return max(values, key=key)


def _stored_verdict(row: Mapping[str, Any], item: str) -> str:
    for check in (row.get("scorecard") or {}).get("checks") or ():
        if check.get("id") == item:
            return str(check.get("verdict"))
    return "na"


def overlay_text(
    results: Iterable[FitResult], base: Rubric, out: Path, *, header: Sequence[str] = ()
) -> str:
    """A rubric file that extends ``base`` with the proposed thresholds (changed items only).

    ``extends`` is "default" for the built-in rubric, else the path of ``base`` relative to
    ``out``'s folder. The comment block says where the values come from and their held-out
    kappa before and after.
    """
    changed = [r for r in results if r.changed and r.proposed is not None]
    lines = [f"# {h}" for h in header]
    lines += ["# Held-out Cohen's kappa against the reviewers (folds grouped by call):"]
    for r in changed:
        assert r.before is not None and r.after is not None
        lines.append(
            f"#   {r.item}: {r.param} {r.current:g} -> {r.proposed:g}, kappa "
            f"{_k(r.before.kappa)} -> {_k(r.after.kappa)} ({r.calls} calls, {r.folds} folds)"
        )
    lines += [
        "# Nothing changes until this file is passed: callqa batch ... --rubric THIS_FILE",
        "",
        f"extends = {_toml_string(_extends(base, out))}",
        f"name = {_toml_string(base.name + '-fitted')}",
    ]
    for r in changed:
        lines += [
            "",
            f'[items."{r.item}"]',
            f"params = {{ {r.param} = {_toml_number(r.proposed)} }}",
        ]
    return "\n".join(lines) + "\n"


def _k(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def _extends(base: Rubric, out: Path) -> str:
    source = Path(base.source) if base.source else DEFAULT_RUBRIC
    if source.resolve() == DEFAULT_RUBRIC.resolve():
        return "default"
    return os.path.relpath(source.resolve(), Path(out).resolve().parent)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_number(value: Any) -> str:
    return str(value) if isinstance(value, int) else repr(round(float(value), 4))
