"""Voice measures: pitch, loudness and pace per speaker, over time.

::

    CallAudio + SpeechActivity + Transcript -> measure_voice -> VoiceMetrics
        per speaker: PitchStats, LoudnessStats, PaceStats, quarters (PartVoice),
                     raised-voice stretches, a 0.5-s contour for plotting
        per call:    Agitation (customer, start vs end), Responses (the agent around each
                     customer raised stretch). The tone checks decide what passes, and which
                     raised stretches are pressure.

Only frames where a speaker *dominates* count for that speaker: inside one of its turns,
outside every other speaker's turn, and (stereo) on its own channel. "Speech" for pitch and
level means voiced frames (Praat's voicing decision), so noise between words and cross-talk
leaking into a channel during the other party's turns do not move the figures.

Levels are dBFS with 0 dB = RMS of a full-scale square wave (a full-scale sine reads -3 dB).
Pitch spreads are in semitones (st): 12 * log2(f / f_ref).

Modules: :mod:`~callqa.measures.signal` (frame tracks), :mod:`~callqa.measures.raised`
(raised stretches, agitation, the agent's responses), :mod:`~callqa.measures.voice_types`
(the values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from callqa.config import VoiceConfig
from callqa.measures.loudness import block_powers
from callqa.measures.raised import (
    RaisedRule,
    agent_responses,
    baselines,
    find_agitation,
    find_raised,
    raised_share,
    step_contour,
)
from callqa.measures.signal import HOP_S, Frames, frame_levels, frames_of, pitch_track
from callqa.measures.voice_types import (
    NO_VOICED_SPEECH,
    Agitation,
    LoudnessStats,
    PaceStats,
    PartVoice,
    PitchStats,
    Response,
    SpeakerVoice,
    Stretch,
    VoiceMetrics,
)
from callqa.types import AGENT, CUSTOMER, CallAudio, SpeechActivity, Transcript, Turn, Word

__all__ = [
    "HOP_S",
    "NO_VOICED_SPEECH",
    "Agitation",
    "LoudnessStats",
    "PaceStats",
    "PartVoice",
    "PitchStats",
    "RaisedRule",
    "Response",
    "SpeakerVoice",
    "Stretch",
    "VoiceMetrics",
    "agent_responses",
    "find_agitation",
    "find_raised",
    "frame_levels",
    "measure_voice",
    "pace_stats",
    "pitch_track",
]

# --------------------------------------------------------------------------- statistics


def _st(f0: np.ndarray, ref: float) -> np.ndarray:
    """Semitones of ``f0`` (Hz) relative to ``ref`` (Hz)."""
    return 12.0 * np.log2(f0 / ref)


def _energy_db(level_db: np.ndarray) -> float | None:
    """Energy mean (dB) of frame levels, None for no frames."""
    if level_db.size == 0:
        return None
    return float(10.0 * np.log10(np.mean(10.0 ** (level_db / 10.0))))


def pitch_stats(f0: np.ndarray) -> PitchStats:
    """Median (Hz), SD and 5-95 % range (st) of voiced F0 values (Hz, > 0)."""
    voiced_s = f0.size * HOP_S
    if f0.size == 0:
        return PitchStats(None, None, None, 0.0)
    median = float(np.median(f0))
    st = _st(f0, median)
    p5, p95 = np.percentile(st, [5, 95])
    return PitchStats(median, float(np.sqrt(np.mean(st**2))), float(p95 - p5), voiced_s)


def _lufs(y: np.ndarray, sr: int, speech: np.ndarray, config: VoiceConfig) -> float | None:
    """Integrated loudness (LUFS) of the voiced dominant speech joined end to end."""
    if speech.sum() * HOP_S < max(config.min_lufs_speech_s, 0.4):
        return None
    hop = round(HOP_S * sr)
    idx = (np.flatnonzero(speech)[:, None] * hop + np.arange(hop)[None, :]).ravel()
    return gated_lufs(block_powers(y[idx[idx < len(y)]], sr))


# --------------------------------------------------------------------------- pace, parts


def _words_of(transcript: Transcript, speaker: str) -> list[Word]:
    return [w for w in transcript.words if w.speaker == speaker]


def _articulation_s(
    words: Sequence[Word], pause_min_s: float, turns: Sequence[Turn] | None = None
) -> float:
    """Time covered by ``words`` (s), with gaps of ``pause_min_s`` or more left out.

    With ``turns`` (the speaker's speech turns from voice activity), only the part of that time
    where the speaker was heard counts: a recogniser's word times can stretch over silence (a
    word timed across a pause), which would make the speaker seem slower than they are.
    """
    runs: list[tuple[float, float]] = []
    for w in sorted(words, key=lambda w: w.start):
        if runs and w.start - runs[-1][1] < pause_min_s:
            runs[-1] = (runs[-1][0], max(runs[-1][1], w.end))
        else:
            runs.append((w.start, w.end))
    if turns is None:
        return sum(e - s for s, e in runs)
    return sum(_talk_s(turns, s, e) for s, e in runs)


def _talk_s(turns: Sequence[Turn], t0: float = 0.0, t1: float = math.inf) -> float:
    """Union length (s) of ``turns`` clipped to [t0, t1)."""
    total, cur_s, cur_e = 0.0, None, None
    for t in sorted(turns, key=lambda t: t.start):
        s, e = max(t.start, t0), min(t.end, t1)
        if e <= s:
            continue
        if cur_e is None or cur_s is None or s > cur_e:
            total += 0.0 if cur_e is None or cur_s is None else cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_s is not None and cur_e is not None:
        total += cur_e - cur_s
    return total


def pace_stats(
    words: Sequence[Word],
    talk_s: float,
    pause_min_s: float,
    turns: Sequence[Turn] | None = None,
) -> PaceStats:
    """Words per minute of turn time and words per second of articulation.

    ``turns``, when given, clip articulation time to where the speaker was heard
    (see :func:`_articulation_s`).
    """
    art = _articulation_s(words, pause_min_s, turns)
    n = len(words)
    wpm = 60.0 * n / talk_s if n and talk_s > 0 else None
    wps = n / art if n and art > 0 else None
    return PaceStats(n, talk_s, art, wpm, wps)


def _parts(
    frames: Frames,
    sv: SpeakerVoice,
    words: Sequence[Word],
    turns: Sequence[Turn],
    duration: float,
    config: VoiceConfig,
) -> tuple[PartVoice, ...]:
    """Each measure per part (quarter) of the call."""
    times, parts = frames.times(), []
    base_l, base_f = sv.loudness.baseline_dbfs, sv.loudness.baseline_f0_hz
    for k in range(config.n_parts):
        t0, t1 = k * duration / config.n_parts, (k + 1) * duration / config.n_parts
        sel = frames.speech & (times >= t0) & (times < t1)
        pitch = (
            pitch_stats(frames.f0[sel]) if sv.reason is None else PitchStats(None, None, None, 0)
        )
        level = _energy_db(frames.level_db[sel]) if sv.reason is None else None
        ws = [w for w in words if t0 <= 0.5 * (w.start + w.end) < t1]
        pace = pace_stats(ws, _talk_s(turns, t0, t1), config.pause_min_s, turns)
        rel_p = None
        if pitch.median_hz is not None and base_f is not None:
            rel_p = 12.0 * math.log2(pitch.median_hz / base_f)
        share = raised_share(sv, t0, t1, RaisedRule.from_config(config))
        parts.append(
            PartVoice(
                index=k,
                start=t0,
                end=t1,
                voiced_s=pitch.voiced_s,
                median_f0_hz=pitch.median_hz,
                pitch_sd_st=pitch.sd_st,
                pitch_rel_st=rel_p,
                level_dbfs=level,
                level_rel_db=None if level is None or base_l is None else level - base_l,
                words=pace.words,
                wpm=pace.wpm,
                articulation_wps=pace.articulation_wps,
                raised_share=share,
            )
        )
    return tuple(parts)


# --------------------------------------------------------------------------- one speaker


def _opt(values: np.ndarray) -> tuple[float | None, ...]:
    return tuple(None if not np.isfinite(v) else round(float(v), 2) for v in values)


def measure_speaker(
    audio: CallAudio,
    activity: SpeechActivity,
    transcript: Transcript,
    speaker: str,
    config: VoiceConfig,
) -> SpeakerVoice:
    """Every voice measure of one speaker (see :class:`SpeakerVoice`)."""
    channel = activity.channel_of(speaker)
    y = audio.mix if channel is None or channel >= audio.n_channels else audio.channels[channel]
    frames = frames_of(audio, activity, speaker, config)
    enough = frames.speech.sum() * HOP_S >= config.min_voiced_s
    lufs = _lufs(y, audio.sample_rate, frames.speech, config) if enough else None
    return speaker_voice(frames, lufs, activity, transcript, speaker, audio.duration_s, config)


def speaker_voice(
    frames: Frames,
    lufs: float | None,
    activity: SpeechActivity,
    transcript: Transcript,
    speaker: str,
    duration_s: float,
    config: VoiceConfig,
) -> SpeakerVoice:
    """Every voice measure of one speaker from its frame tracks over the whole call and its
    integrated loudness (LUFS, None when too little speech)."""
    speech = frames.speech
    voiced_s = float(speech.sum() * HOP_S)
    reason = None if voiced_s >= config.min_voiced_s else NO_VOICED_SPEECH
    turns = activity.turns_of(speaker)
    words = _words_of(transcript, speaker)
    pace = pace_stats(words, _talk_s(turns), config.pause_min_s, turns)
    ct, cf, cl = step_contour(frames, config) if reason is None else (np.zeros(0),) * 3
    contour_f0, contour_level = _opt(cf), _opt(cl)
    base = baselines(contour_level, contour_f0)
    if reason is None:
        pitch = pitch_stats(frames.f0[speech])
        sel = frames.level_db[speech]
        loud = LoudnessStats(
            _energy_db(sel), float(np.std(sel)), lufs, base.level_dbfs, base.f0_hz,
            base.level_spread_db, base.pitch_spread_st,
        )  # fmt: skip
    else:
        pitch = PitchStats(None, None, None, voiced_s)
        loud = LoudnessStats(None, None, None, None, None)
    sv = SpeakerVoice(
        speaker=speaker,
        channel=activity.channel_of(speaker),
        dominant_s=float(frames.dominant.sum() * HOP_S),
        reason=reason,
        pitch=pitch,
        loudness=loud,
        pace=pace,
        quarters=(),
        raised=(),
        contour_t=tuple(round(float(t), 3) for t in ct),
        contour_f0_hz=contour_f0,
        contour_level_db=contour_level,
    )
    raised = find_raised(sv, RaisedRule.from_config(config))
    quarters = _parts(frames, sv, words, turns, duration_s, config)
    return _replace(sv, quarters=quarters, raised=raised)


def _replace(sv: SpeakerVoice, **changes: object) -> SpeakerVoice:
    from dataclasses import replace

    return replace(sv, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- stage


def measure_voice(
    audio: CallAudio, activity: SpeechActivity, transcript: Transcript, config: VoiceConfig
) -> VoiceMetrics:
    """Measure pitch, loudness and pace per speaker, their trajectory, the customer's agitation
    and the agent's voice around each customer raised stretch.

    Parameters
    ----------
    audio : CallAudio
        16 kHz call; a speaker's own channel is used when ``activity.channel_of`` names one,
        else the mix.
    activity : SpeechActivity
        Turns labelled "agent" / "customer" (or "unknown" for an undiarized mono call).
    transcript : Transcript
        Words with times and the same speaker labels (for pace).
    config : VoiceConfig

    Returns
    -------
    VoiceMetrics
    """
    speakers = tuple(
        measure_speaker(audio, activity, transcript, s, config) for s in voice_speakers(activity)
    )
    return _call_voice(speakers, config)


def voice_speakers(activity: SpeechActivity) -> list[str]:
    """The speakers measured: those with turns (every listed speaker when none has any)."""
    labels = dict.fromkeys([*activity.speakers, *(t.speaker for t in activity.turns)])
    return [s for s in labels if activity.turns_of(s)] or list(activity.speakers)


def _call_voice(speakers: tuple[SpeakerVoice, ...], config: VoiceConfig) -> VoiceMetrics:
    metrics = VoiceMetrics(speakers=speakers, agitation=None)
    agent, customer = metrics.of(AGENT), metrics.of(CUSTOMER)
    if customer is None or customer.reason is not None:
        return metrics
    agitation = find_agitation(customer, RaisedRule.from_config(config))
    responses = (
        agent_responses(agent, customer, window_s=config.pressure_window_s)
        if agent is not None
        else ()
    )
    return VoiceMetrics(speakers=speakers, agitation=agitation, responses=responses)


# --------------------------------------------------------------------------- block by block


def gated_lufs(powers: np.ndarray) -> float | None:
    """Integrated loudness (LUFS) from gating-block powers: BS.1770's absolute (-70 LUFS) and
    relative (-10 LU) gates over the whole call; None when no block passes."""
    with np.errstate(divide="ignore"):
        level = -0.691 + 10.0 * np.log10(powers)
    keep = level >= -70.0
    if not keep.any():
        return None
    relative = -0.691 + 10.0 * np.log10(np.mean(powers[keep])) - 10.0
    keep &= level > relative
    return float(-0.691 + 10.0 * np.log10(np.mean(powers[keep]))) if keep.any() else None


class VoiceFrames:
    """Voice frame tracks of every speaker gathered block by block, for a call too long to hold
    whole (:func:`callqa.audio.blocks.read_blocks`); :meth:`metrics` then equals
    :func:`measure_voice` up to the integrated loudness, whose gating blocks restart at each
    block cut (docs/architecture.md, "Long calls")."""

    def __init__(self, activity: SpeechActivity, config: VoiceConfig) -> None:
        self.config = config
        self.names = voice_speakers(activity)
        self.tracks: dict[str, list[Frames]] = {s: [] for s in self.names}
        self.powers: dict[str, list[np.ndarray]] = {s: [] for s in self.names}

    def add(self, audio: CallAudio, activity: SpeechActivity, first: int, last: int) -> None:
        """Add one block: its audio, the call's activity shifted to the block's first sample,
        and the frames (10-ms hops from the block's start) of its core, ``[first, last)``."""
        hop = round(HOP_S * audio.sample_rate)
        for s in self.names:
            full = frames_of(audio, activity, s, self.config)
            frames = Frames(full.f0[first:last], full.level_db[first:last],
                            full.dominant[first:last])  # fmt: skip
            self.tracks[s].append(frames)
            channel = activity.channel_of(s)
            y = (
                audio.mix
                if channel is None or channel >= audio.n_channels
                else audio.channels[channel]
            )
            idx = ((np.flatnonzero(frames.speech) + first)[:, None] * hop + np.arange(hop)).ravel()
            self.powers[s].append(block_powers(y[idx[idx < len(y)]], audio.sample_rate))

    def metrics(
        self, activity: SpeechActivity, transcript: Transcript, duration_s: float
    ) -> VoiceMetrics:
        """The call's :class:`VoiceMetrics` from every block added."""
        speakers = []
        for s in self.names:
            parts = self.tracks[s]
            frames = Frames(
                np.concatenate([f.f0 for f in parts]),
                np.concatenate([f.level_db for f in parts]),
                np.concatenate([f.dominant for f in parts]),
            )
            voiced_s = frames.speech.sum() * HOP_S
            enough = voiced_s >= max(self.config.min_voiced_s, self.config.min_lufs_speech_s, 0.4)
            lufs = gated_lufs(np.concatenate(self.powers[s])) if enough else None
            speakers.append(
                speaker_voice(frames, lufs, activity, transcript, s, duration_s, self.config)
            )
        return _call_voice(tuple(speakers), self.config)
