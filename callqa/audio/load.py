"""Load a call recording: decode with PyAV, resample once to 16 kHz, validate.

PyAV bundles FFmpeg's libraries, so no system ffmpeg is needed. The file is opened as a Python
file object, never by name: a name that starts with "-" or holds ":" (``rec-10:32.wav``, an
ISO timestamp) is a file, not an option or a URL. Every way a file can be unusable ends in
:class:`~callqa.errors.AudioError` with a one-line message that says what is wrong and what to
do.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import re
import stat
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from callqa.errors import AudioError
from callqa.files import sha256_file
from callqa.types import SAMPLE_RATE, CallAudio

log = logging.getLogger(__name__)

# what the decoder reads (each tested in tests/test_audio.py); batch and nightly take the same
SUPPORTED_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm")
MIN_DURATION_S = 1.0  # shorter than this holds no scorable exchange
SILENCE_DBFS = -60.0  # peak below this in every channel = a silent recording
# |correlation| of the two channels at or above this = one signal, whatever the level or polarity
# of each (1 - 1e-3: for channels at one level, what a difference below 0.1% (-30 dB) of the
# total energy means)
DUAL_MONO_CORRELATION = 1.0 - 1e-3
MAX_CHANNELS = 2  # agent + customer; more channels have no agreed meaning
TRUNCATION_RATIO = 0.95  # decoded/declared duration below this (and 0.5 s short) = truncated
# bytes per second below any speech codec (1 kbit/s; Opus and AMR need 5 or more): a file smaller
# than its declared length times this cannot hold that audio, so its header lies
MIN_BYTES_PER_S = 125
# FFmpeg's own words for a file it could only partly decode (truncated download, broken packets)
_CORRUPTION_MARKERS = (
    "corrupt",
    "error while decoding",
    "invalid data",
    "truncat",
    "header missing",
)


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file before decoding it."""

    channels: int
    sample_rate: int
    duration_s: float | None
    format_name: str
    unsized: bool = False  # a PCM WAV whose data size a streaming writer never filled in


def load_audio(path: Path | str, *, max_duration_s: float | None = None) -> CallAudio:
    """Decode a call recording into 16 kHz float32 channels.

    Parameters
    ----------
    path : Path or str
        wav, flac, ogg/oga/opus, webm, mp3, m4a/aac (:data:`SUPPORTED_EXTENSIONS`; anything
        FFmpeg decodes), any sample rate, 1 or 2 channels.
    max_duration_s : float > 0 or None [s]
        Refuse longer recordings before decoding them (None: no limit).

    Returns
    -------
    CallAudio

    Raises
    ------
    AudioError
        Missing, not a regular file (a pipe or a device), unreadable, empty, not audio,
        truncated, too short, silent, more than two channels, or longer than
        ``max_duration_s``.
    """
    path = Path(path)
    _check_file(path)
    with _open(path) as (container, stream):
        info = _info(container, stream, path)
        _check_declared(info, path)
        _check_max(info, path, max_duration_s)
        channels = _collapse_dual_mono(
            _decode(container, stream, info.channels, path, strict=not info.unsized)
        )
    audio = CallAudio(
        channels=channels,
        source=path,
        sha256=sha256_file(path),
        original_sample_rate=info.sample_rate,
    )
    _check_complete(audio.duration_s, info, path)
    peak = max(float(np.max(np.abs(ch))) for ch in audio.channels)
    _validate(audio.duration_s, peak, path)
    # no file name: names may hold personal data, and the status line says which call this is
    log.debug("decoded: %d ch, %.1f s", audio.n_channels, audio.duration_s)
    return audio


