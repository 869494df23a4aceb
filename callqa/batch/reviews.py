"""Human reviews in the store: import them in one transaction, read them, export them.

Reviews live in their own table (``reviews``, schema 3, docs/store.md), beside callqa's
verdicts and never over them. An import checks every row against the store inside the same
transaction that writes it: an unknown call id, an item the call was not scored on, or a row
the store already holds is a problem with its line number, and one problem means nothing is
written. Notes go through the personal-data detector (a note may quote the customer); a
reviewer name the detector would change (an e-mail, a phone number) is refused, because
redacting it would merge different reviewers into one.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callqa.batch import store
from callqa.batch.tables import spreadsheet_safe
from callqa.config import RedactionConfig
from callqa.errors import CallQAError
from callqa.files import atomic_write_text
from callqa.privacy.identifiers import redact_identifier
from callqa.review.files import FIELDS, JSON_SUFFIXES, ReviewFileError, ReviewRow, by_line
from callqa.review.queue import QueueEntry
from callqa.review.render import QUEUE_COLUMNS, queue_records
from callqa.review.reviews import StoredReview, with_final

if TYPE_CHECKING:
    import duckdb

MAX_ITEMS_SHOWN = 8  # an unknown item's message lists this many of the call's items


def import_reviews(
    path: Path | str,
    rows: Sequence[ReviewRow],
    *,
    source: str = "import",
    file_name: str = "",
    redaction: RedactionConfig | None = None,
    timeout_s: float = store.DEFAULT_TIMEOUT_S,
    problems: Sequence[str] = (),
) -> int:
    """Store reviewer verdicts, all or none, after checking each against the store.

    Parameters
    ----------
    path : Path or str
        The store; it must hold the scored calls the reviews are about.
    rows : sequence of ReviewRow
        From :func:`callqa.review.files.read_reviews_file` (or one built for ``review set``).
    source : {"import", "set"}
        Recorded with each row.
    file_name : str
        Prefix of each problem line ("reviews.csv").
    redaction : RedactionConfig, optional
        Notes are redacted unless ``enabled`` is False (default: on).
    problems : sequence of str
        Problems already found in the file (:func:`callqa.review.files.check_reviews_file`):
        reported with the store's, in line order; any problem means nothing is stored.

    Returns
    -------
    int
        Rows stored.

    Raises
    ------
    ReviewFileError
        Unknown call ids or items, a call id that names two recordings, a reviewer name
        holding personal data, rows the store already holds: every problem, nothing stored.
    StoreError
        The store cannot be opened or written.
    """
    red = redaction or RedactionConfig()
    if not rows:
        raise ReviewFileError(by_line(problems) or ["no reviews to import"])
    if not Path(path).exists():
        raise store.StoreError(f"store {path} does not exist; run `callqa batch` first")
    with store.connect(path, timeout_s=timeout_s) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            calls, items = _known(con, {r.call_id for r in rows})
            stored = _stored_keys(con, {sha for shas in calls.values() for sha in shas})
            prefix = f"{file_name} " if file_name else ""
            found = [prefix + p for r in rows if (p := _problem(r, calls, items, stored, red))]
            if found or problems:
                raise ReviewFileError(by_line([*problems, *found]))
            now = store.utc_now()
            con.executemany(
                "INSERT INTO reviews (audio_sha256, call_id, item, verdict, reviewer, note, "
                "reviewed_at, recorded_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_values(r, next(iter(calls[r.call_id])), now, source, red) for r in rows],
            )
            con.execute("COMMIT")
        except BaseException:
            store._rollback(con)
            raise
    return len(rows)


def _known(
    con: duckdb.DuckDBPyConnection, call_ids: set[str]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """call id -> recordings (audio sha256) it names, and call id -> items it was scored on."""
    con.execute("CREATE TEMP TABLE wanted_ids (call_id VARCHAR)")
    con.executemany("INSERT INTO wanted_ids VALUES (?)", [[c] for c in sorted(call_ids)])
    calls: dict[str, set[str]] = {}
    for call_id, sha in con.execute(
        "SELECT DISTINCT c.call_id, c.audio_sha256 FROM calls c JOIN wanted_ids w USING (call_id)"
    ).fetchall():
        calls.setdefault(call_id, set()).add(sha)
    items: dict[str, set[str]] = {}
    for call_id, check_id in con.execute(
        "SELECT DISTINCT c.call_id, r.check_id FROM check_results r "
        "JOIN calls c USING (audio_sha256, config_hash) JOIN wanted_ids w USING (call_id)"
    ).fetchall():
        items.setdefault(call_id, set()).add(check_id)
    con.execute("DROP TABLE wanted_ids")
    return calls, items


def _stored_keys(
    con: duckdb.DuckDBPyConnection, shas: set[str]
) -> set[tuple[str, str, str, datetime | None]]:
    """(audio sha256, item, reviewer, reviewed_at) of the reviews already stored for ``shas``."""
    if not shas:
        return set()
    con.execute("CREATE TEMP TABLE wanted_shas (audio_sha256 VARCHAR)")
    con.executemany("INSERT INTO wanted_shas VALUES (?)", [[s] for s in sorted(shas)])
    rows = con.execute(
        "SELECT r.audio_sha256, r.item, r.reviewer, r.reviewed_at, r.recorded_at FROM reviews r "
        "JOIN wanted_shas w USING (audio_sha256)"
    ).fetchall()
    con.execute("DROP TABLE wanted_shas")
    # an untimed review is also known by the time it counts from, which its export carries
    return {(a, i, r, t) for a, i, r, t, _ in rows} | {
        (a, i, r, s) for a, i, r, t, s in rows if t is None
    }


def _problem(
    row: ReviewRow,
    calls: dict[str, set[str]],
    items: dict[str, set[str]],
    stored: set[tuple[str, str, str, datetime | None]],
    red: RedactionConfig,
) -> str:
    where = f"line {row.line}: " if row.line else ""
    shas = calls.get(row.call_id)
    if not shas:
        return (
            f"{where}unknown call id {row.call_id!r}: no scored call in the store has it "
            "(`callqa export` lists the ids)"
        )
    if len(shas) > 1:
        return (
            f"{where}call id {row.call_id!r} names {len(shas)} different recordings in the "
            "store; review one of them under a unique call id (a batch manifest's call_id)"
        )
    known = items.get(row.call_id, set())
    if row.item not in known:
        listed = ", ".join(sorted(known)[:MAX_ITEMS_SHOWN]) + (
            ", ..." if len(known) > MAX_ITEMS_SHOWN else ""
        )
        return (
            f"{where}call {row.call_id!r} was not scored on item {row.item!r} (its items: {listed})"
        )
    if red.enabled and redact_identifier(row.reviewer, red) != row.reviewer:
        return (
            f"{where}reviewer {row.reviewer[:40]!r} holds personal data (an e-mail or phone "
            "number); name reviewers by name or initials"
        )
    if (next(iter(shas)), row.item, row.reviewer, row.reviewed_at) in stored:
        when = row.reviewed_at.isoformat() if row.reviewed_at else "no reviewed_at"
        return (
            f"{where}already in the store: {row.reviewer!r} on {row.item!r} of {row.call_id!r} "
            f"({when}); a changed verdict needs a later reviewed_at, or `callqa review set`"
        )
    return ""


def _values(
    row: ReviewRow, sha: str, now: datetime, source: str, red: RedactionConfig
) -> list[Any]:
    note = redact_identifier(row.note, red) if red.enabled and row.note else row.note
    return [
        sha,
        row.call_id,
        row.item,
        row.verdict,
        row.reviewer,
        note or None,
        row.reviewed_at,
        now,
        source,
    ]


# -- reading -----

read_reviews = store.read_reviews  # the query lives with the store's other queries


def read_final_calls(
    path: Path | str,
    *,
    auto_fail_cap: float = 0.0,
    timeout_s: float = store.DEFAULT_TIMEOUT_S,
    **filters: Any,
) -> list[dict[str, Any]]:
    """:func:`callqa.batch.store.read_calls` rows with scores over the final verdicts and
    callqa's own beside them (:func:`callqa.review.reviews.with_final`)."""
    rows = store.read_calls(path, timeout_s=timeout_s, **filters)
    reviews = store.read_reviews(path, timeout_s=timeout_s)
    return with_final(rows, reviews, auto_fail_cap=auto_fail_cap)


