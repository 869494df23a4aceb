"""Score many calls: inputs, the plan, the engines that run it, and the outputs.

::

    files / dirs / globs / manifest.csv -> collect_inputs -> InputSet (CallInput ...)
    InputSet + store -> plan (hash audio, key, drop duplicates and already-scored calls) -> Job ...
    Job ... -> engine (InlineEngine | ProcessEngine | callqa.ray_engine.RayEngine) -> JobResult ...
    each JobResult -> calls/<call_id>.json + one store transaction      (parent process only)
    all rows -> scorecards.csv, scorecards.parquet, summary.md

Workers load the model once (pool initializer / Ray actor) and never touch the store: the
parent writes each finished call in its own short transaction, so a killed run loses at most
the calls that were still being scored, and a re-run skips everything already stored.

Exit codes (:attr:`BatchResult.exit_code`): 0 every call scored or skipped, 1 at least one call
failed; the CLI adds 2 for usage errors and 75 when a nightly run finds another one running.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import os
import signal
import stat
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from callqa import store
from callqa.errors import CallQAError, StoreError
from callqa.fsutil import atomic_write_bytes, atomic_write_text
from callqa.progress import Reporter, make_reporter

if TYPE_CHECKING:
    from callqa.config import Config
    from callqa.transcribe import Transcriber, TranscriptionConfig

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

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a")
MANIFEST_FIELDS = ("path", "call_id", "agent_id", "team", "language", "agent_channel", "call_date")
# bytes; measured peak RSS of a worker (model + every stage): 0.5 GB on a 1-minute call,
# 1.4-1.6 GB over the sample calls and on a 20-minute call; it grows ~55 MB per audio minute,
# so hour-long calls need more (benchmarks/results/batch.md)
MEMORY_PER_WORKER = 1.5 * 2**30
MAX_SUSPECT_CRASHES = 1  # a call whose worker dies while it runs alone is failed, not retried

Status = Literal["scored", "skipped", "failed"]
TranscriberFactory = Callable[[], "Transcriber"]


class BatchUsageError(CallQAError):
    """The batch was asked for something impossible (bad manifest, unknown engine): exit 2."""


# -- inputs -----


@dataclass(frozen=True)
class CallInput:
    """One call to score, with what the manifest says about it.

    Attributes
    ----------
    path : Path
        The recording.
    call_id, agent_id, team, language, agent_channel, call_date : str or None
        From the manifest; ``call_id`` defaults to the file name without extension,
        ``language``/``agent_channel`` override the config for this call only,
        ``call_date`` is ``YYYY-MM-DD``.
    metadata : tuple of (str, str)
        Other manifest columns, kept in the outputs as ``meta_<name>``.
    problem : str or None
        Why this input cannot be scored at all (not an audio file, not found); such inputs
        become ``failed`` rows without reaching a worker.
    """

    path: Path
    call_id: str | None = None
    agent_id: str | None = None
    team: str | None = None
    language: str | None = None
    agent_channel: str | None = None
    call_date: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class InputSet:
    """The calls found in the inputs, and how many other files the directories held."""

    calls: tuple[CallInput, ...]
    ignored_files: int = 0  # non-audio files met while walking directories (not failures)


def is_audio(path: Path) -> bool:
    """True when the file name ends in one of :data:`AUDIO_EXTENSIONS` (any case)."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


def collect_inputs(specs: Sequence[str | Path]) -> InputSet:
    """Expand files, directories (recursively), globs and manifest CSVs into calls.

    Parameters
    ----------
    specs : sequence of str or Path
        A ``.csv`` file is a manifest (:func:`read_manifest`); a directory contributes every
        audio file below it (others are counted in ``ignored_files``); a pattern with ``*``,
        ``?`` or ``[`` that is not an existing path is a glob (``**`` recurses); anything else
        is one file. A named file that is missing or not audio becomes a call with a
        ``problem``.

    Returns
    -------
    InputSet
        Calls in the order given (directories and globs sorted by path); a file named twice
        appears once.
    """
    calls: list[CallInput] = []
    ignored = 0
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found, skipped = _walk(path)
            calls.extend(CallInput(p) for p in found)
            ignored += skipped
        elif path.suffix.lower() == ".csv" and path.is_file():
            calls.extend(read_manifest(path))
        elif not path.exists() and glob.has_magic(str(spec)):
            matches = sorted(glob.glob(str(spec), recursive=True))
            if not matches:
                calls.append(CallInput(path, problem=f"no file matches {spec}"))
            sub = collect_inputs([Path(m) for m in matches]) if matches else InputSet(())
            calls.extend(sub.calls)
            ignored += sub.ignored_files
        else:
            calls.append(CallInput(path, problem=_file_problem(path)))
    return InputSet(calls=tuple(_unique_paths(calls)), ignored_files=ignored)


def _walk(root: Path) -> tuple[list[Path], int]:
    """Audio files below ``root`` (sorted) and the number of other files (os.scandir: fast)."""
    found: list[Path] = []
    ignored = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                found.append(Path(dirpath, name))
            else:
                ignored += 1
    return sorted(found), ignored


