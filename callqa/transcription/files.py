"""Read transcript files: callqa's own JSON and WebVTT with voice tags (docs/transcripts.md).

JSON::

    {"language": "en",
     "segments": [{"speaker": "agent", "start": 0.0, "end": 2.5, "text": "Hello ...",
                   "words": [{"text": "Hello", "start": 0.0, "end": 0.4}, ...]}]}

WebVTT::

    WEBVTT
    Language: en

    00:00:00.000 --> 00:00:02.500
    <v Agent>Hello, thank you for calling.

Both become a :class:`~callqa.types.Transcript` with ``language_source="file"``. Segments
without word times get words spread evenly over the segment.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callqa.config import LimitsConfig
from callqa.errors import TranscriptError
from callqa.files import UnsafeFileError, load_json, read_capped
from callqa.types import AGENT, CUSTOMER, UNKNOWN, Transcript, Utterance, Word

SPEAKER_NAMES: Mapping[str, str] = {
    "agent": AGENT,
    "customer": CUSTOMER,
    "unknown": UNKNOWN,
    # common names for the two roles in exported transcripts
    "caller": CUSTOMER,
    "client": CUSTOMER,
    "representative": AGENT,
    "rep": AGENT,
    "operator": AGENT,
}

TRANSCRIPT_EXTENSIONS = (".json", ".vtt")  # what `callqa batch` takes as a transcript file

_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$")


def read_transcript(
    path: Path, *, language: str | None = None, max_bytes: int | None = None
) -> Transcript:
    """Read a transcript file (``.json`` or ``.vtt``; other suffixes are sniffed).

    Parameters
    ----------
    path : Path
        The file.
    language : str, optional
        ISO 639-1 code that overrides the file's (required for a WebVTT file without a
        ``Language:`` header). "no" is read as "nb".
    max_bytes : int > 0, optional
        Refuse a larger file unread (default ``[limits] max_transcript_bytes``, 64 MiB).

    Raises
    ------
    TranscriptError
        The file is missing, unreadable, too large, not a regular file, not valid UTF-8 or
        malformed; the message says where and what to fix.
    """
    path = Path(path)
    cap = max_bytes or LimitsConfig().max_transcript_bytes
    try:
        raw = read_capped(path, cap).decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise TranscriptError(f"transcript {path} not found") from exc
    except UnsafeFileError as exc:
        raise TranscriptError(f"transcript {exc} (see [limits] in docs/configuration.md)") from exc
    except OSError as exc:
        raise TranscriptError(f"cannot read transcript {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        utf16 = exc.object[:2] in (b"\xff\xfe", b"\xfe\xff")  # Windows "Unicode" exports
        what = "UTF-16 text" if utf16 else f"UTF-8 text (byte {exc.start})"
        raise TranscriptError(
            f"transcript {path} is {'' if utf16 else 'not '}{what}; save it as UTF-8"
        ) from exc
    if "\0" in raw:
        raise TranscriptError(f"transcript {path} holds NUL characters: not a text file")
    if path.suffix.lower() == ".vtt" or raw.lstrip().startswith("WEBVTT"):
        return parse_vtt(raw, path, language=language)
    return parse_json(raw, path, language=language)


# --- JSON ---------------------------------------------------------------------------------


def _language(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _LANGUAGE_RE.match(value.strip()):
        raise TranscriptError(
            f'{where}: language must be an ISO 639-1 code such as "en", got {value!r}'
        )
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return "nb" if code in ("no", "nob") else code


# Bounds on what a transcript may hold: a 2-hour call (the longest callqa scores by default)
# has some 2,500 segments and 25,000 words; each segment costs ~36 ms to score, so a file of a
# million cues (58 MB, inside the size cap) had run for hours.
MAX_TIME_S = 7 * 86400.0  # the largest [call] max_duration_s allowed
MAX_SEGMENTS = 50_000
MAX_WORDS = 500_000


def _number(seg: Mapping[str, Any], key: str, where: str) -> float:
    value = seg.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TranscriptError(f"{where}: {key!r} must be a number of seconds, got {value!r}")
    if not 0 <= value <= MAX_TIME_S:  # 1e300 had overflowed the sentiment stage's sums
        raise TranscriptError(
            f"{where}: {key!r} must be from 0 to {MAX_TIME_S:.0f} s, got {value!r}"
        )
    return float(value)


def _bounded(n_segments: int, n_words: int, path: Path) -> None:
    if n_segments > MAX_SEGMENTS or n_words > MAX_WORDS:
        raise TranscriptError(
            f"{path}: {n_segments:,} segments, {n_words:,} words; a transcript may hold at most "
            f"{MAX_SEGMENTS:,} segments and {MAX_WORDS:,} words (a 2-hour call: ~2,500 and "
            "25,000)"
        )


def _speaker(name: Any, where: str, *, strict: bool) -> str:
    if not isinstance(name, str):
        raise TranscriptError(f"{where}: speaker must be a string, got {name!r}")
    role = SPEAKER_NAMES.get(name.strip().lower())
    if role is None and strict:
        raise TranscriptError(
            f'{where}: unknown speaker {name!r}; use "agent", "customer" or "unknown"'
        )
    return role or UNKNOWN


def spread_words(text: str, start: float, end: float, speaker: str) -> tuple[Word, ...]:
    """Words of ``text`` with times spread evenly over ``[start, end]`` (no real timing)."""
    tokens = text.split()
    step = (end - start) / max(1, len(tokens))
    return tuple(
        Word(t, round(start + i * step, 3), round(start + (i + 1) * step, 3), speaker)
        for i, t in enumerate(tokens)
    )


def _words(raw: Any, speaker: str, where: str) -> tuple[Word, ...]:
    if not isinstance(raw, list):
        raise TranscriptError(f"{where}: 'words' must be a list of {{text, start, end}}")
    out = []
    for i, w in enumerate(raw):
        wh = f"{where}, word {i + 1}"
        if not isinstance(w, dict):
            raise TranscriptError(f"{wh}: must be an object with text, start, end")
        text = w.get("text", w.get("word"))
        if not isinstance(text, str):
            raise TranscriptError(f"{wh}: 'text' must be a string")
        prob = w.get("probability", 1.0)
        if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0 <= prob <= 1:
            raise TranscriptError(f"{wh}: 'probability' must be a number from 0 to 1")
        out.append(
            Word(text.strip(), _number(w, "start", wh), _number(w, "end", wh), speaker, float(prob))
        )
    return tuple(out)


def _segment(raw: Any, n: int, path: Path) -> Utterance:
    where = f"{path}: segment {n + 1}"
    if not isinstance(raw, dict):
        raise TranscriptError(f"{where}: must be an object with speaker, start, end, text")
    speaker = _speaker(raw.get("speaker"), where, strict=True)
    start, end = _number(raw, "start", where), _number(raw, "end", where)
    if end < start:
        raise TranscriptError(f"{where}: end ({end}) is before start ({start})")
    text = raw.get("text")
    if not isinstance(text, str):
        raise TranscriptError(f"{where}: 'text' must be a string")
    words = _words(raw["words"], speaker, where) if raw.get("words") else ()
    if not _spells(words, text):
        words = ()  # the text is what is scored, quoted and redacted: its words, spread
    return Utterance(
        speaker, start, end, text.strip(), words or spread_words(text, start, end, speaker)
    )


def _spells(words: tuple[Word, ...], text: str) -> bool:
    """True when each word's text occurs in ``text``, in order (spacing between them aside).

    A file whose words say something else than its text ("my card is 4539 ..." in the text,
    "hello there" in the words) had its text's card number and e-mail written unredacted to
    every output: personal data is found in the words when they spell the text, else in text
    rebuilt from the words, so the text itself was never searched.
    """
    cursor = 0
    for w in words:
        at = text.find(w.text, cursor) if w.text else -1
        if at < 0:
            return False
        cursor = at + len(w.text)
    return True


def parse_json(raw: str, path: Path, *, language: str | None = None) -> Transcript:
    """Parse callqa's transcript JSON (``raw``, read from ``path``)."""
    try:
        data = load_json(raw)
    except json.JSONDecodeError as exc:
        raise TranscriptError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    except ValueError as exc:  # nested too deeply, NaN, a 400-digit number, millions of objects
        raise TranscriptError(f"{path}: not a transcript ({exc})") from exc
    try:  # a \ud800 escape decodes to a lone surrogate, which no output can encode
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = f"\\u{ord(exc.object[exc.start]):04x}"
        raise TranscriptError(
            f"{path}: holds {bad}, half of a UTF-16 surrogate pair: not valid Unicode text"
        ) from exc
    except RecursionError as exc:
        raise TranscriptError(f"{path}: JSON nested too deeply to be a transcript") from exc
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise TranscriptError(f'{path}: expected an object with a "segments" list')
    if language is None and "language" not in data:
        raise TranscriptError(f'{path}: no "language"; add e.g. "language": "en"')
    lang = _language(language if language is not None else data["language"], str(path))
    _bounded(len(data["segments"]), 0, path)
    segments = [_segment(s, n, path) for n, s in enumerate(data["segments"])]
    _bounded(len(segments), sum(len(s.words) for s in segments), path)
    return Transcript(
        language=lang,
        segments=tuple(sorted(segments, key=lambda s: (s.start, s.end))),
        language_source="file",
    )


