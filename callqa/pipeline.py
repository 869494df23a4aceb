"""Score one call: every stage, in order, from a file to a :class:`Scorecard`.

::

    load_audio -> detect_activity -> transcribe_call -> decide_roles/apply_roles
               -> talk_time, measure_dynamics, measure_voice -> read_sentiment
               -> run_checks -> score_checks -> Scorecard -> redact (before anything is written)

The transcriber is passed in (load it once with :func:`callqa.transcription.load_transcriber`
and reuse it for every call); so is the sentiment model, optionally (default: the shipped one,
loaded once per process on first use). This module sits above every stage and below the
outputs, batch and CLI; nothing in the stages imports it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from callqa import __version__
from callqa.audio.activity import detect_activity
from callqa.audio.load import load_audio
from callqa.config import Config
from callqa.errors import AudioError
from callqa.measures.dynamics import measure_dynamics, talk_time
from callqa.measures.metrics import CallMetrics
from callqa.measures.roles import apply_roles, decide_roles
from callqa.measures.voice import measure_voice
from callqa.privacy.audio import redact_audio
from callqa.privacy.detect import find_pii
from callqa.privacy.identifiers import redact_path, traceable_id
from callqa.privacy.redact import attach_audio_path, redact_scorecard
from callqa.privacy.spans import PiiSpan
from callqa.scoring.confidence import (
    call_reviews,
    language_contradiction,
    review_items,
    with_confidence,
)
from callqa.scoring.rubric import Rubric, load_rubric
from callqa.scoring.score import run_checks, score_checks, withheld_auto_fails
from callqa.scoring.scorecard import Scorecard
from callqa.sentiment import CallSentiment, SentimentModel, default_model, read_sentiment
from callqa.transcription.call import transcribe_call, turn_coverage
from callqa.transcription.model import Transcriber
from callqa.types import (
    CallAudio,
    CheckResult,
    ModelInfo,
    RoleDecision,
    SourceInfo,
    SpeechActivity,
    Transcript,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoredCall:
    """A scorecard plus what was needed to produce it (kept in memory, never written).

    Attributes
    ----------
    scorecard : Scorecard
        Redacted when redaction is on.
    audio : CallAudio or None
        The decoded call (None when scored from a transcript).
    pii : tuple of PiiSpan
        The personal data found (with text positions; never written).
    config : Config
        The settings the call was scored with.
    """

    scorecard: Scorecard
    audio: CallAudio | None
    pii: tuple[PiiSpan, ...]
    config: Config = field(default_factory=Config)

    def write_redacted_audio(self, path: Path) -> ScoredCall:
        """Write the call's audio with the personal-data spans silenced (or toned) to ``path``.

        The copy is written (16 kHz, 16-bit FLAC or WAV, atomically) even when nothing was
        found, so a caller that promised a redacted copy always gets one. The returned
        scorecard records the copy's path in ``redaction.audio_path``.

        Raises
        ------
        AudioError
            No audio (a transcript was scored), or the copy cannot be written.
        """
        if self.audio is None:
            raise AudioError("no audio to redact: this call was scored from a transcript")
        red = self.config.redaction
        redact_audio(
            self.audio,
            self.pii,
            path,
            mode=red.audio_mode,
            pad_s=red.audio_pad_s,
            tone_hz=red.tone_hz,
        )
        return replace(self, scorecard=attach_audio_path(self.scorecard, path))


STAGE_TEXT = {  # what each stage is doing, as logged at INFO (the CLI shows it as a status)
    "decode": "decoding the audio",
    "activity": "finding who spoke when",
    "transcribe": "transcribing",
    "roles": "deciding who is the agent",
    "dynamics": "measuring the conversation",
    "voice": "measuring pitch, loudness and pace",
    "sentiment": "reading the sentiment of each utterance",
    "checks": "running the checks",
    "redact": "redacting personal data",
}


class _Timer:
    """Wall-clock seconds per stage, for the scorecard's ``timings_s``; each stage is logged
    (INFO when it starts, DEBUG with its time when it ends)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        log.info("%s", STAGE_TEXT.get(name, name), extra={"stage": name})
        start = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + took
            log.debug("%s took %.2f s", name, took)


def score_call(
    path: Path | str,
    *,
    transcriber: Transcriber,
    config: Config | None = None,
    rubric: Rubric | None = None,
    call_id: str | None = None,
    sentiment_model: SentimentModel | None = None,
) -> Scorecard:
    """Score one recorded call.

    Parameters
    ----------
    path : Path or str
        The recording (wav, flac, ogg, mp3, m4a; mono or stereo; any sample rate).
    transcriber : Transcriber
        A loaded model (see :func:`callqa.transcription.load.load_transcriber`).
    config : Config, optional
        Settings (defaults when omitted).
    rubric : Rubric, optional
        The rubric to score with (default: ``config.rubric.path`` or the built-in one).
    call_id : str, optional
        Identifier in the scorecard (default: the file name without extension).
    sentiment_model : SentimentModel, optional
        See :func:`callqa.sentiment.load_sentiment_model` (default: the shipped model).

    Returns
    -------
    Scorecard
        Redacted when ``config.redaction.enabled`` (the checks ran on the unredacted text).

    Raises
    ------
    callqa.errors.CallQAError
        For any input that cannot be scored (see :mod:`callqa.errors`).
    """
    return score_call_with_audio(
        path,
        transcriber=transcriber,
        config=config,
        rubric=rubric,
        call_id=call_id,
        sentiment_model=sentiment_model,
    ).scorecard


