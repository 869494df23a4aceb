"""The values that flow between callqa's stages (the bottom layer: it imports nothing of ours).

::

    path -> audio.load.load_audio -> CallAudio
    CallAudio -> audio.activity.detect_activity -> SpeechActivity (speaker turns)
    CallAudio -> transcription.call.transcribe_call -> Transcript (words, times, speakers)
    CallAudio + SpeechActivity + Transcript -> measures -> CallMetrics (measures.metrics)
    Transcript + CallMetrics -> checks -> CheckResult ...
    everything + rubric -> scoring -> Scorecard (scoring.scorecard) -> JSON / table / HTML / store

The stage-specific result types live with their stage (``DynamicsMetrics``, ``VoiceMetrics``,
``CallMetrics``, ``Scorecard``); what several stages pass around lives here. Every value is a
frozen dataclass. Times are seconds from the start of the call. Speaker labels are the plain
strings in :data:`SPEAKERS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

AGENT = "agent"
CUSTOMER = "customer"
UNKNOWN = "unknown"  # mono call before (or without) diarization
SPEAKERS = (AGENT, CUSTOMER, UNKNOWN)

SAMPLE_RATE = 16_000  # Hz; every stage works on 16 kHz audio (Whisper's rate)

Verdict = Literal["pass", "fail", "na"]
SentimentLabel = Literal["negative", "neutral", "positive"]


@dataclass(frozen=True, order=True)
class Segment:
    """A time interval ``[start, end)`` in seconds (pyannote's ``Segment``)."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length in seconds (0 for an empty or inverted interval)."""
        return max(0.0, self.end - self.start)

    @property
    def middle(self) -> float:
        """Mid-point in seconds."""
        return 0.5 * (self.start + self.end)

    def overlaps(self, other: Segment) -> bool:
        """True when the two intervals share a positive duration."""
        return min(self.end, other.end) > max(self.start, other.start)

    def intersection(self, other: Segment) -> float:
        """Length in seconds of the time both intervals cover."""
        return max(0.0, min(self.end, other.end) - max(self.start, other.start))

    def contains(self, t: float) -> bool:
        """True when time ``t`` (s) lies inside the interval."""
        return self.start <= t < self.end


@dataclass(frozen=True, eq=False)
class CallAudio:
    """A decoded call, resampled once to 16 kHz float32.

    Attributes
    ----------
    channels : tuple of np.ndarray, each shape=(n,), float32 in [-1, 1]
        One array per recorded channel (1 for mono, 2 for stereo), all at :data:`SAMPLE_RATE`.
    source : Path or None
        The file it came from.
    sha256 : str
        Hex digest of the file's bytes (identifies the call across renames).
    original_sample_rate : int > 0 [Hz]
        Sample rate of the file before resampling.
    """

    channels: tuple[np.ndarray, ...]
    source: Path | None
    sha256: str
    original_sample_rate: int
    sample_rate: int = SAMPLE_RATE

    @property
    def n_channels(self) -> int:
        """Number of channels (1 or 2)."""
        return len(self.channels)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.channels[0]) / self.sample_rate

    @property
    def mix(self) -> np.ndarray:
        """Mono mix (mean of the channels), shape=(n,), float32."""
        if self.n_channels == 1:
            return self.channels[0]
        return np.mean(np.stack(self.channels), axis=0).astype(np.float32)


@dataclass(frozen=True)
class Turn:
    """A stretch of speech by one speaker, from speech activity detection."""

    speaker: str
    start: float
    end: float

    @property
    def segment(self) -> Segment:
        """The turn's time interval."""
        return Segment(self.start, self.end)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class RoleDecision:
    """Which speaker is the agent, how that was decided, and how sure we are.

    Attributes
    ----------
    agent : str
        Original label of the agent ("left", "right", "spk0", ...).
    method : str
        "channel" (given by --agent-channel), "auto" (decided from speech), "none" (mono, unknown).
    confidence : float in [0, 1]
        1.0 when the channel was given; otherwise the decision's confidence.
    reason : str
        One sentence a reviewer can check.
    """

    agent: str
    method: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class SpeakerCount:
    """How many voices diarization heard in a mono call, and how far apart the two main ones are.

    Attributes
    ----------
    voices : int
        1, 2, or 3 for "three or more".
    windows : int
        Speech windows embedded (1.5 s every 0.75 s of speech).
    separation : float in [-1, 1] or None
        Cosine similarity of the two main voices' mean embeddings (1 = the same voice); None
        when no two-way split was made.
    shares : tuple of float
        Share of the speech windows of each voice found, largest first.
    reason : str
        One sentence: how the count was reached.
    """

    voices: int
    windows: int
    separation: float | None
    shares: tuple[float, ...]
    reason: str


