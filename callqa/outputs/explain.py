"""The numbers behind each verdict, in words a coach reads at a glance.

Every view (terminal table, Markdown, HTML report) says the same things the same way:

- :func:`measure_text`: what was measured against which limit ("agent talked 65% of the time;
  limit 60%"), from the check's ``details``;
- :func:`evidence_label`: how a piece of evidence is introduced: the agent's words are quoted,
  a customer line quoted against the agent is "unanswered" (what the agent did not reflect or
  answer), and a moment whose text is not in the transcript ("longest agent monologue") is a
  label, never shown as a quote;
- :func:`focus_items`: the three things to work on first.

Definitions of every figure: docs/checks.md and docs/report.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callqa.config import TranscriptionConfig
from callqa.ranges import beside
from callqa.scoring.scorecard import Scorecard
from callqa.types import CheckResult, Evidence, ItemScore, Transcript

FOCUS_COUNT = 3  # "three things to work on"


def _n(value: Any, singular: str, plural: str | None = None) -> str:
    count = int(value or 0)
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def _pct(value: Any) -> str:
    return f"{100 * float(value):.0f}%"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(max(0.0, seconds)), 60)
    return f"{minutes}:{secs:02d}"


def _quoted(values: Sequence[Any]) -> str:
    return ", ".join(f"“{v}”" for v in dict.fromkeys(str(v) for v in values))


_PARTS = {
    "greeting": "greeting",
    "self_intro": "name and company",
    "offer_help": "offer of help",
    "thanks": "thanks",
    "anything_else": "anything else?",
    "farewell": "farewell",
}


def _parts(d: Mapping[str, Any]) -> str:
    order = list(_PARTS)
    rank = lambda p: order.index(p) if p in order else len(order)  # noqa: E731
    found = [_PARTS.get(p, p) for p in sorted(d.get("found") or (), key=rank)]
    missing = [_PARTS.get(p, p) for p in sorted(d.get("missing") or (), key=rank)]
    text = f"found: {', '.join(found)}" if found else "found none of the parts"
    return text + (f"; missing: {', '.join(missing)}" if missing else "")


def _talk_share(d: Mapping[str, Any]) -> str:
    share = beside(d["agent_talk_share"], d.get("max"), 0, 100)
    return f"agent did {share}% of the talking; limit {_pct(d['max'])}"  # of both parties' talk


def _interruptions(d: Mapping[str, Any]) -> str:
    text = f"{_n(d['interruptions'], 'interruption')} by the agent"
    if d.get("interruptions"):
        text += f", {float(d.get('overlap_s') or 0):.1f} s talked over"
    return text + f"; allowed {int(d.get('max_allowed') or 0)}"


def _paraphrase(d: Mapping[str, Any]) -> str:
    return (
        f"{_n(d['reflections'], 'reflection')} of "
        f"{_n(d.get('customer_statements'), 'customer statement')}"
    )


def _empathy(d: Mapping[str, Any]) -> str:
    text = _n(d["statements"], "empathy statement")
    at = d.get("complaint_at")
    return text + (f"; the customer complained at {_clock(float(at))}" if at is not None else "")


def _apology(d: Mapping[str, Any]) -> str:
    text = f"{_n(d['apologies'], 'apology', 'apologies')}"
    if d.get("apologies"):
        text += f", {int(d.get('after_complaint') or 0)} after the complaint"
    return text


def _questions(d: Mapping[str, Any]) -> str:
    return f"{_n(d['open'], 'open question')}, {_n(d.get('closed'), 'closed question')}"


def _alternative(d: Mapping[str, Any]) -> str:
    bare = int(d.get("without_alternative") or 0)
    return f"{_n(d['refusals'], 'refusal')}, {bare} without an alternative"


def _next_step(d: Mapping[str, Any]) -> str:
    text = f"{_n(d['commitments'], 'commitment')}, {int(d.get('with_time_frame') or 0)} with a time"
    text += " frame"
    if d.get("action"):
        text += f" (“{d['action']}”)"
    elif d.get("near_miss"):  # a time frame said, the action not heard (or phrased unlisted)
        text += f"; a time frame (“{d['near_miss']}”) with no action heard"
    return text


def _negative(d: Mapping[str, Any]) -> str:
    spoken = float(d.get("agent_minutes") or 0)
    counted = float(d.get("rate_minutes") or spoken)
    floored = d.get("count") and counted > spoken + 1e-9  # 0 words are 0 a minute anyway
    floor = f" (counted as {counted:.1f}, the minimum)" if floored else ""
    return (
        f"{_n(d['count'], 'negative word')} in {spoken:.2f} agent minutes{floor} = "
        f"{beside(d.get('per_minute') or 0, d.get('max_per_minute'), 1)} a minute; limit "
        f"{float(d.get('max_per_minute') or 0):.1f}"
    )


def _forbidden(d: Mapping[str, Any]) -> str:
    phrases = d.get("phrases") or ()
    return f"said {_quoted(phrases)}" if phrases else "no forbidden phrase"


def _repeat(d: Mapping[str, Any]) -> str:
    return f"{_n(d['repeats'], 'repeated request')}"


def _monotone(d: Mapping[str, Any]) -> str:
    return (
        f"pitch variation (SD) {beside(d['pitch_sd_st'], d.get('min_sd_st'), 1)} semitones; "
        f"minimum {float(d.get('min_sd_st') or 0):.1f}"
    )


def _pace(d: Mapping[str, Any]) -> str:
    text = f"{beside(d['agent_wpm'], d.get('max_wpm'), 0)} words a minute"
    if d.get("max_wpm") is not None:
        text += f" (limit {float(d['max_wpm']):.0f})"
    if d.get("ratio") is not None and d.get("max_ratio") is not None:
        text += (
            f"; articulation rate {beside(d['ratio'], d['max_ratio'], 2)}× the customer's (limit "
            f"{float(d['max_ratio']):.2f}×)"
        )
    return text


def _raised(d: Mapping[str, Any]) -> str:
    return f"{_n(len(d['stretches']), 'raised stretch', 'raised stretches')} of the agent's voice"


def _pressure(d: Mapping[str, Any]) -> str:
    parts = []
    if d.get("level_shift_db") is not None:
        parts.append(f"level {float(d['level_shift_db']):+.1f} dB (limit ±{d.get('level_db')})")
    if d.get("pitch_shift_st") is not None:
        parts.append(f"pitch {float(d['pitch_shift_st']):+.1f} st (limit ±{d.get('pitch_st')})")
    said = d.get("customer_sentiment")
    mood = f" (customer sentiment {float(said):+.2f})" if said is not None else ""
    return f"agent {', '.join(parts)} while the customer was agitated{mood}" if parts else ""


def _calmer(d: Mapping[str, Any]) -> str:
    return (
        f"customer sentiment {float(d['lowest']):+.2f} in their most negative quarter, "
        f"{float(d['end']):+.2f} in their last (negative at {float(d['negative_at']):+.2f} or "
        "below; calmer: above it, or "
        f"{float(d['min_recovery']):.2f} above the worst)"
    )


_RESPONSES = {
    "empathy": "empathy",
    "apology": "an apology",
    "reflection": "a reflection",
    "question": "a question",
    "action": "an action",
    "interruption": "an interruption",
    "dismissal": "a forbidden phrase",
    "none": "neither empathy, an apology, a question nor an action",
}


def _low_point(d: Mapping[str, Any]) -> str:
    kind = str(d["response"])
    return (
        f"the customer's most negative utterance ({_clock(float(d['low_point_at']))}, "
        f"sentiment {float(d['low_point_combined']):+.2f}) was met with "
        f"{_RESPONSES.get(kind, kind)}"
    )


def _phrases(d: Mapping[str, Any]) -> str:
    said = d.get("said") or ()
    if said:
        return f"said {_quoted(said)}"
    return "none of the phrases was said" if d.get("mode") != "forbidden" else "not said"


MEASURES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "open.greeting": _parts,
    "open.closing": _parts,
    "hear.paraphrase": _paraphrase,
    "hear.no_interruptions": _interruptions,
    "hear.talk_share": _talk_share,
    "hear.no_repeat": _repeat,
    "empathise.empathy": _empathy,
    "empathise.apology": _apology,
    "lead.open_questions": _questions,
    "lead.alternative": _alternative,
    "action.next_step": _next_step,
    "positive.negative_language": _negative,
    "positive.forbidden_phrases": _forbidden,
    "tone.not_monotone": _monotone,
    "tone.pace": _pace,
    "tone.no_raised_voice": _raised,
    "tone.steady_under_pressure": _pressure,
    "outcome.customer_calmer": _calmer,
    "outcome.low_point_response": _low_point,
}


EMPTY_TURNS_WARN = TranscriptionConfig().empty_turn_warn_share  # the scorecard's default


def agent_pace(card: Scorecard) -> str:
    """The agent's words per talk minute for a header, "" when unmeasured. When many speech
    turns got no words (more than the share the scorecard warns at), it says so: words the
    transcriber missed count as silence, and the Norwegian sample's agent read 35 words/min
    with 11 of its 13 turns unheard."""
    voice = card.metrics.voice
    agent = next((s for s in voice.speakers if s.speaker == "agent"), None) if voice else None
    wpm = agent.pace.wpm if agent is not None else None
    if wpm is None:
        return ""
    cov = card.metrics.coverage
    if cov is not None and cov.above(EMPTY_TURNS_WARN):
        return f"{wpm:.0f} words/min (no words in {cov.empty} of {cov.turns} speech turns)"
    return f"{wpm:.0f} words/min"


def measure_text(check: CheckResult) -> str:
    """What the check measured, against its limit where it has one ("" when unknown or "na").

    A rubric item that is a phrase list (docs/rubric.md) reports the phrases said.
    """
    if check.verdict == "na":
        return str(check.details.get("reason") or "")
    fmt = MEASURES.get(check.id) or (_phrases if check.details.get("kind") == "phrases" else None)
    if fmt is None:
        return ""
    try:
        return fmt(check.details)
    except (KeyError, TypeError, ValueError):  # a scorecard from another callqa version
        return ""


def partial_text(item: ItemScore) -> str:
    """``"earned 50% of this item"`` for a partial score, else ""."""
    if item.score is None or item.score in (0.0, 1.0):
        return ""
    return f"earned {100 * item.score:.0f}% of this item"


def weight_text(item: ItemScore) -> str:
    """``"counts 2×"`` when the item weighs more (or less) than a plain item, else ""."""
    return "" if item.weight == 1 else f"counts {item.weight:g}×"


# ---------------------------------------------------------------------------- evidence


@dataclass(frozen=True)
class EvidenceView:
    """One piece of evidence as every view shows it.

    Attributes
    ----------
    evidence : Evidence
    label : str
        "" for the agent's own words; "unanswered" for a customer line quoted against the
        agent; "loudest moment", "flattest quarter" or "fastest quarter" for the stretch a
        tone item points to (a passed ``tone.no_raised_voice``, ``tone.not_monotone``,
        ``tone.pace``: where to listen, its first words quoted); "customer" or the speaker
        for other lines.
    quote : bool
        True when the text is what was said (found in the transcript); False for a moment
        described in words ("longest agent monologue"), shown without quotation marks.
    """

    evidence: Evidence
    label: str
    quote: bool


def evidence_views(check: CheckResult, transcript: Transcript) -> tuple[EvidenceView, ...]:
    """The check's evidence, labelled (see :class:`EvidenceView`)."""
    return tuple(
        EvidenceView(ev, _label(check, ev), said_in(ev, transcript)) for ev in check.evidence
    )


