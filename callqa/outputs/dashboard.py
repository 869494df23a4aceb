"""The team dashboard: one self-contained HTML page over many scored calls.

Input rows are the shape :func:`callqa.batch.store.read_calls` returns (one dict per call:
``call_id``, ``agent_id``, ``team``, ``call_date``, ``scored_at``, ``score``,
``agent_talk_share``, ``agent_interruptions``, ``failed_items`` and the scorecard's JSON
form). They are converted once, here, at the edge: the scorecard's rubric items are read typed
(:func:`callqa.scoring.scorecard.sections_from_dict`; reading every stored transcript would be
slow) and each call is reduced to the few fields the page needs. The page itself filters (date
range, team, agent), aggregates, sorts and exports (CSV) in the browser, so a team lead can
slice without re-running anything. Definitions of every figure are in docs/report.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from callqa.files import atomic_write_text
from callqa.outputs.html import (
    environment,
    num,
    score_text,
    script_json,
    static_text,
    title_from_id,
)
from callqa.outputs.media import PLOTLY_FILENAME, ensure_shared_plotly, plotly_js
from callqa.scoring.final import pending_review
from callqa.scoring.scorecard import sections_from_dict
from callqa.types import SectionScore

UNKNOWN_AGENT = "(no agent id)"
CALMER = "outcome.customer_calmer"  # the item behind "customer ended calmer"


def render_dashboard(
    rows: Iterable[Mapping[str, Any]],
    *,
    report_links: Mapping[str, str] | None = None,
    title: str = "Team dashboard",
    plotly_src: str | None = None,
    queue: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The dashboard as one HTML document.

    Parameters
    ----------
    rows : iterable of dict
        Scored calls, as :func:`callqa.batch.store.read_calls` returns them; rows with final
        verdicts (:func:`callqa.review.reviews.with_final`) show the final score with callqa's
        own beside it.
    report_links : dict or None
        ``call_id`` -> href of that call's report (relative to the dashboard). Rows without a
        link show no report link.
    title : str
        Page title.
    plotly_src : str or None
        Path of a ``plotly-basic.min.js`` to reference instead of inlining Plotly's basic
        bundle (1.2 MB).
    queue : sequence of dict
        The review queue panel (:func:`callqa.review.render.queue_records`: ``rank``,
        ``call_id``, ``agent_id``, ``score``, ``priority``, ``reasons``); none when empty.

    Returns
    -------
    str
        A complete HTML document that works offline.
    """
    calls, titles = dashboard_rows(rows, report_links=report_links)
    dates = sorted(c["date"] for c in calls if c["date"])
    links = report_links or {}
    panel = [{**q, "href": links.get(str(q.get("call_id")), "")} for q in queue]
    data = {"calls": calls, "titles": titles}
    return (
        environment()
        .get_template("dashboard.html.j2")
        .render(
            title=title,
            n_calls=len(calls),
            first=dates[0] if dates else "",
            last=dates[-1] if dates else "",
            teams=sorted({c["team"] for c in calls if c["team"]}),
            data_json=script_json(data),
            css=Markup(static_text("base.css") + static_text("dashboard.css")),
            js=Markup(static_text("dashboard.js")),
            plotly_src=plotly_src,
            plotly_inline=Markup(plotly_js()) if plotly_src is None else "",
            queue=panel,
            score_text=score_text,
        )
    )


