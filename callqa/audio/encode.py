"""Write audio files with PyAV (FFmpeg's libraries, bundled: no system ffmpeg needed).

:func:`transcode` re-encodes (and optionally cuts) a recording; the codec follows the target's
extension. The report uses it to shrink large recordings to Ogg/Opus before embedding them;
the tests use it to make every supported format from generated WAV files.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import AudioError

# extension -> (container format, codec); Opus for every Ogg-family and WebM file
CODECS = {
    ".wav": ("wav", "pcm_s16le"),
    ".flac": ("flac", "flac"),
    ".ogg": ("ogg", "libopus"),
    ".oga": ("ogg", "libopus"),
    ".opus": ("ogg", "libopus"),
    ".webm": ("webm", "libopus"),
    ".mp3": ("mp3", "libmp3lame"),
    ".m4a": ("ipod", "aac"),
    ".aac": ("adts", "aac"),
}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)  # the only rates libopus encodes


def transcode(
    source: Path | str,
    target: Path | str,
    *,
    bitrate: int | None = None,
    start_s: float = 0.0,
    duration_s: float | None = None,
) -> Path:
    """Re-encode ``source`` into ``target``; the codec follows ``target``'s extension.

    Parameters
    ----------
    source : Path or str
        Any file the decoder reads.
    target : Path or str
        .wav (16-bit PCM), .flac, .ogg/.oga/.opus (Opus in Ogg), .webm (Opus), .mp3, .m4a or
        .aac (AAC); channels kept, sample rate kept where the codec allows it.
    bitrate : int > 0 or None [bit/s]
        For lossy codecs (None: the codec's default).
    start_s : float >= 0 [s]
        Skip this much of the source.
    duration_s : float > 0 or None [s]
        Keep this much from ``start_s`` (None: to the end).

    Raises
    ------
    AudioError
        Unknown target extension, or the source cannot be decoded.
    """
    import av

    source, target = Path(source), Path(target)
    if target.suffix.lower() not in CODECS:
        known = ", ".join(e.lstrip(".") for e in CODECS)
        raise AudioError(f"cannot write {target.name}: use one of {known}")
    container, codec = CODECS[target.suffix.lower()]
    try:
        with av.open(source.open("rb"), metadata_errors="ignore") as inp:
            stream = inp.streams.audio[0]
            with av.open(str(target), "w", format=container) as out:
                _copy(inp, stream, out, codec, bitrate, start_s, duration_s)
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise AudioError(f"cannot re-encode {source.name} ({exc})") from exc
    return target


def _copy(
    inp: Any,
    stream: Any,
    out: Any,
    codec: str,
    bitrate: int | None,
    start_s: float,
    duration_s: float | None,
) -> None:
    import av

    rate = stream.rate
    if codec == "libopus":
        rate = next((r for r in OPUS_RATES if r >= rate), OPUS_RATES[-1])
    layout = "mono" if stream.channels == 1 else "stereo"  # WAV may say "1 channels"
    enc = out.add_stream(codec, rate=rate, layout=layout)
    fmt = enc.codec_context.codec.audio_formats[0].name
    enc.format = fmt
    enc.time_base = Fraction(1, rate)
    if bitrate:
        enc.bit_rate = bitrate
    # float planar at the target rate (easy to cut), then the encoder's format in its frame size
    to_float = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    to_codec = av.AudioResampler(
        format=fmt, layout=layout, rate=rate, frame_size=enc.codec_context.frame_size or None
    )
    first = round(start_s * rate)
    last = None if duration_s is None else first + round(duration_s * rate)
    for frame in _cut(_decoded(inp, stream, to_float), first, last):
        for packet in (p for f in to_codec.resample(frame) for p in enc.encode(f)):
            out.mux(packet)
    for packet in (p for f in to_codec.resample(None) for p in enc.encode(f)):
        out.mux(packet)
    for packet in enc.encode(None):
        out.mux(packet)


def _decoded(inp: Any, stream: Any, resampler: Any) -> Iterator[Any]:
    for frame in inp.decode(stream):
        frame.pts = None  # a source's timestamps may jump; _cut numbers the samples afresh
        yield from resampler.resample(frame)
    yield from resampler.resample(None)


def _cut(frames: Iterator[Any], first: int, last: int | None) -> Iterator[Any]:
    """The samples ``first:last`` of a stream of float planar frames, timestamped from 0 (the
    encoder needs timestamps to record its priming samples, e.g. an MP4 edit list)."""
    import av

    done = emitted = 0
    for frame in frames:
        lo, hi = done, done + frame.samples
        done = hi
        if hi <= first or (last is not None and lo >= last):
            continue
        part = frame.to_ndarray()[:, max(first - lo, 0) : min(hi, last or hi) - lo]
        new = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(part), format=frame.format.name, layout=frame.layout.name
        )
        new.sample_rate = frame.sample_rate
        new.time_base = Fraction(1, frame.sample_rate)
        new.pts = emitted
        emitted += new.samples
        yield new
