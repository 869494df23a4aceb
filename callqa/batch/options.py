"""How to run a batch (:class:`BatchOptions`) and what came of it (:class:`BatchResult`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callqa.batch import store
from callqa.batch.engines import Status

# -- options and results -----


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch.

    Attributes
    ----------
    workers : int >= 0 or None
        Worker processes (None: :func:`default_workers`; 0: score in this process).
    threads : int >= 1 or None
        CPU threads per worker (None: cores // workers).
    engine : {"local", "ray"}
    ray_address : str or None
        "local" (start a private Ray on this machine), "auto" (join the running cluster) or
        "ray://HOST:10001".
    gpus_per_worker : float >= 0
        Ray only: GPUs reserved per actor.
    force : bool
        Score again calls that the store already holds (replacing their rows).
    store_timeout_s : float >= 0 [s]
        How long a store write waits for another process to close the file.
    reports : bool
        Also write ``calls/<call_id>.html`` (needs :mod:`callqa.outputs.report`). With redaction on,
        a call whose scorecard lists personal data gets ``calls/<call_id>.redacted.flac``
        (those spans silenced), and its report links that copy, never the original.
    include_skipped_rows : bool
        Put already-scored calls in the outputs (batch) or only this run's (nightly).
    start_method : str
        multiprocessing start method of the local engine.
    """

    workers: int | None = None
    threads: int | None = None
    engine: str = "local"
    ray_address: str | None = None
    gpus_per_worker: float = 0.0
    force: bool = False
    store_timeout_s: float = store.DEFAULT_TIMEOUT_S
    reports: bool = False
    include_skipped_rows: bool = True
    start_method: str = "spawn"


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a batch: one row per input call, and where the outputs went."""

    rows: tuple[dict[str, Any], ...]
    out_dir: Path | None
    store_path: Path | None
    run_id: str
    ignored_files: int = 0
    seconds: float = 0.0
    restarts: int = 0
    unlisted_skipped: int = 0  # skipped calls left out of ``rows`` (nightly runs)

    def count(self, status: Status) -> int:
        """Calls with this status (unlisted skipped calls included)."""
        listed = sum(1 for r in self.rows if r["status"] == status)
        return listed + (self.unlisted_skipped if status == "skipped" else 0)

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("scored", "skipped", "failed")}

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, 1 otherwise."""
        return 1 if self.count("failed") else 0
