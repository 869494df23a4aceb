"""Voice measures on synthesized voices with known pitch, level and timing.

The "voice" is a harmonic complex (10 harmonics, amplitude 1/k) with a 4-Hz syllable-like
envelope: Praat's tracker sees it as voiced speech with a known F0 at every instant.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from callqa.config import VoiceConfig
from callqa.measures.loudness import block_powers
from callqa.measures.signal import resample_poly
from callqa.measures.voice import (
    HOP_S,
    NO_VOICED_SPEECH,
    RaisedRule,
    VoiceMetrics,
    find_raised,
    frame_levels,
    gated_lufs,
    measure_voice,
    pace_stats,
    pitch_track,
)
from callqa.sentiment import default_model
from callqa.types import (
    AGENT,
    CUSTOMER,
    UNKNOWN,
    CallAudio,
    CheckResult,
    SpeechActivity,
    Transcript,
    Turn,
    Utterance,
    Word,
)

SR = 16_000
ENVELOPE_RMS = math.sqrt(0.75**2 + 0.25**2 / 2)  # RMS of the syllable envelope 0.75 + 0.25 cos
EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"


def harmonic(f0: np.ndarray, rms: float = 0.05) -> np.ndarray:
    """A voice-like harmonic complex following the instantaneous ``f0`` (Hz per sample)."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(np.sin(k * phase) / k for k in range(1, 11))
    y = np.asarray(y)
    return (rms * y / np.sqrt(np.mean(y**2))).astype(np.float32)


def voice(f0_hz: float, seconds: float, rms: float = 0.05, syllables: bool = True) -> np.ndarray:
    """A steady voice at ``f0_hz`` with a 4-Hz syllable envelope (level dips 6 dB)."""
    n = int(seconds * SR)
    y = harmonic(np.full(n, f0_hz), rms)
    if syllables:
        t = np.arange(n) / SR
        y = y * (0.75 + 0.25 * np.cos(2 * np.pi * 4 * t)).astype(np.float32)
    return y


def mono(y: np.ndarray) -> CallAudio:
    return CallAudio(
        channels=(y.astype(np.float32),), source=None, sha256="x", original_sample_rate=SR
    )


def one_speaker(duration: float, speaker: str = UNKNOWN) -> SpeechActivity:
    return SpeechActivity(turns=(Turn(speaker, 0.0, duration),), method="test", speakers=(speaker,))


NO_WORDS = Transcript(language="en", segments=())


def measure(audio: CallAudio, activity: SpeechActivity, **cfg: float) -> VoiceMetrics:
    return measure_voice(audio, activity, NO_WORDS, VoiceConfig(**cfg))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- pitch


@pytest.mark.parametrize("f0", [85.0, 120.0, 210.0, 330.0])
def test_steady_tone_median_f0_within_one_percent(f0: float) -> None:
    m = measure(mono(voice(f0, 3.0)), one_speaker(3.0))
    sv = m.of(UNKNOWN)
    assert sv is not None and sv.reason is None
    assert sv.pitch.median_hz == pytest.approx(f0, rel=0.01)
    assert sv.pitch.sd_st is not None and sv.pitch.sd_st < 0.2  # a steady tone is monotone
    assert sv.pitch.voiced_s > 2.5


def test_glide_tracked_frame_by_frame_within_one_percent() -> None:
    seconds = 4.0
    n = int(seconds * SR)
    f0 = 120.0 * 2 ** (np.arange(n) / n)  # one octave up, exponential in time: 12 st
    y = harmonic(f0)
    n_frames = math.ceil(n / (HOP_S * SR))
    track = pitch_track(y, SR, n_frames, np.ones(n_frames, dtype=bool), VoiceConfig())
    centres = (np.arange(n_frames) + 0.5) * HOP_S
    truth = 120.0 * 2 ** (centres / seconds)
    voiced = track > 0
    assert voiced.mean() > 0.95
    rel = np.abs(track[voiced] / truth[voiced] - 1)
    assert np.percentile(rel, 95) < 0.01
    sv = measure(mono(y), one_speaker(seconds)).of(UNKNOWN)
    assert sv is not None
    # median at half time (2**0.5 * 120 Hz); 5-95 % range of a uniform 12-st glide is 10.8 st
    assert sv.pitch.median_hz == pytest.approx(120.0 * 2**0.5, rel=0.01)
    assert sv.pitch.range_st == pytest.approx(0.9 * 12.0, abs=0.3)
    assert sv.pitch.sd_st == pytest.approx(12.0 / math.sqrt(12), rel=0.05)  # SD of uniform


