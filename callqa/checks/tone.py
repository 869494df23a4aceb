"""Tone checks: the agent's voice, from :mod:`callqa.measures.voice` measures.

Every check answers "na" without audio (a transcript file) or without the measures it needs,
with the reason in ``details["reason"]``. Thresholds come from ``ctx.params`` (the rubric
item's ``params``), defaulting to :data:`DEFAULTS`; docs/checks.md gives their sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from callqa.checks.base import CheckContext, CheckFn, not_applicable
from callqa.measures.voice import Response, SpeakerVoice, VoiceMetrics
from callqa.types import AGENT, CUSTOMER, CheckResult, Evidence, Transcript

STEADY = "tone.steady_under_pressure"
NOT_MONOTONE = "tone.not_monotone"
PACE = "tone.pace"
NO_RAISED = "tone.no_raised_voice"

MAX_EVIDENCE_WORDS = 40  # words quoted per evidence span

DEFAULTS: dict[str, dict[str, Any]] = {
    STEADY: {
        "level_db": 3.0,  # agent's median level under pressure may rise this much (dB)
        "pitch_st": 2.0,  # ... and its median pitch this much (st)
        "negative_at": -0.25,  # a raised customer stretch is pressure when its words read this
        # negative or worse (sentiment score, -1..1; as outcome.customer_calmer)
    },
    NOT_MONOTONE: {"min_sd_st": 2.0, "min_voiced_s": 5.0},
    PACE: {"max_ratio": 1.3, "min_words": 10, "max_wpm": {"en": 190.0}},
    NO_RAISED: {},  # a raised stretch is measured by the voice stage ([voice] raised_*)
}


def _params(check_id: str, ctx: CheckContext) -> dict[str, Any]:
    return {**DEFAULTS[check_id], **dict(ctx.params)}


def _voice(check_id: str, ctx: CheckContext) -> VoiceMetrics | CheckResult:
    """The voice measures, or the "na" result that explains their absence."""
    if not ctx.has_audio or ctx.metrics.voice is None:
        return not_applicable(check_id, "no audio: voice measures are missing")
    return ctx.metrics.voice


def _agent(check_id: str, voice: VoiceMetrics) -> SpeakerVoice | CheckResult:
    agent = voice.of(AGENT)
    if agent is None:
        return not_applicable(check_id, "no agent identified in this call")
    if agent.reason is not None:
        return not_applicable(check_id, f"agent: {agent.reason}")
    return agent


def _words(transcript: Transcript, speaker: str, start: float, end: float) -> str:
    """The words ``speaker`` said between ``start`` and ``end`` (s), at most 40."""
    words = [
        w.text.strip()
        for w in transcript.words
        if w.speaker == speaker and start <= 0.5 * (w.start + w.end) < end
    ]
    text = " ".join(words[:MAX_EVIDENCE_WORDS])
    return text + (" ..." if len(words) > MAX_EVIDENCE_WORDS else "")


def _evidence(transcript: Transcript, speaker: str, start: float, end: float) -> Evidence:
    return Evidence(
        speaker, round(start, 2), round(end, 2), _words(transcript, speaker, start, end)
    )


def _result(
    check_id: str, ok: bool, evidence: list[Evidence], tip: str, **details: Any
) -> CheckResult:
    return CheckResult(
        id=check_id,
        verdict="pass" if ok else "fail",
        score=1.0 if ok else 0.0,
        evidence=tuple(evidence),
        tip="" if ok else tip,
        details=details,
    )


def stretch_sentiment(transcript: Transcript, start: float, end: float) -> float | None:
    """The most negative sentiment score (-1..1, the sentiment stage's P(positive) -
    P(negative)) of the customer's segments overlapping ``[start, end)`` (s); None when no
    customer segment there has a sentiment (nothing transcribed, or the stage did not run)."""
    scores = [
        s.sentiment.score
        for s in transcript.segments
        if s.speaker == CUSTOMER and s.sentiment is not None and s.start < end and start < s.end
    ]
    return min(scores, default=None)


def pressure(
    ctx: CheckContext, voice: VoiceMetrics, negative_at: float
) -> tuple[list[tuple[Response, float]], int]:
    """The customer raised stretches that are pressure, with their sentiment score, and how
    many raised stretches had no sentiment to read.

    Pressure is negative arousal: a raised voice (the voice stage's raised stretch, against the
    customer's own level) while the customer's words read negative (a segment overlapping the
    stretch scores ``negative_at`` or below). Delight, laughter and emphasis are raised but not
    negative.
    """
    pressed, unread = [], 0
    for r in voice.responses:
        score = stretch_sentiment(ctx.transcript, r.stretch.start, r.stretch.end)
        if score is None:
            unread += 1
        elif score <= negative_at:
            pressed.append((r, score))
    return pressed, unread


def steady_under_pressure(ctx: CheckContext) -> CheckResult:
    """The agent keeps its level and pitch near its own median while the customer presses.

    "Under pressure" = each customer raised-voice stretch (measured by the voice stage) in which
    the customer's words read negative (the sentiment stage: a customer segment overlapping it
    scores ``negative_at`` or below, :func:`pressure`), plus ``[voice] pressure_window_s`` after
    it. Fails when, in any such window, the agent's median level rises more than ``level_db``
    dB or its median pitch more than ``pitch_st`` st over its call medians, or the agent has a
    raised stretch there. "na" when the customer never raised their voice, did so only with
    words that do not read negative (a delighted customer is not pressure), or the customer's
    words there have no sentiment (the stage did not run or does not read the language).
    """
    p, voice = _params(STEADY, ctx), _voice(STEADY, ctx)
    if isinstance(voice, CheckResult):
        return voice
    agent, customer = voice.of(AGENT), voice.of(CUSTOMER)
    if agent is None or customer is None or customer.reason is not None:
        return not_applicable(STEADY, "needs measured agent and customer voices")
    if not customer.raised:
        return not_applicable(STEADY, "the customer never raised their voice")
    negative_at = float(p["negative_at"])
    pressed, unread = pressure(ctx, voice, negative_at)
    if not pressed:
        n = len(customer.raised)
        if unread and unread == len(voice.responses):
            why = ctx.sentiment.reason if ctx.sentiment is not None else None
            return not_applicable(
                STEADY,
                f"the customer raised their voice ({n} stretch(es)) but their words there have "
                f"no sentiment ({why or 'not measured'}): pressure cannot be told from delight",
            )
        why = (
            f"the customer raised their voice ({n} stretch(es)) but their words there do not "
            f"read negative (sentiment above {negative_at:+.2f}): arousal without negative "
            "words is not pressure"
        )
        return not_applicable(STEADY, why)
    heard = [r for r, _ in pressed if r.agent_steps > 0]
    if not heard:
        return not_applicable(STEADY, "the agent did not speak while the customer was agitated")
    level_ok = all(r.level_shift_db is None or r.level_shift_db <= p["level_db"] for r in heard)
    pitch_ok = all(r.pitch_shift_st is None or r.pitch_shift_st <= p["pitch_st"] for r in heard)
    agent_raised = sorted({s for r in heard for s in r.agent_raised}, key=lambda s: s.start)
    ok = level_ok and pitch_ok and not agent_raised
    evidence = [
        _evidence(ctx.transcript, CUSTOMER, r.stretch.start, r.stretch.end) for r, _ in pressed
    ]
    evidence += [_evidence(ctx.transcript, AGENT, s.start, s.end) for s in agent_raised]
    return _result(
        STEADY,
        ok,
        evidence,
        "When the customer gets loud, lower your pace and volume and keep your pitch even: "
        "a calm voice de-escalates.",
        pressure_stretches=len(pressed),
        raised_stretches=len(customer.raised),
        customer_sentiment=min(score for _, score in pressed),
        level_shift_db=max((r.level_shift_db for r in heard if r.level_shift_db is not None),
                           default=None),
        pitch_shift_st=max((r.pitch_shift_st for r in heard if r.pitch_shift_st is not None),
                           default=None),
        agent_raised_stretches=len(agent_raised),
        level_db=p["level_db"],
        pitch_st=p["pitch_st"],
        negative_at=negative_at,
    )  # fmt: skip


def not_monotone(ctx: CheckContext) -> CheckResult:
    """The agent's pitch varies: SD around its median of at least ``min_sd_st`` semitones."""
    p, voice = _params(NOT_MONOTONE, ctx), _voice(NOT_MONOTONE, ctx)
    if isinstance(voice, CheckResult):
        return voice
    agent = _agent(NOT_MONOTONE, voice)
    if isinstance(agent, CheckResult):
        return agent
    sd = agent.pitch.sd_st
    if sd is None or agent.pitch.voiced_s < p["min_voiced_s"]:
        why = f"only {agent.pitch.voiced_s:.1f} s of agent voiced speech (< {p['min_voiced_s']})"
        return not_applicable(NOT_MONOTONE, why)
    parts = [q for q in agent.quarters if q.pitch_sd_st is not None]
    flattest = min(parts, key=lambda q: q.pitch_sd_st or 0.0, default=None)
    evidence = [] if flattest is None else [_part_evidence(ctx, flattest.start, flattest.end)]
    return _result(
        NOT_MONOTONE,
        sd >= p["min_sd_st"],
        evidence,
        "Let your voice rise and fall: vary pitch to stress key words and sound engaged; "
        "smiling while you talk helps.",
        pitch_sd_st=round(sd, 3),  # enough digits to show which side of the limit
        min_sd_st=p["min_sd_st"],
        flattest_quarter=None if flattest is None else flattest.index,
    )


