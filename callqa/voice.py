"""Voice measures: pitch, loudness and pace per speaker, over time, with derived tone flags.

::

    CallAudio + SpeechActivity + Transcript -> measure_voice -> VoiceMetrics
        per speaker: PitchStats, LoudnessStats, PaceStats, quarters (PartVoice),
                     raised-voice stretches, a 0.5-s contour for plotting
        per call:    Agitation (customer, start vs end), Pressure (agent while the customer
                     is agitated), VoiceFlag ... (each with its threshold and reason)

Only frames where a speaker *dominates* count for that speaker: inside one of its turns,
outside every other speaker's turn, and (stereo) on its own channel. "Speech" for pitch and
level means voiced frames (Praat's voicing decision), so noise between words and cross-talk
leaking into a channel during the other party's turns do not move the figures.

Levels are dBFS with 0 dB = RMS of a full-scale square wave (a full-scale sine reads -3 dB).
Pitch spreads are in semitones (st): 12 * log2(f / f_ref).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callqa.types import AGENT, CUSTOMER, CallAudio, SpeechActivity, Transcript, Turn, Word

__all__ = [
    "NO_VOICED_SPEECH",
    "Agitation",
    "LoudnessStats",
    "PaceStats",
    "PartVoice",
    "PitchStats",
    "Pressure",
    "SpeakerVoice",
    "Stretch",
    "VoiceConfig",
    "VoiceFlag",
    "VoiceMetrics",
    "find_agitation",
    "find_pressure",
    "find_raised",
    "measure_voice",
]

HOP_S = 0.01  # s; hop of every frame track (pitch and level): Praat's 10-ms time step
LEVEL_WIN_S = 0.03  # s; RMS window: 3 hops, so every sample weighs the same in energy means
PITCH_RATE = 8000  # Hz; pitch runs on 8 kHz (F0 <= 400 Hz needs no more), twice as fast
MIN_FRAME_POWER = 1e-10  # -100 dBFS; power floor so digital silence has a finite log
NO_VOICED_SPEECH = "no voiced speech"


@dataclass(frozen=True)
class VoiceConfig:
    """Settings of the voice stage (TOML section ``[voice]``).

    Attributes
    ----------
    pitch_floor_hz, pitch_ceiling_hz : float > 0 [Hz]
        Search range of Praat's pitch tracker (60-400 Hz spans adult male and female voices).
    silence_threshold : float in [0, 1]
        Praat's silence threshold: frames whose peak is below this fraction of the analysed
        chunk's peak are unvoiced (Praat's default 0.03 = -30 dB). Pitch runs per stretch of
        the speaker's dominant speech, so a loud moment elsewhere does not mute quiet speech.
    crosstalk_margin_db : float >= 0 [dB]
        Stereo: a frame counts for a speaker only when no other channel is more than this much
        louder than the speaker's own (FACTS.md: a 6-dB dominance gate cut stereo diarization
        error from 78-95 % to 3-5 %).
    min_voiced_s : float >= 0 [s]
        Less voiced speech than this gives "no voiced speech" (None values), not a number.
    min_prosody_voiced_s : float >= 0 [s]
        Voiced speech needed before the monotone flag is decided.
    min_lufs_speech_s : float >= 0.4 [s]
        Voiced speech needed for integrated loudness (pyloudnorm gates 0.4-s blocks).
    contour_step_s : float > 0 [s]
        Step of the plotting contour and of the raised-voice search.
    min_step_voiced_s : float > 0 [s]
        A contour step needs this much voiced, dominant speech to get an F0 and a level.
    baseline_percentile : float in [0, 100]
        Anchor of the speaker's calm baseline: the baseline is the median of the steps less
        than ``raised_level_db`` (``raised_pitch_st``) above this percentile of the steps, so
        up to 3/4 of the speech can be raised without moving it.
    raised_level_db : float [dB]
        A step is raised when its level is at least this far above the baseline ...
    raised_pitch_st : float [st]
        ... or its pitch at least this far above the baseline while its level is at least
        half of ``raised_level_db`` above it.
    raised_min_s, raised_max_gap_s : float [s]
        A raised stretch lasts at least ``raised_min_s``; raised steps closer than
        ``raised_max_gap_s`` join into one stretch.
    monotone_sd_st : float [st]
        The agent is monotone below this pitch standard deviation.
    agitation_share : float in [0, 1]
        A part of the customer's speech is agitated when at least this share of its steps
        is raised.
    pressure_window_s : float [s]
        The agent's speech up to this long after a customer's raised stretch is "under pressure".
    steady_level_db, steady_pitch_st : float [dB], [st]
        The agent is steady when, under pressure, its median level and pitch stay within these
        of its own call medians.
    pause_min_s : float [s]
        Gaps between words at least this long are pauses (excluded from articulation time).
    min_pace_words : int >= 1
        Words a speaker needs before its pace enters the pace flag.
    fast_pace_ratio : float > 1
        The agent speaks much faster than the customer at this articulation-rate ratio.
    n_parts : int >= 1
        Parts of the call for the trajectory (4 = quarters).
    """

    pitch_floor_hz: float = 60.0
    pitch_ceiling_hz: float = 400.0
    silence_threshold: float = 0.03
    crosstalk_margin_db: float = 6.0
    min_voiced_s: float = 1.0
    min_prosody_voiced_s: float = 5.0
    min_lufs_speech_s: float = 1.0
    contour_step_s: float = 0.5
    min_step_voiced_s: float = 0.1
    baseline_percentile: float = 25.0
    raised_level_db: float = 6.0
    raised_pitch_st: float = 3.0
    raised_min_s: float = 2.0
    raised_max_gap_s: float = 1.0
    monotone_sd_st: float = 2.0
    agitation_share: float = 0.2
    pressure_window_s: float = 10.0
    steady_level_db: float = 3.0
    steady_pitch_st: float = 2.0
    pause_min_s: float = 0.25
    min_pace_words: int = 10
    fast_pace_ratio: float = 1.3
    n_parts: int = 4


@dataclass(frozen=True)
class PitchStats:
    """Fundamental frequency of one speaker's dominant voiced speech.

    Attributes
    ----------
    median_hz : float or None [Hz]
    sd_st : float or None [st]
        Standard deviation around the speaker's median (low = monotone).
    range_st : float or None [st]
        5th to 95th percentile.
    voiced_s : float >= 0 [s]
        Voiced, dominant time measured.
    """

    median_hz: float | None
    sd_st: float | None
    range_st: float | None
    voiced_s: float


@dataclass(frozen=True)
class LoudnessStats:
    """Level of one speaker's dominant voiced speech.

    Attributes
    ----------
    rms_dbfs : float or None [dBFS]
        RMS level over voiced frames (energy mean).
    sd_db : float or None [dB]
        Standard deviation of the 30-ms frame levels.
    lufs : float or None [LUFS]
        Integrated loudness (ITU-R BS.1770, pyloudnorm); None with too little speech.
    baseline_dbfs : float or None [dBFS]
        The speaker's calm level: median of its 0.5-s step levels that are not raised
        (see ``VoiceConfig.baseline_percentile``).
    baseline_f0_hz : float or None [Hz]
        The speaker's calm pitch, found the same way from the step pitches.
    """

    rms_dbfs: float | None
    sd_db: float | None
    lufs: float | None
    baseline_dbfs: float | None
    baseline_f0_hz: float | None


@dataclass(frozen=True)
class PaceStats:
    """Speaking rate from the transcript's word times.

    Attributes
    ----------
    words : int
    talk_s : float [s]
        The speaker's turn time (pauses inside turns included).
    articulation_s : float [s]
        Time covered by words, pauses of ``pause_min_s`` or more left out.
    wpm : float or None [words/min]
        ``words / talk_s``.
    articulation_wps : float or None [words/s]
        ``words / articulation_s``.
    """

    words: int
    talk_s: float
    articulation_s: float
    wpm: float | None
    articulation_wps: float | None


@dataclass(frozen=True)
class PartVoice:
    """One part (quarter) of the call for one speaker. Relative values are vs the baseline."""

    index: int
    start: float
    end: float
    voiced_s: float
    median_f0_hz: float | None
    pitch_sd_st: float | None
    pitch_rel_st: float | None
    level_dbfs: float | None
    level_rel_db: float | None
    words: int
    wpm: float | None
    articulation_wps: float | None
    raised_share: float | None


@dataclass(frozen=True)
class Stretch:
    """A raised-voice stretch [start, end) s with its peak step level and pitch over baseline."""

    start: float
    end: float
    level_rel_db: float
    pitch_rel_st: float | None

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class SpeakerVoice:
    """Every voice measure of one speaker.

    ``reason`` is None when the measures exist, else why not (e.g. "no voiced speech").
    ``contour_*`` are parallel tuples: step centres (s) over the speaker's dominant speech,
    median F0 (Hz or None) and RMS level (dBFS or None) in each 0.5-s step.
    """

    speaker: str
    channel: int | None
    dominant_s: float
    reason: str | None
    pitch: PitchStats
    loudness: LoudnessStats
    pace: PaceStats
    quarters: tuple[PartVoice, ...]
    raised: tuple[Stretch, ...]
    contour_t: tuple[float, ...]
    contour_f0_hz: tuple[float | None, ...]
    contour_level_db: tuple[float | None, ...]


@dataclass(frozen=True)
class Agitation:
    """The customer's raised share in the first vs the last quarter of its own speech.

    Attributes
    ----------
    start_share, end_share : float in [0, 1]
        Share of measured steps that are raised.
    start_span, end_span : (float, float) [s]
        Time span of the first and last quarter of the customer's measured steps.
    start_level_rel_db, end_level_rel_db : float or None [dB]
        Median step level over the baseline in each.
    """

    start_share: float
    end_share: float
    start_span: tuple[float, float]
    end_span: tuple[float, float]
    start_level_rel_db: float | None
    end_level_rel_db: float | None


@dataclass(frozen=True)
class Pressure:
    """The agent's voice while the customer is agitated.

    Attributes
    ----------
    windows : tuple of (float, float) [s]
        Each customer raised stretch, extended by ``pressure_window_s``.
    agent_steps : int
        The agent's measured steps inside the windows.
    level_shift_db, pitch_shift_st : float or None
        Agent's median level / pitch inside the windows minus its call median.
    agent_raised : tuple of Stretch
        Agent raised stretches that overlap a window.
    """

    windows: tuple[tuple[float, float], ...]
    agent_steps: int
    level_shift_db: float | None
    pitch_shift_st: float | None
    agent_raised: tuple[Stretch, ...]


@dataclass(frozen=True)
class VoiceFlag:
    """A derived yes/no observation with its measure, threshold and reason.

    ``value`` is None when it cannot be decided (``reason`` says why). ``times`` are the
    [start, end) spans (s) that support it.
    """

    id: str
    value: bool | None
    measure: float | None
    threshold: float
    unit: str
    reason: str
    times: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class VoiceMetrics:
    """Voice measures of a call: per speaker, the customer's agitation, the agent's steadiness."""

    speakers: tuple[SpeakerVoice, ...]
    agitation: Agitation | None
    pressure: Pressure | None
    flags: tuple[VoiceFlag, ...]
    pitch_method: str = "praat-ac"

    def of(self, speaker: str) -> SpeakerVoice | None:
        """The measures of ``speaker``, or None when it was not measured."""
        return next((s for s in self.speakers if s.speaker == speaker), None)

    def flag(self, flag_id: str) -> VoiceFlag | None:
        """The flag called ``flag_id``, or None."""
        return next((f for f in self.flags if f.id == flag_id), None)


# --------------------------------------------------------------------------- frame tracks


@dataclass(frozen=True)
class _Frames:
    """10-ms tracks of one speaker: F0 (Hz, 0 unvoiced), level (dBFS), dominance mask."""

    f0: np.ndarray
    level_db: np.ndarray
    dominant: np.ndarray

    @property
    def speech(self) -> np.ndarray:
        """Voiced and dominant frames."""
        return self.dominant & (self.f0 > 0)

    def times(self) -> np.ndarray:
        """Frame centres (s)."""
        return (np.arange(len(self.f0)) + 0.5) * HOP_S


def frame_levels(y: np.ndarray, sr: int) -> np.ndarray:
    """RMS level per 10-ms hop, 30-ms window centred on the hop's centre.

    Parameters
    ----------
    y : np.ndarray, shape=(n,)
        Signal in [-1, 1].
    sr : int > 0 [Hz]

    Returns
    -------
    np.ndarray, shape=(ceil(n / hop),) [dBFS]
    """
    hop, win = round(HOP_S * sr), round(LEVEL_WIN_S * sr)
    n_frames = math.ceil(len(y) / hop)
    csum = np.concatenate(([0.0], np.cumsum(np.square(y, dtype=np.float64))))
    centres = (np.arange(n_frames) * hop + hop // 2).astype(np.int64)
    lo = np.clip(centres - win // 2, 0, len(y))
    hi = np.clip(centres + win // 2, 0, len(y))
    power = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    return 10.0 * np.log10(np.maximum(power, MIN_FRAME_POWER))


def pitch_track(
    y: np.ndarray, sr: int, n_frames: int, mask: np.ndarray, config: VoiceConfig
) -> np.ndarray:
    """F0 per 10-ms hop with Praat's autocorrelation method, only where ``mask`` is set.

    Parameters
    ----------
    y : np.ndarray, shape=(n,)
    sr : int > 0 [Hz]
    n_frames : int
        Length of the returned track.
    mask : np.ndarray of bool, shape=(n_frames,)
        Frames to analyse (runs are analysed as padded chunks).
    config : VoiceConfig

    Returns
    -------
    np.ndarray, shape=(n_frames,) [Hz], 0 for unvoiced or unanalysed frames.
    """
    import parselmouth
    from scipy.signal import resample_poly

    f0 = np.zeros(n_frames)
    pad = 3.0 / config.pitch_floor_hz  # one Praat analysis window (3 periods of the floor)
    for start, end in _runs(mask, join=round(0.5 / HOP_S)):
        t0, t1 = max(0.0, start * HOP_S - pad), min(len(y) / sr, end * HOP_S + pad)
        chunk = y[int(t0 * sr) : int(t1 * sr)].astype(np.float64)
        if sr != PITCH_RATE:
            g = math.gcd(sr, PITCH_RATE)
            chunk = resample_poly(chunk, PITCH_RATE // g, sr // g)
        if len(chunk) < pad * PITCH_RATE:
            continue
        sound = parselmouth.Sound(chunk, PITCH_RATE, start_time=int(t0 * sr) / sr)
        pitch = sound.to_pitch_ac(
            time_step=HOP_S,
            pitch_floor=config.pitch_floor_hz,
            pitch_ceiling=config.pitch_ceiling_hz,
            silence_threshold=config.silence_threshold,
        )
        _place(f0, pitch.xs(), pitch.selected_array["frequency"])
    return np.where(mask, f0, 0.0)


def _place(track: np.ndarray, times: np.ndarray, values: np.ndarray) -> None:
    """Write ``values`` at the frames whose centres are nearest to ``times`` (s)."""
    idx = np.round(np.asarray(times) / HOP_S - 0.5).astype(np.int64)
    ok = (idx >= 0) & (idx < len(track))
    track[idx[ok]] = values[ok]


def _runs(mask: np.ndarray, join: int = 0) -> list[tuple[int, int]]:
    """[start, end) frame index runs of True in ``mask``, joining gaps of <= ``join`` frames."""
    padded = np.concatenate(([False], mask.astype(bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs: list[tuple[int, int]] = []
    for s, e in zip(edges[::2], edges[1::2], strict=True):
        if runs and s - runs[-1][1] <= join:
            runs[-1] = (runs[-1][0], int(e))
        else:
            runs.append((int(s), int(e)))
    return runs


def dominance_mask(activity: SpeechActivity, speaker: str, n_frames: int) -> np.ndarray:
    """Frames (10-ms hops) inside ``speaker``'s turns and clear of every other speaker's turn.

    A frame is clear when its 30-ms level window does not reach into another speaker's turn.
    """
    centres = (np.arange(n_frames) + 0.5) * HOP_S
    own = _cover(activity.turns_of(speaker), centres)
    other = _cover(tuple(t for t in activity.turns if t.speaker != speaker), centres)
    reach = math.ceil(LEVEL_WIN_S / 2 / HOP_S)  # frames whose level window touches a turn
    near_other = np.convolve(other, np.ones(2 * reach + 1), mode="same") > 0
    return own & ~near_other


def _louder_than_others(
    audio: CallAudio, channel: int, level_db: np.ndarray, margin_db: float
) -> np.ndarray:
    """Frames where no other channel is more than ``margin_db`` louder than ``channel``.

    Drops the other party's voice leaking into this channel (cross-talk) in frames the turns
    attribute to this speaker.
    """
    keep = np.ones(len(level_db), dtype=bool)
    for k, other in enumerate(audio.channels):
        if k != channel:
            keep &= level_db >= frame_levels(other, audio.sample_rate)[: len(level_db)] - margin_db
    return keep


def _cover(turns: Sequence[Turn], times: np.ndarray) -> np.ndarray:
    """True where a time (s) lies inside one of ``turns``."""
    if not turns:
        return np.zeros(len(times), dtype=bool)
    starts = np.array(sorted(t.start for t in turns))
    ends = np.array([t.end for t in sorted(turns, key=lambda t: t.start)])
    ends = np.maximum.accumulate(ends)  # nested turns: the latest end so far covers
    i = np.searchsorted(starts, times, side="right") - 1
    return (i >= 0) & (times < ends[np.clip(i, 0, None)])


def _frames(audio: CallAudio, activity: SpeechActivity, speaker: str, config: VoiceConfig):
    """Tracks of ``speaker`` on its own channel (stereo) or the mix (mono)."""
    channel = activity.channel_of(speaker)
    y = audio.mix if channel is None or channel >= audio.n_channels else audio.channels[channel]
    level = frame_levels(y, audio.sample_rate)
    dominant = dominance_mask(activity, speaker, len(level))
    if channel is not None:
        dominant &= _louder_than_others(audio, channel, level, config.crosstalk_margin_db)
    f0 = pitch_track(y, audio.sample_rate, len(level), dominant, config)
    return _Frames(f0=f0, level_db=level, dominant=dominant)


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
    import pyloudnorm

    hop = round(HOP_S * sr)
    idx = (np.flatnonzero(speech)[:, None] * hop + np.arange(hop)[None, :]).ravel()
    samples = y[idx[idx < len(y)]].astype(np.float64)
    value = pyloudnorm.Meter(sr).integrated_loudness(samples)
    return float(value) if np.isfinite(value) else None


# --------------------------------------------------------------------------- contour, raised


def _contour(frames: _Frames, config: VoiceConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0.5-s steps where the speaker dominates half the step: centres (s), F0 (Hz), level (dB).

    F0 and level are NaN in steps with less than ``min_step_voiced_s`` of voiced speech.
    """
    per = round(config.contour_step_s / HOP_S)
    n = len(frames.f0) // per
    if n == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    dom = frames.dominant[: n * per].reshape(n, per)
    speech = frames.speech[: n * per].reshape(n, per)
    f0 = np.where(speech, frames.f0[: n * per].reshape(n, per), np.nan)
    power = np.where(speech, 10.0 ** (frames.level_db[: n * per].reshape(n, per) / 10.0), np.nan)
    keep = dom.mean(axis=1) >= 0.5
    enough = speech.sum(axis=1) * HOP_S >= config.min_step_voiced_s
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps are masked by `enough`
        f0_med = np.where(enough, np.nanmedian(f0, axis=1), np.nan)
        level = np.where(enough, 10.0 * np.log10(np.nanmean(power, axis=1)), np.nan)
    centres = (np.arange(n) + 0.5) * config.contour_step_s
    return centres[keep], f0_med[keep], level[keep]