def test_telephone_band_keeps_pitch() -> None:
    from scipy.signal import butter, resample_poly, sosfilt

    y = voice(110.0, 3.0)
    y8 = sosfilt(
        butter(4, [300, 3400], btype="band", fs=8000, output="sos"), resample_poly(y, 1, 2)
    )
    y16 = resample_poly(y8, 2, 1).astype(np.float32)  # fundamental removed by the band-pass
    sv = measure(mono(y16), one_speaker(3.0)).of(UNKNOWN)
    assert sv is not None and sv.pitch.median_hz == pytest.approx(110.0, rel=0.01)


@pytest.mark.parametrize(("up", "down"), [(1, 2), (2, 1), (1, 1), (2, 3), (160, 441)])
@pytest.mark.parametrize("n", [1, 2, 41, 1001, 16_000])
def test_resampling_gives_scipys_numbers(n: int, up: int, down: int) -> None:
    """The pitch tracker's resampler is scipy's ``resample_poly`` without its import cost."""
    from scipy.signal import resample_poly as scipys

    x = np.random.default_rng(n).standard_normal(n)
    ours = resample_poly(x, up, down)
    assert ours.shape == scipys(x, up, down).shape
    np.testing.assert_allclose(ours, scipys(x, up, down), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- no voiced speech


def test_silence_is_no_voiced_speech_not_a_number() -> None:
    sv = measure(mono(np.zeros(5 * SR, dtype=np.float32)), one_speaker(5.0)).of(UNKNOWN)
    assert sv is not None and sv.reason == NO_VOICED_SPEECH
    assert sv.pitch.median_hz is None and sv.pitch.sd_st is None
    assert sv.loudness.rms_dbfs is None and sv.loudness.lufs is None
    assert sv.contour_t == () and sv.raised == ()
    assert all(q.median_f0_hz is None and q.level_dbfs is None for q in sv.quarters)


def test_white_noise_is_no_voiced_speech() -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, 5 * SR).astype(np.float32)
    m = measure(mono(noise), one_speaker(5.0, AGENT))
    sv = m.of(AGENT)
    assert sv is not None and sv.reason == NO_VOICED_SPEECH
    assert sv.pitch.median_hz is None and sv.loudness.rms_dbfs is None
    result = verdict("tone.not_monotone", m)
    assert result.verdict == "na" and NO_VOICED_SPEECH in result.details["reason"]


def verdict(check_id: str, m: VoiceMetrics, transcript: Transcript | None = None) -> CheckResult:
    """The tone check's verdict on these measures (the checks decide; the stage measures)."""
    from callqa.checks.base import CheckContext
    from callqa.checks.tone import CHECKS
    from callqa.measures.metrics import CallMetrics

    ctx = CheckContext(transcript or NO_WORDS, CallMetrics(60.0, voice=m), has_audio=True)
    return CHECKS[check_id](ctx)


# --------------------------------------------------------------------------- loudness


def test_level_in_dbfs_matches_signal_rms() -> None:
    y = voice(150.0, 4.0, rms=0.1, syllables=False)  # RMS 0.1 = -20 dBFS
    sv = measure(mono(y), one_speaker(4.0)).of(UNKNOWN)
    assert sv is not None and sv.loudness.rms_dbfs == pytest.approx(-20.0, abs=0.2)
    assert sv.loudness.sd_db is not None and sv.loudness.sd_db < 0.5
    assert sv.loudness.lufs is not None
    louder = measure(mono(y * 2), one_speaker(4.0)).of(UNKNOWN)  # +6.02 dB
    assert louder is not None and louder.loudness.lufs is not None
    assert louder.loudness.lufs - sv.loudness.lufs == pytest.approx(6.02, abs=0.1)


