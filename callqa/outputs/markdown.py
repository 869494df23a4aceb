"""The scorecard as Markdown (``callqa score --format md``)."""

from __future__ import annotations

from typing import Any

from callqa.outputs.html import as_plain, clock, score_text, shorten, speaker_label
from callqa.outputs.report import Item, facts_line, sections_view

# ---------------------------------------------------------------------------- Markdown


def render_markdown(card: Any) -> str:
    """A compact Markdown summary of the scorecard, fit for pasting into a ticket.

    Gives the overall and section scores, every failed item with its coaching tip and first
    piece of evidence (time-stamped), auto-fails and warnings.
    """
    card = as_plain(card)
    lines = [
        f"**Call {_md(card.get('call_id', '?'))}** — score **{score_text(card.get('score'))}/100**"
    ]
    lines.append(_md(facts_line(card)))
    if card.get("auto_failed"):
        lines.append(f"**Auto-fail:** {', '.join(_md(a) for a in card['auto_failed'])}")
    lines += ["", "| Section | Score | Failed items |", "|---|---:|---|"]
    view = sections_view(card, {})
    for sec in view:
        failed = ", ".join(_md(i.title) for i in sec.items if i.verdict == "fail") or "—"
        lines.append(f"| {_md(sec.title)} | {score_text(sec.score)} | {failed} |")
    fails = [i for sec in view for i in sec.items if i.verdict == "fail"]
    if fails:
        lines += ["", "**To work on**"]
        lines += [_md_fail(item) for item in fails]
    for warning in card.get("warnings") or ():
        lines.append(f"\n> ⚠ {_md(warning)}")
    return "\n".join(lines) + "\n"


def _md_fail(item: Item) -> str:
    text = f"- **{_md(item.title)}**"
    if item.tip:
        text += f" — {_md(item.tip)}"
    quoted = [e for e in item.evidence if e.text]
    if quoted:
        ev = quoted[0]
        text += f" ({clock(ev.start)} {speaker_label(ev.speaker)}: “{_md(shorten(ev.text, 90))}”)"
    return text


def _md(text: Any) -> str:
    """Escape the characters that would break a Markdown table or add markup."""
    out = str(text).replace("\\", "\\\\").replace("\n", " ")
    for ch in "|*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out
