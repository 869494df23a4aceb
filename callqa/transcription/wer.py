"""Word error rate, for measuring transcription against a reference text.

WER = (substitutions + deletions + insertions) / number of reference words, from a
Levenshtein alignment over words after :func:`normalize_text` (case folded, punctuation
removed, digits kept). 0 is perfect; it can exceed 1 when the hypothesis adds many words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_PUNCT = re.compile(r"[^\w\s']|_")  # keep letters of every script, digits and apostrophes


def normalize_text(text: str) -> list[str]:
    """Lower-cased words with punctuation removed (``"Hello, World!"`` -> ["hello", "world"]).

    Apostrophes inside words are kept ("don't"); hyphens split words ("follow-up" -> 2 words).
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    words = _PUNCT.sub(" ", text).split()
    return [w.strip("'") for w in words if w.strip("'")]


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance over tokens (each edit costs 1)."""
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (both raw text).

    Returns
    -------
    float >= 0
        Errors per reference word. With an empty reference (WER undefined) the result is the
        number of hypothesis words: 0.0 when both are empty.
    """
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        return float(len(hyp))
    return edit_distance(ref, hyp) / len(ref)