def test_lufs_needs_enough_speech() -> None:
    y = np.concatenate([voice(150.0, 0.6), np.zeros(4 * SR, dtype=np.float32)])
    sv = measure(mono(y), one_speaker(4.6), min_voiced_s=0.3).of(UNKNOWN)
    assert sv is not None and sv.reason is None and sv.loudness.rms_dbfs is not None
    assert sv.loudness.lufs is None  # 0.6 s of speech < min_lufs_speech_s = 1 s


@pytest.mark.parametrize("sr", [8000, 16_000, 48_000])
def test_loudness_gives_pyloudnorms_numbers(sr: int) -> None:
    """Block powers and integrated loudness against pyloudnorm (scipy's IIR filter) on speech-
    like sound with pauses, a hum below the high-pass and a quiet stretch under the gates, and
    on a 1 kHz sine."""
    import pyloudnorm

    rng = np.random.default_rng(sr)
    t = np.arange(int(7.3 * sr)) / sr
    y = 0.1 * rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 0.7 * t) > -0.3)
    y += 0.05 * np.sin(2 * np.pi * 20 * t)  # hum the high-pass takes out
    y[int(5 * sr) :] *= 1e-4  # under the absolute gate
    meter = pyloudnorm.Meter(sr)
    expected = meter.integrated_loudness(y)
    reference = 10.0 ** ((np.asarray(meter.blockwise_loudness) + 0.691) / 10.0)
    powers = block_powers(y, sr)
    np.testing.assert_allclose(powers, reference, rtol=1e-9)
    assert gated_lufs(powers) == pytest.approx(expected, abs=1e-9)
    sine = 0.1 * np.sin(2 * np.pi * 1000 * t)
    assert gated_lufs(block_powers(sine, sr)) == pytest.approx(
        pyloudnorm.Meter(sr).integrated_loudness(sine), abs=1e-9
    )
    assert len(block_powers(y[: int(0.39 * sr)], sr)) == 0  # shorter than one block


def test_frame_levels_of_a_full_scale_sine() -> None:
    t = np.arange(SR) / SR
    levels = frame_levels(np.sin(2 * np.pi * 1000 * t), SR)
    assert np.median(levels) == pytest.approx(-3.01, abs=0.05)


# --------------------------------------------------------------------------- raised voice


def test_level_rising_10_db_for_the_last_third_is_a_raised_voice_at_the_right_time() -> None:
    """The baseline is the median of the speaker's steps: a voice raised for the last third of
    its speech stands out from it (raised for half or more, it would be its own baseline)."""
    y = np.concatenate([voice(140.0, 20.0, rms=0.02), voice(140.0, 10.0, rms=0.02 * 10**0.5)])
    m = measure(mono(y), one_speaker(30.0, AGENT))
    sv = m.of(AGENT)
    assert sv is not None and len(sv.raised) == 1
    stretch = sv.raised[0]
    assert stretch.start == pytest.approx(20.0, abs=0.5)
    assert stretch.end == pytest.approx(30.0, abs=0.5)
    assert stretch.level_rel_db == pytest.approx(10.0, abs=1.0)
    result = verdict("tone.no_raised_voice", m)
    assert result.verdict == "fail"
    assert result.details["stretches"] == [
        [round(stretch.start, 2), round(stretch.end, 2), round(stretch.level_rel_db, 1)]
    ]
    # the trajectory shows it too: first quarter at the baseline, last quarter +10 dB
    rel = [q.level_rel_db for q in sv.quarters]
    assert rel[0] == pytest.approx(0.0, abs=1.0) and rel[3] == pytest.approx(10.0, abs=1.0)


def test_steady_voice_is_not_raised() -> None:
    m = measure(mono(voice(140.0, 20.0)), one_speaker(20.0, AGENT))
    sv = m.of(AGENT)
    assert sv is not None and sv.raised == ()
    assert verdict("tone.no_raised_voice", m).verdict == "pass"


def test_short_burst_below_min_duration_is_not_raised() -> None:
    quiet, loud = voice(140.0, 5.0, rms=0.02), voice(140.0, 1.0, rms=0.2)
    y = np.concatenate([quiet, loud, quiet])
    sv = measure(mono(y), one_speaker(11.0, AGENT)).of(AGENT)
    assert sv is not None and sv.raised == ()
    assert len(find_raised(sv, RaisedRule(min_s=0.5))) == 1  # counts with a 0.5-s minimum


