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
from callqa.words.numbers import digit_sequences

QUESTION_DEFAULTS: dict[str, Any] = {
    "min_open": 1,  # open questions for a full score
    "lead_words": 3,  # an open-question word must start within this many words
    "count_offer": True,  # the opening "How can I help you?" counts, as QA reviewers count it
    "data_request_words": 8,  # a question this short that asks for a data item is closed
}
ALTERNATIVE_DEFAULTS: dict[str, Any] = {
    "window": 4,  # agent sentences after a refusal searched for an alternative
}
BARE_NO_WORDS = 3  # "No." / "Nope, sorry." answering the customer's request is a refusal
REFERRAL_DIGITS = 2  # a referral is an alternative with a phone number or price this long

QuestionKind = Literal["open", "closed", "offer", "data"]


def question_kind(
    tokens: tuple[Token, ...],
    question: bool,
    pack: PhrasePack,
    lead_words: int = 3,
    data_words: int = 8,
) -> QuestionKind | None:
    """ "open", "closed", "offer" ("how can I help you?"), "data" (a request for a data item:
    "What's the tracking number?", "Hva er registreringsnummeret?") or None for a statement.

    A sentence is a question when it ends in "?". A closing offer (an ``anything_else`` phrase:
    "Is there anything else I can help with?") is closed. A question of at most ``data_words``
    words
    that names a ``data_item`` (number, name, address, date of birth, ...) asks for data, not
    for the customer's story, whatever word it starts with. Otherwise it is open when an
    ``open_question`` phrase starts within its first ``lead_words`` words, or when it holds an
    ``open_invitation`` ("tell me more", "walk me through"), which counts even without a
    question mark.
    """
    if find_phrases(tokens, pack.phrases("open_invitation")):
        return "open"
    if not question:
        return None
    if find_phrases(tokens, pack.phrases("anything_else")):
        return "closed"  # the closing "anything else I can help with?" opens no story
    if find_phrases(tokens, pack.phrases("offer_help")):
        return "offer"
    if len(tokens) <= data_words and find_phrases(tokens, pack.phrases("data_item")):
        return "data"
    if any(m.first < lead_words for m in find_phrases(tokens, pack.phrases("open_question"))):
        return "open"
    return "closed"


def open_questions(ctx: CheckContext) -> CheckResult:
    """``lead.open_questions``: the agent asks open questions, not only yes/no ones.

    The opening "how can I help you?" counts (``count_offer``: QA reviewers count it; the rubric
    can set it false to demand a question about the problem itself); requests for a data item
    ("What's your account number?") do not. Passes with at least ``min_open`` open questions;
    score = min(1, open / ``min_open``).
    """
    text = call_text(ctx, "lead.open_questions")
    if not isinstance(text, CallText):
        return text
    lead = int(param(ctx, QUESTION_DEFAULTS, "lead_words"))
    data_words = int(param(ctx, QUESTION_DEFAULTS, "data_request_words"))
    kinds = [
        (s, question_kind(s.tokens, s.question, text.pack, lead, data_words))
        for s in text.sentences(AGENT)
    ]
    counted = ("open", "offer") if param(ctx, QUESTION_DEFAULTS, "count_offer") else ("open",)
    opened = [s for s, k in kinds if k in counted]
    closed = [s for s, k in kinds if k in ("closed", "data")]
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


def refusals(sentence: Sentence, pack: PhrasePack, *, answering: bool = False) -> list[Match]:
    """What the agent refuses or says is not available in ``sentence``.

    ``refusal`` phrases ("I can't", "we don't refund", "not covered", "nothing else I can do",
    "fully booked", "not my department") that are not inside a trap ("I can't wait to help"),
    a ``negative_exceptions`` phrase ("there's no charge") or a ``refusal_facts`` phrase ("I
    can't hear you", "I can't find your order": those still count as negative words, but refuse
    nothing). With ``answering`` (the customer's last turn
    asked something), a bare "No." or "Nope, sorry." (a ``bare_no`` word opening a sentence of
    at most three words) is a refusal too.
    """
    traps = find_phrases(sentence.tokens, pack.phrases("refusal_traps"))
    traps += find_phrases(sentence.tokens, pack.phrases("refusal_facts"))
    traps += find_phrases(sentence.tokens, pack.phrases("negative_exceptions"))  # "no charge"
    found = outside(find_phrases(sentence.tokens, pack.phrases("refusal")), traps)
    if not found and answering and 0 < len(sentence.tokens) <= BARE_NO_WORDS:
        bare = find_phrases(sentence.tokens[:1], pack.phrases("bare_no"))
        exceptions = find_phrases(sentence.tokens, pack.phrases("negative_exceptions"))
        if bare and not exceptions:
            found = bare
    return found


def offers_alternative(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True when ``tokens`` offer something the agent can do or point to instead.

    An ``alternative`` phrase ("what I can do", "instead", "I can offer"), or a ``referral``
    ("another garage", "you could try") with a number of at least two digits in the sentence
    (its phone number or price: "Hansen Auto have slots, 8 90 12 34 56, about 890 kroner"; a
    lone "one" or "un altro" is no number). A ``non_remedy`` phrase ("I'll put a note on the
    account") offers nothing, whatever else the sentence says.
    """
    if find_phrases(tokens, pack.phrases("non_remedy")):
        return False
    if find_phrases(tokens, pack.phrases("alternative")):
        return True
    if not find_phrases(tokens, pack.phrases("referral")):
        return False
    said = " ".join(t.text for t in tokens)
    return bool(digit_sequences(said, pack.language, REFERRAL_DIGITS))


def _alternative_after(sents: list[Sentence], end: int, pack: PhrasePack) -> Sentence | None:
    """The first of ``sents`` (the first one from its word ``end`` on) offering an alternative
    that is not itself a refusal."""
    for j, sent in enumerate(sents):
        tokens = sent.tokens[end:] if j == 0 else sent.tokens
        rest = replace(sent, tokens=tokens)
        if offers_alternative(tokens, pack) and not refusals(rest, pack):
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
    asked = _answers_a_question(text)
    found: list[tuple[Sentence, Sentence | None]] = []
    for i, sent in enumerate(sents):
        hits = refusals(sent, text.pack, answering=sent.index in asked)
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


def _answers_a_question(text: CallText) -> set[int]:
    """Indices of the agent sentences that open a turn right after a customer question."""
    out = set()
    for before, turn in zip(text.turns, text.turns[1:], strict=False):
        if turn.speaker == AGENT and before.speaker != AGENT and before.sentences[-1].question:
            out.add(turn.sentences[0].index)
    return out


CHECKS = {"lead.open_questions": open_questions, "lead.alternative": alternative}
DEFAULTS = {"lead.open_questions": QUESTION_DEFAULTS, "lead.alternative": ALTERNATIVE_DEFAULTS}
