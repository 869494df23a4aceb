"""Decoding and every way an input file can be unusable (exact one-line messages)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from callqa.audio import load as audio_mod
from callqa.audio.load import load_audio
from callqa.errors import AudioError
from callqa.files import sha256_file
from tests.conftest import write_wav

SR = 16_000


def tone(seconds: float, freq: float = 440.0, sr: int = SR, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def test_stereo_8khz_is_resampled_once_to_16khz(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "call.wav", [tone(2.0, 300, 8000), tone(2.0, 600, 8000)], sr=8000)
    audio = load_audio(path)
    assert audio.n_channels == 2
    assert audio.sample_rate == SR and audio.original_sample_rate == 8000
    assert audio.duration_s == pytest.approx(2.0, abs=0.01)
    # the left channel keeps its own 300 Hz tone: strongest FFT bin at 300 Hz
    spectrum = np.abs(np.fft.rfft(audio.channels[0]))
    assert np.fft.rfftfreq(len(audio.channels[0]), 1 / SR)[spectrum.argmax()] == pytest.approx(
        300, abs=2
    )


@pytest.mark.parametrize("ext", ["flac", "ogg", "mp3", "m4a"])
def test_compressed_formats_decode(tmp_path: Path, ext: str) -> None:
    wav = write_wav(tmp_path / "in.wav", [tone(1.5), tone(1.5, 880)])
    out = tmp_path / f"call.{ext}"
    ffmpeg("-i", str(wav), str(out))
    audio = load_audio(out)
    assert audio.n_channels == 2
    assert audio.duration_s == pytest.approx(1.5, abs=0.06)


def test_sha256_identifies_file_bytes(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", [tone(1.2)])
    copy = tmp_path / "b.wav"
    shutil.copy(path, copy)
    assert load_audio(path).sha256 == load_audio(copy).sha256 == sha256_file(path)


def test_dual_mono_stereo_is_treated_as_mono(tmp_path: Path) -> None:
    same = tone(1.5)
    audio = load_audio(write_wav(tmp_path / "dual.wav", [same, same]))
    assert audio.n_channels == 1


def expect_error(path: Path, message: str) -> None:
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert str(info.value) == message


def test_missing_file(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.wav", f"{tmp_path / 'nope.wav'}: no such file")


def test_directory(tmp_path: Path) -> None:
    expect_error(tmp_path, f"{tmp_path}: is a directory; use 'callqa batch' for folders")


def test_zero_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    expect_error(path, "empty.wav: empty file (0 bytes); re-export the recording")


def test_text_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n")
    expect_error(
        path,
        "notes.wav: not an audio file (ffmpeg found no audio stream); "
        "supported: wav, flac, ogg, oga, opus, mp3, m4a, aac, webm",
    )


def test_truncated_mp3(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "long.wav", [tone(30.0)])
    mp3 = tmp_path / "long.mp3"
    ffmpeg("-i", str(wav), "-b:a", "32k", str(mp3))
    cut = tmp_path / "cut.mp3"
    data = mp3.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3 + 7])  # cut inside a frame
    with pytest.raises(
        AudioError,
        match=r"^cut\.mp3: truncated or corrupt audio \(.+\); "
        r"re-export or re-download the recording$",
    ):
        load_audio(cut)


def test_truncated_wav(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "full.wav", [tone(5.0)])
    cut = tmp_path / "cut.wav"
    cut.write_bytes(wav.read_bytes()[:100_001])
    with pytest.raises(AudioError, match=r"^cut\.wav: truncated or corrupt audio"):
        load_audio(cut)


def test_too_short(tmp_path: Path) -> None:
    expect_error(
        write_wav(tmp_path / "short.wav", [tone(0.5)]),
        "short.wav: 0.50 s long, shorter than 1 s; nothing to score",
    )


def test_silent(tmp_path: Path) -> None:
    expect_error(
        write_wav(tmp_path / "silent.wav", [np.zeros(SR * 3, np.float32)] * 2),
        "silent.wav: silent (peak below -60 dBFS in every channel); check the recording",
    )


def test_one_silent_channel_is_fine(tmp_path: Path) -> None:
    audio = load_audio(write_wav(tmp_path / "half.wav", [tone(2.0), np.zeros(SR * 2, np.float32)]))
    assert audio.n_channels == 2


def test_more_than_two_channels(tmp_path: Path) -> None:
    expect_error(
        write_wav(tmp_path / "three.wav", [tone(2.0)] * 3),
        "three.wav: 3 channels; callqa takes mono or stereo (agent and customer on separate "
        "channels): downmix or pick two channels",
    )


def test_missing_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_wav(tmp_path / "ok.wav", [tone(2.0)])
    monkeypatch.setattr(audio_mod.shutil, "which", lambda name: None)
    expect_error(path, "ffprobe not found: install ffmpeg (apt-get install ffmpeg) and retry")


def test_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_wav(tmp_path / "locked.wav", [tone(2.0)])
    path.chmod(0)
    monkeypatch.setattr(audio_mod.os, "access", lambda p, mode: False)  # root ignores chmod
    expect_error(path, "locked.wav: permission denied; make the file readable")


def test_longer_than_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", [tone(120.0, level=0.1)])
    with pytest.raises(AudioError) as info:
        load_audio(path, max_duration_s=60.0)
    assert str(info.value) == (
        "long.wav: 2 min long, more than the 1 min limit; split it or raise max_duration_s "
        "in the config"
    )