@dataclass(frozen=True)
class SpeechActivity:
    """Who spoke when: speaker turns from VAD (and diarization for mono calls)."""

    turns: tuple[Turn, ...]
    method: str  # e.g. "silero-vad+crosstalk-gate", "silero-vad+resemblyzer"
    speakers: tuple[str, ...] = (AGENT, CUSTOMER)
    roles: RoleDecision | None = None  # set once roles are decided (callqa.measures.roles)
    channel_map: tuple[tuple[str, int], ...] = ()  # speaker -> channel index (stereo only)
    voices: SpeakerCount | None = None  # mono: what diarization heard (None for stereo)

    def channel_of(self, speaker: str) -> int | None:
        """Index of the channel that carries ``speaker`` (stereo), None for mono."""
        return dict(self.channel_map).get(speaker)

    def turns_of(self, speaker: str) -> tuple[Turn, ...]:
        """The turns of one speaker, in time order."""
        return tuple(t for t in self.turns if t.speaker == speaker)


@dataclass(frozen=True)
class Word:
    """One transcribed word with its time (s), speaker and Whisper's probability in [0, 1]."""

    text: str
    start: float
    end: float
    speaker: str = UNKNOWN
    probability: float = 1.0


@dataclass(frozen=True)
class Sentiment:
    """How positive or negative one utterance reads (the sentiment stage, docs/metrics.md).

    Attributes
    ----------
    label : {"negative", "neutral", "positive"}
        The most probable of the three.
    score : float in [-1, 1]
        P(positive) - P(negative): -1 surely negative, 0 neutral (or torn), 1 surely positive.
    """

    label: SentimentLabel
    score: float


@dataclass(frozen=True)
class Utterance:
    """A transcript segment: one speaker's words between two pauses.

    Attributes
    ----------
    speaker : str
    start, end : float [s]
    text : str
    words : tuple of Word
        With times and Whisper's probability each (1.0 for words read from a text file).
    avg_logprob : float <= 0 or None [nats/token]
        Whisper's mean token log-probability of the segment (None when not transcribed here).
    no_speech_prob : float in [0, 1] or None
        Whisper's probability that the segment's window holds no speech.
    sentiment : Sentiment or None
        Set by the sentiment stage (:mod:`callqa.sentiment`); None before it, or for a language
        it does not support.
    """

    speaker: str
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    sentiment: Sentiment | None = None

    @property
    def word_probability(self) -> float | None:
        """Mean probability of the segment's words (None without words)."""
        if not self.words:
            return None
        return sum(w.probability for w in self.words) / len(self.words)


@dataclass(frozen=True)
class Transcript:
    """What was said, by whom and when, in time order.

    Attributes
    ----------
    language : str
        ISO 639-1 code ("en", "nb", "fi", "it", "sl", ...). Norwegian is always "nb".
    language_probability : float in [0, 1] or None
        Whisper's language-ID probability; None when the language was forced or given.
    language_source : str
        "detected", "forced" (CLI/config) or "file" (read from a transcript file).
    segments : tuple of Utterance
        In start-time order.
    detected_language, detected_probability : str or None, float in [0, 1] or None
        With a forced language: what Whisper's language ID heard anyway, and how sure it was
        (a forced language that detection contradicts makes Whisper translate).
    """

    language: str
    segments: tuple[Utterance, ...]
    language_probability: float | None = None
    language_source: str = "detected"
    detected_language: str | None = None
    detected_probability: float | None = None

    @property
    def words(self) -> tuple[Word, ...]:
        """Every word, in time order."""
        return tuple(sorted((w for s in self.segments for w in s.words), key=lambda w: w.start))

    def segments_of(self, speaker: str) -> tuple[Utterance, ...]:
        """The segments of one speaker, in time order."""
        return tuple(s for s in self.segments if s.speaker == speaker)


@dataclass(frozen=True)
class TurnCoverage:
    """How many speech turns got no transcribed word (a turn the checks cannot quote).

    Attributes
    ----------
    min_turn_s : float [s]
        Only turns at least this long are counted.
    turns : int
        Speech turns of at least ``min_turn_s``.
    empty : int
        Of those, the turns with no word of their speaker whose midpoint lies inside them.
    empty_share : float in [0, 1] or None
        ``empty / turns``; None without such turns.
    empty_turns : tuple of Turn
        The turns left without words, in time order.
    """

    min_turn_s: float
    turns: int
    empty: int
    empty_share: float | None
    empty_turns: tuple[Turn, ...] = ()

    def above(self, share: float) -> bool:
        """True when more than ``share`` of the turns got no words (``[transcription]
        empty_turn_warn_share``: the scorecard's warning, its review item, the pace header)."""
        return (self.empty_share or 0.0) > share


