"""The call report's sentiment: the timeline's sentiment lanes, each party's quarter trend and
the customer's start, low point and end in words (docs/report.md)."""

from __future__ import annotations

from typing import Any

from callqa.checks.outcome import CALMER
from callqa.checks.outcome import DEFAULTS as OUTCOME_DEFAULTS
from callqa.outputs.html import clock
from callqa.ranges import beside
from callqa.scoring.scorecard import Scorecard
from callqa.sentiment import Reading
from callqa.types import CUSTOMER


def sentiment_data(card: Scorecard) -> dict[str, Any]:
    """Each segment's sentiment (the timeline's lanes) and each party's quarters (the trend)."""
    found = card.sentiment
    segments = [
        {"speaker": s.speaker or "unknown", "start": s.start, "end": s.end,
         "label": s.sentiment.label, "score": s.sentiment.score, "text": s.text.strip()[:140]}
        for s in sorted(card.transcript.segments, key=lambda s: s.start)
        if s.sentiment is not None
    ]  # fmt: skip
    parties = [
        {"speaker": p.speaker, "combined": [_value(q, "combined") for q in p.quarters],
         "score": [_value(q, "score") for q in p.quarters],
         "arousal": [_value(q, "arousal") for q in p.quarters]}
        for p in (found.parties if found is not None else ())
    ]  # fmt: skip
    return {"segments": segments, "parties": parties, "negative_at": _negative_at(card)}


def _value(reading: Reading | None, name: str) -> float | None:
    return None if reading is None else getattr(reading, name)


def _negative_at(card: Scorecard) -> float:
    """The score at or below which a reading is negative: the calmer check's, as it ran."""
    check = next((c for c in card.checks if c.id == CALMER), None)
    value = check.details.get("negative_at") if check is not None else None
    default = float(OUTCOME_DEFAULTS[CALMER]["negative_at"])
    return float(value) if isinstance(value, int | float) else default


def _mood_word(value: float, negative_at: float) -> str:
    return (
        "negative" if value <= negative_at else "positive" if value >= -negative_at else "neutral"
    )


def _signed(value: float, negative_at: float) -> str:
    """``value`` as +0.00, with more decimals where two would print it like the mood threshold
    on its side (``negative_at`` or its opposite; :func:`callqa.ranges.beside`): "ended neutral
    (+0.25)" had stood for +0.249."""
    text = beside(value, negative_at if value < 0 else -negative_at, 2)
    return text if text.startswith("-") else "+" + text


def mood_summary(card: Scorecard) -> list[str]:
    """Sentences on the customer's sentiment: start, low point, end, and why it is missing."""
    found = card.sentiment
    if found is None:
        return ["No sentiment in this scorecard."]
    if found.reason is not None:
        return [f"Sentiment not measured: {found.reason}."]
    outcome = found.customer
    if outcome is None:
        return [f"Customer: {found.customer_reason or 'no customer speech'}."]
    t = _negative_at(card)
    lines = [
        f"The customer started {_mood_word(outcome.start.combined, t)} "
        f"({_signed(outcome.start.combined, t)}) and ended {_mood_word(outcome.end.combined, t)} "
        f"({_signed(outcome.end.combined, t)}); the most negative quarter of what they said "
        f"was {_signed(outcome.lowest.combined, t)} (quarters of their words; the chart's are "
        "quarters of the call)."
    ]
    low = outcome.low_point
    if low is not None and low.combined <= t:
        quote = " ".join(
            s.text.strip() for s in card.transcript.segments_of(CUSTOMER) if s.start == low.start
        )
        lines.append(
            f"Most negative moment, {clock(low.start)} ({_signed(low.combined, t)}): “{quote}”"
        )
    return lines