def _check_file(path: Path) -> None:
    """Refuse what cannot be a recording before opening it (a FIFO would block the read)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if stat.S_ISDIR(mode):
        raise AudioError(f"{path}: is a directory; use 'callqa batch' for folders")
    if not stat.S_ISREG(mode):
        raise AudioError(
            f"{path.name}: not a regular file (a pipe, socket or device); "
            "save the recording to a file first"
        )
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path.name}: permission denied; make the file readable")
    if stat.S_ISREG(mode) and path.stat().st_size == 0:
        raise AudioError(f"{path.name}: empty file (0 bytes); re-export the recording")


def _not_audio(path: Path) -> AudioError:
    return AudioError(
        f"{path.name}: not an audio file (ffmpeg found no audio stream); "
        f"supported: {', '.join(e.lstrip('.') for e in SUPPORTED_EXTENSIONS)}"
    )


def _tracks(path: Path, n: int) -> AudioError:
    """Several audio streams: reading the first alone would score part of the call (a recorder
    that stores each party as a track of its own) without a word said about the rest."""
    return AudioError(
        f"{path.name}: {n} audio streams (tracks); callqa reads one mono or stereo stream: put "
        "each party on one channel of a stereo file first (two mono tracks: ffmpeg -i IN "
        "-filter_complex amerge=inputs=2 OUT.wav)"
    )


def _unopenable(path: Path) -> AudioError:
    """FFmpeg could not open the file: cut or damaged when its first bytes announce an audio
    container (an M4A cut before its index, an Ogg or FLAC file cut inside its headers), else
    not audio at all."""
    kind = container_kind(path)
    if kind is None:
        return _not_audio(path)
    return AudioError(
        f"{path.name}: truncated or corrupt audio (ffmpeg cannot read this {kind} file); "
        "re-export or re-download the recording"
    )


def container_kind(path: Path) -> str | None:
    """The audio container the file's first bytes announce ("WAV", "Ogg", "FLAC", "MP3" with
    an ID3 tag, "MP4/M4A", "WebM/Matroska"), or None."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[4:8] == b"ftyp":
        return "MP4/M4A"
    magic = {b"OggS": "Ogg", b"fLaC": "FLAC", b"ID3": "MP3", b"\x1aE\xdf\xa3": "WebM/Matroska"}
    return next((kind for m, kind in magic.items() if head.startswith(m)), None)


# FFmpeg's WAV reader hands out 4 KiB packets (512 frames of an 8 kHz stereo call), and each
# costs a Python round trip; 16 KiB ones decode the 245 s benchmark call in 0.09 s instead of
# 0.22 s, the same samples (larger ones were slower again). Other formats ignore the option.
_DEMUX = {"max_size": "16384"}


@contextlib.contextmanager
def _open(path: Path) -> Iterator[tuple[Any, Any]]:
    """The file's container and first audio stream (opened from a file object, not a name)."""
    import av

    try:
        handle: BinaryIO = path.open("rb")
    except OSError as exc:
        raise AudioError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    with handle:
        try:
            container = av.open(handle, mode="r", metadata_errors="ignore", options=_DEMUX)
        except av.error.FFmpegError as exc:
            raise _unopenable(path) from exc
        with container:
            if not container.streams.audio:
                raise _not_audio(path)
            if len(container.streams.audio) > 1:
                raise _tracks(path, len(container.streams.audio))
            yield container, container.streams.audio[0]


def probe(path: Path | str) -> AudioInfo:
    """Read channel count, sample rate and duration from the container (no decoding).

    Raises
    ------
    AudioError
        When the file is not audio or has more than two channels.
    """
    path = Path(path)
    _check_file(path)
    with _open(path) as (container, stream):
        return _info(container, stream, path)


def _info(container: Any, stream: Any, path: Path) -> AudioInfo:
    n_channels = int(stream.channels or 0)
    if n_channels > MAX_CHANNELS:
        raise AudioError(
            f"{path.name}: {n_channels} channels; callqa takes mono or stereo "
            "(agent and customer on separate channels): downmix or pick two channels"
        )
    if n_channels == 0:
        raise _not_audio(path)
    duration = container.duration / 1_000_000 if container.duration else None  # AV_TIME_BASE
    unsized = False
    if container.format.name == "wav":
        # FFmpeg estimates a cut WAV's length from its size; the header says what it should be
        declared, unsized = _wav_length(path)
        duration = declared or duration
    return AudioInfo(
        channels=n_channels,
        sample_rate=int(stream.rate or 0),
        duration_s=duration,
        format_name=str(container.format.name),
        unsized=unsized,
    )


WAV_LINEAR_FORMATS = (1, 3, 6, 7)  # PCM, IEEE float, A-law, mu-law: one block per sample frame
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what streaming writers leave in a size field


