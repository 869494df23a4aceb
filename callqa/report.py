"""The coach's call report: one self-contained HTML page per scorecard, and a Markdown summary.

Both read the scorecard's plain-data form (:func:`callqa.scorecard.to_dict`, documented in
docs/scorecard.md), so they work the same on a fresh result and on a JSON file read back from
disk. Every part but ``call_id`` may be missing or None: a scorecard built from a transcript
file has no dynamics and no voice measures, and the page says so instead of failing.

::

    scorecard dict -> _view (plain data: sections, transcript lines, timeline, contours)
                   -> Jinja2 template (autoescape) + inlined CSS/JS + Plotly's offline bundle
                   -> one HTML file that works offline

The page's charts are drawn in the browser by Plotly (its minified bundle is read from the
installed ``plotly`` package and inlined, or written once next to the reports with
``shared_assets=True``). Clicking a transcript line, a timeline mark or a piece of evidence
plays the audio from that moment.

With redaction on, the page never plays the original recording where the scorecard lists
personal data: :func:`redact_report_audio` writes a copy with the recorded spans silenced
(``<report>.redacted.flac``), and that copy is embedded or linked instead.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from callqa.errors import AudioError, CallQAError
from callqa.fsutil import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from callqa.redact import PiiSpan

__all__ = [
    "PLOTLY_FILENAME",
    "REDACTED_SUFFIX",
    "audio_data_uri",
    "load_scorecard",
    "plotly_js",
    "recorded_spans",
    "redact_report_audio",
    "render_call_report",
    "render_markdown",
    "report_from_input",
    "write_call_report",
]

PLOTLY_FILENAME = "plotly.min.js"  # written beside the reports with shared_assets=True
REDACTED_SUFFIX = ".redacted.flac"  # the redacted audio copy beside a report: <name>.redacted.flac
EMBED_MAX_BYTES = 8_000_000  # larger audio is re-encoded to Opus before embedding (~0.25 MB/min)
_OPUS_BITRATE = "32k"  # stereo speech stays clear at 32 kbit/s (Opus "fullband speech" range)
_MATCH_TOLERANCE_S = 0.35  # evidence and transcript times may differ by Whisper's word jitter
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
_SCORECARD_SUFFIXES = {".json"}
_CONTOUR_GAP_S = 0.75  # contours come in 0.5 s steps; a longer jump is a pause (draw a gap)
_SPEAKER_ORDER = ("agent", "customer", "unknown")
_SPEAKER_LABEL = {"agent": "Agent", "customer": "Customer", "unknown": "Speaker"}
_VERDICT_LABEL = {"pass": "Pass", "fail": "Fail", "na": "N/A"}


# ---------------------------------------------------------------------------- public API


def render_call_report(card: Mapping[str, Any], *, audio_src: str | None) -> str:
    """The call report as one HTML document.

    Parameters
    ----------
    card : dict
        A scorecard in its JSON form (:func:`callqa.scorecard.to_dict`).
    audio_src : str or None
        What the page's ``<audio>`` element plays: a ``data:`` URI (see :func:`audio_data_uri`),
        a path relative to the report, or None for a page without audio.

    Returns
    -------
    str
        A complete HTML document; Plotly's bundle is inlined (about 4.8 MB).
    """
    return _render(card, audio_src=audio_src, plotly_src=None)


def write_call_report(
    card: Mapping[str, Any],
    out: Path,
    *,
    audio_path: Path | None = None,
    link_audio: bool = False,
    shared_assets: bool = False,
) -> Path:
    """Write the call report of ``card`` to ``out`` (atomically).

    Parameters
    ----------
    card : dict
        A scorecard in its JSON form.
    out : Path
        The HTML file to write; its directory must exist.
    audio_path : Path or None
        The call's audio. Embedded in the page as a ``data:`` URI unless ``link_audio``.
    link_audio : bool
        Reference ``audio_path`` by a path relative to ``out`` instead of embedding it (the
        audio must then stay next to the report).
    shared_assets : bool
        Write Plotly's bundle once as ``plotly.min.js`` beside ``out`` and reference it, instead
        of inlining 4.8 MB into every report (for batches of reports in one folder).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    AudioError
        ``audio_path`` does not exist or cannot be read.
    """
    out = Path(out)
    audio_src = None
    if audio_path is not None:
        audio_src = _relative_src(audio_path, out) if link_audio else audio_data_uri(audio_path)
    plotly_src = None
    if shared_assets:
        _ensure_shared_plotly(out.parent)
        plotly_src = PLOTLY_FILENAME
    return atomic_write_text(out, _render(card, audio_src=audio_src, plotly_src=plotly_src))


def load_scorecard(path: Path) -> dict[str, Any]:
    """Read a scorecard JSON file (as written by ``callqa score --format json``).

    Raises
    ------
    CallQAError
        The file cannot be read, is not JSON, or has no ``call_id``.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CallQAError(
            f"cannot read scorecard {path}: {exc}; give a file written by "
            "'callqa score --format json'"
        ) from exc
    if not isinstance(data, dict) or "call_id" not in data:
        raise CallQAError(
            f"{path} is not a callqa scorecard (no call_id); give a file written by "
            "'callqa score --format json'"
        )
    return data


