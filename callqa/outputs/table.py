"""The terminal view of a scorecard, and the per-agent statistics of ``callqa stats``.

The scorecard view reads at a glance: the score and what failed first ("three things to work
on"), then one row per rubric item, grouped by section, with a verdict column, what was
measured against which limit, the first piece of evidence (the agent's words quoted, a
customer line the agent left unanswered labelled so) and, for a fail, the coaching tip.
The Markdown summary is :func:`callqa.outputs.markdown.render_markdown`.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from callqa.outputs.explain import (
    EvidenceView,
    agent_pace,
    evidence_views,
    focus_items,
    measure_text,
    partial_text,
)
from callqa.outputs.html import clock, scorecard_of, shorten
from callqa.scoring.scorecard import Scorecard
from callqa.types import CheckResult, ItemScore

VERDICT_TEXT = {"pass": "pass", "fail": "FAIL", "na": "n/a"}
_VERDICT_STYLE = {"pass": "green", "fail": "bold red", "na": "dim"}
_QUOTE_CHARS = 90  # a quote longer than this is shortened at a word boundary ("…")


def render_table(card: Scorecard | Mapping[str, Any], *, width: int = 110) -> str:
    """The scorecard as plain text (no colour), ``width`` characters wide."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None)
    console.print(scorecard_group(scorecard_of(card)))
    return buffer.getvalue()


def print_table(card: Scorecard | Mapping[str, Any], console: Console) -> None:
    """Print the scorecard to ``console`` (colour when it is a terminal)."""
    console.print(scorecard_group(scorecard_of(card)))


def scorecard_group(card: Scorecard) -> Group:
    """Header, things to work on, the items table, the measures line and any warnings."""
    parts: list[Any] = [_header(card)]
    review = _review(card)
    if review is not None:
        parts += [Text(""), review]
    focus = _focus(card)
    if focus is not None:
        parts += [Text(""), focus]
    parts += [_items_table(card), _metrics_line(card), *_warning_lines(card)]
    return Group(*parts)


def review_title(card: Scorecard) -> str:
    """ "2 items to review (score provisional)" or "" when there is nothing to review."""
    n = len(card.review)
    if not n:
        return ""
    return f"{n} item{'' if n == 1 else 's'} to review (score provisional)"


def review_lines(card: Scorecard) -> list[str]:
    """One line per review item: its title (or "roles", "language", "transcript") and why."""
    titles = dict(zip(card.auto_failed, item_titles(card, card.auto_failed), strict=True))
    titles.update({i.id: i.title for s in card.sections for i in s.items})
    return [f"{titles.get(r.item, r.item)}: {r.reason}" for r in card.review]


def _review(card: Scorecard) -> Table | None:
    title = review_title(card)
    if not title:
        return None
    table = Table(title=title, title_justify="left", title_style="bold yellow", box=None,
                  show_header=False, padding=(0, 1, 0, 0))  # fmt: skip
    table.add_column("n", no_wrap=True)
    table.add_column("why", overflow="fold")
    for n, line in enumerate(review_lines(card), 1):
        table.add_row(f"{n}.", Text(line))
    return table


def _header(card: Scorecard) -> Text:
    text = Text()
    text.append(card.call_id, style="bold")
    text.append(f"  score {_fmt_score(card.score)}/100", style="bold cyan")
    if card.provisional:
        text.append(" (provisional)", style="yellow")
    if card.auto_failed:
        text.append(
            f"  auto-fail: {', '.join(item_titles(card, card.auto_failed))}", style="bold red"
        )
    model = f"{card.model.backend} {card.model.name}"
    text.append(f"\n{card.duration_s:.1f} s · {card.language} · {_channel_note(card)} · {model}")
    return text


def item_titles(card: Scorecard, ids: Sequence[str]) -> list[str]:
    """The rubric titles of the items ``ids`` (an id without an item stays as it is)."""
    titles = {i.id: i.title for s in card.sections for i in s.items}
    return [titles.get(i, i) for i in ids]


def _channel_note(card: Scorecard) -> str:
    if card.channels == 2:
        return f"stereo, agent {card.agent_channel}" if card.agent_channel else "stereo"
    roles = card.roles
    kind = "transcript only" if card.channels == 0 else "mono"
    if roles is None:
        return kind if card.channels == 0 else "mono, speakers unknown"
    if roles.method == "none":
        return f"{kind}, speakers unknown"
    return f"{kind}, agent found by {roles.method} ({roles.confidence:.2f})"


