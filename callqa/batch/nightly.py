"""The nightly run: score what arrived in an inbox since the last run, under the store's lock."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from callqa.batch.engines import TranscriberFactory
from callqa.batch.inputs import (
    BatchUsageError,
    CallInput,
    InputSet,
    collect_inputs,
    read_manifest,
    resolved,
)
from callqa.batch.options import BatchOptions, BatchResult
from callqa.batch.progress import Reporter
from callqa.batch.run import run_batch
from callqa.config import Config
from callqa.errors import CallQAError

# -- nightly -----

EXIT_LOCKED = 75  # EX_TEMPFAIL from sysexits.h, as `flock -n -E 75` in the crontab
NIGHTLY_MIN_AGE_S = 120.0  # s; younger files may still be uploading and wait for the next run


class LockHeldError(CallQAError):
    """Another run holds the store's lock file (exit code :data:`EXIT_LOCKED`)."""


def lock_path_for(store_path: Path) -> Path:
    """The lock file beside a store: ``<store>.lock``."""
    return store_path.with_name(store_path.name + ".lock")


@contextmanager
def store_lock(store_path: Path) -> Iterator[Path]:
    """Hold an exclusive ``fcntl.flock`` on ``<store>.lock`` for the block, or fail at once.

    The kernel drops the lock when the process dies, however it dies, so a killed run never
    leaves a stale lock. The file holds the holder's PID for the error message.

    Raises
    ------
    LockHeldError
        Another process holds the lock.
    """
    import fcntl

    path = lock_path_for(store_path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise CallQAError(f"cannot create lock file {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise LockHeldError(
                f"another callqa run (PID {holder}) holds {path}; this run exits without "
                "doing anything (it is safe to run again later)"
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def run_nightly(
    inbox: Path,
    *,
    store_path: Path,
    out_dir: Path | None = None,
    config: Config | None = None,
    transcriber_factory: TranscriberFactory | None = None,
    options: BatchOptions | None = None,
    reporter: Reporter | None = None,
    day: str | None = None,
    min_age_s: float = NIGHTLY_MIN_AGE_S,
) -> BatchResult:
    """Score the calls in ``inbox`` that the store does not hold yet, under the store's lock.

    Parameters
    ----------
    inbox : Path
        Folder searched recursively for audio. A ``manifest.csv`` at its top, if present,
        supplies call details for the files it lists.
    store_path : Path
        The DuckDB store (created on the first night).
    out_dir : Path, optional
        Default ``<store folder>/callqa-nightly``. Gets ``calls/<call_id>.json`` and
        ``summary-YYYY-MM-DD.md``, ``scorecards-YYYY-MM-DD.csv`` / ``.parquet`` listing this
        run's scored and failed calls (a second run the same day writes ``summary-YYYY-MM-DD.2.md``
        and so on, never over an earlier run's files).
    day : str, optional
        The date in the file names (default: today, UTC).
    min_age_s : float >= 0 [s]
        Files modified more recently are left for the next run (they may still be copying).

    Raises
    ------
    LockHeldError
        Another run holds the lock (nothing was done).
    CallQAError
        The inbox does not exist, or the store/output cannot be used.
    """
    if not inbox.is_dir():
        raise CallQAError(f"inbox {inbox} is not a directory; pass the folder new calls arrive in")
    out_dir = out_dir or store_path.parent / "callqa-nightly"
    day = day or datetime.now(UTC).date().isoformat()
    options = replace(options or BatchOptions(), include_skipped_rows=False)
    with store_lock(store_path):
        limit = config.limits.max_manifest_bytes if config else None
        inputs = _inbox_inputs(inbox, min_age_s, limit, exclude=[out_dir])
        return run_batch(
            inputs,
            config=config,
            out_dir=out_dir,
            store_path=store_path,
            transcriber_factory=transcriber_factory,
            options=options,
            reporter=reporter,
            kind="nightly",
            output_suffix=day_suffix(out_dir, day),
        )


def day_suffix(out_dir: Path, day: str) -> str:
    """``-YYYY-MM-DD`` for the day's first run; a later run the same day gets ``-YYYY-MM-DD.2``,
    ``.3``, ... so it never overwrites an earlier run's summary and tables."""
    suffix, n = f"-{day}", 1
    while (out_dir / f"summary{suffix}.md").exists() or (
        out_dir / f"scorecards{suffix}.csv"
    ).exists():
        n += 1
        suffix = f"-{day}.{n}"
    return suffix


def _inbox_inputs(
    inbox: Path, min_age_s: float, max_manifest_bytes: int | None, exclude: Sequence[Path] = ()
) -> InputSet:
    found = collect_inputs([inbox], max_manifest_bytes=max_manifest_bytes, exclude=exclude)
    manifest = inbox / "manifest.csv"
    details: dict[Path, CallInput] = {}
    unusable = ""
    if manifest.is_file():
        try:
            listed = read_manifest(manifest, max_bytes=max_manifest_bytes, row_problems=True)
            details = {resolved(c.path): c for c in listed if c.path.exists()}
        except BatchUsageError as exc:  # the whole file: its calls wait for the fix
            unusable = (
                f"not scored: the inbox's manifest.csv cannot be used ({exc}); the next run "
                "scores this call once it is fixed"
            )
    cutoff = time.time() - min_age_s
    calls = []
    for call in found.calls:
        try:
            if call.path.stat().st_mtime > cutoff:
                continue
        except OSError:
            pass  # unreadable (gone, a symlink loop): let the batch report it
        if unusable and call.problem is None:
            call = replace(call, problem=unusable)
        calls.append(details.get(resolved(call.path), call))
    return InputSet(tuple(calls), found.ignored_files)
