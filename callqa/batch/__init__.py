"""Score many calls: inputs, the plan, the engines that run it, and the outputs.

::

    files / dirs / globs / manifest.csv -> inputs.collect_inputs -> InputSet (CallInput ...)
    InputSet + store -> plan (hash audio, key, drop duplicates and already-scored calls) -> Job
    Job ... -> engines (InlineEngine | ProcessEngine | ray_engine.RayEngine) -> JobResult ...
    each JobResult -> writer: calls/<call_id>.json + one store transaction (parent only)
    all rows -> tables: scorecards.csv, scorecards.parquet, summary.md

Workers load the model once (pool initializer / Ray actor) and never touch the store: the
parent writes each finished call in its own short transaction, so a killed run loses at most
the calls that were still being scored, and a re-run skips everything already stored.
:mod:`~callqa.batch.nightly` wraps a run in the store's lock for scheduled runs;
:mod:`~callqa.batch.store` is the DuckDB store; :mod:`~callqa.batch.progress` the progress
reporters.

Exit codes (:attr:`BatchResult.exit_code`): 0 every call scored or skipped, 1 at least one call
failed; the CLI adds 2 for usage errors and 75 when a nightly run finds another one running.
"""

from callqa.batch.engines import ModelFactory
from callqa.batch.inputs import (
    AUDIO_EXTENSIONS,
    BatchUsageError,
    CallInput,
    InputSet,
    collect_inputs,
    read_manifest,
)
from callqa.batch.keys import scoring_key
from callqa.batch.nightly import LockHeldError, run_nightly, store_lock
from callqa.batch.options import BatchOptions, BatchResult
from callqa.batch.run import run_batch
from callqa.batch.tables import (
    export_rows,
    flat_row,
    rebuild_outputs,
    summary_markdown,
    write_outputs,
    write_table,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "BatchOptions",
    "BatchResult",
    "BatchUsageError",
    "CallInput",
    "InputSet",
    "LockHeldError",
    "ModelFactory",
    "collect_inputs",
    "export_rows",
    "flat_row",
    "read_manifest",
    "rebuild_outputs",
    "run_batch",
    "run_nightly",
    "scoring_key",
    "store_lock",
    "summary_markdown",
    "write_outputs",
    "write_table",
]