def report_from_input(
    source: Path,
    out: Path,
    *,
    audio: Path | None = None,
    link_audio: bool = False,
    config_path: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Write the report of a scorecard JSON file, or score an audio file first.

    The report never carries the original recording where the scorecard lists personal data:

    - a recording is scored with redaction as configured; when personal data was found, the
      report plays a copy with those spans silenced;
    - a scorecard that references a redacted copy (``redaction.audio_path``, written by
      ``callqa score --redact-audio``) plays that copy when no ``audio`` is given;
    - otherwise the scorecard's recorded span times (``redaction.spans``) are silenced in a
      copy of the audio; a scorecard that records no redaction gets the original, and
      ``warn`` is told so.

    Parameters
    ----------
    source : Path
        A scorecard ``.json`` file, or a call recording (scored with the configured model).
    out : Path
        The HTML file to write.
    audio : Path or None
        The call's audio when ``source`` is a scorecard; by default the redacted copy the
        scorecard references, else its ``source.path``, when that file exists (as given, or
        next to the JSON file).
    link_audio : bool
        Reference the audio file instead of embedding it; a redacted copy is then written
        beside ``out`` as ``<out stem>.redacted.flac``.
    config_path : Path or None
        Config file: scoring settings when ``source`` is audio, ``[redaction]`` padding and
        tone for both.
    warn : callable taking str, optional
        Receives a one-line warning when the report carries unredacted audio of a scorecard
        that records no redaction (default: :func:`warnings.warn`).

    Raises
    ------
    CallQAError
        Unreadable scorecard, audio that cannot be read, decoded, redacted or re-encoded, or
        a scoring error.
    """
    source, out = Path(source), Path(out)
    with tempfile.TemporaryDirectory(prefix="callqa-report-") as tmp:
        folder = out.parent if link_audio else Path(tmp)
        copy_path = folder / f"{out.stem}{REDACTED_SUFFIX}"
        if source.suffix.lower() in _SCORECARD_SUFFIXES:
            card = load_scorecard(source)
            audio = _scorecard_audio(card, source.parent, audio, copy_path, config_path, warn)
        else:
            card, audio = _score_audio(source, config_path, copy_path)
        return write_call_report(card, out, audio_path=audio, link_audio=link_audio)


def recorded_spans(card: Mapping[str, Any]) -> tuple[PiiSpan, ...] | None:
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
    from callqa.redact import PiiSpan

    red = card.get("redaction")
    if not isinstance(red, Mapping) or not red.get("enabled"):
        return None
    spans = [
        PiiSpan(str(s.get("type") or ""), str(s.get("speaker") or ""), start, end, ())
        for s in red.get("spans") or ()
        if isinstance(s, Mapping)
        and (start := _num(s.get("start"))) is not None
        and (end := _num(s.get("end"))) is not None
    ]
    counted = sum(int(v) for v in (red.get("counts") or {}).values() if _num(v) is not None)
    if counted > len(spans):
        raise CallQAError(
            f"the scorecard counts {counted} redacted spans but gives times for {len(spans)}; "
            "cannot silence them in the audio (score the call again)"
        )
    return tuple(spans)


def redact_report_audio(
    card: Mapping[str, Any],
    audio_path: Path,
    copy_path: Path,
    *,
    pad_s: float = 0.15,
    tone_hz: float = 1000.0,
) -> Path:
    """The audio a report may carry: ``audio_path`` with the scorecard's recorded spans silenced.

    Parameters
    ----------
    card : dict
        A scorecard in its JSON form; its ``redaction.spans`` give the times to blank and
        ``redaction.audio_mode`` ("silence" or "tone") how.
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
    from callqa.audio import load_audio
    from callqa.redact import redact_audio

    mode = str((card.get("redaction") or {}).get("audio_mode") or "silence")
    audio = load_audio(audio_path)
    return redact_audio(audio, spans, copy_path, mode=mode, pad_s=pad_s, tone_hz=tone_hz)


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
        data, mime = _to_opus(path), "audio/ogg"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """Plotly's minified browser bundle, read from the installed ``plotly`` package."""
    try:
        text = resources.files("plotly").joinpath("package_data/plotly.min.js").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:  # pragma: no cover - install issue
        raise CallQAError(
            "plotly's bundle is missing; reinstall with 'pip install plotly'"
        ) from exc
    return text.replace("</script", "<\\/script")  # harmless in JS, keeps the tag closed


# ---------------------------------------------------------------------------- Markdown


def render_markdown(card: Mapping[str, Any]) -> str:
    """A compact Markdown summary of the scorecard, fit for pasting into a ticket.

    Gives the overall and section scores, every failed item with its coaching tip and first
    piece of evidence (time-stamped), auto-fails and warnings.
    """
    lines = [
        f"**Call {_md(card.get('call_id', '?'))}** — score **{_score_text(card.get('score'))}/100**"
    ]
    lines.append(_md(_facts_line(card)))
    if card.get("auto_failed"):
        lines.append(f"**Auto-fail:** {', '.join(_md(a) for a in card['auto_failed'])}")
    lines += ["", "| Section | Score | Failed items |", "|---|---:|---|"]
    view = _sections(card, {})
    for sec in view:
        failed = ", ".join(_md(i.title) for i in sec.items if i.verdict == "fail") or "—"
        lines.append(f"| {_md(sec.title)} | {_score_text(sec.score)} | {failed} |")
    fails = [i for sec in view for i in sec.items if i.verdict == "fail"]
    if fails:
        lines += ["", "**To work on**"]
        lines += [_md_fail(item) for item in fails]
    for warning in card.get("warnings") or ():
        lines.append(f"\n> ⚠ {_md(warning)}")
    return "\n".join(lines) + "\n"


def _md_fail(item: _Item) -> str:
    text = f"- **{_md(item.title)}**"
    if item.tip:
        text += f" — {_md(item.tip)}"
    quoted = [e for e in item.evidence if e.text]
    if quoted:
        ev = quoted[0]
        text += (
            f" ({_clock(ev.start)} {_speaker_label(ev.speaker)}: “{_md(_shorten(ev.text, 90))}”)"
        )
    return text


def _md(text: Any) -> str:
    """Escape the characters that would break a Markdown table or add markup."""
    out = str(text).replace("\\", "\\\\").replace("\n", " ")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


# ---------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class _EvidenceView:
    """One piece of evidence: where it points in the transcript and when to play from."""

    id: str
    target: str  # DOM id of the highlighted words or transcript line
    speaker: str
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class _Item:
    """A rubric item joined with its check result."""

    id: str
    title: str
    verdict: str
    score: float | None
    weight: float | None
    auto_fail: bool
    tip: str
    reason: str
    evidence: tuple[_EvidenceView, ...]


@dataclass(frozen=True)
class _Section:
    id: str
    title: str
    score: float | None
    items: tuple[_Item, ...]


@dataclass(frozen=True)
class _Run:
    """A piece of a transcript line, highlighted (``mark``) when evidence cites it."""

    text: str
    mark: str | None = None
    verdict: str = ""
    cited_by: str = ""


@dataclass(frozen=True)
class _Line:
    id: str
    speaker: str
    start: float
    end: float
    runs: tuple[_Run, ...]
    cited: str = ""  # verdict class when the whole line is evidence


def _render(card: Mapping[str, Any], *, audio_src: str | None, plotly_src: str | None) -> str:
    lines, targets = _transcript(card)
    sections = _sections(card, targets)
    timeline = _timeline(card)
    data = {
        "duration": _duration(card),
        "labels": {s: _speaker_label(s) for s in _speakers(card)},
        "timeline": timeline,
        "contours": _contours(card),
        "lines": [{"id": ln.id, "start": ln.start, "end": ln.end} for ln in lines],
    }
    env = _environment()
    return env.get_template("report.html.j2").render(
        card=card,
        title=f"Call {card.get('call_id', '')}",
        facts=_facts(card),
        score=card.get("score"),
        band=_band(card.get("score")),
        sections=sections,
        counts=_verdict_counts(sections),
        lines=lines,
        warnings=list(card.get("warnings") or ()),
        auto_failed=list(card.get("auto_failed") or ()),
        moments=_moments(timeline),
        has_dynamics=bool(_metrics(card).get("dynamics")),
        has_voice=bool(data["contours"]),
        audio_src=audio_src,
        plotly_src=plotly_src,
        plotly_inline=Markup(plotly_js()) if plotly_src is None else "",
        css=Markup(_static("base.css") + _static("report.css")),
        js=Markup(_static("report.js")),
        data_json=script_json(data),
        clock=_clock,
        label=_speaker_label,
        score_text=_score_text,
        verdict_label=_VERDICT_LABEL,
    )


def _metrics(card: Mapping[str, Any]) -> Mapping[str, Any]:
    return card.get("metrics") or {}


def _duration(card: Mapping[str, Any]) -> float:
    """The call length (s): the scorecard's, else the end of the last segment."""
    value = _num(card.get("duration_s")) or _num(_metrics(card).get("duration_s"))
    if value:
        return value
    ends = [_num(s.get("end")) or 0.0 for s in _segments(card)]
    return max(ends, default=0.0)


def _segments(card: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    transcript = card.get("transcript") or {}
    segs = [s for s in transcript.get("segments") or () if isinstance(s, Mapping)]
    return sorted(segs, key=lambda s: _num(s.get("start")) or 0.0)


def _speakers(card: Mapping[str, Any]) -> list[str]:
    """Speakers of the call in display order: agent, customer, unknown, then any others."""
    found = {str(s.get("speaker") or "unknown") for s in _segments(card)}
    found |= {str(t["speaker"]) for t in _turns(card)}
    known = [s for s in _SPEAKER_ORDER if s in found]
    return known + sorted(found - set(known))


def _facts(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Label/value pairs for the page header."""
    model = card.get("model") or {}
    transcript = card.get("transcript") or {}
    facts = [
        ("Duration", _clock(_duration(card))),
        ("Language", str(card.get("language") or transcript.get("language") or "?")),
        ("Audio", _channel_text(card)),
        ("Model", " ".join(str(model.get(k)) for k in ("backend", "name") if model.get(k))),
        ("Rubric", str(card.get("rubric") or "")),
        ("Agent talk share", _pct(_metrics(card).get("agent_talk_share"))),
        ("Scored", str(card.get("created_at") or "")[:16].replace("T", " ")),
    ]
    return [(k, v) for k, v in facts if v]


def _facts_line(card: Mapping[str, Any]) -> str:
    return " · ".join(v for k, v in _facts(card) if k in ("Duration", "Language", "Audio"))


def _channel_text(card: Mapping[str, Any]) -> str:
    channels = card.get("channels")
    if channels == 2:
        agent = card.get("agent_channel")
        return f"stereo, agent {agent}" if agent else "stereo"
    if channels == 1:
        return "mono"
    if channels == 0:
        return "transcript only"
    return ""


def _sections(card: Mapping[str, Any], targets: Mapping[str, str]) -> list[_Section]:
    """Rubric sections with each item joined to its check (checks no section lists go last)."""
    checks = {str(c.get("id")): c for c in card.get("checks") or () if isinstance(c, Mapping)}
    order = {cid: i for i, cid in enumerate(checks)}
    sections, listed = [], set()
    for sec in card.get("sections") or ():
        items = tuple(
            _item(it, checks.get(str(it.get("id"))), order, targets)
            for it in sec.get("items") or ()
        )
        listed |= {i.id for i in items}
        sections.append(
            _Section(
                str(sec.get("id", "")),
                str(sec.get("title") or sec.get("id") or ""),
                _num(sec.get("score")),
                items,
            )
        )
    rest = tuple(
        _item({"id": cid}, c, order, targets) for cid, c in checks.items() if cid not in listed
    )
    if rest:
        sections.append(_Section("other", "Other checks", None, rest))
    return sections


def _item(
    item: Mapping[str, Any],
    check: Mapping[str, Any] | None,
    order: Mapping[str, int],
    targets: Mapping[str, str],
) -> _Item:
    check = check or {}
    cid = str(item.get("id") or check.get("id") or "")
    verdict = str(item.get("verdict") or check.get("verdict") or "na")
    details = check.get("details") or {}
    index = order.get(cid, 0)
    evidence = tuple(
        _evidence_view(f"ev-{index}-{j}", ev, targets)
        for j, ev in enumerate(check.get("evidence") or ())
        if isinstance(ev, Mapping)
    )
    return _Item(
        id=cid,
        title=str(item.get("title") or _title_from_id(cid)),
        verdict=verdict if verdict in _VERDICT_LABEL else "na",
        score=_num(item.get("score", check.get("score"))),
        weight=_num(item.get("weight")),
        auto_fail=bool(item.get("auto_fail")) or cid in (details.get("auto_fail_ids") or ()),
        tip=str(check.get("tip") or ""),
        reason=str(details.get("reason") or "") if isinstance(details, Mapping) else "",
        evidence=evidence,
    )


def _evidence_view(ev_id: str, ev: Mapping[str, Any], targets: Mapping[str, str]) -> _EvidenceView:
    return _EvidenceView(
        id=ev_id,
        target=targets.get(ev_id, ""),
        speaker=str(ev.get("speaker") or ""),
        start=_num(ev.get("start")) or 0.0,
        end=_num(ev.get("end")) or 0.0,
        text=str(ev.get("text") or ""),
    )


def _title_from_id(check_id: str) -> str:
    tail = check_id.rsplit(".", 1)[-1]
    return tail.replace("_", " ").capitalize() or check_id


def _verdict_counts(sections: Iterable[_Section]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "na": 0}
    for sec in sections:
        for item in sec.items:
            counts[item.verdict] += 1
    return counts


# ---------------------------------------------------------------------------- transcript


def _transcript(card: Mapping[str, Any]) -> tuple[list[_Line], dict[str, str]]:
    """Transcript lines with evidence highlighted, and evidence id -> DOM id of its target."""
    segments = _segments(card)
    spans: dict[int, list[tuple[int, int, str, str, str]]] = {}
    whole: dict[int, str] = {}
    targets: dict[str, str] = {}
    for ev_id, check, ev in _all_evidence(card):
        hit = _locate(ev, segments)
        if hit is None:
            continue
        seg, lo, hi = hit
        verdict = str(check.get("verdict") or "na")
        if lo is None or hi is None:
            whole.setdefault(seg, verdict)
            targets[ev_id] = f"seg-{seg}"
            continue
        taken = next((s for s in spans.get(seg, ()) if lo < s[1] and s[0] < hi), None)
        if taken is None:
            spans.setdefault(seg, []).append((lo, hi, ev_id, verdict, str(check.get("id"))))
            targets[ev_id] = ev_id
        else:
            targets[ev_id] = taken[2]
    lines = [
        _Line(
            id=f"seg-{i}",
            speaker=str(s.get("speaker") or "unknown"),
            start=_num(s.get("start")) or 0.0,
            end=_num(s.get("end")) or 0.0,
            runs=_runs(str(s.get("text") or "").strip(), spans.get(i, [])),
            cited=whole.get(i, ""),
        )
        for i, s in enumerate(segments)
    ]
    return lines, targets


def _all_evidence(
    card: Mapping[str, Any],
) -> Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    for i, check in enumerate(c for c in card.get("checks") or () if isinstance(c, Mapping)):
        for j, ev in enumerate(check.get("evidence") or ()):
            if isinstance(ev, Mapping):
                yield f"ev-{i}-{j}", check, ev


def _locate(
    ev: Mapping[str, Any], segments: list[Mapping[str, Any]]
) -> tuple[int, int | None, int | None] | None:
    """Where evidence sits: (segment index, char start, char end), chars None for the whole line."""
    start, end = _num(ev.get("start")), _num(ev.get("end"))
    if start is None:
        return None
    end = max(end if end is not None else start, start)
    speaker = ev.get("speaker")
    candidates = [
        i
        for i, s in enumerate(segments)
        if (not speaker or s.get("speaker") in (speaker, None, "unknown") or speaker == "unknown")
        and (_num(s.get("start")) or 0.0) - _MATCH_TOLERANCE_S <= end
        and start <= (_num(s.get("end")) or 0.0) + _MATCH_TOLERANCE_S
    ]
    needle = str(ev.get("text") or "").strip()
    for i in candidates:
        pos = _find(str(segments[i].get("text") or "").strip(), needle)
        if pos is not None:
            return i, pos, pos + len(needle)
    return (candidates[0], None, None) if candidates else None


def _find(haystack: str, needle: str) -> int | None:
    """Case-insensitive position of ``needle`` in ``haystack`` (None when absent or empty)."""
    if not needle:
        return None
    lower_ok = len(haystack.lower()) == len(haystack) and len(needle.lower()) == len(needle)
    pos = haystack.lower().find(needle.lower()) if lower_ok else haystack.find(needle)
    return pos if pos >= 0 else None


def _runs(text: str, spans: list[tuple[int, int, str, str, str]]) -> tuple[_Run, ...]:
    runs, cursor = [], 0
    for lo, hi, ev_id, verdict, check_id in sorted(spans):
        if lo > cursor:
            runs.append(_Run(text[cursor:lo]))
        runs.append(_Run(text[lo:hi], mark=ev_id, verdict=verdict, cited_by=check_id))
        cursor = hi
    if cursor < len(text) or not runs:
        runs.append(_Run(text[cursor:]))
    return tuple(runs)


# ---------------------------------------------------------------------------- timeline, voice


def _turns(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Speech stretches for the timeline: dynamics turns when given, else transcript segments."""
    dyn = _metrics(card).get("dynamics") or {}
    turns = dyn.get("turns") if isinstance(dyn, Mapping) else None
    source = turns if isinstance(turns, list) and turns else _segments(card)
    return [
        {
            "speaker": str(t.get("speaker") or "unknown"),
            "start": _num(t.get("start")) or 0.0,
            "end": _num(t.get("end")) or 0.0,
        }
        for t in source
        if isinstance(t, Mapping)
    ]


def _timeline(card: Mapping[str, Any]) -> dict[str, Any]:
    """Turns and marks (interruptions, overlaps, silences, hold) as plain data for the chart."""
    dyn = _metrics(card).get("dynamics")
    dyn = dyn if isinstance(dyn, Mapping) else {}
    events = [
        _interruption(e)
        for e in _listed(dyn, "interruptions", "overlaps")
        if _num(e.get("start")) is not None
    ]
    return {
        "turns": _turns(card),
        "interruptions": [e for e in events if e["kind"] != "backchannel"],
        "backchannels": [e for e in events if e["kind"] == "backchannel"],
        "silences": _periods(_listed(dyn, "non_talk", "silences", "long_silences")),
        "holds": _periods(_listed(dyn, "holds", "hold", "hold_periods")),
    }


def _listed(dyn: Mapping[str, Any], *names: str) -> list[Mapping[str, Any]]:
    """The first list found under one of ``names`` (also inside a dict's "events"/"periods")."""
    for name in names:
        value = dyn.get(name)
        if isinstance(value, Mapping):
            value = next(
                (value[k] for k in ("events", "periods", "list", "items") if k in value), None
            )
        if isinstance(value, list | tuple):
            return [_as_period(v) for v in value]
    return []


def _as_period(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, list | tuple) and len(value) >= 2:
        return {"start": value[0], "end": value[1]}
    return {}


def _interruption(e: Mapping[str, Any]) -> dict[str, Any]:
    start = _num(e.get("start")) or 0.0
    overlap = _num(e.get("overlap_s")) or _num(e.get("duration_s"))
    end = _num(e.get("end")) or (start + overlap if overlap else start)
    return {
        "start": start,
        "end": end,
        "by": str(e.get("interrupter") or e.get("by") or e.get("speaker") or "unknown"),
        "of": str(e.get("interrupted") or ""),
        "kind": str(e.get("kind") or "competitive"),
        "overlap_s": overlap if overlap is not None else max(0.0, end - start),
        "text": str(e.get("words") or e.get("text") or ""),
    }


def _periods(items: Iterable[Mapping[str, Any]]) -> list[dict[str, float]]:
    out = []
    for p in items:
        start, end = _num(p.get("start")), _num(p.get("end"))
        if start is not None and end is not None and end > start:
            out.append({"start": start, "end": end})
    return out


def _moments(timeline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Timeline marks as a list a coach can read and click (sorted by time)."""
    items = [_interruption_moment(e) for e in timeline["interruptions"]]
    for kind, title in (("silences", "Silence"), ("holds", "Hold")):
        items += [
            {"kind": title.lower(), "start": p["start"], "speaker": "", "quote": "",
             "text": f"{title}, {p['end'] - p['start']:.1f} s"}
            for p in timeline[kind]
        ]  # fmt: skip
    return sorted(items, key=lambda m: m["start"])


def _interruption_moment(e: Mapping[str, Any]) -> dict[str, Any]:
    victim = _speaker_label(e["of"]).lower() if e["of"] else "the other party"
    return {
        "kind": "interruption",
        "start": e["start"],
        "speaker": e["by"],
        "text": f"{_speaker_label(e['by'])} interrupted {victim} "
        f"({e['kind']}, {e['overlap_s']:.1f} s overlap)",
        "quote": e["text"],
    }


def _contours(card: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-speaker pitch (Hz) and level (dBFS) contours from ``metrics.voice`` (may be empty)."""
    found: list[dict[str, Any]] = []
    _collect_contours(_metrics(card).get("voice"), "", found, depth=0)
    return found


def _contour(speaker: str, node: Mapping[str, Any]) -> dict[str, Any]:
    """One speaker's contour, with a None inserted wherever the steps jump (no line across gaps)."""
    t, f0, level = [], [], []
    times = [_num(v) for v in node.get("contour_t") or ()]
    f0s = list(node.get("contour_f0_hz") or ())
    levels = list(node.get("contour_level_db") or ())
    previous = None
    for i, x in enumerate(times):
        if x is None:
            continue
        if previous is not None and x - previous > _CONTOUR_GAP_S:
            t.append(0.5 * (x + previous))
            f0.append(None)
            level.append(None)
        t.append(x)
        f0.append(_num(f0s[i]) if i < len(f0s) else None)
        level.append(_num(levels[i]) if i < len(levels) else None)
        previous = x
    return {"speaker": speaker, "t": t, "f0": f0, "level": level}


def _collect_contours(node: Any, key: str, found: list[dict[str, Any]], *, depth: int) -> None:
    if depth > 4:
        return
    if isinstance(node, Mapping):
        if node.get("contour_t"):
            found.append(_contour(str(node.get("speaker") or key or "unknown"), node))
            return
        for k, v in node.items():
            _collect_contours(v, str(k), found, depth=depth + 1)
    elif isinstance(node, list | tuple):
        for v in node:
            _collect_contours(v, key, found, depth=depth + 1)


# ---------------------------------------------------------------------------- helpers


def script_json(data: Any) -> Markup:
    """JSON safe inside an HTML ``<script>`` element: ``<``, ``>``, ``&`` and U+2028/9 escaped.

    Escaping ``<`` covers ``</script>`` and ``<!--`` whatever text the transcript holds.
    """
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return Markup(text)


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("callqa", "templates"),
        autoescape=True,  # every template is HTML; transcript text is never trusted
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.lru_cache(maxsize=8)
def _static(name: str) -> str:
    text = resources.files("callqa").joinpath(f"static/{name}").read_text("utf-8")
    return text.replace("</", "<\\/") if name.endswith(".js") else text


def _num(value: Any) -> float | None:
    """A finite float, or None (for None, strings, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _clock(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` from one hour) for a time in seconds."""
    if seconds is None:
        return "–"
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _pct(share: Any) -> str:
    value = _num(share)
    return "" if value is None else f"{100 * value:.0f}%"


def _score_text(score: Any) -> str:
    value = _num(score)
    return "–" if value is None else f"{value:.0f}"


def _band(score: Any) -> str:
    """Colour band of a 0-100 score: good >= 80, fair >= 60, poor below (see docs/report.md)."""
    value = _num(score)
    if value is None:
        return "none"
    return "good" if value >= 80 else "fair" if value >= 60 else "poor"


def _speaker_label(speaker: str) -> str:
    return _SPEAKER_LABEL.get(speaker, speaker.replace("_", " ").title())


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _relative_src(audio_path: Path, out: Path) -> str:
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
        import os

        rel = Path(os.path.relpath(audio, base)).as_posix()
    return quote(rel)


def _ensure_shared_plotly(folder: Path) -> None:
    target = Path(folder) / PLOTLY_FILENAME
    content = plotly_js().encode("utf-8")
    if not target.is_file() or target.stat().st_size != len(content):
        atomic_write_bytes(target, content)


def _to_opus(path: Path) -> bytes:
    """Re-encode ``path`` to Ogg/Opus with ffmpeg (both channels kept)."""
    if shutil.which("ffmpeg") is None:
        raise AudioError(f"{path} is too large to embed and ffmpeg is missing; use --link-audio")
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "audio.ogg"
        cmd = [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-c:a",
            "libopus",
            "-b:a",
            _OPUS_BITRATE,
            str(target),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not target.is_file():
            reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise AudioError(f"cannot re-encode {path} for embedding ({reason}); use --link-audio")
        return target.read_bytes()


def _find_audio(card: Mapping[str, Any], folder: Path) -> Path | None:
    """The scorecard's ``source.path`` if that file exists (as given or next to the JSON file).

    None for a scorecard made from a transcript file (its source is text, not audio).
    """
    model = card.get("model")
    from_text = isinstance(model, Mapping) and model.get("backend") == "transcript-file"
    if from_text or card.get("channels") == 0:
        return None
    return _existing_file((card.get("source") or {}).get("path"), folder)


def _redacted_copy(card: Mapping[str, Any], folder: Path) -> Path | None:
    """The redacted audio copy the scorecard references (``redaction.audio_path``), if found."""
    red = card.get("redaction")
    return _existing_file(red.get("audio_path") if isinstance(red, Mapping) else None, folder)


def _existing_file(name: Any, folder: Path) -> Path | None:
    """``name`` as given, else in ``folder``, else its file name in ``folder`` (None if absent)."""
    if not name or not isinstance(name, str):
        return None
    for candidate in (Path(name), folder / name, folder / Path(name).name):
        if candidate.is_file():
            return candidate
    return None


def _scorecard_audio(
    card: Mapping[str, Any],
    folder: Path,
    audio: Path | None,
    copy_path: Path,
    config_path: Path | None,
    warn: Callable[[str], None] | None,
) -> Path | None:
    """The audio a scorecard's report carries (see :func:`report_from_input`)."""
    copy = _redacted_copy(card, folder)
    if audio is None and copy is not None:
        return copy
    audio = audio if audio is not None else _find_audio(card, folder)
    if audio is None or (copy is not None and audio.resolve() == copy.resolve()):
        return audio
    if recorded_spans(card) is None:
        (warn or _warn)(
            f"the report carries the original, unredacted audio {audio}: the scorecard "
            "references no redacted copy and records no redaction"
        )
        return audio
    _check_same_recording(card, audio, warn or _warn)
    from callqa.config import load_config

    red = load_config(config_path).redaction
    return redact_report_audio(card, audio, copy_path, pad_s=red.audio_pad_s, tone_hz=red.tone_hz)


def _check_same_recording(
    card: Mapping[str, Any], audio: Path, warn: Callable[[str], None]
) -> None:
    """Warn when ``audio`` is not the file the scorecard was made from (spans may not line up)."""
    from callqa.audio import sha256_file

    expected = (card.get("source") or {}).get("sha256")
    if expected and sha256_file(audio) != expected:
        warn(
            f"{audio} is not the file this scorecard was made from (sha256 differs): the "
            "silenced spans line up only if it is the same recording in another format"
        )


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=4)


def _score_audio(
    path: Path, config_path: Path | None, copy_path: Path
) -> tuple[dict[str, Any], Path]:
    """Score a recording with the configured model (heavy: loads Whisper).

    Returns the scorecard and the audio the report may carry: with redaction on and personal
    data found, a copy (``copy_path``) with those spans silenced; else the recording itself.
    """
    from callqa.config import load_config
    from callqa.pipeline import analyse_call
    from callqa.redact import redact_audio
    from callqa.scorecard import to_dict
    from callqa.transcribe import load_transcriber

    if not path.is_file():
        raise AudioError(f"file not found: {path}")
    config = load_config(config_path)
    transcriber = load_transcriber(config.transcription)
    result = analyse_call(path, transcriber=transcriber, config=config)
    red = config.redaction
    if not (red.enabled and result.pii) or result.audio is None:
        return to_dict(result.scorecard), path
    redact_audio(
        result.audio,
        result.pii,
        copy_path,
        mode=red.audio_mode,
        pad_s=red.audio_pad_s,
        tone_hz=red.tone_hz,
    )
    return to_dict(result.scorecard), copy_path
