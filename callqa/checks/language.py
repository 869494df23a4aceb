"""Positive language: ``positive.negative_language`` and ``positive.forbidden_phrases``."""

from __future__ import annotations

from typing import Any

from callqa.checks.base import CheckContext
from callqa.checks.text import (
    CallText,
    Match,
    PhrasePack,
    Sentence,
    Token,
    call_text,
    evidence,
    find_phrases,
    outside,
    param,
)
from callqa.types import AGENT, CheckResult

NEGATIVE_DEFAULTS: dict[str, Any] = {
    "max_per_minute": 2.0,  # negative words per agent speech minute for a pass
    "min_agent_seconds": 30.0,  # the rate's denominator never goes below this much speech
}
FORBIDDEN_DEFAULTS: dict[str, Any] = {}
SUBORDINATE_WINDOW = 3  # words before a phrase searched for "when", "if", "če pa ... ne"


def conditioned(match: Match, subordinators: list[Match]) -> bool:
    """True when a ``subordinators`` word opens ``match`` within the three words before it
    ("if it doesn't arrive", "when you have to top it up")."""
    return any(match.first - SUBORDINATE_WINDOW <= s.first < match.first for s in subordinators)


def said_refusals(tokens: tuple[Token, ...], pack: PhrasePack) -> list[Match]:
    """``refusal`` phrases that refuse: outside ``refusal_traps`` and ``negative_exceptions``
    and not inside a condition ("if that doesn't work, I'll ..." refuses nothing)."""
    traps = find_phrases(tokens, pack.phrases("refusal_traps"))
    traps += find_phrases(tokens, pack.phrases("negative_exceptions"))
    subordinators = find_phrases(tokens, pack.phrases("subordinators"))
    found = outside(find_phrases(tokens, pack.phrases("refusal")), traps)
    return [m for m in found if not conditioned(m, subordinators)]


def negative_words(sentence: Sentence, text: CallText) -> list[Match]:
    """Negative framing in an agent statement: "no / can't / won't / don't" (``negative``) and
    refusals (``refusal``: "not covered", "nothing else I can do"; one per sentence), outside
    ``negative_exceptions`` ("no problem", "don't worry", "oh no") and ``refusal_traps`` ("I
    can't wait"). Questions are not counted ("You didn't get burnt?" cares, it does not
    refuse), nor a negation in a condition ("if it doesn't arrive": a ``subordinators`` word
    within the three words before it)."""
    if sentence.question:
        return []
    pack = text.pack
    exceptions = find_phrases(sentence.tokens, pack.phrases("negative_exceptions"))
    exceptions += find_phrases(sentence.tokens, pack.phrases("refusal_traps"))
    found = find_phrases(sentence.tokens, pack.phrases("negative"))
    refusals = find_phrases(sentence.tokens, pack.phrases("refusal"))
    found += refusals[:1]  # one refusal per sentence ("no slots left, we're full" is one)
    subordinators = find_phrases(sentence.tokens, pack.phrases("subordinators"))
    kept: list[Match] = []
    for m in sorted(outside(found, exceptions), key=lambda m: (m.first, -(m.last - m.first))):
        if conditioned(m, subordinators):
            continue
        if not any(m.overlaps(k) for k in kept):  # "we can't" and "can't" are one
            kept.append(m)
    return kept


def forbidden(
    tokens: tuple[Token, ...], pack: PhrasePack, *, question: bool = False
) -> list[Match]:
    """``forbidden`` phrases that are orders to this customer.

    Not counted: a phrase inside a ``forbidden_exceptions`` phrase ("you can relax now"); in a
    question, inside ``forbidden_in_questions`` (an obligation asked about, "Devi spedirlo
    all'estero?", is no order); one that a ``subordinators`` word opens within the three words
    before it (a description or a condition: "the display tells you when you have to top it
    up", "if you have to wait"); one followed within three words by a ``tip_verbs`` phrase (a
    friendly tip: "you have to try the custard tarts").
    """
    exceptions = find_phrases(tokens, pack.phrases("forbidden_exceptions"))
    if question:
        exceptions += find_phrases(tokens, pack.phrases("forbidden_in_questions"))
    subordinators = find_phrases(tokens, pack.phrases("subordinators"))
    tips = pack.phrases("tip_verbs")
    return [
        m
        for m in outside(find_phrases(tokens, pack.phrases("forbidden")), exceptions)
        if not conditioned(m, subordinators) and not find_phrases(tokens[m.last : m.last + 3], tips)
    ]


