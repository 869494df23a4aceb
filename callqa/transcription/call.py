"""A whole call to text: :func:`transcribe_call` turns a :class:`CallAudio` into a
speaker-labelled :class:`Transcript`, one pass per channel (stereo) or over the mix (mono),
with the cross-talk and silence guards, then a second pass over the speech turns the first
left without words (:func:`empty_turns`, :func:`transcribe_turns`).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from typing import TypeGuard

import numpy as np

from callqa.config import TranscriptionConfig
from callqa.languages import from_whisper, parse_language, to_whisper
from callqa.transcription.guards import is_silent
from callqa.transcription.model import StreamTranscriber, Transcriber, WindowTranscriber
from callqa.transcription.windows import Packed, decode_packed, decode_streams, decode_turns
from callqa.types import (
    UNKNOWN,
    CallAudio,
    Segment,
    SpeechActivity,
    Transcript,
    Turn,
    TurnCoverage,
    Utterance,
    Word,
)

CHANNEL_LABELS = ("left", "right")  # source labels of stereo channels 0 and 1
DETECT_MAX_S = 30.0  # Whisper's language ID sees one 30 s window


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
        A loaded model (:func:`callqa.transcription.load.load_transcriber`).
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
        :mod:`callqa.measures.roles`). Mono: diarized speakers, or "unknown".
    """
    config = config or TranscriptionConfig()
    code, probability, source = _call_language(
        audio, transcriber, activity, language, config.detect_languages
    )
    forced = source == "forced"
    if audio.n_channels == 2:
        utterances, heard = _stereo(audio, transcriber, activity, code, config, identify=forced)
    else:
        utterances, heard = _mono(audio, transcriber, activity, code, config, identify=forced)
    detected: tuple[str, float] | None = None
    if forced:  # what Whisper hears anyway: a contradiction means a translation
        found, p = heard or transcriber.detect_language(speech_sample(audio, activity))
        detected = (from_whisper(found), float(p))
    inside = (clamp_times(u, audio.duration_s) for u in utterances)
    ordered = tuple(sorted(inside, key=lambda u: (u.start, u.end, u.speaker)))
    return Transcript(
        language=code,
        segments=ordered,
        language_probability=probability,
        language_source=source,
        detected_language=detected[0] if detected else None,
        detected_probability=round(detected[1], 3) if detected else None,
    )


def _call_language(
    audio: CallAudio,
    transcriber: Transcriber,
    activity: SpeechActivity | None,
    language: str | None,
    candidates: Sequence[str] = (),
) -> tuple[str, float | None, str]:
    forced = parse_language(language)
    if forced is not None:
        return forced, None, "forced"
    code, probability = transcriber.detect_language(speech_sample(audio, activity), candidates)
    return from_whisper(code), probability, "detected"


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


# --------------------------------------------------------------------------- stereo


Heard = tuple[str, float] | None  # Whisper's language ID on a decoded window, when asked for


def _stereo(
    audio: CallAudio,
    transcriber: Transcriber,
    activity: SpeechActivity | None,
    language: str,
    config: TranscriptionConfig,
    *,
    identify: bool,
) -> tuple[list[Utterance], Heard]:
    if activity is not None and config.crosstalk != "off" and _batched(transcriber, config):
        return _stereo_packed(audio, transcriber, activity, language, config, identify=identify)
    out: list[Utterance] = []
    for index, label in enumerate(CHANNEL_LABELS):
        own = _own_turns(activity, index) if activity is not None else None
        out.extend(_channel(audio, index, label, own, transcriber, language, config))
    return out, None


def _batched(transcriber: Transcriber, config: TranscriptionConfig) -> TypeGuard[WindowTranscriber]:
    return config.decoding == "batched" and isinstance(transcriber, WindowTranscriber)


