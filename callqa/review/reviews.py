"""Stored reviews and the final verdicts they give each call.

A call's *final* verdict on an item is the latest human verdict on it, whoever gave it, else
callqa's; "latest" orders by ``reviewed_at`` (the time recorded when the file gave none), then
by the order the reviews were stored (a later import wins a tie). A reviewer who judges the
same item of a call twice counts once, with their latest verdict (:func:`latest_by_reviewer`).

:func:`with_final` turns the store's call rows (:func:`callqa.batch.store.read_calls`) into
rows whose ``score``, ``sections`` and ``failed_items`` are over the final verdicts, with
callqa's own beside them (``machine_score``, ``machine_failed_items``) and the reviewer
verdicts (``human``): every view over the store (export, stats, dashboard, queue) reads these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from callqa.scoring.final import FinalScore, HumanVerdict, final_score
from callqa.scoring.scorecard import sections_from_dict
from callqa.types import Verdict


@dataclass(frozen=True)
class StoredReview:
    """One row of the store's ``reviews`` table.

    Attributes
    ----------
    review_id : int
        Order of storing (1, 2, ...).
    audio_sha256 : str
        The recording (or transcript file) it is about.
    call_id, item, reviewer, note : str
    verdict : {"pass", "fail", "na"}
    reviewed_at : datetime or None
        As given (naive UTC).
    recorded_at : datetime
        When callqa stored it (naive UTC).
    source : str
        "import" or "set".
    """

    review_id: int
    audio_sha256: str
    call_id: str
    item: str
    verdict: Verdict
    reviewer: str
    note: str
    reviewed_at: datetime | None
    recorded_at: datetime
    source: str

    @property
    def when(self) -> datetime:
        """The time that orders reviews: ``reviewed_at``, else ``recorded_at``."""
        return self.reviewed_at or self.recorded_at

    def human(self) -> HumanVerdict:
        """As a :class:`~callqa.scoring.final.HumanVerdict`."""
        return HumanVerdict(
            self.item, self.verdict, self.reviewer, self.note, self.when.isoformat()
        )


def _order(review: StoredReview) -> tuple[datetime, int]:
    return review.when, review.review_id


def latest_by_item(reviews: Iterable[StoredReview]) -> dict[str, dict[str, StoredReview]]:
    """audio sha256 -> item -> the latest review of it (the final human verdict)."""
    out: dict[str, dict[str, StoredReview]] = {}
    for r in sorted(reviews, key=_order):
        out.setdefault(r.audio_sha256, {})[r.item] = r
    return out


def latest_by_reviewer(
    reviews: Iterable[StoredReview],
) -> dict[tuple[str, str], dict[str, StoredReview]]:
    """(audio sha256, item) -> reviewer -> that reviewer's latest review of it."""
    out: dict[tuple[str, str], dict[str, StoredReview]] = {}
    for r in sorted(reviews, key=_order):
        out.setdefault((r.audio_sha256, r.item), {})[r.reviewer] = r
    return out


def final_of(
    row: Mapping[str, Any], human: Mapping[str, StoredReview], auto_fail_cap: float
) -> FinalScore:
    """The final scores of one stored call (a :func:`~callqa.batch.store.read_calls` row)."""
    card = row.get("scorecard") or {}
    return final_score(
        sections_from_dict(card),
        machine_score=row.get("score"),
        auto_failed=[str(a) for a in card.get("auto_failed") or ()],
        human={item: r.human() for item, r in human.items()},
        auto_fail_cap=auto_fail_cap,
    )


def with_final(
    rows: Iterable[Mapping[str, Any]],
    reviews: Iterable[StoredReview],
    *,
    auto_fail_cap: float = 0.0,
) -> list[dict[str, Any]]:
    """Store rows with their scores over the final verdicts, callqa's own beside them.

    Each row gets: ``score``, ``sections``, ``failed_items`` over the final verdicts;
    ``machine_score``, ``machine_sections``, ``machine_failed_items`` (callqa's);
    ``human`` (item -> :class:`~callqa.scoring.final.HumanVerdict`, the latest per item);
    ``overridden`` (items whose human verdict differs from callqa's); ``final_verdicts``
    (item -> final verdict). A call without reviews keeps its numbers.
    """
    latest = latest_by_item(reviews)
    out = []
    for row in rows:
        final = final_of(row, latest.get(str(row.get("audio_sha256") or ""), {}), auto_fail_cap)
        out.append(_final_row(row, final))
    return out


def _final_row(row: Mapping[str, Any], final: FinalScore) -> dict[str, Any]:
    verdicts = final.verdicts
    return {
        **row,
        "machine_score": row.get("score"),
        "machine_sections": dict(row.get("sections") or {}),
        "machine_failed_items": list(row.get("failed_items") or ()),
        "score": final.score,
        "sections": {s.id: s.score for s in final.sections},
        "failed_items": [item for item, v in verdicts.items() if v == "fail"],
        "final_verdicts": verdicts,
        "human": dict(final.human),
        "overridden": list(final.overridden),
    }


def machine_verdicts(card: Mapping[str, Any]) -> dict[str, str]:
    """Check id -> callqa's verdict, from a scorecard's JSON form."""
    return {str(c["id"]): str(c.get("verdict", "na")) for c in card.get("checks") or ()}


def reviewed_items(rows: Sequence[Mapping[str, Any]]) -> int:
    """How many items of ``rows`` (from :func:`with_final`) carry a human verdict."""
    return sum(len(r.get("human") or {}) for r in rows)