def _baselines(
    level: Sequence[float | None], f0: Sequence[float | None], config: VoiceConfig
) -> tuple[float | None, float | None]:
    """The speaker's calm level (dBFS) and pitch (Hz) from its 0.5-s steps.

    First a low anchor (``baseline_percentile`` of the steps), then the median of the steps
    that are not raised over that anchor: the median of ordinary speech, which a long raised
    stretch (even half the call) cannot pull up.
    """
    lv = np.array([v for v in level if v is not None])
    st = np.array([12.0 * math.log2(v) for v in f0 if v is not None])
    base_level = _trimmed(lv, config.baseline_percentile, config.raised_level_db)
    base_st = _trimmed(st, config.baseline_percentile, config.raised_pitch_st)
    return base_level, None if base_st is None else float(2.0 ** (base_st / 12.0))


def _trimmed(values: np.ndarray, percentile: float, above: float) -> float | None:
    """Median of ``values`` below (``percentile`` of ``values``) + ``above``; None if empty."""
    if values.size == 0:
        return None
    anchor = float(np.percentile(values, percentile))
    return float(np.median(values[values < anchor + above]))


def _raised_steps(
    sv: SpeakerVoice, level_db: float, pitch_st: float
) -> list[tuple[float, float, float | None]]:
    """(centre s, level over baseline dB, pitch over baseline st) of each raised step."""
    base_level, base_f0 = sv.loudness.baseline_dbfs, sv.loudness.baseline_f0_hz
    if base_level is None:
        return []
    steps = []
    for t, f0, lv in zip(sv.contour_t, sv.contour_f0_hz, sv.contour_level_db, strict=True):
        if lv is None:
            continue
        rel_l = lv - base_level
        rel_p = None if f0 is None or base_f0 is None else 12.0 * math.log2(f0 / base_f0)
        high_pitch = rel_p is not None and rel_p >= pitch_st and rel_l >= level_db / 2
        if rel_l >= level_db or high_pitch:
            steps.append((t, rel_l, rel_p))
    return steps


