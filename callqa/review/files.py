"""Reading a team's reviews file: CSV or JSON lines, one reviewer verdict per row.

::

    call_id,item,verdict,reviewer,note,reviewed_at
    en_01,empathise.apology,fail,anna,"sorry came before the complaint",2025-01-31T10:00:00Z

JSON lines carry the same keys, one object per line. ``note`` and ``reviewed_at`` may be empty.
The file is untrusted input (a spreadsheet export, a colleague's script): it is read with a
size cap, every row is checked, and every problem is reported with its line number; the caller
stores nothing unless the whole file is clean (:class:`ReviewFileError` lists the problems).
Whether each call id and item exists is the store's question
(:func:`callqa.batch.reviews.import_reviews`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from callqa.config import LimitsConfig
from callqa.errors import CallQAError
from callqa.files import UnsafeFileError, csv_delimiter, load_json, read_capped
from callqa.types import Verdict

FIELDS = ("call_id", "item", "verdict", "reviewer", "note", "reviewed_at")
REQUIRED = ("call_id", "item", "verdict", "reviewer")
# Longest accepted value per field (characters): ids and names are short; a note is a
# paragraph. Longer is a mistake (a shifted column), not a review.
MAX_CHARS = {
    "call_id": 300,
    "item": 200,
    "verdict": 10,
    "reviewer": 200,
    "note": 4000,
    "reviewed_at": 64,
}
MAX_ROWS = 500_000  # a year of a large team's reviews; the byte cap bounds memory anyway
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
VERDICT_SPELLINGS: Mapping[str, Verdict] = {"pass": "pass", "fail": "fail", "na": "na", "n/a": "na"}


class ReviewFileError(CallQAError):
    """A reviews file that cannot be imported; ``problems`` holds one line per problem (with
    its line number), the message the first of them and how many there are."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        more = len(self.problems) - 1
        suffix = f" (and {more} more problem{'s' * (more != 1)})" if more > 0 else ""
        super().__init__(f"{self.problems[0]}{suffix}; nothing was imported")


@dataclass(frozen=True)
class ReviewRow:
    """One reviewer verdict as read from a file (or given on the command line).

    Attributes
    ----------
    line : int >= 1
        Where it starts in the file (1 for the header of a CSV); 0 when not from a file.
    call_id, item, reviewer : str
    verdict : {"pass", "fail", "na"}
    note : str
    reviewed_at : datetime or None
        Naive UTC; None when the file gives no time (the time it is stored then counts).
    """

    line: int
    call_id: str
    item: str
    verdict: Verdict
    reviewer: str
    note: str = ""
    reviewed_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, datetime | None]:
        """What makes two rows the same review: call, item, reviewer and time."""
        return (self.call_id, self.item, self.reviewer, self.reviewed_at)


def read_reviews_file(path: Path | str, *, max_bytes: int | None = None) -> list[ReviewRow]:
    """Read and check a reviews file (``.csv``, or ``.jsonl``/``.ndjson``/``.json`` JSON lines;
    another suffix is sniffed from its first character).

    Parameters
    ----------
    path : Path or str
    max_bytes : int > 0, optional
        Refuse a larger file unread (default ``[limits] max_manifest_bytes``, 64 MiB).

    Raises
    ------
    ReviewFileError
        The file cannot be read, or any row is bad; every problem is listed with its line.
    """
    rows, problems = check_reviews_file(path, max_bytes=max_bytes)
    if problems:
        raise ReviewFileError(problems)
    return rows


