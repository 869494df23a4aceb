"""Scale-out on Ray: actors that hold the model, results written by the driver.

Optional extra ``callqa[ray]`` (``pip install "ray>=2.60"``; tested with ray 2.60.0).
``callqa batch --engine ray --address ADDRESS`` starts :data:`workers` actors, each loading the
Whisper model once (:class:`callqa.batch.engines.CallScorer`), and feeds them calls. Every result
flows
back to the driver, which writes the scorecard JSON and the store row exactly as the local
engine does, so the store never sees a Ray worker.

Addresses: ``"local"`` starts a private Ray instance on this machine (never joins a stale
cluster left by a killed ``ray start``); ``"auto"`` joins the cluster this machine belongs to;
``"ray://HOST:10001"`` connects through Ray Client to a remote head (callqa must be installed,
same version, on every node). Lost workers: an actor is restarted up to ``max_restarts`` times
and its in-flight call retried up to ``max_task_retries`` times by Ray; a call whose actor
keeps dying is reported as failed.

Ray turns token authentication on by default in recent versions; for ``"local"`` callqa sets
``RAY_AUTH_MODE=disabled`` unless the environment already sets it (every process of one
cluster must agree on it; see docs/batch.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import callqa
from callqa.batch.engines import CallScorer, Job, JobResult, TranscriberFactory, only_transcripts
from callqa.errors import CallQAError
from callqa.heap import one_arena

__all__ = ["RayEngine", "RayUnavailableError"]

LOCAL_AUTH_MODE = "disabled"  # a private single-machine instance needs no token
# every actor process starts with one C heap for all its threads: Ray's own threads run before
# any code of ours, so :func:`callqa.heap.one_arena` could not set it later (docs/batch.md)
ACTOR_ENV = {"MALLOC_ARENA_MAX": "1"}


class RayUnavailableError(CallQAError):
    """Ray is not installed or the cluster cannot be reached."""


class _ScorerActor:
    """The body of a Ray actor: one loaded model, one call at a time (no model for a batch of
    transcripts: ``lazy``)."""

    def __init__(
        self, factory: TranscriberFactory, threads: int | None, lazy: bool = False
    ) -> None:
        one_arena()  # started with :data:`ACTOR_ENV`: the decoder's heap policy applies
        self.scorer = CallScorer(factory, threads=threads, lazy=lazy)

    def score(self, job: Job) -> JobResult:
        result = self.scorer.score(job)
        return JobResult(
            result.index,
            result.status,
            result.card,
            result.reason,
            result.seconds,
            worker=f"ray:{os.getpid()}",
        )

    def ready(self) -> bool:
        return True


@dataclass
class RayEngine:
    """Score jobs on Ray actors; results come back to the calling process.

    Parameters
    ----------
    factory : callable returning a Transcriber
        Pickled to every actor (cloudpickle).
    workers : int >= 1
        Actors to start (each reserves ``threads`` CPUs and ``gpus_per_worker`` GPUs).
    threads : int >= 1
        CPU threads per actor (``num_cpus`` of the actor and the model's thread count).
    address : str
        "local", "auto" or "ray://HOST:10001".
    gpus_per_worker : float >= 0
    max_restarts, max_task_retries : int >= 0
        Ray's fault tolerance for a lost actor (process or node).
    init_kwargs : dict
        Extra arguments for ``ray.init`` (tests pass ``num_cpus``).
    """

    factory: TranscriberFactory
    workers: int = 1
    threads: int = 1
    address: str = "local"
    gpus_per_worker: float = 0.0
    max_restarts: int = 2
    max_task_retries: int = 2
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    restarts: int = 0

    def run(self, jobs: Sequence[Job], on_result: Callable[[JobResult], None]) -> None:
        if not jobs:
            return
        ray = _import_ray()
        started_here = self._init(ray)
        try:
            actors = self._start_actors(ray, min(self.workers, len(jobs)), only_transcripts(jobs))
            self._dispatch(ray, actors, list(jobs), on_result)
            for actor in actors:
                ray.kill(actor)
        finally:
            if started_here:
                ray.shutdown()

    def _init(self, ray: Any) -> bool:
        """Connect (or start a private instance); False when the caller already connected."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {"address": self.address, "log_to_driver": False}
        if self.address == "local":
            os.environ.setdefault("RAY_AUTH_MODE", LOCAL_AUTH_MODE)
            kwargs.update(include_dashboard=False, num_cpus=self.workers * self.threads)
            kwargs["runtime_env"] = {"env_vars": _local_env()}
        kwargs.update(self.init_kwargs)
        try:
            ray.init(**kwargs)
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError ...
            raise RayUnavailableError(
                f"cannot connect to Ray at {self.address!r}: {str(exc).splitlines()[0]}; "
                "start a cluster with `ray start --head` or use --address local"
            ) from exc
        return True

    def _start_actors(self, ray: Any, n: int, lazy: bool = False) -> list[Any]:
        actor_class = ray.remote(
            num_cpus=self.threads,
            num_gpus=self.gpus_per_worker,
            max_restarts=self.max_restarts,
            max_task_retries=self.max_task_retries,
            runtime_env={"env_vars": ACTOR_ENV},  # merged with the job's
        )(_ScorerActor)
        actors = [actor_class.remote(self.factory, self.threads, lazy) for _ in range(n)]
        return actors

    def _dispatch(
        self,
        ray: Any,
        actors: list[Any],
        queue: list[Job],
        on_result: Callable[[JobResult], None],
    ) -> None:
        """Keep one call in flight per actor; hand results over as they finish."""
        in_flight: dict[Any, tuple[Any, Job]] = {}
        idle = list(actors)
        while queue or in_flight:
            while queue and idle:
                actor, job = idle.pop(), queue.pop(0)
                in_flight[actor.score.remote(job)] = (actor, job)
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                actor, job = in_flight.pop(ref)
                idle.append(actor)
                on_result(self._result(ray, ref, job))

    def _result(self, ray: Any, ref: Any, job: Job) -> JobResult:
        try:
            result: JobResult = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            self.restarts += 1
            return _lost(
                job, f"the Ray worker scoring this call died and was not recovered ({_short(exc)})"
            )
        except ray.exceptions.RayError as exc:
            return _lost(job, f"Ray could not run this call ({_short(exc)})")
        return result


def _lost(job: Job, reason: str) -> JobResult:
    return JobResult(job.index, "failed", reason=reason, worker="ray")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailableError(
            "the Ray engine needs ray: pip install 'callqa[ray]' (or pip install ray)"
        ) from exc
    return ray


def _local_env() -> dict[str, str]:
    """Environment for local Ray workers: find callqa where the driver found it."""
    root = str(Path(callqa.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    env = {"PYTHONPATH": os.pathsep.join(p for p in (root, path) if p)}
    env["RAY_AUTH_MODE"] = os.environ.get("RAY_AUTH_MODE", LOCAL_AUTH_MODE)
    return env
