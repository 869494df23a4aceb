"""The batch's tables: one flat row per call, CSV, Parquet and the Markdown summary; exports
from the store."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from callqa.batch import store
from callqa.batch.inputs import BatchUsageError, CallInput
from callqa.errors import ScorecardError
from callqa.files import atomic_write_bytes, atomic_write_text
from callqa.review.reviews import latest_by_item
from callqa.scoring.final import FinalScore, HumanVerdict, final_score, pending_review
from callqa.scoring.scorecard import sections_from_dict

KEY_METRICS = (  # (column, path in the scorecard JSON's "metrics"); units in docs/batch.md
    ("duration_s", ("duration_s",)),
    ("agent_talk_share", ("agent_talk_share",)),
    ("overlap_s", ("dynamics", "overlap_s")),
    ("non_talk_share", ("dynamics", "non_talk_share")),
    ("longest_non_talk_s", ("dynamics", "longest_non_talk_s")),
    ("response_latency_median_s", ("dynamics", "response_latency_median_s")),
    ("turn_switches_per_minute", ("dynamics", "turn_switches_per_minute")),
)
PARTY_METRICS = ("interruptions", "words_per_minute", "longest_monologue_s")
COUNT_COLUMNS = frozenset(
    {f"{s}_interruptions" for s in ("agent", "customer")}
    | {"items_to_review", "reviewed_items", "overridden_items"}
)  # int64


def column_name(name: str) -> str:
    """The written name of a row key: a check or section id's dots become ``__``
    (``check_hear__talk_share``), so SQL engines do not read them as nested fields."""
    return name.replace(".", "__")


def flat_row(
    call: CallInput,
    call_id: str,
    status: str,
    reason: str,
    card: Mapping[str, Any] | None,
    sha256: str | None = None,
    key: str | None = None,
    *,
    human: Mapping[str, HumanVerdict] | None = None,
    auto_fail_cap: float = 0.0,
) -> dict[str, Any]:
    """One output row: ids, metadata, status, score, section scores, key metrics, verdicts.

    Column order: fixed columns, then ``meta_<name>``, ``section_<id>``, ``check_<id>``
    (callqa's verdict: pass/fail/na), ``human_<id>`` (a reviewer's latest verdict, for the
    items reviewed). ``score`` and ``section_<id>`` are over the final verdicts (``human``
    where given, else callqa's; :func:`callqa.scoring.final.final_score` with
    ``auto_fail_cap``), ``machine_score`` is callqa's own. Keys keep the ids' dots;
    :func:`column_name` is applied when a table is written.
    """
    card = card or {}
    final = _final(card, human or {}, auto_fail_cap)
    metrics = card.get("metrics") or {}
    row: dict[str, Any] = {
        "call_id": call_id,
        "source_path": str(call.path),
        "audio_sha256": sha256,
        "config_hash": key,
        "agent_id": call.agent_id,
        "team": call.team,
        "call_date": call.call_date,
        "language": card.get("language") or call.language,
        "status": status,
        "reason": reason,
        "score": final.score if final else None,
        "machine_score": store._num(card.get("score")),
        "reviewed_items": len(final.human) if final else None,
        "overridden_items": len(final.overridden) if final else None,
        "rubric": card.get("rubric"),
        "scored_at": card.get("created_at") or None,
    }
    for column, path in KEY_METRICS:
        row[column] = store._num(_dig(metrics, path))
    for speaker in ("agent", "customer"):
        figures = store.party(card, speaker)
        for name in PARTY_METRICS:
            row[f"{speaker}_{name}"] = store._num(figures.get(name))
    row["auto_failed"] = ";".join(card.get("auto_failed") or ())
    pending = pending_review(card.get("review"), list(human or {}))  # reviewers settle them
    row["provisional"] = pending > 0 if card else None
    row["items_to_review"] = pending if card else None
    for name, value in call.metadata:
        row[f"meta_{name}"] = value
    for sid, score in store.section_rows(card):
        row[f"section_{sid}"] = score
    for section in final.sections if final else ():
        row[f"section_{section.id}"] = section.score
    for cid, _, verdict, _ in store.check_rows(card):
        row[f"check_{cid}"] = verdict
    for item, review in (final.human if final else {}).items():
        row[f"human_{item}"] = review.verdict
    return row


def _final(
    card: Mapping[str, Any], human: Mapping[str, HumanVerdict], cap: float
) -> FinalScore | None:
    """The card's scores over its final verdicts (None without a scorecard, or for one whose
    sections cannot be read)."""
    if not card:
        return None
    try:
        sections = sections_from_dict(card)
    except ScorecardError:
        return None
    return final_score(
        sections,
        machine_score=store._num(card.get("score")),
        auto_failed=[str(a) for a in card.get("auto_failed") or ()],
        human=human,
        auto_fail_cap=cap,
    )


def _dig(tree: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(tree, Mapping):
            return None
        tree = tree.get(part)
    return tree


def columns_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every column of any row: the fixed ones first, then sorted meta/section/check columns."""
    fixed: list[str] = []
    extra: set[str] = set()
    for row in rows:
        for name in row:
            if name.startswith(("meta_", "section_", "check_", "human_")):
                extra.add(name)
            elif name not in fixed:
                fixed.append(name)
    order = {"meta_": 0, "section_": 1, "check_": 2, "human_": 3}
    return fixed + sorted(extra, key=lambda n: (order[n.split("_", 1)[0] + "_"], n))