def _file_problem(path: Path) -> str | None:
    if not path.exists():
        return f"file not found: {path}"
    if not path.is_file():
        return f"not a regular file: {path}"
    if not is_audio(path):
        kinds = ", ".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        return f"not an audio file (extension {path.suffix or 'none'}; expected {kinds})"
    return None


def _unique_paths(calls: Sequence[CallInput]) -> Iterator[CallInput]:
    seen: set[Path] = set()
    for call in calls:
        key = call.path.resolve() if call.path.exists() else call.path
        if key not in seen:
            seen.add(key)
            yield call


def read_manifest(path: Path) -> list[CallInput]:
    """Read a manifest CSV: a ``path`` column plus optional call details and extra columns.

    Parameters
    ----------
    path : Path
        UTF-8 CSV (a BOM is accepted) with a header row. ``path`` is relative to the
        manifest's directory unless absolute. Optional columns: ``call_id``, ``agent_id``,
        ``team``, ``language``, ``agent_channel`` (left/right/auto), ``call_date``
        (YYYY-MM-DD); any other column is kept as metadata. Empty cells mean "not given".

    Raises
    ------
    BatchUsageError
        No ``path`` column, an empty path, a bad date, or a duplicate ``call_id``.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchUsageError(f"cannot read manifest {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or ()]
    if "path" not in fields:
        raise BatchUsageError(
            f"manifest {path} has no 'path' column (columns: {', '.join(fields) or 'none'}); "
            "the first row must be a header such as: path,call_id,agent_id,team"
        )
    calls = [_manifest_row(path, n, row) for n, row in enumerate(reader, start=2)]
    ids = Counter(c.call_id for c in calls if c.call_id)
    dupes = sorted(i for i, n in ids.items() if n > 1)
    if dupes:
        raise BatchUsageError(f"manifest {path}: call_id used twice: {', '.join(dupes[:5])}")
    return calls


def _manifest_row(manifest: Path, line: int, row: Mapping[str | None, Any]) -> CallInput:
    values = {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}
    if not values.get("path"):
        raise BatchUsageError(f"manifest {manifest} line {line}: empty path")
    audio = Path(values["path"])
    if not audio.is_absolute():
        audio = manifest.parent / audio
    call_date = values.get("call_date") or None
    if call_date and not _is_iso_date(call_date):
        raise BatchUsageError(
            f"manifest {manifest} line {line}: call_date {call_date!r} is not YYYY-MM-DD"
        )
    extra = tuple((k, v) for k, v in values.items() if k not in MANIFEST_FIELDS and k)
    return CallInput(
        path=audio,
        call_id=values.get("call_id") or None,
        agent_id=values.get("agent_id") or None,
        team=values.get("team") or None,
        language=values.get("language") or None,
        agent_channel=values.get("agent_channel") or None,
        call_date=call_date,
        metadata=extra,
        problem=_file_problem(audio),
    )


def _is_iso_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


# -- identity -----


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (about 1.5 GB/s)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def scoring_key(config: Config, *, model_id: str = "model") -> str:
    """Hash of everything that changes a scorecard apart from the audio.

    Parameters
    ----------
    config : Config
        The effective configuration of the call (manifest overrides applied). CPU thread
        counts and the device are left out: they change speed, not results.
    model_id : str
        Identifies the transcriber beyond ``config.transcription`` ("model" for the
        configured Whisper model, the factory's qualified name for others).

    Returns
    -------
    str
        24 hex digits of the sha256 over the config, the rubric file, the built-in rubric and
        phrase files, ``model_id`` and the callqa version.
    """
    import callqa
    from callqa.config import config_to_dict

    data = config_to_dict(config)
    transcription = dict(data.get("transcription", {}))
    for volatile in ("threads", "device"):
        transcription.pop(volatile, None)
    data["transcription"] = transcription
    rubric_path = config.rubric.path
    payload = {
        "config": data,
        "rubric": _file_digest(Path(rubric_path)) if rubric_path else None,
        "resources": _resource_digest(),
        "model": model_id,
        "version": callqa.__version__,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _file_digest(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return f"unreadable:{path}"


def _resource_digest() -> str:
    """sha256 over the shipped rubrics and phrase packs (they change what checks find)."""
    digest = hashlib.sha256()
    root = resources.files("callqa")
    for folder in ("rubrics", "phrases"):
        base = root.joinpath(folder)
        if not base.is_dir():
            continue
        for item in sorted(base.iterdir(), key=lambda t: t.name):
            if item.is_file():
                digest.update(item.name.encode())
                digest.update(item.read_bytes())
    return digest.hexdigest()


# -- jobs and the scorer -----


@dataclass(frozen=True)
class ModelFactory:
    """Loads the configured Whisper model (picklable, so a worker process can call it)."""

    transcription: TranscriptionConfig

    def __call__(self) -> Transcriber:
        from callqa.transcribe import load_transcriber

        return load_transcriber(self.transcription)


def factory_id(factory: TranscriberFactory) -> str:
    """What :func:`scoring_key` records about the transcriber factory."""
    if isinstance(factory, ModelFactory):
        return "model"
    target: Any = getattr(factory, "func", factory)  # functools.partial
    if not isinstance(target, type) and not hasattr(target, "__qualname__"):
        target = type(target)  # a factory object: its class identifies it, not its settings
    return f"{target.__module__}.{target.__qualname__}"


@dataclass(frozen=True)
class Job:
    """One call sent to a worker."""

    index: int
    path: str
    call_id: str
    config: Config


@dataclass(frozen=True)
class JobResult:
    """What a worker sends back: the scorecard's JSON form, or why there is none."""

    index: int
    status: Status
    card: dict[str, Any] | None = None
    reason: str = ""
    seconds: float = 0.0  # wall-clock time in the worker
    worker: str = ""  # "pid:<n>" or the Ray actor id


class CallScorer:
    """Holds a loaded transcriber and scores jobs with it (one per worker process or actor).

    Parameters
    ----------
    factory : callable returning a Transcriber
        Called once, here.
    threads : int >= 1 or None
        CPU threads this worker may use (sets OMP/MKL/OpenBLAS and torch threads).
    """

    def __init__(self, factory: TranscriberFactory, *, threads: int | None = None) -> None:
        if threads:
            limit_threads(threads)
        self.transcriber = factory()
        if threads and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        self.worker = f"pid:{os.getpid()}"

    def score(self, job: Job) -> JobResult:
        """Score one job; every error becomes a ``failed`` result with a one-line reason."""
        from callqa.pipeline import score_call
        from callqa.scorecard import to_dict

        start = time.perf_counter()
        try:
            card = score_call(
                Path(job.path), transcriber=self.transcriber, config=job.config, call_id=job.call_id
            )
            data = to_dict(card)
        except CallQAError as exc:
            return self._failed(job, _one_line(str(exc)), start)
        except MemoryError:
            return self._failed(job, "out of memory while scoring this call", start)
        except Exception as exc:  # a bug must cost one call, not the batch
            return self._failed(job, f"internal error: {type(exc).__name__}: {exc}", start)
        return JobResult(
            job.index, "scored", data, seconds=time.perf_counter() - start, worker=self.worker
        )

    def _failed(self, job: Job, reason: str, start: float) -> JobResult:
        seconds = time.perf_counter() - start
        return JobResult(job.index, "failed", reason=reason, seconds=seconds, worker=self.worker)


THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Cap the math libraries of this process at ``threads`` CPU threads (before they load)."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


# -- engines -----


class Engine(Protocol):
    """Runs jobs somewhere and hands each result to ``on_result`` in the calling process."""

    def run(self, jobs: Sequence[Job], on_result: Callable[[JobResult], None]) -> None: ...


@dataclass
class InlineEngine:
    """Scores in the calling process, one call at a time (``--workers 0``; debugging, tests)."""

    factory: TranscriberFactory
    threads: int | None = None

    def run(self, jobs: Sequence[Job], on_result: Callable[[JobResult], None]) -> None:
        if not jobs:
            return
        scorer = CallScorer(self.factory, threads=self.threads)
        for job in jobs:
            on_result(scorer.score(job))


_WORKER: CallScorer | None = None  # the scorer of this worker process (set by the initializer)


def _worker_init(factory: TranscriberFactory, threads: int | None) -> None:
    global _WORKER
    _watch_parent(os.getppid())
    _WORKER = CallScorer(factory, threads=threads)


def _worker_score(job: Job) -> JobResult:
    if _WORKER is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("worker used before its initializer")
    return _WORKER.score(job)


def _watch_parent(parent_pid: int, *, interval_s: float = 1.0) -> None:
    """Exit this worker when the parent dies (a SIGKILLed batch must not leave orphans)."""

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="callqa-parent-watch", daemon=True).start()


