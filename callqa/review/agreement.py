"""Agreement between raters: Cohen's and Fleiss' kappa, with bootstrap confidence intervals.

The verdicts are three classes, in :data:`CLASSES` order. A pair ``(a, b)`` is two raters'
verdicts on one item of one call; a confusion matrix counts pairs, rows ``a`` (the human),
columns ``b`` (callqa).

- **Accuracy** (observed agreement) ``p_o``: the share of pairs on the diagonal.
- **Cohen's kappa** ``(p_o - p_e) / (1 - p_e)``, where ``p_e = sum_k p_a(k) * p_b(k)`` is the
  agreement two raters with these verdict shares would reach by chance. When ``p_e = 1`` (both
  raters gave one and the same verdict to every pair) kappa is 0/0: **undefined**, and reported
  so, never as NaN. No pairs: undefined too.
- **Fleiss' kappa**, for items that several reviewers judged (each subject = one item of one
  call, with ``n_i >= 2`` verdicts): ``P_i = sum_k n_ik (n_ik - 1) / (n_i (n_i - 1))``, the share
  of agreeing reviewer pairs on the subject; ``P = mean_i P_i``; ``p_k`` the share of class ``k``
  among all those verdicts; ``P_e = sum_k p_k^2``; kappa ``(P - P_e) / (1 - P_e)``, undefined
  when ``P_e = 1``.
- **Bootstrap** intervals resample *calls* with replacement (a call's items are not
  independent of each other), :data:`RESAMPLES` times with the fixed seed :data:`SEED`, and
  give the 2.5th and 97.5th percentiles of the statistic over the resamples where it is
  defined (None when fewer than half are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CLASSES = ("pass", "fail", "na")
RESAMPLES = 1000  # bootstrap resamples; the 2.5 % tails then hold 25 resamples each
SEED = 0  # fixed: the same store gives the same intervals on every run
_EPS = 1e-12


@dataclass(frozen=True)
class Agreement:
    """How well two raters agree on a set of pairs.

    Attributes
    ----------
    n : int
        Pairs.
    accuracy : float in [0, 1] or None
        Observed agreement (None without pairs).
    kappa : float in [-1, 1] or None
        Cohen's kappa; None when undefined (see :attr:`kappa_note`).
    kappa_note : str
        Why kappa is undefined ("" when it is defined).
    confusion : tuple of tuple of int, shape=(3, 3)
        Rows: first rater's verdict, columns: second's, in :data:`CLASSES` order.
    accuracy_ci, kappa_ci : tuple of float or None
        95 % bootstrap interval (None when not computed or not defined often enough).
    """

    n: int
    accuracy: float | None
    kappa: float | None
    kappa_note: str
    confusion: tuple[tuple[int, ...], ...]
    accuracy_ci: tuple[float, float] | None = None
    kappa_ci: tuple[float, float] | None = None


def confusion(pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """3x3 counts of ``(a, b)`` verdict pairs, rows ``a``, columns ``b``, int64."""
    out = np.zeros((3, 3), dtype=np.int64)
    for a, b in pairs:
        out[CLASSES.index(a), CLASSES.index(b)] += 1
    return out


def kappa_of(matrix: np.ndarray) -> tuple[float | None, str]:
    """Cohen's kappa of a 3x3 confusion matrix and, when it is undefined, why."""
    n = float(matrix.sum())
    if n == 0:
        return None, "no pairs"
    p_o = float(np.trace(matrix)) / n
    p_e = float(matrix.sum(axis=1) @ matrix.sum(axis=0)) / (n * n)
    if p_e >= 1.0 - _EPS:
        only = CLASSES[int(np.argmax(matrix.sum(axis=1)))]
        return None, f"undefined: every verdict is '{only}' (one class only)"
    return (p_o - p_e) / (1.0 - p_e), ""