# --- WebVTT -------------------------------------------------------------------------------

_TIME_RE = re.compile(  # hours up to 999, minutes and seconds below 60 (00:99:99 is no time)
    r"^(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)[.,](\d{3})\s+-->\s+"
    r"(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)[.,](\d{3})"
)
_VOICE_RE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]*)>")
_TAG_RE = re.compile(r"</?[^>]*>")
_LABEL_RE = re.compile(r"^([^\W\d_][\w .'’-]{0,39}?):\s+(?=\S)")  # "Sam Jones: ", "Speaker 1: "


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _header(lines: list[str], path: Path) -> tuple[dict[str, str], int]:
    if not lines or not lines[0].startswith("WEBVTT"):
        raise TranscriptError(f"{path}: a WebVTT file must start with the line WEBVTT")
    meta: dict[str, str] = {}
    i = 1
    while i < len(lines) and lines[i].strip():
        if "-->" in lines[i]:  # a cue right under the header, no blank line: it had been lost
            return meta, i
        key, sep, value = lines[i].partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
        i += 1
    return meta, i


@dataclass(frozen=True)
class _Cue:
    """One WebVTT cue as read: its times, the name in its voice tag (None: no tag) and text."""

    start: float
    end: float
    voice: str | None
    text: str


def _cue(block: list[str], path: Path, line_no: int) -> _Cue | None:
    timing = next((k for k, line in enumerate(block) if "-->" in line), None)
    if timing is None:
        if block[0].startswith(("NOTE", "STYLE", "REGION")):
            return None
        raise TranscriptError(f"{path}: line {line_no}: cue without a 'start --> end' line")
    m = _TIME_RE.match(block[timing].strip())
    if m is None:
        raise TranscriptError(
            f"{path}: line {line_no + timing}: bad cue timing {block[timing].strip()[:60]!r}; "
            "use hh:mm:ss.mmm --> hh:mm:ss.mmm"
        )
    start, end = _seconds(*m.groups()[:4]), _seconds(*m.groups()[4:])
    if end < start:
        raise TranscriptError(f"{path}: line {line_no + timing}: cue ends before it starts")
    body = " ".join(block[timing + 1 :])
    voice = _VOICE_RE.search(body)
    text = re.sub(r"\s+", " ", _TAG_RE.sub("", body)).strip()
    name = voice.group(1).strip() if voice else ""
    return _Cue(start, end, name or None, text) if text else None