def test_lively_voice_is_not_raised_but_a_shout_over_it_is() -> None:
    """A voice whose 0.5-s steps swing +-4 dB at random (SD 4 dB: some steps reach +6 dB by
    chance) has no raised stretch; 4 s at +10 dB over the same voice does."""
    rng = np.random.default_rng(7)
    steps = [voice(140.0, 0.5, rms=0.03 * 10 ** (g / 20)) for g in rng.normal(0, 4.0, 80)]
    lively = np.concatenate(steps)
    sv = measure(mono(lively), one_speaker(40.0, AGENT)).of(AGENT)
    assert sv is not None and sv.raised == ()
    assert sv.loudness.level_spread_db is not None and 2.0 < sv.loudness.level_spread_db < 5.0
    base = sv.loudness.baseline_dbfs or 0.0
    assert any(lv is not None and lv - base >= 6.0 for lv in sv.contour_level_db)  # by chance
    shout = lively.copy()
    shout[20 * SR : 24 * SR] *= 10 ** (10 / 20)
    loud = measure(mono(shout), one_speaker(40.0, AGENT)).of(AGENT)
    assert loud is not None and len(loud.raised) == 1
    assert loud.raised[0].start == pytest.approx(20.0, abs=1.0)


# --------------------------------------------------------------------------- over time


def test_quarter_trajectory_follows_pitch_and_level() -> None:
    f0s, levels = [100.0, 125.0, 160.0, 200.0], [0.01, 0.02, 0.04, 0.08]
    y = np.concatenate([voice(f, 3.0, rms=r) for f, r in zip(f0s, levels, strict=True)])
    sv = measure(mono(y), one_speaker(12.0)).of(UNKNOWN)
    assert sv is not None and len(sv.quarters) == 4
    for q, f, r in zip(sv.quarters, f0s, levels, strict=True):
        assert q.median_f0_hz == pytest.approx(f, rel=0.01)
        assert q.level_dbfs == pytest.approx(20 * math.log10(r * ENVELOPE_RMS), abs=0.1)
        assert q.start == pytest.approx(3.0 * q.index)
    deltas = np.diff([q.level_dbfs or 0.0 for q in sv.quarters])
    assert deltas == pytest.approx([6.02] * 3, abs=0.1)


def test_contour_steps_cover_only_dominant_speech() -> None:
    y = np.concatenate([voice(150.0, 3.0), np.zeros(2 * SR, dtype=np.float32), voice(150.0, 3.0)])
    activity = SpeechActivity(
        turns=(Turn(AGENT, 0.0, 3.0), Turn(AGENT, 5.0, 8.0)), method="test", speakers=(AGENT,)
    )
    sv = measure(mono(y), activity).of(AGENT)
    assert sv is not None
    assert len(sv.contour_t) == len(sv.contour_f0_hz) == len(sv.contour_level_db) == 12
    assert all(not 3.0 < t < 5.0 for t in sv.contour_t)
    assert all(f == pytest.approx(150.0, rel=0.02) for f in sv.contour_f0_hz if f is not None)
    assert np.diff(sv.contour_t).min() == pytest.approx(0.5)


# --------------------------------------------------------------------------- stereo, overlap


def stereo_call() -> tuple[CallAudio, SpeechActivity]:
    """Agent (120 Hz) on the left 0-6 s, customer (220 Hz) on the right 6-12 s, each leaking
    into the other channel at -20 dB."""
    agent, customer = voice(120.0, 6.0), voice(220.0, 6.0)
    left = np.concatenate([agent, 0.1 * customer])
    right = np.concatenate([0.1 * agent, customer])
    audio = CallAudio(channels=(left, right), source=None, sha256="x", original_sample_rate=SR)
    turns = (Turn(AGENT, 0.0, 6.0), Turn(CUSTOMER, 6.0, 12.0))
    return audio, SpeechActivity(turns, "test", channel_map=((AGENT, 0), (CUSTOMER, 1)))


