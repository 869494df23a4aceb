"""Where personal data was found: :class:`PiiSpan` (in memory only, never written)."""

from __future__ import annotations

from dataclasses import dataclass

from callqa.config import (
    PII_TYPES,
)

PLACEHOLDERS = {t: f"[{t.upper()}]" for t in PII_TYPES}


@dataclass(frozen=True)
class PiiPiece:
    """The part of a span inside one transcript segment.

    Attributes
    ----------
    segment : int
        Index into ``transcript.segments``.
    char_start, char_end : int
        Character offsets ``[start, end)`` in the segment's text.
    word_start, word_end : int or None
        Indices ``[start, end)`` into the segment's words; None when the segment has no words.
    """

    segment: int
    char_start: int
    char_end: int
    word_start: int | None = None
    word_end: int | None = None


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data found in a transcript.

    Attributes
    ----------
    type : str
        One of :data:`PII_TYPES`.
    speaker : str
        Who said it.
    start, end : float [s]
        Time of the span (word times; the segment's times when words have none).
    pieces : tuple of PiiPiece
        One per segment the span covers (a number read over two segments has two).
    kind : str
        Finer kind where known ("no_fnr", "fi_hetu", "it_cf", "si_emso", "spoken", ...).
    """

    type: str
    speaker: str
    start: float
    end: float
    pieces: tuple[PiiPiece, ...]
    kind: str = ""

    @property
    def placeholder(self) -> str:
        """The text that replaces the span ("[CARD]", ...)."""
        return PLACEHOLDERS[self.type]