def _stereo_packed(
    audio: CallAudio,
    transcriber: WindowTranscriber,
    activity: SpeechActivity,
    language: str,
    config: TranscriptionConfig,
    *,
    identify: bool,
) -> tuple[list[Utterance], Heard]:
    """Batched decoding: each channel's own turns, packed into windows decoded together; the
    same silence and cross-talk rules as :func:`_channel` (a channel's words outside its own
    turns are dropped, and nothing outside them is decoded, as with ``mask``); then each own
    turn left without words is decoded again alone (:func:`decode_turns`, batched)."""
    jobs = {}
    for index in range(2):
        own = _own_turns(activity, index)
        if own and not is_silent(audio.channels[index], config.silence_dbfs):
            jobs[index] = (audio.channels[index], own)
    decoded = _first_pass(transcriber, jobs, language, config, identify=identify)
    kept = {
        index: list(keep_words_inside(utterances, jobs[index][1], config.crosstalk_tolerance_s))
        for index, utterances in decoded.utterances.items()
    }
    if config.empty_turn_pass:
        empty = {
            index: (
                jobs[index][0],
                empty_turns(jobs[index][1], kept[index], config.empty_turn_min_s),
            )
            for index in kept
        }
        again = decode_turns(
            transcriber,
            {i: job for i, job in empty.items() if job[1]},
            language=to_whisper(language),
            context_s=config.empty_turn_context_s,
        )
        for index, utterances in again.items():
            kept[index] += utterances
    out: list[Utterance] = []
    for index, utterances in kept.items():
        out.extend(relabel(u, CHANNEL_LABELS[index]) for u in utterances)
    return out, decoded.language


def _first_pass(
    transcriber: WindowTranscriber,
    jobs: dict[int, tuple[np.ndarray, tuple[Segment, ...]]],
    language: str,
    config: TranscriptionConfig,
    *,
    identify: bool,
) -> Packed:
    """The speech turns of ``jobs`` (channel -> samples, turns) decoded as streams when the
    language is one of ``stream_languages`` and the transcriber can, else as packed windows."""
    whisper = to_whisper(language)
    pad_s = config.crosstalk_tolerance_s
    streamed = {to_whisper(code) for code in config.stream_languages}
    if whisper in streamed and isinstance(transcriber, StreamTranscriber):
        return decode_streams(transcriber, jobs, language=whisper, pad_s=pad_s)
    return decode_packed(transcriber, jobs, language=whisper, pad_s=pad_s, identify=identify,
                         tail_min_s=_tail_min_s(config))  # fmt: skip


def _tail_min_s(config: TranscriptionConfig) -> float | None:
    """How much speech a window may leave after its last word before it is decoded again
    (with the empty-turn pass: the turns it rescues are the ones that pass would retry)."""
    return config.empty_turn_min_s if config.empty_turn_pass else None


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
    if is_silent(samples, config.silence_dbfs) or (own is not None and not own):
        return []  # nothing said on this channel: decoding would only invent text
    if own is not None and config.crosstalk == "mask":
        samples = mask_outside(samples, own, config.crosstalk_tolerance_s, audio.sample_rate)
    utterances = transcriber.transcribe(samples, language=to_whisper(language))
    if own is not None and config.crosstalk != "off":
        utterances = keep_words_inside(utterances, own, config.crosstalk_tolerance_s)
    if own is not None and config.empty_turn_pass:
        empty = empty_turns(own, utterances, config.empty_turn_min_s)
        again = transcribe_turns(samples, empty, transcriber, language, config, audio.sample_rate)
        utterances = (*utterances, *again)
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


def clamp_times(utterance: Utterance, duration_s: float) -> Utterance:
    """The utterance with its times and its words' times inside ``[0, duration_s]`` (s)."""

    def inside(t: float) -> float:
        return min(max(0.0, t), duration_s)

    if utterance.start >= 0.0 and utterance.end <= duration_s:
        return utterance
    words = tuple(replace(w, start=inside(w.start), end=inside(w.end)) for w in utterance.words)
    return replace(utterance, start=inside(utterance.start), end=inside(utterance.end), words=words)


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


# --------------------------------------------------------------------------- empty turns


def empty_turns(
    turns: Sequence[Segment], utterances: Sequence[Utterance], min_s: float
) -> tuple[Segment, ...]:
    """The turns of at least ``min_s`` seconds with no word of ``utterances`` whose midpoint
    lies inside them (every utterance is taken as one speaker's)."""
    mids = sorted(0.5 * (w.start + w.end) for u in utterances for w in u.words)
    mids += [0.5 * (u.start + u.end) for u in utterances if not u.words]
    mids.sort()
    return tuple(t for t in turns if t.duration >= min_s and not _any_inside(mids, t))