def _focus(card: Scorecard) -> Table | None:
    focus = focus_items(card)
    if not focus:
        return None
    title = "Three things to work on" if len(focus) == 3 else "To work on"
    table = Table(title=title, title_justify="left", title_style="bold", box=None,
                  show_header=False, padding=(0, 1, 0, 0))  # fmt: skip
    table.add_column("n", no_wrap=True)
    table.add_column("item", overflow="fold")
    for n, f in enumerate(focus, 1):
        text = Text(f.item.title, style="bold")
        if f.item.auto_fail:
            text.append(" (auto-fail)", style="bold red")
        else:
            unit = "point" if round(f.points) == 1 else "points"
            text.append(f" (+{f.points:.0f} {unit})", style="red")
        tip = f.check.tip if f.check is not None else ""
        if tip:
            text.append(f" — {tip}")
        table.add_row(f"{n}.", text)
    return table


def _items_table(card: Scorecard) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("verdict", no_wrap=True)
    table.add_column("item", ratio=2, overflow="fold")
    table.add_column("what was found", ratio=5, overflow="fold")
    checks = {c.id: c for c in card.checks}
    for section in card.sections:
        table.add_row(
            "",
            Text(section.title, style="bold"),
            Text(f"section score {_fmt_score(section.score)}", style="bold cyan"),
        )
        for item in section.items:
            table.add_row(*_item_row(item, checks.get(item.id), card))
    return table


def _item_row(
    item: ItemScore, check: CheckResult | None, card: Scorecard
) -> tuple[Text, Text, Text]:
    verdict = Text(
        VERDICT_TEXT.get(item.verdict, item.verdict), style=_VERDICT_STYLE.get(item.verdict, "")
    )
    if item.id in {r.item for r in card.review}:
        verdict.append(" ?", style="bold yellow")  # listed for review
    title = Text(item.title)
    if item.auto_fail:
        title.append(" (auto-fail)", style="red" if item.verdict == "fail" else "dim")
    found = Text()
    lines = []
    if check is not None:
        lines.append(measure_text(check))
        partial = partial_text(item)
        if partial:
            lines.append(partial)
    found.append("; ".join(x for x in lines if x))
    views = evidence_views(check, card.transcript) if check is not None else ()
    if views:
        if found:
            found.append("\n")
        found.append(evidence_text(views[0]))
        if len(views) > 1:
            found.append(f" (+{len(views) - 1} more)", style="dim")
    if check is not None and check.tip and item.verdict == "fail":
        found.append(f"\n→ {check.tip}", style="italic")
    if not found:
        found.append("–", style="dim")
    return verdict, title, found


def evidence_text(view: EvidenceView, *, limit: int = _QUOTE_CHARS) -> str:
    """``0:13 agent “I'm sorry …”``, ``0:02 unanswered: customer “…”`` or ``0:12–0:45
    longest agent monologue`` (a description, not a quote)."""
    ev = view.evidence
    labelled = bool(view.label) and view.label != ev.speaker
    if not view.quote:
        what = ev.text or "(no words)"
        return f"{clock(ev.start)}–{clock(ev.end)} {view.label + ' ' if labelled else ''}{what}"
    who = f"{view.label}: {ev.speaker}" if labelled else ev.speaker
    return f"{clock(ev.start)} {who} “{shorten(ev.text, limit)}”"


def _metrics_line(card: Scorecard) -> Text:
    m = card.metrics
    parts = [f"{t.speaker} talk {t.talk_s:.1f} s" for t in m.talk]
    if m.agent_talk_share is not None:
        parts.append(f"agent talk share {m.agent_talk_share:.0%}")
    dyn = m.dynamics
    if dyn is not None:
        real = [o for o in dyn.interruptions if o.kind == "competitive"]
        by_agent = [o for o in real if o.interrupter == "agent"]
        if dyn.overlap_measured:
            parts.append(f"{len(real)} interruptions ({len(by_agent)} by the agent)")
        else:  # one channel: overlapping speech cannot be told apart (docs/metrics.md)
            parts.append("interruptions not measured (mono)")
        parts.append(f"{dyn.non_talk_count} silence{'' if dyn.non_talk_count == 1 else 's'} > 3 s")
    if pace := agent_pace(card):
        parts.append(f"agent pace {pace}")
    return Text(" · ".join(parts), style="dim")


def _warning_lines(card: Scorecard) -> list[Text]:
    return [Text(f"note: {w}", style="yellow") for w in card.warnings]


def _fmt_score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.0f}"


STATS_COLUMNS = (  # (key, table heading); section_<id> columns follow
    ("calls", "calls"),
    ("mean_score", "mean score (final)"),
    ("min_score", "min"),
    ("max_score", "max"),
    ("agent_talk_share", "agent talk share"),
    ("agent_interruptions", "agent interruptions"),
    ("most_failed_item", "most failed item"),
    ("most_failed_count", "failed in"),
    ("machine_mean_score", "callqa's mean"),
    ("reviewed_calls", "reviewed calls"),
)


