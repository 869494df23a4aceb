"""Mono diarization: windows, clustering, labelling, DER, real and synthetic calls."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import speak

from callqa.audio.activity import detect_activity
from callqa.audio.diarize import (
    _absorb_short,
    choose_clusters,
    count_voices,
    diarization_error_rate,
    diarize,
    speech_windows,
    spherical_kmeans,
)
from callqa.audio.speaker import (
    encoder_weights_path,
    load_encoder,
    mel_spectrogram,
    read_legacy_checkpoint,
)
from callqa.config import DynamicsConfig
from callqa.measures.dynamics import talk_time
from callqa.types import SAMPLE_RATE, UNKNOWN, CallAudio, Turn

CFG = DynamicsConfig()


def test_speech_windows_cover_each_segment() -> None:
    """A 0.3 s segment is skipped, a 1.0 s one is one window, a 3.0 s one gets windows every
    0.75 s with the last aligned to its end: 10-11.5, 10.75-12.25, 11.5-13."""
    w = speech_windows([(0.0, 0.3), (2.0, 3.0), (10.0, 13.0)], 1.5, 0.75)
    assert w == [(2.0, 3.0), (10.0, 11.5), (10.75, 12.25), (11.5, 13.0)]


def test_spherical_kmeans_separates_two_directions() -> None:
    rng = np.random.default_rng(1)
    a = np.array([1.0, 0.0, 0.0]) + rng.normal(0, 0.1, (20, 3))
    b = np.array([0.0, 1.0, 0.0]) + rng.normal(0, 0.1, (10, 3))
    x = np.vstack([a, b])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = spherical_kmeans(x, 2)
    assert len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1 and labels[0] != labels[20]
    # estimation: a 2-window outlier cluster (< 8 %) is not a second speaker
    outliers = np.vstack([a, b[:1]])
    outliers /= np.linalg.norm(outliers, axis=1, keepdims=True)
    assert set(choose_clusters(outliers, 0)) == {0}


def test_short_flicker_between_one_speakers_runs_is_absorbed() -> None:
    runs = [(0, 0.0, 2.0), (1, 2.0, 2.2), (0, 2.2, 4.0), (1, 4.0, 6.0)]
    assert _absorb_short(runs) == [(0, 0.0, 4.0), (1, 4.0, 6.0)]


def test_der_hand_computed() -> None:
    """
    reference  A |0------4|          B |4-----------10|
    hypothesis x |0----3|  y |3-----------------10|
    mapping A->x, B->y: 1 s confusion over 10 s of reference speech -> DER 0.1
    """
    ref = [Turn("A", 0, 4), Turn("B", 4, 10)]
    hyp = [Turn("x", 0, 3), Turn("y", 3, 10)]
    assert diarization_error_rate(ref, hyp) == pytest.approx(0.1, abs=0.002)
    assert diarization_error_rate(ref, ref) == 0.0
    assert diarization_error_rate(ref, []) == pytest.approx(1.0)


def test_too_little_speech_stays_unknown() -> None:
    found = diarize(np.zeros(SAMPLE_RATE, np.float32), [(0.1, 0.9)], CFG, encoder=None)
    assert found.turns == (Turn(UNKNOWN, 0.1, 0.9),)
    assert found.count.voices == 1 and "too little" in found.count.reason


def _voices(*groups: tuple[np.ndarray, int, float], seed: int = 3) -> np.ndarray:
    """Unit embeddings: ``n`` rows around each direction ``d`` with noise ``sd``."""
    rng = np.random.default_rng(seed)
    x = np.vstack([d + rng.normal(0, sd, (n, len(d))) for d, n, sd in groups])
    return x / np.linalg.norm(x, axis=1, keepdims=True)


E = np.eye(8)


def test_voice_count_one_two_three() -> None:
    """One tight voice -> 1; two distinct voices -> 2; a third distinct voice with 20 % of
    the windows -> 3 (labels by size); too few windows -> 1 whatever they hold."""
    one = _voices((E[0], 60, 0.05))
    labels, count = count_voices(one)
    assert count.voices == 1 and set(labels) == {0} and count.separation is None
    two = _voices((E[0], 40, 0.1), (E[1], 30, 0.1))
    labels, count = count_voices(two)
    assert count.voices == 2 and count.shares == (0.571, 0.429)
    assert count.separation is not None and count.separation < 0.5
    assert set(labels[:40]) == {0} and set(labels[40:]) == {1}
    three = _voices((E[0], 40, 0.1), (E[1], 30, 0.1), (E[2], 18, 0.1))
    labels, count = count_voices(three)
    assert count.voices == 3 and set(labels[70:]) == {2}
    assert count_voices(two[:10])[1].voices == 1  # ~8 s of speech: too little to tell
    assert count_voices(two, 2)[1].voices == 2  # a set count is not estimated


def test_alike_split_is_one_voice() -> None:
    """A single voice split in two by k-means: the halves' means are alike -> one voice."""
    x = _voices((E[0] * 3 + 0.4 * E[1], 30, 0.05), (E[0] * 3 - 0.4 * E[1], 30, 0.05))
    _, count = count_voices(x)
    assert count.voices == 1 and "alike" in count.reason


