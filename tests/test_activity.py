"""Speech activity: Silero VAD, the cross-talk gate, turns from frame masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import speak

from callqa.audio.activity import (
    FRAME_S,
    crosstalk_gate,
    detect_activity,
    hysteresis,
    leak_db,
    mask_to_segments,
)
from callqa.config import DynamicsConfig
from callqa.measures.dynamics import measure_dynamics, talk_time
from callqa.types import SAMPLE_RATE, CallAudio, SpeechActivity, Transcript, Turn

CFG = DynamicsConfig()


def call(*channels: np.ndarray) -> CallAudio:
    return CallAudio(channels=channels, source=None, sha256="", original_sample_rate=SAMPLE_RATE)


def test_hysteresis_starts_at_threshold_and_ends_below_negative_threshold() -> None:
    probs = np.array([0.1, 0.6, 0.4, 0.36, 0.3, 0.45, 0.5, 0.2])
    assert hysteresis(probs, 0.5, 0.35).tolist() == [0, 1, 1, 1, 0, 0, 1, 0]


def test_mask_to_segments_bridges_drops_and_pads() -> None:
    """
    frames (32 ms)  0..9 speech | 10..14 pause (160 ms) | 15..29 speech | 30..59 pause |
                    60..64 speech (160 ms, < 250 ms: dropped)
    -> one segment 0.0-0.96 s, padded by 30 ms at the end: (0.0, 0.99)
    """
    mask = np.zeros(80, dtype=bool)
    mask[0:10] = mask[15:30] = mask[60:65] = True
    (seg,) = mask_to_segments(mask, CFG)
    assert seg == pytest.approx((0.0, 30 * FRAME_S + 0.03))


def test_leak_gate_drops_leakage_and_keeps_real_overlap() -> None:
    """
    frames      0-149: left speaks (-20 dBFS), right hears it at -45 (leak -25 dB)
              150-199: both speak, right at -24 (its own voice): a minority of the speech
              200-299: right speaks alone (-20), left hears -45
    Noise floor -60 dBFS on both. Both VADs fire everywhere (leakage is speech to a VAD).
    """
    n = 300
    left = np.full(n, -60.0)
    right = np.full(n, -60.0)
    left[:200], right[:150] = -20.0, -45.0
    right[150:200] = -24.0
    right[200:], left[200:] = -20.0, -45.0
    on = np.ones(n, dtype=bool)
    assert leak_db(left, right, on) == pytest.approx(-25.0)
    g_left, g_right = crosstalk_gate((on, on), (left, right), mode="leak", gate_db=6.0)
    assert g_left[:200].all() and not g_left[200:].any()
    assert not g_right[:150].any() and g_right[150:].all()
    off_left, off_right = crosstalk_gate((on, on), (left, right), mode="off", gate_db=6.0)
    assert off_left.all() and off_right.all()


@pytest.fixture(scope="module")
def leaky_stereo(tmp_path_factory: pytest.TempPathFactory) -> tuple[CallAudio, list[Turn]]:
    """espeak-ng speech (synthetic): agent (left) 0.5 s, customer (right) after the agent and
    once on top of the agent; each leaks into the other channel at -20 dB, plus noise."""
    import librosa
    import soundfile as sf

    d = tmp_path_factory.mktemp("leak")

    def voice(text: str, v: str) -> np.ndarray:
        y, sr = sf.read(speak(text, d / f"{v}.wav", voice=v), dtype="float32")
        y, _ = librosa.effects.trim(y, top_db=40)  # espeak pads with silence
        return librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE) * 0.5

    a1 = voice("Thank you for calling, how can I help you today?", "en+m3")
    c1 = voice("I was charged twice for my phone bill this month.", "en+f3")
    a2 = voice("I am sorry to hear that, let me check your account.", "en+m3")
    c2 = voice("Please hurry up, I do not have all day.", "en+f3")
    n = 16 * SAMPLE_RATE
    left, right = np.zeros(n, np.float32), np.zeros(n, np.float32)
    truth: list[Turn] = []

    def put(track: np.ndarray, y: np.ndarray, t: float, who: str) -> None:
        i = int(t * SAMPLE_RATE)
        track[i : i + len(y)] += y
        truth.append(Turn(who, t, t + len(y) / SAMPLE_RATE))

    put(left, a1, 0.5, "left")
    put(right, c1, 0.5 + len(a1) / SAMPLE_RATE + 0.4, "right")
    t2 = truth[-1].end + 0.5
    put(left, a2, t2, "left")
    put(right, c2, t2 + 1.0, "right")  # customer talks over the agent's second turn
    rng = np.random.default_rng(0)
    leak = 10 ** (-20 / 20)
    noisy = [
        ch + leak * other + rng.normal(0, 10 ** (-55 / 20), n).astype(np.float32)
        for ch, other in ((left, right), (right, left))
    ]
    return call(*noisy), truth


def _overlap_s(activity: SpeechActivity, duration: float) -> float:
    left = [(t.start, t.end) for t in activity.turns_of("left")]
    right = [(t.start, t.end) for t in activity.turns_of("right")]
    return sum(max(0.0, min(a[1], b[1]) - max(a[0], b[0])) for a in left for b in right)


def test_stereo_turns_follow_the_script_and_the_gate_removes_leakage(
    leaky_stereo: tuple[CallAudio, list[Turn]],
) -> None:
    audio, truth = leaky_stereo
    act = detect_activity(audio, CFG)
    assert act.speakers == ("left", "right")
    assert act.channel_map == (("left", 0), ("right", 1))
    scripted_overlap = truth[2].end - truth[3].start
    for label in ("left", "right"):
        want = sum(t.duration for t in truth if t.speaker == label)
        got = next(t.talk_s for t in talk_time(act, audio.duration_s) if t.speaker == label)
        assert got == pytest.approx(want, abs=0.6)
    assert _overlap_s(act, audio.duration_s) == pytest.approx(scripted_overlap, abs=0.5)
    ungated = detect_activity(audio, DynamicsConfig(crosstalk_gate="off"))
    assert _overlap_s(ungated, audio.duration_s) > scripted_overlap + 3.0


def test_silence_gives_no_turns() -> None:
    quiet = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    act = detect_activity(call(quiet, quiet), CFG)
    assert act.turns == ()


def test_real_stereo_one_speaker_per_channel(eval_dir: Path) -> None:
    from callqa.audio.load import load_audio

    audio = load_audio(eval_dir / "calls" / "librispeech_stereo_two_speakers.wav")
    act = detect_activity(audio, CFG)
    assert act.turns_of("left") and act.turns_of("right")
    talk = {t.speaker: t.talk_s for t in talk_time(act, audio.duration_s)}
    assert talk["left"] > talk["right"] > 1.0  # the long sentence is on the left
    # With two threads the channels are read at the same time, to the same turns.
    assert detect_activity(audio, CFG, workers=2) == act


@pytest.mark.slow
def test_aws_call_talk_time_within_ten_percent_of_reference(eval_dir: Path) -> None:
    from callqa.audio.load import load_audio

    base = eval_dir / "calls" / "aws_auto_repairs_40_stereo_agentL"
    audio = load_audio(base.with_suffix(".wav"))
    ref: dict[str, float] = {}
    for line in base.with_suffix(".energy_vad.rttm").read_text().splitlines():
        f = line.split()
        ref[f[7]] = ref.get(f[7], 0.0) + float(f[4])
    talk = {t.speaker: t.talk_s for t in talk_time(detect_activity(audio, CFG), audio.duration_s)}
    assert talk["left"] == pytest.approx(ref["agent"], rel=0.10)
    assert talk["right"] == pytest.approx(ref["caller"], rel=0.10)


@pytest.mark.slow
def test_sample_call_scripted_interruptions_and_talk_share(sample_calls: Path) -> None:
    from callqa.audio.load import load_audio

    path = sample_calls / "en_poor.ogg"
    if not path.exists():
        pytest.skip(f"{path} not generated")
    truth = json.loads(path.with_name("en_poor.truth.json").read_text())
    audio = load_audio(path)
    act = detect_activity(audio, CFG)
    names = {"left": "agent", "right": "customer"}
    act = SpeechActivity(
        turns=tuple(Turn(names[t.speaker], t.start, t.end) for t in act.turns), method="test"
    )
    d = measure_dynamics(act, Transcript("en", ()), audio.duration_s, CFG)
    found = [(e.interrupter, e.start) for e in d.interruptions if e.kind == "competitive"]
    want = [(e["interrupter"], e["start"]) for e in truth["interruptions"]]
    assert [f[0] for f in found] == [w[0] for w in want]
    assert all(abs(f[1] - w[1]) < 0.3 for f, w in zip(found, want, strict=True))
    share = truth["talk_s"]["agent"] / (truth["talk_s"]["agent"] + truth["talk_s"]["customer"])
    assert d.agent_talk_share == pytest.approx(share, abs=0.02)