def stats_rows(calls: Sequence[Mapping[str, Any]], *, by: str = "agent") -> list[dict[str, Any]]:
    """Per-agent (or per-team) figures from store rows (:func:`callqa.batch.store.read_calls`).

    Each row: the group (``agent`` or ``team``), ``calls``, ``mean_score``, ``min_score``,
    ``max_score`` (0-100), ``agent_talk_share`` (mean, 0-1), ``agent_interruptions`` (mean per
    call), ``most_failed_item`` and ``most_failed_count`` (calls), ``machine_mean_score``
    (callqa's own mean score) and ``reviewed_calls`` (calls with a reviewer's verdict), then
    ``section_<id>``: the mean score of each rubric section over the group's calls that have
    one. Scores, sections and failed items are the rows' ``score``, ``sections`` and
    ``failed_items``: over the final verdicts for rows from
    :func:`callqa.review.reviews.with_final` (callqa's ``machine_score`` beside them), else
    callqa's. Numbers are rounded to 3 decimals; None where nothing was measured.
    """
    key = "agent_id" if by == "agent" else "team"
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for c in calls:
        groups.setdefault(c.get(key) or "(none)", []).append(c)
    sections = sorted({sid for c in calls for sid in (c.get("sections") or {})})
    rows = []
    for name in sorted(groups):
        g = groups[name]
        scores = [float(c["score"]) for c in g if c.get("score") is not None]
        top = Counter(item for c in g for item in c.get("failed_items") or ()).most_common(1)
        row: dict[str, Any] = {
            by: name,
            "calls": len(g),
            "mean_score": _round(_mean(scores)),
            "min_score": min(scores, default=None),
            "max_score": max(scores, default=None),
            "agent_talk_share": _round(_mean(c.get("agent_talk_share") for c in g)),
            "agent_interruptions": _round(_mean(c.get("agent_interruptions") for c in g)),
            "most_failed_item": top[0][0] if top else None,
            "most_failed_count": top[0][1] if top else 0,
            "machine_mean_score": _round(_mean(c.get("machine_score", c.get("score")) for c in g)),
            "reviewed_calls": sum(1 for c in g if c.get("human")),
        }
        for sid in sections:
            row[f"section_{sid}"] = _round(_mean((c.get("sections") or {}).get(sid) for c in g))
        rows.append(row)
    return rows


def stats_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """:func:`stats_rows` as CSV (header line first; empty cells for None)."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def stats_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """:func:`stats_rows` as a JSON array."""
    return json.dumps(list(rows), indent=2, ensure_ascii=False) + "\n"


def stats_table(rows: Sequence[Mapping[str, Any]], *, by: str = "agent", total: int = 0) -> Group:
    """:func:`stats_rows` as two rich tables: the figures, then the mean score of each section."""
    reviewed = any(row.get("reviewed_calls") for row in rows)
    title = f"callqa: {total} calls by {by}" + (
        "; scores over the final verdicts (a reviewer's where given)" if reviewed else ""
    )
    table = Table(title=title, title_justify="left")
    table.add_column(by)
    for _, heading in STATS_COLUMNS[:6]:
        table.add_column(heading, justify="right")
    table.add_column("most failed item")
    if reviewed:
        for _, heading in STATS_COLUMNS[8:]:
            table.add_column(heading, justify="right")
    for row in rows:
        top = row["most_failed_item"]
        cells = [
            str(row[by]),
            str(row["calls"]),
            _fmt(row["mean_score"], ".1f"),
            _fmt(row["min_score"], ".1f"),
            _fmt(row["max_score"], ".1f"),
            _fmt(row["agent_talk_share"], ".2f"),
            _fmt(row["agent_interruptions"], ".1f"),
            f"{top} ({row['most_failed_count']})" if top else "-",
        ]
        if reviewed:
            cells += [_fmt(row["machine_mean_score"], ".1f"), str(row["reviewed_calls"])]
        table.add_row(*cells)
    sections = [k for k in (rows[0] if rows else {}) if k.startswith("section_")]
    if not sections:
        return Group(table)
    means = Table(title="mean score by section", title_justify="left")
    means.add_column(by)
    for key in sections:
        means.add_column(key.removeprefix("section_"), justify="right")
    for row in rows:
        means.add_row(str(row[by]), *(_fmt(row[k], ".1f") for k in sections))
    return Group(table, means)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _mean(values: Any) -> float | None:
    numbers = [float(v) for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