@dataclass(frozen=True)
class SpeakerTalk:
    """Talk time of one party (s) and its share of all talk (0-1)."""

    speaker: str
    talk_s: float
    share: float | None


@dataclass(frozen=True)
class Evidence:
    """A quote or moment that supports a verdict."""

    speaker: str
    start: float
    end: float
    text: str

    def clamped(self, duration_s: float) -> Evidence:
        """The same evidence with its times inside ``[0, duration_s]`` (s), ``start <= end``."""
        start = min(max(0.0, self.start), max(0.0, duration_s))
        end = min(max(start, self.end), max(start, duration_s))
        if (start, end) == (self.start, self.end):
            return self
        return dataclasses.replace(self, start=start, end=end)


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check.

    Attributes
    ----------
    id : str
        Stable identifier, "<section>.<item>" (e.g. "empathise.apology").
    verdict : {"pass", "fail", "na"}
        "na" when the check does not apply (no complaint, unsupported language, no audio).
    score : float in [0, 1] or None
        1 full pass, 0 fail, in between a partial pass; None with "na".
    evidence : tuple of Evidence
        The moments that earned the verdict (for a fail: what went wrong, or the stretch searched).
    tip : str
        One coaching sentence.
    details : dict
        Check-specific figures (JSON-serialisable), e.g. {"owner": "agent", "time_frame": "today"}.
    confidence : float in [0, 1] or None
        How likely the verdict is right (calibrated on the labelled call set: among verdicts
        given with confidence 0.8 about 80 % were right; docs/checks.md). Set by the scoring
        stage; None before it.
    """

    id: str
    verdict: Verdict
    score: float | None
    evidence: tuple[Evidence, ...] = ()
    tip: str = ""
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    confidence: float | None = None

    def clamped(self, duration_s: float) -> CheckResult:
        """The same result with every evidence time inside the call, ``[0, duration_s]``."""
        evidence = tuple(e.clamped(duration_s) for e in self.evidence)
        if evidence == self.evidence:
            return self
        return dataclasses.replace(self, evidence=evidence)


@dataclass(frozen=True)
class ReviewItem:
    """Something a person should look at before trusting the scorecard.

    Attributes
    ----------
    item : str
        A check id ("positive.forbidden_phrases"), or "roles", "language", "transcript".
    reason : str
        One sentence saying why callqa is unsure.
    confidence : float in [0, 1] or None
        The verdict's confidence, for a check.
    """

    item: str
    reason: str
    confidence: float | None = None


@dataclass(frozen=True)
class ItemScore:
    """One rubric item's weighted result."""

    id: str
    section: str
    title: str
    weight: float
    verdict: Verdict
    score: float | None
    auto_fail: bool = False


@dataclass(frozen=True)
class SectionScore:
    """One rubric section's score (0-100) or None when every item in it is "na"."""

    id: str
    title: str
    score: float | None
    items: tuple[ItemScore, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """Which transcription model produced the transcript."""

    backend: str  # "faster-whisper", "openai-whisper", "transcript-file", "fake"
    name: str  # "base", a path, ...
    weights_sha256: str | None = None


@dataclass(frozen=True)
class SourceInfo:
    """The scored file."""

    path: str
    sha256: str


@dataclass(frozen=True)
class SpanTime:
    """Where a redacted span was: type, speaker and time (s), never the value."""

    type: str
    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class RedactionSummary:
    """What was redacted from a scorecard (JSON ``redaction``); holds no redacted value.

    Attributes
    ----------
    enabled : bool
        False when redaction was switched off (then counts are empty).
    counts : dict of str -> int
        Number of spans per type ({"card": 1, "phone": 2}).
    spans : tuple of SpanTime
        Type, speaker and time of each span, in time order.
    audio_path : str or None
        The redacted audio copy, when one was written (see :func:`attach_audio_path`).
    audio_mode : str
        "silence" or "tone".
    """

    enabled: bool
    counts: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    spans: tuple[SpanTime, ...] = ()
    audio_path: str | None = None
    audio_mode: str = "silence"

    @property
    def total(self) -> int:
        """Number of redacted spans."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "enabled": self.enabled,
            "counts": dict(self.counts),
            "spans": [dataclasses.asdict(s) for s in self.spans],
            "audio_path": self.audio_path,
            "audio_mode": self.audio_mode,
        }
