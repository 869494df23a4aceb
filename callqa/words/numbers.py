"""Spoken numbers: number words -> digit strings, in en, nb, fi, it and sl.

Customers read card and phone numbers out loud, and Whisper writes them as digits ("4532"),
as words ("four five three two", "fire fem tre to") or as a mix. This module turns a token
sequence into :class:`NumberUnit` values, each a stretch of tokens with the digits it reads as::

    "forty five thirty two"      -> "45", "32"          (tens + unit compose)
    "double five oh one"         -> "55", "0", "1"      (English "double", "oh")
    "tjuefem"                    -> "25"                (one-word compounds)
    "fem og tjue"                -> "25"                (Norwegian "unit og tens")
    "five hundred and twelve"    -> "512"

Units keep digit strings, not values, so leading zeros survive ("oh seven" -> "0", "7").
The word lists live in ``callqa/words/data/number_words.toml``.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

from callqa.languages import closest_supported
from callqa.words.tokens import tokenize

_DIGIT, _TEEN, _TENS, _HUNDREDS, _COMPOUND = "digit", "teen", "tens", "hundreds", "compound"


@dataclass(frozen=True)
class NumberUnit:
    """Tokens ``[start, end)`` that read as the digit string ``digits``."""

    start: int
    end: int
    digits: str


@dataclass(frozen=True)
class Lexicon:
    """The number words of one language, normalised (see :func:`normalise`).

    ``words`` maps a word to ``(kind, value)``: kind is "digit" (0-9), "teen" (10-19),
    "tens" (20-90), "compound" (21-99 in one word) or "hundreds" (100-900 in one word).
    """

    language: str
    words: dict[str, tuple[str, int]] = field(hash=False, compare=False)
    hundred: frozenset[str]
    and_words: frozenset[str]
    multipliers: dict[str, int] = field(hash=False, compare=False)
    weak_zero: frozenset[str]
    unit_and_tens: bool


@lru_cache(maxsize=1 << 16)  # a transcript repeats its words: most calls are cache hits
def normalise(token: str) -> str:
    """Lower-case, NFC-normalised token (the form number words are looked up in)."""
    return unicodedata.normalize("NFC", token).lower()


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """ASCII-fold a word: strip diacritics ("štiri" -> "stiri"), "ø" -> "o", "æ" -> "ae"."""
    word = word.replace("ø", "o").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _data() -> dict[str, dict]:
    text = resources.files("callqa.words").joinpath("data/number_words.toml").read_text("utf-8")
    return tomllib.loads(text)


def lexicon(language: str) -> Lexicon:
    """The :class:`Lexicon` of ``language`` (ISO 639-1; "no" means "nb"; others use "en").

    Parameters
    ----------
    language : str
        Language code.

    Returns
    -------
    Lexicon
        Loaded once per language and cached.
    """
    return _lexicon(closest_supported(language))


@cache
def _lexicon(code: str) -> Lexicon:
    spec = _data()[code]
    words: dict[str, tuple[str, int]] = {}

    def add(word: str, kind: str, value: int) -> None:
        for form in (normalise(word), fold(normalise(word))):
            words.setdefault(form, (kind, value))

    for digit, spellings in enumerate(spec["units"]):
        for w in spellings:
            add(w, _DIGIT, digit)
    for k, spellings in enumerate(spec["teens"]):
        for w in spellings:
            add(w, _TEEN, 10 + k)
    for k, spellings in enumerate(spec["tens"]):
        for w in spellings:
            add(w, _TENS, 20 + 10 * k)
    for word, value in _compounds(spec):
        add(word, _COMPOUND, value)
    if spec.get("hundred_suffix"):
        for digit, spellings in enumerate(spec["units"][2:], start=2):
            for w in spellings:
                add(w + spec["hundred_suffix"], _HUNDREDS, 100 * digit)
    return Lexicon(
        language=code,
        words=words,
        hundred=frozenset(normalise(w) for w in spec["hundred"]),
        and_words=frozenset(spec["and_words"]),
        multipliers=dict(spec["multipliers"]),
        weak_zero=frozenset(spec["weak_zero"]),
        unit_and_tens=bool(spec["unit_and_tens"]),
    )


def _compounds(spec: dict) -> list[tuple[str, int]]:
    """One-word spellings of 21-99 (without the round tens) per the language's rule."""
    rule = spec.get("compound", "")
    units = spec.get("compound_units", spec["units"])
    elide = set(spec.get("elide", []))
    out: list[tuple[str, int]] = []
    for k, tens_spellings in enumerate(spec["tens"]):
        for digit in range(1, 10):
            for t in tens_spellings:
                for u in units[digit]:
                    if rule == "tens_unit":
                        stem = t[:-1] if u in elide else t
                        out.append((stem + u, 20 + 10 * k + digit))
                    elif rule == "unit_in_tens":
                        out.append((u + "in" + t, 20 + 10 * k + digit))
    return out