def score_call_with_audio(
    path: Path | str,
    *,
    transcriber: Transcriber,
    config: Config | None = None,
    rubric: Rubric | None = None,
    call_id: str | None = None,
    sentiment_model: SentimentModel | None = None,
) -> ScoredCall:
    """Like :func:`score_call`, also returning the decoded audio and the personal-data spans
    (for a redacted audio copy: :meth:`ScoredCall.write_redacted_audio`)."""
    config = config or Config()
    timer = _Timer()
    path = Path(path)
    with timer.stage("decode"):
        audio = load_audio(path, max_duration_s=config.call.max_duration_s)
    with timer.stage("activity"):
        activity = detect_activity(audio, config.dynamics)
    with timer.stage("transcribe"):
        transcript = transcribe_call(
            audio,
            transcriber,
            activity=activity,
            language=config.call.language,
            config=config.transcription,
        )
    with timer.stage("roles"):
        decision = decide_roles(
            activity, transcript, config.call.agent_channel, transcript.language
        )
        activity, transcript = apply_roles(activity, transcript, decision)
    metrics = _measure(audio, activity, transcript, config, timer)
    transcript, sentiment = _sentiment(
        transcript, metrics, config, timer, sentiment_model, duration_s=audio.duration_s
    )
    card = _assemble(
        source=SourceInfo(path=str(path), sha256=audio.sha256),
        call_id=call_id or path.stem,
        duration_s=audio.duration_s,
        channels=audio.n_channels,
        agent_channel=_agent_channel_label(audio, decision),
        model=transcriber.info,
        transcript=transcript,
        metrics=metrics,
        sentiment=sentiment,
        roles=decision,
        config=config,
        rubric=rubric,
        timer=timer,
        has_audio=True,
    )
    return _redacted(card, transcript, audio, config, timer)


def score_transcript(
    transcript: Transcript,
    *,
    source: Path,
    sha256: str,
    config: Config | None = None,
    rubric: Rubric | None = None,
    call_id: str | None = None,
    sentiment_model: SentimentModel | None = None,
) -> Scorecard:
    """Score a transcript without audio: text checks run, audio measures are "na".

    Parameters
    ----------
    transcript : Transcript
        Speaker-labelled segments (see :func:`callqa.transcription.files.read_transcript`).
    source : Path
        The transcript file (for the scorecard's ``source``).
    sha256 : str
        Hex digest of the transcript file.
    sentiment_model : SentimentModel, optional
        Default: the shipped model. Sentiment is read from the words alone (no arousal).
    """
    config = config or Config()
    timer = _Timer()
    duration = max((s.end for s in transcript.segments), default=0.0)
    metrics = CallMetrics(duration_s=duration)
    transcript, sentiment = _sentiment(
        transcript, metrics, config, timer, sentiment_model, duration_s=duration
    )
    card = _assemble(
        source=SourceInfo(path=str(source), sha256=sha256),
        call_id=call_id or source.stem,
        duration_s=duration,
        channels=0,
        agent_channel=None,
        model=ModelInfo(backend="transcript-file", name=source.suffix.lstrip(".") or "json"),
        transcript=transcript,
        metrics=metrics,
        sentiment=sentiment,
        roles=None,
        config=config,
        rubric=rubric,
        timer=timer,
        has_audio=False,
    )
    return _redacted(card, transcript, None, config, timer).scorecard


def _measure(
    audio: CallAudio,
    activity: SpeechActivity,
    transcript: Transcript,
    config: Config,
    timer: _Timer,
) -> CallMetrics:
    with timer.stage("dynamics"):
        talk = talk_time(activity, audio.duration_s)
        dynamics = measure_dynamics(activity, transcript, audio.duration_s, config.dynamics)
    with timer.stage("voice"):
        voice = measure_voice(audio, activity, transcript, config.voice)
    shares = {t.speaker: t.share for t in talk}
    return CallMetrics(
        duration_s=audio.duration_s,
        talk=talk,
        agent_talk_share=shares.get("agent"),
        dynamics=dynamics,
        voice=voice,
        coverage=turn_coverage(activity.turns, transcript, config.transcription.empty_turn_min_s),
        voices=activity.voices,
    )


