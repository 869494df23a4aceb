"""Sentiment over the call: each party's quarters, the customer's start, end and low point.

A :class:`Reading` is the sentiment of a stretch of one party's talk, from the words
(``score``: the word-weighted mean of the utterances' scores) and from the voice (``arousal``:
how far level and pitch rise over the speaker's own baseline), and both (``combined``: the
words' score amplified by the arousal; a raised voice makes negative words more negative and
delight more positive, never the one into the other). The stage measures; the checks
(:mod:`callqa.checks.outcome`, :mod:`callqa.checks.tone`) decide. docs/metrics.md defines every
figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callqa.config import VoiceConfig
from callqa.measures.voice import SpeakerVoice, VoiceMetrics
from callqa.types import CUSTOMER, SPEAKERS, Utterance

N_QUARTERS = 4  # Contact Lens shows sentiment per quarter of the call
MIN_LOW_POINT_WORDS = 3  # a shorter utterance is too little text to be the low point
MIN_OUTCOME_WORDS = 20  # the customer's start and end need this many words in all
MIN_OUTCOME_UTTERANCES = 3  # ... in at least this many utterances


@dataclass(frozen=True)
class Reading:
    """The sentiment of a stretch of one party's talk.

    Attributes
    ----------
    start, end : float [s]
        From the first utterance's start to the last one's end.
    utterances, words : int
        How many utterances (with a sentiment) and words it holds.
    score : float in [-1, 1]
        Word-weighted mean of the utterances' sentiment scores (P(positive) - P(negative)).
    arousal : float in [0, 1] or None
        From the voice: 0 at or below the speaker's baseline level and pitch, 1 at the raised-
        voice thresholds (``[voice] raised_level_db`` over the baseline level, and
        ``raised_pitch_st`` over the baseline pitch; the mean of the two parts). None without
        voice measures (a transcript file, no voiced steps in the stretch).
    combined : float in [-1, 1]
        ``score * (1 + arousal)``, clipped; ``score`` when arousal is None.
    """

    start: float
    end: float
    utterances: int
    words: int
    score: float
    arousal: float | None
    combined: float


@dataclass(frozen=True)
class PartySentiment:
    """One party's sentiment over the call.

    Attributes
    ----------
    speaker : str
    overall : Reading
        All of the party's utterances.
    quarters : tuple of (Reading or None)
        One per quarter of the call's duration (``[k, k + 1) * duration / 4``; an utterance
        counts in the quarter of its midpoint); None where the party said nothing.
    """

    speaker: str
    overall: Reading
    quarters: tuple[Reading | None, ...]


@dataclass(frozen=True)
class CustomerOutcome:
    """Where the customer started, how low they went and where they ended.

    Attributes
    ----------
    quarters : tuple of (Reading or None)
        The customer's words cut into 4 quarters (an utterance counts in the quarter that holds
        its middle word): the customer's own talk, so a customer who says little at the end of
        the call still has an end. None for an empty quarter.
    start, end : Reading
        The first and last non-empty of them.
    lowest : Reading
        The most negative of them (lowest ``combined``).
    low_point : Reading or None
        The customer's single most negative utterance of at least 3 words (lowest
        ``combined``): "the customer's most negative moment".
    """

    quarters: tuple[Reading | None, ...]
    start: Reading
    end: Reading
    lowest: Reading
    low_point: Reading | None


@dataclass(frozen=True)
class CallSentiment:
    """The sentiment stage's result for a call.

    Attributes
    ----------
    model : str
        The classifier that read the utterances.
    reason : str or None
        Why nothing was measured ("language de not supported", "no transcript"); None when it
        was.
    parties : tuple of PartySentiment
        Agent, customer, unknown: the parties who spoke.
    customer : CustomerOutcome or None
        None without a customer or with too little customer speech (``customer_reason``).
    customer_reason : str or None
        Why ``customer`` is None.
    """

    model: str
    reason: str | None = None
    parties: tuple[PartySentiment, ...] = ()
    customer: CustomerOutcome | None = None
    customer_reason: str | None = None

    def of(self, speaker: str) -> PartySentiment | None:
        """The sentiment of ``speaker``, or None when it did not speak."""
        return next((p for p in self.parties if p.speaker == speaker), None)


# --------------------------------------------------------------------------- arousal


def arousal(
    voice: SpeakerVoice | None, spans: Sequence[tuple[float, float]], config: VoiceConfig
) -> float | None:
    """How raised ``voice`` is inside ``spans`` (s), in [0, 1] (see :class:`Reading`).

    The median level (dB) and pitch (st) of the speaker's measured 0.5-s steps whose centre
    lies in a span, over the speaker's baseline, each divided by its raised-voice threshold;
    the mean of the two (the level alone when no step in the spans is voiced), clipped.
    """
    if voice is None or voice.loudness.baseline_dbfs is None:
        return None
    steps = [
        (lv, f0)
        for t, f0, lv in zip(
            voice.contour_t, voice.contour_f0_hz, voice.contour_level_db, strict=True
        )
        if lv is not None and any(a <= t < b for a, b in spans)
    ]
    if not steps:
        return None
    parts = [
        (float(np.median([lv for lv, _ in steps])) - voice.loudness.baseline_dbfs)
        / config.raised_level_db
    ]
    f0s = [f for _, f in steps if f is not None]
    base_f0 = voice.loudness.baseline_f0_hz
    if f0s and base_f0:
        parts.append(12.0 * math.log2(float(np.median(f0s)) / base_f0) / config.raised_pitch_st)
    return min(1.0, max(0.0, float(np.mean(parts))))


# --------------------------------------------------------------------------- readings


def _words(utt: Utterance) -> int:
    return len(utt.words) or len(utt.text.split())


def reading(
    utterances: Sequence[Utterance], voice: SpeakerVoice | None, config: VoiceConfig
) -> Reading | None:
    """The :class:`Reading` of ``utterances`` (those with a sentiment); None if there are none."""
    read = [u for u in utterances if u.sentiment is not None]
    if not read:
        return None
    weights = np.array([max(1, _words(u)) for u in read], dtype=float)
    scores = np.array([u.sentiment.score for u in read if u.sentiment is not None])
    score = float(np.dot(weights, scores) / weights.sum())
    rise = arousal(voice, [(u.start, u.end) for u in read], config)
    combined = score if rise is None else max(-1.0, min(1.0, score * (1.0 + rise)))
    return Reading(
        start=min(u.start for u in read),
        end=max(u.end for u in read),
        utterances=len(read),
        words=int(sum(_words(u) for u in read)),
        score=round(score, 3),
        arousal=None if rise is None else round(rise, 3),
        combined=round(combined, 3),
    )


def call_quarters(
    utterances: Sequence[Utterance],
    duration_s: float,
    voice: SpeakerVoice | None,
    config: VoiceConfig,
) -> tuple[Reading | None, ...]:
    """One reading per quarter of the call (by each utterance's midpoint)."""
    length = max(duration_s, max((u.end for u in utterances), default=0.0), 1e-9)
    parts: list[list[Utterance]] = [[] for _ in range(N_QUARTERS)]
    for u in utterances:
        k = min(N_QUARTERS - 1, int(N_QUARTERS * 0.5 * (u.start + u.end) / length))
        parts[k].append(u)
    return tuple(reading(p, voice, config) for p in parts)


def word_quarters(
    utterances: Sequence[Utterance], voice: SpeakerVoice | None, config: VoiceConfig
) -> tuple[Reading | None, ...]:
    """One reading per quarter of the party's words (by each utterance's middle word)."""
    read = [u for u in utterances if u.sentiment is not None]
    total = sum(max(1, _words(u)) for u in read)
    parts: list[list[Utterance]] = [[] for _ in range(N_QUARTERS)]
    before = 0
    for u in read:
        n = max(1, _words(u))
        k = min(N_QUARTERS - 1, int(N_QUARTERS * (before + 0.5 * n) / max(total, 1)))
        parts[k].append(u)
        before += n
    return tuple(reading(p, voice, config) for p in parts)


def customer_outcome(
    utterances: Sequence[Utterance], voice: SpeakerVoice | None, config: VoiceConfig
) -> CustomerOutcome | str:
    """The customer's start, end, lowest quarter and low point, or why they cannot be read."""
    read = [u for u in utterances if u.sentiment is not None]
    words = sum(_words(u) for u in read)
    if len(read) < MIN_OUTCOME_UTTERANCES or words < MIN_OUTCOME_WORDS:
        return (
            f"too little customer speech to follow their sentiment ({len(read)} utterances, "
            f"{words} words; at least {MIN_OUTCOME_UTTERANCES} and {MIN_OUTCOME_WORDS} needed)"
        )
    quarters = word_quarters(read, voice, config)
    present = [q for q in quarters if q is not None]
    points = [
        r
        for u in read
        if _words(u) >= MIN_LOW_POINT_WORDS and (r := reading([u], voice, config)) is not None
    ]
    return CustomerOutcome(
        quarters=quarters,
        start=present[0],
        end=present[-1],
        lowest=min(present, key=lambda r: r.combined),
        low_point=min(points, key=lambda r: r.combined, default=None),
    )


def call_sentiment(
    segments: Sequence[Utterance],
    duration_s: float,
    voice: VoiceMetrics | None,
    config: VoiceConfig,
    *,
    model: str,
) -> CallSentiment:
    """Every party's quarters and the customer's outcome, from utterances with a sentiment."""
    speakers = [s for s in SPEAKERS if any(u.speaker == s for u in segments)]
    speakers += sorted({u.speaker for u in segments} - set(speakers))
    parties = []
    for speaker in speakers:
        said = [u for u in segments if u.speaker == speaker]
        sv = voice.of(speaker) if voice is not None else None
        overall = reading(said, sv, config)
        if overall is not None:
            parties.append(
                PartySentiment(speaker, overall, call_quarters(said, duration_s, sv, config))
            )
    said = [u for u in segments if u.speaker == CUSTOMER]
    if not said:
        return CallSentiment(model, None, tuple(parties), None, "no customer speech identified")
    sv = voice.of(CUSTOMER) if voice is not None else None
    outcome = customer_outcome(said, sv, config)
    if isinstance(outcome, str):
        return CallSentiment(model, None, tuple(parties), None, outcome)
    return CallSentiment(model, None, tuple(parties), outcome, None)