def _wav_length(path: Path) -> tuple[float | None, bool]:
    """The duration (s) a RIFF/WAVE header declares for its ``data`` chunk (None: unknown),
    and whether it is linear data whose size field a streaming writer left unfilled.

    Linear and G.711 data: size / (block align x sample rate). Compressed data (IMA or MS
    ADPCM, GSM 6.10, G.722), where a block holds many samples: the sample count of the ``fact``
    chunk / the sample rate (the header's byte rate is no guide: FFmpeg writes twice the true
    rate for ADPCM and G.722). Streaming writers leave the sizes at 0 or 0xFFFFFFFF; those
    declare nothing.
    """
    rate = block = 0
    linear = True
    samples = None
    with path.open("rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return None, False
        while len(head := f.read(8)) == 8:
            size = int.from_bytes(head[4:], "little")
            if head[:4] == b"data":
                frames = size / block if linear and block else samples
                known = rate > 0 and frames and size not in _UNKNOWN_SIZES
                unsized = linear and size in _UNKNOWN_SIZES
                return (frames / rate if frames and known else None), unsized
            skip = size + (size & 1)  # chunks are padded to an even size
            if head[:4] == b"fmt ":
                fmt = f.read(min(size, 26))  # tag, channels, rate, byte rate, block align, ...
                linear = _wav_format(fmt) in WAV_LINEAR_FORMATS
                rate, block = _le(fmt[4:8]), _le(fmt[12:14])
                skip -= len(fmt)
            elif head[:4] == b"fact" and size >= 4:
                count = _le(f.read(4))  # sample frames per channel
                samples = None if count in _UNKNOWN_SIZES else count
                skip -= 4
            f.seek(skip, os.SEEK_CUR)
    return None, False


def _wav_format(fmt: bytes) -> int:
    """The format tag of a ``fmt`` chunk; WAVE_FORMAT_EXTENSIBLE's is the first two bytes of
    its sub-format GUID (at byte 24)."""
    tag = _le(fmt[0:2])
    return _le(fmt[24:26]) if tag == 0xFFFE and len(fmt) >= 26 else tag


def _le(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _decode(
    container: Any, stream: Any, n_channels: int, path: Path, *, strict: bool = True
) -> tuple[np.ndarray, ...]:
    """Decode and resample to 16 kHz float32, one array per channel."""
    chunks = list(decode_chunks(container, stream, n_channels, path, strict=strict))
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((n_channels, 0), np.float32)
    return tuple(np.ascontiguousarray(ch, dtype=np.float32) for ch in samples)


def decode_chunks(
    container: Any, stream: Any, n_channels: int, path: Path, *, strict: bool = True
) -> Iterator[np.ndarray]:
    """Decoded 16 kHz float32 pieces in order, each shape=(n_channels, n) (a few ms to s).

    FFmpeg's warnings are captured: a file it could only partly decode is refused, and so is a
    floating-point file holding samples that are not numbers (NaN or infinity: one would turn
    every measure of its channel into NaN and silence the transcriber). Both are raised after
    the last piece, so a caller that streams sees the error at the end of the pass. Not
    ``strict`` (a PCM WAV whose data size a streaming writer never filled in: a recorder that
    stopped before closing the file), FFmpeg's complaints are not refusals: it reads such a
    file to its end and flags the packets, and any bytes are valid PCM.
    """
    import av

    layout = "mono" if n_channels == 1 else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
    level = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    finite = True
    try:
        with av.logging.Capture(local=True) as logs:
            try:
                for frame in itertools.chain(container.decode(stream), [None]):  # None: flush
                    if frame is not None:
                        frame.pts = None  # timestamps of broken files may jump; samples suffice
                    for piece in (f.to_ndarray() for f in resampler.resample(frame)):
                        finite = finite and bool(np.isfinite(piece).all())
                        yield piece
            except av.error.FFmpegError as exc:
                raise _corrupt(path, str(exc)) from exc
    finally:
        av.logging.set_level(level)
    marked = [text for _, _, text in logs if any(m in text.lower() for m in _CORRUPTION_MARKERS)]
    if marked and strict:
        raise _corrupt(path, marked[0])
    if not finite:
        raise _corrupt(path, "samples that are NaN or infinity")


def _corrupt(path: Path, message: str) -> AudioError:
    first = re.sub(r"^(\[[^]]*\]\s*)+", "", message.strip().splitlines()[0])
    return AudioError(
        f"{path.name}: truncated or corrupt audio ({first.split(': ')[-1].rstrip('.')}); "
        "re-export or re-download the recording"
    )


def _collapse_dual_mono(channels: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Treat a stereo file whose two channels carry the same signal as mono.

    Dual-mono exports are common; transcribing them as two parties would duplicate every word.
    One channel may be quieter, or inverted (a recorder that wires one side with the opposite
    polarity): the mix then adds the right channel with the sign of their correlation, as the
    plain sum of inverted channels is silence.
    """
    if len(channels) != 2:
        return channels
    left, right = channels
    sign = dual_mono_sign(
        float(np.dot(left, left)), float(np.dot(right, right)), float(np.dot(left, right))
    )
    if sign:
        return (np.ascontiguousarray((left + sign * right) * 0.5),)
    return channels


def dual_mono_sign(left_energy: float, right_energy: float, cross: float) -> int:
    """+1 or -1 when two channels carry one signal (the sign of their correlation), else 0.

    Parameters
    ----------
    left_energy, right_energy : float >= 0
        Sum of squared samples of each channel.
    cross : float
        Sum of the products of the two channels' samples.
    """
    if left_energy <= 0.0 or right_energy <= 0.0:
        return 0
    correlation = cross / math.sqrt(left_energy * right_energy)
    return int(math.copysign(1, correlation)) if abs(correlation) >= DUAL_MONO_CORRELATION else 0


def _check_declared(info: AudioInfo, path: Path) -> None:
    """Refuse a header that declares far more audio than the file can hold, and an Ogg file
    that stops before its stream's last page (before decoding)."""
    size = path.stat().st_size
    if info.duration_s and size < info.duration_s * MIN_BYTES_PER_S:
        raise AudioError(
            f"{path.name}: truncated or corrupt audio (the header declares "
            f"{info.duration_s / 60:.0f} min, the file holds {size:,} bytes); re-export or "
            "re-download the recording"
        )
    if info.format_name == "ogg" and ogg_last_page_ends_stream(path) is False:
        raise AudioError(
            f"{path.name}: truncated or corrupt audio (the Ogg stream stops before its last "
            "page); re-export or re-download the recording"
        )


OGG_MAX_PAGE = 27 + 255 + 255 * 255  # header, lacing values, payload (RFC 3533, section 6)
OGG_END_OF_STREAM = 0x04  # header_type flag of a logical stream's last page
# candidate pages tried from the end: a file's last page is the first or second found; a hostile
# tail of "OggS" strings with bad checksums would otherwise cost a checksum of up to 64 KiB each
OGG_MAX_TRIES = 16


def ogg_last_page_ends_stream(path: Path) -> bool | None:
    """Whether the file's last whole Ogg page is flagged as its stream's last (None: no whole
    page with a valid checksum in the file's last two maximum page sizes).

    Ogg declares no length: FFmpeg takes a file's duration from its last page, so a file cut
    short reads as a shorter recording. Every writer flags the last page of a stream
    "end of stream" (RFC 3533, section 6); a cut file ends on a page without the flag, or
    inside a page. Reads at most 128 KiB and checks at most ``OGG_MAX_TRIES`` candidate pages.
    """
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 2 * OGG_MAX_PAGE))
        tail = f.read(2 * OGG_MAX_PAGE)
    at, tries = len(tail), 0
    while (at := tail.rfind(b"OggS", 0, at)) >= 0 and tries < OGG_MAX_TRIES:
        page = _ogg_page(tail, at)
        if page is not None:
            return bool(page[5] & OGG_END_OF_STREAM)
        tries += 1
    return None


def _ogg_page(data: bytes, at: int) -> bytes | None:
    """The whole Ogg page that starts at ``data[at]``, or None when it is cut off, is not
    version 0, or fails its CRC-32 (polynomial 0x04C11DB7, the checksum field read as 0)."""
    if at + 27 > len(data) or data[at + 4] != 0:
        return None
    lacing = data[at + 27 : at + 27 + data[at + 26]]
    end = at + 27 + len(lacing) + sum(lacing)
    if len(lacing) < data[at + 26] or end > len(data):
        return None
    page = data[at:end]
    crc = 0
    for byte in page[:22] + bytes(4) + page[26:]:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[(crc >> 24) ^ byte]
    return page if crc == int.from_bytes(page[22:26], "little") else None


def _ogg_crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if r & 0x80000000 else (r << 1) & 0xFFFFFFFF
        table.append(r)
    return tuple(table)


_OGG_CRC = _ogg_crc_table()


def _check_max(info: AudioInfo, path: Path, max_duration_s: float | None) -> None:
    if max_duration_s is not None and info.duration_s and info.duration_s > max_duration_s:
        raise AudioError(
            f"{path.name}: {info.duration_s / 60:.0f} min long, more than the "
            f"{max_duration_s / 60:.0f} min limit; split it or raise max_duration_s in the "
            "config"
        )


def _check_complete(duration_s: float, info: AudioInfo, path: Path) -> None:
    """Refuse a file that decodes to much less than its header declares (a cut-off download)."""
    declared = info.duration_s
    if declared and duration_s < TRUNCATION_RATIO * declared - 0.5:
        raise AudioError(
            f"{path.name}: truncated or corrupt audio (decoded {duration_s:.1f} s of "
            f"{declared:.1f} s declared); re-export or re-download the recording"
        )


def _validate(duration_s: float, peak: float, path: Path) -> None:
    if duration_s < MIN_DURATION_S:
        raise AudioError(
            f"{path.name}: {duration_s:.2f} s long, shorter than {MIN_DURATION_S:.0f} s; "
            "nothing to score"
        )
    if peak <= 10 ** (SILENCE_DBFS / 20):
        raise AudioError(
            f"{path.name}: silent (peak below {SILENCE_DBFS:.0f} dBFS in every channel); "
            "check the recording"
        )


# --------------------------------------------------------------------------- streaming


@dataclass(frozen=True)
class AudioScan:
    """A recording validated in one streaming pass, without keeping its samples.

    Attributes
    ----------
    source : Path
    sha256 : str
        Hex digest of the file's bytes.
    original_sample_rate : int > 0 [Hz]
    file_channels : {1, 2}
        Channels in the file.
    n_samples : int >= 0
        Samples per channel at :data:`SAMPLE_RATE`.
    dual_mono : bool
        A stereo file whose channels carry one signal: read as mono (their mean, the right
        channel inverted when ``dual_sign`` is -1).
    dual_sign : {1, -1}
        The sign of the channels' correlation (-1: one channel is inverted).
    strict : bool
        False for a PCM WAV whose data size was never filled in (see :func:`decode_chunks`).
    """

    source: Path
    sha256: str
    original_sample_rate: int
    file_channels: int
    n_samples: int
    dual_mono: bool
    dual_sign: int = 1
    strict: bool = True
    sample_rate: int = SAMPLE_RATE

    @property
    def n_channels(self) -> int:
        """Channels the call is scored with (1 for mono or dual mono, else 2)."""
        return 1 if self.dual_mono else self.file_channels

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sample_rate


class _Tally:
    """Running peak, length and the channels' energies and cross product over decoded pieces."""

    def __init__(self) -> None:
        self.n = 0
        self.peak = 0.0
        self.mix_peaks = {1: 0.0, -1: 0.0}  # peak of (left + sign * right) / 2
        self.left = self.right = self.cross = 0.0

    def add(self, chunk: np.ndarray) -> None:
        self.n += chunk.shape[1]
        if chunk.shape[1] == 0:
            return
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf: refused after the pass
            self._add(chunk)

    def _add(self, chunk: np.ndarray) -> None:
        self.peak = max(self.peak, float(np.max(np.abs(chunk))))
        if len(chunk) == 2:
            left, right = chunk
            self.left += float(np.dot(left, left))
            self.right += float(np.dot(right, right))
            self.cross += float(np.dot(left, right))
            for sign in self.mix_peaks:
                mix = float(np.max(np.abs((left + sign * right) * 0.5)))
                self.mix_peaks[sign] = max(self.mix_peaks[sign], mix)

    def dual_mono_sign(self) -> int:
        return dual_mono_sign(self.left, self.right, self.cross)


def scan_audio(path: Path | str, *, max_duration_s: float | None = None) -> AudioScan:
    """Validate a recording as :func:`load_audio` does, decoding it piece by piece.

    Memory stays flat in the call's length (nothing decoded is kept). Raises the same
    :class:`~callqa.errors.AudioError` messages as :func:`load_audio`.
    """
    path = Path(path)
    _check_file(path)
    tally = _Tally()
    with _open(path) as (container, stream):
        info = _info(container, stream, path)
        _check_declared(info, path)
        _check_max(info, path, max_duration_s)
        for chunk in decode_chunks(container, stream, info.channels, path, strict=not info.unsized):
            tally.add(chunk)
    duration = tally.n / SAMPLE_RATE
    sign = tally.dual_mono_sign()
    _check_complete(duration, info, path)
    _validate(duration, tally.mix_peaks[sign] if sign else tally.peak, path)
    return AudioScan(
        source=path,
        sha256=sha256_file(path),
        original_sample_rate=info.sample_rate,
        file_channels=info.channels,
        n_samples=tally.n,
        dual_mono=bool(sign),
        dual_sign=sign or 1,
        strict=not info.unsized,
    )


def stream_audio(scan: AudioScan) -> Generator[np.ndarray]:
    """The scanned recording decoded again, piece by piece, shape=(scan.n_channels, n) each,
    float32 at 16 kHz (dual mono already mixed to one channel)."""
    with _open(scan.source) as (container, stream):
        chunks = decode_chunks(
            container, stream, scan.file_channels, scan.source, strict=scan.strict
        )
        for chunk in chunks:
            chunk = np.asarray(chunk, dtype=np.float32)
            if scan.dual_mono:
                chunk = ((chunk[0] + scan.dual_sign * chunk[1]) * 0.5)[None, :]
            yield chunk
