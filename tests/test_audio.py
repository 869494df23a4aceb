"""Decoding and every way an input file can be unusable (exact one-line messages)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callqa.audio import load as audio_mod
from callqa.audio.encode import transcode
from callqa.audio.load import SUPPORTED_EXTENSIONS, load_audio, probe, scan_audio
from callqa.errors import AudioError
from callqa.files import sha256_file
from tests.conftest import write_wav

SR = 16_000


def tone(seconds: float, freq: float = 440.0, sr: int = SR, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_large_wav_packets_give_the_samples_of_ffmpegs_own(tmp_path: Path) -> None:
    """The WAV reader is asked for 16 KiB packets (fewer Python round trips): the 16 kHz
    samples are those of FFmpeg's default 4 KiB packets, bit for bit."""
    import av

    rng = np.random.default_rng(7)
    left, right = (rng.uniform(-0.5, 0.5, 8000 * 7).astype(np.float32) for _ in range(2))
    path = write_wav(tmp_path / "call.wav", [left, right], sr=8000)
    with av.open(str(path)) as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SR)
        stream = container.streams.audio[0]
        frames = [*container.decode(stream), None]
        expected = np.concatenate(
            [f.to_ndarray() for frame in frames for f in resampler.resample(frame)], axis=1
        )
    assert len(frames) > 10  # FFmpeg's own reading: many small packets
    audio = load_audio(path)
    assert np.array_equal(np.stack(audio.channels), expected)


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


@pytest.mark.parametrize("ext", [e.lstrip(".") for e in SUPPORTED_EXTENSIONS])
def test_every_supported_format_decodes(tmp_path: Path, ext: str) -> None:
    """Each extension batch and nightly accept is one the decoder really reads (stereo kept)."""
    wav = write_wav(tmp_path / "in.wav", [tone(1.5), tone(1.5, 880)])
    lossy = ext not in ("wav", "flac")
    out = transcode(wav, tmp_path / f"call.{ext}", bitrate=48_000 if lossy else None)
    audio = load_audio(out)
    assert audio.n_channels == 2
    # raw AAC (ADTS) keeps the encoder's 1024 priming samples and the last frame's padding
    assert audio.duration_s == pytest.approx(1.5, abs=0.15 if ext == "aac" else 0.05)
    assert probe(out).channels == 2


def test_decoder_needs_no_ffmpeg_on_path(tmp_path: Path) -> None:
    """Decoding and re-encoding use PyAV's bundled FFmpeg: a PATH without ffmpeg is fine."""
    wav = write_wav(tmp_path / "in.wav", [tone(2.0), tone(2.0, 880)])
    code = (
        "import shutil, sys; from callqa.audio.load import load_audio; "
        "from callqa.audio.encode import transcode; "
        "assert shutil.which('ffmpeg') is None and shutil.which('ffprobe') is None; "
        "a = load_audio(transcode(sys.argv[1], sys.argv[2])); print(a.n_channels, a.duration_s)"
    )
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(wav), str(tmp_path / "call.opus")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    channels, seconds = done.stdout.split()
    assert channels == "2" and float(seconds) == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize("name", ["-rec.wav", "rec-10:32.wav", "2025-01-31T10:32:00Z.wav"])
def test_names_with_dash_or_colon_are_files(tmp_path: Path, name: str) -> None:
    """Not read as an option ("-rec") or a protocol ("rec-10:", "2025-01-31T10:")."""
    path = write_wav(tmp_path / name, [tone(1.5)])
    assert load_audio(path).duration_s == pytest.approx(1.5, abs=0.01)


def test_fifo_fails_at_once(tmp_path: Path) -> None:
    """Opening a named pipe would block until a writer comes: refused without opening it."""
    fifo = tmp_path / "call.wav"
    os.mkfifo(fifo)
    expect_error(
        fifo,
        "call.wav: not a regular file (a pipe, socket or device); save the recording to a "
        "file first",
    )