def _part_evidence(ctx: CheckContext, start: float, end: float) -> Evidence:
    return _evidence(ctx.transcript, AGENT, start, end)


def pace(ctx: CheckContext) -> CheckResult:
    """The agent does not speak much faster than the customer (or than a ceiling).

    Fails when the agent's articulation rate is more than ``max_ratio`` times the customer's,
    or when the call's language has a ``max_wpm`` ceiling and the agent's words per minute
    exceed it.
    """
    p, voice = _params(PACE, ctx), _voice(PACE, ctx)
    if isinstance(voice, CheckResult):
        return voice
    agent, customer = voice.of(AGENT), voice.of(CUSTOMER)
    min_words = int(p["min_words"])
    if agent is None or agent.pace.words < min_words or agent.pace.articulation_wps is None:
        return not_applicable(PACE, f"the agent needs at least {min_words} timed words")
    ratio = _pace_ratio(agent, customer, min_words)
    ceiling = _ceiling(p["max_wpm"], ctx.transcript.language)
    if ratio is None and ceiling is None:
        why = f"too few customer words and no words/min ceiling for '{ctx.transcript.language}'"
        return not_applicable(PACE, why)
    too_fast = ratio is not None and ratio > p["max_ratio"]
    over = ceiling is not None and agent.pace.wpm is not None and agent.pace.wpm > ceiling
    parts = [q for q in agent.quarters if q.wpm is not None]
    fastest = max(parts, key=lambda q: q.wpm or 0.0, default=None)
    evidence = [] if fastest is None else [_part_evidence(ctx, fastest.start, fastest.end)]
    return _result(
        PACE,
        not (too_fast or over),
        evidence,
        "Slow down to the customer's pace: pause after key information and let them keep up.",
        agent_wpm=agent.pace.wpm,
        agent_articulation_wps=agent.pace.articulation_wps,
        customer_articulation_wps=None if customer is None else customer.pace.articulation_wps,
        ratio=ratio,
        max_ratio=p["max_ratio"],
        max_wpm=ceiling,
    )


