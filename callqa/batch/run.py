"""Run a batch: plan, score on an engine, write each result as it arrives, then the tables."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import callqa
from callqa.batch import store
from callqa.batch.engines import (
    Engine,
    InlineEngine,
    ModelFactory,
    ProcessEngine,
    TranscriberFactory,
    factory_id,
)
from callqa.batch.inputs import BatchUsageError, CallInput, InputSet, is_transcript
from callqa.batch.keys import scoring_key
from callqa.batch.machine import default_workers, threads_per_worker
from callqa.batch.options import BatchOptions, BatchResult
from callqa.batch.plan import (
    Entry,
    assign_ids,
    avoid_earlier_ids,
    hash_inputs,
    largest_first,
    plan,
)
from callqa.batch.progress import Reporter, make_reporter
from callqa.batch.ray_engine import RayEngine
from callqa.batch.store import StoreIOError
from callqa.batch.tables import write_outputs
from callqa.batch.writer import ResultWriter, write_batch_dashboard
from callqa.config import Config, replace_config
from callqa.errors import CallQAError, StoreError
from callqa.files import atomic_write_bytes

# -- running -----


def run_batch(
    inputs: InputSet | Sequence[CallInput],
    *,
    config: Config | None = None,
    out_dir: Path | None = None,
    store_path: Path | None = None,
    transcriber_factory: TranscriberFactory | None = None,
    options: BatchOptions | None = None,
    reporter: Reporter | None = None,
    kind: str = "batch",
    output_suffix: str = "",
) -> BatchResult:
    """Score every input call, skipping those already in the store.

    Parameters
    ----------
    inputs : InputSet or sequence of CallInput
        From :func:`collect_inputs`.
    config : Config, optional
        Settings for every call (manifest language/agent_channel override per call).
    out_dir : Path, optional
        Where ``calls/<call_id>.json``, ``scorecards.csv``, ``scorecards.parquet`` and
        ``summary.md`` go (created). None writes no files.
    store_path : Path, optional
        The DuckDB store (created). None keeps nothing between runs.
    transcriber_factory : callable returning a Transcriber, optional
        Default :class:`ModelFactory` of ``config.transcription`` (the real Whisper model);
        tests pass :class:`callqa.transcription.fake.FakeTranscriber`. Must be picklable
        for workers.
    options : BatchOptions, optional
    reporter : Reporter, optional
        Progress (default: bar on a terminal, log lines otherwise, on stderr).
    kind : str
        Recorded in the store's ``runs`` table ("batch", "nightly").
    output_suffix : str
        Appended to the table and summary names (``"-2025-01-31"`` for nightly runs).

    Returns
    -------
    BatchResult

    Raises
    ------
    CallQAError
        The output directory is not writable or the store cannot be opened; nothing was
        scored. Problems with single calls never raise: they become ``failed`` rows.
    """
    config = config or Config()
    options = options or BatchOptions()
    reporter = reporter or make_reporter("auto")
    input_set = inputs if isinstance(inputs, InputSet) else InputSet(tuple(inputs))
    started = time.monotonic()
    calls_dir = _prepare_out_dir(out_dir)
    if store_path is not None:
        with store.connect(store_path, timeout_s=options.store_timeout_s):
            pass  # create or migrate now, and fail before any work if it stays locked
    workers = default_workers() if options.workers is None else options.workers
    threads = options.threads or threads_per_worker(max(1, workers))
    config = _with_threads(config, threads)
    factory = transcriber_factory or ModelFactory(config.transcription)

    entries = [Entry(n, c, "") for n, c in enumerate(input_set.calls)]
    for e in entries:
        if e.call.problem:
            e.status, e.reason = "failed", e.call.problem
    with _sigterm_as_interrupt():  # hashing a large inbox takes a while: SIGTERM exits 130
        hash_inputs(entries, store_path, options.store_timeout_s)
    assign_ids(entries, config.redaction)
    avoid_earlier_ids(entries, calls_dir, store_path, options.store_timeout_s)
    todo = plan(entries, config, factory_id(factory), store_path, options)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    writer = ResultWriter(
        entries, calls_dir, store_path, run_id, options, reporter, config.redaction
    )
    if store_path is not None:
        store.start_run(
            store_path,
            run_id=run_id,
            kind=kind,
            config_hash=scoring_key(config, model_id=factory_id(factory)),
            callqa_version=callqa.__version__,
            n_inputs=len(entries),
            timeout_s=options.store_timeout_s,
        )
    reporter.start(len(entries), description=kind)
    if input_set.ignored_files:
        reporter.message(f"ignored {input_set.ignored_files} non-audio files in the input folders")
    engine = _make_engine(options, factory, workers, threads, config)
    if todo:
        reporter.message(_loading_text(factory, config, workers, todo))
    status = "interrupted"
    errors: list[CallQAError] = []
    try:
        with _sigterm_as_interrupt():
            writer.report_planned()
            engine.run([writer.job(e) for e in largest_first(todo)], writer.on_result)
        status = "finished"
    except StoreIOError as exc:  # the store cannot take another call: stop scoring
        status = "failed"
        errors.append(exc)
    finally:
        rows = _finalize(writer, out_dir, run_id, status, kind, output_suffix, errors, config)
    if errors:
        raise errors[0]
    kept = tuple(r for r in rows if options.include_skipped_rows or r["status"] != "skipped")
    return BatchResult(
        rows=kept,
        out_dir=out_dir,
        store_path=store_path,
        run_id=run_id,
        ignored_files=input_set.ignored_files,
        seconds=time.monotonic() - started,
        restarts=getattr(engine, "restarts", 0),
        unlisted_skipped=len(rows) - len(kept),
    )


def _loading_text(factory: Any, config: Config, workers: int, todo: Sequence[Entry]) -> str:
    """What the run does before the first call finishes: load the model in every worker (none
    for a batch of transcripts)."""
    n_calls = len(todo)
    if all(is_transcript(e.call.path) for e in todo):
        return f"scoring {n_calls} transcript{'s' * (n_calls != 1)} (no model needed)"
    t = config.transcription
    model = f"{t.backend} model '{t.model}'" if isinstance(factory, ModelFactory) else "transcriber"
    where = "in this process" if workers == 0 else f"in {workers} worker{'s' * (workers != 1)}"
    return f"loading the {model} {where}, then scoring {n_calls} call{'s' * (n_calls != 1)}"


def _finalize(
    writer: ResultWriter,
    out_dir: Path | None,
    run_id: str,
    status: str,
    kind: str,
    suffix: str,
    errors: list[CallQAError],
    config: Config,
) -> list[dict[str, Any]]:
    """Store what is left, write the tables and the summary, close the run; return all rows.

    Each step runs even when an earlier one failed (a full disk for the tables still closes
    the run in the store); the failures are appended to ``errors`` for the caller to raise.
    """
    options = writer.options
    try:
        try:
            writer.flush_store()
        except StoreError as exc:
            errors.append(exc)
        writer.load_skipped_cards()
        writer.load_reviews(config)
        rows = writer.rows()
        listed = [r for r in rows if options.include_skipped_rows or r["status"] != "skipped"]
        if writer.calls_dir is not None and out_dir is not None:
            _write_tables(writer, listed, out_dir, suffix, f"callqa {kind} {run_id}", errors)
        if writer.store_path is not None:
            try:
                _finish_run(writer.store_path, run_id, rows, status, options.store_timeout_s)
            except StoreError as exc:
                errors.append(exc)
    finally:
        writer.reporter.finish()
    return rows


def _write_tables(
    writer: ResultWriter,
    rows: list[dict[str, Any]],
    out_dir: Path,
    suffix: str,
    title: str,
    errors: list[CallQAError],
) -> None:
    try:
        write_outputs(rows, out_dir, suffix=suffix, title=title)
    except OSError as exc:
        errors.append(
            CallQAError(
                f"cannot write the tables in {out_dir}: {exc.strerror or exc}; the scored calls "
                "are in the store (rebuild the tables with `callqa export --out DIR`)"
            )
        )
        return
    if writer.options.reports:
        try:
            write_batch_dashboard(writer, out_dir)
        except (OSError, CallQAError) as exc:
            writer.reporter.message(f"dashboard.html not written: {exc}", level="error")


def _with_threads(config: Config, threads: int) -> Config:
    if getattr(config.transcription, "threads", 0):
        return config
    return replace_config(config, transcription__threads=threads)


def _make_engine(
    options: BatchOptions,
    factory: TranscriberFactory,
    workers: int,
    threads: int,
    config: Config,
) -> Engine:
    if options.engine == "ray":
        return RayEngine(
            factory=factory,
            workers=max(1, workers),
            threads=threads,
            address=options.ray_address or "local",
            gpus_per_worker=options.gpus_per_worker,
        )
    if options.engine != "local":
        raise BatchUsageError(f"engine must be 'local' or 'ray', not {options.engine!r}")
    if workers == 0:
        return InlineEngine(factory, threads=threads)
    return ProcessEngine(
        factory, workers=workers, threads=threads, start_method=options.start_method
    )


def _prepare_out_dir(out_dir: Path | None) -> Path | None:
    """Create ``out_dir/calls`` and prove it writable, or raise a CallQAError saying so."""
    if out_dir is None:
        return None
    calls_dir = out_dir / "calls"
    try:
        calls_dir.mkdir(parents=True, exist_ok=True)
        probe = calls_dir / f".write-test-{os.getpid()}"
        atomic_write_bytes(probe, b"")
        probe.unlink()
    except OSError as exc:
        raise CallQAError(
            f"output directory {out_dir} is not writable ({exc.strerror or exc}); "
            "choose another --out"
        ) from exc
    return calls_dir


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so workers are stopped and the run is marked."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _finish_run(
    path: Path, run_id: str, rows: Sequence[Mapping[str, Any]], status: str, timeout_s: float
) -> None:
    counts = Counter(r["status"] for r in rows)
    try:
        store.finish_run(
            path,
            run_id=run_id,
            n_scored=counts["scored"],
            n_skipped=counts["skipped"],
            n_failed=counts["failed"],
            status=status,
            timeout_s=timeout_s,
        )
    except StoreError:
        if status == "finished":
            raise  # an interrupted or failed run already has its error to report
