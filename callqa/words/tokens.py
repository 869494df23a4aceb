"""The tokenizer shared by redaction and number reading (words and single symbols, with offsets)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
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
