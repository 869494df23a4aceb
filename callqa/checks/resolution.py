"""Lead to a resolution: ``lead.open_questions`` and ``lead.alternative``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from callqa.checks.base import CheckContext, not_applicable
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

QUESTION_DEFAULTS: dict[str, Any] = {
    "min_open": 1,  # open questions for a full score
    "lead_words": 3,  # an open-question word must start within this many words
}
ALTERNATIVE_DEFAULTS: dict[str, Any] = {
    "window": 3,  # agent sentences after a refusal searched for an alternative
}

QuestionKind = Literal["open", "closed", "offer"]


def question_kind(
    tokens: tuple[Token, ...], question: bool, pack: PhrasePack, lead_words: int = 3
) -> QuestionKind | None:
    """ "open", "closed", "offer" (the rote "how can I help you?") or None for a statement.

    A sentence is a question when it ends in "?". It is open when an ``open_question`` phrase
    starts within its first ``lead_words`` words, or when it holds an ``open_invitation``
    ("tell me more", "walk me through"), which counts even without a question mark.
    """
    if find_phrases(tokens, pack.phrases("open_invitation")):
        return "open"
    if not question:
        return None
    if find_phrases(tokens, pack.phrases("offer_help")):
        return "offer"
    if any(m.first < lead_words for m in find_phrases(tokens, pack.phrases("open_question"))):
        return "open"
    return "closed"


def open_questions(ctx: CheckContext) -> CheckResult:
    """``lead.open_questions``: the agent asks open questions, not only yes/no ones.

    The opening "how can I help you?" is not counted. Passes with at least ``min_open`` open
    questions; score = min(1, open / ``min_open``).
    """
    text = call_text(ctx, "lead.open_questions")
    if not isinstance(text, CallText):
        return text
    lead = int(param(ctx, QUESTION_DEFAULTS, "lead_words"))
    kinds = [
        (s, question_kind(s.tokens, s.question, text.pack, lead)) for s in text.sentences(AGENT)
    ]
    opened = [s for s, k in kinds if k == "open"]
    closed = [s for s, k in kinds if k == "closed"]
    need = max(1, int(param(ctx, QUESTION_DEFAULTS, "min_open")))
    score = min(1.0, len(opened) / need)
    asked = len(opened) + len(closed)
    return CheckResult(
        id="lead.open_questions",
        verdict="pass" if len(opened) >= need else "fail",
        score=round(score, 3),
        evidence=tuple(evidence(s) for s in (opened or closed)[:3]),
        tip=""
        if score >= 1
        else 'Ask open questions ("What happened when you tried to log in?") to understand '
        "the problem before proposing a fix.",
        details={
            "open": len(opened),
            "closed": len(closed),
            "open_share": round(len(opened) / asked, 3) if asked else None,
        },
    )


def refusals(sentence: Sentence, pack: PhrasePack) -> list[Match]:
    """Refusal phrases in ``sentence`` that are not inside a trap ("I can't wait to help") or a
    ``refusal_facts`` phrase ("I can't hear you", "I can't find your order"): those still count
    as negative words, but refuse nothing."""
    traps = find_phrases(sentence.tokens, pack.phrases("refusal_traps"))
    traps += find_phrases(sentence.tokens, pack.phrases("refusal_facts"))
    return outside(find_phrases(sentence.tokens, pack.phrases("refusal")), traps)


def _alternative_after(sents: list[Sentence], end: int, pack: PhrasePack) -> Sentence | None:
    """The first of ``sents`` (the first one from its word ``end`` on) offering an alternative
    that is not itself a refusal."""
    for j, sent in enumerate(sents):
        tokens = sent.tokens[end:] if j == 0 else sent.tokens
        rest = replace(sent, tokens=tokens)
        if find_phrases(tokens, pack.phrases("alternative")) and not refusals(rest, pack):
            return sent
    return None


def alternative(ctx: CheckContext) -> CheckResult:
    """``lead.alternative``: every refusal is followed by what the agent *can* do.

    "na" without a refusal. Score = share of refusals followed (in the rest of the sentence or
    the next ``window`` agent sentences) by an alternative; passes when the share is 1.
    """
    text = call_text(ctx, "lead.alternative")
    if not isinstance(text, CallText):
        return text
    sents = text.sentences(AGENT)
    window = int(param(ctx, ALTERNATIVE_DEFAULTS, "window"))
    found: list[tuple[Sentence, Sentence | None]] = []
    for i, sent in enumerate(sents):
        hits = refusals(sent, text.pack)
        if hits:
            alt = _alternative_after(sents[i : i + 1 + window], hits[-1].last, text.pack)
            found.append((sent, alt))
    if not found:
        return not_applicable("lead.alternative", "the agent refused nothing")
    bare = [s for s, alt in found if alt is None]
    share = 1 - len(bare) / len(found)
    ev = [evidence(s) for s in bare] if bare else [evidence(a) for _, a in found if a is not None]
    return CheckResult(
        id="lead.alternative",
        verdict="pass" if not bare else "fail",
        score=round(share, 3),
        evidence=tuple(ev[:3]),
        tip=""
        if not bare
        else "After saying what you can't do, say what you can (\"I can't refund it today, "
        'what I can do is ...").',
        details={"refusals": len(found), "without_alternative": len(bare)},
    )


CHECKS = {"lead.open_questions": open_questions, "lead.alternative": alternative}
DEFAULTS = {"lead.open_questions": QUESTION_DEFAULTS, "lead.alternative": ALTERNATIVE_DEFAULTS}