def write_outputs(
    rows: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    suffix: str = "",
    title: str = "callqa batch",
) -> list[Path]:
    """Write ``scorecards<suffix>.csv``, ``.parquet`` and ``summary<suffix>.md`` atomically.

    Returns
    -------
    list of Path
        The files written.
    """
    columns = columns_of(rows)
    csv_path = atomic_write_text(out_dir / f"scorecards{suffix}.csv", csv_text(rows, columns))
    parquet_path = atomic_write_bytes(
        out_dir / f"scorecards{suffix}.parquet", parquet_bytes(rows, columns)
    )
    summary_path = atomic_write_text(
        out_dir / f"summary{suffix}.md", summary_markdown(rows, title=title)
    )
    return [csv_path, parquet_path, summary_path]


def csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """The rows as CSV; text cells a spreadsheet would run as a formula are defused
    (:func:`spreadsheet_safe`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spreadsheet_safe(column_name(c)) for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")  # OWASP: CSV injection


def spreadsheet_safe(text: str) -> str:
    """A text cell that Excel, LibreOffice or Google Sheets will show, not evaluate.

    A cell starting with ``= + - @``, a tab or a line break is a formula to a spreadsheet
    (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, ``@SUM(...)``); OWASP's advice is to prefix
    it with a single quote, which the spreadsheet hides and takes as "this is text".
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return spreadsheet_safe(value) if isinstance(value, str) else value


