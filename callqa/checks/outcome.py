"""The call's outcome for the customer: ``outcome.customer_calmer`` and
``outcome.low_point_response``.

Both read the sentiment stage (:mod:`callqa.sentiment`, ``ctx.sentiment``): the customer's
sentiment per quarter of their words, and their most negative utterance (the *low point*). A
reading is ``combined``: the words' score (P(positive) - P(negative), -1..1) amplified by the
voice's arousal when there is audio. The stage measures; these checks decide, with their own
thresholds (``DEFAULTS``, or the rubric item's ``params``). docs/checks.md gives the reasons.
"""

from __future__ import annotations

from typing import Any, Literal

from callqa.checks.base import CheckContext, CheckFn, not_applicable
from callqa.checks.commitment import action_phrase
from callqa.checks.empathy import apology_kind, empathises
from callqa.checks.language import forbidden
from callqa.checks.listening import ReflectionBar, reflects, statements
from callqa.checks.text import (
    CallText,
    Sentence,
    SpeakerTurn,
    call_text,
    evidence,
    find_phrases,
)
from callqa.sentiment import CallSentiment, CustomerOutcome, Reading
from callqa.types import AGENT, CUSTOMER, CheckResult, Evidence, Transcript

CALMER = "outcome.customer_calmer"
RESPONSE = "outcome.low_point_response"

DEFAULTS: dict[str, dict[str, Any]] = {
    CALMER: {
        "negative_at": -0.25,  # a reading at or below this is negative
        "min_recovery": 0.5,  # ... and the end this far above the lowest quarter is calmer
    },
    RESPONSE: {
        "negative_at": -0.25,  # the low point must be at least this negative to matter
        "partial_score": 0.5,  # a question, reflection or action, without empathy or apology
        "interrupt_s": 1.0,  # starting this long before the customer's low point ends cuts in
        "max_sentences": 4,  # agent sentences read as the response
    },
}

Response = Literal[
    "empathy", "apology", "reflection", "question", "action", "interruption", "dismissal", "none"
]
FULL: tuple[Response, ...] = ("empathy", "apology")  # what the method asks for first
PARTIAL: tuple[Response, ...] = ("reflection", "question", "action")


def _params(check_id: str, ctx: CheckContext) -> dict[str, Any]:
    return {**DEFAULTS[check_id], **dict(ctx.params)}


def _outcome(check_id: str, ctx: CheckContext) -> CustomerOutcome | CheckResult:
    """The customer's outcome, or the "na" result that says why there is none."""
    sentiment: CallSentiment | None = ctx.sentiment
    if sentiment is None:
        return not_applicable(check_id, "sentiment was not measured")
    if sentiment.reason is not None:
        return not_applicable(check_id, f"sentiment not measured: {sentiment.reason}")
    if sentiment.customer is None:
        return not_applicable(check_id, sentiment.customer_reason or "no customer speech")
    return sentiment.customer


def _quote(transcript: Transcript, speaker: str, r: Reading) -> Evidence:
    """The words of ``speaker``'s segments inside the reading's span."""
    said = [
        s.text.strip()
        for s in transcript.segments
        if s.speaker == speaker and s.start >= r.start - 1e-6 and s.end <= r.end + 1e-6
    ]
    return Evidence(speaker, round(r.start, 2), round(r.end, 2), " ".join(said))


def _last_words(transcript: Transcript, end: Reading) -> Evidence:
    """The customer's last segment of the ``end`` reading."""
    last = [s for s in transcript.segments_of(CUSTOMER) if end.start <= s.start <= end.end]
    seg = last[-1] if last else None
    if seg is None:
        return _quote(transcript, CUSTOMER, end)
    return Evidence(CUSTOMER, round(seg.start, 2), round(seg.end, 2), seg.text.strip())


def _never_negative(outcome: CustomerOutcome, negative_at: float) -> str | None:
    low = outcome.low_point
    lowest = min(outcome.lowest.combined, low.combined if low is not None else 1.0)
    if lowest > negative_at:
        return (
            f"the customer was never negative (lowest reading {lowest:+.2f}; negative is "
            f"{negative_at:+.2f} or below): there was nothing to calm"
        )
    return None


def customer_calmer(ctx: CheckContext) -> CheckResult:
    """``outcome.customer_calmer``: the customer ends less negative than at their worst.

    "na" when the customer was never negative (no quarter of their words and no utterance at
    or below ``negative_at``). **Pass** when the last quarter of the customer's words is not
    negative (above ``negative_at``) or is at least ``min_recovery`` above their most negative
    quarter. ``details.margin`` is the distance to that decision (> 0 pass), in score units.
    """
    p, outcome = _params(CALMER, ctx), _outcome(CALMER, ctx)
    if isinstance(outcome, CheckResult):
        return outcome
    negative_at, recovery = float(p["negative_at"]), float(p["min_recovery"])
    why = _never_negative(outcome, negative_at)
    if why is not None:
        return not_applicable(CALMER, why)
    end, lowest = outcome.end.combined, outcome.lowest.combined
    margin = max(end - negative_at, end - lowest - recovery)
    ok = margin > 0
    low = outcome.low_point or outcome.lowest
    return CheckResult(
        id=CALMER,
        verdict="pass" if ok else "fail",
        score=1.0 if ok else 0.0,
        evidence=(_quote(ctx.transcript, CUSTOMER, low), _last_words(ctx.transcript, outcome.end)),
        tip=""
        if ok
        else "Take the heat out before you close: acknowledge the feeling, say what you will "
        "do and when, and check the customer is satisfied with it.",
        details={
            "start": outcome.start.combined,
            "end": end,
            "lowest": lowest,
            "low_point": None if outcome.low_point is None else outcome.low_point.combined,
            "low_point_at": round(low.start, 2),
            "recovery": round(end - lowest, 3),
            "margin": round(margin, 3),
            "margin_at": 0.0,
            "negative_at": negative_at,
            "min_recovery": recovery,
        },
    )


