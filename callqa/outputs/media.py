"""What a report page carries besides its HTML: the call's audio (embedded as a ``data:`` URI or
linked) and Plotly's browser bundle."""

from __future__ import annotations

import base64
import functools
import gzip
import os
import tempfile
from importlib import resources
from pathlib import Path

from callqa.audio.encode import transcode
from callqa.errors import AudioError, CallQAError
from callqa.files import atomic_write_bytes

PLOTLY_FILENAME = "plotly-basic.min.js"  # written beside the reports with shared_assets=True
PLOTLY_BUNDLE = "plotly-basic.min.js.gz"  # in callqa/outputs/static
REDACTED_SUFFIX = ".redacted.flac"  # the redacted audio copy beside a report: <name>.redacted.flac
EMBED_MAX_BYTES = 8_000_000  # larger audio is re-encoded to Opus before embedding (~0.25 MB/min)
OPUS_BITRATE = 32_000  # bit/s: stereo speech stays clear at 32 kbit/s (Opus "fullband speech")


_AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".oga": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".webm": "audio/webm",
}


def audio_data_uri(path: Path) -> str:
    """The audio file as a ``data:`` URI, re-encoded to Opus when over ``EMBED_MAX_BYTES``.

    Raises
    ------
    AudioError
        The file cannot be read (or cannot be re-encoded when too large).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AudioError(f"cannot read audio {path}: {exc.strerror or exc}") from exc
    mime = _AUDIO_TYPES.get(path.suffix.lower(), "audio/wav")
    if len(data) > EMBED_MAX_BYTES:
        data, mime = to_opus(path), "audio/ogg"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """Plotly's *basic* browser bundle (scatter, bar and pie: all the pages draw; 1.2 MB
    against the full bundle's 4.8 MB), shipped gzipped with callqa (plotly.js 4.1.1, MIT
    licence: static/PLOTLY-LICENSE)."""
    try:
        packed = resources.files("callqa.outputs").joinpath(f"static/{PLOTLY_BUNDLE}").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:  # pragma: no cover - install issue
        raise CallQAError("the Plotly bundle is missing from callqa; reinstall callqa") from exc
    text = gzip.decompress(packed).decode("utf-8")
    return text.replace("</script", "<\\/script")  # harmless in JS, keeps the tag closed


def relative_src(audio_path: Path, out: Path) -> str:
    """``audio_path`` relative to the report's folder, URL-quoted."""
    from urllib.parse import quote

    audio = Path(audio_path).resolve()
    if not audio.is_file():
        raise AudioError(
            f"audio file not found: {audio_path}; give the call's recording with --audio"
        )
    base = Path(out).resolve().parent
    try:
        rel = audio.relative_to(base).as_posix()
    except ValueError:
        rel = Path(os.path.relpath(audio, base)).as_posix()
    return quote(rel)


def ensure_shared_plotly(folder: Path) -> None:
    target = Path(folder) / PLOTLY_FILENAME
    content = plotly_js().encode("utf-8")
    if not target.is_file() or target.stat().st_size != len(content):
        atomic_write_bytes(target, content)


def to_opus(path: Path) -> bytes:
    """Re-encode ``path`` to Ogg/Opus with PyAV (both channels kept; no system ffmpeg needed).

    Raises
    ------
    AudioError
        The file cannot be decoded.
    """
    with tempfile.TemporaryDirectory() as tmp:
        try:
            target = transcode(path, Path(tmp) / "audio.ogg", bitrate=OPUS_BITRATE)
        except AudioError as exc:
            raise AudioError(f"{exc} for embedding; use --link-audio") from exc
        return target.read_bytes()
