"""The scorecard as Markdown (``callqa score --format md``), fit for pasting into a ticket."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callqa.outputs.explain import evidence_views, focus_items, measure_text, partial_text
from callqa.outputs.html import score_text, scorecard_of
from callqa.outputs.report import facts_line
from callqa.outputs.table import (
    VERDICT_TEXT,
    evidence_text,
    item_titles,
    review_lines,
    review_title,
)
from callqa.scoring.scorecard import Scorecard


def render_markdown(card: Scorecard | Mapping[str, Any]) -> str:
    """A compact Markdown summary of the scorecard.

    Gives the overall score, the things to work on first, a table of every item with its
    verdict and what was measured, each failed item with its coaching tip and first piece of
    evidence (time-stamped), auto-fails and warnings.
    """
    card = scorecard_of(card)
    provisional = " (provisional)" if card.provisional else ""
    lines = [f"**Call {_md(card.call_id)}** — score **{score_text(card.score)}/100**{provisional}"]
    lines.append(_md(facts_line(card)))
    if card.auto_failed:
        titles = item_titles(card, card.auto_failed)  # as the terminal view names them
        lines.append(f"**Auto-fail:** {', '.join(_md(t) for t in titles)}")
    if card.review:
        lines += ["", f"**{_md(review_title(card))}**"]
        lines += [f"{n}. {_md(line)}" for n, line in enumerate(review_lines(card), 1)]
    focus = focus_items(card)
    if focus:
        lines += ["", f"**{'Three things' if len(focus) == 3 else 'Things'} to work on**"]
        for n, f in enumerate(focus, 1):
            tip = f" — {_md(f.check.tip)}" if f.check is not None and f.check.tip else ""
            lines.append(f"{n}. **{_md(f.item.title)}**{tip}")
    lines += ["", "| Section | Score | Item | Verdict | What was found |", "|---|---:|---|---|---|"]
    checks = {c.id: c for c in card.checks}
    for sec in card.sections:
        for n, item in enumerate(sec.items):
            check = checks.get(item.id)
            found = measure_text(check) if check is not None else ""
            part = partial_text(item)  # a section score of 75 over two passes needs this
            found = f"{found} ({part})" if found and part else found or part
            first = (sec.title, score_text(sec.score)) if n == 0 else ("", "")
            unsure = " ?" if item.id in {r.item for r in card.review} else ""
            lines.append(
                f"| {_md(first[0])} | {first[1]} | {_md(item.title)} | "
                f"{VERDICT_TEXT.get(item.verdict, item.verdict)}{unsure} | {_md(found) or '—'} |"
            )
    fails = [(i, checks.get(i.id)) for s in card.sections for i in s.items if i.verdict == "fail"]
    if fails:
        lines += ["", "**Failed items**"]
        for item, check in fails:
            text = f"- **{_md(item.title)}**"
            if check is not None and check.tip:
                text += f" — {_md(check.tip)}"
            views = evidence_views(check, card.transcript) if check is not None else ()
            if views:
                text += f" ({_md(evidence_text(views[0]))})"
            lines.append(text)
    for warning in card.warnings:
        lines.append(f"\n> ⚠ {_md(warning)}")
    return "\n".join(lines) + "\n"


def _md(text: Any) -> str:
    """Escape the characters that would break a Markdown table or add markup."""
    out = str(text).replace("\\", "\\\\").replace("\n", " ")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out
