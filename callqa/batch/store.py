"""The results store: an embedded DuckDB file holding every scored call.

A call is identified by ``(audio_sha256, config_hash)``: the sha256 of the audio file's bytes
and a hash of everything that changes its scorecard (configuration, rubric, model, callqa
version; see :func:`callqa.batch.run.scoring_key`). Re-scoring the same audio under the same
settings is a no-op; a changed rubric or model gives a new row beside the old one.

Only one process may hold a DuckDB file open for writing, and while it does every other
process is refused at once, readers included. So every function here opens the file, does
one short transaction and closes it again; a refused open is retried with backoff until
``timeout_s`` and then fails with :class:`~callqa.errors.StoreError`. Batch workers never touch
the store: the parent process writes each finished call.

Tables (schema version :data:`SCHEMA_VERSION`, documented in docs/store.md)::

    schema_version(version, applied_at)
    runs(run_id, kind, started_at, finished_at, config_hash, callqa_version, host,
         n_inputs, n_scored, n_skipped, n_failed, status)
    calls(audio_sha256, config_hash, call_id, source_path, agent_id, team, call_date,
          language, duration_s, score, agent_talk_share, agent_interruptions, metadata,
          scorecard, scorecard_path, run_id, scored_at)          -- one row per scored call
    section_scores(audio_sha256, config_hash, section_id, score)
    check_results(audio_sha256, config_hash, check_id, section_id, verdict, score)
    metrics(audio_sha256, config_hash, name, value)             -- numeric leaves of "metrics"
    failures(run_id, source_path, audio_sha256, config_hash, call_id, reason, failed_at)
    file_hashes(path, size, mtime_ns, audio_sha256)             -- since schema 2
    reviews(review_id, audio_sha256, call_id, item, verdict, reviewer, note, reviewed_at,
            recorded_at, source)                                -- since schema 3
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callqa.errors import StoreError
from callqa.files import load_json
from callqa.review.reviews import StoredReview

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "DEFAULT_STORE_NAME",
    "SCHEMA_VERSION",
    "CallRecord",
    "StoreBusyError",
    "StoreIOError",
    "connect",
    "default_store_path",
    "finish_run",
    "migrate",
    "read_calls",
    "read_reviews",
    "record_failure",
    "scored_keys",
    "start_run",
    "write_call",
]

DEFAULT_STORE_NAME = "callqa.duckdb"
STORE_ENV = "CALLQA_STORE"  # environment variable naming the default store file
DEFAULT_TIMEOUT_S = 30.0  # how long a writer waits for another process to close the file

_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            config_hash VARCHAR,
            callqa_version VARCHAR,
            host VARCHAR,
            n_inputs INTEGER,
            n_scored INTEGER,
            n_skipped INTEGER,
            n_failed INTEGER,
            status VARCHAR NOT NULL
        );
        CREATE TABLE calls (
            audio_sha256 VARCHAR NOT NULL,
            config_hash VARCHAR NOT NULL,
            call_id VARCHAR NOT NULL,
            source_path VARCHAR,
            agent_id VARCHAR,
            team VARCHAR,
            call_date DATE,
            language VARCHAR,
            duration_s DOUBLE,
            score DOUBLE,
            agent_talk_share DOUBLE,
            agent_interruptions INTEGER,
            metadata JSON,
            scorecard JSON NOT NULL,
            scorecard_path VARCHAR,
            run_id VARCHAR,
            scored_at TIMESTAMP NOT NULL,
            PRIMARY KEY (audio_sha256, config_hash)
        );
        CREATE TABLE section_scores (
            audio_sha256 VARCHAR NOT NULL,
            config_hash VARCHAR NOT NULL,
            section_id VARCHAR NOT NULL,
            score DOUBLE,
            PRIMARY KEY (audio_sha256, config_hash, section_id)
        );
        CREATE TABLE check_results (
            audio_sha256 VARCHAR NOT NULL,
            config_hash VARCHAR NOT NULL,
            check_id VARCHAR NOT NULL,
            section_id VARCHAR,
            verdict VARCHAR NOT NULL,
            score DOUBLE,
            PRIMARY KEY (audio_sha256, config_hash, check_id)
        );
        CREATE TABLE metrics (
            audio_sha256 VARCHAR NOT NULL,
            config_hash VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            value DOUBLE,
            PRIMARY KEY (audio_sha256, config_hash, name)
        );
        CREATE TABLE failures (
            run_id VARCHAR,
            source_path VARCHAR NOT NULL,
            audio_sha256 VARCHAR,
            config_hash VARCHAR,
            call_id VARCHAR,
            reason VARCHAR NOT NULL,
            failed_at TIMESTAMP NOT NULL
        );
        CREATE INDEX calls_agent ON calls (agent_id);
        CREATE INDEX calls_team ON calls (team);
        """,
    ),
    (
        2,
        # A cache of file hashes so a nightly run over a growing inbox re-reads only new files.
        """
        CREATE TABLE file_hashes (
            path VARCHAR PRIMARY KEY,
            size BIGINT NOT NULL,
            mtime_ns BIGINT NOT NULL,
            audio_sha256 VARCHAR NOT NULL
        );
        """,
    ),
    (
        3,
        # Human reviews, beside callqa's verdicts (never over them): callqa.batch.reviews.
        """
        CREATE SEQUENCE review_ids START 1;
        CREATE TABLE reviews (
            review_id BIGINT PRIMARY KEY DEFAULT nextval('review_ids'),
            audio_sha256 VARCHAR NOT NULL,
            call_id VARCHAR NOT NULL,
            item VARCHAR NOT NULL,
            verdict VARCHAR NOT NULL,
            reviewer VARCHAR NOT NULL,
            note VARCHAR,
            reviewed_at TIMESTAMP,
            recorded_at TIMESTAMP NOT NULL,
            source VARCHAR NOT NULL
        );
        """,
    ),
)
SCHEMA_VERSION = _MIGRATIONS[-1][0]


