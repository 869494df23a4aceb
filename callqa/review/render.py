"""``callqa calibrate`` and ``callqa queue`` as a terminal table, Markdown, JSON or CSV.

Every figure is defined in docs/review.md. Kappa that is undefined is printed as "undefined"
with the reason, never as NaN; JSON has ``null`` and ``kappa_note``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from callqa.review.agreement import CLASSES, Agreement, GroupAgreement
from callqa.review.calibrate import Calibration, Disagreement, ItemCalibration
from callqa.review.fit import FitResult
from callqa.review.queue import QueueEntry

DISAGREEMENTS_SHOWN = 30  # in the terminal table; Markdown and JSON list every one


# -- numbers as text -----


def _f(value: float | None, spec: str = ".2f") -> str:
    return "–" if value is None else format(value, spec)


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f" [{ci[0]:.2f}–{ci[1]:.2f}]"


def _kappa(a: Agreement) -> str:
    if a.n == 0:
        return "–"
    return "undefined" if a.kappa is None else f"{a.kappa:.2f}{_ci(a.kappa_ci)}"


def _counts(counts: dict[str, int]) -> str:
    return "/".join(str(counts[k]) for k in CLASSES)


def _group(g: GroupAgreement) -> str:
    if not g.subjects:
        return "–"
    kappa = "undefined" if g.kappa is None else f"{g.kappa:.2f}"
    return f"{kappa} ({g.subjects})"


def _vs(a: Agreement) -> str:
    return "–" if a.n == 0 else "undefined" if a.kappa is None else f"{a.kappa:.2f}"


def header_lines(cal: Calibration) -> list[str]:
    """What the figures are over, and how the intervals were made."""
    return [
        f"{cal.calls} calls in the store, {cal.reviewed_calls} with a human verdict; "
        f"{cal.reviews} reviews by {len(cal.reviewers)} reviewer"
        f"{'s' * (len(cal.reviewers) != 1)}"
        + (
            f" ({cal.superseded} replaced by the same reviewer's later verdict)"
            if cal.superseded
            else ""
        ),
        "callqa's verdict against the final human verdict (the latest); counts are "
        "pass/fail/na; 95% bootstrap intervals over calls "
        f"({cal.resamples} resamples, seed {cal.seed})",
    ] + (["no reviews yet: `callqa review import FILE` stores them (docs/review.md)"]
         if not cal.reviews else [])  # fmt: skip


# -- calibration: terminal -----


def calibration_table(cal: Calibration, fits: Sequence[FitResult] = ()) -> Group:
    """The calibration as rich tables: items, then disagreements, then the fit (if any)."""
    table = Table(title="callqa against your reviewers", title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (
        ("item", "left"),
        ("n", "right"),
        ("human p/f/na", "right"),
        ("callqa p/f/na", "right"),
        ("accuracy [95% CI]", "right"),
        ("kappa [95% CI]", "right"),
        ("reviewers κ (items)", "right"),
        ("callqa vs them κ", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in (*cal.items, cal.overall):
        table.add_row(*_item_cells(row), style="bold" if row is cal.overall else "")
    parts: list[Any] = [Text("\n".join(header_lines(cal)), style="dim"), table]
    notes = _kappa_notes(cal)
    if notes:
        parts.append(Text("\n".join(notes), style="yellow"))
    parts.append(_confusion_table(cal.overall))
    if cal.disagreements:
        parts.append(_disagreement_table(cal.disagreements))
    if fits:
        parts.append(fit_table(fits))
    return Group(*parts)


def _item_cells(row: ItemCalibration) -> list[str]:
    a = row.vs_human
    return [
        row.item,
        str(a.n),
        _counts(row.human) if a.n else row.note,
        _counts(row.machine) if a.n else "",
        f"{_f(a.accuracy)}{_ci(a.accuracy_ci)}" if a.n else "",
        _kappa(a),
        _group(row.reviewers),
        _vs(row.vs_reviewers),
    ]


def _kappa_notes(cal: Calibration) -> list[str]:
    return [
        f"{row.item}: kappa {row.vs_human.kappa_note}"
        for row in (*cal.items, cal.overall)
        if row.vs_human.n and row.vs_human.kappa is None
    ]


def _confusion_table(row: ItemCalibration) -> Table:
    table = Table(
        title=f"confusion, {row.title} (rows: reviewer, columns: callqa)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("reviewer \\ callqa")
    for k in CLASSES:
        table.add_column(k, justify="right")
    for k, counts in zip(CLASSES, row.vs_human.confusion, strict=True):
        table.add_row(k, *(str(c) for c in counts))
    return table


def _disagreement_table(found: Sequence[Disagreement]) -> Table:
    shown = found[:DISAGREEMENTS_SHOWN]
    more = len(found) - len(shown)
    title = f"{len(found)} disagreements" + (
        f" (first {len(shown)}; --format md or json lists all)" if more else ""
    )
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("call", "item", "callqa", "reviewer", "evidence callqa quoted"):
        table.add_column(name, overflow="fold")
    for d in shown:
        table.add_row(
            d.call_id,
            d.item,
            f"{d.machine} ({_f(d.confidence)})",
            f"{d.human} ({d.reviewer})" + (f": {d.note}" if d.note else ""),
            "\n".join(d.evidence) or "–",
        )
    return table


def fit_table(fits: Sequence[FitResult]) -> Table:
    """The threshold fit: current and proposed value, held-out kappa and accuracy."""
    table = Table(
        title="threshold fit (held-out folds, grouped by call)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for name in (
        "item",
        "parameter",
        "current",
        "proposed",
        "kappa before → after",
        "accuracy before → after",
        "calls",
        "note",
    ):
        # ids and figures stay on one line; only the note wraps
        table.add_column(name, overflow="fold", no_wrap=name != "note")
    for r in fits:
        table.add_row(*_fit_cells(r))
    return table


def _fit_cells(r: FitResult) -> list[str]:
    before, after = r.before, r.after
    kappa = accuracy = "–"
    if before is not None and after is not None:
        kappa = f"{_k(before.kappa)} → {_k(after.kappa)}"
        accuracy = f"{_f(before.accuracy, '.3f')} → {_f(after.accuracy, '.3f')}"
    proposed = "–" if r.proposed is None else f"{r.proposed:g}" + (" ✓" if r.changed else "")
    return [r.item, r.param, f"{r.current:g}", proposed, kappa, accuracy, str(r.calls), r.note]


def _k(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


# -- calibration: Markdown -----


def calibration_markdown(cal: Calibration, fits: Sequence[FitResult] = ()) -> str:
    """The calibration as Markdown tables (every disagreement listed)."""
    lines = ["# callqa against your reviewers", "", *header_lines(cal), ""]
    lines += [
        "| item | n | human p/f/na | callqa p/f/na | accuracy [95% CI] | kappa [95% CI] | "
        "reviewers κ (items) | callqa vs them κ |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in (*cal.items, cal.overall):
        cells = [_md(c) for c in _item_cells(row)]
        if row is cal.overall:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    notes = _kappa_notes(cal)
    if notes:
        lines += ["", *(f"- {_md(n)}" for n in notes)]
    lines += [
        "",
        "Confusion over every item (rows: reviewer, columns: callqa):",
        "",
        "| reviewer \\\\ callqa | pass | fail | na |",
        "|---|---:|---:|---:|",
    ]
    for k, counts in zip(CLASSES, cal.overall.vs_human.confusion, strict=True):
        lines.append(f"| {k} | " + " | ".join(str(c) for c in counts) + " |")
    if cal.disagreements:
        lines += [
            "",
            f"## {len(cal.disagreements)} disagreements",
            "",
            "| call | item | callqa | reviewer | evidence callqa quoted |",
            "|---|---|---|---|---|",
        ]
        for d in cal.disagreements:
            who = f"{d.human} ({d.reviewer})" + (f": {d.note}" if d.note else "")
            lines.append(
                f"| {_md(d.call_id)} | {_md(d.item)} | {d.machine} ({_f(d.confidence)}) | "
                f"{_md(who)} | {_md(' / '.join(d.evidence)) or '–'} |"
            )
    if fits:
        lines += [
            "",
            "## Threshold fit (held-out folds, grouped by call)",
            "",
            "| item | parameter | current | proposed | kappa before → after | "
            "accuracy before → after | calls | note |",
            "|---|---|---:|---:|---|---|---:|---|",
        ]
        for r in fits:
            lines.append("| " + " | ".join(_md(c) for c in _fit_cells(r)) + " |")
    return "\n".join(lines) + "\n"


def _md(value: Any) -> str:
    """Literal Markdown table text: markup characters escaped, no line breaks."""
    text = " ".join(str(value).split()).replace("\\", "\\\\").replace("&", "&amp;")
    for ch in "|*_`[]<>#!~":
        text = text.replace(ch, "\\" + ch)
    return text


# -- calibration: JSON -----


def calibration_json(cal: Calibration, fits: Sequence[FitResult] = ()) -> str:
    """The calibration as JSON: one object per item (``item``, ``n``, ``kappa``,
    ``accuracy``, ...), ``overall``, ``disagreements`` and, with ``--fit``, ``fit``."""
    data: dict[str, Any] = {
        "calls": cal.calls,
        "reviewed_calls": cal.reviewed_calls,
        "reviews": cal.reviews,
        "superseded_reviews": cal.superseded,
        "reviewers": list(cal.reviewers),
        "bootstrap": {
            "resamples": cal.resamples,
            "seed": cal.seed,
            "unit": "call",
            "interval": "95% percentile",
        },
        "items": [_item_json(row) for row in cal.items],
        "overall": _item_json(cal.overall),
        "disagreements": [_disagreement_json(d) for d in cal.disagreements],
    }
    if fits:
        data["fit"] = [_fit_json(r) for r in fits]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _agreement_json(a: Agreement) -> dict[str, Any]:
    return {
        "n": a.n,
        "accuracy": _r(a.accuracy),
        "accuracy_ci": _r2(a.accuracy_ci),
        "kappa": _r(a.kappa),
        "kappa_ci": _r2(a.kappa_ci),
        "kappa_note": a.kappa_note,
    }


def _item_json(row: ItemCalibration) -> dict[str, Any]:
    g = row.reviewers
    return {
        "item": row.item,
        "title": row.title,
        **_agreement_json(row.vs_human),
        "scored": row.scored,
        "human": row.human,
        "callqa": row.machine,
        "confusion": {
            "rows": "reviewer",
            "columns": "callqa",
            "classes": list(CLASSES),
            "counts": [list(r) for r in row.vs_human.confusion],
        },
        "reviewers": {
            "items": g.subjects,
            "verdicts": g.ratings,
            "agreement": _r(g.agreement),
            "fleiss_kappa": _r(g.kappa),
            "kappa_note": g.kappa_note,
        },
        "callqa_vs_reviewers": {
            k: v for k, v in _agreement_json(row.vs_reviewers).items() if not k.endswith("_ci")
        },
        "note": row.note,
    }


def _disagreement_json(d: Disagreement) -> dict[str, Any]:
    return {
        "call_id": d.call_id,
        "item": d.item,
        "title": d.title,
        "callqa": d.machine,
        "confidence": d.confidence,
        "human": d.human,
        "reviewer": d.reviewer,
        "note": d.note,
        "reviewed_at": d.reviewed_at,
        "evidence": list(d.evidence),
    }


def _fit_json(r: FitResult) -> dict[str, Any]:
    return {
        "item": r.item,
        "param": r.param,
        "current": r.current,
        "proposed": r.proposed,
        "changed": r.changed,
        "calls": r.calls,
        "folds": r.folds,
        "fold_values": list(r.fold_values),
        "before": _agreement_json(r.before) if r.before else None,
        "after": _agreement_json(r.after) if r.after else None,
        "rescored_differently": r.rescored_differently,
        "note": r.note,
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _r2(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [round(ci[0], 4), round(ci[1], 4)]


# -- the queue -----

QUEUE_COLUMNS = (
    "rank",
    "call_id",
    "agent_id",
    "team",
    "call_date",
    "score",
    "priority",
    "doubt",
    "history",
    "auto_fail",
    "transcript",
    "low_score",
    "reasons",
)


def queue_table(entries: Sequence[QueueEntry], *, budget: int, total: int) -> Table:
    """The queue as a rich table."""
    table = Table(
        title=f"review queue: {len(entries)} of {total} unreviewed calls (budget {budget})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for name, justify in (
        ("#", "right"),
        ("call", "left"),
        ("agent", "left"),
        ("score", "right"),
        ("priority", "right"),
        ("why", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for e in entries:
        table.add_row(
            str(e.rank),
            e.call_id,
            e.agent_id or "–",
            _f(e.score, ".0f"),
            f"{e.priority:.2f}",
            "\n".join(e.reasons) or "–",
        )
    return table


def queue_records(entries: Sequence[QueueEntry]) -> list[dict[str, Any]]:
    """One plain dict per entry (the JSON and CSV rows)."""
    return [
        {
            "rank": e.rank,
            "call_id": e.call_id,
            "agent_id": e.agent_id,
            "team": e.team,
            "call_date": e.call_date,
            "score": e.score,
            "priority": e.priority,
            **e.parts,
            "reasons": list(e.reasons),
        }
        for e in entries
    ]


def queue_json(entries: Sequence[QueueEntry]) -> str:
    return json.dumps(queue_records(entries), indent=2, ensure_ascii=False) + "\n"


def queue_markdown(entries: Sequence[QueueEntry], *, budget: int, total: int) -> str:
    lines = [
        f"# Review queue: {len(entries)} of {total} unreviewed calls (budget {budget})",
        "",
        "| # | call | agent | score | priority | why |",
        "|---:|---|---|---:|---:|---|",
    ]
    for e in entries:
        lines.append(
            f"| {e.rank} | {_md(e.call_id)} | {_md(e.agent_id or '–')} | {_f(e.score, '.0f')} | "
            f"{e.priority:.2f} | {_md('; '.join(e.reasons)) or '–'} |"
        )
    return "\n".join(lines) + "\n"