def find_numbers(tokens: Sequence[str], language: str) -> list[NumberUnit]:
    """Find the number units in a token sequence.

    Parameters
    ----------
    tokens : sequence of str
        Words, digit runs and punctuation, in order (:func:`callqa.words.tokens.tokenize`). A "-"
        between a tens word and a unit ("twenty-one") is read as part of the number.
    language : str
        ISO 639-1 code; "no" means "nb"; unknown languages use the English words.

    Returns
    -------
    list of NumberUnit
        Non-overlapping, in order. Tokens that are not numbers are not covered.
    """
    lex = lexicon(language)
    norm = [normalise(t) for t in tokens]
    units: list[NumberUnit] = []
    i = 0
    while i < len(norm):
        unit = _read_unit(norm, i, lex)
        if unit is None:
            i += 1
            continue
        units.append(unit)
        i = unit.end
    return units


def words_to_digits(text: str, language: str) -> str:
    """All the digits a text reads as, concatenated ("four five 32" -> "4532").

    Parameters
    ----------
    text : str
        Free text.
    language : str
        ISO 639-1 code.

    Returns
    -------
    str
        The digits of every number unit, in order ("" when there are none).
    """

    tokens = [t.text for t in tokenize(text)]
    return "".join(u.digits for u in find_numbers(tokens, language))


def _kind(norm: Sequence[str], i: int, lex: Lexicon) -> tuple[str, int] | None:
    if i >= len(norm):
        return None
    token = norm[i]
    if token.isdigit() and token.isascii():
        return ("number", -1)
    return lex.words.get(token) or lex.words.get(fold(token))