def default_store_path() -> Path:
    """The store used when no ``--store`` is given.

    Returns
    -------
    Path
        ``$CALLQA_STORE`` when set, else ``./callqa.duckdb`` (the current directory, so a
        reviewer's batch and their queries find the same file without configuration).
    """
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE_NAME)


def utc_now() -> datetime:
    """Current UTC time without tzinfo (the store keeps naive UTC TIMESTAMPs)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


# -- connections -----


def _is_io_error(exc: Exception) -> bool:
    """True for an error that no later call can get past: the file cannot be written or read
    (a full disk, a damaged file). A commit that cannot write the write-ahead log is one:
    DuckDB raises it as a TransactionException ("Failed to commit: Could not write file
    ...: No space left on device"), and the batch had gone on scoring every call into it."""
    import duckdb

    if isinstance(exc, (duckdb.IOException, duckdb.FatalException, duckdb.InternalException)):
        return True
    return isinstance(exc, duckdb.TransactionException) and "failed to commit" in str(exc).lower()


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


@contextmanager
def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    migrate_schema: bool = True,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store for one short piece of work, waiting while another process holds it.

    Parameters
    ----------
    path : Path or str
        The DuckDB file (created, with the current schema, unless ``read_only``).
    read_only : bool
        Open without write access; the file must exist.
    timeout_s : float >= 0 [s]
        How long to retry (with exponential backoff from 50 ms to 1 s) while another process
        has the file open.
    migrate_schema : bool
        Bring an older schema up to :data:`SCHEMA_VERSION` (writable connections only).

    Yields
    ------
    duckdb.DuckDBPyConnection
        Closed when the ``with`` block ends.

    Raises
    ------
    StoreError
        The file is still locked after ``timeout_s``, is not a DuckDB file, cannot be created,
        or was written by a newer callqa.
    """
    import duckdb

    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"store {path} does not exist; run `callqa batch` first or pass --store")
    if path.exists() and not path.is_file():  # DuckDB would wait on a FIFO for ever
        raise StoreError(f"store {path} is not a regular file; pass the .duckdb file")
    if not read_only and not path.parent.exists():
        raise StoreError(f"cannot create store {path}: directory {path.parent} does not exist")
    con = _open_with_retry(duckdb, path, read_only=read_only, timeout_s=timeout_s)
    try:
        _check_version(con, path, writable=not read_only and migrate_schema)
        yield con
    except duckdb.Error as exc:
        if _is_io_error(exc):
            raise StoreIOError(f"store {path}: {_first_line(exc)}{_hint(exc)}") from exc
        raise StoreError(f"store {path}: {_first_line(exc)}") from exc
    finally:
        con.close()


class StoreBusyError(StoreError):
    """Another process kept the store file open for longer than the timeout."""


class StoreIOError(StoreError):
    """The store file cannot be read or written at all (disk full, a damaged or truncated
    file): no further call can be stored, so a batch stops instead of scoring on."""


def _hint(exc: Exception) -> str:
    text = str(exc).lower()
    if "no space left" in text:
        return "; free disk space, then run again (the calls scored so far are kept)"
    if "could not read enough bytes" in text or "not a valid duckdb" in text:
        return "; the file is damaged or truncated: restore it from a backup or use another --store"
    return ""


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back if a transaction is still open; a failed statement may have ended it already,
    and "no transaction is active" must not hide that statement's own error (ENOSPC, ...)."""
    import duckdb

    with suppress(duckdb.Error):
        con.execute("ROLLBACK")


def _open_with_retry(
    duckdb: Any, path: Path, *, read_only: bool, timeout_s: float
) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise StoreIOError(
                    f"cannot open store {path}: {_first_line(exc)}{_hint(exc)}"
                ) from exc
            if time.monotonic() + delay > deadline:
                raise StoreBusyError(
                    f"store {path} is in use by another process ({_holder(exc)}) and stayed "
                    f"locked for {timeout_s:g} s; wait for it to finish, raise --store-timeout, "
                    "or use another --store"
                ) from exc
            time.sleep(delay)
            delay = min(1.0, delay * 2)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open store {path}: {_first_line(exc)} (is it a callqa DuckDB file?)"
            ) from exc


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _holder(exc: Exception) -> str:
    text = str(exc)
    marker = "(PID "
    if marker in text:
        return "PID " + text.split(marker, 1)[1].split(")", 1)[0]
    return "unknown process"


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _check_version(con: duckdb.DuckDBPyConnection, path: Path, *, writable: bool) -> None:
    version = _current_version(con)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"store {path} has schema version {version}, newer than this callqa understands "
            f"({SCHEMA_VERSION}); upgrade callqa"
        )
    if version < SCHEMA_VERSION:
        if not writable:
            if version == 0:
                raise StoreError(f"{path} is not a callqa store (no schema_version table)")
            return  # an old schema is still readable; the next writer migrates it
        migrate(con, upto=SCHEMA_VERSION)


