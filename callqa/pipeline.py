"""Score one call: every stage, in order, from a file to a :class:`Scorecard`.

::

    load_audio -> detect_activity -> transcribe_call -> decide_roles/apply_roles
               -> talk_time, measure_dynamics, measure_voice -> read_sentiment
               -> run_checks -> score_checks -> Scorecard -> redact (before anything is written)

A call longer than ``config.call.block_s`` is never held whole: it is validated in one streaming
pass, then read again block by block for each stage that needs samples (speech activity,
speaker embeddings of a mono call, transcription, voice); what crosses blocks (frame tracks,
embeddings, words) is small and joined over the whole call, where turns, voices, roles and every
statistic are decided once (:mod:`callqa.blockwise`; docs/architecture.md, "Long calls").

The transcriber is passed in (load it once with :func:`callqa.transcription.load_transcriber`
and reuse it); so is the sentiment model, optionally (default: the shipped one, loaded once per
process). This module sits above every stage and below the outputs, batch and CLI.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from callqa import __version__
from callqa.audio.activity import detect_activity
from callqa.audio.load import AudioScan, load_audio, probe, scan_audio
from callqa.blockwise import block_activity, block_transcript, block_voice
from callqa.checks.empathy import states_problem
from callqa.checks.text import load_pack
from callqa.config import Config
from callqa.errors import AudioError
from callqa.heap import decoder_heap, fixed_mmap_threshold
from callqa.measures.dynamics import measure_dynamics, talk_time
from callqa.measures.metrics import CallMetrics
from callqa.measures.roles import apply_roles, decide_roles, speaker_labels, transcript_roles
from callqa.measures.voice import VoiceMetrics, measure_voice
from callqa.privacy.audio import redact_audio, redact_audio_stream
from callqa.privacy.detect import find_pii
from callqa.privacy.identifiers import redact_card_identifiers
from callqa.privacy.redact import attach_audio_path, redact_scorecard
from callqa.privacy.spans import PiiSpan
from callqa.scoring.confidence import call_reviews, review_items, with_confidence
from callqa.scoring.rubric import Rubric, load_rubric
from callqa.scoring.score import run_checks, score_checks, withheld_auto_fails
from callqa.scoring.scorecard import Scorecard
from callqa.scoring.warnings import call_warnings
from callqa.sentiment import CallSentiment, SentimentModel, default_model, read_sentiment
from callqa.stages import StageTimer, beside
from callqa.transcription.call import transcribe_call, turn_coverage
from callqa.transcription.load import ready
from callqa.transcription.model import Transcriber, resolve_threads
from callqa.types import (
    CallAudio,
    ModelInfo,
    RoleDecision,
    SourceInfo,
    SpeechActivity,
    Transcript,
)
from callqa.words.embed import threads as embedding_threads


@dataclass(frozen=True)
class ScoredCall:
    """A scorecard plus what was needed to produce it (kept in memory, never written).

    Attributes
    ----------
    scorecard : Scorecard
        Redacted when redaction is on.
    audio : CallAudio or None
        The decoded call (None when scored from a transcript, or read block by block).
    pii : tuple of PiiSpan
        The personal data found (with text positions; never written).
    config : Config
        The settings the call was scored with.
    """

    scorecard: Scorecard
    audio: CallAudio | None
    pii: tuple[PiiSpan, ...]
    config: Config = field(default_factory=Config)
    scan: AudioScan | None = None  # a call read block by block: its file, for the audio copy

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
        red = self.config.redaction
        mode, pad_s, tone_hz = red.audio_mode, red.audio_pad_s, red.tone_hz
        if self.audio is not None:
            redact_audio(self.audio, self.pii, path, mode=mode, pad_s=pad_s, tone_hz=tone_hz)
        elif self.scan is not None:  # read in blocks: decoded again, written piece by piece
            redact_audio_stream(self.scan, self.pii, path, mode=mode, pad_s=pad_s, tone_hz=tone_hz)
        else:
            raise AudioError("no audio to redact: this call was scored from a transcript")
        return replace(self, scorecard=attach_audio_path(self.scorecard, path))


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
    transcriber: Transcriber | Future[Transcriber],
    config: Config | None = None,
    rubric: Rubric | None = None,
    call_id: str | None = None,
    sentiment_model: SentimentModel | None = None,
) -> ScoredCall:
    """Like :func:`score_call`, also returning the decoded audio and the personal-data spans
    (for a redacted audio copy: :meth:`ScoredCall.write_redacted_audio`).

    ``transcriber`` may also be a model still loading (a Future, as the CLI passes it): it is
    waited for when transcription starts, so the load overlaps the decoding of the call and
    its speech activity, and a broken file fails before the model is needed."""
    config = config or Config()
    timer = StageTimer()
    path = Path(path)
    if not _fits_one_block(path, config):
        with timer.stage("decode"):
            scan = scan_audio(path, max_duration_s=config.call.max_duration_s)
        model = ready(transcriber)
        return _score_blocks(scan, model, config, rubric, call_id, timer, sentiment_model)
    with timer.stage("decode"):
        audio = load_audio(path, max_duration_s=config.call.max_duration_s)
    with timer.stage("activity"):
        activity = detect_activity(audio, config.dynamics, workers=_threads(config))
    with timer.stage("transcribe"), decoder_heap():  # lifted if an earlier call fixed it
        transcriber = ready(transcriber)
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
    sentiment_model = sentiment_model or default_model()
    metrics = _measure_beside(
        lambda: _measure(audio, activity, transcript, config, timer),
        transcript, sentiment_model, config, timer,
    )  # fmt: skip
    return _finish(
        SourceInfo(path=str(path), sha256=audio.sha256),
        call_id or path.stem,
        audio.n_channels,
        decision,
        transcript,
        metrics,
        model=transcriber.info,
        config=config,
        rubric=rubric,
        timer=timer,
        sentiment_model=sentiment_model,
        audio=audio,
    )


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
    timer = StageTimer()
    duration = max((s.end for s in transcript.segments), default=0.0)
    with timer.stage("roles") if speaker_labels(transcript) else nullcontext():  # names: roles
        decision, transcript = transcript_roles(transcript)
    scored = _finish(
        SourceInfo(path=str(source), sha256=sha256),
        call_id or source.stem,
        0,
        decision,
        transcript,
        CallMetrics(duration_s=duration),
        model=ModelInfo(backend="transcript-file", name=source.suffix.lstrip(".") or "json"),
        config=config,
        rubric=rubric,
        timer=timer,
        sentiment_model=sentiment_model,
        audio=None,
    )
    return scored.scorecard


def _measure(
    audio: CallAudio,
    activity: SpeechActivity,
    transcript: Transcript,
    config: Config,
    timer: StageTimer,
) -> CallMetrics:
    return _metrics(
        audio.duration_s, activity, transcript, config, timer,
        lambda: measure_voice(audio, activity, transcript, config.voice),
    )  # fmt: skip


def _metrics(
    duration_s: float,
    activity: SpeechActivity,
    transcript: Transcript,
    config: Config,
    timer: StageTimer,
    voice_of: Callable[[], VoiceMetrics],
) -> CallMetrics:
    with timer.stage("dynamics"):
        talk = talk_time(activity, duration_s)
        dynamics = measure_dynamics(activity, transcript, duration_s, config.dynamics)
    with timer.stage("voice"):
        voice = voice_of()
    shares = {t.speaker: t.share for t in talk}
    return CallMetrics(
        duration_s=duration_s,
        talk=talk,
        agent_talk_share=shares.get("agent"),
        dynamics=dynamics,
        voice=voice,
        coverage=turn_coverage(activity.turns, transcript, config.transcription.empty_turn_min_s),
        voices=activity.voices,
    )


def _measure_beside(
    measure: Callable[[], CallMetrics],
    transcript: Transcript,
    model: SentimentModel,
    config: Config,
    timer: StageTimer,
) -> CallMetrics:
    """``measure()`` (the voice stage), then the checks' phrase pack, while a second thread
    embeds the segments as the sentiment stage will read them (:meth:`SentimentModel.warm`),
    with one thread fewer than the call's budget.

    Pitch tracking holds the interpreter lock on one core; the embeddings release it. On the
    245 s benchmark call with 2 threads, embedding on both beside the voice stage made each
    slower than alone (voice 1.6 s against 0.95 s, embeddings 2.35 s against 1.52 s on one
    thread); on one thread, voice and phrase pack (1.8 s) and the embeddings (1.8 s) overlap,
    0.4 s sooner done. With one thread (a batch worker's) nothing runs beside.
    """
    threads, texts = _threads(config), [s.text for s in transcript.segments]
    warm = partial(_warm, model, texts, transcript.language, threads=threads - 1)
    with embedding_threads(threads), beside(warm, when=threads > 1 and bool(texts)):
        metrics = measure()
        with timer.stage("phrases"):
            load_pack(transcript.language)
    return metrics


def _warm(model: SentimentModel, texts: list[str], language: str, *, threads: int) -> None:
    with embedding_threads(threads):
        model.warm(texts, language)


def _sentiment(
    transcript: Transcript,
    metrics: CallMetrics,
    config: Config,
    timer: StageTimer,
    model: SentimentModel | None,
    *,
    duration_s: float,
) -> tuple[Transcript, CallSentiment]:
    with timer.stage("phrases"):  # the checks' phrase pack, which the problem flag reads first
        load_pack(transcript.language)
    with timer.stage("sentiment"):
        return read_sentiment(
            transcript, model or default_model(), voice=metrics.voice, config=config.voice,
            duration_s=duration_s, problem=states_problem,  # the checks' complaint detector
        )  # fmt: skip


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
    timer: StageTimer,
    has_audio: bool,
) -> Scorecard:
    with timer.stage("checks"):
        if rubric is None:
            path = Path(config.rubric.path) if config.rubric.path else None
            rubric = load_rubric(path, limits=config.limits)
        checks = run_checks(rubric, transcript, metrics, has_audio=has_audio, sentiment=sentiment)
        checks = with_confidence(checks, transcript, roles)
        sections, score, auto_failed = score_checks(rubric, checks, transcript.language)
        review = review_items(checks, rubric.review_below, withheld_auto_fails(rubric, checks),
                              rubric.auto_fail_min_confidence)  # fmt: skip
        review += call_reviews(transcript, roles, metrics.coverage, config.transcription)
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
        warnings=call_warnings(transcript, roles, checks, metrics, config),
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
    timer: StageTimer,
) -> ScoredCall:
    spans: tuple[PiiSpan, ...] = ()
    with timer.stage("redact"):
        if config.redaction.enabled:
            spans = find_pii(transcript, config.redaction)
            card = redact_scorecard(card, spans, config.redaction)
        card = redact_card_identifiers(card, config.redaction)  # file names hold numbers too
    card = replace(card, timings_s={k: round(v, 3) for k, v in timer.seconds.items()})
    return ScoredCall(scorecard=card, audio=audio, pii=spans, config=config)


def _threads(config: Config) -> int:
    """CPU threads of this call's scoring: ``transcription.threads`` (0: every usable core; a
    batch worker is given its share)."""
    return resolve_threads(config.transcription.threads)


def _finish(
    source: SourceInfo,
    call_id: str,
    n_channels: int,
    decision: RoleDecision | None,
    transcript: Transcript,
    metrics: CallMetrics,
    *,
    model: ModelInfo,
    config: Config,
    rubric: Rubric | None,
    timer: StageTimer,
    sentiment_model: SentimentModel | None,
    audio: CallAudio | None,
) -> ScoredCall:
    """Sentiment, checks, scorecard and redaction: the stages every call ends with (a
    recording, whole or read in blocks: ``n_channels`` 1 or 2; a transcript: 0, no roles)."""
    with embedding_threads(_threads(config)):  # the cores are free again: for the embeddings
        transcript, sentiment = _sentiment(
            transcript, metrics, config, timer, sentiment_model, duration_s=metrics.duration_s
        )
        card = _assemble(
            source=source,
            call_id=call_id,
            duration_s=metrics.duration_s,
            channels=n_channels,
            agent_channel=decision.agent if decision and n_channels == 2 else None,  # left/right
            model=model,
            transcript=transcript,
            metrics=metrics,
            sentiment=sentiment,
            roles=decision,
            config=config,
            rubric=rubric,
            timer=timer,
            has_audio=n_channels > 0,
        )
    return _redacted(card, transcript, audio, config, timer)


# --------------------------------------------------------------------------- long calls


def _fits_one_block(path: Path, config: Config) -> bool:
    """True when the container declares a length of at most ``call.block_s`` (whole path)."""
    declared = probe(path).duration_s
    return declared is not None and declared <= config.call.block_s


def _score_blocks(
    scan: AudioScan,
    transcriber: Transcriber,
    config: Config,
    rubric: Rubric | None,
    call_id: str | None,
    timer: StageTimer,
    sentiment_model: SentimentModel | None = None,
) -> ScoredCall:
    """:func:`score_call_with_audio` for a call read block by block (see the module docstring)."""
    fixed_mmap_threshold()  # freed blocks go back to the system, not into a growing heap
    with timer.stage("activity"):
        activity = block_activity(scan, config)
    with timer.stage("transcribe"):
        transcript = block_transcript(scan, activity, transcriber, config)
    with timer.stage("roles"):
        decision = decide_roles(
            activity, transcript, config.call.agent_channel, transcript.language
        )
        activity, transcript = apply_roles(activity, transcript, decision)
    sentiment_model = sentiment_model or default_model()
    metrics = _measure_beside(
        lambda: _metrics(
            scan.duration_s, activity, transcript, config, timer,
            lambda: block_voice(scan, activity, transcript, config),
        ),
        transcript, sentiment_model, config, timer,
    )  # fmt: skip
    scored = _finish(
        SourceInfo(path=str(scan.source), sha256=scan.sha256),
        call_id or scan.source.stem,
        scan.n_channels,
        decision,
        transcript,
        metrics,
        model=transcriber.info,
        config=config,
        rubric=rubric,
        timer=timer,
        sentiment_model=sentiment_model,
        audio=None,
    )
    return replace(scored, scan=scan)