# -- exporting -----


def export_reviews(
    path: Path | str, out: Path, *, timeout_s: float = store.DEFAULT_TIMEOUT_S
) -> int:
    """Write every stored review to ``out``: CSV (the import format; cells a spreadsheet would
    run as a formula get a leading ``'``, which the import takes off) or, for ``.jsonl``,
    ``.ndjson`` or ``.json``, JSON lines; oldest first. ``reviewed_at`` is ISO 8601 UTC with a
    ``Z``: the time the review counts from, which is when it was stored where the import gave
    none (left empty, a second import dated it anew, and it then outranked a later review:
    the round trip had turned a final "fail" into "pass"). Returns the number written.

    Raises
    ------
    CallQAError
        ``out`` has another suffix.
    """
    reviews = sorted(store.read_reviews(path, timeout_s=timeout_s), key=lambda r: r.when)
    records = [_record(r) for r in reviews]
    suffix = out.suffix.lower()
    if suffix in JSON_SUFFIXES:  # .json too: the import reads it as JSON lines
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    elif suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(FIELDS)
        for r in records:
            writer.writerow([spreadsheet_safe(r[f]) for f in FIELDS])
        text = buffer.getvalue()
    else:
        raise CallQAError(
            f"cannot export reviews to {out.name}: use a .csv, .jsonl or .json file name"
        )
    atomic_write_text(out, text)
    return len(records)


def _record(r: StoredReview) -> dict[str, str]:
    when = r.when.isoformat() + "Z"  # when it counts from: the order of a round trip's reviews
    return {
        "call_id": r.call_id,
        "item": r.item,
        "verdict": r.verdict,
        "reviewer": r.reviewer,
        "note": r.note,
        "reviewed_at": when,
    }


def queue_csv(entries: Sequence[QueueEntry]) -> str:
    """The review queue as CSV (:data:`callqa.review.render.QUEUE_COLUMNS`; reasons joined by
    "; "); cells a spreadsheet would run as a formula get a leading ``'``, as in every export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(QUEUE_COLUMNS)
    for record in queue_records(entries):
        record["reasons"] = "; ".join(record["reasons"])
        writer.writerow(["" if record[c] is None else _safe(record[c]) for c in QUEUE_COLUMNS])
    return buffer.getvalue()


def _safe(value: Any) -> Any:
    return spreadsheet_safe(value) if isinstance(value, str) else value