def test_stereo_uses_each_speakers_own_channel() -> None:
    audio, activity = stereo_call()
    m = measure(audio, activity)
    agent, customer = m.of(AGENT), m.of(CUSTOMER)
    assert agent is not None and customer is not None
    assert agent.channel == 0 and customer.channel == 1
    assert agent.pitch.median_hz == pytest.approx(120.0, rel=0.01)
    assert customer.pitch.median_hz == pytest.approx(220.0, rel=0.01)
    assert agent.loudness.rms_dbfs == pytest.approx(customer.loudness.rms_dbfs, abs=0.5)


def test_stereo_wrong_channel_map_sees_only_cross_talk() -> None:
    """With the channels swapped, each speaker's "own" channel carries only its voice's leak,
    20 dB below the other channel: the cross-talk gate drops it (no voiced speech)."""
    audio, activity = stereo_call()
    swapped = SpeechActivity(activity.turns, "test", channel_map=((AGENT, 1), (CUSTOMER, 0)))
    m = measure(audio, swapped)
    agent = m.of(AGENT)
    assert agent is not None and agent.reason == NO_VOICED_SPEECH
    # without the gate (a margin above 20 dB) the leak itself would be measured, 20 dB down
    leak = measure(audio, swapped, crosstalk_margin_db=40.0).of(AGENT)
    assert leak is not None and leak.pitch.median_hz == pytest.approx(120.0, rel=0.01)
    right = measure(audio, activity).of(AGENT)
    assert right is not None and right.loudness.rms_dbfs is not None
    assert leak.loudness.rms_dbfs == pytest.approx(right.loudness.rms_dbfs - 20.0, abs=0.2)


def test_overlap_frames_count_for_nobody() -> None:
    """Mono: the agent's 120-Hz voice 0-6 s, the customer's 220-Hz voice 4-10 s mixed in."""
    a = np.concatenate([voice(120.0, 6.0), np.zeros(4 * SR, dtype=np.float32)])
    c = np.concatenate([np.zeros(4 * SR, dtype=np.float32), voice(220.0, 6.0)])
    activity = SpeechActivity((Turn(AGENT, 0.0, 6.0), Turn(CUSTOMER, 4.0, 10.0)), "test")
    m = measure(mono(a + c), activity)
    agent, customer = m.of(AGENT), m.of(CUSTOMER)
    assert agent is not None and customer is not None
    # 0-4 s and 6-10 s, less the 2 frames (20 ms) whose 30-ms level window reaches the overlap
    assert agent.dominant_s == pytest.approx(3.98, abs=0.005)
    assert customer.dominant_s == pytest.approx(3.98, abs=0.005)
    assert agent.pitch.median_hz == pytest.approx(120.0, rel=0.01)
    assert customer.pitch.median_hz == pytest.approx(220.0, rel=0.01)
    assert max(agent.contour_t) < 4.0 and min(customer.contour_t) > 6.0


# --------------------------------------------------------------------------- agitation, pressure


def pressed(text: str, loud_s: float = 10.0) -> Transcript:
    """The customer saying ``text`` over its first ``loud_s`` seconds."""
    tokens = text.split()
    step = loud_s / len(tokens)
    words = tuple(Word(t, i * step, (i + 0.8) * step, CUSTOMER) for i, t in enumerate(tokens))
    (mood,) = default_model().classify([text], "en")  # the shipped sentiment model
    return Transcript("en", (Utterance(CUSTOMER, 0.0, loud_s, text, words, sentiment=mood),))


COMPLAINT = "I was charged twice and this is unacceptable, it is still not fixed."
DELIGHT = "Oh that is wonderful, thank you so much, you are amazing!"


