"""Empathise and apologise: ``empathise.apology`` and ``empathise.empathy``.

Also the customer-complaint detector used by the rubric's ``na_if = ["no_complaint"]`` rule,
and by the sentiment stage (:func:`states_problem`, passed in by the pipeline).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Literal

from callqa.checks.base import CheckContext, not_applicable
from callqa.checks.text import (
    CallText,
    Match,
    PhrasePack,
    Sentence,
    Token,
    call_pack,
    call_text,
    evidence,
    find_phrases,
    is_question,
    load_pack,
    param,
    split_sentences,
)
from callqa.sentiment.model import courtesy_formulas, mask_courtesy
from callqa.types import AGENT, CUSTOMER, CheckResult

APOLOGY_DEFAULTS: dict[str, Any] = {
    "require_complaint": True,  # "na" when the customer states no problem
    "max_repeats": 2,  # the same apology more often than this is rote (score 0.5)
}
EMPATHY_DEFAULTS: dict[str, Any] = {
    "require_complaint": False,  # the default rubric sets na_if = ["no_complaint"] instead
}

ApologyKind = Literal["apology", "pardon", "negated", "blaming"]

MIN_NEGATION_TOKENS = 5  # a negated statement this long counts as a problem statement
NEGATION_WINDOW = 4  # words before a complaint word searched for a negation ("no noise")


def apology_kind(tokens: tuple[Token, ...], question: bool, pack: PhrasePack) -> ApologyKind | None:
    """Classify one sentence: an apology, "sorry?" meaning pardon, a negated apology, or None.

    Unambiguous apologies (``apology``: "sorry for", "I apologise") always count. A bare
    ``apology_weak`` ("sorry", "I'm sorry", "excuse me") is a request to repeat when the sentence
    is a question ("Sorry, what was the number?") or asks to repeat ("sorry, I didn't catch
    that"). ``negated_apology`` ("I'm not sorry", "no need to apologise") wins over both, and
    so does a ``blaming`` phrase in the same sentence: "I'm sorry you never got round to reading
    your policy" and "sorry, but you should have checked" blame the customer; they apologise
    for nothing.
    """
    if find_phrases(tokens, pack.phrases("negated_apology")):
        return "negated"
    if find_phrases(tokens, pack.phrases("blaming")) and (
        find_phrases(tokens, pack.phrases("apology"))
        or find_phrases(tokens, pack.phrases("apology_weak"))
    ):
        return "blaming"
    if find_phrases(tokens, pack.phrases("apology")):
        return "apology"
    if not find_phrases(tokens, pack.phrases("apology_weak")):
        return None
    if question or find_phrases(tokens, pack.phrases("repeat_request")):
        return "pardon"
    return "apology"


def is_apology(text: str, language: str) -> bool:
    """True when ``text`` holds an apology (see :func:`apology_kind`); False if unsupported."""
    pack = load_pack(language)
    if pack is None:
        return False
    return apology_kind(pack.tokenize(text), is_question(text), pack) == "apology"


def is_complaint(sentence: Sentence, pack: PhrasePack) -> bool:
    """True when a customer sentence states a problem or a hardship.

    A ``complaint`` phrase ("broken", "charged twice", "cracked", "in hospital") that no
    ``complaint_negation`` word precedes within four words ("it's not making any noises"), or a
    negated statement (``complaint_negation``, not a question, at least 5 words) about
    something that should work: with a ``problem_verbs`` phrase ("it won't turn on", "the app
    doesn't load"). A negation alone is no problem ("Not yet, I've been using the other app").
    A pack without ``problem_verbs`` counts every negated statement of 5 words or more.
    """
    return _states_problem(sentence.tokens, sentence.question, pack)


def _states_problem(tokens: tuple[Token, ...], question: bool, pack: PhrasePack) -> bool:
    negations = find_phrases(tokens, pack.phrases("complaint_negation"))
    for hit in find_phrases(tokens, pack.phrases("complaint")):
        negated = any(
            hit.first - NEGATION_WINDOW <= n.first < hit.first
            and not n.overlaps(hit)
            and n.first > 0  # "No, it's still broken": an answer, not a negated problem
            for n in negations
        )
        if not negated:  # "it's not making any noises" states no problem
            return True
    if question or len(tokens) < MIN_NEGATION_TOKENS:
        return False
    if not negations:
        return False
    verbs = pack.phrases("problem_verbs")
    return not verbs or bool(find_phrases(tokens, verbs))


def states_problem(text: str, language: str) -> bool:
    """True when any sentence of ``text`` states a problem (:func:`is_complaint`) once its
    courtesy formulas are masked ("No problem, thanks" states none); False for a language
    without a phrase pack.

    The sentiment model reads this as one feature of each utterance (docs/metrics.md): film
    dialogue, which the model learns from, rarely states a fault as a fact ("I was charged
    twice"), and its words miss the ones service calls use ("uakseptabelt").
    """
    pack = load_pack(language)
    if pack is None:
        return False
    formulas = courtesy_formulas().get(pack.language, ())
    for sentence in split_sentences(text):
        said = mask_courtesy(sentence, formulas)
        if said and _states_problem(pack.tokenize(said), is_question(sentence), pack):
            return True
    return False


def complaints(text: CallText) -> list[Sentence]:
    """The customer's problem statements, in call order."""
    return [s for s in text.sentences(CUSTOMER) if is_complaint(s, text.pack)]


def has_complaint(ctx: CheckContext) -> bool | None:
    """True/False whether the customer states a problem; None when the language is unsupported.

    A customer without a transcribed word states no problem (False): otherwise the rubric's
    ``na_if = ["no_complaint"]`` would not apply and the empathy check would fail an agent for
    not answering a complaint nobody heard."""
    text = call_text(ctx, "empathise.apology", speaker=CUSTOMER)
    if isinstance(text, CallText):
        return bool(complaints(text))
    return None if call_pack(ctx) is None else False


def _no_complaint(check_id: str) -> CheckResult:
    return not_applicable(check_id, "the customer stated no problem or complaint")


def apology(ctx: CheckContext) -> CheckResult:
    """``empathise.apology``: the agent apologises after the customer has stated the problem.

    "na" without a complaint (``require_complaint``). Passes with at least one apology that
    starts after the first complaint; an apology before any complaint does not count. The same
    apology said more than ``max_repeats`` times is rote: score 0.5.
    """
    text = call_text(ctx, "empathise.apology")
    if not isinstance(text, CallText):
        return text
    problems = complaints(text)
    if not problems and param(ctx, APOLOGY_DEFAULTS, "require_complaint"):
        return _no_complaint("empathise.apology")
    first = problems[0].start if problems else 0.0
    kinds = [(s, apology_kind(s.tokens, s.question, text.pack)) for s in text.sentences(AGENT)]
    apologies = [s for s, k in kinds if k == "apology"]
    timely = [s for s in apologies if s.start >= first]
    counts = Counter(" ".join(t.text for t in s.tokens) for s in apologies)
    rote = max(counts.values(), default=0) > int(param(ctx, APOLOGY_DEFAULTS, "max_repeats"))
    empathy_first = _empathy_before(text, timely[0]) if timely else None
    details = {
        "apologies": len(apologies),
        "after_complaint": len(timely),
        "before_complaint": len(apologies) - len(timely),
        "pardon": sum(1 for _, k in kinds if k == "pardon"),
        "negated": sum(1 for _, k in kinds if k == "negated"),
        "blaming": sum(1 for _, k in kinds if k == "blaming"),
        "rote": rote,
        "max_same_apology": max(counts.values(), default=0),
        "complaint_at": round(first, 2) if problems else None,
        "empathy_first": empathy_first,
    }
    if not timely:
        return CheckResult(
            id="empathise.apology",
            verdict="fail",
            score=0.0,
            evidence=tuple(evidence(s) for s in problems[:1]),
            tip="Once the customer has described the problem, apologise for it (\"I'm sorry "
            'about the delay").',
            details=details,
        )
    return CheckResult(
        id="empathise.apology",
        verdict="pass",
        score=0.5 if rote else 1.0,
        evidence=tuple(evidence(s) for s in timely[:3]),
        tip="Vary the apology and tie it to the problem; repeating the same words sounds scripted."
        if rote
        else "",
        details=details,
    )


AFFECT_WINDOW = 4  # words between an empathy frame ("that sounds") and its feeling ("scary")


def empathy_phrases(tokens: tuple[Token, ...], pack: PhrasePack) -> list[Match]:
    """Empathy in a sentence: ``empathy`` phrases that are not part of an ``empathy_traps``
    phrase, and an ``empathy_frame`` followed within four words by a ``negative_affect`` word
    ("that sounds really scary", "that's rotten luck", "what a nightmare").

    A trap holds an empathy phrase without being empathy: an understanding check, which frames
    a reflection ("if I understand correctly, ...", "se ho capito bene"), or a negation ("jeg
    forstår ikke", "non capisco").
    """
    traps = find_phrases(tokens, pack.phrases("empathy_traps"))
    found = [
        m
        for m in find_phrases(tokens, pack.phrases("empathy"))
        if not any(t.first < m.last and m.first < t.last for t in traps)
    ]
    affects = find_phrases(tokens, pack.phrases("negative_affect"))
    for frame in find_phrases(tokens, pack.phrases("empathy_frame")):
        feeling = next(
            (a for a in affects if frame.last <= a.first <= frame.last + AFFECT_WINDOW), None
        )
        match = Match(frame.phrase, frame.first, feeling.last) if feeling is not None else None
        if match is not None and not any(
            t.first < match.last and match.first < t.last for t in traps
        ):
            found.append(match)
    return found


def caring(tokens: tuple[Token, ...], pack: PhrasePack) -> bool:
    """True for a caring question ("are you okay?", "is everyone alright?")."""
    return bool(find_phrases(tokens, pack.phrases("caring_question")))


_CLAUSE_BREAK = re.compile(r"[,;:]")


def empathises(sentence: Sentence, pack: PhrasePack) -> bool:
    """True when ``sentence`` states empathy (:func:`empathy_phrases`) or asks a caring
    question (:func:`caring`).

    A question states empathy only before its last clause (a comma, semicolon or colon
    apart): Whisper often writes a statement and the question after it as one sentence ("I
    understand how frustrating that is, can you give me the dates?", "capisco quanto sia
    fastidioso, mi può dire le date?"), while a phrase in the question itself is asked, not
    stated.
    """
    if caring(sentence.tokens, pack):
        return True
    if not sentence.question:
        return bool(empathy_phrases(sentence.tokens, pack))
    clauses = _CLAUSE_BREAK.split(sentence.text)[:-1]
    return any(empathy_phrases(pack.tokenize(clause), pack) for clause in clauses)


def _empathy_before(text: CallText, sentence: Sentence) -> bool:
    """True when empathy, as ``empathise.empathy`` counts it (:func:`empathises`), precedes (or
    shares) ``sentence``."""
    return any(
        s.index <= sentence.index and empathises(s, text.pack) for s in text.sentences(AGENT)
    )


def empathy(ctx: CheckContext) -> CheckResult:
    """``empathise.empathy``: the agent makes an empathy statement ("I understand how
    frustrating that is"), after the first complaint when there is one.

    An understanding check ("if I understand correctly, ...") is a reflection cue, not empathy
    (see :func:`empathy_phrases`).
    """
    text = call_text(ctx, "empathise.empathy")
    if not isinstance(text, CallText):
        return text
    problems = complaints(text)
    if not problems and param(ctx, EMPATHY_DEFAULTS, "require_complaint"):
        return _no_complaint("empathise.empathy")
    first = problems[0].start if problems else 0.0
    found = [s for s in text.sentences(AGENT) if s.start >= first and empathises(s, text.pack)]
    return CheckResult(
        id="empathise.empathy",
        verdict="pass" if found else "fail",
        score=1.0 if found else 0.0,
        evidence=tuple(evidence(s) for s in found[:3]) or tuple(evidence(s) for s in problems[:1]),
        tip=""
        if found
        else 'Acknowledge the customer\'s feelings ("I understand how frustrating that is").',
        details={"statements": len(found), "complaint_at": round(first, 2) if problems else None},
    )


CHECKS = {"empathise.apology": apology, "empathise.empathy": empathy}
DEFAULTS = {"empathise.apology": APOLOGY_DEFAULTS, "empathise.empathy": EMPATHY_DEFAULTS}
