"""The coach's call report: one self-contained HTML page per scorecard.

It reads the typed :class:`~callqa.scoring.scorecard.Scorecard` (a dict or a JSON file is read
with ``from_dict`` / ``read_json`` at the edge). A scorecard built from a transcript file has
no dynamics and no voice measures, and the page says so instead of failing.

::

    Scorecard -> _view (sections, transcript lines, timeline, contours, things to work on)
              -> Jinja2 template (autoescape) + inlined CSS/JS + Plotly's basic bundle
              -> one HTML file that works offline

The page reads at a glance: the score and the three things to work on first; every item with
its verdict, the number behind it against its limit (:mod:`callqa.outputs.explain`), its
evidence (the agent's words quoted; a customer line the agent left unanswered labelled so; a
moment that is no quote, such as the longest monologue, described, not quoted) and a legend
for every colour and mark. The charts are drawn in the browser by Plotly's *basic* bundle
(scatter and bar, 1.2 MB; shipped with callqa, MIT licence) inlined, or written once next to
the reports with ``shared_assets=True``. Clicking a transcript line, a timeline mark or a
piece of evidence plays the audio from that moment.

With redaction on, the page never plays the original recording where the scorecard lists
personal data: :func:`callqa.privacy.audio.redact_card_audio` writes a copy with the recorded
spans silenced (``<report>.redacted.flac``), and that copy is embedded or linked instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from callqa.files import atomic_write_text
from callqa.measures.dynamics import DynamicsMetrics, Interruption
from callqa.outputs.explain import (
    agent_pace,
    evidence_views,
    focus_items,
    measure_text,
    partial_text,
    weight_text,
)
from callqa.outputs.html import (
    SPEAKER_ORDER,
    VERDICT_LABEL,
    band,
    clock,
    environment,
    pct,
    score_text,
    scorecard_of,
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
from callqa.outputs.sentiment import mood_summary, sentiment_data
from callqa.outputs.table import review_lines, review_title
from callqa.scoring.final import FinalScore, HumanVerdict, final_score
from callqa.scoring.scorecard import Scorecard
from callqa.types import CheckResult, Evidence, ItemScore, Utterance

_MATCH_TOLERANCE_S = 0.35  # evidence and transcript times may differ by Whisper's word jitter
_CONTOUR_GAP_S = 0.75  # contours come in 0.5 s steps; a longer jump is a pause (draw a gap)


# ---------------------------------------------------------------------------- public API


def render_call_report(
    card: Scorecard | Mapping[str, Any],
    *,
    audio_src: str | None,
    human: Mapping[str, HumanVerdict] | None = None,
    auto_fail_cap: float = 0.0,
) -> str:
    """The call report as one HTML document.

    Parameters
    ----------
    card : Scorecard or dict
        The scorecard (its JSON form is read with ``from_dict``).
    audio_src : str or None
        What the page's ``<audio>`` element plays: a ``data:`` URI (see :func:`audio_data_uri`),
        a path relative to the report, or None for a page without audio.
    human : mapping of str -> HumanVerdict, optional
        Reviewers' verdicts (the latest per item): shown beside callqa's, and the score and
        section scores are then over the final verdicts
        (:func:`callqa.scoring.final.final_score`, with the rubric's ``auto_fail_cap``).

    Returns
    -------
    str
        A complete HTML document; Plotly's basic bundle is inlined (about 1.2 MB).
    """
    return _render(card, audio_src=audio_src, plotly_src=None, human=human, cap=auto_fail_cap)


def write_call_report(
    card: Scorecard | Mapping[str, Any],
    out: Path,
    *,
    audio_path: Path | None = None,
    link_audio: bool = False,
    shared_assets: bool = False,
    human: Mapping[str, HumanVerdict] | None = None,
    auto_fail_cap: float = 0.0,
) -> Path:
    """Write the call report of ``card`` to ``out`` (atomically).

    Parameters
    ----------
    card : Scorecard or dict
        The scorecard (its JSON form is read with ``from_dict``).
    out : Path
        The HTML file to write; its directory must exist.
    audio_path : Path or None
        The call's audio. Embedded in the page as a ``data:`` URI unless ``link_audio``.
    link_audio : bool
        Reference ``audio_path`` by a path relative to ``out`` instead of embedding it (the
        audio must then stay next to the report).
    shared_assets : bool
        Write Plotly's bundle once as ``plotly.min.js`` beside ``out`` and reference it, instead
        of inlining 1.2 MB into every report (for batches of reports in one folder).
    human, auto_fail_cap
        Reviewers' verdicts shown beside callqa's (see :func:`render_call_report`).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    AudioError
        ``audio_path`` does not exist or cannot be read.
    ScorecardError
        ``card`` is a mapping that is not a scorecard.
    """
    out = Path(out)
    audio_src = None
    if audio_path is not None:
        audio_src = relative_src(audio_path, out) if link_audio else audio_data_uri(audio_path)
    plotly_src = None
    if shared_assets:
        ensure_shared_plotly(out.parent)
        plotly_src = PLOTLY_FILENAME
    page = _render(card, audio_src=audio_src, plotly_src=plotly_src, human=human, cap=auto_fail_cap)
    return atomic_write_text(out, page)


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
    label: str  # "" (the agent's words), "unanswered" (a customer line), or the speaker
    quote: bool  # False: a moment described in words, not something said


@dataclass(frozen=True)
class Item:
    """A rubric item joined with its check result and the words that explain it."""

    id: str
    title: str
    verdict: str
    score: float | None
    auto_fail: bool
    tip: str
    reason: str
    measure: str  # what was measured against which limit
    partial: str  # "earned 50% of this item"
    weight: str  # "counts 2×"
    evidence: tuple[_EvidenceView, ...]
    confidence: float | None = None  # how likely the verdict is right
    unsure: bool = False  # listed in the scorecard's review
    human: HumanVerdict | None = None  # a reviewer's verdict (the final one)
    changed: bool = False  # the reviewer's verdict differs from callqa's

    @property
    def sure(self) -> str:
        """The confidence in whole percent, rounded down: an unsure 0.699 (below the 0.7 review
        line) had shown "unsure, 70% sure"."""
        return "" if self.confidence is None else f"{math.floor(self.confidence * 100 + 1e-9)}%"


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
    mood: str = ""  # the segment's sentiment label ("" without one)
    mood_score: float | None = None


def _render(
    card_in: Any,
    *,
    audio_src: str | None,
    plotly_src: str | None,
    human: Mapping[str, HumanVerdict] | None = None,
    cap: float = 0.0,
) -> str:
    card = scorecard_of(card_in)
    lines, targets = _transcript(card)
    final = final_score(
        card.sections,
        machine_score=card.score,
        auto_failed=card.auto_failed,
        human=human or {},
        auto_fail_cap=cap,
    )
    sections = sections_view(card, targets, final)
    timeline = _timeline(card)
    mood = sentiment_data(card)
    data = {
        "duration": _duration(card),
        "labels": {s: speaker_label(s) for s in _speakers(card)},
        "timeline": timeline,
        "contours": _contours(card),
        "lines": [{"id": ln.id, "start": ln.start, "end": ln.end} for ln in lines],
        "sentiment": mood,
    }
    items = {i.id: i for sec in sections for i in sec.items}
    focus = [(items[f.item.id], f.points) for f in focus_items(card) if f.item.id in items]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            card=card,
            title=f"Call {card.call_id}",
            facts=_facts(card),
            score=final.score,
            band=band(final.score),
            final=final if final.human else None,
            sections=sections,
            counts=_verdict_counts(sections),
            focus=focus,
            lines=lines,
            speakers=[(s, speaker_label(s)) for s in _speakers(card)],
            warnings=list(card.warnings),
            review=list(zip((r.item for r in card.review), review_lines(card), strict=True)),
            review_title=review_title(card),
            provisional=card.provisional,
            item_ids=set(items),
            auto_failed=[(a, items[a].title if a in items else a) for a in final.auto_failed],
            moments=_moments(timeline),
            has_dynamics=card.metrics.dynamics is not None,
            has_voice=bool(data["contours"]),
            mood=mood_summary(card),
            has_mood=bool(mood["parties"]),
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
    )


def _duration(card: Scorecard) -> float:
    """The call length (s): the scorecard's, else the end of the last segment."""
    if card.duration_s:
        return card.duration_s
    return max((s.end for s in card.transcript.segments), default=0.0)


def _segments(card: Scorecard) -> list[Utterance]:
    return sorted(card.transcript.segments, key=lambda s: s.start)


def _speakers(card: Scorecard) -> list[str]:
    """Speakers of the call in display order: agent, customer, unknown, then any others."""
    found = {s.speaker or "unknown" for s in card.transcript.segments}
    found |= {t["speaker"] for t in _turns(card)}
    known = [s for s in SPEAKER_ORDER if s in found]
    return known + sorted(found - set(known))


def _facts(card: Scorecard) -> list[tuple[str, str]]:
    """Label/value pairs for the page header."""
    facts = [
        ("Duration", clock(round(_duration(card)))),  # 37.96 s is 0:38, as the table's 38.0 s
        ("Language", card.language or card.transcript.language or "?"),
        ("Audio", _channel_text(card)),
        ("Model", " ".join(x for x in (card.model.backend, card.model.name) if x)),
        ("Rubric", card.rubric),
        ("Agent talk share", pct(card.metrics.agent_talk_share)),
        ("Agent pace", agent_pace(card)),
        ("Scored", card.created_at[:16].replace("T", " ")),
    ]
    return [(k, v) for k, v in facts if v]


def facts_line(card: Scorecard) -> str:
    return " · ".join(v for k, v in _facts(card) if k in ("Duration", "Language", "Audio"))


def _channel_text(card: Scorecard) -> str:
    if card.channels == 2:
        return f"stereo, agent {card.agent_channel}" if card.agent_channel else "stereo"
    return {1: "mono", 0: "transcript only"}.get(card.channels, "")


def sections_view(
    card: Scorecard, targets: Mapping[str, str], final: FinalScore | None = None
) -> list[_Section]:
    """Rubric sections with each item joined to its check (checks no section lists go last);
    with ``final``, each item carries its reviewer verdict and each section its final score."""
    checks = {c.id: (i, c) for i, c in enumerate(card.checks)}
    human = final.human if final is not None else {}
    scores = {s.id: s.score for s in final.sections} if final is not None else {}
    sections, listed = [], set()
    for sec in card.sections:
        items = tuple(
            _item(card, it, checks.get(it.id), targets, human.get(it.id)) for it in sec.items
        )
        listed |= {i.id for i in items}
        score = scores.get(sec.id, sec.score)
        sections.append(_Section(sec.id, sec.title or sec.id, score, items))
    rest = tuple(
        _item(card, _bare_item(c), (n, c), targets)
        for cid, (n, c) in checks.items()
        if cid not in listed
    )
    if rest:
        sections.append(_Section("other", "Other checks", None, rest))
    return sections


def _bare_item(check: CheckResult) -> ItemScore:
    return ItemScore(check.id, "other", title_from_id(check.id), 1.0, check.verdict, check.score)


def _item(
    card: Scorecard,
    item: ItemScore,
    found: tuple[int, CheckResult] | None,
    targets: Mapping[str, str],
    human: HumanVerdict | None = None,
) -> Item:
    index, check = found if found is not None else (0, None)
    views = evidence_views(check, card.transcript) if check is not None else ()
    evidence = tuple(
        _EvidenceView(
            id=f"ev-{index}-{j}",
            target=targets.get(f"ev-{index}-{j}", ""),
            speaker=v.evidence.speaker,
            start=v.evidence.start,
            end=v.evidence.end,
            text=v.evidence.text,
            label=v.label,
            quote=v.quote,
        )
        for j, v in enumerate(views)
    )
    return Item(
        id=item.id,
        title=item.title or title_from_id(item.id),
        verdict=item.verdict if item.verdict in VERDICT_LABEL else "na",
        score=item.score,
        auto_fail=item.auto_fail,
        tip=check.tip if check is not None else "",
        reason=str(check.details.get("reason") or "") if check is not None else "",
        measure=measure_text(check) if check is not None and check.verdict != "na" else "",
        partial=partial_text(item),
        weight=weight_text(item),
        evidence=evidence,
        confidence=check.confidence if check is not None and check.verdict != "na" else None,
        unsure=item.id in {r.item for r in card.review},
        human=human,
        changed=human is not None and human.verdict != item.verdict,
    )


def _verdict_counts(sections: Iterable[_Section]) -> dict[str, int]:
    """Final verdicts by class (a reviewer's where given)."""
    counts = {"pass": 0, "fail": 0, "na": 0}
    for sec in sections:
        for item in sec.items:
            verdict = item.human.verdict if item.human is not None else item.verdict
            counts[verdict if verdict in counts else "na"] += 1
    return counts


# ---------------------------------------------------------------------------- transcript


def _transcript(card: Scorecard) -> tuple[list[_Line], dict[str, str]]:
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
        if lo is None or hi is None:
            whole.setdefault(seg, check.verdict)
            targets[ev_id] = f"seg-{seg}"
            continue
        taken = next((s for s in spans.get(seg, ()) if lo < s[1] and s[0] < hi), None)
        if taken is None:
            spans.setdefault(seg, []).append((lo, hi, ev_id, check.verdict, check.id))
            targets[ev_id] = ev_id
        else:
            targets[ev_id] = taken[2]
    lines = [
        _Line(
            id=f"seg-{i}",
            speaker=s.speaker or "unknown",
            start=s.start,
            end=s.end,
            runs=_runs(s.text.strip(), spans.get(i, [])),
            cited=whole.get(i, ""),
            mood=s.sentiment.label if s.sentiment is not None else "",
            mood_score=s.sentiment.score if s.sentiment is not None else None,
        )
        for i, s in enumerate(segments)
    ]
    return lines, targets


def _all_evidence(card: Scorecard) -> Iterable[tuple[str, CheckResult, Evidence]]:
    for i, check in enumerate(card.checks):
        for j, ev in enumerate(check.evidence):
            yield f"ev-{i}-{j}", check, ev


def _locate(ev: Evidence, segments: list[Utterance]) -> tuple[int, int | None, int | None] | None:
    """Where evidence sits: (segment index, char start, char end), chars None for the whole line."""
    start, end = ev.start, max(ev.end, ev.start)
    speaker = ev.speaker
    candidates = [
        i
        for i, s in enumerate(segments)
        if (not speaker or speaker == "unknown" or s.speaker in (speaker, "unknown"))
        and s.start - _MATCH_TOLERANCE_S <= end
        and start <= s.end + _MATCH_TOLERANCE_S
    ]
    needle = ev.text.strip()
    for i in candidates:
        pos = _find(segments[i].text.strip(), needle)
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


def _turns(card: Scorecard) -> list[dict[str, Any]]:
    """Speech stretches for the timeline: dynamics turns when given, else transcript segments."""
    dyn = card.metrics.dynamics
    source: Iterable[Any] = dyn.turns if dyn is not None and dyn.turns else _segments(card)
    return [{"speaker": t.speaker or "unknown", "start": t.start, "end": t.end} for t in source]


def _timeline(card: Scorecard) -> dict[str, Any]:
    """Turns and marks (interruptions, backchannels, other overlaps, silences) for the chart.

    Only ``competitive`` overlaps are interruptions (docs/metrics.md); echoes, transitions,
    simultaneous starts and attempts are drawn as overlaps with their kind.
    """
    dyn: DynamicsMetrics | None = card.metrics.dynamics
    events = [_interruption(e) for e in dyn.interruptions] if dyn is not None else []
    silences = (
        [{"start": p.start, "end": p.end} for p in dyn.non_talk if p.end > p.start] if dyn else []
    )
    return {
        "turns": _turns(card),
        "interruptions": [e for e in events if e["kind"] == "competitive"],
        "backchannels": [e for e in events if e["kind"] == "backchannel"],
        "overlaps": [e for e in events if e["kind"] not in ("competitive", "backchannel")],
        "silences": silences,
    }


def _interruption(e: Interruption) -> dict[str, Any]:
    return {
        "start": e.start,
        "end": max(e.end, e.start),
        "by": e.interrupter or "unknown",
        "of": e.interrupted or "",
        "kind": e.kind or "competitive",
        "overlap_s": e.overlap_s,
        "text": e.words,
    }


def _moments(timeline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Timeline marks as a list a coach can read and click (sorted by time)."""
    items = [_interruption_moment(e) for e in timeline["interruptions"]]
    items += [
        {"kind": "silence", "start": p["start"], "speaker": "", "quote": "",
         "text": f"Silence, {p['end'] - p['start']:.1f} s"}
        for p in timeline["silences"]
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


def _contours(card: Scorecard) -> list[dict[str, Any]]:
    """Per-speaker pitch (Hz) and level (dBFS) contours from ``metrics.voice`` (may be empty)."""
    voice = card.metrics.voice
    if voice is None:
        return []
    return [
        _contour(s.speaker, s.contour_t, s.contour_f0_hz, s.contour_level_db)
        for s in voice.speakers
        if s.contour_t
    ]


def _contour(
    speaker: str,
    times: Iterable[float],
    f0s: Iterable[float | None],
    levels: Iterable[float | None],
) -> dict[str, Any]:
    """One speaker's contour, with a None inserted wherever the steps jump (no line across gaps)."""
    t: list[float] = []
    f0: list[float | None] = []
    level: list[float | None] = []
    previous = None
    for x, f, lv in zip(times, f0s, levels, strict=False):
        if previous is not None and x - previous > _CONTOUR_GAP_S:
            t.append(0.5 * (x + previous))
            f0.append(None)
            level.append(None)
        t.append(x)
        f0.append(f)
        level.append(lv)
        previous = x
    return {"speaker": speaker, "t": t, "f0": f0, "level": level}
