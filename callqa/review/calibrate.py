"""Calibration: how often callqa agrees with the team's own reviewers, item by item.

For every rubric item, the pairs are (final human verdict, callqa's verdict) over the calls a
reviewer judged on that item; the final human verdict is the latest one (any reviewer), and
callqa's is the verdict of the call's latest scoring. Per item and overall (every pair of every
item pooled) it reports the counts, the confusion matrix (rows: the human, columns: callqa),
accuracy and Cohen's kappa with bootstrap intervals over calls (:mod:`callqa.review.agreement`).

Where two or more reviewers judged the same item of the same call, their agreement with each
other (Fleiss' kappa over each reviewer's latest verdict) sits beside callqa's agreement with
each of them on those same items: a team sees whether callqa is further from its reviewers
than they are from each other. Every disagreement is listed with the evidence callqa quoted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callqa.errors import ScorecardError
from callqa.outputs.explain import evidence_views
from callqa.outputs.table import evidence_text
from callqa.review.agreement import (
    CLASSES,
    RESAMPLES,
    SEED,
    Agreement,
    GroupAgreement,
    agreement,
    fleiss,
)
from callqa.review.reviews import StoredReview, latest_by_item, latest_by_reviewer
from callqa.scoring.scorecard import Scorecard, from_dict

OVERALL = "overall"
EVIDENCE_SHOWN = 2  # quotes per disagreement


@dataclass(frozen=True)
class ItemCalibration:
    """callqa against the reviewers on one item (or :data:`OVERALL`, every item pooled).

    Attributes
    ----------
    item, title : str
    scored : int
        Calls callqa scored on the item (reviewed or not).
    human : dict of str -> int
        Final human verdicts by class, over the reviewed calls.
    machine : dict of str -> int
        callqa's verdicts on those same calls.
    vs_human : Agreement
        callqa against the final human verdicts (``n`` reviewed calls).
    reviewers : GroupAgreement
        The reviewers among themselves, on items two or more of them judged.
    vs_reviewers : Agreement
        callqa against each of those reviewers on the same items (no bootstrap).
    note : str
        "never reviewed" when no reviewer judged the item.
    """

    item: str
    title: str
    scored: int
    human: dict[str, int]
    machine: dict[str, int]
    vs_human: Agreement
    reviewers: GroupAgreement
    vs_reviewers: Agreement
    note: str = ""


@dataclass(frozen=True)
class Disagreement:
    """A reviewed item where callqa's verdict and the final human verdict differ."""

    call_id: str
    item: str
    title: str
    machine: str
    confidence: float | None
    human: str
    reviewer: str
    note: str
    reviewed_at: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Calibration:
    """Everything ``callqa calibrate`` reports.

    Attributes
    ----------
    items : tuple of ItemCalibration
        In rubric order, then items only reviews name.
    overall : ItemCalibration
        Every pair pooled.
    disagreements : tuple of Disagreement
        By call id, then rubric order.
    calls, reviewed_calls, reviews, superseded : int
        Calls in the store, calls with a human verdict, stored reviews, and reviews replaced by
        the same reviewer's later verdict on the same item (only the latest counts).
    reviewers : tuple of str
    resamples, seed : int
        The bootstrap's settings.
    """

    items: tuple[ItemCalibration, ...]
    overall: ItemCalibration
    disagreements: tuple[Disagreement, ...]
    calls: int
    reviewed_calls: int
    reviews: int
    superseded: int
    reviewers: tuple[str, ...]
    resamples: int = RESAMPLES
    seed: int = SEED