def agreement(
    pairs_by_call: Sequence[Sequence[tuple[str, str]]],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Agreement:
    """Accuracy, Cohen's kappa, confusion and bootstrap intervals of verdict pairs.

    Parameters
    ----------
    pairs_by_call : sequence of sequence of (str, str)
        The pairs of each call (the bootstrap's unit).
    resamples : int >= 0
        Bootstrap resamples (0: no intervals).
    seed : int
        Seed of the resampling.
    """
    per_call = np.stack([confusion(p).ravel() for p in pairs_by_call]) if pairs_by_call else None
    total = per_call.sum(axis=0).reshape(3, 3) if per_call is not None else np.zeros((3, 3), int)
    n = int(total.sum())
    kappa, note = kappa_of(total)
    accuracy = float(np.trace(total)) / n if n else None
    acc_ci = kappa_ci = None
    if per_call is not None and n and resamples > 0:
        acc_ci, kappa_ci = _bootstrap(per_call, resamples, seed)
    return Agreement(
        n=n,
        accuracy=accuracy,
        kappa=kappa,
        kappa_note=note,
        confusion=tuple(tuple(int(x) for x in row) for row in total),
        accuracy_ci=acc_ci,
        kappa_ci=kappa_ci,
    )


def _bootstrap(
    per_call: np.ndarray, resamples: int, seed: int
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """Percentile intervals of accuracy and kappa over call resamples (vectorised: each
    resample's confusion matrix is the sum of its calls' rows)."""
    rng = np.random.default_rng(seed)
    calls = per_call.shape[0]
    picks = rng.integers(0, calls, size=(resamples, calls))
    mats = per_call[picks].sum(axis=1).reshape(resamples, 3, 3).astype(np.float64)
    n = mats.sum(axis=(1, 2))
    p_o = np.trace(mats, axis1=1, axis2=2) / np.maximum(n, 1)
    p_e = np.einsum("ri,ri->r", mats.sum(axis=2), mats.sum(axis=1)) / np.maximum(n * n, 1)
    ok = (n > 0) & (p_e < 1.0 - _EPS)
    kappas = (p_o[ok] - p_e[ok]) / (1.0 - p_e[ok])
    acc = _interval(p_o[n > 0], resamples)
    return acc, _interval(kappas, resamples)


def _interval(values: np.ndarray, resamples: int) -> tuple[float, float] | None:
    if values.size < resamples / 2:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class GroupAgreement:
    """Agreement among several reviewers of the same items (Fleiss' kappa).

    Attributes
    ----------
    subjects : int
        Items of calls judged by two reviewers or more.
    ratings : int
        Their verdicts.
    agreement : float in [0, 1] or None
        Mean share of agreeing reviewer pairs per subject (``P``).
    kappa : float or None
        Fleiss' kappa; None when undefined (:attr:`kappa_note`).
    kappa_note : str
    """

    subjects: int
    ratings: int
    agreement: float | None
    kappa: float | None
    kappa_note: str


def fleiss(subjects: Sequence[Sequence[str]]) -> GroupAgreement:
    """Fleiss' kappa of subjects rated by a varying number (>= 2) of reviewers each; subjects
    with fewer than two verdicts are left out."""
    rated = [s for s in subjects if len(s) >= 2]
    if not rated:
        return GroupAgreement(0, 0, None, None, "no item was judged by two reviewers")
    counts = np.array([[list(s).count(k) for k in CLASSES] for s in rated], dtype=np.float64)
    n_i = counts.sum(axis=1)
    p_i = (counts * (counts - 1)).sum(axis=1) / (n_i * (n_i - 1))
    p_bar = float(p_i.mean())
    p_k = counts.sum(axis=0) / counts.sum()
    p_e = float((p_k**2).sum())
    if p_e >= 1.0 - _EPS:
        only = CLASSES[int(np.argmax(p_k))]
        kappa, note = None, f"undefined: every verdict is '{only}' (one class only)"
    else:
        kappa, note = (p_bar - p_e) / (1.0 - p_e), ""
    return GroupAgreement(len(rated), int(counts.sum()), p_bar, kappa, note)