def migrate(con: duckdb.DuckDBPyConnection, *, upto: int = SCHEMA_VERSION) -> int:
    """Apply the migrations after the store's current version, up to ``upto``, in one transaction.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A writable connection.
    upto : int
        Target schema version (tests use a lower one to build an old store).

    Returns
    -------
    int
        The schema version afterwards.
    """
    version = _current_version(con)
    con.execute("BEGIN TRANSACTION")
    try:
        if version == 0:
            con.execute("CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP)")
        for number, sql in _MIGRATIONS:
            if version < number <= upto:
                con.execute(sql)
                con.execute("INSERT INTO schema_version VALUES (?, ?)", [number, utc_now()])
                version = number
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return version


# -- writing -----


@dataclass(frozen=True)
class CallRecord:
    """One scored call, as the store keeps it.

    Attributes
    ----------
    audio_sha256, config_hash : str
        The key (see module docstring).
    call_id : str
    scorecard : dict
        The scorecard's JSON form (``callqa.scoring.scorecard.to_dict``).
    source_path : str or None
    agent_id, team : str or None
    call_date : str or None
        ISO date ``YYYY-MM-DD`` of the call (from the manifest), not of the scoring.
    metadata : dict
        Extra manifest columns.
    scorecard_path : str or None
        Where the JSON was written (``calls/<call_id>.json``), if anywhere.
    run_id : str or None
    """

    audio_sha256: str
    config_hash: str
    call_id: str
    scorecard: Mapping[str, Any] = field(hash=False)
    source_path: str | None = None
    agent_id: str | None = None
    team: str | None = None
    call_date: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)
    scorecard_path: str | None = None
    run_id: str | None = None


