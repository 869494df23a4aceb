"""Load a call recording: decode with ffmpeg, resample once to 16 kHz, validate.

Every way a file can be unusable ends in :class:`~callqa.errors.AudioError` with a one-line
message that says what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callqa.errors import AudioError
from callqa.types import SAMPLE_RATE, CallAudio

SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm")
MIN_DURATION_S = 1.0  # shorter than this holds no scorable exchange
SILENCE_DBFS = -60.0  # peak below this in every channel = a silent recording
DUAL_MONO_RESIDUAL = 1e-3  # channel difference energy below 0.1% of the total (-30 dB) = one signal
MAX_CHANNELS = 2  # agent + customer; more channels have no agreed meaning
TRUNCATION_RATIO = 0.95  # decoded/declared duration below this (and 0.5 s short) = truncated
# ffmpeg's own words for a file it could only partly decode (truncated download, broken packets)
_CORRUPTION_MARKERS = (
    "corrupt",
    "error while decoding",
    "invalid data",
    "truncat",
    "header missing",
)


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about a file before decoding it."""

    channels: int
    sample_rate: int
    duration_s: float | None
    format_name: str


def load_audio(path: Path | str, *, max_duration_s: float | None = None) -> CallAudio:
    """Decode a call recording into 16 kHz float32 channels.

    Parameters
    ----------
    path : Path or str
        wav, flac, ogg/opus, mp3, m4a (anything ffmpeg decodes), any sample rate, 1 or 2 channels.
    max_duration_s : float > 0 or None [s]
        Refuse longer recordings before decoding them (None: no limit).

    Returns
    -------
    CallAudio

    Raises
    ------
    AudioError
        Missing, unreadable, empty, not audio, truncated, too short, silent, more than two
        channels, longer than ``max_duration_s``, or ffmpeg missing.
    """
    path = Path(path)
    data = _read_bytes(path)
    info = probe(path)
    if max_duration_s is not None and info.duration_s and info.duration_s > max_duration_s:
        raise AudioError(
            f"{path.name}: {info.duration_s / 60:.0f} min long, more than the "
            f"{max_duration_s / 60:.0f} min limit; split it or raise max_duration_s in the config"
        )
    channels = _collapse_dual_mono(_decode(path, info.channels))
    audio = CallAudio(
        channels=channels,
        source=path,
        sha256=hashlib.sha256(data).hexdigest(),
        original_sample_rate=info.sample_rate,
    )
    _check_complete(audio, info, path)
    _validate(audio, path)
    return audio


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory; use 'callqa batch' for folders")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path.name}: permission denied; make the file readable")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if not data:
        raise AudioError(f"{path.name}: empty file (0 bytes); re-export the recording")
    return data


def _ffmpeg_tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise AudioError(f"{name} not found: install ffmpeg (apt-get install ffmpeg) and retry")
    return exe


def probe(path: Path) -> AudioInfo:
    """Read channel count, sample rate and duration with ffprobe (no decoding).

    Raises
    ------
    AudioError
        When the file is not audio or has more than two channels.
    """
    cmd = [
        _ffmpeg_tool("ffprobe"),
        "-v",
        "error",
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=channels,sample_rate:format=duration,format_name",
        "-of",
        "json",
        str(path),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    meta = json.loads(out.stdout or "{}") if out.returncode == 0 else {}
    streams = meta.get("streams") or []
    if not streams:
        raise AudioError(
            f"{path.name}: not an audio file (ffmpeg found no audio stream); "
            f"supported: {', '.join(e.lstrip('.') for e in SUPPORTED_EXTENSIONS)}"
        )
    n_channels = int(streams[0].get("channels", 0))
    if n_channels > MAX_CHANNELS:
        raise AudioError(
            f"{path.name}: {n_channels} channels; callqa takes mono or stereo "
            "(agent and customer on separate channels): downmix or pick two channels"
        )
    fmt = meta.get("format", {})
    duration = fmt.get("duration")
    return AudioInfo(
        channels=n_channels,
        sample_rate=int(streams[0].get("sample_rate", 0)),
        duration_s=float(duration) if duration not in (None, "N/A") else None,
        format_name=str(fmt.get("format_name", "")),
    )


def _decode(path: Path, n_channels: int) -> tuple[np.ndarray, ...]:
    """Decode and resample to 16 kHz float32, one array per channel."""
    cmd = [
        _ffmpeg_tool("ffmpeg"),
        "-nostdin",
        "-v",
        "warning",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-ac",
        str(n_channels),
        "-ar",
        str(SAMPLE_RATE),
        "-",
    ]
    out = subprocess.run(cmd, capture_output=True, check=False)
    errors = out.stderr.decode("utf-8", "replace").strip()
    if out.returncode != 0 or any(m in errors.lower() for m in _CORRUPTION_MARKERS):
        first = _first_marked(errors) if errors else f"ffmpeg exit code {out.returncode}"
        raise AudioError(
            f"{path.name}: truncated or corrupt audio ({first.split(': ')[-1]}); "
            "re-export or re-download the recording"
        )
    samples = np.frombuffer(out.stdout, dtype=np.float32)
    samples = samples[: len(samples) - len(samples) % n_channels]
    frames = samples.reshape(-1, n_channels).T
    return tuple(np.ascontiguousarray(ch) for ch in frames)


def _collapse_dual_mono(channels: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Treat a stereo file whose two channels carry the same signal as mono.

    Dual-mono exports are common; transcribing them as two parties would duplicate every word.
    """
    if len(channels) != 2:
        return channels
    left, right = channels
    energy = float(np.dot(left, left) + np.dot(right, right))
    if energy == 0.0:
        return channels
    diff = left - right
    if float(np.dot(diff, diff)) / energy < DUAL_MONO_RESIDUAL:
        return (np.ascontiguousarray((left + right) * 0.5),)
    return channels


def _check_complete(audio: CallAudio, info: AudioInfo, path: Path) -> None:
    """Refuse a file that decodes to much less than its header declares (a cut-off download)."""
    declared = info.duration_s
    if declared and audio.duration_s < TRUNCATION_RATIO * declared - 0.5:
        raise AudioError(
            f"{path.name}: truncated or corrupt audio (decoded {audio.duration_s:.1f} s of "
            f"{declared:.1f} s declared); re-export or re-download the recording"
        )


def _validate(audio: CallAudio, path: Path) -> None:
    if audio.duration_s < MIN_DURATION_S:
        raise AudioError(
            f"{path.name}: {audio.duration_s:.2f} s long, shorter than {MIN_DURATION_S:.0f} s; "
            "nothing to score"
        )
    peak = max(float(np.max(np.abs(ch))) for ch in audio.channels)
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise AudioError(
            f"{path.name}: silent (peak below {SILENCE_DBFS:.0f} dBFS in every channel); "
            "check the recording"
        )


def _first_marked(log: str) -> str:
    """The first ffmpeg log line that names the corruption."""
    lines = log.splitlines()
    marked = [ln for ln in lines if any(m in ln.lower() for m in _CORRUPTION_MARKERS)]
    return re.sub(r"^\[[^]]*@ 0x[0-9a-f]+\]\s*", "", (marked or lines)[0]).rstrip(".")