def _any_inside(sorted_times: list[float], seg: Segment) -> bool:
    i = bisect.bisect_left(sorted_times, seg.start)
    return i < len(sorted_times) and sorted_times[i] <= seg.end


def transcribe_turns(
    samples: np.ndarray,
    turns: Sequence[Segment],
    transcriber: Transcriber,
    language: str,
    config: TranscriptionConfig,
    sample_rate: int = 16_000,
) -> tuple[Utterance, ...]:
    """Decode each turn again on its own (with ``empty_turn_context_s`` of audio either side)
    and keep the words whose midpoint lies inside the turn.

    Whisper decoding a whole channel skips some short replies between long silences (on the
    real stereo call, 3 of 44 turns of at least 1 s got no word); cut with half a second of
    context the same speech is heard. Words of the context are dropped, so nothing the first
    pass already has is repeated and nothing from outside the turn (leakage) comes in.

    Returns
    -------
    tuple of Utterance
        Times in seconds from the start of ``samples``; speaker "unknown".
    """
    out: list[Utterance] = []
    duration = len(samples) / sample_rate
    for turn in turns:
        start = max(0.0, turn.start - config.empty_turn_context_s)
        end = min(duration, turn.end + config.empty_turn_context_s)
        clip = samples[int(start * sample_rate) : int(end * sample_rate)]
        found = transcriber.transcribe(clip, language=to_whisper(language))
        words = [
            replace(w, start=round(w.start + start, 3), end=round(w.end + start, 3))
            for u in found
            for w in u.words
            if turn.contains(start + 0.5 * (w.start + w.end))
        ]
        if words:
            out.append(_from_words(UNKNOWN, words))
    return tuple(out)


def turn_coverage(turns: Sequence[Turn], transcript: Transcript, min_s: float) -> TurnCoverage:
    """How many turns of at least ``min_s`` seconds have no word of their speaker inside them
    (the word's midpoint in ``[start, end]``)."""
    long = [t for t in turns if t.duration >= min_s]
    mids: dict[str, list[float]] = {}
    for w in transcript.words:
        mids.setdefault(w.speaker, []).append(0.5 * (w.start + w.end))
    for times in mids.values():
        times.sort()
    empty = tuple(t for t in long if not _any_inside(mids.get(t.speaker, []), t.segment))
    share = len(empty) / len(long) if long else None
    return TurnCoverage(min_s, len(long), len(empty), share, empty)


# --------------------------------------------------------------------------- mono


def _mono(
    audio: CallAudio,
    transcriber: Transcriber,
    activity: SpeechActivity | None,
    language: str,
    config: TranscriptionConfig,
    *,
    identify: bool,
) -> tuple[list[Utterance], Heard]:
    samples = audio.mix
    if is_silent(samples, config.silence_dbfs):
        return [], None
    heard: Heard = None
    if activity is not None and _batched(transcriber, config):  # speech turns only, batched
        speech_turns = {0: (samples, tuple(t.segment for t in activity.turns))}
        packed = _first_pass(transcriber, speech_turns, language, config, identify=identify)
        utterances: Sequence[Utterance] = packed.utterances[0]
        heard = packed.language
    else:
        utterances = transcriber.transcribe(samples, language=to_whisper(language))
    if activity is None:
        return list(utterances), heard
    speech = tuple(t.segment for t in activity.turns)
    utterances = drop_outside_speech(utterances, speech, config.crosstalk_tolerance_s)
    if config.empty_turn_pass:
        empty = empty_turns(speech, utterances, config.empty_turn_min_s)
        if _batched(transcriber, config):
            again: Sequence[Utterance] = decode_turns(
                transcriber, {0: (samples, empty)} if empty else {},
                language=to_whisper(language), context_s=config.empty_turn_context_s,
            ).get(0, [])  # fmt: skip
        else:
            again = transcribe_turns(samples, empty, transcriber, language, config,
                                     audio.sample_rate)  # fmt: skip
        utterances = (*utterances, *again)
    if any(t.speaker != UNKNOWN for t in activity.turns):
        draft = Transcript(language=language, segments=tuple(utterances))
        return list(assign_speakers(draft, activity.turns).segments), heard
    return list(utterances), heard


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
