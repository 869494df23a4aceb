"""The tokenizer shared by redaction and number reading (words and single symbols, with offsets)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Token:
    """A word, digit run or punctuation mark with its character offsets ``[start, end)``."""

    text: str
    start: int
    end: int


_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|\S")


def tokenize(text: str) -> list[Token]:
    """Split text into words/digit runs (letters and digits together: "NO93") and single marks.

    "john.smith@example.com" -> john . smith @ example . com; "4532-1234" -> 4532 - 1234.
    """
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def iter_tokens(text: str) -> Iterator[Token]:
    """:func:`tokenize`, one token at a time (for texts too long to hold as a token list)."""
    for m in _TOKEN_RE.finditer(text):
        yield Token(m.group(), m.start(), m.end())
