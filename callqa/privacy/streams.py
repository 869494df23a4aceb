"""One speaker's words as a token stream with positions back into the transcript, and the
digit/number-word atoms detection reads."""

from __future__ import annotations

import re
import tomllib
from array import array
from collections.abc import Iterable, Iterator, Sequence
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
from callqa.words.numbers import NumberUnit, find_numbers, fold, normalise
from callqa.words.tokens import iter_tokens


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


@dataclass(frozen=True, slots=True)
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
    """A segment's text as detection sees it, and where each word lies in it.

    ``word_starts[k]``, ``word_ends[k]``: the characters ``[start, end)`` of word ``k`` (flat
    integer arrays: a segment of a million words costs 16 MB here, not hundreds).
    """

    text: str
    word_starts: array[int]
    word_ends: array[int]
    from_words: bool  # the text was rebuilt from the words (they did not match the text)


def basis(seg: Utterance) -> Basis:
    starts, ends = array("q"), array("q")
    cursor = 0
    for w in seg.words:
        word = w.text.strip()
        at = seg.text.find(word, cursor) if word else -1
        if at < 0:
            return _rebuilt_basis(seg.words)
        starts.append(at)
        ends.append(at + len(word))
        cursor = at + len(word)
    return Basis(seg.text, starts, ends, False)


def _rebuilt_basis(words: Sequence[Word]) -> Basis:
    parts: list[str] = []
    starts, ends = array("q"), array("q")
    pos = 0
    for w in words:
        word = w.text.strip()
        starts.append(pos)
        ends.append(pos + len(word))
        parts.append(word)
        pos += len(word) + 1
    return Basis(" ".join(parts), starts, ends, True)


def speaker_runs(transcript: Transcript, config: RedactionConfig) -> list[list[int]]:
    """The segments of each speaker run: a speaker's segments, split where the pause is long."""
    by_speaker: dict[str, list[int]] = {}
    for i, seg in enumerate(transcript.segments):
        by_speaker.setdefault(seg.speaker, []).append(i)
    runs: list[list[int]] = []
    for indices in by_speaker.values():
        current: list[int] = []
        last_end: float | None = None
        for i in indices:
            seg = transcript.segments[i]
            if last_end is not None and seg.start - last_end > config.join_gap_s and current:
                runs.append(current)
                current = []
            current.append(i)
            last_end = seg.end if last_end is None else max(seg.end, last_end)
        if current:
            runs.append(current)
    return runs


def run_tokens(run: Sequence[int], bases: Sequence[Basis]) -> Iterator[Tok]:
    """The tokens of a speaker run's segments, one after the other (made as they are read)."""
    for i in run:
        yield from segment_tokens(bases[i], i)


def segment_tokens(basis: Basis, i: int) -> Iterator[Tok]:
    """The segment's tokens, each with the first word whose characters it overlaps.

    Tokens and words are both in text order, so one pointer walks the words once (linear in
    the segment's length, however long one segment is)."""
    starts, ends = basis.word_starts, basis.word_ends
    w, n = 0, len(starts)
    for k, t in enumerate(iter_tokens(basis.text)):
        while w < n and ends[w] <= t.start:
            w += 1
        word = w if w < n and starts[w] < t.end else None
        yield Tok(t.text, normalise(t.text), i, t.start, t.end, word, k == 0)


WINDOW_TOKENS = 20_000  # tokens of a stream searched at once (bounds memory on long segments)
WINDOW_CONTEXT = 1_000  # tokens of context on each side (far more than any number spans)


def windows(
    tokens: Iterable[Tok], *, size: int = WINDOW_TOKENS, context: int = WINDOW_CONTEXT
) -> Iterator[tuple[list[Tok], int, int]]:
    """A token stream in overlapping windows: ``(window, own_start, own_end)``.

    The windows' own parts ``window[own_start:own_end]`` tile the stream; each window adds up
    to ``context`` tokens before and after, so a detection that starts in the own part sees
    what a search of the whole stream would. The list is reused: use it before the next one.
    """
    source = iter(tokens)
    buffer: list[Tok] = []
    base = own = 0  # stream positions of buffer[0] and of the current own part
    done = False
    while True:
        while not done and base + len(buffer) < own + size + context:
            nxt = next(source, None)
            if nxt is None:
                done = True
            else:
                buffer.append(nxt)
        if own >= base + len(buffer):
            return
        yield buffer, own - base, min(own + size, base + len(buffer)) - base
        own += size
        drop = own - context - base
        if drop > 0:
            del buffer[:drop]
            base += drop


# --------------------------------------------------------------------------- atoms


@dataclass(frozen=True, slots=True)
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


def number_units(stream: Sequence[Tok], language: str) -> list[NumberUnit]:
    """The spoken or written numbers of a stream (:func:`callqa.words.numbers.find_numbers`)."""
    return find_numbers([t.norm for t in stream], language)


def number_blocks(
    stream: Sequence[Tok], language: str, units: Sequence[NumberUnit] | None = None
) -> list[list[Atom]]:
    """Runs of atoms between ordinary words (``units``: :func:`number_units`, if known)."""
    starts = {u.start: u for u in (number_units(stream, language) if units is None else units)}
    blocks: list[list[Atom]] = []
    current: list[Atom] = []
    i = 0
    while i < len(stream):
        unit = starts.get(i)
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