# --------------------------------------------------------------------------- the low point


def _response(text: CallText, low: Reading, max_sentences: int) -> list[Sentence]:
    """The agent's sentences that answer the low point: from the agent's first sentence that
    starts after the low point did (one-word continuers inside it skipped) until the customer
    speaks again (a sentence of 3 words or more), at most ``max_sentences``."""
    out: list[Sentence] = []
    for s in text.sentences():
        if s.start < low.start - 1e-6:
            continue
        if s.speaker == CUSTOMER and out and len(s.tokens) >= 3 and s.start >= low.end:
            break
        if s.speaker != AGENT or (len(s.tokens) <= 1 and s.start < low.end):
            continue
        out.append(s)
        if len(out) >= max_sentences:
            break
    return out


def _turn_of(text: CallText, low: Reading) -> SpeakerTurn | None:
    """The customer's statements (questions left out, as ``hear.paraphrase`` reads them) in
    the turn that overlaps the low point most, or None."""

    def overlap(t: SpeakerTurn) -> float:
        return min(t.end, low.end) - max(t.start, low.start)

    turn = max(text.turns_of(CUSTOMER), key=overlap, default=None)
    return statements(turn) if turn is not None and overlap(turn) > 0 else None


def _interrupted(ctx: CheckContext, low: Reading, first: Sentence, cut_s: float) -> bool:
    """True when the agent cut into the low point: a competitive interruption measured inside
    it, or (without audio measures) the response starting more than ``cut_s`` before its end."""
    dyn = ctx.metrics.dynamics
    if dyn is not None:
        return any(
            e.interrupter == AGENT and e.kind == "competitive" and low.start <= e.start < low.end
            for e in dyn.interruptions
        )
    return first.start < low.end - cut_s


def classify_response(
    text: CallText, sentences: list[Sentence], low_turn: SpeakerTurn | None = None
) -> Response:
    """What the agent's response does, the strongest first: dismissal (a forbidden phrase),
    empathy, apology, reflection (of ``low_turn``, the customer's turn holding the low point,
    as ``hear.paraphrase`` counts one: :func:`~callqa.checks.listening.reflects`), question,
    action; "none" otherwise."""
    pack = text.pack
    kinds: list[Response] = []
    for s in sentences:
        if forbidden(s.tokens, pack, question=s.question):
            return "dismissal"
        if empathises(s, pack):
            kinds.append("empathy")
        elif apology_kind(s.tokens, s.question, pack) == "apology":
            kinds.append("apology")
        elif low_turn is not None and reflects(s, low_turn, pack, ReflectionBar()) is not None:
            kinds.append("reflection")
        elif s.question:
            kinds.append("question")
        elif action_phrase(s.tokens, False, pack) or find_phrases(
            s.tokens, pack.phrases("agent_future")
        ):
            kinds.append("action")
    order: tuple[Response, ...] = (*FULL, *PARTIAL)
    return next((k for k in order if k in kinds), "none")


def low_point_response(ctx: CheckContext) -> CheckResult:
    """``outcome.low_point_response``: what the agent did right after the customer's most
    negative moment.

    The low point is the customer's most negative utterance (sentiment stage); "na" when it is
    not at or below ``negative_at`` or the agent did not answer it. **Pass** (score 1) for
    empathy or an apology; **pass, partial** (``partial_score``) for a reflection, a question
    or an action ("let me check that"); **fail** for an interruption of the low point, a
    forbidden phrase, or anything else ("Yes.", "No, I can't do that.").
    """
    p, outcome = _params(RESPONSE, ctx), _outcome(RESPONSE, ctx)
    if isinstance(outcome, CheckResult):
        return outcome
    low, negative_at = outcome.low_point, float(p["negative_at"])
    if low is None or low.combined > negative_at:
        worst = "none" if low is None else f"{low.combined:+.2f}"
        why = f"the customer had no negative moment (lowest utterance {worst}; negative is "
        return not_applicable(RESPONSE, f"{why}{negative_at:+.2f} or below)")
    text = call_text(ctx, RESPONSE)
    if not isinstance(text, CallText):
        return text
    said = _response(text, low, int(p["max_sentences"]))
    if not said:
        return not_applicable(RESPONSE, "the agent did not speak after the low point")
    kind: Response = (
        "interruption"
        if _interrupted(ctx, low, said[0], float(p["interrupt_s"]))
        else classify_response(text, said, _turn_of(text, low))
    )
    score = 1.0 if kind in FULL else float(p["partial_score"]) if kind in PARTIAL else 0.0
    details: dict[str, Any] = {
        "response": kind,
        "low_point_at": round(low.start, 2),
        "low_point_combined": low.combined,
        "negative_at": negative_at,
    }
    if kind in PARTIAL:
        details["partial"] = True
    return CheckResult(
        id=RESPONSE,
        verdict="pass" if score > 0 else "fail",
        score=score,
        evidence=(_quote(ctx.transcript, CUSTOMER, low), *(evidence(s) for s in said[:2])),
        tip=""
        if kind in FULL
        else "When the customer is most upset, let them finish, then acknowledge the feeling "
        'first ("I can hear how frustrating this has been") before you move to the fix.',
        details=details,
    )


CHECKS: dict[str, CheckFn] = {CALMER: customer_calmer, RESPONSE: low_point_response}