def find_raised(
    sv: SpeakerVoice,
    *,
    level_db: float = 6.0,
    pitch_st: float = 3.0,
    min_s: float = 2.0,
    max_gap_s: float = 1.0,
    step_s: float = 0.5,
) -> tuple[Stretch, ...]:
    """Raised-voice stretches of one speaker, from its contour and baselines.

    A step is raised when its level is at least ``level_db`` over the speaker's baseline, or
    its pitch at least ``pitch_st`` over the pitch baseline with the level at least
    ``level_db / 2`` over. Raised steps closer than ``max_gap_s`` (s) join; stretches shorter
    than ``min_s`` (s) are dropped.

    Parameters
    ----------
    sv : SpeakerVoice
    level_db : float [dB]
    pitch_st : float [st]
    min_s, max_gap_s, step_s : float [s]

    Returns
    -------
    tuple of Stretch, in time order.
    """
    groups: list[list[tuple[float, float, float | None]]] = []
    for step in _raised_steps(sv, level_db, pitch_st):
        if groups and step[0] - groups[-1][-1][0] - step_s <= max_gap_s + 1e-9:
            groups[-1].append(step)
        else:
            groups.append([step])
    stretches = []
    for g in groups:
        start, end = g[0][0] - step_s / 2, g[-1][0] + step_s / 2
        pitches = [p for _, _, p in g if p is not None]
        if end - start >= min_s - 1e-9:
            peak_p = max(pitches) if pitches else None
            stretches.append(Stretch(start, end, max(lv for _, lv, _ in g), peak_p))
    return tuple(stretches)