def agent_minutes(ctx: CheckContext) -> float:
    """Agent speech time in minutes: the sum of the agent's utterance durations."""
    return sum(max(0.0, u.end - u.start) for u in ctx.transcript.segments_of(AGENT)) / 60.0


def negative_language(ctx: CheckContext) -> CheckResult:
    """``positive.negative_language``: negative words per agent minute at most ``max_per_minute``.

    The minutes are the agent's speech time, but at least ``min_agent_seconds``: a curt agent
    who answers "No." and "Don't know." in ten seconds is not excused by speaking little, and
    one "no" in a short call is not a high rate. Score 1 at or below the threshold, falling
    linearly to 0 at twice the threshold.
    """
    text = call_text(ctx, "positive.negative_language")
    if not isinstance(text, CallText):
        return text
    spoken = agent_minutes(ctx)
    minutes = max(spoken, float(param(ctx, NEGATIVE_DEFAULTS, "min_agent_seconds")) / 60.0)
    hits = [(s, m) for s in text.sentences(AGENT) for m in negative_words(s, text)]
    limit = float(param(ctx, NEGATIVE_DEFAULTS, "max_per_minute"))
    rate = len(hits) / minutes
    score = 1.0 if rate <= limit else max(0.0, 1.0 - (rate - limit) / limit) if limit > 0 else 0.0
    words: dict[str, int] = {}
    for s, m in hits:
        key = " ".join(t.text for t in s.tokens[m.first : m.last])
        words[key] = words.get(key, 0) + 1
    return CheckResult(
        id="positive.negative_language",
        verdict="pass" if rate <= limit else "fail",
        score=round(score, 3),
        evidence=tuple(evidence(s) for s in dict.fromkeys(s for s, _ in hits)),
        tip=""
        if rate <= limit
        else 'Say what you can do instead of what you can\'t ("I can send it today" rather '
        'than "I can\'t send it before today").',
        details={
            "count": len(hits),
            "agent_minutes": round(spoken, 3),
            "rate_minutes": round(minutes, 3),  # the rate's denominator (at least the minimum)
            "per_minute": round(rate, 3),
            "max_per_minute": limit,
            "words": words,
        },
    )


def forbidden_phrases(ctx: CheckContext) -> CheckResult:
    """``positive.forbidden_phrases``: any ``forbidden`` phrase ("calm down", "that's our
    policy") said by the agent fails the item; each one is evidence. ``details.strength`` is
    "weak" when every hit is an obligation ("you have to", the ``forbidden_in_questions``
    phrases), "strong" otherwise."""
    text = call_text(ctx, "positive.forbidden_phrases")
    if not isinstance(text, CallText):
        return text
    hits = [
        (s, m)
        for s in text.sentences(AGENT)
        for m in forbidden(s.tokens, text.pack, question=s.question)
    ]
    obligations = {p.source for p in text.pack.phrases("forbidden_in_questions")}
    weak = bool(hits) and all(m.phrase.source in obligations for _, m in hits)
    return CheckResult(
        id="positive.forbidden_phrases",
        verdict="fail" if hits else "pass",
        score=0.0 if hits else 1.0,
        evidence=tuple(evidence(s) for s in dict.fromkeys(s for s, _ in hits)),
        tip="Never tell a customer to calm down or hide behind policy; say what you will do."
        if hits
        else "",
        details={
            "phrases": [m.words(s.tokens) for s, m in hits],
            # only obligations ("you have to"), which descriptions and garbled words also
            # produce: a weaker kind of evidence, with its own track record (confidence)
            "strength": "weak" if weak else "strong",
        },
    )


CHECKS = {
    "positive.negative_language": negative_language,
    "positive.forbidden_phrases": forbidden_phrases,
}
DEFAULTS = {
    "positive.negative_language": NEGATIVE_DEFAULTS,
    "positive.forbidden_phrases": FORBIDDEN_DEFAULTS,
}
