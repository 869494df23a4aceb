"""The sentiment stage on one call: every utterance read, then the call's trajectory.

::

    Transcript + SentimentModel -> Utterance.sentiment (label, score) for every segment
    + VoiceMetrics (arousal)    -> CallSentiment (each party's quarters, the customer's outcome)
"""

from __future__ import annotations

import logging
from dataclasses import replace

from callqa.config import VoiceConfig
from callqa.measures.voice import VoiceMetrics
from callqa.sentiment.model import ProblemDetector, SentimentModel
from callqa.sentiment.trajectory import CallSentiment, call_sentiment
from callqa.types import Transcript

log = logging.getLogger(__name__)


def read_sentiment(
    transcript: Transcript,
    model: SentimentModel,
    *,
    voice: VoiceMetrics | None = None,
    config: VoiceConfig | None = None,
    duration_s: float | None = None,
    problem: ProblemDetector | None = None,
) -> tuple[Transcript, CallSentiment]:
    """The transcript with a sentiment on every segment, and the call's sentiment trajectory.

    Parameters
    ----------
    transcript : Transcript
        Speaker-labelled segments (roles applied).
    model : SentimentModel
        See :func:`callqa.sentiment.load_sentiment_model`.
    voice : VoiceMetrics or None
        The voice stage's measures (arousal); None for a transcript without audio.
    config : VoiceConfig or None
        What a raised voice is (``raised_level_db``, ``raised_pitch_st``: arousal 1).
    duration_s : float or None [s]
        The call's length (quarters); default the end of the last segment.
    problem : callable (text, language) -> bool, optional
        Whether a segment states a problem (the model's flag ``s``); the pipeline passes
        :func:`callqa.checks.empathy.states_problem`. Without it no segment does.

    Returns
    -------
    (Transcript, CallSentiment)
        For a language the model does not support, the transcript unchanged and a
        ``CallSentiment`` whose ``reason`` says so.
    """
    config = config or VoiceConfig()
    if not transcript.segments:
        return transcript, CallSentiment(model.name, reason="no transcript")
    if not model.supports(transcript.language):
        why = f"language {transcript.language} not supported"
        return transcript, CallSentiment(model.name, reason=why)
    labels = model.classify([s.text for s in transcript.segments], transcript.language, problem)
    segments = tuple(
        replace(s, sentiment=label) for s, label in zip(transcript.segments, labels, strict=True)
    )
    log.debug("read %d segments with %s", len(segments), model.name)
    duration = duration_s if duration_s is not None else max(s.end for s in segments)
    result = call_sentiment(segments, duration, voice, config, model=model.name)
    return replace(transcript, segments=segments), result