def test_device_fails_at_once() -> None:
    expect_error(
        Path("/dev/zero"),
        "zero: not a regular file (a pipe, socket or device); save the recording to a file first",
    )


def test_sha256_identifies_file_bytes(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", [tone(1.2)])
    copy = tmp_path / "b.wav"
    shutil.copy(path, copy)
    assert load_audio(path).sha256 == load_audio(copy).sha256 == sha256_file(path)


def test_dual_mono_stereo_is_treated_as_mono(tmp_path: Path) -> None:
    same = tone(1.5)
    audio = load_audio(write_wav(tmp_path / "dual.wav", [same, same]))
    assert audio.n_channels == 1


@pytest.mark.parametrize(("gain", "sign"), [(-1.0, -1), (0.5, 1), (-0.25, -1)])
def test_dual_mono_at_another_level_or_inverted(tmp_path: Path, gain: float, sign: int) -> None:
    """One signal on both channels, the right one quieter or inverted: one party, not two
    (scored as stereo, every word of the call was written twice, once per "party"), and the
    mix keeps the signal (the plain sum of inverted channels is silence)."""
    rng = np.random.default_rng(3)
    x = (0.2 * rng.standard_normal(3 * SR)).astype(np.float32)
    path = write_wav(tmp_path / "dual.wav", [x, gain * x])
    audio = load_audio(path)
    assert audio.n_channels == 1
    expected = (x + sign * gain * x) * 0.5
    np.testing.assert_allclose(audio.channels[0], expected, atol=1e-3)
    scan = scan_audio(path)
    assert scan.dual_mono and scan.dual_sign == sign
    streamed = np.concatenate([c[0] for c in audio_mod.stream_audio(scan)])
    np.testing.assert_array_equal(streamed, audio.channels[0])


def test_two_voices_are_not_dual_mono(tmp_path: Path) -> None:
    """Two parties, each leaking into the other at -20 dB, stay two channels (|correlation| 0.2)."""
    rng = np.random.default_rng(4)
    a, b = (0.2 * rng.standard_normal((2, 3 * SR))).astype(np.float32)
    path = write_wav(tmp_path / "two.wav", [a + 0.1 * b, b + 0.1 * a])
    assert load_audio(path).n_channels == 2 and not scan_audio(path).dual_mono


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
    mp3 = transcode(wav, tmp_path / "long.mp3", bitrate=32_000)
    cut = tmp_path / "cut.mp3"
    data = mp3.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3 + 7])  # cut inside a frame
    with pytest.raises(
        AudioError,
        match=r"^cut\.mp3: truncated or corrupt audio \(.+\); "
        r"re-export or re-download the recording$",
    ):
        load_audio(cut)


def test_corrupt_mp3_frames(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "long.wav", [tone(10.0)])
    data = bytearray(transcode(wav, tmp_path / "long.mp3", bitrate=32_000).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(range(256)) * 7 + bytes(208)  # garbage in the middle
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"^bad\.mp3: truncated or corrupt audio \(.+\)"):
        load_audio(tmp_path / "bad.mp3")


@pytest.mark.parametrize("size", [100_001, 100_000])
def test_truncated_wav(tmp_path: Path, size: int) -> None:
    """Cut at an odd or an even byte: the header's data size says how long it should be."""
    wav = write_wav(tmp_path / "full.wav", [tone(5.0)])
    cut = tmp_path / "cut.wav"
    cut.write_bytes(wav.read_bytes()[:size])
    with pytest.raises(
        AudioError, match=r"^cut\.wav: truncated or corrupt audio \(decoded 3\.1 s of 5\.0 s"
    ):
        load_audio(cut)


def _ogg_files(tmp_path: Path) -> list[Path]:
    """A 20-s Opus-in-Ogg file (PyAV's muxer) and a Vorbis one (libsndfile's)."""
    wav = write_wav(tmp_path / "long.wav", [tone(20.0), tone(20.0, 880)])
    vorbis = tmp_path / "vorbis.ogg"
    sf.write(vorbis, np.stack([tone(20.0), tone(20.0, 880)], axis=1), SR, format="OGG")
    return [transcode(wav, tmp_path / "opus.ogg", bitrate=32_000), vorbis]