def parquet_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """Rows as Parquet with typed columns: dates (``call_date``), UTC timestamps
    (``scored_at``), integers for counts, doubles for scores and measures, a list of strings
    for ``auto_failed``, strings for the rest; names through :func:`column_name`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {column_name(c): _arrow([row.get(c) for row in rows], c) for c in columns}
    table = pa.table(arrays) if columns else pa.table({})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


_NUMERIC = frozenset(
    {"score", "machine_score", *(c for c, _ in KEY_METRICS)}
    | {f"{s}_{m}" for s in ("agent", "customer") for m in PARTY_METRICS}
)


def _arrow(values: list[Any], column: str) -> Any:
    """One column as a typed pyarrow array (None stays null)."""
    import pyarrow as pa

    if column in COUNT_COLUMNS:
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    if column in _NUMERIC or column.startswith("section_"):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if column == "call_date":
        return pa.array([store._parse_date(v) if v else None for v in values], pa.date32())
    if column == "scored_at":
        stamps = [store._parse_timestamp(v) if v else None for v in values]
        return pa.array(stamps, pa.timestamp("us", tz="UTC"))
    if column == "provisional":
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    if column == "auto_failed":
        return pa.array(
            [[a for a in (v or "").split(";") if a] for v in values], pa.list_(pa.string())
        )
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _distinct(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``rows`` with each scored call once: a second file with the same audio (a "duplicate
    audio" skip, listed with the first one's scorecard) is one call in the averages, as in the
    store that ``callqa stats`` and ``export`` read. Failed rows are all kept."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in rows:
        sha, key = r.get("audio_sha256"), r.get("config_hash")
        if r["status"] in ("scored", "skipped") and sha and key:
            if (sha, key) in seen:
                continue
            seen.add((sha, key))
        out.append(r)
    return out


def summary_markdown(rows: Sequence[Mapping[str, Any]], *, title: str = "callqa batch") -> str:
    """Per-agent and per-team averages, the most frequent failed items, and the failed calls."""
    counts = Counter(r["status"] for r in rows)
    scored = _distinct([r for r in rows if r["status"] in ("scored", "skipped")])
    unscored = sum(1 for r in scored if r.get("score") is None)
    lines = [
        f"# {title}",
        "",
        f"{len(rows)} calls: {counts['scored']} scored, {counts['skipped']} skipped "
        f"(already scored or duplicate audio), {counts['failed']} failed"
        + (
            f", {counts['interrupted']} not scored (interrupted)." if counts["interrupted"] else "."
        ),
        "",
    ]
    if unscored:
        lines += [
            f"{unscored} of the scored calls have no score (no item could be judged, or the "
            "call's language has no phrase pack; each scorecard's warnings say which): they count "
            'in "calls", not in the scores.',
            "",
        ]
    reviewed = [r for r in rows if r.get("reviewed_items")]
    if reviewed:
        n_items = sum(int(r["reviewed_items"]) for r in reviewed)
        changed = sum(int(r.get("overridden_items") or 0) for r in reviewed)
        lines += [
            f"Scores and failed items are over the final verdicts: a reviewer's verdict stands "
            f"on {n_items} items of {len(reviewed)} calls ({changed} differ from callqa's; "
            "`machine_score` and `check_*` in the tables are callqa's own).",
            "",
        ]
    for label, column in (("agent", "agent_id"), ("team", "team")):
        lines += [f"## Per {label}", "", *_group_table(scored, column, label), ""]
    lines += ["## Most frequent failed items", "", *_failed_items_table(_distinct(rows)), ""]
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        lines += ["## Failed calls", "", "| call | file | reason |", "|---|---|---|"]
        lines += [
            f"| {_md(r['call_id'])} | {_md(r['source_path'])} | {_md(r['reason'])} |"
            for r in failed
        ]
        lines.append("")
    return "\n".join(lines)


def _group_table(rows: Sequence[Mapping[str, Any]], column: str, label: str) -> list[str]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r.get(column) or "(none)", []).append(r)
    if not groups:
        return ["No scored calls."]
    out = [
        f"| {label} | calls | with a score | mean score | min | max | mean agent talk share "
        "| mean agent interruptions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(groups):
        g = groups[name]
        scores = [float(r["score"]) for r in g if r.get("score") is not None]
        spread = (
            f"{sum(scores) / len(scores):.1f} | {min(scores):.1f} | {max(scores):.1f}"
            if scores
            else "- | - | -"
        )
        out.append(
            f"| {_md(name)} | {len(g)} | {len(scores)} | {spread} | "
            f"{_mean_text(g, 'agent_talk_share', '.2f')} | "
            f"{_mean_text(g, 'agent_interruptions', '.1f')} |"
        )
    return out


def _mean_text(rows: Sequence[Mapping[str, Any]], column: str, fmt: str) -> str:
    values = [float(r[column]) for r in rows if r.get(column) is not None]
    return format(sum(values) / len(values), fmt) if values else "-"


def _failed_items_table(rows: Sequence[Mapping[str, Any]], limit: int = 10) -> list[str]:
    judged: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for r in rows:
        for name in [n for n in r if n.startswith("check_")]:
            verdict = r.get(f"human_{name[6:]}") or r[name]  # the final verdict
            if verdict in ("pass", "fail"):
                judged[name[6:]] += 1
                failed[name[6:]] += verdict == "fail"
    ranked = [(n, c) for n, c in failed.most_common() if c > 0][:limit]
    if not ranked:
        return ["No failed items."]
    out = ["| item | failed | of judged calls | share |", "|---|---:|---:|---:|"]
    out += [f"| {_md(n)} | {c} | {judged[n]} | {c / judged[n]:.0%} |" for n, c in ranked]
    return out


def _md(value: Any) -> str:
    """A value as literal Markdown table text: no markup, no raw HTML, no line break.

    Every ASCII punctuation mark that CommonMark can read as markup is backslash-escaped
    (``<script>`` shows as text, ``[x](javascript:...)`` is no link) and ``&`` becomes
    ``&amp;`` (no character references).
    """
    text = " ".join(str(value).split())
    text = text.replace("\\", "\\\\").replace("&", "&amp;")
    for ch in "|*_`[]<>#!~":
        text = text.replace(ch, "\\" + ch)
    return text


def rebuild_outputs(
    store_path: Path,
    out_dir: Path,
    *,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    agent: str | None = None,
    timeout_s: float = store.DEFAULT_TIMEOUT_S,
    auto_fail_cap: float = 0.0,
) -> list[Path]:
    """Write ``scorecards.csv``, ``scorecards.parquet`` and ``summary.md`` from the store alone.

    Parameters
    ----------
    since, until : str, optional
        Inclusive ``YYYY-MM-DD`` bounds on the call date (see
        :func:`callqa.batch.store.read_calls`).
    team, agent : str, optional
        Filters.
    auto_fail_cap : float in [0, 100]
        The rubric's cap, for scores over reviewers' verdicts (see :func:`flat_row`).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = export_rows(
        store_path,
        since=since,
        until=until,
        team=team,
        agent=agent,
        timeout_s=timeout_s,
        auto_fail_cap=auto_fail_cap,
    )
    return write_outputs(rows, out_dir, title="callqa export")