def write_dashboard(
    rows: Iterable[Mapping[str, Any]],
    out: Path,
    *,
    report_links: Mapping[str, str] | None = None,
    shared_assets: bool = False,
    queue: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write the dashboard of ``rows`` to ``out`` (atomically); see :func:`render_dashboard`.

    ``shared_assets`` writes Plotly's bundle once as ``plotly-basic.min.js`` beside ``out`` and
    references it (the call reports written with ``shared_assets=True`` share it).
    """
    out = Path(out)
    plotly_src = None
    if shared_assets:
        ensure_shared_plotly(out.parent)
        plotly_src = PLOTLY_FILENAME
    html = render_dashboard(rows, report_links=report_links, plotly_src=plotly_src, queue=queue)
    return atomic_write_text(out, html)


def report_links_in(
    rows: Iterable[Mapping[str, Any]], reports_dir: Path, out: Path
) -> dict[str, str]:
    """``call_id`` -> href (relative to ``out``) of each ``<call_id>.html`` in ``reports_dir``."""
    import os
    from urllib.parse import quote

    base = Path(out).resolve().parent
    links = {}
    for row in rows:
        call_id = str(row.get("call_id") or "")
        page = Path(reports_dir) / f"{call_id}.html"
        if call_id and page.is_file():
            links[call_id] = quote(Path(os.path.relpath(page.resolve(), base)).as_posix())
    return links


def dashboard_rows(
    rows: Iterable[Mapping[str, Any]], *, report_links: Mapping[str, str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Reduce store rows to what the page needs, and the titles of the rubric items.

    Returns
    -------
    calls : list of dict
        ``id``, ``agent``, ``team``, ``date`` (YYYY-MM-DD or ""), ``score`` (0-100 or None),
        ``talk`` (agent talk share 0-1 or None), ``interruptions`` (int or None), ``failed``
        (check ids), ``review`` (items to review; > 0 makes the score provisional), ``items``
        (check id -> 1 pass / 0 fail, judged items only), ``calmer`` (1 when the customer
        ended calmer, 0 when not, None when ``outcome.customer_calmer`` did not judge the call),
        ``href`` (report link or ""), ``machine`` (callqa's own score), ``human`` (items a
        reviewer judged) and ``changed`` (of those, verdicts that differ from callqa's), oldest
        first. Score, failed items and items are over the final verdicts when the rows carry
        them.
    titles : dict
        Check id -> item title (from the scorecards; a readable form of the id otherwise).

    Raises
    ------
    ScorecardError
        A row's scorecard has malformed sections.
    """
    links = report_links or {}
    calls, titles = [], {}
    for row in rows:
        card = row.get("scorecard")
        sections = sections_from_dict(card) if card is not None else ()
        call = _call(row, links, sections)
        calls.append(call)
        titles.update({i.id: i.title for s in sections for i in s.items if i.title})
        for item in [*call["failed"], *call["items"]]:
            titles.setdefault(item, title_from_id(item))
    calls.sort(key=lambda c: (c["date"], c["scored"]))
    return calls, titles


def _call(
    row: Mapping[str, Any], links: Mapping[str, str], sections: tuple[SectionScore, ...]
) -> dict[str, Any]:
    call_id = str(row.get("call_id") or "")
    interruptions = num(row.get("agent_interruptions"))
    final = row.get("final_verdicts")
    if not isinstance(final, Mapping):
        final = {i.id: i.verdict for s in sections for i in s.items}
    items = {k: int(v == "pass") for k, v in final.items() if v != "na"}
    return {
        "id": call_id,
        "agent": str(row.get("agent_id") or UNKNOWN_AGENT),
        "team": str(row.get("team") or ""),
        "date": _day(row.get("call_date")) or _day(row.get("scored_at")),
        "dated": bool(_day(row.get("call_date"))),  # the agents' trend reads these only
        "scored": str(row.get("scored_at") or ""),
        "score": num(row.get("score")),
        "talk": num(row.get("agent_talk_share")),
        "interruptions": None if interruptions is None else int(interruptions),
        "failed": [str(f) for f in row.get("failed_items") or ()],
        "review": pending_review(_card_review(row.get("scorecard")), list(row.get("human") or {})),
        "items": items,
        "machine": num(row.get("machine_score", row.get("score"))),
        "human": len(row.get("human") or {}),
        "changed": len(row.get("overridden") or ()),
        "calmer": items.get(CALMER),
        "href": str(links.get(call_id) or row.get("report_href") or ""),
    }


def _card_review(card: Any) -> Any:
    """The scorecard's review list (None for an older scorecard without one)."""
    return card.get("review") if isinstance(card, Mapping) else None


def _day(value: Any) -> str:
    """The YYYY-MM-DD part of an ISO date or datetime (str, date or datetime); "" if none."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:10] if len(text) >= 10 and text[4] == "-" and text[7] == "-" else ""
