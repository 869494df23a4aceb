"""The terminal view of a scorecard (the Markdown summary is
:func:`callqa.outputs.markdown.render_markdown`).

Both read the scorecard's plain-data form (:func:`callqa.scoring.scorecard.to_dict`), so they
work the
same on a fresh result and on a JSON file read back from disk.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

_VERDICT_STYLE = {"pass": "green", "fail": "bold red", "na": "dim"}
_QUOTE_CHARS = 70  # evidence quotes are cut to one table line


def render_table(card: dict[str, Any], *, width: int = 110) -> str:
    """The scorecard as a terminal table (ANSI colours only when printed to a terminal)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=False, color_system=None)
    console.print(_table_group(card))
    return buffer.getvalue()


def print_table(card: dict[str, Any], console: Console) -> None:
    """Print the scorecard table to ``console`` (colour when it is a terminal)."""
    console.print(_table_group(card))


def _table_group(card: dict[str, Any]) -> Group:
    return Group(
        _header(card),
        _sections_table(card),
        _checks_table(card),
        _metrics_line(card),
        *_warning_lines(card),
    )


def _header(card: dict[str, Any]) -> Text:
    score = card.get("score")
    model = card.get("model", {})
    text = Text()
    text.append(f"{card['call_id']}", style="bold")
    text.append(f"  score {_fmt_score(score)}/100", style="bold cyan")
    agent = card.get("agent_channel")
    channel_note = f"stereo, agent {agent}" if card.get("channels") == 2 else _mono_note(card)
    text.append(
        f"\n{card['duration_s']:.1f} s · {card['language']} · {channel_note} · "
        f"{model.get('backend')} {model.get('name')}"
    )
    if card.get("auto_failed"):
        text.append(f"\nauto-fail: {', '.join(card['auto_failed'])}", style="bold red")
    return text


def _mono_note(card: dict[str, Any]) -> str:
    if card.get("channels") == 0:
        return "transcript only"
    roles = card.get("roles") or {}
    if roles.get("method") == "none":
        return "mono, speakers unknown"
    return f"mono, agent found by {roles.get('method', '?')} ({roles.get('confidence', 0):.2f})"


def _sections_table(card: dict[str, Any]) -> Table:
    table = Table(title="Sections", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("section")
    table.add_column("score", justify="right")
    table.add_column("items")
    for section in card.get("sections", []):
        items = " ".join(
            f"{i['id'].split('.')[-1]}:{i['verdict']}" for i in section.get("items", [])
        )
        table.add_row(section["title"], _fmt_score(section.get("score")), items)
    return table


def _checks_table(card: dict[str, Any]) -> Table:
    table = Table(title="Checks", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("check", no_wrap=True, min_width=28)
    table.add_column("verdict", no_wrap=True, min_width=7)
    table.add_column("evidence / reason", overflow="ellipsis", no_wrap=True)
    for check in card.get("checks", []):
        verdict = check["verdict"]
        table.add_row(
            check["id"], Text(verdict, style=_VERDICT_STYLE.get(verdict, "")), _evidence_cell(check)
        )
    return table


def _evidence_cell(check: dict[str, Any]) -> str:
    evidence = check.get("evidence") or []
    if evidence:
        first = evidence[0]
        more = f" (+{len(evidence) - 1})" if len(evidence) > 1 else ""
        quote = first["text"][:_QUOTE_CHARS]
        return f"{_clock(first['start'])} {first['speaker']}: “{quote}”{more}"
    reason = (check.get("details") or {}).get("reason")
    return str(reason) if reason else (check.get("tip") or "")


def _metrics_line(card: dict[str, Any]) -> Text:
    metrics = card.get("metrics") or {}
    parts = []
    for talk in metrics.get("talk") or []:
        parts.append(f"{talk['speaker']} talk {talk['talk_s']:.1f} s")
    if metrics.get("agent_talk_share") is not None:
        parts.append(f"agent talk share {metrics['agent_talk_share']:.0%}")
    dynamics = metrics.get("dynamics") or {}
    if dynamics:
        overlaps = dynamics.get("interruptions") or []
        by_agent = [
            o for o in overlaps if o["kind"] != "backchannel" and o["interrupter"] == "agent"
        ]
        real = [o for o in overlaps if o["kind"] != "backchannel"]
        parts.append(f"{len(real)} interruptions ({len(by_agent)} by the agent)")
        parts.append(f"{dynamics.get('non_talk_count', 0)} silences > 3 s")
    return Text(" · ".join(parts), style="dim")


def _warning_lines(card: dict[str, Any]) -> list[Text]:
    return [Text(f"note: {w}", style="yellow") for w in card.get("warnings", [])]


def _fmt_score(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.0f}"


def _clock(seconds: float) -> str:
    """``m:ss`` for a time in seconds."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def stats_table(calls: list[dict[str, Any]], *, by: str = "agent") -> Any:
    """A rich Table of per-agent or per-team figures from store rows
    (:func:`callqa.batch.store.read_calls`)."""
    from rich.table import Table

    key = "agent_id" if by == "agent" else "team"
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in calls:
        groups.setdefault(c.get(key) or "(none)", []).append(c)
    table = Table(title=f"callqa: {len(calls)} calls by {by}")
    table.add_column(by)
    for name in ("calls", "mean score", "min", "max", "agent talk share", "agent interruptions"):
        table.add_column(name, justify="right")
    table.add_column("most failed item")
    for name in sorted(groups):
        g = groups[name]
        scores = [c["score"] for c in g if c["score"] is not None]
        failed = Counter(item for c in g for item in c["failed_items"])
        top = failed.most_common(1)
        table.add_row(
            name,
            str(len(g)),
            _fmt(sum(scores) / len(scores) if scores else None, ".1f"),
            _fmt(min(scores, default=None), ".1f"),
            _fmt(max(scores, default=None), ".1f"),
            _fmt(_mean(c["agent_talk_share"] for c in g), ".2f"),
            _fmt(_mean(c["agent_interruptions"] for c in g), ".1f"),
            f"{top[0][0]} ({top[0][1]})" if top else "-",
        )
    return table


def _mean(values: Any) -> float | None:
    numbers = [float(v) for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