def write_call(
    path: Path | str, record: CallRecord, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> bool:
    """Store one scored call with its sections, checks and metrics in a single transaction.

    Parameters
    ----------
    path : Path or str
        The store file.
    record : CallRecord
    timeout_s : float [s]
        See :func:`connect`.

    Returns
    -------
    bool
        True when written; False when the key was already there (nothing changes).
    """
    with connect(path, timeout_s=timeout_s) as con:
        return _guarded_write(con, record, replace=False)


def replace_call(
    path: Path | str, record: CallRecord, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> None:
    """Like :func:`write_call`, but replaces an existing row with the same key (``--force``)."""
    with connect(path, timeout_s=timeout_s) as con:
        _guarded_write(con, record, replace=True)


def _guarded_write(con: duckdb.DuckDBPyConnection, record: CallRecord, *, replace: bool) -> bool:
    import duckdb

    try:
        return _write_call(con, record, replace=replace)
    except duckdb.Error as exc:
        why = f"cannot store call {record.call_id}: {_first_line(exc)}"
        if _is_io_error(exc):
            raise StoreIOError(f"{why}{_hint(exc)}") from exc
        raise StoreError(why) from exc


def _write_call(con: duckdb.DuckDBPyConnection, record: CallRecord, *, replace: bool) -> bool:
    key = [record.audio_sha256, record.config_hash]
    card = record.scorecard
    con.execute("BEGIN TRANSACTION")
    try:
        if replace:
            for table in ("calls", "section_scores", "check_results", "metrics"):
                con.execute(f"DELETE FROM {table} WHERE audio_sha256 = ? AND config_hash = ?", key)
        elif con.execute(
            "SELECT 1 FROM calls WHERE audio_sha256 = ? AND config_hash = ?", key
        ).fetchone():
            con.execute("ROLLBACK")
            return False
        con.execute(
            "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                *key,
                record.call_id,
                record.source_path,
                record.agent_id,
                record.team,
                _parse_date(record.call_date),
                card.get("language"),
                _num(card.get("duration_s")),
                _num(card.get("score")),
                agent_talk_share(card),
                agent_interruptions(card),
                json.dumps(dict(record.metadata), ensure_ascii=False),
                json.dumps(card, ensure_ascii=False),
                record.scorecard_path,
                record.run_id,
                _parse_timestamp(card.get("created_at")) or utc_now(),
            ],
        )
        _insert_many(con, "section_scores", key, section_rows(card))
        _insert_many(con, "check_results", key, check_rows(card))
        _insert_many(con, "metrics", key, sorted(numeric_leaves(card.get("metrics") or {})))
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    return True


def _insert_many(
    con: duckdb.DuckDBPyConnection, table: str, key: list[str], rows: Sequence[Sequence[Any]]
) -> None:
    if rows:
        marks = ", ".join("?" * (len(rows[0]) + 2))
        con.executemany(f"INSERT INTO {table} VALUES ({marks})", [[*key, *r] for r in rows])


def record_failure(
    path: Path | str,
    *,
    source_path: str,
    reason: str,
    run_id: str | None = None,
    audio_sha256: str | None = None,
    config_hash: str | None = None,
    call_id: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Log a call that could not be scored (kept as history; the next run tries it again)."""
    with connect(path, timeout_s=timeout_s) as con:
        con.execute(
            "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, source_path, audio_sha256, config_hash, call_id, reason, utc_now()],
        )


def start_run(
    path: Path | str,
    *,
    run_id: str,
    kind: str,
    config_hash: str,
    callqa_version: str,
    n_inputs: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Record the start of a batch or nightly run (status "running")."""
    with connect(path, timeout_s=timeout_s) as con:
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, NULL, ?, ?, ?, ?, NULL, NULL, NULL, 'running')",
            [run_id, kind, utc_now(), config_hash, callqa_version, socket.gethostname(), n_inputs],
        )