def test_truncated_ogg(tmp_path: Path) -> None:
    """Ogg declares no length (FFmpeg reads it from the last page), so a cut file would score as
    a shorter call: its last whole page lacks the end-of-stream flag."""
    for full in _ogg_files(tmp_path):
        assert audio_mod.ogg_last_page_ends_stream(full) is True
        assert load_audio(full).duration_s == pytest.approx(20.0, abs=0.05)
        data = full.read_bytes()
        for size in (len(data) * 6 // 10, len(data) - 10):  # inside a page; inside the last
            cut = tmp_path / f"cut{full.suffix}"
            cut.write_bytes(data[:size])
            message = (
                f"cut{full.suffix}: truncated or corrupt audio (the Ogg stream stops before its "
                "last page); re-export or re-download the recording"
            )
            for read in (load_audio, scan_audio):
                with pytest.raises(AudioError) as info:
                    read(cut)
                assert str(info.value) == message


@pytest.mark.parametrize(("ext", "keep", "kind"), [("m4a", 0.6, "MP4/M4A"), ("ogg", 0.02, "Ogg")])
def test_container_ffmpeg_cannot_open_is_called_cut(
    tmp_path: Path, ext: str, keep: float, kind: str
) -> None:
    """An M4A cut before its index (written last) and an Ogg file cut inside its headers start
    like audio: they are cut or damaged recordings, not "not audio"."""
    full = transcode(write_wav(tmp_path / "long.wav", [tone(20.0)]), tmp_path / f"full.{ext}")
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * keep)])
    expect_error(
        cut,
        f"cut.{ext}: truncated or corrupt audio (ffmpeg cannot read this {kind} file); "
        "re-export or re-download the recording",
    )


def test_ogg_last_page_is_checksummed(tmp_path: Path) -> None:
    """A stray "OggS" after the end is not a page; a last page whose bytes changed is not one."""
    full = _ogg_files(tmp_path)[0]
    data = full.read_bytes()
    padded = tmp_path / "padded.ogg"
    padded.write_bytes(data + b"OggS" + bytes(60))
    assert audio_mod.ogg_last_page_ends_stream(padded) is True
    damaged = bytearray(data)
    damaged[-3] ^= 0xFF
    (tmp_path / "damaged.ogg").write_bytes(bytes(damaged))
    assert audio_mod.ogg_last_page_ends_stream(tmp_path / "damaged.ogg") is False
    (tmp_path / "noise.ogg").write_bytes(bytes(range(256)) * 40)
    assert audio_mod.ogg_last_page_ends_stream(tmp_path / "noise.ogg") is None