@dataclass
class ProcessEngine:
    """A pool of worker processes, each loading the model once (the default engine).

    A worker that dies hard (SIGKILL, the OOM killer) breaks the pool: the pool is recreated
    and the unfinished calls are submitted again. The calls that were running when it died are
    first retried one at a time in a single-worker pool, so a call that kills its worker every
    time is failed on its own and does not take innocent calls with it.

    Parameters
    ----------
    factory : callable returning a Transcriber
        Picklable (a module-level class or function, :class:`ModelFactory`).
    workers : int >= 1
    threads : int >= 1 or None
        CPU threads per worker.
    start_method : {"spawn", "forkserver", "fork"}
        "spawn" (default): fresh interpreters, no inherited locks, file descriptors or threads.
    """

    factory: TranscriberFactory
    workers: int
    threads: int | None = None
    start_method: str = "spawn"
    restarts: int = 0  # how many times a broken pool was recreated (for tests and the log)

    def run(self, jobs: Sequence[Job], on_result: Callable[[JobResult], None]) -> None:
        pending: dict[int, Job] = {job.index: job for job in jobs}
        crashes: Counter[int] = Counter()
        while pending:
            suspects = self._run_pool(pending, on_result, self.workers)
            if not suspects:
                continue
            self.restarts += 1
            for index in suspects:  # alone, so a crash now is this call's own doing
                job = pending.get(index)
                if job is None:
                    continue
                if self._run_pool({index: job}, on_result, 1):
                    crashes[index] += 1
                    self.restarts += 1
                    if crashes[index] >= MAX_SUSPECT_CRASHES:
                        on_result(_died(job))
                        pending.pop(index)

    def _run_pool(
        self,
        pending: dict[int, Job],
        on_result: Callable[[JobResult], None],
        workers: int,
    ) -> list[int]:
        """Run ``pending`` (removing finished jobs); return the jobs running when a worker died."""
        import multiprocessing

        context = multiprocessing.get_context(self.start_method)
        workers = max(1, min(workers, len(pending)))
        queue = sorted(pending)
        running: dict[Future[JobResult], int] = {}
        pool = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_worker_init,
            initargs=(self.factory, self.threads),
        )
        try:
            while queue or running:
                while queue and len(running) < workers:  # exactly the running calls are in flight
                    index = queue.pop(0)
                    running[pool.submit(_worker_score, pending[index])] = index
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = [running[f] for f in done if isinstance(f.exception(), BrokenProcessPool)]
                if broken:
                    return sorted(set(running.values()))
                for fut in done:
                    index = running.pop(fut)
                    on_result(fut.result())
                    pending.pop(index)
            return []
        finally:
            _stop_pool(pool)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Shut a pool down without waiting for running calls (they are resubmitted or abandoned)."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def _died(job: Job) -> JobResult:
    return JobResult(
        job.index,
        "failed",
        reason="the worker process died while scoring this call (killed, or out of memory); "
        "check the file and the memory limit",
    )