# what a tone item's evidence is (a stretch to listen to, whose first words are quoted), so the
# quote is not read as the words that passed or failed the item
MOMENTS = {"tone.not_monotone": "flattest quarter", "tone.pace": "fastest quarter"}


def _label(check: CheckResult, ev: Evidence) -> str:
    if check.id == "tone.no_raised_voice" and check.verdict == "pass":
        return "loudest moment"  # where to listen, not words said loudly
    if check.id in MOMENTS and ev.speaker == "agent":
        return MOMENTS[check.id]
    if ev.speaker == "agent":
        return ""
    if ev.speaker == "customer" and check.verdict == "fail":
        return "unanswered"
    return ev.speaker


def said_in(ev: Evidence, transcript: Transcript, *, slack_s: float = 1.0) -> bool:
    """True when ``ev.text`` is words of the transcript near ``ev``'s time (any speaker when
    the evidence names none): a quote, not a description."""
    needle = _norm(ev.text)
    if not needle:
        return False
    near = [
        s.text
        for s in transcript.segments
        if s.start - slack_s <= ev.end and ev.start <= s.end + slack_s
        and (ev.speaker in ("", "unknown") or s.speaker in (ev.speaker, "unknown"))
    ]  # fmt: skip
    return needle in _norm(" ".join(near))


def _norm(text: str) -> str:
    return " ".join("".join(c.lower() if c.isalnum() else " " for c in text).split())


# ---------------------------------------------------------------------------- focus


@dataclass(frozen=True)
class Focus:
    """One of the things to work on first: an item that failed, with its tip."""

    item: ItemScore
    check: CheckResult | None
    points: float  # share of the overall score the item lost (0-100 points)


def focus_items(card: Scorecard, *, limit: int = FOCUS_COUNT) -> list[Focus]:
    """The failed items that cost the most, auto-fail items first.

    Points lost = 100 x weight x (1 - item score) / total weight of the judged items: how much
    higher the overall score would be had the item passed (before any auto-fail cap).
    """
    items = [i for s in card.sections for i in s.items]
    judged = sum(i.weight for i in items if i.verdict != "na" and i.score is not None)
    checks = {c.id: c for c in card.checks}
    found = [
        Focus(
            i, checks.get(i.id), 100 * i.weight * (1 - (i.score or 0.0)) / judged if judged else 0.0
        )
        for i in items
        if i.verdict == "fail"
    ]
    found.sort(key=lambda f: (not f.item.auto_fail, -f.points))
    return found[:limit]