@pytest.mark.slow
def test_two_espeak_voices_are_told_apart(tmp_path: Path) -> None:
    """Synthetic mono call: a low male and a high female espeak-ng voice alternate 6 turns."""
    import librosa
    import soundfile as sf

    lines = [
        ("en+m3", "Thank you for calling the help desk, my name is John."),
        ("en+f4", "Hello, I have a problem with my internet connection at home."),
        ("en+m3", "I am sorry to hear that. Can I have your account number please?"),
        ("en+f4", "Yes, it is four five seven two one, and it has been down all week."),
        ("en+m3", "Thank you. I can see an outage in your area, it will be fixed today."),
        ("en+f4", "That is great news, thank you very much for your help."),
    ]
    parts, truth, t = [], [], 0.0
    for i, (voice, text) in enumerate(lines):
        y, sr = sf.read(speak(text, tmp_path / f"{i}.wav", voice=voice), dtype="float32")
        y, _ = librosa.effects.trim(y, top_db=40)
        y = librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE)
        parts += [y, np.zeros(int(0.6 * SAMPLE_RATE), np.float32)]
        truth.append(Turn(voice, t, t + len(y) / SAMPLE_RATE))
        t += len(y) / SAMPLE_RATE + 0.6
    audio = CallAudio((np.concatenate(parts) * 0.5,), None, "", SAMPLE_RATE)
    act = detect_activity(audio, CFG)
    assert act.speakers == ("spk0", "spk1")
    assert act.turns[0].speaker == "spk0"  # named by first appearance
    assert diarization_error_rate(truth, act.turns) < 0.10


@pytest.mark.slow
def test_real_telephone_call_der_and_talk_time(eval_dir: Path) -> None:
    """pyannote's sample call (RTTM): DER <= 20 % (no collar, overlap counted), per-speaker talk
    time within 1.5 s."""
    from callqa.audio.load import load_audio

    base = eval_dir / "calls" / "pyannote_sample"
    ref = []
    for line in base.with_suffix(".rttm").read_text().splitlines():
        f = line.split()
        ref.append(Turn(f[7], float(f[3]), float(f[3]) + float(f[4])))
    audio = load_audio(base.with_suffix(".wav"))
    act = detect_activity(audio, CFG)
    assert diarization_error_rate(ref, act.turns) <= 0.20
    talk = {t.speaker: t.talk_s for t in talk_time(act, audio.duration_s)}
    # speaker90 speaks first (6.69 s) -> spk0
    assert talk["spk0"] == pytest.approx(11.84, abs=1.5)
    assert talk["spk1"] == pytest.approx(12.51, abs=1.5)


# -- the speaker encoder without torch -----


def _chirp(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * (100 + 600 * t) * t)).astype(np.float32)


def test_mel_spectrogram_is_librosas() -> None:
    librosa = pytest.importorskip("librosa")
    x = _chirp()
    want = librosa.feature.melspectrogram(y=x, sr=SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=40)
    got = mel_spectrogram(x)
    assert got.shape == want.T.shape == (301, 40)
    np.testing.assert_allclose(got, want.T, rtol=1e-4, atol=1e-6 * float(want.max()))


@pytest.mark.slow
def test_encoder_is_resemblyzers_torch_network() -> None:
    """The numpy LSTM and weights reader give the embeddings PyTorch gives with torch.load."""
    torch = pytest.importorskip("torch")
    state = torch.load(encoder_weights_path(), map_location="cpu")["model_state"]
    lstm, linear = torch.nn.LSTM(40, 256, 3, batch_first=True), torch.nn.Linear(256, 256)
    lstm.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
    linear.load_state_dict({k[7:]: v for k, v in state.items() if k.startswith("linear.")})
    x = np.random.default_rng(0).random((5, 120, 40), dtype=np.float32)
    with torch.inference_mode():
        _, (hidden, _) = lstm(torch.from_numpy(x))
        want = torch.relu(linear(hidden[-1])).numpy()
    encoder = load_encoder()
    weight, bias = encoder.linear
    got = np.maximum(encoder.last_hidden(x) @ weight + bias, 0.0)
    np.testing.assert_allclose(got, want, atol=1e-4)


def _legacy_file(path: Path, payload: bytes) -> Path:
    with path.open("wb") as f:
        for value in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(value, f, protocol=2)
        f.write(payload)
    return path


def test_checkpoint_reader_runs_no_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    path = _legacy_file(tmp_path / "evil.pt", pickle.dumps(Evil(), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"\.print is not allowed in a checkpoint"):
        read_legacy_checkpoint(path)


def test_checkpoint_reader_rejects_a_truncated_storage(tmp_path: Path) -> None:
    path = _legacy_file(tmp_path / "cut.pt", pickle.dumps([], protocol=2))
    with path.open("ab") as f:
        f.write(pickle.dumps(["0"], protocol=2) + struct.pack("<q", 10) + b"\0" * 8)
    with pytest.raises(ValueError, match="truncated"):
        read_legacy_checkpoint(path)


def test_windows_past_the_end_are_embedded() -> None:
    """Speech ends on the VAD's 32 ms grid, so a window may end after the last sample."""
    x = _chirp(2.0)
    got = load_encoder().embed(x, [(0, len(x) + 400), (8000, len(x) + 200), (0, 16000)])
    assert got.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
