"""Raised voice against the speaker's own baseline, the customer's agitation over the call, and
the agent's level and pitch while the customer is agitated."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from callqa.config import VoiceConfig
from callqa.measures.signal import HOP_S, Frames
from callqa.measures.voice_types import Agitation, Pressure, SpeakerVoice, Stretch

# --------------------------------------------------------------------------- contour, raised


def step_contour(frames: Frames, config: VoiceConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def baselines(
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


def raised_share(sv: SpeakerVoice, t0: float, t1: float, level_db: float, pitch_st: float):
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
    share0 = raised_share(customer, *s0, level_db, pitch_st)
    share1 = raised_share(customer, *s1, level_db, pitch_st)
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
