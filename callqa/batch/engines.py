"""Where calls are scored: jobs, the scorer each worker holds, and the local engines.

Workers load the model once (pool initializer) and never touch the store: results flow back
to the parent, which writes them."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from callqa.config import Config, TranscriptionConfig
from callqa.errors import CallQAError
from callqa.files import sha256_file
from callqa.heap import one_arena
from callqa.pipeline import score_call, score_transcript
from callqa.scoring.scorecard import Scorecard, to_dict
from callqa.transcription.files import TRANSCRIPT_EXTENSIONS, read_transcript
from callqa.transcription.load import load_transcriber
from callqa.transcription.model import Transcriber

MAX_SUSPECT_CRASHES = 1  # a call whose worker dies while it runs alone is failed, not retried

Status = Literal["scored", "skipped", "failed"]
TranscriberFactory = Callable[[], "Transcriber"]


# -- jobs and the scorer -----


@dataclass(frozen=True)
class ModelFactory:
    """Loads the configured Whisper model (picklable, so a worker process can call it)."""

    transcription: TranscriptionConfig

    def __call__(self) -> Transcriber:
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
        Called once, here, unless every job is a transcript file (:func:`is_transcript_job`):
        with ``lazy`` it is called on the first recording instead.
    threads : int >= 1 or None
        CPU threads this worker may use (sets OMP/MKL/OpenBLAS and torch threads).
    lazy : bool
        Load the model only when a recording needs it (a batch of transcripts loads none).
    """

    def __init__(
        self, factory: TranscriberFactory, *, threads: int | None = None, lazy: bool = False
    ) -> None:
        if threads:
            limit_threads(threads)
        self.factory = factory
        self.threads = threads
        self._transcriber: Transcriber | None = None
        if not lazy:
            self._load()
        self.worker = f"pid:{os.getpid()}"

    def _load(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = self.factory()
            if self.threads and "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(self.threads)
        return self._transcriber

    @property
    def transcriber(self) -> Transcriber:
        """The loaded model (loaded now if it was not yet)."""
        return self._load()

    def score(self, job: Job) -> JobResult:
        """Score one job; every error becomes a ``failed`` result with a one-line reason."""
        start = time.perf_counter()
        try:
            data = to_dict(self._scorecard(job))
        except CallQAError as exc:
            return self._failed(job, one_line(str(exc)), start)
        except MemoryError:
            return self._failed(job, "out of memory while scoring this call", start)
        except Exception as exc:  # a bug must cost one call, not the batch
            return self._failed(job, f"internal error: {type(exc).__name__}: {exc}", start)
        return JobResult(
            job.index, "scored", data, seconds=time.perf_counter() - start, worker=self.worker
        )

    def _scorecard(self, job: Job) -> Scorecard:
        path = Path(job.path)
        if not is_transcript_job(job):
            return score_call(
                path, transcriber=self.transcriber, config=job.config, call_id=job.call_id
            )
        limit = job.config.limits.max_transcript_bytes
        transcript = read_transcript(path, language=job.config.call.language, max_bytes=limit)
        return score_transcript(
            transcript,
            source=path,
            sha256=sha256_file(path),
            config=job.config,
            call_id=job.call_id,
        )

    def _failed(self, job: Job, reason: str, start: float) -> JobResult:
        seconds = time.perf_counter() - start
        return JobResult(job.index, "failed", reason=reason, seconds=seconds, worker=self.worker)


def is_transcript_job(job: Job) -> bool:
    """True when the job's file is a transcript (scored without audio and without a model)."""
    return Path(job.path).suffix.lower() in TRANSCRIPT_EXTENSIONS


def only_transcripts(jobs: Sequence[Job]) -> bool:
    """True when no job needs the model: workers then do not load it."""
    return all(is_transcript_job(j) for j in jobs)


THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def limit_threads(threads: int) -> None:
    """Cap the math libraries of this process at ``threads`` CPU threads (before they load)."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)


def one_line(text: str) -> str:
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
        scorer = CallScorer(self.factory, threads=self.threads, lazy=only_transcripts(jobs))
        for job in jobs:
            on_result(scorer.score(job))


_WORKER: CallScorer | None = None  # the scorer of this worker process (set by the initializer)


def _worker_init(factory: TranscriberFactory, threads: int | None, lazy: bool = False) -> None:
    global _WORKER
    one_arena()  # before the watcher thread starts
    _watch_parent(os.getppid())
    _WORKER = CallScorer(factory, threads=threads, lazy=lazy)


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
            self._run_alone(suspects, pending, on_result, crashes)

    def _run_alone(
        self,
        suspects: Sequence[int],
        pending: dict[int, Job],
        on_result: Callable[[JobResult], None],
        crashes: Counter[int],
    ) -> None:
        """Run the suspects one at a time in a single-worker pool: a crash now is the call's own
        doing (the one call in flight), and one pool serves every suspect that does not crash."""
        left = {i: pending[i] for i in suspects if i in pending}
        while left:
            dead = self._run_pool(left, on_result, 1)  # removes finished jobs from ``left``
            for index in suspects:
                if index not in left:
                    pending.pop(index, None)
            if not dead:
                return
            index = dead[0]
            self.restarts += 1
            crashes[index] += 1
            if crashes[index] >= MAX_SUSPECT_CRASHES:
                on_result(died_result(left.pop(index)))
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
        queue = list(pending)  # in the order the jobs were given (largest first)
        running: dict[Future[JobResult], int] = {}
        finished = False
        pool = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_worker_init,
            initargs=(self.factory, self.threads, only_transcripts(list(pending.values()))),
        )
        try:
            while queue or running:
                while queue and len(running) < workers:  # exactly the running calls are in flight
                    index = queue[0]
                    try:
                        future = pool.submit(_worker_score, pending[index])
                    except BrokenProcessPool:  # a worker died after the last wait() returned
                        return sorted(running.values())
                    running[future] = queue.pop(0)
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    error = fut.exception()
                    if isinstance(error, BrokenProcessPool):
                        broken = True
                        continue
                    index = running.pop(fut)  # a result that came back is kept
                    on_result(fut.result() if error is None else lost_result(pending[index], error))
                    pending.pop(index)
                if broken:
                    return sorted(running.values())
            finished = True
            return []
        finally:
            _stop_pool(pool, grace_s=STOP_GRACE_S if finished else 0.0)


STOP_GRACE_S = 10.0  # idle workers exit within this; terminating them leaks their semaphores


def _stop_pool(pool: ProcessPoolExecutor, *, grace_s: float = 0.0) -> None:
    """Shut a pool down without waiting for running calls (they are resubmitted or abandoned).

    After a clean finish the idle workers get ``grace_s`` to exit on their own (a terminated
    worker leaves its semaphores to the resource tracker, which warns about them at exit).
    """
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def lost_result(job: Job, error: BaseException) -> JobResult:
    """A call whose result could not come back from its worker (e.g. it could not be pickled)."""
    reason = f"internal error: the result was lost ({type(error).__name__}: {one_line(str(error))})"
    return JobResult(job.index, "failed", reason=reason)


def died_result(job: Job) -> JobResult:
    return JobResult(
        job.index,
        "failed",
        reason="the worker process died while scoring this call (killed, or out of memory); "
        "check the file and the memory limit",
    )
