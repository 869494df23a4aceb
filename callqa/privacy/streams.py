"""One speaker's words as a token stream with positions back into the transcript, and the
digit/number-word atoms detection reads."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from callqa.config import (
    RedactionConfig,
)
from callqa.privacy.validators import IBAN_LENGTHS
from callqa.types import (
    Transcript,
    Utterance,
    Word,
)
from callqa.words.numbers import find_numbers, fold, normalise
from callqa.words.tokens import tokenize


@cache
def word_lists() -> dict[str, tuple[str, ...]]:
    text = resources.files("callqa.privacy").joinpath("data/pii_words.toml").read_text("utf-8")
    data = tomllib.loads(text)
    months = data.pop("months")
    out = {k: tuple(normalise(w) for w in v) for k, v in data.items()}
    out["months"] = tuple(f"{i + 1:02d}:{normalise(w)}" for i, ws in enumerate(months) for w in ws)
    return out


@cache
def word_set(kind: str) -> frozenset[str]:
    words = word_lists()[kind]
    return frozenset(words) | frozenset(fold(w) for w in words)


@cache
def month_of() -> dict[str, str]:
    return {w.split(":", 1)[1]: w.split(":", 1)[0] for w in word_lists()["months"]}


@cache
def cue_re(kind: str) -> re.Pattern[str]:
    cues = sorted(word_lists()[kind], key=len, reverse=True)
    alternatives = "|".join(re.escape(c) for c in cues)
    return re.compile(rf"(?<![\w-])(?:{alternatives})")


@dataclass(frozen=True)
class Tok:
    """A token of one speaker's stream, placed in its segment."""

    text: str
    norm: str
    segment: int
    char_start: int
    char_end: int
    word: int | None
    new_segment: bool  # first token of a segment (a soft boundary inside a number)


@dataclass(frozen=True)
class Basis:
    """A segment's text as detection sees it, and where each word lies in it."""

    text: str
    word_chars: tuple[tuple[int, int] | None, ...]
    from_words: bool  # the text was rebuilt from the words (they did not match the text)


def basis(seg: Utterance) -> Basis:
    if not seg.words:
        return Basis(seg.text, (), False)
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for w in seg.words:
        word = w.text.strip()
        at = seg.text.find(word, cursor) if word else -1
        if at < 0:
            return _rebuilt_basis(seg.words)
        spans.append((at, at + len(word)))
        cursor = at + len(word)
    return Basis(seg.text, tuple(spans), False)


def _rebuilt_basis(words: Sequence[Word]) -> Basis:
    parts: list[str] = []
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for w in words:
        word = w.text.strip()
        spans.append((pos, pos + len(word)))
        parts.append(word)
        pos += len(word) + 1
    return Basis(" ".join(parts), tuple(spans), True)


def _word_index(basis: Basis, start: int, end: int) -> int | None:
    for k, span in enumerate(basis.word_chars):
        if span is not None and span[0] < end and start < span[1]:
            return k
    return None


def speaker_streams(
    transcript: Transcript, bases: Sequence[Basis], config: RedactionConfig
) -> list[list[Tok]]:
    """One token list per speaker run: a speaker's segments, split where the pause is long."""
    by_speaker: dict[str, list[int]] = {}
    for i, seg in enumerate(transcript.segments):
        by_speaker.setdefault(seg.speaker, []).append(i)
    streams: list[list[Tok]] = []
    for indices in by_speaker.values():
        current: list[Tok] = []
        last_end: float | None = None
        for i in indices:
            seg = transcript.segments[i]
            if last_end is not None and seg.start - last_end > config.join_gap_s and current:
                streams.append(current)
                current = []
            current.extend(_segment_tokens(bases[i], i))
            last_end = seg.end if last_end is None else max(seg.end, last_end)
        if current:
            streams.append(current)
    return streams


def _segment_tokens(basis: Basis, i: int) -> list[Tok]:
    out = []
    for k, t in enumerate(tokenize(basis.text)):
        word = _word_index(basis, t.start, t.end)
        out.append(Tok(t.text, normalise(t.text), i, t.start, t.end, word, k == 0))
    return out


# --------------------------------------------------------------------------- atoms


@dataclass(frozen=True)
class Atom:
    """A number unit, a code-like token ("NO93", "A"), or a separator ("-", "uh") of a stream.

    Stream tokens ``[start, end)``; ``chars`` are its digits/upper-case letters; ``sign`` is
    "-", "+" or "/" for those separators (a Finnish ID keeps its century sign).
    """

    kind: str  # "num", "code", "sep"
    start: int
    end: int
    chars: str
    sign: str
    new_segment: bool


_PUNCT_SEPARATORS = frozenset("-./,:;()+#*'\"")


def _classify(tok: Tok) -> tuple[str, str, str]:
    """(kind, chars, sign) of a token that is not a number: "code", "sep" or "break"."""
    text = tok.text
    if text.isalnum() and text.isascii():
        if any(c.isdigit() for c in text) or len(text) == 1:
            return "code", text.upper(), ""
        if text.isupper() and len(text) <= 16:
            return "code", text, ""
        if len(text) == 2 and text.upper() in IBAN_LENGTHS:
            return "code", text.upper(), ""
    norm = tok.norm
    if norm in word_set("dash"):
        return "sep", "", "-"
    if norm in word_set("plus"):
        return "sep", "", "+"
    if norm in word_set("slash"):
        return "sep", "", "/"
    if norm in word_set("filler") or text in _PUNCT_SEPARATORS:
        return "sep", "", ""
    return "break", "", ""


def number_blocks(stream: Sequence[Tok], language: str) -> list[list[Atom]]:
    """Runs of atoms between ordinary words."""
    units = {u.start: u for u in find_numbers([t.text for t in stream], language)}
    blocks: list[list[Atom]] = []
    current: list[Atom] = []
    i = 0
    while i < len(stream):
        unit = units.get(i)
        if unit is not None and _spelled_letter(stream, i):
            unit = None  # "N O nine three": the letter O, not "oh"
        if unit is not None:
            current.append(Atom("num", i, unit.end, unit.digits, "", stream[i].new_segment))
            i = unit.end
            continue
        kind, chars, sign = _classify(stream[i])
        if kind == "break":
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(Atom(kind, i, i + 1, chars, sign, stream[i].new_segment))
        i += 1
    if current:
        blocks.append(current)
    return blocks


def _spelled_letter(stream: Sequence[Tok], i: int) -> bool:
    """An upper-case "O" next to another spelled letter is a letter ("N O ...", "5 O J")."""

    def letter(k: int) -> bool:
        text = stream[k].text if 0 <= k < len(stream) else ""
        return len(text) == 1 and text.isalpha() and text.isupper() and text != "O"

    return stream[i].text == "O" and (letter(i - 1) or letter(i + 1))