MAX_LABELS = 6  # more distinct "Name:" prefixes than this are words, not speakers


def _labelled(cues: list[_Cue]) -> list[_Cue]:
    """Cues whose speaker is written as a "Name: " prefix (Zoom and most caption exports, no
    voice tag) with the prefix moved to the voice. Only when at least half of the untagged cues
    start so and there are at most ``MAX_LABELS`` names: one "Problem: the router" is text."""
    found = [_LABEL_RE.match(c.text) if c.voice is None else None for c in cues]
    names = {m.group(1).strip() for m in found if m}
    if not names or len(names) > MAX_LABELS:
        return cues
    if 2 * sum(1 for m in found if m) < sum(1 for c in cues if c.voice is None):
        return cues
    return [
        _Cue(c.start, c.end, m.group(1).strip(), c.text[m.end() :]) if m else c
        for c, m in zip(cues, found, strict=True)
    ]


def _utterances(cues: list[_Cue]) -> list[Utterance]:
    """Cues as utterances. A voice that names a role ("Agent", "Caller") is that role. Other
    names are people's: with no role named in the file they become labels "spk0", "spk1", ...
    in order of first appearance (the names are not kept), which the scoring turns into agent
    and customer from what each says; beside named roles they are "unknown"."""
    roles = {c.voice: SPEAKER_NAMES.get(c.voice.lower()) for c in cues if c.voice}
    named_roles = any(r in (AGENT, CUSTOMER) for r in roles.values())
    people = [v for v, r in roles.items() if r is None]
    labels = {v: UNKNOWN if named_roles else f"spk{k}" for k, v in enumerate(people)}
    out = []
    for c in cues:
        speaker = UNKNOWN if c.voice is None else roles[c.voice] or labels[c.voice]
        out.append(
            Utterance(
                speaker, c.start, c.end, c.text, spread_words(c.text, c.start, c.end, speaker)
            )
        )
    return out


def parse_vtt(raw: str, path: Path, *, language: str | None = None) -> Transcript:
    """Parse WebVTT (``raw``, read from ``path``); ``<v Name>`` tags give the speaker."""
    _bounded(raw.count("-->"), 0, path)  # before a million cues are built
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, i = _header(lines, path)
    code = language if language is not None else meta.get("language")
    if code is None:
        raise TranscriptError(
            f"{path}: no language; add a 'Language: en' line under WEBVTT or pass --language"
        )
    cues: list[_Cue] = []
    block: list[str] = []
    for n, line in enumerate([*lines[i:], ""], start=i + 1):
        if line.strip():
            block.append(line.strip())
            continue
        if block:
            cue = _cue(block, path, n - len(block))
            if cue is not None:
                cues.append(cue)
            block = []
    segments = _utterances(_labelled(cues))
    _bounded(len(segments), sum(len(s.words) for s in segments), path)
    return Transcript(
        language=_language(code, str(path)),
        segments=tuple(sorted(segments, key=lambda s: (s.start, s.end))),
        language_source="file",
    )