def default_workers(cores: int | None = None, memory_bytes: int | None = None) -> int:
    """Workers for this machine: one per core, fewer when memory is short (1.5 GiB each).

    Parameters
    ----------
    cores : int, optional
        Usable cores (default: this process's CPU affinity).
    memory_bytes : int, optional
        Available memory (default: :func:`available_memory`; unknown -> not limiting).
    """
    cores = cores or len(os.sched_getaffinity(0))
    memory = memory_bytes if memory_bytes is not None else available_memory()
    by_memory = int(memory // MEMORY_PER_WORKER) if memory else cores
    return max(1, min(cores, by_memory))


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """CPU threads per worker so that workers x threads <= cores (at least 1)."""
    cores = cores or len(os.sched_getaffinity(0))
    return max(1, cores // max(1, workers))


def available_memory() -> int | None:
    """Bytes this process may still use: MemAvailable, or less under a cgroup memory limit.

    A systemd unit's ``MemoryMax=`` (or a container's limit) is a cgroup v2 ``memory.max``;
    /proc/meminfo shows the whole host, so both are read and the smaller wins. None when
    neither can be read.
    """
    known = [m for m in (_meminfo_available(), cgroup_memory_room()) if m is not None]
    return min(known, default=None)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cgroup_memory_room(
    proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = Path("/sys/fs/cgroup")
) -> int | None:
    """Bytes left under the tightest cgroup v2 ``memory.max`` of this process and its parents.

    Returns
    -------
    int or None
        ``memory.max - memory.current`` of the most constrained group; None without cgroup v2
        or without a limit ("max").
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    if path is None:
        return None
    group = root / path.strip("/")
    folders = [group, *(f for f in group.parents if f.is_relative_to(root))]
    rooms = [r for r in map(_cgroup_room, folders) if r is not None]
    return min(rooms, default=None)


def _cgroup_room(folder: Path) -> int | None:
    try:
        limit = (folder / "memory.max").read_text().strip()
    except OSError:
        return None
    if not limit.isdigit():  # "max": no limit here
        return None
    try:
        used = int((folder / "memory.current").read_text().strip())
    except (OSError, ValueError):
        used = 0
    return max(0, int(limit) - used)


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
        Also write ``calls/<call_id>.html`` (needs :mod:`callqa.report`). With redaction on,
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


# -- the plan -----


@dataclass
class _Entry:
    """One input's progress through the batch (mutable bookkeeping of the parent process)."""

    index: int
    call: CallInput
    call_id: str
    status: Status | None = None
    reason: str = ""
    sha256: str | None = None
    key: str | None = None
    card: dict[str, Any] | None = None
    config: Config | None = None
    scorecard_path: str | None = None


def _call_ids(calls: Sequence[CallInput]) -> list[str]:
    """Manifest ids, else the file stem; a stem used by two files gets a path-hash suffix."""
    stems = [safe_call_id(c.call_id or c.path.stem) for c in calls]
    counts = Counter(s for c, s in zip(calls, stems, strict=True) if not c.call_id)
    ids = []
    for call, stem in zip(calls, stems, strict=True):
        if not call.call_id and counts[stem] > 1:
            stem = f"{stem}-{hashlib.sha1(str(call.path).encode()).hexdigest()[:8]}"
        ids.append(stem)
    return ids


def safe_call_id(text: str) -> str:
    """A call id usable as a file name: no path separators, NUL or leading dots."""
    cleaned = "".join("_" if ch in '/\\\0:*?"<>|' or ord(ch) < 32 else ch for ch in text).strip()
    return cleaned.lstrip(".") or "call"


def _call_config(config: Config, call: CallInput) -> Config:
    from callqa.config import replace_config

    return replace_config(
        config, call__language=call.language, call__agent_channel=call.agent_channel
    )


def _hash_inputs(entries: Sequence[_Entry], store_path: Path | None, timeout_s: float) -> None:
    """Fill ``sha256`` of every readable input (cached by path, size and mtime in the store)."""
    stats: dict[str, tuple[int, int]] = {}
    for e in entries:
        if e.status is None:
            try:
                st = e.call.path.stat()
            except OSError as exc:
                e.status, e.reason = "failed", f"cannot read {e.call.path}: {exc.strerror}"
                continue
            if not stat.S_ISREG(st.st_mode):  # a FIFO or device would block or never end
                e.status, e.reason = "failed", f"not a regular file: {e.call.path}"
                continue
            stats[str(e.call.path.resolve())] = (st.st_size, st.st_mtime_ns)
    cached: dict[str, str] = {}
    if store_path is not None:
        files = [(p, s, m) for p, (s, m) in stats.items()]
        cached = store.cached_hashes(store_path, files, timeout_s=timeout_s)
    fresh = []
    for e in entries:
        if e.status is not None:
            continue
        resolved = str(e.call.path.resolve())
        try:
            e.sha256 = cached.get(resolved) or sha256_file(e.call.path)
        except OSError as exc:
            e.status, e.reason = "failed", f"cannot read {e.call.path}: {exc.strerror or exc}"
            continue
        if resolved not in cached:
            fresh.append((resolved, *stats[resolved], e.sha256))
    if store_path is not None:
        store.remember_hashes(store_path, fresh, timeout_s=timeout_s)


def _plan(
    entries: Sequence[_Entry],
    config: Config,
    model_id: str,
    store_path: Path | None,
    options: BatchOptions,
) -> list[_Entry]:
    """Key each call, mark duplicates and already-scored calls; return the calls to score."""
    first_by_key: dict[tuple[str, str], _Entry] = {}
    for e in entries:
        if e.status is not None or e.sha256 is None:
            continue
        try:
            e.config = _call_config(config, e.call)
        except CallQAError as exc:
            e.status, e.reason = "failed", _one_line(str(exc))
            continue
        e.key = scoring_key(e.config, model_id=model_id)
        first = first_by_key.setdefault((e.sha256, e.key), e)
        if first is not e:
            e.status, e.reason = "skipped", f"same audio as {first.call_id} ({first.call.path})"
    done: set[tuple[str, str]] = set()
    if store_path is not None and not options.force:
        done = store.scored_keys(store_path, first_by_key, timeout_s=options.store_timeout_s)
    for k in done:
        first_by_key[k].status, first_by_key[k].reason = "skipped", "already scored"
    return [e for e in first_by_key.values() if e.status is None]


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
        tests pass :class:`callqa.testing.FakeTranscriber`. Must be picklable for workers.
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
    import callqa
    from callqa.config import Config

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

    calls = input_set.calls
    entries = [
        _Entry(n, c, i) for n, (c, i) in enumerate(zip(calls, _call_ids(calls), strict=True))
    ]
    for e in entries:
        if e.call.problem:
            e.status, e.reason = "failed", e.call.problem
    _hash_inputs(entries, store_path, options.store_timeout_s)
    todo = _plan(entries, config, factory_id(factory), store_path, options)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    writer = _ResultWriter(entries, calls_dir, store_path, run_id, options, reporter)
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
    writer.report_planned()
    engine = _make_engine(options, factory, workers, threads, config)
    status = "interrupted"
    try:
        with _sigterm_as_interrupt():
            engine.run([writer.job(e) for e in todo], writer.on_result)
        status = "finished"
    finally:
        rows = _finalize(writer, out_dir, run_id, status, kind, output_suffix)
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


def _finalize(
    writer: _ResultWriter,
    out_dir: Path | None,
    run_id: str,
    status: str,
    kind: str,
    suffix: str,
) -> list[dict[str, Any]]:
    """Store what is left, write the tables and the summary, close the run; return all rows."""
    options = writer.options
    try:
        writer.flush_store()
        writer.load_skipped_cards()
        rows = writer.rows()
        listed = [r for r in rows if options.include_skipped_rows or r["status"] != "skipped"]
        if writer.calls_dir is not None and out_dir is not None:
            write_outputs(listed, out_dir, suffix=suffix, title=f"callqa {kind} {run_id}")
            if options.reports:
                _write_dashboard(writer, out_dir)
        if writer.store_path is not None:
            _finish_run(writer.store_path, run_id, rows, status, options.store_timeout_s)
    finally:
        writer.reporter.finish()
    return rows


def _with_threads(config: Config, threads: int) -> Config:
    from callqa.config import replace_config

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
        from callqa.ray_engine import RayEngine

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
            raise


class _ResultWriter:
    """Parent-side handling of finished calls: JSON file, store transaction, progress."""

    def __init__(
        self,
        entries: Sequence[_Entry],
        calls_dir: Path | None,
        store_path: Path | None,
        run_id: str,
        options: BatchOptions,
        reporter: Reporter,
    ) -> None:
        self.entries = entries
        self.calls_dir = calls_dir
        self.store_path = store_path
        self.run_id = run_id
        self.options = options
        self.reporter = reporter
        self.unsaved: list[_Entry] = []  # scored, but the store was busy: retried later

    def job(self, entry: _Entry) -> Job:
        assert entry.config is not None
        return Job(
            index=entry.index, path=str(entry.call.path), call_id=entry.call_id, config=entry.config
        )

    def report_planned(self) -> None:
        for e in self.entries:
            if e.status is not None:
                self.reporter.call_done(e.call_id, e.status, e.reason)
                if e.status == "failed":
                    self._store_failure(e)

    def on_result(self, result: JobResult) -> None:
        e = self.entries[result.index]
        e.status, e.reason, e.card = result.status, result.reason, result.card
        if result.status == "scored" and e.card is not None:
            self._write_json(e)
            self.unsaved.append(e)
            self.flush_store(final=False)
        else:
            self._store_failure(e)
        self.reporter.call_done(e.call_id, e.status, e.reason)

    def _write_json(self, e: _Entry) -> None:
        if self.calls_dir is None or e.card is None:
            return
        path = self.calls_dir / f"{e.call_id}.json"
        try:
            atomic_write_text(path, json.dumps(e.card, indent=2, ensure_ascii=False) + "\n")
            e.scorecard_path = str(path)
        except OSError as exc:
            self.reporter.message(f"cannot write {path}: {exc.strerror or exc}", level="error")
        if self.options.reports:
            self._write_report(e)

    def _write_report(self, e: _Entry) -> None:
        try:
            from callqa.report import write_call_report
        except ImportError:
            return
        assert self.calls_dir is not None and e.card is not None
        out = self.calls_dir / f"{e.call_id}.html"
        audio = self._report_audio(e)
        try:
            write_call_report(e.card, out, audio_path=audio, link_audio=True, shared_assets=True)
        except (CallQAError, OSError) as exc:
            self.reporter.message(
                f"report for {e.call_id} not written: {_one_line(str(exc))}", level="warning"
            )

    def _report_audio(self, e: _Entry) -> Path | None:
        """The audio a report links: with personal data recorded, a copy with it silenced.

        ``calls/<call_id>.redacted.flac``; None (a report without audio) when that copy cannot
        be made, so the original is never linked in its place.
        """
        from callqa.redact import RedactionConfig
        from callqa.report import REDACTED_SUFFIX, redact_report_audio

        assert self.calls_dir is not None and e.card is not None
        red = e.config.redaction if e.config is not None else RedactionConfig()
        copy = self.calls_dir / f"{e.call_id}{REDACTED_SUFFIX}"
        try:
            return redact_report_audio(
                e.card, e.call.path, copy, pad_s=red.audio_pad_s, tone_hz=red.tone_hz
            )
        except (CallQAError, OSError) as exc:
            self.reporter.message(
                f"report for {e.call_id} has no audio: cannot write its redacted copy "
                f"({_one_line(str(exc))})",
                level="warning",
            )
            return None

    def flush_store(self, *, final: bool = True) -> None:
        """Write the scored calls not yet in the store; keep them queued while it is busy."""
        if self.store_path is None:
            self.unsaved.clear()
            return
        while self.unsaved:
            e = self.unsaved[0]
            try:
                self._save(e)
            except store.StoreBusyError as exc:
                if final:
                    kept = ", ".join(x.call_id for x in self.unsaved)
                    self.reporter.message(
                        f"{exc}; scorecards of {kept} are in calls/ but not in the store "
                        "(run the batch again to store them)",
                        level="error",
                    )
                    self.unsaved.clear()
                    raise
                self.reporter.message(f"store busy, will retry: {exc}", level="warning")
                return
            except StoreError as exc:  # this call only: its JSON is written, its row is not
                e.status, e.reason = "failed", f"scored but not stored: {exc}"
                self.reporter.message(e.reason, level="error")
            self.unsaved.pop(0)

    def _save(self, e: _Entry) -> None:
        assert self.store_path is not None and e.sha256 and e.key and e.card is not None
        record = store.CallRecord(
            audio_sha256=e.sha256,
            config_hash=e.key,
            call_id=e.call_id,
            scorecard=e.card,
            source_path=str(e.call.path),
            agent_id=e.call.agent_id,
            team=e.call.team,
            call_date=e.call.call_date,
            metadata=dict(e.call.metadata),
            scorecard_path=e.scorecard_path,
            run_id=self.run_id,
        )
        timeout = self.options.store_timeout_s
        if self.options.force:
            store.replace_call(self.store_path, record, timeout_s=timeout)
        else:
            store.write_call(self.store_path, record, timeout_s=timeout)

    def _store_failure(self, e: _Entry) -> None:
        if self.store_path is None:
            return
        try:
            store.record_failure(
                self.store_path,
                source_path=str(e.call.path),
                reason=e.reason,
                run_id=self.run_id,
                audio_sha256=e.sha256,
                config_hash=e.key,
                call_id=e.call_id,
                timeout_s=self.options.store_timeout_s,
            )
        except StoreError as exc:  # the failure is still in the outputs and the log
            self.reporter.message(
                f"failure of {e.call_id} not logged in the store: {exc}", level="warning"
            )

    def load_skipped_cards(self) -> None:
        """Fetch the stored scorecards of skipped calls, so the outputs list every input."""
        wanted = [e for e in self.entries if e.status == "skipped" and e.sha256 and e.key]
        if self.store_path is None or not wanted or not self.options.include_skipped_rows:
            return
        try:
            cards = store.load_scorecards(
                self.store_path,
                [(e.sha256, e.key) for e in wanted if e.sha256 and e.key],
                timeout_s=self.options.store_timeout_s,
            )
        except StoreError as exc:
            self.reporter.message(
                f"skipped calls are listed without scores: {exc}", level="warning"
            )
            return
        for e in wanted:
            e.card = cards.get((e.sha256 or "", e.key or ""))
            if e.card is not None and self.calls_dir is not None:
                path = self.calls_dir / f"{e.call_id}.json"
                if not path.exists():
                    self._write_json(e)

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for e in self.entries:
            status = e.status or "failed"
            reason = e.reason if e.status else "not scored: the run was interrupted"
            out.append(flat_row(e.call, e.call_id, status, reason, e.card, e.sha256, e.key))
        return out


# -- outputs -----

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


def flat_row(
    call: CallInput,
    call_id: str,
    status: str,
    reason: str,
    card: Mapping[str, Any] | None,
    sha256: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """One output row: ids, metadata, status, score, section scores, key metrics, verdicts.

    Column order: fixed columns, then ``meta_<name>``, ``section_<id>``, ``check_<id>``
    (the verdict: pass/fail/na).
    """
    card = card or {}
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
        "score": store._num(card.get("score")),
        "rubric": card.get("rubric"),
    }
    for column, path in KEY_METRICS:
        row[column] = store._num(_dig(metrics, path))
    for speaker in ("agent", "customer"):
        figures = store.party(card, speaker)
        for name in PARTY_METRICS:
            row[f"{speaker}_{name}"] = store._num(figures.get(name))
    row["auto_failed"] = ";".join(card.get("auto_failed") or ())
    for name, value in call.metadata:
        row[f"meta_{name}"] = value
    for sid, score in store.section_rows(card):
        row[f"section_{sid}"] = score
    for cid, _, verdict, _ in store.check_rows(card):
        row[f"check_{cid}"] = verdict
    return row


def _dig(tree: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(tree, Mapping):
            return None
        tree = tree.get(part)
    return tree


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every column of any row: the fixed ones first, then sorted meta/section/check columns."""
    fixed: list[str] = []
    extra: set[str] = set()
    for row in rows:
        for name in row:
            if name.startswith(("meta_", "section_", "check_")):
                extra.add(name)
            elif name not in fixed:
                fixed.append(name)
    order = {"meta_": 0, "section_": 1, "check_": 2}
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
    columns = _columns(rows)
    csv_path = atomic_write_text(out_dir / f"scorecards{suffix}.csv", _csv_text(rows, columns))
    parquet_path = atomic_write_bytes(
        out_dir / f"scorecards{suffix}.parquet", _parquet_bytes(rows, columns)
    )
    summary_path = atomic_write_text(
        out_dir / f"summary{suffix}.md", summary_markdown(rows, title=title)
    )
    return [csv_path, parquet_path, summary_path]


def _csv_text(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return buffer.getvalue()


def _parquet_bytes(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    numeric = {"score", *(c for c, _ in KEY_METRICS)}
    numeric |= {f"{s}_{m}" for s in ("agent", "customer") for m in PARTY_METRICS}
    arrays = {}
    for c in columns:
        values = [row.get(c) for row in rows]
        if c in numeric or c.startswith("section_"):
            arrays[c] = pa.array([None if v is None else float(v) for v in values], pa.float64())
        else:
            arrays[c] = pa.array([None if v is None else str(v) for v in values], pa.string())
    table = pa.table(arrays) if columns else pa.table({})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def summary_markdown(rows: Sequence[Mapping[str, Any]], *, title: str = "callqa batch") -> str:
    """Per-agent and per-team averages, the most frequent failed items, and the failed calls."""
    counts = Counter(r["status"] for r in rows)
    scored = [
        r for r in rows if r["status"] in ("scored", "skipped") and r.get("score") is not None
    ]
    lines = [
        f"# {title}",
        "",
        f"{len(rows)} calls: {counts['scored']} scored, {counts['skipped']} skipped "
        f"(already scored or duplicate audio), {counts['failed']} failed.",
        "",
    ]
    for label, column in (("agent", "agent_id"), ("team", "team")):
        lines += [f"## Per {label}", "", *_group_table(scored, column, label), ""]
    lines += ["## Most frequent failed items", "", *_failed_items_table(rows), ""]
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
        f"| {label} | calls | mean score | min | max | mean agent talk share "
        "| mean agent interruptions |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(groups):
        g = groups[name]
        scores = [float(r["score"]) for r in g]
        out.append(
            f"| {_md(name)} | {len(g)} | {sum(scores) / len(scores):.1f} | {min(scores):.1f} | "
            f"{max(scores):.1f} | {_mean_text(g, 'agent_talk_share', '.2f')} | "
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
        for name, verdict in r.items():
            if name.startswith("check_") and verdict in ("pass", "fail"):
                judged[name[6:]] += 1
                failed[name[6:]] += verdict == "fail"
    ranked = [(n, c) for n, c in failed.most_common() if c > 0][:limit]
    if not ranked:
        return ["No failed items."]
    out = ["| item | failed | of judged calls | share |", "|---|---:|---:|---:|"]
    out += [f"| {_md(n)} | {c} | {judged[n]} | {c / judged[n]:.0%} |" for n, c in ranked]
    return out


def _md(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _write_dashboard(writer: _ResultWriter, out_dir: Path) -> None:
    """``dashboard.html`` over this batch's scored calls, linking their reports (``--reports``)."""
    try:
        from callqa.dashboard import report_links_in, write_dashboard
    except ImportError:
        return
    rows = [_dashboard_row(e) for e in writer.entries if e.card is not None]
    out = out_dir / "dashboard.html"
    links = report_links_in(rows, out_dir / "calls", out)
    write_dashboard(rows, out, report_links=links, shared_assets=True)


def _dashboard_row(e: _Entry) -> dict[str, Any]:
    """A scored call in the shape :func:`callqa.store.read_calls` returns."""
    card = e.card or {}
    return {
        "call_id": e.call_id,
        "agent_id": e.call.agent_id,
        "team": e.call.team,
        "call_date": e.call.call_date,
        "scored_at": card.get("created_at"),
        "score": store._num(card.get("score")),
        "sections": dict(store.section_rows(card)),
        "agent_talk_share": store.agent_talk_share(card),
        "agent_interruptions": store.agent_interruptions(card),
        "failed_items": [c for c, _, v, _ in store.check_rows(card) if v == "fail"],
        "scorecard": card,
        "scorecard_path": e.scorecard_path,
    }


def rebuild_outputs(
    store_path: Path,
    out_dir: Path,
    *,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    agent: str | None = None,
    timeout_s: float = store.DEFAULT_TIMEOUT_S,
) -> list[Path]:
    """Write ``scorecards.csv``, ``scorecards.parquet`` and ``summary.md`` from the store alone.

    Parameters
    ----------
    since, until : str, optional
        Inclusive ``YYYY-MM-DD`` bounds on the call date (see :func:`callqa.store.read_calls`).
    team, agent : str, optional
        Filters.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = export_rows(
        store_path, since=since, until=until, team=team, agent=agent, timeout_s=timeout_s
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
) -> list[dict[str, Any]]:
    """Output rows (as in ``scorecards.csv``) for the stored calls matching the filters."""
    calls = store.read_calls(
        store_path, since=since, until=until, team=team, agent=agent, timeout_s=timeout_s
    )
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
            )
        )
    return rows


def write_table(rows: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Write rows as CSV or Parquet, chosen by ``path``'s extension (atomically)."""
    columns = _columns(rows)
    if path.suffix.lower() == ".parquet":
        return atomic_write_bytes(path, _parquet_bytes(rows, columns))
    if path.suffix.lower() == ".csv":
        return atomic_write_text(path, _csv_text(rows, columns))
    raise BatchUsageError(
        f"cannot export to {path.name}: use a .csv or .parquet file name, or a directory"
    )


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
        run's scored and failed calls.
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
        inputs = _inbox_inputs(inbox, min_age_s)
        return run_batch(
            inputs,
            config=config,
            out_dir=out_dir,
            store_path=store_path,
            transcriber_factory=transcriber_factory,
            options=options,
            reporter=reporter,
            kind="nightly",
            output_suffix=f"-{day}",
        )


def _inbox_inputs(inbox: Path, min_age_s: float) -> InputSet:
    found = collect_inputs([inbox])
    manifest = inbox / "manifest.csv"
    details = {}
    if manifest.is_file():
        details = {c.path.resolve(): c for c in read_manifest(manifest) if c.path.exists()}
    cutoff = time.time() - min_age_s
    calls = []
    for call in found.calls:
        try:
            if call.path.stat().st_mtime > cutoff:
                continue
        except OSError:
            pass  # unreadable: let the batch report it
        calls.append(details.get(call.path.resolve(), call))
    return InputSet(tuple(calls), found.ignored_files)