def test_customer_calms_down_and_agent_stays_steady() -> None:
    """Customer loud (+10 dB) for its first 10 s of speech, then calm; agent steady throughout.

    Timeline (s):  0-10 customer loud | 10-20 agent | 20-40 customer calm | 40-50 agent
    """
    c_loud, c_calm = voice(200.0, 10.0, rms=0.1), voice(200.0, 20.0, rms=0.03)
    a = voice(120.0, 10.0, rms=0.03)
    z = np.zeros(10 * SR, dtype=np.float32)
    left = np.concatenate([z, a, z, z, a])
    right = np.concatenate([c_loud, z, c_calm, z])
    audio = CallAudio(channels=(left, right), source=None, sha256="x", original_sample_rate=SR)
    turns = (
        Turn(CUSTOMER, 0.0, 10.0),
        Turn(AGENT, 10.0, 20.0),
        Turn(CUSTOMER, 20.0, 40.0),
        Turn(AGENT, 40.0, 50.0),
    )
    activity = SpeechActivity(turns, "test", channel_map=((AGENT, 0), (CUSTOMER, 1)))
    m = measure(audio, activity)
    assert m.agitation is not None
    assert m.agitation.start_share == pytest.approx(1.0, abs=0.1)
    assert m.agitation.end_share == pytest.approx(0.0, abs=0.05)
    (response,) = m.responses
    assert response.window == pytest.approx((0.0, 20.0), abs=0.5)
    assert response.level_shift_db == pytest.approx(0.0, abs=0.5)
    assert verdict("tone.steady_under_pressure", m, pressed(COMPLAINT)).verdict == "pass"


def test_agent_who_shouts_back_is_not_steady_and_delight_is_no_pressure() -> None:
    """Customer loud for 10 s, calm for 20 s; the agent answers the loud stretch at +10 dB.

    Timeline (s):  0-10 customer loud | 10-20 agent loud | 20-40 customer calm | 40-60 agent
    A complaint said loudly is pressure (the agent fails); the same loudness saying thanks is
    delight, not pressure ("na").
    """
    c_loud, c_calm = voice(200.0, 10.0, rms=0.1), voice(200.0, 20.0, rms=0.03)
    a_loud, a_calm = voice(120.0, 10.0, rms=0.1), voice(120.0, 20.0, rms=0.03)
    z = np.zeros(10 * SR, dtype=np.float32)
    left = np.concatenate([z, a_loud, z, z, a_calm])
    right = np.concatenate([c_loud, z, c_calm, z, z])
    audio = CallAudio(channels=(left, right), source=None, sha256="x", original_sample_rate=SR)
    turns = (
        Turn(CUSTOMER, 0.0, 10.0),
        Turn(AGENT, 10.0, 20.0),
        Turn(CUSTOMER, 20.0, 40.0),
        Turn(AGENT, 40.0, 60.0),
    )
    activity = SpeechActivity(turns, "test", channel_map=((AGENT, 0), (CUSTOMER, 1)))
    m = measure(audio, activity)
    result = verdict("tone.steady_under_pressure", m, pressed(COMPLAINT))
    assert result.verdict == "fail" and result.details["pressure_stretches"] == 1
    (response,) = m.responses
    assert len(response.agent_raised) == 1
    assert response.agent_raised[0].start == pytest.approx(10.0, abs=0.5)
    delight = verdict("tone.steady_under_pressure", m, pressed(DELIGHT))
    assert delight.verdict == "na" and "not pressure" in delight.details["reason"]


# --------------------------------------------------------------------------- pace


def words_at(speaker: str, start: float, n: int, dur: float, gap: float) -> list[Word]:
    return [
        Word(f"w{i}", start + i * (dur + gap), start + i * (dur + gap) + dur, speaker)
        for i in range(n)
    ]


def test_pace_excludes_pauses_from_articulation() -> None:
    # 10 words of 0.3 s with 0.1-s gaps (3.9 s), a 2-s pause, 10 more (3.9 s)
    words = words_at(AGENT, 0.0, 10, 0.3, 0.1) + words_at(AGENT, 5.9, 10, 0.3, 0.1)
    pace = pace_stats(words, talk_s=10.0, pause_min_s=0.25)
    assert pace.words == 20
    assert pace.articulation_s == pytest.approx(7.8)
    assert pace.articulation_wps == pytest.approx(20 / 7.8)
    assert pace.wpm == pytest.approx(120.0)  # 20 words in 10 s of talk


def test_articulation_counts_only_time_the_speaker_was_heard() -> None:
    """A word timed across silence is clipped to the speaker's speech turns."""
    words = words_at(AGENT, 0.0, 10, 0.3, 0.1)  # 0.0-3.9 s
    stretched = [*words, Word("late", 3.9, 6.0, AGENT)]  # recogniser stretched it to 6.0 s
    turns = [Turn(AGENT, 0.0, 4.2)]  # heard until 4.2 s only
    assert pace_stats(stretched, 4.2, 0.25).articulation_s == pytest.approx(6.0)
    pace = pace_stats(stretched, 4.2, 0.25, turns)
    assert pace.articulation_s == pytest.approx(4.2)
    assert pace.articulation_wps == pytest.approx(11 / 4.2)
    assert pace_stats(words, 4.2, 0.25, [Turn(AGENT, 10.0, 12.0)]).articulation_wps is None