def _raised_share(sv: SpeakerVoice, t0: float, t1: float, level_db: float, pitch_st: float):
    """Share of ``sv``'s measured steps in [t0, t1) that are raised; None without steps."""
    measured = [
        t for t, lv in zip(sv.contour_t, sv.contour_level_db, strict=True) if lv is not None
    ]
    inside = [t for t in measured if t0 <= t < t1]
    if not inside:
        return None
    raised = [t for t, _, _ in _raised_steps(sv, level_db, pitch_st) if t0 <= t < t1]
    return len(raised) / len(inside)


def find_agitation(
    customer: SpeakerVoice,
    *,
    level_db: float = 6.0,
    pitch_st: float = 3.0,
    min_steps: int = 4,
    step_s: float = 0.5,
) -> Agitation | None:
    """Raised share in the first vs the last quarter of the customer's measured steps.

    Returns None when the customer has fewer than ``4 * min_steps`` measured steps.
    """
    steps = [
        (t, lv)
        for t, lv in zip(customer.contour_t, customer.contour_level_db, strict=True)
        if lv is not None
    ]
    q = len(steps) // 4
    if q < min_steps or customer.loudness.baseline_dbfs is None:
        return None
    base, half = (
        customer.loudness.baseline_dbfs,
        0.5 * (customer.contour_t[1] - customer.contour_t[0]),
    )
    first, last = steps[:q], steps[-q:]
    s0 = (first[0][0] - half, first[-1][0] + half)
    s1 = (last[0][0] - half, last[-1][0] + half)
    share0 = _raised_share(customer, *s0, level_db, pitch_st)
    share1 = _raised_share(customer, *s1, level_db, pitch_st)
    return Agitation(
        start_share=share0 or 0.0,
        end_share=share1 or 0.0,
        start_span=s0,
        end_span=s1,
        start_level_rel_db=float(np.median([lv for _, lv in first])) - base,
        end_level_rel_db=float(np.median([lv for _, lv in last])) - base,
    )