def test_ogg_tail_check_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile tail of page-shaped bytes with bad checksums: at most OGG_MAX_TRIES checksums
    (each can cost 64 KiB of work), then "unknown"."""
    fake = b"OggS" + bytes(22) + bytes([1, 200]) + bytes(200)  # version 0, one 200-byte segment
    (tmp_path / "fake.ogg").write_bytes(fake * 400)
    tried: list[int] = []
    real = audio_mod._ogg_page
    monkeypatch.setattr(audio_mod, "_ogg_page", lambda d, at: tried.append(at) or real(d, at))
    assert audio_mod.ogg_last_page_ends_stream(tmp_path / "fake.ogg") is None
    assert len(tried) == audio_mod.OGG_MAX_TRIES


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float_samples_that_are_not_numbers(tmp_path: Path, bad: float) -> None:
    """Six milliseconds of NaN (or inf) in a 32-bit float WAV turned every measure of the call
    into NaN and the transcriber heard nothing: the call scored "na" throughout, exit 0."""
    samples = tone(4.0)
    samples[SR : SR + 100] = bad
    path = tmp_path / "float.wav"
    sf.write(path, np.stack([samples, tone(4.0, 880)], axis=1), SR, subtype="FLOAT")
    for read in (load_audio, scan_audio):
        with pytest.raises(AudioError) as info:
            read(path)
        assert str(info.value) == (
            "float.wav: truncated or corrupt audio (samples that are NaN or infinity); "
            "re-export or re-download the recording"
        )
    samples[SR : SR + 100] = 4.0  # beyond full scale is a number: kept
    sf.write(path, samples, SR, subtype="FLOAT")
    assert float(np.max(load_audio(path).channels[0])) > 1.0


@pytest.mark.parametrize("codec", ["adpcm_ima_wav", "adpcm_ms", "g722", "pcm_mulaw"])
def test_telephony_wav_codecs_declare_their_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    """PBX recordings are often ADPCM, G.722 or G.711 in WAV. A block of ADPCM holds hundreds
    of samples, so size / (block x rate) declared 0.02 s for 20 s (the long-call and
    max-duration limits read that); the ``fact`` chunk's sample count is the length."""
    from callqa.audio import encode

    monkeypatch.setitem(encode.CODECS, ".wav", ("wav", codec))
    rate = 16_000 if codec == "g722" else 8000
    source = write_wav(tmp_path / "source.wav", [tone(20.0, sr=rate)], sr=rate)
    full = transcode(source, tmp_path / "tel.wav")
    assert probe(full).duration_s == pytest.approx(20.0, abs=0.2)  # ADPCM pads its last block
    assert load_audio(full).duration_s == pytest.approx(20.0, abs=0.2)
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    block = int.from_bytes(data[data.index(b"fmt ") + 20 :][:2], "little")
    assert 4096 % block == 0
    cut.write_bytes(data[: data.index(b"data") + 8 + 12 * 4096])  # whole blocks and packets
    with pytest.raises(AudioError, match=r"^cut\.wav: truncated or corrupt audio \(decoded "):
        load_audio(cut)


def test_two_audio_tracks_are_refused(tmp_path: Path) -> None:
    """A recorder that stores each party as a track of its own: reading the first track alone
    had scored the agent's side as the whole call."""
    import av

    path = tmp_path / "tracks.mka"
    with av.open(str(path), "w", format="matroska") as out:
        streams = [out.add_stream("pcm_s16le", rate=SR, layout="mono") for _ in range(2)]
        for k, stream in enumerate(streams):
            frame = av.AudioFrame.from_ndarray(
                (tone(2.0, 300 + 200 * k) * 32767).astype(np.int16)[None, :],
                format="s16",
                layout="mono",
            )
            frame.sample_rate = SR
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                out.mux(packet)
    expect_error(
        path,
        "tracks.mka: 2 audio streams (tracks); callqa reads one mono or stereo stream: put each "
        "party on one channel of a stereo file first (two mono tracks: ffmpeg -i IN "
        "-filter_complex amerge=inputs=2 OUT.wav)",
    )


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_wav_whose_writer_never_filled_in_its_size(tmp_path: Path, size: int) -> None:
    """A recorder that stopped before closing the file leaves the data size at 0 (or a
    streaming writer's 0xFFFFFFFF): FFmpeg reads the audio to the end and flags its packets as
    corrupt (on this 8-kHz file: it depends on the bytes), which had refused 5 s of good audio
    as "truncated or corrupt"."""
    full = write_wav(tmp_path / "full.wav", [tone(5.0, sr=8000)], sr=8000)
    data = bytearray(full.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = size.to_bytes(4, "little")
    path = tmp_path / "open.wav"
    path.write_bytes(bytes(data))
    audio = load_audio(path)
    assert audio.duration_s == pytest.approx(5.0, abs=0.01)
    scan = scan_audio(path)
    streamed = np.concatenate([c[0] for c in audio_mod.stream_audio(scan)])
    np.testing.assert_array_equal(streamed, audio.channels[0])


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