def test_agent_much_faster_than_customer_fails_the_pace_check() -> None:
    y = voice(150.0, 20.0)
    activity = SpeechActivity((Turn(AGENT, 0.0, 10.0), Turn(CUSTOMER, 10.0, 20.0)), "test")
    fast = words_at(AGENT, 0.0, 30, 0.2, 0.05)  # 4 words/s
    slow = words_at(CUSTOMER, 10.0, 20, 0.4, 0.05)  # 2.2 words/s
    transcript = Transcript(
        "en",
        (
            Utterance(AGENT, 0.0, 10.0, "", tuple(fast)),
            Utterance(CUSTOMER, 10.0, 20.0, "", tuple(slow)),
        ),
    )
    m = measure_voice(mono(y), activity, transcript, VoiceConfig())
    result = verdict("tone.pace", m, transcript)
    assert result.verdict == "fail"
    assert result.details["ratio"] == pytest.approx((30 / 7.45) / (20 / 8.95), rel=1e-6)
    agent = m.of(AGENT)
    assert agent is not None and agent.pace.wpm == pytest.approx(180.0)
    assert agent.quarters[0].words == 30 - agent.quarters[1].words


# --------------------------------------------------------------------------- real call


@pytest.mark.slow
def test_real_stereo_call_is_measured_fast() -> None:
    wav = EVAL / "calls" / "aws_auto_repairs_40_stereo_agentL.wav"
    if not wav.exists():
        pytest.skip(f"evaluation data not found at {wav}")
    import time

    import soundfile as sf
    from scipy.signal import resample_poly

    raw, sr = sf.read(wav, dtype="float32")
    channels = tuple(resample_poly(raw[:, c], SR, sr).astype(np.float32) for c in range(2))
    audio = CallAudio(channels, wav, "x", sr)
    turns = []
    for line in wav.with_suffix(".energy_vad.rttm").read_text().splitlines():
        f = line.split()
        who = AGENT if f[7] == "agent" else CUSTOMER
        turns.append(Turn(who, float(f[3]), float(f[3]) + float(f[4])))
    activity = SpeechActivity(tuple(turns), "rttm", channel_map=((AGENT, 0), (CUSTOMER, 1)))
    t0 = time.perf_counter()
    m = measure_voice(audio, activity, NO_WORDS, VoiceConfig())
    elapsed = time.perf_counter() - t0
    agent, customer = m.of(AGENT), m.of(CUSTOMER)
    assert agent is not None and customer is not None
    for sv in (agent, customer):
        assert sv.reason is None and sv.pitch.median_hz is not None
        assert sv.loudness.lufs is not None and len(sv.quarters) == 4
        assert len(sv.contour_t) > 100  # > 50 s of dominant speech each in 0.5-s steps
    assert audio.duration_s / elapsed > 20  # >= 100x unloaded; loose here for busy CI machines


def test_turn_labels_outside_the_speaker_list_are_measured() -> None:
    """An undiarized mono call: turns say "unknown" whatever ``speakers`` lists."""
    activity = SpeechActivity((Turn(UNKNOWN, 0.0, 3.0),), "test")  # speakers: agent, customer
    m = measure(mono(voice(150.0, 3.0)), activity)
    assert [s.speaker for s in m.speakers] == [UNKNOWN]
    result = verdict("tone.not_monotone", m)
    assert result.verdict == "na" and "no agent" in result.details["reason"]


def test_metrics_are_json_friendly() -> None:
    import dataclasses
    import json

    audio, activity = stereo_call()
    m = measure(audio, activity)
    text = json.dumps(dataclasses.asdict(m), allow_nan=False)  # no NaN, no numpy types
    data = json.loads(text)
    assert {s["speaker"] for s in data["speakers"]} == {AGENT, CUSTOMER}
    assert "flags" not in data  # the measures decide nothing: the tone checks do
