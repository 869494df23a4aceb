"""Take responsible action: ``action.next_step``.

A *commitment* is an agent sentence (not a question) with an ``agent_action`` phrase ("you will
receive", "will be refunded", "=lähetän"), a ``recipient_future`` phrase with something the
customer is sent ("you'll get an email"), or an ``agent_future`` phrase ("I will", "we'll",
"let me") whose verb is an ``action_verbs`` phrase ("send", "call back", "let you know"). A
longer-or-equal overlapping ``action_non_commitment`` phrase ("let me check", "I'm sure we'll")
or ``customer_action`` phrase ("you will need to") voids it, and a ``non_commitment_markers``
phrase (a habit, an example: "usually", "let's say") voids the whole sentence. Its *time frame*
is a ``time_frame`` phrase ("by Friday", "within 24 hours", "tomorrow morning") in the same
sentence or the agent's previous or next sentence in that turn ("Tomorrow before noon. I'll
ring you then"). An action under way while the agent speaks is one too: an ``agent_present``
phrase ending in the verb form ("I'm =*ing") whose verb is an action verb, in a sentence with a
``now_marker`` ("I'm emailing you the form as we speak"), its time frame the marker.
Commitments in the customer's words are reported but never count for the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    is_question,
    load_pack,
    param,
    phrase_at,
    split_sentences,
)
from callqa.types import AGENT, CUSTOMER, CheckResult

VERB_WINDOW = 4  # words between "I will" and its action verb ("I'll just quickly send")

DEFAULTS_: dict[str, Any] = {
    "partial_score": 0.5,  # score of a commitment without a time frame
}


@dataclass(frozen=True)
class Commitment:
    """One commitment: the action phrase, who owns it, and its time frame (or None)."""

    sentence: Sentence
    action: str
    owner: str
    time_frame: str | None


def _blocked(match: Match, others: list[Match]) -> bool:
    """True when an overlapping match of ``others`` is at least as long as ``match`` ("let me
    check" blocks "let me"; "you will need to" does not block "you will get")."""
    return any(o.overlaps(match) and o.last - o.first >= match.last - match.first for o in others)


def _with_verb(
    match: Match, tokens: tuple[Token, ...], pack: PhrasePack, skip: set[int]
) -> Match | None:
    """``match`` (an ``agent_future`` phrase) extended to the action verb it governs, or None.

    The governed verb is the first word after the phrase that is neither an ``action_fillers``
    phrase ("just", "go ahead and", "be happy to", "be" of "I'll be sending") nor part of another
    future phrase (a restart: "I'll, I'll send"), at most ``VERB_WINDOW`` words on. It must start
    an ``action_verbs`` phrase: "I'll be honest", "we'll see", "I'll never" and a fragment
    ("so I'll") are no commitments.
    """
    verbs, fillers = pack.phrases("action_verbs"), pack.phrases("action_fillers")
    i = match.last
    while i < len(tokens) and i - match.last <= VERB_WINDOW:
        verb = phrase_at(tokens, i, verbs)
        if verb is not None:
            return Match(match.phrase, match.first, verb.last)
        filler = phrase_at(tokens, i, fillers)
        if filler is None and i not in skip:
            return None
        i = filler.last if filler is not None else i + 1
    return None


def _with_deliverable(match: Match, tokens: tuple[Token, ...], pack: PhrasePack) -> Match | None:
    """``match`` (a ``recipient_future`` phrase: "you will get") extended to a ``deliverables``
    phrase ("an email", "a refund", "from us") within ``VERB_WINDOW`` words after it, or None."""
    things = pack.phrases("deliverables")
    for i in range(match.last, min(len(tokens), match.last + VERB_WINDOW + 1)):
        hit = phrase_at(tokens, i, things)
        if hit is not None:
            return Match(match.phrase, match.first, hit.last)
    return None


def action_phrase(tokens: tuple[Token, ...], question: bool, pack: PhrasePack) -> Match | None:
    """The first agent-owned action of a sentence, or None.

    Either a complete ``agent_action`` phrase ("you will receive", "=lähetän"), or an
    ``agent_future`` phrase ("I will", "we are going to", "let me") followed by an action verb
    (see :func:`_with_verb`), so "I'll be honest" or "we'll see" are not commitments. Questions
    and sentences with a ``non_commitment_markers`` phrase (a habit: "I'll usually ...", an
    example: "let's say ...") hold none.
    """
    if question or find_phrases(tokens, pack.phrases("non_commitment_markers")):
        return None
    blocked = find_phrases(tokens, pack.phrases("action_non_commitment"))
    blocked += find_phrases(tokens, pack.phrases("customer_action"))
    found = find_phrases(tokens, pack.phrases("agent_action"))
    found += [
        m
        for r in find_phrases(tokens, pack.phrases("recipient_future"))
        if (m := _with_deliverable(r, tokens, pack)) is not None
    ]
    futures = find_phrases(tokens, pack.phrases("agent_future"))
    if find_phrases(tokens, pack.phrases("now_marker")):  # "I'm emailing you as we speak"
        found += _under_way(tokens, pack, blocked)
    skip = {i for f in futures for i in range(f.first, f.last)}
    found += [
        m
        for f in futures
        if not _blocked(f, blocked) and (m := _with_verb(f, tokens, pack, skip)) is not None
    ]
    for match in sorted(found, key=lambda m: m.first):
        if not _blocked(match, blocked):
            return match
    return None


def _under_way(tokens: tuple[Token, ...], pack: PhrasePack, blocked: list[Match]) -> list[Match]:
    """``agent_present`` phrases whose last word is an action verb ("I'm =*ing": "I'm emailing
    you the form", "le sto inviando"): the phrase holds the verb form, so "we're open" is none."""
    verbs = pack.phrases("action_verbs")
    return [
        m
        for m in find_phrases(tokens, pack.phrases("agent_present"))
        if not _blocked(m, blocked) and phrase_at(tokens, m.last - 1, verbs) is not None
    ]


def time_frame(tokens: tuple[Token, ...], pack: PhrasePack) -> str | None:
    """The first time-frame phrase of ``tokens`` as spoken, with the time-frame phrases right
    after it ("entro domani", not "entro", which is all a reviewer saw), or None."""
    hits = sorted(find_phrases(tokens, pack.phrases("time_frame")), key=lambda m: m.first)
    if not hits:
        return None
    last = hits[0].last
    for hit in hits[1:]:
        if hit.first > last:
            break
        last = max(last, hit.last)
    return " ".join(t.text for t in tokens[hits[0].first : last])


def commitments(text: CallText, speaker: str) -> list[Commitment]:
    """Commitments made by ``speaker`` in call order."""
    sents = text.sentences(speaker)
    out: list[Commitment] = []
    for i, sent in enumerate(sents):
        match = action_phrase(sent.tokens, sent.question, text.pack)
        if match is None:
            continue
        frame = time_frame(sent.tokens, text.pack)
        for k in (i + 1, i - 1):  # the next sentence of the turn, then the previous one
            if frame is None and 0 <= k < len(sents) and sents[k].turn == sent.turn:
                frame = time_frame(sents[k].tokens, text.pack)
        out.append(Commitment(sent, match.words(sent.tokens), speaker, frame))
    return out


def is_commitment(text: str, language: str) -> bool:
    """True when a sentence of ``text`` (one utterance) holds an owner + action commitment
    (:func:`action_phrase`; no time frame needed). False if the language is unsupported."""
    pack = load_pack(language)
    if pack is None:
        return False
    return any(
        action_phrase(pack.tokenize(s), is_question(s), pack) is not None
        for s in split_sentences(text) or [text]
    )


def next_step(ctx: CheckContext) -> CheckResult:
    """``action.next_step``: the agent commits to a concrete next step with a time frame.

    Score 1 (pass) with a time frame; ``partial_score`` (pass, ``details["partial"] = True``)
    without one; 0 (fail) without any agent commitment.
    """
    text = call_text(ctx, "action.next_step")
    if not isinstance(text, CallText):
        return text
    mine = commitments(text, AGENT)
    theirs = commitments(text, CUSTOMER) if any(t.speaker == CUSTOMER for t in text.turns) else []
    timed = [c for c in mine if c.time_frame]
    best = timed[-1] if timed else mine[-1] if mine else None
    details: dict[str, Any] = {
        "commitments": len(mine),
        "with_time_frame": len(timed),
        "customer_commitments": len(theirs),
        "action": best.action if best else None,
        "owner": best.owner if best else None,
        "time_frame": best.time_frame if best else None,
        "partial": bool(best and not best.time_frame),
    }
    if best is None:
        # A time frame without a recognised action ("... entro domani per confermare ...") is
        # a near miss: the action may have been misheard or phrased in an unlisted way, so the
        # fail quotes that sentence and is judged apart (confidence: track key "fail/near_miss").
        said = text.sentences(AGENT)
        near = [
            (s, frame)
            for s in said
            if not s.question and (frame := time_frame(s.tokens, text.pack))
        ]
        if near:
            details["near_miss"] = near[-1][1]
        quoted = [near[-1][0], said[-1]] if near else said[-2:]
        return CheckResult(
            id="action.next_step",
            verdict="fail",
            score=0.0,
            evidence=tuple(evidence(s) for s in dict.fromkeys(quoted)),
            tip="End with a concrete next step you own and when it happens (\"I'll email you "
            'the refund confirmation by Friday").',
            details=details,
        )
    score = 1.0 if best.time_frame else float(param(ctx, DEFAULTS_, "partial_score"))
    return CheckResult(
        id="action.next_step",
        verdict="pass",
        score=score,
        evidence=(evidence(best.sentence),),
        tip=""
        if best.time_frame
        else 'Give the next step a time frame ("by Friday", "within 24 hours").',
        details=details,
    )


CHECKS = {"action.next_step": next_step}
DEFAULTS = {"action.next_step": DEFAULTS_}
