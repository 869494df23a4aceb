"""Raised voice against the speaker's own baseline, the customer's agitation over the call, and
the agent's level and pitch around each of the customer's raised stretches.

The baseline is robust and the speaker's own: the median of its 0.5-s step levels (and
pitches) over the whole call, and its spread the median absolute deviation of the steps below
the median, scaled to a standard deviation (raised steps lie above the median and cannot widen
it). A step is raised only when it stands out from *this speaker's* ordinary variation, so a
lively voice (level SD 4 dB: 7 % of its steps lie 6 dB over the median by chance) is not read
as shouting, and a bright greeting is a few steps among hundreds: neither special-cased nor
dominant. Whether a raised stretch is *pressure* (negative arousal) is decided by the tone
checks, from what the customer says there (:mod:`callqa.checks.tone`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from callqa.config import VoiceConfig
from callqa.measures.signal import HOP_S, Frames
from callqa.measures.voice_types import Agitation, Response, SpeakerVoice, Stretch

MAD_TO_SD = 1.4826  # MAD x 1.4826 = SD of a normal distribution (a robust SD)


@dataclass(frozen=True)
class RaisedRule:
    """What a raised stretch is (from ``[voice] raised_*``; docs/metrics.md).

    Attributes
    ----------
    level_db : float [dB]
        Least level over the baseline of a raised step ...
    pitch_st : float [st]
        ... or least pitch over the pitch baseline, with the level at least half the level
        threshold over.
    spread_z : float
        Both thresholds are at least this many robust SDs of the speaker's own steps.
    min_s, max_gap_s, step_s : float [s]
        Shortest stretch; raised steps closer than ``max_gap_s`` join; the contour step.
    """

    level_db: float = 6.0
    pitch_st: float = 3.0
    spread_z: float = 2.0
    min_s: float = 2.0
    max_gap_s: float = 1.0
    step_s: float = 0.5

    @classmethod
    def from_config(cls, config: VoiceConfig) -> RaisedRule:
        """The rule of a voice config."""
        return cls(
            level_db=config.raised_level_db,
            pitch_st=config.raised_pitch_st,
            spread_z=config.raised_spread_z,
            min_s=config.raised_min_s,
            max_gap_s=config.raised_max_gap_s,
            step_s=config.contour_step_s,
        )


# --------------------------------------------------------------------------- contour, baseline


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


@dataclass(frozen=True)
class Baseline:
    """A speaker's ordinary voice: median level (dBFS) and pitch (Hz) of its steps, and the
    robust spread of each (1.4826 x the median distance to the median of the steps below it:
    dB, st). None without measured steps."""

    level_dbfs: float | None
    level_spread_db: float | None
    f0_hz: float | None
    pitch_spread_st: float | None


def baselines(level: Sequence[float | None], f0: Sequence[float | None]) -> Baseline:
    """The speaker's baseline from its 0.5-s step levels (dBFS) and pitches (Hz)."""
    lv = np.array([v for v in level if v is not None])
    st = np.array([12.0 * math.log2(v) for v in f0 if v is not None and v > 0])
    base_l, spread_l = _median_mad(lv)
    base_st, spread_st = _median_mad(st)
    f0_hz = None if base_st is None else float(2.0 ** (base_st / 12.0))
    return Baseline(base_l, spread_l, f0_hz, spread_st)


def _median_mad(values: np.ndarray) -> tuple[float | None, float | None]:
    """Median and robust SD from the steps at or below the median (1.4826 x their median
    distance to it): raised steps lie above the median, so they cannot widen the spread that
    decides whether they are raised."""
    if values.size == 0:
        return None, None
    median = float(np.median(values))
    lower = median - values[values <= median]
    return median, MAD_TO_SD * float(np.median(lower))


# --------------------------------------------------------------------------- raised


def thresholds(sv: SpeakerVoice, rule: RaisedRule) -> tuple[float, float]:
    """The speaker's raised-level (dB) and raised-pitch (st) thresholds over its baseline:
    ``max(level_db, spread_z * level spread)`` and ``max(pitch_st, spread_z * pitch spread)``."""
    spread_l = sv.loudness.level_spread_db or 0.0
    spread_p = sv.loudness.pitch_spread_st or 0.0
    return max(rule.level_db, rule.spread_z * spread_l), max(
        rule.pitch_st, rule.spread_z * spread_p
    )


def _steps(sv: SpeakerVoice) -> list[tuple[float, float, float | None]]:
    """(centre s, level over baseline dB, pitch over baseline st) of each measured step."""
    base_level, base_f0 = sv.loudness.baseline_dbfs, sv.loudness.baseline_f0_hz
    if base_level is None:
        return []
    return [
        (
            t,
            lv - base_level,
            None if f0 is None or base_f0 is None else 12.0 * math.log2(f0 / base_f0),
        )
        for t, f0, lv in zip(sv.contour_t, sv.contour_f0_hz, sv.contour_level_db, strict=True)
        if lv is not None
    ]


