"""Redacted audio: the call with personal-data spans silenced (or replaced by a tone)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from callqa.audio.load import AudioScan, scan_audio, stream_audio
from callqa.config import AUDIO_MODES
from callqa.errors import AudioError, CallQAError
from callqa.files import atomic_path, atomic_write_bytes
from callqa.privacy.spans import PiiSpan
from callqa.scoring.scorecard import Scorecard
from callqa.types import CallAudio

_TONE_DBFS = -20.0  # replacement tone level: clearly audible, not startling
_FORMATS = {".flac": "FLAC", ".wav": "WAV"}


def redact_audio(
    audio: CallAudio,
    spans: Sequence[PiiSpan],
    out_path: Path | str,
    *,
    mode: str = "silence",
    pad_s: float = 0.15,
    tone_hz: float = 1000.0,
) -> Path:
    """Write a copy of the call with every span silenced or replaced by a tone.

    Every channel is blanked over a span (the other channel carries the customer's voice as
    cross-talk).

    Parameters
    ----------
    audio : CallAudio
        The decoded call (16 kHz).
    spans : sequence of PiiSpan
        From :func:`find_pii`; their times are in seconds from the start of the call.
    out_path : Path or str
        Destination ending in ".flac" or ".wav" (16-bit PCM, 16 kHz, same channels);
        written atomically.
    mode : {"silence", "tone"}
        Zeros, or a sine of ``tone_hz`` at -20 dBFS.
    pad_s : float >= 0 [s]
        Extra time blanked before and after each span.
    tone_hz : float > 0 [Hz]
        Tone frequency.

    Returns
    -------
    Path
        ``out_path``.
    """
    import soundfile as sf  # heavy (libsndfile): only when audio is written

    out_path = Path(out_path)
    fmt = _check_output(out_path, mode)
    data = np.stack([np.asarray(c, dtype=np.float32) for c in audio.channels], axis=1).copy()
    sr = audio.sample_rate
    _blank(data, 0, _sample_ranges(spans, len(data), sr, pad_s), mode, tone_hz, sr)
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(data, -1.0, 1.0), sr, format=fmt, subtype="PCM_16")
    return atomic_write_bytes(out_path, buffer.getvalue())


def redact_audio_stream(
    scan: AudioScan,
    spans: Sequence[PiiSpan],
    out_path: Path | str,
    *,
    mode: str = "silence",
    pad_s: float = 0.15,
    tone_hz: float = 1000.0,
) -> Path:
    """:func:`redact_audio` for a call too long to hold whole: the scanned file is decoded
    again piece by piece and each piece blanked and written as it comes (same output)."""
    import soundfile as sf

    out_path = Path(out_path)
    fmt = _check_output(out_path, mode)
    sr = scan.sample_rate
    ranges = _sample_ranges(spans, scan.n_samples, sr, pad_s)
    try:
        with (
            atomic_path(out_path) as tmp,
            sf.SoundFile(tmp, "w", sr, scan.n_channels, "PCM_16", format=fmt) as out,
        ):
            at = 0
            for piece in stream_audio(scan):
                data = np.ascontiguousarray(piece.T)
                _blank(data, at, ranges, mode, tone_hz, sr)
                out.write(np.clip(data, -1.0, 1.0))
                at += len(data)
    except OSError as exc:
        raise AudioError(f"cannot write redacted audio to {out_path.name}: {exc}") from exc
    return out_path


def _blank(
    data: np.ndarray, at: int, ranges: list[tuple[int, int]], mode: str, tone_hz: float, sr: int
) -> None:
    """Silence (or tone) ``data`` (samples ``[at, at + len(data))`` of the call) over ``ranges``."""
    for a, b in ranges:
        lo, hi = max(a, at), min(b, at + len(data))
        if hi <= lo:
            continue
        if mode == "silence":
            data[lo - at : hi - at, :] = 0.0
        else:
            t = np.arange(lo, hi) / sr
            data[lo - at : hi - at, :] = (
                10 ** (_TONE_DBFS / 20) * np.sin(2 * np.pi * tone_hz * t)
            )[:, None]


def _check_output(out_path: Path, mode: str) -> str:
    fmt = _FORMATS.get(out_path.suffix.lower())
    if fmt is None:
        raise AudioError(
            f"cannot write redacted audio to {out_path.name}: use a .flac or .wav name"
        )
    if mode not in AUDIO_MODES:
        raise AudioError(f"unknown audio redaction mode {mode!r}: use 'silence' or 'tone'")
    return fmt


def _sample_ranges(
    spans: Sequence[PiiSpan], n: int, sr: int, pad_s: float
) -> list[tuple[int, int]]:
    """Padded sample ranges ``[a, b)`` of the spans, clipped to the audio."""
    out = []
    for span in spans:
        a = max(0, int(np.floor((span.start - pad_s) * sr)))
        b = min(n, int(np.ceil((span.end + pad_s) * sr)))
        if b > a:
            out.append((a, b))
    return out


def recorded_spans(card: Scorecard) -> tuple[PiiSpan, ...] | None:
    """The personal-data spans a scorecard records (``redaction.spans``), as times only.

    Returns
    -------
    tuple of PiiSpan or None
        None when the scorecard records no redaction (no ``redaction``, or ``enabled`` false);
        else one span per recorded time (type, speaker, start, end [s]; no text pieces).

    Raises
    ------
    CallQAError
        ``redaction.counts`` adds up to more spans than ``redaction.spans`` gives times for
        (the audio could not be redacted fully).
    """
    red = card.redaction
    if red is None or not red.enabled:
        return None
    spans = tuple(PiiSpan(s.type, s.speaker, s.start, s.end, ()) for s in red.spans)
    counted = sum(max(0, int(v)) for v in red.counts.values())
    if counted > len(spans):
        raise CallQAError(
            f"the scorecard counts {counted} redacted spans but gives times for {len(spans)}; "
            "cannot silence them in the audio (score the call again)"
        )
    return spans


def redact_card_audio(
    card: Scorecard,
    audio_path: Path,
    copy_path: Path,
    *,
    pad_s: float = 0.15,
    tone_hz: float = 1000.0,
) -> Path:
    """The audio a report may carry: ``audio_path`` with the scorecard's recorded spans silenced.

    Parameters
    ----------
    card : Scorecard
        Its ``redaction.spans`` give the times to blank and ``redaction.audio_mode``
        ("silence" or "tone") how.
    audio_path : Path
        The recording the scorecard was made from.
    copy_path : Path
        Where the redacted copy goes (".flac" or ".wav"; 16 kHz, 16-bit, written atomically).
    pad_s : float >= 0 [s]
        Extra time blanked before and after each span (``[redaction] audio_pad_s``).
    tone_hz : float > 0 [Hz]
        Tone frequency in "tone" mode.

    Returns
    -------
    Path
        ``copy_path``, or ``audio_path`` itself when the scorecard lists no span (redaction
        off, or nothing found: there is nothing to silence).

    Raises
    ------
    AudioError
        The recording cannot be decoded or the copy cannot be written.
    """
    spans = recorded_spans(card)
    if not spans:
        return Path(audio_path)
    mode = card.redaction.audio_mode if card.redaction is not None else "silence"
    scan = scan_audio(audio_path)  # decoded piece by piece: memory flat in the call's length
    return redact_audio_stream(scan, spans, copy_path, mode=mode, pad_s=pad_s, tone_hz=tone_hz)