def _pace_ratio(agent: SpeakerVoice, customer: SpeakerVoice | None, min_words: int) -> float | None:
    """Agent over customer articulation rate, None when the customer has too few words."""
    if customer is None or customer.pace.words < min_words or not customer.pace.articulation_wps:
        return None
    assert agent.pace.articulation_wps is not None
    return agent.pace.articulation_wps / customer.pace.articulation_wps


def _ceiling(max_wpm: Any, language: str) -> float | None:
    """The words/min ceiling for ``language`` from a number or a {language: wpm} table."""
    if isinstance(max_wpm, Mapping):
        lang = "nb" if language == "no" else language
        value = max_wpm.get(lang)
        return None if value is None else float(value)
    return float(max_wpm) if max_wpm and math.isfinite(float(max_wpm)) else None


def no_raised_voice(ctx: CheckContext) -> CheckResult:
    """The agent never raises its voice: no raised stretch measured by the voice stage.

    A raised stretch (``[voice] raised_*``) is at least 2 s of 0.5-s steps at least
    max(6 dB, 2 robust SDs) over the agent's median level, or max(3 st, 2 robust SDs) over
    its median pitch with the level at least half the level threshold over.
    """
    voice = _voice(NO_RAISED, ctx)
    if isinstance(voice, CheckResult):
        return voice
    agent = _agent(NO_RAISED, voice)
    if isinstance(agent, CheckResult):
        return agent
    stretches = agent.raised
    evidence = [_evidence(ctx.transcript, AGENT, s.start, s.end) for s in stretches]
    loudest = _loudest(agent)
    if not stretches and loudest is not None:
        evidence = [_evidence(ctx.transcript, AGENT, max(0.0, loudest - 1.0), loudest + 1.0)]
    return _result(
        NO_RAISED,
        not stretches,
        evidence,
        "Keep your voice at its normal level even when the customer is loud; "
        "lower it and slow down to regain control.",
        stretches=[
            [round(s.start, 2), round(s.end, 2), round(s.level_rel_db, 1)] for s in stretches
        ],
    )


def _loudest(sv: SpeakerVoice) -> float | None:
    """Centre (s) of the speaker's loudest measured step (the evidence for a pass)."""
    steps = [
        (lv, t) for t, lv in zip(sv.contour_t, sv.contour_level_db, strict=True) if lv is not None
    ]
    return max(steps)[1] if steps else None


CHECKS: dict[str, CheckFn] = {
    STEADY: steady_under_pressure,
    NOT_MONOTONE: not_monotone,
    PACE: pace,
    NO_RAISED: no_raised_voice,
}
