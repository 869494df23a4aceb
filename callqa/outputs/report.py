"""The coach's call report: one self-contained HTML page per scorecard, and a Markdown summary.

Both read the scorecard's plain-data form (:func:`callqa.scoring.scorecard.to_dict`, documented in
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
personal data: :func:`callqa.privacy.audio.redact_card_audio` writes a copy with the recorded
spans silenced
(``<report>.redacted.flac``), and that copy is embedded or linked instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from callqa.files import atomic_write_text
from callqa.outputs.html import (
    SPEAKER_ORDER,
    VERDICT_LABEL,
    as_plain,
    band,
    clock,
    environment,
    num,
    pct,
    score_text,
    script_json,
    speaker_label,
    static_text,
    title_from_id,
)
from callqa.outputs.media import (
    PLOTLY_FILENAME,
    audio_data_uri,
    ensure_shared_plotly,
    plotly_js,
    relative_src,
)

_MATCH_TOLERANCE_S = 0.35  # evidence and transcript times may differ by Whisper's word jitter


_CONTOUR_GAP_S = 0.75  # contours come in 0.5 s steps; a longer jump is a pause (draw a gap)


# ---------------------------------------------------------------------------- public API


def render_call_report(card: Any, *, audio_src: str | None) -> str:
    """The call report as one HTML document.

    Parameters
    ----------
    card : dict
        A scorecard in its JSON form (:func:`callqa.scoring.scorecard.to_dict`).
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
    card: Any,
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
        audio_src = relative_src(audio_path, out) if link_audio else audio_data_uri(audio_path)
    plotly_src = None
    if shared_assets:
        ensure_shared_plotly(out.parent)
        plotly_src = PLOTLY_FILENAME
    return atomic_write_text(out, _render(card, audio_src=audio_src, plotly_src=plotly_src))


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
class Item:
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
    items: tuple[Item, ...]


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


def _render(card: Any, *, audio_src: str | None, plotly_src: str | None) -> str:
    card = as_plain(card)
    lines, targets = _transcript(card)
    sections = sections_view(card, targets)
    timeline = _timeline(card)
    data = {
        "duration": _duration(card),
        "labels": {s: speaker_label(s) for s in _speakers(card)},
        "timeline": timeline,
        "contours": _contours(card),
        "lines": [{"id": ln.id, "start": ln.start, "end": ln.end} for ln in lines],
    }
    env = environment()
    return env.get_template("report.html.j2").render(
        card=card,
        title=f"Call {card.get('call_id', '')}",
        facts=_facts(card),
        score=card.get("score"),
        band=band(card.get("score")),
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
        css=Markup(static_text("base.css") + static_text("report.css")),
        js=Markup(static_text("report.js")),
        data_json=script_json(data),
        clock=clock,
        label=speaker_label,
        score_text=score_text,
        verdict_label=VERDICT_LABEL,
    )


def _metrics(card: Mapping[str, Any]) -> Mapping[str, Any]:
    return card.get("metrics") or {}


def _duration(card: Mapping[str, Any]) -> float:
    """The call length (s): the scorecard's, else the end of the last segment."""
    value = num(card.get("duration_s")) or num(_metrics(card).get("duration_s"))
    if value:
        return value
    ends = [num(s.get("end")) or 0.0 for s in _segments(card)]
    return max(ends, default=0.0)


def _segments(card: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    transcript = card.get("transcript") or {}
    segs = [s for s in transcript.get("segments") or () if isinstance(s, Mapping)]
    return sorted(segs, key=lambda s: num(s.get("start")) or 0.0)


def _speakers(card: Mapping[str, Any]) -> list[str]:
    """Speakers of the call in display order: agent, customer, unknown, then any others."""
    found = {str(s.get("speaker") or "unknown") for s in _segments(card)}
    found |= {str(t["speaker"]) for t in _turns(card)}
    known = [s for s in SPEAKER_ORDER if s in found]
    return known + sorted(found - set(known))


def _facts(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Label/value pairs for the page header."""
    model = card.get("model") or {}
    transcript = card.get("transcript") or {}
    facts = [
        ("Duration", clock(_duration(card))),
        ("Language", str(card.get("language") or transcript.get("language") or "?")),
        ("Audio", _channel_text(card)),
        ("Model", " ".join(str(model.get(k)) for k in ("backend", "name") if model.get(k))),
        ("Rubric", str(card.get("rubric") or "")),
        ("Agent talk share", pct(_metrics(card).get("agent_talk_share"))),
        ("Scored", str(card.get("created_at") or "")[:16].replace("T", " ")),
    ]
    return [(k, v) for k, v in facts if v]


def facts_line(card: Mapping[str, Any]) -> str:
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


def sections_view(card: Mapping[str, Any], targets: Mapping[str, str]) -> list[_Section]:
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
                num(sec.get("score")),
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
) -> Item:
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
    return Item(
        id=cid,
        title=str(item.get("title") or title_from_id(cid)),
        verdict=verdict if verdict in VERDICT_LABEL else "na",
        score=num(item.get("score", check.get("score"))),
        weight=num(item.get("weight")),
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
        start=num(ev.get("start")) or 0.0,
        end=num(ev.get("end")) or 0.0,
        text=str(ev.get("text") or ""),
    )


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
            start=num(s.get("start")) or 0.0,
            end=num(s.get("end")) or 0.0,
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
    start, end = num(ev.get("start")), num(ev.get("end"))
    if start is None:
        return None
    end = max(end if end is not None else start, start)
    speaker = ev.get("speaker")
    candidates = [
        i
        for i, s in enumerate(segments)
        if (not speaker or s.get("speaker") in (speaker, None, "unknown") or speaker == "unknown")
        and (num(s.get("start")) or 0.0) - _MATCH_TOLERANCE_S <= end
        and start <= (num(s.get("end")) or 0.0) + _MATCH_TOLERANCE_S
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
            "start": num(t.get("start")) or 0.0,
            "end": num(t.get("end")) or 0.0,
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
        if num(e.get("start")) is not None
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
    start = num(e.get("start")) or 0.0
    overlap = num(e.get("overlap_s")) or num(e.get("duration_s"))
    end = num(e.get("end")) or (start + overlap if overlap else start)
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
        start, end = num(p.get("start")), num(p.get("end"))
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
    victim = speaker_label(e["of"]).lower() if e["of"] else "the other party"
    return {
        "kind": "interruption",
        "start": e["start"],
        "speaker": e["by"],
        "text": f"{speaker_label(e['by'])} interrupted {victim} "
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
    times = [num(v) for v in node.get("contour_t") or ()]
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
        f0.append(num(f0s[i]) if i < len(f0s) else None)
        level.append(num(levels[i]) if i < len(levels) else None)
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
