"""Frame tracks of one speaker: level (dBFS) and pitch (Hz) every 10 ms, and the frames where
the speaker dominates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callqa.config import VoiceConfig
from callqa.types import CallAudio, SpeechActivity, Turn

HOP_S = 0.01  # s; hop of every frame track (pitch and level): Praat's 10-ms time step
LEVEL_WIN_S = 0.03  # s; RMS window: 3 hops, so every sample weighs the same in energy means
PITCH_RATE = 8000  # Hz; pitch runs on 8 kHz (F0 <= 400 Hz needs no more), twice as fast
MIN_FRAME_POWER = 1e-10  # -100 dBFS; power floor so digital silence has a finite log


# --------------------------------------------------------------------------- frame tracks


@dataclass(frozen=True)
class Frames:
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

    f0 = np.zeros(n_frames)
    pad = 3.0 / config.pitch_floor_hz  # one Praat analysis window (3 periods of the floor)
    hop, pad_n = round(HOP_S * sr), round(pad * sr)
    for start, end in runs(mask, join=round(0.5 / HOP_S)):
        # in whole samples, so a block of a long call read from any hop gives the same chunk
        a, b = max(0, start * hop - pad_n), min(len(y), end * hop + pad_n)
        chunk = y[a:b].astype(np.float64)
        if sr != PITCH_RATE:
            g = math.gcd(sr, PITCH_RATE)
            chunk = resample_poly(chunk, PITCH_RATE // g, sr // g)
        if len(chunk) < pad * PITCH_RATE:
            continue
        sound = parselmouth.Sound(chunk, PITCH_RATE, start_time=a / sr)
        pitch = sound.to_pitch_ac(
            time_step=HOP_S,
            pitch_floor=config.pitch_floor_hz,
            pitch_ceiling=config.pitch_ceiling_hz,
            silence_threshold=config.silence_threshold,
        )
        _place(f0, pitch.xs(), pitch.selected_array["frequency"])
    return np.where(mask, f0, 0.0)


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """``x`` resampled by ``up / down`` with a polyphase low-pass filter: the numbers of
    ``scipy.signal.resample_poly(x, up, down)`` with its defaults (a Kaiser-windowed sinc,
    beta 5, 10 zero crossings per side of the slower rate; zeros beyond the ends), in numpy.

    scipy's own takes 0.8 s to import (``scipy.signal``), which was half of the voice stage
    on a 4-minute call; this takes milliseconds.

    Parameters
    ----------
    x : np.ndarray, shape=(n,), float
    up, down : int >= 1

    Returns
    -------
    np.ndarray, shape=(ceil(n * up / down),), float64
    """
    rate = max(up, down)
    half = 10 * rate
    taps = np.arange(-half, half + 1)
    h = np.sinc(taps / rate) * np.kaiser(2 * half + 1, 5.0)
    h *= up / h.sum()
    n_out = -(-len(x) * up // down)
    if len(x) == 0:
        return np.zeros(0)
    stuffed = np.zeros((len(x) - 1) * up + 1)
    stuffed[::up] = x
    y = np.convolve(stuffed, h)[half::down][:n_out]
    return np.pad(y, (0, n_out - len(y)))


def _place(track: np.ndarray, times: np.ndarray, values: np.ndarray) -> None:
    """Write ``values`` at the frames whose centres are nearest to ``times`` (s).

    A time on a frame boundary (Praat's frames often fall on whole hops) goes to the frame it
    starts: rounding half to even sent every other one of them to its neighbour's frame.
    """
    idx = np.floor(np.asarray(times) / HOP_S + 1e-6).astype(np.int64)
    ok = (idx >= 0) & (idx < len(track))
    track[idx[ok]] = values[ok]


def runs(mask: np.ndarray, join: int = 0) -> list[tuple[int, int]]:
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


def frames_of(audio: CallAudio, activity: SpeechActivity, speaker: str, config: VoiceConfig):
    """Tracks of ``speaker`` on its own channel (stereo) or the mix (mono)."""
    channel = activity.channel_of(speaker)
    y = audio.mix if channel is None or channel >= audio.n_channels else audio.channels[channel]
    level = frame_levels(y, audio.sample_rate)
    dominant = dominance_mask(activity, speaker, len(level))
    if channel is not None:
        dominant &= _louder_than_others(audio, channel, level, config.crosstalk_margin_db)
    f0 = pitch_track(y, audio.sample_rate, len(level), dominant, config)
    return Frames(f0=f0, level_db=level, dominant=dominant)
