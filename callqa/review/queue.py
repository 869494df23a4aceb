"""The review queue: the calls most worth a person's time, each with the reason.

A call's **priority** is the sum of five parts, each documented in docs/review.md:

``priority = doubt + history + auto_fail + transcript + low_score``

- ``doubt``: the expected number of wrong verdicts by callqa's own confidence: ``1 - confidence``
  summed over the call's verdicts, for items without enough team history (below); an item that
  is "na" because the call has no audio (:data:`~callqa.scoring.rubric.NA_RULES` ``no_audio``)
  cannot be judged otherwise and adds nothing;
- ``history``: the same expectation from the team's own reviews: for an item where reviewers
  judged at least :data:`MIN_HISTORY` calls that callqa gave the same verdict, the share of them
  they overruled replaces ``1 - confidence``;
- ``auto_fail``: :data:`AUTO_FAIL_POINTS` when an auto-fail item failed (applied, or withheld
  because callqa was unsure): one verdict decides the whole score;
- ``transcript``: :data:`TRANSCRIPT_POINTS` for each of the transcript, the roles and the
  language that the scorecard lists for review (unreliable words undermine every verdict);
- ``low_score``: ``1 - score / 100``: among equally uncertain calls, the worst first.

Calls a reviewer has already judged (any item) are not queued. Ties are broken by the lower
score (no score last), then the call id, then the recording's sha256: the order is the same on
every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from callqa.review.reviews import StoredReview, latest_by_item
from callqa.scoring.final import CALL_LEVEL
from callqa.scoring.rubric import NA_RULES

MIN_HISTORY = 5  # reviewed calls of an (item, verdict) before the team's own rate replaces
AUTO_FAIL_POINTS = 1.0  # as much as one verdict certainly wrong: it decides the whole score
TRANSCRIPT_POINTS = 0.5  # per whole-call doubt (transcript, roles, language) on the scorecard
HISTORY_SHOWN = 0.25  # an item's overrule rate from this up is named among the reasons


@dataclass(frozen=True)
class QueueEntry:
    """One call in the review queue.

    Attributes
    ----------
    rank : int >= 1
    call_id, agent_id, team, call_date, audio_sha256 : str or None
    score : float in [0, 100] or None
        The call's score (final verdicts: callqa's, as it is not reviewed yet).
    priority : float >= 0
    parts : dict of str -> float
        ``doubt``, ``history``, ``auto_fail``, ``transcript``, ``low_score``.
    reasons : tuple of str
        Why, in words, largest part first.
    """

    rank: int
    call_id: str
    agent_id: str | None
    team: str | None
    call_date: str | None
    audio_sha256: str
    score: float | None
    priority: float
    parts: dict[str, float] = field(hash=False, compare=False)
    reasons: tuple[str, ...] = ()


def overrule_rates(
    rows: Sequence[Mapping[str, Any]], reviews: Sequence[StoredReview]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(item, callqa's verdict) -> (overruled, reviewed): how often the final human verdict
    differed from callqa's, over the reviewed calls."""
    final = latest_by_item(reviews)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        human = final.get(str(row.get("audio_sha256") or ""), {})
        checks = _checks(row)
        for item, review in human.items():
            if item in checks:
                key = (item, str(checks[item].get("verdict")))
                overruled, n = out.get(key, (0, 0))
                out[key] = (overruled + (review.verdict != key[1]), n + 1)
    return out


def review_queue(
    rows: Sequence[Mapping[str, Any]],
    reviews: Sequence[StoredReview],
    *,
    budget: int,
    review_below: float = 0.7,
) -> list[QueueEntry]:
    """The ``budget`` calls most worth reviewing, highest priority first.

    Parameters
    ----------
    rows : sequence of dict
        Stored calls with final scores (:func:`callqa.review.reviews.with_final`).
    reviews : sequence of StoredReview
        Every stored review (the team's history, and which calls are reviewed already).
    budget : int >= 0
        How many calls to return.
    review_below : float in [0, 1]
        Verdicts less sure than this are named among the reasons (the rubric's).
    """
    rates = overrule_rates(rows, reviews)
    reviewed = {r.audio_sha256 for r in reviews}
    entries = [
        _entry(row, rates, review_below)
        for row in rows
        if str(row.get("audio_sha256") or "") not in reviewed
    ]
    entries.sort(
        key=lambda e: (
            -round(e.priority, 6),
            e.score if e.score is not None else 101.0,
            e.call_id,
            e.audio_sha256,
        )
    )
    return [_ranked(e, n) for n, e in enumerate(entries[: max(0, budget)], start=1)]


def _ranked(entry: QueueEntry, rank: int) -> QueueEntry:
    return replace(entry, rank=rank)