def export_rows(
    store_path: Path,
    *,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    agent: str | None = None,
    timeout_s: float = store.DEFAULT_TIMEOUT_S,
    auto_fail_cap: float = 0.0,
) -> list[dict[str, Any]]:
    """Output rows (as in ``scorecards.csv``) for the stored calls matching the filters, with
    the reviewers' verdicts beside callqa's and scores over the final verdicts
    (:func:`flat_row`; ``auto_fail_cap`` is the rubric's)."""
    calls = store.read_calls(
        store_path, since=since, until=until, team=team, agent=agent, timeout_s=timeout_s
    )
    human = latest_by_item(store.read_reviews(store_path, timeout_s=timeout_s))
    rows = []
    for c in calls:
        call = CallInput(
            path=Path(c["source_path"] or ""),
            agent_id=c["agent_id"],
            team=c["team"],
            call_date=c["call_date"],
            metadata=tuple(sorted((str(k), str(v)) for k, v in c["metadata"].items())),
        )
        rows.append(
            flat_row(
                call,
                c["call_id"],
                "scored",
                "",
                c["scorecard"],
                c["audio_sha256"],
                c["config_hash"],
                human={i: r.human() for i, r in human.get(c["audio_sha256"], {}).items()},
                auto_fail_cap=auto_fail_cap,
            )
        )
    return rows


def write_table(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Write rows as CSV or Parquet, chosen by ``path``'s extension (atomically)."""
    columns = columns_of(rows)
    if path.suffix.lower() == ".parquet":
        return atomic_write_bytes(path, parquet_bytes(rows, columns))
    if path.suffix.lower() == ".csv":
        return atomic_write_text(path, csv_text(rows, columns))
    raise BatchUsageError(
        f"cannot export to {path.name}: use a .csv or .parquet file name, or a directory"
    )