def _read_unit(norm: Sequence[str], i: int, lex: Lexicon) -> NumberUnit | None:
    token = norm[i]
    if token.isdigit() and token.isascii():
        return NumberUnit(i, i + 1, token)
    if token in lex.multipliers:
        return _read_multiplied(norm, i, lex)
    kind = _kind(norm, i, lex)
    if kind is None:
        return _read_hundred(norm, i, i, 1, lex) if token in lex.hundred else None
    if token in lex.weak_zero and not _next_to_number(norm, i, lex):
        return None
    name, value = kind
    if name == _HUNDREDS:
        return _read_hundred(norm, i, i, value // 100, lex)
    if name == _DIGIT:
        return _read_after_digit(norm, i, value, lex)
    if name == _TENS:
        return _read_after_tens(norm, i, value, lex)
    return NumberUnit(i, i + 1, str(value))


def _next_to_number(norm: Sequence[str], i: int, lex: Lexicon) -> bool:
    return _is_number_word(norm, i + 1, lex) or _is_number_word(norm, i - 1, lex)


def _is_number_word(norm: Sequence[str], i: int, lex: Lexicon) -> bool:
    if i < 0 or i >= len(norm):
        return False
    token = norm[i]
    if token in lex.weak_zero:
        return False
    return _kind(norm, i, lex) is not None or token in lex.multipliers


def _read_after_digit(norm: Sequence[str], i: int, digit: int, lex: Lexicon) -> NumberUnit:
    """A unit word: alone, before "hundred", or (nb/sl) "unit and tens"."""
    if i + 1 < len(norm) and norm[i + 1] in lex.hundred:
        return _read_hundred(norm, i, i + 1, digit, lex)
    if lex.unit_and_tens and 1 <= digit <= 9 and i + 2 < len(norm):
        after = _kind(norm, i + 2, lex)
        if norm[i + 1] in lex.and_words and after is not None and after[0] == _TENS:
            return NumberUnit(i, i + 3, str(after[1] + digit))
    return NumberUnit(i, i + 1, str(digit))


def _read_after_tens(norm: Sequence[str], i: int, tens: int, lex: Lexicon) -> NumberUnit:
    """A tens word, optionally followed by a unit 1-9 ("twenty one", "twenty-one")."""
    j = i + 1
    if j < len(norm) and norm[j] == "-":
        j += 1
    after = _kind(norm, j, lex)
    unit = after is not None and after[0] == _DIGIT and 1 <= after[1] <= 9
    before_hundred = j + 1 < len(norm) and norm[j + 1] in lex.hundred
    if unit and after is not None and norm[j] not in lex.weak_zero and not before_hundred:
        return NumberUnit(i, j + 1, str(tens + after[1]))
    return NumberUnit(i, i + 1, str(tens))


def _read_multiplied(norm: Sequence[str], i: int, lex: Lexicon) -> NumberUnit | None:
    """ "double five" -> "55"; "triple oh" -> "000"."""
    times = lex.multipliers[norm[i]]
    if i + 1 >= len(norm):
        return None
    after = _kind(norm, i + 1, lex)
    if after is None:
        return None
    if after[0] == "number" and len(norm[i + 1]) == 1:
        return NumberUnit(i, i + 2, norm[i + 1] * times)
    if after[0] == _DIGIT:
        return NumberUnit(i, i + 2, str(after[1]) * times)
    return None


def _read_hundred(norm: Sequence[str], start: int, j: int, digit: int, lex: Lexicon) -> NumberUnit:
    """ "five hundred [and] twelve" -> "512"; ``j`` is the index of the hundred word."""
    value = 100 * digit
    end = j + 1
    k = end + 1 if end < len(norm) and norm[end] in lex.and_words else end
    rest = _kind(norm, k, lex)
    if rest is not None and rest[0] in (_DIGIT, _TEEN, _COMPOUND) and norm[k] not in lex.weak_zero:
        value, end = value + rest[1], k + 1
    elif rest is not None and rest[0] == _TENS:
        tail = _read_after_tens(norm, k, rest[1], lex)
        value, end = value + int(tail.digits), tail.end
    return NumberUnit(start, end, str(value))


_JOINERS = frozenset(",.-/ ")  # punctuation that may sit between the digits of one number


def digit_sequences(text: str, language: str, min_digits: int = 1) -> set[str]:
    """The numbers said in ``text`` as digit strings: runs of digits and number words with only
    punctuation between them are joined ("four four one nine" -> "4419", "12 34" -> "1234").

    Parameters
    ----------
    text : str
        One utterance or turn.
    language : str
        ISO 639-1 code of the number words.
    min_digits : int >= 1
        Shorter digit strings are left out.
    """
    tokens = [t.text for t in tokenize(text)]
    runs: list[str] = []
    current, last_end = "", -1
    for unit in find_numbers(tokens, language):
        between = tokens[last_end : unit.start] if last_end >= 0 else []
        if current and all(t in _JOINERS for t in between):
            current += unit.digits
        else:
            runs.append(current)
            current = unit.digits
        last_end = unit.end
    runs.append(current)
    return {r for r in runs if len(r) >= min_digits}