def _checks(row: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    card = row.get("scorecard") or {}
    return {str(c["id"]): c for c in card.get("checks") or () if isinstance(c, Mapping)}


def _entry(
    row: Mapping[str, Any], rates: Mapping[tuple[str, str], tuple[int, int]], review_below: float
) -> QueueEntry:
    card = row.get("scorecard") or {}
    titles = _titles(card)
    doubt, history, reasons = _verdict_parts(_checks(row), rates, review_below)
    auto, auto_reason = _auto_fail(card, titles)
    transcript, call_reasons = _call_level(card)
    score = row.get("score")
    low = 1.0 - float(score) / 100.0 if isinstance(score, int | float) else 0.0
    parts = {
        "doubt": doubt,
        "history": history,
        "auto_fail": auto,
        "transcript": transcript,
        "low_score": low,
    }
    ordered = [(auto, auto_reason), (transcript, "; ".join(call_reasons)), *reasons]
    if isinstance(score, int | float):
        ordered.append((low, f"score {float(score):.0f}"))
    words = tuple(text for weight, text in sorted(ordered, key=lambda p: -p[0]) if text and weight)
    return QueueEntry(
        rank=0,
        call_id=str(row.get("call_id") or ""),
        agent_id=row.get("agent_id"),
        team=row.get("team"),
        call_date=row.get("call_date"),
        audio_sha256=str(row.get("audio_sha256") or ""),
        score=float(score) if isinstance(score, int | float) else None,
        priority=round(sum(parts.values()), 6),
        parts={k: round(v, 6) for k, v in parts.items()},
        reasons=words,
    )


def _titles(card: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(i["id"]): str(i.get("title") or i["id"])
        for s in card.get("sections") or ()
        for i in s.get("items") or ()
    }


def _verdict_parts(
    checks: Mapping[str, Mapping[str, Any]],
    rates: Mapping[tuple[str, str], tuple[int, int]],
    review_below: float,
) -> tuple[float, float, list[tuple[float, str]]]:
    """(doubt, history, reasons) over a call's verdicts."""
    doubt = history = 0.0
    unsure: list[tuple[float, str]] = []
    reasons: list[tuple[float, str]] = []
    for item, check in checks.items():
        verdict = str(check.get("verdict"))
        if _out_of_play(check):
            continue
        overruled, n = rates.get((item, verdict), (0, 0))
        if n >= MIN_HISTORY:
            rate = overruled / n
            history += rate
            if rate >= HISTORY_SHOWN:
                reasons.append(
                    (
                        rate,
                        f"reviewers overruled callqa's '{verdict}' on {item} in {overruled} "
                        f"of {n} calls",
                    )
                )
            continue
        confidence = check.get("confidence")
        if isinstance(confidence, int | float) and not isinstance(confidence, bool):
            doubt += max(0.0, 1.0 - float(confidence))
            if confidence < review_below:
                unsure.append((float(confidence), f"{item} '{verdict}' ({confidence:.2f})"))
    if unsure:
        listed = ", ".join(text for _, text in sorted(unsure))
        reasons.append((doubt, f"unsure verdicts: {listed}"))
    return doubt, history, reasons


def _out_of_play(check: Mapping[str, Any]) -> bool:
    """An item the rubric put out of play because the call has no audio: no one can judge it."""
    details = check.get("details")
    return (
        check.get("verdict") == "na"
        and isinstance(details, Mapping)
        and details.get("reason") == NA_RULES["no_audio"]
    )


def _auto_fail(card: Mapping[str, Any], titles: Mapping[str, str]) -> tuple[float, str]:
    applied = [str(a) for a in card.get("auto_failed") or ()]
    if applied:
        named = ", ".join(titles.get(a, a) for a in applied)
        return AUTO_FAIL_POINTS, f"auto-fail applied (score capped): {named}"
    withheld = [
        str(r.get("item"))
        for r in card.get("review") or ()
        if isinstance(r, Mapping) and str(r.get("reason", "")).startswith("auto-fail not applied")
    ]
    if withheld:
        named = ", ".join(titles.get(w, w) for w in withheld)
        return AUTO_FAIL_POINTS, f"auto-fail withheld, callqa unsure: {named}"
    return 0.0, ""


def _call_level(card: Mapping[str, Any]) -> tuple[float, list[str]]:
    """Points for each kind of whole-call doubt (a scorecard may list "transcript" twice:
    words heard poorly and speech turns without words; it counts once), and the reasons."""
    listed = card.get("review") or ()
    found = [r for r in listed if isinstance(r, Mapping) and r.get("item") in CALL_LEVEL]
    kinds = {r.get("item") for r in found}
    return TRANSCRIPT_POINTS * len(kinds), [f"{r.get('item')}: {r.get('reason')}" for r in found]