def find_pressure(
    agent: SpeakerVoice,
    customer: SpeakerVoice,
    *,
    level_db: float = 6.0,
    pitch_st: float = 3.0,
    min_s: float = 2.0,
    window_s: float = 10.0,
) -> Pressure | None:
    """How the agent sounds while (and ``window_s`` after) the customer's voice is raised.

    Returns None when the customer has no raised stretch.
    """
    stretches = find_raised(customer, level_db=level_db, pitch_st=pitch_st, min_s=min_s)
    if not stretches:
        return None
    windows = tuple((s.start, s.end + window_s) for s in stretches)
    inside = [
        (lv, f0)
        for t, f0, lv in zip(
            agent.contour_t, agent.contour_f0_hz, agent.contour_level_db, strict=True
        )
        if lv is not None and any(a <= t < b for a, b in windows)
    ]
    all_lv = [lv for lv in agent.contour_level_db if lv is not None]
    all_f0 = [f for f in agent.contour_f0_hz if f is not None]
    in_f0 = [f for _, f in inside if f is not None]
    level_shift = float(np.median([lv for lv, _ in inside]) - np.median(all_lv)) if inside else None
    pitch_shift = (
        float(12.0 * np.log2(np.median(in_f0) / np.median(all_f0))) if in_f0 and all_f0 else None
    )
    agent_raised = tuple(
        s
        for s in find_raised(agent, level_db=level_db, pitch_st=pitch_st, min_s=min_s)
        if any(s.start < b and a < s.end for a, b in windows)
    )
    return Pressure(windows, len(inside), level_shift, pitch_shift, agent_raised)


