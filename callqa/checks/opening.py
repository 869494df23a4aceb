"""Opening and closing of the call: ``open.greeting`` and ``open.closing``."""

from __future__ import annotations

from typing import Any

from callqa.checks.base import CheckContext, not_applicable
from callqa.checks.text import CallText, Sentence, call_text, evidence, find_phrases, param
from callqa.types import AGENT, CheckResult

GREETING_DEFAULTS: dict[str, Any] = {
    "first_turns": 2,  # agent turns searched from the start of the call
    "min_components": 2,  # of greeting, self-introduction, offer to help
}
CLOSING_DEFAULTS: dict[str, Any] = {
    "last_turns": 3,  # agent turns searched from the end of the call
}

GREETING_PARTS = ("greeting", "self_intro", "offer_help")
CLOSING_PARTS = ("thanks", "anything_else", "farewell")


def _components(
    text: CallText, sentences: list[Sentence], parts: tuple[str, ...]
) -> dict[str, Sentence]:
    """The first sentence holding each phrase category of ``parts``."""
    found: dict[str, Sentence] = {}
    for sent in sentences:
        for part in parts:
            if part not in found and find_phrases(sent.tokens, text.pack.phrases(part)):
                found[part] = sent
    return found


def _opening_parts(text: CallText, sentences: list[Sentence]) -> dict[str, Sentence]:
    """Greeting parts of the agent's opening sentences.

    Besides the ``greeting``, ``self_intro`` and ``offer_help`` phrases anywhere in them, the
    first sentence may open with a ``greeting_start`` word ("Morning, ...", "Salve, ...") and
    introduce the agent by name or company alone ("Afternoon, Priya here", "Hei, Bjørnstad Bil,
    det er Lars"): a capitalised word that is not the sentence's first is a proper name.
    """
    found = _components(text, sentences, GREETING_PARTS)
    if not sentences:
        return found
    first = sentences[0]
    start = find_phrases(first.tokens, text.pack.phrases("greeting_start"))
    if "greeting" not in found and any(m.first == 0 for m in start):
        found["greeting"] = first
    if "self_intro" not in found and proper_names(first.text):
        found["self_intro"] = first
    return {k: found[k] for k in GREETING_PARTS if k in found}


def proper_names(sentence: str) -> list[str]:
    """Capitalised words after a sentence's first word (names, companies); "I" is not one."""
    words = [w.strip(".,;:!?\"'()") for w in sentence.split()[1:]]
    return [w for w in words if len(w) > 1 and w[0].isupper() and not w.isupper()]


def greeting(ctx: CheckContext) -> CheckResult:
    """``open.greeting``: greeting, self-introduction (name/company) and offer to help.

    Searches the agent's first ``first_turns`` turns. Passes when at least ``min_components`` of
    the three parts are present ("Kingsway Motors, Gary speaking, what can I do for you?" opens
    a call as well as "Hello, Gary here"); score = parts found / 3.
    """
    text = call_text(ctx, "open.greeting")
    if not isinstance(text, CallText):
        return text
    turns = text.turns_of(AGENT)[: int(param(ctx, GREETING_DEFAULTS, "first_turns"))]
    found = _opening_parts(text, [s for t in turns for s in t.sentences])
    ok = len(found) >= int(param(ctx, GREETING_DEFAULTS, "min_components"))
    missing = [p for p in GREETING_PARTS if p not in found]
    return CheckResult(
        id="open.greeting",
        verdict="pass" if ok else "fail",
        score=round(len(found) / len(GREETING_PARTS), 3),
        evidence=tuple(evidence(s) for s in dict.fromkeys(found.values()))
        or tuple(evidence(s) for s in turns[0].sentences[:2]),
        tip="" if not missing else _GREETING_TIPS[missing[0]],
        details={"found": sorted(found), "missing": missing},
    )


_GREETING_TIPS = {
    "greeting": 'Open with a greeting ("Good morning, thank you for calling ...").',
    "self_intro": "Say your name and the company in your first sentence.",
    "offer_help": 'Offer help straight away ("How can I help you today?").',
}


def closing(ctx: CheckContext) -> CheckResult:
    """``open.closing``: thanks and/or "anything else I can help with" in the last agent turns.

    Passes when the agent's last ``last_turns`` turns (never the first, which is the opening;
    "na" when the agent spoke only once) thank the customer or offer further help;
    score = 1 with both (or one of them plus a farewell), 0.5 with one, 0 with neither.
    """
    text = call_text(ctx, "open.closing")
    if not isinstance(text, CallText):
        return text
    turns = text.turns_of(AGENT)[1:][-int(param(ctx, CLOSING_DEFAULTS, "last_turns")) :]
    if not turns:  # the agent's first turn is the opening, never the closing
        return not_applicable("open.closing", "the agent spoke only once")
    found = _components(text, [s for t in turns for s in t.sentences], CLOSING_PARTS)
    core = [p for p in ("thanks", "anything_else") if p in found]
    score = min(1.0, 0.5 * len(found)) if core else 0.0
    return CheckResult(
        id="open.closing",
        verdict="pass" if core else "fail",
        score=score,
        evidence=tuple(evidence(s) for s in dict.fromkeys(found.values()))
        or tuple(evidence(s) for s in turns[-1].sentences[-2:]),
        tip=""
        if score == 1.0
        else 'Close by asking "Is there anything else I can help you with?" and thank the '
        "customer.",
        details={"found": sorted(found)},
    )


CHECKS = {"open.greeting": greeting, "open.closing": closing}
DEFAULTS = {"open.greeting": GREETING_DEFAULTS, "open.closing": CLOSING_DEFAULTS}
