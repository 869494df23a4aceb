"""Word error rate, for measuring transcription against a reference text.

WER = (substitutions + deletions + insertions) / number of reference words, from a
Levenshtein alignment over words after :func:`normalize_text` (case folded, punctuation
removed, digits kept). 0 is perfect; it can exceed 1 when the hypothesis adds many words.

The alignment is jiwer's (RapidFuzz underneath): the same numbers as a word-level dynamic
program, about 1000 times faster on a 5000-word call (16.5 s against 0.013 s on the
development machine), so whole calls can be measured. The normalization stays ours: it
decides what counts as a word.
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
    """Levenshtein distance over tokens (each edit costs 1); tokens hold no white space."""
    import jiwer

    if not ref or not hyp:
        return max(len(ref), len(hyp))
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return int(out.substitutions + out.deletions + out.insertions)


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