def calibrate(
    rows: Sequence[Mapping[str, Any]],
    reviews: Sequence[StoredReview],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Calibration:
    """Agreement between callqa and the reviewers over the stored calls.

    Parameters
    ----------
    rows : sequence of dict
        Stored calls (:func:`callqa.batch.store.read_calls`; the latest scoring of each).
    reviews : sequence of StoredReview
        Every stored review (:func:`callqa.batch.reviews.read_reviews`); reviews of calls not
        in ``rows`` are left out.
    resamples, seed : int
        Bootstrap settings (:mod:`callqa.review.agreement`).
    """
    calls = {str(r["audio_sha256"]): r for r in rows}
    kept = [r for r in reviews if r.audio_sha256 in calls]
    final = latest_by_item(kept)
    per_reviewer = latest_by_reviewer(kept)
    order, titles = _items(rows, kept)
    machine = {sha: _checks(row) for sha, row in calls.items()}
    items = tuple(
        _item(item, titles.get(item, item), calls, machine, final, per_reviewer, resamples, seed)
        for item in order
    )
    overall = _item(OVERALL, "every item", calls, machine, final, per_reviewer, resamples, seed)
    return Calibration(
        items=items,
        overall=overall,
        disagreements=tuple(_disagreements(calls, machine, final, titles, order)),
        calls=len(calls),
        reviewed_calls=len(final),
        reviews=len(kept),
        superseded=len(kept) - sum(len(v) for v in per_reviewer.values()),
        reviewers=tuple(sorted({r.reviewer for r in kept})),
        resamples=resamples,
        seed=seed,
    )


def _checks(row: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    card = row.get("scorecard") or {}
    return {str(c["id"]): c for c in card.get("checks") or () if isinstance(c, Mapping)}


def _items(
    rows: Sequence[Mapping[str, Any]], reviews: Sequence[StoredReview]
) -> tuple[list[str], dict[str, str]]:
    """Item ids in rubric order (as the scorecards list them), then any only reviews name."""
    order: dict[str, None] = {}
    titles: dict[str, str] = {}
    for row in rows:
        for section in (row.get("scorecard") or {}).get("sections") or ():
            for item in section.get("items") or ():
                order.setdefault(str(item["id"]), None)
                titles.setdefault(str(item["id"]), str(item.get("title") or item["id"]))
    for r in reviews:
        order.setdefault(r.item, None)
    return list(order), titles


def _item(
    item: str,
    title: str,
    calls: Mapping[str, Mapping[str, Any]],
    machine: Mapping[str, Mapping[str, Mapping[str, Any]]],
    final: Mapping[str, Mapping[str, StoredReview]],
    per_reviewer: Mapping[tuple[str, str], Mapping[str, StoredReview]],
    resamples: int,
    seed: int,
) -> ItemCalibration:
    wanted = (lambda i: True) if item == OVERALL else (lambda i: i == item)
    pairs_by_call: list[list[tuple[str, str]]] = []
    for sha, verdicts in final.items():
        pairs = [
            (str(r.verdict), _verdict(machine[sha].get(i)))
            for i, r in verdicts.items()
            if wanted(i) and i in machine[sha]
        ]
        if pairs:
            pairs_by_call.append(pairs)
    group_subjects: list[list[str]] = []
    vs_reviewers: list[list[tuple[str, str]]] = []
    for (sha, i), by_reviewer in per_reviewer.items():
        if wanted(i) and len(by_reviewer) >= 2 and i in machine[sha]:
            verdicts_of = [str(r.verdict) for r in by_reviewer.values()]
            group_subjects.append(verdicts_of)
            vs_reviewers.append([(v, _verdict(machine[sha][i])) for v in verdicts_of])
    flat = [p for pairs in pairs_by_call for p in pairs]
    scored = sum(1 for checks in machine.values() for i in checks if wanted(i))
    return ItemCalibration(
        item=item,
        title=title,
        scored=scored,
        human={k: sum(1 for h, _ in flat if h == k) for k in CLASSES},
        machine={k: sum(1 for _, m in flat if m == k) for k in CLASSES},
        vs_human=agreement(pairs_by_call, resamples=resamples, seed=seed),
        reviewers=fleiss(group_subjects),
        vs_reviewers=agreement(vs_reviewers, resamples=0),
        note="" if flat else "never reviewed",
    )


def _verdict(check: Mapping[str, Any] | None) -> str:
    verdict = str((check or {}).get("verdict", "na"))
    return verdict if verdict in CLASSES else "na"


def _disagreements(
    calls: Mapping[str, Mapping[str, Any]],
    machine: Mapping[str, Mapping[str, Mapping[str, Any]]],
    final: Mapping[str, Mapping[str, StoredReview]],
    titles: Mapping[str, str],
    order: Sequence[str],
) -> Iterable[Disagreement]:
    rank = {item: n for n, item in enumerate(order)}
    found = []
    for sha, verdicts in final.items():
        cards: dict[str, Scorecard | None] = {}
        for item, review in verdicts.items():
            check = machine[sha].get(item)
            if check is None or _verdict(check) == review.verdict:
                continue
            row = calls[sha]
            found.append(
                Disagreement(
                    call_id=str(row.get("call_id")),
                    item=item,
                    title=titles.get(item, item),
                    machine=_verdict(check),
                    confidence=_confidence(check),
                    human=review.verdict,
                    reviewer=review.reviewer,
                    note=review.note,
                    reviewed_at=review.when.isoformat(),
                    evidence=_evidence(cards, sha, row, item),
                )
            )
    return sorted(found, key=lambda d: (d.call_id, rank.get(d.item, len(rank)), d.item))


def _confidence(check: Mapping[str, Any]) -> float | None:
    value = check.get("confidence")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _evidence(
    cards: dict[str, Scorecard | None], sha: str, row: Mapping[str, Any], item: str
) -> tuple[str, ...]:
    """The first quotes callqa gave for ``item`` ("0:13 agent “...”"), read from the stored
    scorecard (parsed once per call)."""
    if sha not in cards:
        try:
            cards[sha] = from_dict(row.get("scorecard") or {})
        except ScorecardError:
            cards[sha] = None
    card = cards[sha]
    check = next((c for c in card.checks if c.id == item), None) if card is not None else None
    if card is None or check is None:
        return ()
    return tuple(evidence_text(v) for v in evidence_views(check, card.transcript)[:EVIDENCE_SHOWN])