def finish_run(
    path: Path | str,
    *,
    run_id: str,
    n_scored: int,
    n_skipped: int,
    n_failed: int,
    status: str = "finished",
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Record the end of a run. A run left "running" was killed before it finished."""
    with connect(path, timeout_s=timeout_s) as con:
        con.execute(
            "UPDATE runs SET finished_at = ?, n_scored = ?, n_skipped = ?, n_failed = ?, "
            "status = ? WHERE run_id = ?",
            [utc_now(), n_scored, n_skipped, n_failed, status, run_id],
        )


def cached_hashes(
    path: Path | str, files: Iterable[tuple[str, int, int]], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, str]:
    """sha256 of files seen before with the same size and modification time.

    Parameters
    ----------
    files : iterable of (path, size [bytes], mtime_ns [ns])

    Returns
    -------
    dict
        path -> sha256 for the files whose cached size and mtime still match.
    """
    wanted = {p: (s, m) for p, s, m in files}
    if not wanted or not Path(path).exists():
        return {}
    with connect(path, timeout_s=timeout_s) as con:
        rows = con.execute("SELECT path, size, mtime_ns, audio_sha256 FROM file_hashes").fetchall()
    return {p: h for p, s, m, h in rows if wanted.get(p) == (s, m)}


def remember_hashes(
    path: Path | str,
    entries: Sequence[tuple[str, int, int, str]],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Cache ``(path, size, mtime_ns, sha256)`` entries (see :func:`cached_hashes`)."""
    if not entries:
        return
    with connect(path, timeout_s=timeout_s) as con:
        con.execute("BEGIN TRANSACTION")
        con.executemany(
            "INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)", [list(e) for e in entries]
        )
        con.execute("COMMIT")


# -- reading -----


def scored_keys(
    path: Path | str, keys: Iterable[tuple[str, str]], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> set[tuple[str, str]]:
    """Which of the ``(audio_sha256, config_hash)`` keys are already in the store.

    Returns an empty set when the store file does not exist yet.
    """
    keys = list(keys)
    if not keys or not Path(path).exists():
        return set()
    with connect(path, timeout_s=timeout_s) as con:
        con.execute("CREATE TEMP TABLE wanted (audio_sha256 VARCHAR, config_hash VARCHAR)")
        con.executemany("INSERT INTO wanted VALUES (?, ?)", [list(k) for k in keys])
        rows = con.execute(
            "SELECT c.audio_sha256, c.config_hash FROM calls c "
            "JOIN wanted w USING (audio_sha256, config_hash)"
        ).fetchall()
    return {(a, b) for a, b in rows}


def recordings_of(
    path: Path | str | None, call_ids: Iterable[str], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[str, set[str]]:
    """The recordings (``audio_sha256``) the store holds under each of ``call_ids`` (ids it does
    not hold are left out; empty without a store)."""
    ids = sorted(set(call_ids))
    if path is None or not ids or not Path(path).exists():
        return {}
    with connect(path, timeout_s=timeout_s) as con:
        con.execute("CREATE TEMP TABLE wanted_ids (call_id VARCHAR)")
        con.executemany("INSERT INTO wanted_ids VALUES (?)", [[i] for i in ids])
        rows = con.execute(
            "SELECT DISTINCT c.call_id, c.audio_sha256 FROM calls c JOIN wanted_ids USING (call_id)"
        ).fetchall()
    held: dict[str, set[str]] = {}
    for call_id, sha in rows:
        held.setdefault(call_id, set()).add(sha)
    return held


def load_scorecards(
    path: Path | str, keys: Iterable[tuple[str, str]], *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> dict[tuple[str, str], dict[str, Any]]:
    """The stored scorecard JSON (as dicts) for the given keys that are in the store."""
    keys = list(keys)
    if not keys or not Path(path).exists():
        return {}
    with connect(path, timeout_s=timeout_s) as con:
        con.execute("CREATE TEMP TABLE wanted (audio_sha256 VARCHAR, config_hash VARCHAR)")
        con.executemany("INSERT INTO wanted VALUES (?, ?)", [list(k) for k in keys])
        rows = con.execute(
            "SELECT c.audio_sha256, c.config_hash, c.scorecard, c.call_id FROM calls c "
            "JOIN wanted w USING (audio_sha256, config_hash)"
        ).fetchall()
    return {(a, b): stored_card(s, i) for a, b, s, i in rows}


_READ_SQL = """
SELECT c.audio_sha256, c.config_hash, c.call_id, c.source_path, c.agent_id, c.team,
       c.call_date, c.language, c.duration_s, c.score, c.agent_talk_share,
       c.agent_interruptions, c.metadata, c.scorecard, c.scorecard_path, c.run_id, c.scored_at
FROM calls c
WHERE ({since} IS NULL OR COALESCE(c.call_date, CAST(c.scored_at AS DATE)) >= {since})
  AND ({until} IS NULL OR COALESCE(c.call_date, CAST(c.scored_at AS DATE)) <= {until})
  AND (? IS NULL OR c.team = ?)
  AND (? IS NULL OR c.agent_id = ?)
{latest}
ORDER BY COALESCE(c.call_date, CAST(c.scored_at AS DATE)), c.scored_at, c.call_id
"""
_LATEST = "QUALIFY row_number() OVER (PARTITION BY c.audio_sha256 ORDER BY c.scored_at DESC) = 1"


def read_calls(
    store_path: Path | str,
    *,
    since: date | str | None = None,
    until: date | str | None = None,
    team: str | None = None,
    agent: str | None = None,
    latest_only: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[dict[str, Any]]:
    """Scored calls from the store, one dict per call, oldest call date first.

    Parameters
    ----------
    store_path : Path or str
        The DuckDB store (must exist).
    since, until : datetime.date or ISO date str, optional
        Inclusive bounds on the call's date (``call_date`` from the manifest, else the UTC
        date it was scored).
    team, agent : str, optional
        Keep only this team / agent id.
    latest_only : bool
        One row per audio file, the most recently scored (an audio scored under two
        configurations appears once). False returns every (audio, configuration) row.
    timeout_s : float [s]
        How long to wait for a writer to close the file.

    Returns
    -------
    list of dict
        Keys: ``call_id``, ``agent_id``, ``team``, ``call_date`` (ISO str or None),
        ``scored_at`` (ISO UTC str), ``score`` (0-100 or None), ``sections`` ({id: score}),
        ``agent_talk_share`` (0-1 or None), ``agent_interruptions`` (int or None),
        ``failed_items`` (list of check ids with verdict "fail"), ``scorecard`` (the full JSON
        as a dict), ``scorecard_path`` (str or None), ``audio_sha256``, ``config_hash``,
        ``source_path``, ``language``, ``duration_s`` (s), ``metadata`` (dict), ``run_id``.
    """
    sql = _READ_SQL.format(
        since="CAST(? AS DATE)", until="CAST(? AS DATE)", latest=_LATEST if latest_only else ""
    )
    s, u = _iso_date(since), _iso_date(until)
    with connect(store_path, read_only=True, timeout_s=timeout_s) as con:
        rows = con.execute(sql, [s, s, u, u, team, team, agent, agent]).fetchall()
    return [_row_to_dict(r) for r in rows]


def read_reviews(path: Path | str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[StoredReview]:
    """Every stored review, in the order stored; [] for a store without any (an older schema
    that has no ``reviews`` table yet, or no store file at all)."""
    if not Path(path).exists():
        return []
    with connect(path, read_only=True, timeout_s=timeout_s) as con:
        if _current_version(con) < 3:
            return []
        rows = con.execute(
            "SELECT review_id, audio_sha256, call_id, item, verdict, reviewer, note, "
            "reviewed_at, recorded_at, source FROM reviews ORDER BY review_id"
        ).fetchall()
    return [
        StoredReview(int(i), a, c, it, v, r, n or "", at, rec, s)
        for i, a, c, it, v, r, n, at, rec, s in rows
    ]


def _row_to_dict(row: Sequence[Any]) -> dict[str, Any]:
    (sha, chash, call_id, source, agent, team, call_date, language, duration, score, share,
     interruptions, metadata, scorecard, card_path, run_id, scored_at) = row  # fmt: skip
    card = stored_card(scorecard, call_id)
    return {
        "call_id": call_id,
        "agent_id": agent,
        "team": team,
        "call_date": call_date.isoformat() if call_date else None,
        "scored_at": scored_at.isoformat() if scored_at else None,
        "score": score,
        "sections": dict(section_rows(card)),
        "agent_talk_share": share,
        "agent_interruptions": interruptions,
        "failed_items": [cid for cid, _, verdict, _ in check_rows(card) if verdict == "fail"],
        "scorecard": card,
        "scorecard_path": card_path,
        "audio_sha256": sha,
        "config_hash": chash,
        "source_path": source,
        "language": language,
        "duration_s": duration,
        "metadata": _stored_metadata(metadata, call_id),
        "run_id": run_id,
    }


# -- reading the scorecard JSON --------------------------------------------------------------


def stored_card(text: str, call_id: str) -> dict[str, Any]:
    """A stored scorecard as a dict, its ``sections`` and ``checks`` lists of objects with an
    ``id``: a row changed by hand or by another program ('null', ``"sections": [1, 2]``) had
    failed stats, export, dashboard, queue and calibrate with a Python error.

    Raises
    ------
    StoreError
        The row's scorecard is not such an object.
    """
    try:
        card = load_json(text)
    except ValueError as exc:
        card, why = None, str(exc)
    else:
        why = "not a scorecard"
    if isinstance(card, dict) and all(
        isinstance(card.get(key) or [], list)
        and all(isinstance(x, dict) and isinstance(x.get("id"), str) for x in card.get(key) or [])
        for key in ("sections", "checks")
    ):
        return card
    raise StoreError(
        f"the stored scorecard of call {call_id} is damaged ({why}): score the call again with "
        "`callqa batch --force`, or delete its row"
    )


def _stored_metadata(text: str | None, call_id: str) -> dict[str, Any]:
    try:
        found = load_json(text) if text else {}
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise StoreError(f"the stored metadata of call {call_id} is damaged: delete its row")
    return found


def section_rows(card: Mapping[str, Any]) -> list[tuple[str, float | None]]:
    """``(section_id, score)`` for each rubric section of a scorecard dict."""
    return [(str(s["id"]), _num(s.get("score"))) for s in card.get("sections") or ()]


def check_rows(card: Mapping[str, Any]) -> list[tuple[str, str | None, str, float | None]]:
    """``(check_id, section_id, verdict, score)`` for each check of a scorecard dict.

    The section is the part of the id before the first dot ("empathise.apology" -> "empathise").
    """
    rows = []
    for c in card.get("checks") or ():
        cid = str(c["id"])
        section = cid.split(".", 1)[0] if "." in cid else None
        rows.append((cid, section, str(c.get("verdict", "na")), _num(c.get("score"))))
    return rows


def numeric_leaves(tree: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every int/float leaf of a nested dict as ``("a.b.c", value)``.

    Lists of dicts that each carry a distinct ``speaker`` (or ``id``) are walked under that
    key (``dynamics.parties.agent.talk_s``); other lists (events, turns) are skipped.
    """
    if isinstance(tree, Mapping):
        for k, v in tree.items():
            yield from numeric_leaves(v, f"{prefix}{k}.")
    elif isinstance(tree, list | tuple):
        names = [_item_name(item) for item in tree]
        if None in names or len(set(names)) != len(names):
            return  # a list of events (turns, interruptions): kept in the scorecard JSON only
        for item, name in zip(tree, names, strict=True):
            yield from numeric_leaves(item, f"{prefix}{name}.")
    elif isinstance(tree, int | float):  # bool included (True -> 1.0)
        yield prefix[:-1], float(tree)


def _item_name(item: Any) -> str | None:
    name = item.get("speaker", item.get("id")) if isinstance(item, Mapping) else None
    return name if isinstance(name, str) else None


def party(card: Mapping[str, Any], speaker: str) -> Mapping[str, Any]:
    """The ``metrics.dynamics.parties`` entry of ``speaker`` in a scorecard dict ({} if absent)."""
    dyn = (card.get("metrics") or {}).get("dynamics") or {}
    for p in dyn.get("parties") or ():
        if isinstance(p, Mapping) and p.get("speaker") == speaker:
            return p
    return {}


def agent_talk_share(card: Mapping[str, Any]) -> float | None:
    """The agent's share of talk time (0-1) from a scorecard dict, or None."""
    return _num((card.get("metrics") or {}).get("agent_talk_share"))


def agent_interruptions(card: Mapping[str, Any]) -> int | None:
    """Competitive interruptions the agent made (docs/metrics.md), from a scorecard dict, or None.

    Read from ``metrics.dynamics.parties[speaker == "agent"].interruptions``.
    """
    number = _num(party(card, "agent").get("interruptions"))
    return None if number is None else int(number)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN -> None


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _parse_timestamp(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def _iso_date(value: date | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise StoreError(f"invalid date {value!r}: use YYYY-MM-DD") from exc