def _sentiment(
    transcript: Transcript,
    metrics: CallMetrics,
    config: Config,
    timer: _Timer,
    model: SentimentModel | None,
    *,
    duration_s: float,
) -> tuple[Transcript, CallSentiment]:
    with timer.stage("sentiment"):
        return read_sentiment(
            transcript,
            model or default_model(),
            voice=metrics.voice,
            config=config.voice,
            duration_s=duration_s,
        )


def _assemble(
    *,
    source: SourceInfo,
    call_id: str,
    duration_s: float,
    channels: int,
    agent_channel: str | None,
    model: ModelInfo,
    transcript: Transcript,
    metrics: CallMetrics,
    sentiment: CallSentiment,
    roles: RoleDecision | None,
    config: Config,
    rubric: Rubric | None,
    timer: _Timer,
    has_audio: bool,
) -> Scorecard:
    with timer.stage("checks"):
        if rubric is None:
            path = Path(config.rubric.path) if config.rubric.path else None
            rubric = load_rubric(path, limits=config.limits)
        checks = run_checks(rubric, transcript, metrics, has_audio=has_audio, sentiment=sentiment)
        checks = with_confidence(checks, transcript, roles)
        sections, score, auto_failed = score_checks(rubric, checks)
        withheld = withheld_auto_fails(rubric, checks)
        review = review_items(checks, review_below=rubric.review_below, withheld=withheld)
        review += call_reviews(transcript, roles)
    return Scorecard(
        call_id=call_id,
        source=source,
        duration_s=duration_s,
        language=transcript.language,
        channels=channels,
        agent_channel=agent_channel,
        model=model,
        transcript=transcript,
        metrics=metrics,
        sentiment=sentiment,
        checks=checks,
        sections=sections,
        score=score,
        roles=roles,
        auto_failed=auto_failed,
        warnings=_warnings(transcript, roles, checks, metrics, config),
        review=tuple(review),
        provisional=bool(review),
        rubric=rubric.name,
        callqa_version=__version__,
        created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )


def _redacted(
    card: Scorecard,
    transcript: Transcript,
    audio: CallAudio | None,
    config: Config,
    timer: _Timer,
) -> ScoredCall:
    spans: tuple[PiiSpan, ...] = ()
    with timer.stage("redact"):
        if config.redaction.enabled:
            spans = find_pii(transcript, config.redaction)
            card = redact_scorecard(card, spans, config.redaction)
        card = replace(  # the file name may carry a phone or card number too
            card,
            call_id=traceable_id(card.call_id, card.source.sha256, config.redaction),
            source=replace(card.source, path=redact_path(card.source.path, config.redaction)),
        )
    card = replace(card, timings_s={k: round(v, 3) for k, v in timer.seconds.items()})
    return ScoredCall(scorecard=card, audio=audio, pii=spans, config=config)


def _agent_channel_label(audio: CallAudio, decision: RoleDecision) -> str | None:
    """ "left"/"right" for stereo calls, None for mono."""
    return decision.agent if audio.n_channels == 2 else None


def _warnings(
    transcript: Transcript,
    roles: RoleDecision | None,
    checks: tuple[CheckResult, ...],
    metrics: CallMetrics,
    config: Config,
) -> tuple[str, ...]:
    notes = []
    if not transcript.segments:
        notes.append("no speech was transcribed; every item is 'na' and the call has no score")
    elif checks and all(c.verdict == "na" for c in checks):
        reason = checks[0].details.get("reason", "")
        if "too little speech" in reason:
            notes.append(f"{reason}: every item is 'na' and the call has no score")
    contradiction = language_contradiction(transcript)
    if contradiction:
        notes.append(contradiction)
    cover, warn_share = metrics.coverage, config.transcription.empty_turn_warn_share
    if cover and cover.empty_share and cover.empty_share > warn_share:
        notes.append(
            f"{cover.empty} of {cover.turns} speech turns of at least {cover.min_turn_s:g} s got "
            f"no words ({cover.empty_share:.0%}): evidence may miss what was said there"
        )
    voices = metrics.voices
    if voices is not None and voices.voices == 1:
        notes.append(
            f"one voice heard ({voices.reason}): no customer is assumed; two-party and "
            "speaker-specific checks are 'na'"
        )
    elif roles is not None and roles.method == "none":
        notes.append(
            "speakers could not be told apart (mono call): speaker-specific checks are 'na'"
        )
    if voices is not None and voices.voices >= 3:
        main = " and ".join(f"{v:.0%}" for v in voices.shares[:2])
        notes.append(
            "three or more voices heard: scored the two with the most speech as agent and "
            f"customer ({main} of the speech); the other voices are 'unknown'"
        )
    elif roles is not None and roles.method == "auto" and roles.confidence < 0.6:
        notes.append(
            f"agent identified with low confidence ({roles.confidence:.2f}): {roles.reason}"
        )
    if transcript.language_source == "detected" and (transcript.language_probability or 1) < 0.5:
        notes.append(
            f"language '{transcript.language}' detected with probability "
            f"{transcript.language_probability:.2f}; force it with --language if wrong"
        )
    return tuple(notes)
