"""A rubric item that is a phrase list per language, with no Python: "the agent says the call
is recorded", "the agent names the product", "the agent never says 'cheap'".

The rubric gives the phrases (docs/rubric.md, "Phrase items"); they are matched like the
built-in phrase packs (case-folded, by lemma, ``*`` stems, ``...`` gaps; docs/checks.md).

- ``mode = "required"``: passes when the speaker says one of the phrases (in the first
  ``first_turns`` turns of that speaker when it is above 0), fails otherwise;
- ``mode = "forbidden"``: fails when the speaker says one of them anywhere in that span;
- "na" when the rubric gives no phrases for the call's language, or the speaker says nothing.
"""

from __future__ import annotations

from typing import Any

from callqa.checks.base import CheckContext, not_applicable
from callqa.checks.text import CallText, call_text, compile_phrases, evidence, find_phrases
from callqa.types import CheckResult

MODES = ("required", "forbidden")
SPEAKERS = ("agent", "customer")
DEFAULTS: dict[str, Any] = {"mode": "required", "speaker": "agent", "first_turns": 0, "tip": ""}
MAX_EVIDENCE = 3


def phrase_item(ctx: CheckContext) -> CheckResult:
    """Run the phrase item whose id and phrases are in ``ctx.params`` (see module docstring).

    ``details``: ``kind`` ("phrases"), ``mode``, ``speaker``, ``said`` (the phrases heard, in
    order), ``turns_searched``.
    """
    p = {**DEFAULTS, **ctx.params}
    check_id, speaker = str(p["id"]), str(p["speaker"])
    text = call_text(ctx, check_id, speaker=speaker)
    if not isinstance(text, CallText):
        return text
    sources = p["phrases"].get(text.pack.language)
    if not sources:
        return not_applicable(check_id, f"the rubric gives no phrases for {text.pack.language}")
    turns = text.turns_of(speaker)
    if int(p["first_turns"]) > 0:
        turns = turns[: int(p["first_turns"])]
    phrases = compile_phrases(sources, text.pack)
    hits = [
        (sent, m) for t in turns for sent in t.sentences for m in find_phrases(sent.tokens, phrases)
    ]
    said = list(dict.fromkeys(m.phrase.source for _, m in hits))
    ok = bool(hits) if p["mode"] == "required" else not hits
    shown = list(dict.fromkeys(sent for sent, _ in hits))[:MAX_EVIDENCE]
    if not shown and p["mode"] == "required":
        shown = [s for t in turns[:1] for s in t.sentences[:2]]  # where it was looked for
    return CheckResult(
        id=check_id,
        verdict="pass" if ok else "fail",
        score=1.0 if ok else 0.0,
        evidence=tuple(evidence(s) for s in shown),
        tip="" if ok else str(p["tip"]) or _tip(p["mode"], sources),
        details={
            "kind": "phrases",
            "mode": p["mode"],
            "speaker": speaker,
            "said": said,
            "turns_searched": len(turns),
        },
    )


def _tip(mode: str, sources: list[str]) -> str:
    if mode == "required":
        return f"Say it in your own words, e.g. “{sources[0]}”."
    return f"Do not say “{sources[0]}” (or the other phrases your team avoids)."