def check_reviews_file(
    path: Path | str, *, max_bytes: int | None = None
) -> tuple[list[ReviewRow], list[str]]:
    """The good rows of a reviews file and the problems of the others (``"reviews.csv line 4:
    ..."``), so that the good rows can still be checked against the store and every problem
    reported at once (:func:`callqa.batch.reviews.import_reviews`).

    Raises
    ------
    ReviewFileError
        The file cannot be read at all (missing, too large, not UTF-8, NUL bytes).
    """
    path = Path(path)
    cap = max_bytes or LimitsConfig().max_manifest_bytes
    try:
        text = read_capped(path, cap).decode("utf-8-sig")
    except UnsafeFileError as exc:
        raise ReviewFileError([f"reviews file {exc}"]) from exc
    except FileNotFoundError as exc:
        raise ReviewFileError([f"reviews file {path} not found"]) from exc
    except OSError as exc:
        raise ReviewFileError([f"cannot read {path}: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ReviewFileError(
            [f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"]
        ) from exc
    if "\0" in text:
        raise ReviewFileError([f"{path} holds NUL characters: not a text file"])
    rows, problems = parse_reviews(text, json_lines=_is_json_lines(path, text))
    problems += duplicate_problems(rows)
    return rows, [f"{path.name} {p}" for p in problems]


def by_line(problems: Sequence[str]) -> list[str]:
    """Problems in file order (by the number after "line"; others first, as they came)."""

    def line(text: str) -> int:
        found = re.search(r"\bline (\d+):", text)
        return int(found.group(1)) if found else 0

    return sorted(problems, key=line)


def _is_json_lines(path: Path, text: str) -> bool:
    if path.suffix.lower() in JSON_SUFFIXES:
        return True
    if path.suffix.lower() == ".csv":
        return False
    return text.lstrip().startswith("{")


def parse_reviews(text: str, *, json_lines: bool) -> tuple[list[ReviewRow], list[str]]:
    """The rows of a reviews file's text and its problems (``"line 4: ..."``)."""
    raw = _json_records(text) if json_lines else _csv_records(text)
    rows: list[ReviewRow] = []
    problems: list[str] = []
    for line, record in raw:
        if isinstance(record, str):  # a problem with the record itself
            problems.append(f"line {line}: {record}")
            continue
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append(f"line {line}: more than {MAX_ROWS:,} rows; split the file")
            break
        row = check_record(record, line)
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
        else:
            rows.append(row)
    if not rows and not problems:
        problems.append("line 1: no reviews in the file")
    return rows, problems


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(io.StringIO(text), delimiter=csv_delimiter(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield 1, f"not a CSV file ({exc})"
        return
    if header is None:
        return
    names = [h.strip() for h in header]
    bad = _header_problem(names)
    if bad:
        yield 1, bad
        return
    start = reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"not valid CSV ({exc})"
            return
        if any(v.strip() for v in values):
            if len(values) > len(names):
                yield start, f"{len(values)} values for {len(names)} columns"
            else:
                yield start, dict(zip(names, values, strict=False))
        start = reader.line_num + 1


def _header_problem(names: Sequence[str]) -> str:
    unknown = [n for n in names if n not in FIELDS]
    missing = [n for n in REQUIRED if n not in names]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if unknown or missing or repeated:
        what = (
            f"unknown column {unknown[0]!r}"
            if unknown
            else f"column {repeated[0]!r} appears twice"
            if repeated
            else f"no {missing[0]!r} column"
        )
        return f"{what}; the header must be {','.join(FIELDS)} (note and reviewed_at optional)"
    return ""


def _json_records(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = load_json(line)
        except ValueError as exc:  # not JSON, too deep, NaN, a 400-digit number
            yield n, f"not a JSON object ({str(exc).splitlines()[0][:80]})"
            continue
        if not isinstance(value, dict):
            yield n, f"not a JSON object but a {type(value).__name__}"
            continue
        unknown = [k for k in value if k not in FIELDS]
        if unknown:
            yield n, f"unknown key {str(unknown[0])[:40]!r} (keys: {', '.join(FIELDS)})"
            continue
        yield n, value


def check_record(record: Mapping[str, Any], line: int) -> ReviewRow | str:
    """One record (CSV row or JSON object) as a :class:`ReviewRow`, or what is wrong with it."""
    values: dict[str, str] = {}
    for name in FIELDS:
        value = record.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            return f"{name} must be text, not {type(value).__name__}"
        value = value.strip()
        if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
            value = value[1:]  # the guard `review export` puts before a formula-like cell
        if len(value) > MAX_CHARS[name]:
            return f"{name} is {len(value):,} characters long; at most {MAX_CHARS[name]:,}"
        if any(ord(ch) < 32 for ch in value) and name != "note":
            return f"{name} holds a control character"
        values[name] = value
    missing = [n for n in REQUIRED if not values[n]]
    if missing:
        return f"empty {missing[0]}"
    verdict = parse_verdict(values["verdict"])
    if verdict is None:
        return f"verdict {values['verdict'][:20]!r} is not one of pass, fail, na"
    try:
        when = parse_time(values["reviewed_at"])
    except ValueError:
        return (
            f"reviewed_at {values['reviewed_at'][:40]!r} is not a date or time like "
            "2025-01-31 or 2025-01-31T10:00:00Z"
        )
    return ReviewRow(
        line=line,
        call_id=values["call_id"],
        item=values["item"],
        verdict=verdict,
        reviewer=values["reviewer"],
        note=" ".join(values["note"].split()),
        reviewed_at=when,
    )


def parse_verdict(text: str) -> Verdict | None:
    """``pass``, ``fail`` or ``na`` (any case; ``n/a`` is ``na``), else None."""
    return VERDICT_SPELLINGS.get(text.strip().lower())


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as naive UTC (a date is its midnight, a time without an
    offset is taken as UTC); None for "".

    Raises
    ------
    ValueError
        Not an ISO 8601 date or time.
    """
    text = text.strip()
    if not text:
        return None
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time())
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if stamp.tzinfo is not None:
        try:  # 9999-12-31T23:59:59-23:59 is past the last time UTC can hold
            stamp = stamp.astimezone(UTC).replace(tzinfo=None)
        except OverflowError as exc:
            raise ValueError(f"{text} is out of range") from exc
    return stamp


def duplicate_problems(rows: Sequence[ReviewRow]) -> list[str]:
    """A row that repeats an earlier one's call, item, reviewer and time: which one is the
    reviewer's latest word would be a guess."""
    first: dict[tuple[str, str, str, datetime | None], int] = {}
    problems = []
    for row in rows:
        seen = first.setdefault(row.key, row.line)
        if seen != row.line:
            when = row.reviewed_at.isoformat() if row.reviewed_at else "no time"
            problems.append(
                f"line {row.line}: repeats line {seen} (call {row.call_id!r}, item {row.item!r}, "
                f"reviewer {row.reviewer!r}, {when}); keep one, or give each its reviewed_at"
            )
    return problems