def find_raised(sv: SpeakerVoice, rule: RaisedRule | None = None) -> tuple[Stretch, ...]:
    """Raised-voice stretches of one speaker, from its contour and baseline.

    Steps at least half the level threshold over the baseline (:func:`thresholds`) are
    candidates; candidates closer than ``rule.max_gap_s`` join, and a stretch runs from the
    first to the last of them that is over a threshold itself. A stretch is raised when its
    median step is at least the level threshold over the baseline, or its median pitch at
    least the pitch threshold over the pitch baseline (its level being at least half the
    threshold over, as every candidate's is), and its steps that are over a threshold add up
    to at least ``rule.min_s``. Judging a stretch by its median keeps a shout whose single
    steps dip below the threshold; counting only the steps over it keeps a 1-s burst, padded
    by the half-loud steps at its edges, from being a 2-s stretch.

    Returns
    -------
    tuple of Stretch, in time order.
    """
    rule = rule or RaisedRule()
    level_thr, pitch_thr = thresholds(sv, rule)
    groups: list[list[tuple[float, float, float | None]]] = []
    for step in _steps(sv):
        if step[1] < level_thr / 2:
            continue
        if groups and step[0] - groups[-1][-1][0] - rule.step_s <= rule.max_gap_s + 1e-9:
            groups[-1].append(step)
        else:
            groups.append([step])
    stretches = []
    for g in groups:
        over = [lv >= level_thr or (p is not None and p >= pitch_thr) for _, lv, p in g]
        if not any(over):
            continue
        g = g[
            over.index(True) : len(over) - over[::-1].index(True)
        ]  # from the first to the last step over
        start, end = g[0][0] - rule.step_s / 2, g[-1][0] + rule.step_s / 2
        pitches = [p for _, _, p in g if p is not None]
        loud = float(np.median([lv for _, lv, _ in g])) >= level_thr
        high = bool(pitches) and float(np.median(pitches)) >= pitch_thr
        if sum(over) * rule.step_s >= rule.min_s - 1e-9 and (loud or high):
            peak_p = max(pitches) if pitches else None
            stretches.append(Stretch(start, end, max(lv for _, lv, _ in g), peak_p))
    return tuple(stretches)


def raised_share(sv: SpeakerVoice, t0: float, t1: float, rule: RaisedRule) -> float | None:
    """Share of ``sv``'s measured steps in [t0, t1) that lie in a raised stretch; None
    without steps."""
    inside = [t for t, _, _ in _steps(sv) if t0 <= t < t1]
    if not inside:
        return None
    stretches = find_raised(sv, rule)
    raised = [t for t in inside if any(s.start <= t < s.end for s in stretches)]
    return len(raised) / len(inside)


def find_agitation(
    customer: SpeakerVoice, rule: RaisedRule | None = None, *, min_steps: int = 4
) -> Agitation | None:
    """Raised share in the first vs the last quarter of the customer's measured steps.

    Returns None when the customer has fewer than ``4 * min_steps`` measured steps.
    """
    rule = rule or RaisedRule()
    steps = [
        (t, lv)
        for t, lv in zip(customer.contour_t, customer.contour_level_db, strict=True)
        if lv is not None
    ]
    q = len(steps) // 4
    if q < min_steps or customer.loudness.baseline_dbfs is None:
        return None
    base, half = customer.loudness.baseline_dbfs, 0.5 * rule.step_s
    first, last = steps[:q], steps[-q:]
    s0 = (first[0][0] - half, first[-1][0] + half)
    s1 = (last[0][0] - half, last[-1][0] + half)
    return Agitation(
        start_share=raised_share(customer, *s0, rule) or 0.0,
        end_share=raised_share(customer, *s1, rule) or 0.0,
        start_span=s0,
        end_span=s1,
        start_level_rel_db=float(np.median([lv for _, lv in first])) - base,
        end_level_rel_db=float(np.median([lv for _, lv in last])) - base,
    )


def agent_responses(
    agent: SpeakerVoice, customer: SpeakerVoice, *, window_s: float = 10.0
) -> tuple[Response, ...]:
    """How the agent sounds during, and ``window_s`` after, each customer raised stretch.

    Per stretch: the agent's measured steps in the window, their median level and pitch
    minus the agent's call medians, and the agent's raised stretches overlapping the window.
    Which stretches are *pressure* is the tone check's decision.
    """
    all_lv = [lv for lv in agent.contour_level_db if lv is not None]
    all_f0 = [f for f in agent.contour_f0_hz if f is not None]
    out = []
    for s in customer.raised:
        a, b = s.start, s.end + window_s
        inside = [
            (lv, f0)
            for t, f0, lv in zip(
                agent.contour_t, agent.contour_f0_hz, agent.contour_level_db, strict=True
            )
            if lv is not None and a <= t < b
        ]
        in_f0 = [f for _, f in inside if f is not None]
        level = float(np.median([lv for lv, _ in inside]) - np.median(all_lv)) if inside else None
        pitch = (
            float(12.0 * np.log2(np.median(in_f0) / np.median(all_f0)))
            if in_f0 and all_f0
            else None
        )
        raised = tuple(r for r in agent.raised if r.start < b and a < r.end)
        out.append(Response(s, (a, b), len(inside), level, pitch, raised))
    return tuple(out)