# --------------------------------------------------------------------------- pace, parts


def _words_of(transcript: Transcript, speaker: str) -> list[Word]:
    return [w for w in transcript.words if w.speaker == speaker]


def _articulation_s(words: Sequence[Word], pause_min_s: float) -> float:
    """Time covered by ``words`` (s), with gaps of ``pause_min_s`` or more left out."""
    total, run_start, run_end = 0.0, None, None
    for w in sorted(words, key=lambda w: w.start):
        if run_start is None or run_end is None or w.start - run_end >= pause_min_s:
            total += 0.0 if run_start is None or run_end is None else run_end - run_start
            run_start, run_end = w.start, w.end
        else:
            run_end = max(run_end, w.end)
    if run_start is not None and run_end is not None:
        total += run_end - run_start
    return total


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


def pace_stats(words: Sequence[Word], talk_s: float, pause_min_s: float) -> PaceStats:
    """Words per minute of turn time and words per second of articulation."""
    art = _articulation_s(words, pause_min_s)
    n = len(words)
    wpm = 60.0 * n / talk_s if n and talk_s > 0 else None
    wps = n / art if n and art > 0 else None
    return PaceStats(n, talk_s, art, wpm, wps)


def _parts(
    frames: _Frames,
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
        pace = pace_stats(ws, _talk_s(turns, t0, t1), config.pause_min_s)
        rel_p = None
        if pitch.median_hz is not None and base_f is not None:
            rel_p = 12.0 * math.log2(pitch.median_hz / base_f)
        share = _raised_share(sv, t0, t1, config.raised_level_db, config.raised_pitch_st)
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
    frames = _frames(audio, activity, speaker, config)
    speech = frames.speech
    voiced_s = float(speech.sum() * HOP_S)
    reason = None if voiced_s >= config.min_voiced_s else NO_VOICED_SPEECH
    turns = activity.turns_of(speaker)
    words = _words_of(transcript, speaker)
    pace = pace_stats(words, _talk_s(turns), config.pause_min_s)
    ct, cf, cl = _contour(frames, config) if reason is None else (np.zeros(0),) * 3
    contour_f0, contour_level = _opt(cf), _opt(cl)
    base_l, base_f = _baselines(contour_level, contour_f0, config)
    if reason is None:
        pitch = pitch_stats(frames.f0[speech])
        sel = frames.level_db[speech]
        lufs = _lufs(y, audio.sample_rate, speech, config)
        loud = LoudnessStats(_energy_db(sel), float(np.std(sel)), lufs, base_l, base_f)
    else:
        pitch = PitchStats(None, None, None, voiced_s)
        loud = LoudnessStats(None, None, None, None, None)
    sv = SpeakerVoice(
        speaker=speaker,
        channel=channel,
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
    raised = find_raised(
        sv,
        level_db=config.raised_level_db,
        pitch_st=config.raised_pitch_st,
        min_s=config.raised_min_s,
        max_gap_s=config.raised_max_gap_s,
        step_s=config.contour_step_s,
    )
    quarters = _parts(frames, sv, words, turns, audio.duration_s, config)
    return _replace(sv, quarters=quarters, raised=raised)


def _replace(sv: SpeakerVoice, **changes: object) -> SpeakerVoice:
    from dataclasses import replace

    return replace(sv, **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- flags


def _flag_monotone(agent: SpeakerVoice | None, config: VoiceConfig) -> VoiceFlag:
    thr = config.monotone_sd_st
    if agent is None or agent.pitch.sd_st is None:
        why = "no agent" if agent is None else f"agent: {agent.reason}"
        return VoiceFlag("monotone_agent", None, None, thr, "st", why)
    if agent.pitch.voiced_s < config.min_prosody_voiced_s:
        why = f"only {agent.pitch.voiced_s:.1f} s of agent voiced speech"
        return VoiceFlag("monotone_agent", None, agent.pitch.sd_st, thr, "st", why)
    sd = agent.pitch.sd_st
    why = f"agent pitch SD {sd:.1f} st {'<' if sd < thr else '>='} {thr} st"
    return VoiceFlag("monotone_agent", sd < thr, sd, thr, "st", why)


def _flag_raised(sv: SpeakerVoice | None, who: str, config: VoiceConfig) -> VoiceFlag:
    fid, thr = f"raised_voice_{who}", config.raised_level_db
    if sv is None or sv.reason is not None:
        return VoiceFlag(fid, None, None, thr, "dB", f"no {who}" if sv is None else sv.reason or "")
    times = tuple((s.start, s.end) for s in sv.raised)
    peak = max((s.level_rel_db for s in sv.raised), default=None)
    why = (
        f"{len(sv.raised)} stretch(es) >= {config.raised_min_s} s at >= +{thr} dB "
        f"(or +{config.raised_pitch_st} st) over the {who}'s baseline"
    )
    return VoiceFlag(fid, bool(sv.raised), peak, thr, "dB", why, times)


def _flag_calmed(agitation: Agitation | None, config: VoiceConfig) -> tuple[VoiceFlag, VoiceFlag]:
    thr = config.agitation_share
    if agitation is None:
        why = "too little customer speech to compare start and end"
        return (
            VoiceFlag("customer_calmed", None, None, thr, "share", why),
            VoiceFlag("customer_escalated", None, None, thr, "share", why),
        )
    a0, a1 = agitation.start_share >= thr, agitation.end_share >= thr
    spans = (agitation.start_span, agitation.end_span)
    figures = (
        f"raised share {agitation.start_share:.2f} at the start, "
        f"{agitation.end_share:.2f} at the end"
    )
    calmed = VoiceFlag(
        "customer_calmed",
        (not a1) if a0 else None,
        agitation.end_share,
        thr,
        "share",
        figures if a0 else f"customer not agitated at the start ({figures})",
        spans,
    )
    escalated = VoiceFlag(
        "customer_escalated", a1 and not a0, agitation.end_share, thr, "share", figures, spans
    )
    return calmed, escalated


def _flag_steady(pressure: Pressure | None, config: VoiceConfig) -> VoiceFlag:
    thr = config.steady_level_db
    if pressure is None:
        return VoiceFlag("agent_steady", None, None, thr, "dB", "customer never raised their voice")
    if pressure.level_shift_db is None:
        why = "agent did not speak while the customer was agitated"
        return VoiceFlag("agent_steady", None, None, thr, "dB", why, pressure.windows)
    ok = _steady(pressure, config.steady_level_db, config.steady_pitch_st)
    pitch = "n/a" if pressure.pitch_shift_st is None else f"{pressure.pitch_shift_st:+.1f} st"
    why = (
        f"agent level {pressure.level_shift_db:+.1f} dB, pitch {pitch} vs its call median "
        f"(limits +{thr} dB, +{config.steady_pitch_st} st), "
        f"{len(pressure.agent_raised)} agent raised stretch(es)"
    )
    return VoiceFlag("agent_steady", ok, pressure.level_shift_db, thr, "dB", why, pressure.windows)


def _steady(pressure: Pressure, level_db: float, pitch_st: float) -> bool:
    """True when the agent stays within the limits and never raises its voice under pressure."""
    level_ok = pressure.level_shift_db is None or pressure.level_shift_db <= level_db
    pitch_ok = pressure.pitch_shift_st is None or pressure.pitch_shift_st <= pitch_st
    return level_ok and pitch_ok and not pressure.agent_raised


def _flag_faster(agent: SpeakerVoice | None, customer: SpeakerVoice | None, config: VoiceConfig):
    thr = config.fast_pace_ratio
    rates = [
        sv.pace.articulation_wps
        if sv is not None and sv.pace.words >= config.min_pace_words
        else None
        for sv in (agent, customer)
    ]
    if rates[0] is None or rates[1] is None:
        why = f"agent and customer each need >= {config.min_pace_words} timed words"
        return VoiceFlag("agent_faster", None, None, thr, "ratio", why)
    ratio = rates[0] / rates[1]
    why = f"agent {rates[0]:.2f} words/s vs customer {rates[1]:.2f} words/s (ratio {ratio:.2f})"
    return VoiceFlag("agent_faster", ratio >= thr, ratio, thr, "ratio", why)


# --------------------------------------------------------------------------- stage


def measure_voice(
    audio: CallAudio, activity: SpeechActivity, transcript: Transcript, config: VoiceConfig
) -> VoiceMetrics:
    """Measure pitch, loudness and pace per speaker, their trajectory and the tone flags.

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
    labels = dict.fromkeys([*activity.speakers, *(t.speaker for t in activity.turns)])
    names = [s for s in labels if activity.turns_of(s)] or list(activity.speakers)
    speakers = tuple(measure_speaker(audio, activity, transcript, s, config) for s in names)
    metrics = VoiceMetrics(speakers=speakers, agitation=None, pressure=None, flags=())
    agent, customer = metrics.of(AGENT), metrics.of(CUSTOMER)
    level_db, pitch_st = config.raised_level_db, config.raised_pitch_st
    agitation = pressure = None
    if customer is not None and customer.reason is None:
        agitation = find_agitation(
            customer, level_db=level_db, pitch_st=pitch_st, step_s=config.contour_step_s
        )
    if agent is not None and customer is not None and customer.reason is None:
        pressure = find_pressure(
            agent,
            customer,
            level_db=level_db,
            pitch_st=pitch_st,
            min_s=config.raised_min_s,
            window_s=config.pressure_window_s,
        )
    flags = (
        _flag_monotone(agent, config),
        _flag_raised(agent, AGENT, config),
        _flag_raised(customer, CUSTOMER, config),
        *_flag_calmed(agitation, config),
        _flag_steady(pressure, config),
        _flag_faster(agent, customer, config),
    )
    return VoiceMetrics(speakers=speakers, agitation=agitation, pressure=pressure, flags=flags)
