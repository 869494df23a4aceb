"""Personal data: find card numbers, IBANs, national IDs, phone numbers and e-mail addresses
in a transcript, and redact them from the scorecard, free text and the call audio.

::

    Transcript -> find_pii -> PiiSpan ...      (checks still see the unredacted text, in memory)
    Scorecard + spans -> redact_scorecard -> Scorecard with placeholders + RedactionSummary
    CallAudio + spans -> redact_audio -> a copy with the spans silenced (or a 1 kHz tone)

Detection works on one speaker's words at a time, across that speaker's consecutive segments
(a card number read out over two ASR segments is one number), and on digits as well as number
words in en, nb, fi, it and sl (:mod:`callqa.numbers`). Numbers with check digits are redacted
only when the check digits agree, so an order number is left alone:

============== ================================================= ==========================
type           what                                              validation
============== ================================================= ==========================
card           payment card, 13-19 digits                        Luhn, issuer prefix 2-6
iban           IBAN, any SEPA country                            length per country, mod 97
national_id    NO fødselsnummer / D-nummer, FI henkilötunnus,    date + check digit(s)
               IT codice fiscale, SI EMŠO
phone          phone number, 7-15 digits                         number plan or a phone cue
email          written or spoken ("john dot smith at ...")       TLD list
cvv, expiry    3-4 digits / a month + year after a card number   next to a card only
name, address  after "my name is ..." / street + number          off by default
============== ================================================= ==========================

docs/redaction.md gives the rules and the measured precision and recall.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import AudioError, ConfigError
from callqa.numbers import find_numbers, fold, normalise
from callqa.types import CallAudio, Evidence, Scorecard, Transcript, Utterance, Word

__all__ = [
    "PII_TYPES",
    "PLACEHOLDERS",
    "PiiPiece",
    "PiiSpan",
    "RedactionConfig",
    "RedactionSummary",
    "SpanTime",
    "attach_audio_path",
    "codice_fiscale_valid",
    "emso_valid",
    "find_pii",
    "fnr_valid",
    "hetu_valid",
    "iban_valid",
    "luhn_valid",
    "redact_audio",
    "redact_scorecard",
    "redact_text",
    "redact_transcript",
    "tokenize",
]

CARD, IBAN, NATIONAL_ID, PHONE, EMAIL = "card", "iban", "national_id", "phone", "email"
CVV, EXPIRY, NAME, ADDRESS = "cvv", "expiry", "name", "address"
PII_TYPES = (CARD, IBAN, NATIONAL_ID, PHONE, EMAIL, CVV, EXPIRY, NAME, ADDRESS)
DEFAULT_TYPES = (CARD, IBAN, NATIONAL_ID, PHONE, EMAIL, CVV, EXPIRY)
PLACEHOLDERS = {t: f"[{t.upper()}]" for t in PII_TYPES}
AUDIO_MODES = ("silence", "tone")


# --------------------------------------------------------------------------- config and values


@dataclass(frozen=True)
class RedactionConfig:
    """How personal data is redacted (TOML section ``[redaction]``).

    Attributes
    ----------
    enabled : bool
        Redact everything written to disk (JSON, CSV, store, report, audio copy).
    types : tuple of str
        Types to detect, from :data:`DEFAULT_TYPES`; "name"/"address" are switched by the
        two flags below.
    names : bool
        Also redact person names after "my name is ..." and similar (off: no offline NER model
        for all five languages; cue-based detection misses names said without a cue).
    addresses : bool
        Also redact street addresses (street word + house number; off, same reason).
    audio_mode : {"silence", "tone"}
        What replaces a span in the redacted audio copy.
    audio_pad_s : float >= 0 [s]
        Padding on both sides of each span in the audio (word times are +-0.1 s accurate).
    tone_hz : float > 0 [Hz]
        Frequency of the replacement tone.
    join_gap_s : float >= 0 [s]
        A number may continue into the same speaker's next segment when it starts within
        this many seconds.
    """

    enabled: bool = True
    types: tuple[str, ...] = DEFAULT_TYPES
    names: bool = False
    addresses: bool = False
    audio_mode: str = "silence"
    audio_pad_s: float = 0.15
    tone_hz: float = 1000.0
    join_gap_s: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(self.types))
        unknown = [t for t in self.types if t not in PII_TYPES]
        if unknown:
            raise ConfigError(
                f"redaction.types: unknown type(s) {unknown}; use some of {list(DEFAULT_TYPES)}"
            )
        if self.audio_mode not in AUDIO_MODES:
            raise ConfigError(
                f"redaction.audio_mode must be 'silence' or 'tone', not {self.audio_mode!r}"
            )
        if self.audio_pad_s < 0 or self.join_gap_s < 0 or self.tone_hz <= 0:
            raise ConfigError("redaction: audio_pad_s and join_gap_s must be >= 0, tone_hz > 0")

    @property
    def active_types(self) -> frozenset[str]:
        """The types detected, including "name"/"address" when switched on."""
        extra = {NAME} if self.names else set()
        extra |= {ADDRESS} if self.addresses else set()
        return frozenset(self.types) | extra


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


@dataclass(frozen=True)
class SpanTime:
    """Where a redacted span was: type, speaker and time (s), never the value."""

    type: str
    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class RedactionSummary:
    """What was redacted from a scorecard (JSON ``redaction``); holds no redacted value.

    Attributes
    ----------
    enabled : bool
        False when redaction was switched off (then counts are empty).
    counts : dict of str -> int
        Number of spans per type ({"card": 1, "phone": 2}).
    spans : tuple of SpanTime
        Type, speaker and time of each span, in time order.
    audio_path : str or None
        The redacted audio copy, when one was written (see :func:`attach_audio_path`).
    audio_mode : str
        "silence" or "tone".
    """

    enabled: bool
    counts: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    spans: tuple[SpanTime, ...] = ()
    audio_path: str | None = None
    audio_mode: str = "silence"

    @property
    def total(self) -> int:
        """Number of redacted spans."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "enabled": self.enabled,
            "counts": dict(self.counts),
            "spans": [dataclasses.asdict(s) for s in self.spans],
            "audio_path": self.audio_path,
            "audio_mode": self.audio_mode,
        }


# --------------------------------------------------------------------------- validators


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check used by payment cards."""
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# ISO 13616 IBAN lengths (SWIFT IBAN registry) for the countries customers here bank in.
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18,
    "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "ME": 22, "MK": 19, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "RS": 22, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "VA": 22, "XK": 20,
}  # fmt: skip


def iban_valid(text: str) -> bool:
    """True for a well-formed IBAN: known country, its length, and mod-97 remainder 1."""
    iban = re.sub(r"[\s-]", "", text).upper()
    if len(iban) < 5 or IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    if not iban.isalnum() or not iban.isascii():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _valid_date(day: int, month: int, year: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def fnr_valid(digits: str) -> bool:
    """Norwegian fødselsnummer or D-nummer: 11 digits, a valid birth date, two mod-11 checks.

    DDMMYY IIIKK; D-numbers add 40 to the day, H-numbers and synthetic test numbers add 40
    or 80 to the month (Skatteetaten).
    """
    if len(digits) != 11 or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    k1 = 11 - sum(w * x for w, x in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), d, strict=False)) % 11
    k2 = 11 - sum(w * x for w, x in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), d, strict=False)) % 11
    k1, k2 = k1 % 11, k2 % 11  # 11 -> 0; 10 means "no valid number"
    if k1 == 10 or k2 == 10 or k1 != d[9] or k2 != d[10]:
        return False
    day, month = int(digits[0:2]), int(digits[2:4])
    day = day - 40 if day > 40 else day
    month = month - 80 if month > 80 else month - 40 if month > 40 else month
    return _valid_date(day, month, 2000 + int(digits[4:6]))  # a leap-year-safe century


_HETU_CONTROL = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_HETU_CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
                 "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}  # fmt: skip
_HETU_RE = re.compile(r"(\d{6})([-+A-FU-Y]?)(\d{3})([0-9A-Y])")


def hetu_valid(text: str, *, require_sign: bool = True) -> bool:
    """Finnish henkilötunnus: DDMMYY, century sign, 3-digit individual number, control char.

    The control character is ``"0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYZZZ mod 31]``
    (Digital and Population Data Services Agency). With ``require_sign=False`` the century
    sign may be missing (as when the "-" is not transcribed).
    """
    m = _HETU_RE.fullmatch(text.upper())
    if m is None or (require_sign and not m.group(2)):
        return False
    ddmmyy, sign, individual, control = m.groups()
    if int(individual) < 2:  # 000 and 001 are not used
        return False
    if _HETU_CONTROL[int(ddmmyy + individual) % 31] != control:
        return False
    century = _HETU_CENTURY.get(sign, 1900)
    return _valid_date(int(ddmmyy[:2]), int(ddmmyy[2:4]), century + int(ddmmyy[4:6]))


_CF_ODD = {c: v for c, v in zip("0123456789", (1, 0, 5, 7, 9, 13, 15, 17, 19, 21), strict=True)}
_CF_ODD.update(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        (
            1,
            0,
            5,
            7,
            9,
            13,
            15,
            17,
            19,
            21,
            2,
            4,
            18,
            20,
            11,
            3,
            6,
            8,
            12,
            14,
            16,
            10,
            22,
            25,
            24,
            23,
        ),
        strict=True,
    )
)
_CF_OMOCODIA = "LMNPQRSTUV"  # letters that replace digits 0-9 in duplicate codes
_CF_RE = re.compile(r"[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]")


def _cf_even(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A")


def codice_fiscale_valid(text: str) -> bool:
    """Italian codice fiscale: 16 characters, structure, and the control letter (DM 23/12/1976)."""
    cf = text.upper()
    if _CF_RE.fullmatch(cf) is None:
        return False
    total = sum(_CF_ODD[c] if i % 2 == 0 else _cf_even(c) for i, c in enumerate(cf[:15]))
    if chr(ord("A") + total % 26) != cf[15]:
        return False
    day = int("".join(str(_CF_OMOCODIA.index(c)) if c.isalpha() else c for c in cf[9:11]))
    return 1 <= day <= 31 or 41 <= day <= 71


def emso_valid(digits: str) -> bool:
    """Slovenian EMŠO: DDMMYYY RR BBB K, a valid date, mod-11 control digit.

    K = 11 - (sum of the first 12 digits weighted 7,6,5,4,3,2,7,6,5,4,3,2 mod 11); 11 -> 0,
    10 never issued. YYY is the year's last three digits (9xx: 1900s, 0xx: 2000s).
    """
    if len(digits) != 13 or not digits.isdigit():
        return False
    d = [int(c) for c in digits]
    s = sum(w * x for w, x in zip((7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), d, strict=False))
    k = 11 - s % 11
    if k == 10 or k % 11 != d[12]:
        return False
    yyy = int(digits[4:7])
    year = 1000 + yyy if yyy >= 800 else 2000 + yyy
    return _valid_date(int(digits[0:2]), int(digits[2:4]), year)


def _card_prefix_ok(digits: str) -> bool:
    """Issuer prefixes of the card networks (Visa 4, Mastercard 2/5, Amex 34/37, ...)."""
    return digits[0] in "23456"


# --------------------------------------------------------------------------- tokens


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


@cache
def _words() -> dict[str, tuple[str, ...]]:
    text = resources.files("callqa").joinpath("data/pii_words.toml").read_text("utf-8")
    data = tomllib.loads(text)
    months = data.pop("months")
    out = {k: tuple(normalise(w) for w in v) for k, v in data.items()}
    out["months"] = tuple(f"{i + 1:02d}:{normalise(w)}" for i, ws in enumerate(months) for w in ws)
    return out


@cache
def _word_set(kind: str) -> frozenset[str]:
    words = _words()[kind]
    return frozenset(words) | frozenset(fold(w) for w in words)


@cache
def _month_of() -> dict[str, str]:
    return {w.split(":", 1)[1]: w.split(":", 1)[0] for w in _words()["months"]}


@cache
def _cue_re(kind: str) -> re.Pattern[str]:
    cues = sorted(_words()[kind], key=len, reverse=True)
    alternatives = "|".join(re.escape(c) for c in cues)
    return re.compile(rf"(?<![\w-])(?:{alternatives})")


# --------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class _Tok:
    """A token of one speaker's stream, placed in its segment."""

    text: str
    norm: str
    segment: int
    char_start: int
    char_end: int
    word: int | None
    new_segment: bool  # first token of a segment (a soft boundary inside a number)


@dataclass(frozen=True)
class _Basis:
    """A segment's text as detection sees it, and where each word lies in it."""

    text: str
    word_chars: tuple[tuple[int, int] | None, ...]
    from_words: bool  # the text was rebuilt from the words (they did not match the text)


def _basis(seg: Utterance) -> _Basis:
    if not seg.words:
        return _Basis(seg.text, (), False)
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for w in seg.words:
        word = w.text.strip()
        at = seg.text.find(word, cursor) if word else -1
        if at < 0:
            return _rebuilt_basis(seg.words)
        spans.append((at, at + len(word)))
        cursor = at + len(word)
    return _Basis(seg.text, tuple(spans), False)


def _rebuilt_basis(words: Sequence[Word]) -> _Basis:
    parts: list[str] = []
    spans: list[tuple[int, int] | None] = []
    pos = 0
    for w in words:
        word = w.text.strip()
        spans.append((pos, pos + len(word)))
        parts.append(word)
        pos += len(word) + 1
    return _Basis(" ".join(parts), tuple(spans), True)


def _word_index(basis: _Basis, start: int, end: int) -> int | None:
    for k, span in enumerate(basis.word_chars):
        if span is not None and span[0] < end and start < span[1]:
            return k
    return None


def _streams(
    transcript: Transcript, bases: Sequence[_Basis], config: RedactionConfig
) -> list[list[_Tok]]:
    """One token list per speaker run: a speaker's segments, split where the pause is long."""
    by_speaker: dict[str, list[int]] = {}
    for i, seg in enumerate(transcript.segments):
        by_speaker.setdefault(seg.speaker, []).append(i)
    streams: list[list[_Tok]] = []
    for indices in by_speaker.values():
        current: list[_Tok] = []
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


def _segment_tokens(basis: _Basis, i: int) -> list[_Tok]:
    out = []
    for k, t in enumerate(tokenize(basis.text)):
        word = _word_index(basis, t.start, t.end)
        out.append(_Tok(t.text, normalise(t.text), i, t.start, t.end, word, k == 0))
    return out


# --------------------------------------------------------------------------- atoms


@dataclass(frozen=True)
class _Atom:
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


def _classify(tok: _Tok) -> tuple[str, str, str]:
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
    if norm in _word_set("dash"):
        return "sep", "", "-"
    if norm in _word_set("plus"):
        return "sep", "", "+"
    if norm in _word_set("slash"):
        return "sep", "", "/"
    if norm in _word_set("filler") or text in _PUNCT_SEPARATORS:
        return "sep", "", ""
    return "break", "", ""


def _blocks(stream: Sequence[_Tok], language: str) -> list[list[_Atom]]:
    """Runs of atoms between ordinary words."""
    units = {u.start: u for u in find_numbers([t.text for t in stream], language)}
    blocks: list[list[_Atom]] = []
    current: list[_Atom] = []
    i = 0
    while i < len(stream):
        unit = units.get(i)
        if unit is not None and _spelled_letter(stream, i):
            unit = None  # "N O nine three": the letter O, not "oh"
        if unit is not None:
            current.append(_Atom("num", i, unit.end, unit.digits, "", stream[i].new_segment))
            i = unit.end
            continue
        kind, chars, sign = _classify(stream[i])
        if kind == "break":
            if current:
                blocks.append(current)
            current = []
        else:
            current.append(_Atom(kind, i, i + 1, chars, sign, stream[i].new_segment))
        i += 1
    if current:
        blocks.append(current)
    return blocks


def _spelled_letter(stream: Sequence[_Tok], i: int) -> bool:
    """An upper-case "O" next to another spelled letter is a letter ("N O ...", "5 O J")."""

    def letter(k: int) -> bool:
        text = stream[k].text if 0 <= k < len(stream) else ""
        return len(text) == 1 and text.isalpha() and text.isupper() and text != "O"

    return stream[i].text == "O" and (letter(i - 1) or letter(i + 1))


# --------------------------------------------------------------------------- detectors


@dataclass(frozen=True)
class _Found:
    """A detection over stream tokens ``[start, end)``."""

    type: str
    start: int
    end: int
    kind: str = ""


def _context(stream: Sequence[_Tok], start: int, n: int = 8) -> str:
    """The ``n`` normalised tokens before ``start``, space-joined."""
    return " ".join(t.norm for t in stream[max(0, start - n) : start])


def _has_cue(kind: str, text: str) -> bool:
    return _cue_re(kind).search(text) is not None or _cue_re(kind).search(fold(text)) is not None


def _last_cue(kind: str, text: str) -> int:
    """Position of the last cue of ``kind`` in ``text`` (-1 when none)."""
    hits = [m.start() for m in _cue_re(kind).finditer(text)]
    return hits[-1] if hits else -1


_VALIDATED_PRIORITY = {IBAN: 0, NATIONAL_ID: 1, CARD: 2}


def _validate(chars: str, raw: str) -> list[tuple[str, str]]:
    """Types with check digits that ``chars`` (alphanumerics) / ``raw`` (with signs) pass."""
    found: list[tuple[str, str]] = []
    if chars.isdigit():
        n = len(chars)
        if 13 <= n <= 19 and _card_prefix_ok(chars) and luhn_valid(chars):
            found.append((CARD, ""))
        if n == 11 and fnr_valid(chars):
            found.append((NATIONAL_ID, "no_fnr"))
        if n == 13 and emso_valid(chars):
            found.append((NATIONAL_ID, "si_emso"))
        if n == 10 and hetu_valid(raw.replace("/", "")):
            found.append((NATIONAL_ID, "fi_hetu"))  # "-" century sign, digit control
        elif n == 10 and hetu_valid(chars, require_sign=False):
            found.append((NATIONAL_ID, "fi_hetu_nosign"))
        return found
    bare = raw.replace("/", "")
    if hetu_valid(bare) or hetu_valid(chars) or hetu_valid(chars, require_sign=False):
        found.append((NATIONAL_ID, "fi_hetu"))
    if len(chars) == 16 and codice_fiscale_valid(chars):
        found.append((NATIONAL_ID, "it_cf"))
    if chars[:2].isalpha() and iban_valid(chars):
        found.append((IBAN, ""))
    return found


def _leftover_ok(stream: Sequence[_Tok], block: Sequence[_Atom], i: int, j: int) -> bool:
    """May number atoms right before atom ``i`` / after atom ``j`` be left out of the window?

    Digits said in one breath belong to one number, so a window inside a longer digit run is
    rejected (a valid card inside a tracking code). Allowed: a segment boundary; before, a
    single word for 1 ("en", "one", "un" used as an article); after, up to 4 digits behind a
    comma or full stop (the CVV or expiry right after a card).
    """
    before = _neighbours(block, i, -1)
    if before:
        word = before[0][1]
        one_word = word.chars == "1" and stream[word.start].text.isalpha()
        if len(before) > 1 or not one_word:
            return False
    after = _neighbours(block, j, +1)
    if after:
        digits = sum(len(a.chars) for _, a in after)
        punct = any(
            block[k].kind == "sep" and stream[block[k].start].text in ",.;:"
            for k in range(j + 1, after[0][0])
        )
        if digits > 4 or not punct:
            return False
    return True


def _neighbours(block: Sequence[_Atom], i: int, step: int) -> list[tuple[int, _Atom]]:
    """Number atoms next to atom ``i`` (separators skipped) up to a code atom or a segment start."""
    out = []
    k = i + step
    while 0 <= k < len(block):
        boundary = block[k + 1].new_segment if step < 0 else block[k].new_segment
        if boundary or block[k].kind == "code":
            break
        if block[k].kind == "num":
            out.append((k, block[k]))
        k += step
    return out


def _windows(block: Sequence[_Atom]) -> Iterable[tuple[int, int, str, str]]:
    """Every atom window (i, j, chars, raw) that starts and ends on a non-separator, <= 34 chars."""
    for i, first in enumerate(block):
        if first.kind == "sep":
            continue
        chars, raw = "", ""
        for j in range(i, len(block)):
            atom = block[j]
            chars += atom.chars
            raw += atom.chars or atom.sign
            if len(chars) > 34:  # the longest IBAN
                break
            if atom.kind != "sep":
                yield i, j, chars, raw


def _find_validated(
    stream: Sequence[_Tok], block: Sequence[_Atom], types: frozenset[str]
) -> list[_Found]:
    """Cards, IBANs and national IDs: windows whose check digits agree, longest first."""
    candidates: list[tuple[int, int, int, str, str]] = []
    for i, j, chars, raw in _windows(block):
        for typ, kind in _validate(chars, raw):
            if typ not in types or not _plausible(stream, block, i, j, typ, kind, chars):
                continue
            candidates.append((len(chars), i, j, typ, kind))
    candidates.sort(key=lambda c: (-c[0], _VALIDATED_PRIORITY[c[3]], c[1]))
    taken: list[tuple[int, int]] = []
    found: list[_Found] = []
    for _, i, j, typ, kind in candidates:
        if any(i <= b and a <= j for a, b in taken):
            continue
        taken.append((i, j))
        found.append(_Found(typ, block[i].start, block[j].end, kind))
    return found


def _plausible(
    stream: Sequence[_Tok], block: Sequence[_Atom], i: int, j: int, typ: str, kind: str, chars: str
) -> bool:
    """Context rules on top of the check digits (see the module docstring)."""
    if not chars.isdigit():
        return True
    if not _leftover_ok(stream, block, i, j):
        return False
    context = _context(stream, block[i].start)
    if kind == "fi_hetu_nosign":
        return _has_cue("national_id", context)
    other_number = any(_has_cue(k, context) for k in ("reference", "iban", "national_id"))
    return not (typ == CARD and other_number and not _has_cue("card", context))


def _digit_runs(block: Sequence[_Atom], taken: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Maximal runs of number atoms (separators inside allowed) outside ``taken`` token ranges."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    last: int | None = None
    for k, atom in enumerate(block):
        inside = any(a <= atom.start < b for a, b in taken)
        if atom.kind == "num" and not inside:
            start = k if start is None else start
            last = k
        elif atom.kind == "code" or inside:
            if start is not None and last is not None:
                runs.append((start, last))
            start = last = None
    if start is not None and last is not None:
        runs.append((start, last))
    return runs


# Calling codes of the markets and their neighbours (ITU-T E.164 assignments).
_CALLING_CODES = ("1", "7", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
                  "46", "47", "48", "49", "351", "352", "353", "354", "358", "370", "371", "372",
                  "381", "385", "386", "387", "420", "421")  # fmt: skip


def _national_phone(digits: str, language: str) -> bool:
    """Numbering-plan shapes of national numbers (Nkom, Traficom, AGCOM, AKOS, Ofcom, NANP)."""
    n = len(digits)
    if language == "nb":
        return n == 8 and digits[0] in "2345679"
    if language == "fi":
        return digits[0] == "0" and 7 <= n <= 12
    if language == "it":
        return (digits[0] == "3" and n in (9, 10)) or (digits[0] == "0" and 6 <= n <= 11)
    if language == "sl":
        return digits[0] == "0" and n == 9
    return (digits[0] == "0" and n in (10, 11)) or (n == 10 and digits[0] in "23456789")


def _international_phone(digits: str) -> bool:
    digits = digits[2:] if digits.startswith("00") else digits
    return any(digits.startswith(cc) and 6 <= len(digits) - len(cc) <= 12 for cc in _CALLING_CODES)


def _date_or_time(stream: Sequence[_Tok], start: int, end: int) -> bool:
    """Digits joined by ":" or "/", or by "." with no space ("20.11.2020", "10:32")."""
    for k in range(start + 1, end - 1):
        mark, before, after = stream[k], stream[k - 1], stream[k + 1]
        if mark.text in ":/":
            return True
        tight = before.char_end == mark.char_start and mark.char_end == after.char_start
        if mark.text == "." and tight and before.segment == after.segment:
            return True
    return False


def _find_phones(
    stream: Sequence[_Tok], block: Sequence[_Atom], taken: Sequence[tuple[int, int]], language: str
) -> list[_Found]:
    """Phone numbers: whole digit runs shaped like a phone number or announced as one."""
    found: list[_Found] = []
    for i, j in _digit_runs(block, taken):
        digits = "".join(a.chars for a in block[i : j + 1])
        plus = i > 0 and block[i - 1].sign == "+"
        if not 7 <= len(digits) <= 15 or _date_or_time(stream, block[i].start, block[j].end):
            continue
        context = _context(stream, block[i].start)
        phone_cue = _last_cue("phone", context)
        other_cue = max(_last_cue(k, context) for k in ("reference", "national_id", "iban", "card"))
        if other_cue > phone_cue:
            continue  # "order number", "personal number", "IBAN", "card" said closer
        international = (plus or digits.startswith("00")) and _international_phone(digits)
        if international or phone_cue >= 0 or _national_phone(digits, language):
            start = block[i - 1].start if plus else block[i].start
            found.append(_Found(PHONE, start, block[j].end))
    return found


def _find_card_extras(
    stream: Sequence[_Tok],
    blocks: Sequence[Sequence[_Atom]],
    cards: Sequence[_Found],
    taken: Sequence[tuple[int, int]],
    types: frozenset[str],
) -> list[_Found]:
    """CVV and expiry date: short numbers said within 20 words after a card number."""
    found: list[_Found] = []
    for card in cards:
        for block in blocks:
            for i, j in _digit_runs(block, taken):
                start = block[i].start
                if not card.end <= start <= card.end + 20:
                    continue
                digits = "".join(a.chars for a in block[i : j + 1])
                extra = _card_extra(stream, card.end, start, digits, types)
                if extra is not None:
                    typ, first = extra
                    found.append(_Found(typ, first, block[j].end))
    return found


def _card_extra(
    stream: Sequence[_Tok], card_end: int, start: int, digits: str, types: frozenset[str]
) -> tuple[str, int] | None:
    between = " ".join(t.norm for t in stream[max(card_end, start - 4) : start])
    month = _month_of().get(stream[start - 1].norm) if start > card_end else None
    if month is not None and EXPIRY in types and len(digits) in (2, 4):
        return EXPIRY, start - 1
    is_month = len(digits) in (4, 6) and 1 <= int(digits[:2]) <= 12
    if _has_cue("expiry", between) and (is_month or len(digits) == 3) and EXPIRY in types:
        return EXPIRY, start
    if _has_cue("cvv", between) and len(digits) in (3, 4) and CVV in types:
        return CVV, start
    if is_month and len(digits) == 4 and EXPIRY in types and not _has_cue("cvv", between):
        return EXPIRY, start
    if len(digits) in (3, 4) and CVV in types:
        return CVV, start
    return None


def _find_emails(stream: Sequence[_Tok], language: str) -> list[_Found]:
    """Written or spoken e-mail addresses: local part, "@"/"at", domain ending in a known TLD."""
    at, found = _word_set("at"), []
    numeric = _numeric_tokens(stream, language)
    for a, tok in enumerate(stream):
        if tok.norm not in at:
            continue
        end = _domain_end(stream, a + 1)
        start = _local_start(stream, a - 1, numeric)
        if end is not None and start is not None:
            found.append(_Found(EMAIL, start, end))
    return found


def _numeric_tokens(stream: Sequence[_Tok], language: str) -> frozenset[int]:
    units = find_numbers([t.text for t in stream], language)
    return frozenset(k for u in units for k in range(u.start, u.end))


def _is_part(stream: Sequence[_Tok], k: int) -> bool:
    return 0 <= k < len(stream) and stream[k].text.isalnum()


def _domain_end(stream: Sequence[_Tok], k: int) -> int | None:
    """End (exclusive) of "example dot com" starting at ``k``, at its last TLD part."""
    if not _is_part(stream, k):
        return None
    dots, dashes, tld = _word_set("dot"), _word_set("dash"), _word_set("tld")
    end: int | None = None
    k += 1
    while k + 1 < len(stream) and _is_part(stream, k + 1):
        if stream[k].norm in dots:
            if stream[k + 1].norm in tld:
                end = k + 2
        elif stream[k].norm not in dashes:
            break
        k += 2
    return end


def _local_start(stream: Sequence[_Tok], k: int, numeric: frozenset[int]) -> int | None:
    """Start of the local part ("john dot smith", "smith eight zero") that ends at token ``k``."""
    if not _is_part(stream, k):
        return None
    joins = _word_set("dot") | _word_set("underscore") | _word_set("dash") | _word_set("plus")
    while True:
        if k - 2 >= 0 and stream[k - 1].norm in joins and _is_part(stream, k - 2):
            k -= 2
        elif k in numeric and _is_part(stream, k - 1):
            k -= 1  # digits said after a name part: "smith eighty"
        else:
            return k


_NAME_STOP = frozenset(
    [
        "i", "the", "a", "an", "and", "calling", "here", "from", "with", "at", "in", "on", "of",
        "to", "about", "just", "your", "my", "you", "we", "it", "ok", "okay", "yes", "no",
        "sorry", "thanks", "thank", "please", "hello", "hi",
    ]
)  # fmt: skip


def _find_names(stream: Sequence[_Tok]) -> list[_Found]:
    """Person names: one or two capitalised words after "my name is", "jeg heter", ..."""
    found: list[_Found] = []
    for k in range(1, len(stream)):
        if not _ends_with_cue(stream, k, "name"):
            continue
        end = k
        while end < min(k + 2, len(stream)) and _looks_like_name(stream[end]):
            end += 1
        if end > k:
            found.append(_Found(NAME, k, end))
    return found


def _ends_with_cue(stream: Sequence[_Tok], k: int, kind: str) -> bool:
    """True when the tokens just before ``k`` end with a cue phrase of ``kind``."""
    text = " ".join(t.norm for t in stream[max(0, k - 4) : k])
    return any(text == c or text.endswith(" " + c) for c in _words()[kind])


def _looks_like_name(tok: _Tok) -> bool:
    text = tok.text
    return text.isalpha() and text[0].isupper() and tok.norm not in _NAME_STOP


def _is_street(tok: _Tok) -> bool:
    if tok.norm in _word_set("street"):
        return True
    return tok.text.isalpha() and any(
        tok.norm.endswith(s) and len(tok.norm) >= len(s) + 3 for s in _words()["street_suffix"]
    )


def _find_addresses(stream: Sequence[_Tok], language: str) -> list[_Found]:
    """Street addresses: a street word with a house number and up to three name words."""
    numbers = {u.start: u for u in find_numbers([t.text for t in stream], language)}
    found: list[_Found] = []
    for k, tok in enumerate(stream):
        if not _is_street(tok):
            continue
        start, end = k, k + 1
        while start > 0 and start > k - 3 and _looks_like_name(stream[start - 1]):
            start -= 1
        while end < len(stream) and end < k + 4 and _looks_like_name(stream[end]):
            end += 1
        if end in numbers:
            end = numbers[end].end
            if end < len(stream) and len(stream[end].text) == 1 and stream[end].text.isalpha():
                end += 1  # "12 B"
        elif start - 1 >= 0 and any(u.end == start for u in numbers.values()):
            start = next(u.start for u in numbers.values() if u.end == start)
        else:
            continue
        found.append(_Found(ADDRESS, start, end))
    return found


# --------------------------------------------------------------------------- find_pii


def find_pii(transcript: Transcript, config: RedactionConfig | None = None) -> tuple[PiiSpan, ...]:
    """Find personal data in a transcript.

    Parameters
    ----------
    transcript : Transcript
        Segments with or without word times; each speaker's segments are searched as one
        stream (pauses up to ``config.join_gap_s`` seconds do not end a number).
    config : RedactionConfig, optional
        Which types to find; defaults to :class:`RedactionConfig` ().

    Returns
    -------
    tuple of PiiSpan
        In time order; empty when ``config.enabled`` is False.
    """
    config = config or RedactionConfig()
    if not config.enabled:
        return ()
    bases = tuple(_basis(s) for s in transcript.segments)
    spans: list[PiiSpan] = []
    for stream in _streams(transcript, bases, config):
        for found in _merge(_find_in_stream(stream, transcript.language, config.active_types)):
            spans.append(_to_span(found, stream, transcript, bases))
    if len({s.speaker for s in transcript.segments}) > 1:
        # a diarization error can split a number between two speaker labels: numbers with
        # check digits are also searched in the whole call, in time order
        checked = config.active_types & {CARD, IBAN, NATIONAL_ID}
        mixed = _mixed_stream(transcript, bases, config)
        for found in _merge(_find_in_stream(mixed, transcript.language, checked)):
            span = _to_span(found, mixed, transcript, bases)
            if not _covered(span, spans):
                spans.append(span)
    return tuple(sorted(spans, key=lambda s: (s.start, s.end, s.speaker)))


def _mixed_stream(
    transcript: Transcript, bases: Sequence[_Basis], config: RedactionConfig
) -> list[_Tok]:
    """Every speaker's tokens in segment order (one stream, whatever the speaker labels)."""
    single = dataclasses.replace(
        transcript, segments=tuple(dataclasses.replace(s, speaker="") for s in transcript.segments)
    )
    out: list[_Tok] = []
    for stream in _streams(single, bases, config):
        if out:  # a long pause: a token that ends every number
            out.append(_Tok("|", "|", -1, 0, 0, None, True))
        out.extend(stream)
    return out


def _covered(span: PiiSpan, spans: Sequence[PiiSpan]) -> bool:
    """True when a piece of ``span`` overlaps a piece of one of ``spans`` (found already)."""
    return any(
        q.segment == p.segment and q.char_start < p.char_end and p.char_start < q.char_end
        for other in spans
        for q in other.pieces
        for p in span.pieces
    )


def _find_in_stream(stream: Sequence[_Tok], language: str, types: frozenset[str]) -> list[_Found]:
    from callqa.numbers import canonical_language

    language = canonical_language(language)
    blocks = _blocks(stream, language)
    found: list[_Found] = []
    for block in blocks:
        found.extend(_find_validated(stream, block, types))
    taken = [(f.start, f.end) for f in found]
    cards = [f for f in found if f.type == CARD]
    extras = _find_card_extras(stream, blocks, cards, taken, types) if cards else []
    found.extend(extras)
    taken += [(f.start, f.end) for f in extras]
    if PHONE in types:
        for block in blocks:
            found.extend(_find_phones(stream, block, taken, language))
    if EMAIL in types:
        found.extend(_find_emails(stream, language))
    if NAME in types:
        found.extend(_find_names(stream))
    if ADDRESS in types:
        found.extend(_find_addresses(stream, language))
    return found


def _merge(found: Sequence[_Found]) -> list[_Found]:
    """Overlapping detections become one, typed as the longer one."""
    merged: list[_Found] = []
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            longer = last if last.end - last.start >= f.end - f.start else f
            merged[-1] = _Found(longer.type, last.start, max(last.end, f.end), longer.kind)
        else:
            merged.append(f)
    return merged


def _to_span(
    found: _Found, stream: Sequence[_Tok], transcript: Transcript, bases: Sequence[_Basis]
) -> PiiSpan:
    tokens = stream[found.start : found.end]
    pieces: list[PiiPiece] = []
    times: list[tuple[float, float]] = []
    segments = [t.segment for t in tokens if _substantive(t)] or [t.segment for t in tokens]
    for segment in dict.fromkeys(segments):
        own = [t for t in tokens if t.segment == segment]
        words = [t.word for t in own if t.word is not None]
        seg = transcript.segments[segment]
        if words and seg.words:
            piece = PiiPiece(
                segment, own[0].char_start, own[-1].char_end, min(words), max(words) + 1
            )
            times.append((seg.words[min(words)].start, seg.words[max(words)].end))
        else:
            piece = PiiPiece(segment, own[0].char_start, own[-1].char_end)
            times.append((seg.start, seg.end))
        pieces.append(piece)
    speaker = transcript.segments[pieces[0].segment].speaker
    start = min(t[0] for t in times)
    end = max(t[1] for t in times)
    return PiiSpan(found.type, speaker, start, end, tuple(pieces), found.kind)


def _substantive(tok: _Tok) -> bool:
    """A token worth redacting: not a filler ("mm-hm") or a lone mark between number parts."""
    return (tok.text.isalnum() and tok.norm not in _word_set("filler")) or tok.text in "@+"


# --------------------------------------------------------------------------- redaction


def redact_transcript(transcript: Transcript, spans: Sequence[PiiSpan]) -> Transcript:
    """The transcript with every span replaced by its placeholder in segment text and words.

    The words of a span become one word (the placeholder) from the first word's start to the
    last word's end, so timing survives.
    """
    by_segment: dict[int, list[tuple[PiiPiece, str]]] = {}
    for span in spans:
        for piece in span.pieces:
            by_segment.setdefault(piece.segment, []).append((piece, span.placeholder))
    segments = list(transcript.segments)
    for i, pieces in by_segment.items():
        segments[i] = _redact_segment(segments[i], pieces)
    return dataclasses.replace(transcript, segments=tuple(segments))


def _redact_segment(seg: Utterance, pieces: Sequence[tuple[PiiPiece, str]]) -> Utterance:
    pieces = _disjoint(pieces)
    text = _basis(seg).text
    for piece, placeholder in sorted(pieces, key=lambda p: -p[0].char_start):
        text = text[: piece.char_start] + placeholder + text[piece.char_end :]
    return dataclasses.replace(seg, text=text, words=_redact_words(seg.words, pieces))


def _disjoint(pieces: Sequence[tuple[PiiPiece, str]]) -> list[tuple[PiiPiece, str]]:
    """Overlapping pieces of one segment joined (the first one's placeholder wins)."""
    out: list[tuple[PiiPiece, str]] = []
    for piece, placeholder in sorted(pieces, key=lambda p: p[0].char_start):
        if out and piece.char_start < out[-1][0].char_end:
            last, first_placeholder = out[-1]
            out[-1] = (_union(last, piece), first_placeholder)
        else:
            out.append((piece, placeholder))
    return out


def _union(a: PiiPiece, b: PiiPiece) -> PiiPiece:
    words = a.word_start is not None and b.word_start is not None
    return PiiPiece(
        a.segment,
        min(a.char_start, b.char_start),
        max(a.char_end, b.char_end),
        min(a.word_start, b.word_start) if words else None,  # type: ignore[type-var]
        max(a.word_end, b.word_end) if words else None,  # type: ignore[type-var]
    )


def _redact_words(
    words: Sequence[Word], pieces: Sequence[tuple[PiiPiece, str]]
) -> tuple[Word, ...]:
    replace_at: dict[int, tuple[int, str]] = {}
    for piece, placeholder in pieces:
        if piece.word_start is not None and piece.word_end is not None:
            replace_at[piece.word_start] = (piece.word_end, placeholder)
    out: list[Word] = []
    k = 0
    while k < len(words):
        if k in replace_at:
            end, placeholder = replace_at[k]
            covered = words[k:end]
            prob = min(w.probability for w in covered)
            out.append(Word(placeholder, covered[0].start, covered[-1].end, words[k].speaker, prob))
            k = end
        else:
            out.append(words[k])
            k += 1
    return tuple(out)


def redact_text(text: str, language: str = "en", config: RedactionConfig | None = None) -> str:
    """Free text with its personal data replaced by placeholders ("[CARD]", "[EMAIL]", ...).

    Parameters
    ----------
    text : str
        Any text (a quote, a note).
    language : str
        ISO 639-1 code for the number words ("no" means "nb").
    config : RedactionConfig, optional
        Which types; defaults to :class:`RedactionConfig` ().

    Returns
    -------
    str
        The text, unchanged when nothing was found or redaction is disabled.
    """
    if not text.strip():
        return text
    transcript = Transcript(language, (Utterance("unknown", 0.0, 0.0, text),))
    spans = find_pii(transcript, config)
    return redact_transcript(transcript, spans).segments[0].text if spans else text


@dataclass(frozen=True)
class _Surface:
    """The original text of one piece, who said it and when (what to look for in quotes)."""

    placeholder: str
    text: str
    tokens: tuple[str, ...]
    speaker: str
    start: float
    end: float


def _surfaces(transcript: Transcript, spans: Sequence[PiiSpan]) -> list[_Surface]:
    out = []
    for span in spans:
        for piece in span.pieces:
            seg = transcript.segments[piece.segment]
            text = _basis(seg).text[piece.char_start : piece.char_end].strip()
            if text:
                tokens = tuple(t.text for t in tokenize(text))
                out.append(
                    _Surface(span.placeholder, text, tokens, seg.speaker, span.start, span.end)
                )
    return sorted(out, key=lambda p: -len(p.text))


def _replace_surfaces(text: str, surfaces: Sequence[_Surface], *, near: bool) -> str:
    """Replace each surface, and fragments of it (a quote that starts or ends mid-number).

    ``near``: the text was said by the surface's speaker at its time (an evidence quote), so
    a fragment may be a single token at the quote's edge; elsewhere a fragment needs two
    tokens with a digit, or three tokens.
    """
    for surface in surfaces:
        pattern = rf"(?<!\w){re.escape(surface.text)}(?!\w)"
        text = re.sub(pattern, surface.placeholder.replace("\\", r"\\"), text)
    runs: list[tuple[int, int, int, str]] = []
    quote = tokenize(text)
    for surface in surfaces:
        for i, k in _common_runs(quote, surface.tokens):
            if _fragment_ok(quote, i, k, near=near):
                runs.append((k, quote[i].start, quote[i + k - 1].end, surface.placeholder))
    taken: list[tuple[int, int, str]] = []
    for _, a, b, placeholder in sorted(runs, key=lambda r: (-r[0], r[1])):
        if all(b <= x or y <= a for x, y, _ in taken):
            taken.append((a, b, placeholder))
    for a, b, placeholder in sorted(taken, reverse=True):
        text = text[:a] + placeholder + text[b:]
    return text


def _common_runs(quote: Sequence[Token], tokens: Sequence[str]) -> Iterable[tuple[int, int]]:
    """(i, k) of the maximal runs ``quote[i:i+k] == tokens[j:j+k]`` (k >= 1, any j)."""
    for i in range(len(quote)):
        for j in range(len(tokens)):
            if i and j and quote[i - 1].text == tokens[j - 1]:
                continue  # not maximal: the run started earlier
            k = 0
            while i + k < len(quote) and j + k < len(tokens) and quote[i + k].text == tokens[j + k]:
                k += 1
            if k:
                yield i, k


def _fragment_ok(quote: Sequence[Token], i: int, k: int, *, near: bool) -> bool:
    words = [t.text for t in quote[i : i + k] if t.text.isalnum()]
    if not words:
        return False
    has_digit = any(c.isdigit() for w in words for c in w)
    if near:
        return len(words) >= 2 or has_digit or i == 0 or i + k == len(quote)
    return len(words) >= 3 or (len(words) >= 2 and has_digit)


def _scrub(
    text: str,
    surfaces: Sequence[_Surface],
    config: RedactionConfig,
    language: str,
    *,
    near: bool = False,
) -> str:
    return redact_text(_replace_surfaces(text, surfaces, near=near), language, config)


def _scrub_value(
    value: Any, surfaces: Sequence[_Surface], config: RedactionConfig, language: str
) -> Any:
    """Every string inside a JSON-like value, scrubbed."""
    if isinstance(value, str):
        return _scrub(value, surfaces, config, language)
    if isinstance(value, dict):
        return {k: _scrub_value(v, surfaces, config, language) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub_value(v, surfaces, config, language) for v in value)
    return value


def _evidence_surfaces(ev: Evidence, surfaces: Sequence[_Surface]) -> list[_Surface]:
    """Pieces said by the quote's speaker around the quote's time (1 s tolerance)."""
    return [
        s
        for s in surfaces
        if s.speaker == ev.speaker and s.start <= ev.end + 1.0 and ev.start - 1.0 <= s.end
    ]


def redact_scorecard(
    card: Scorecard, spans: Sequence[PiiSpan], config: RedactionConfig | None = None
) -> Scorecard:
    """The scorecard with every span replaced by its typed placeholder.

    Replaces the spans in the transcript's segment text and words, in evidence quotes and in
    every string in check ``details`` and ``warnings`` (by the spans' original text, then by
    :func:`redact_text` for anything quoted differently), and sets ``card.redaction``.

    Parameters
    ----------
    card : Scorecard
        Built from the unredacted transcript that ``spans`` were found in.
    spans : sequence of PiiSpan
        From :func:`find_pii` on ``card.transcript``.
    config : RedactionConfig, optional
        Used for the free-text pass; defaults to :class:`RedactionConfig` ().

    Returns
    -------
    Scorecard
        A new scorecard; ``card`` is not changed.
    """
    config = config or RedactionConfig()
    if not config.enabled:
        return dataclasses.replace(
            card, redaction=RedactionSummary(enabled=False, audio_mode=config.audio_mode)
        )
    surfaces = _surfaces(card.transcript, spans)
    lang = card.language
    checks = tuple(
        dataclasses.replace(
            check,
            evidence=tuple(
                dataclasses.replace(
                    ev,
                    text=_scrub(ev.text, _evidence_surfaces(ev, surfaces), config, lang, near=True),
                )
                for ev in check.evidence
            ),
            details=_scrub_value(check.details, surfaces, config, lang),
        )
        for check in card.checks
    )
    return dataclasses.replace(
        card,
        transcript=redact_transcript(card.transcript, spans),
        checks=checks,
        warnings=tuple(_scrub(w, surfaces, config, lang) for w in card.warnings),
        redaction=summarize(spans, config),
    )


def summarize(spans: Sequence[PiiSpan], config: RedactionConfig | None = None) -> RedactionSummary:
    """The :class:`RedactionSummary` of ``spans``: counts per type and times, no values."""
    config = config or RedactionConfig()
    counts: dict[str, int] = {}
    for span in spans:
        counts[span.type] = counts.get(span.type, 0) + 1
    times = tuple(SpanTime(s.type, s.speaker, round(s.start, 3), round(s.end, 3)) for s in spans)
    return RedactionSummary(config.enabled, counts, times, None, config.audio_mode)


def attach_audio_path(card: Scorecard, path: Path | str) -> Scorecard:
    """The scorecard with ``redaction.audio_path`` set to the redacted audio copy."""
    summary = card.redaction or RedactionSummary(enabled=True)
    return dataclasses.replace(card, redaction=dataclasses.replace(summary, audio_path=str(path)))


# --------------------------------------------------------------------------- audio

_TONE_DBFS = -20.0  # replacement tone level: clearly audible, not startling
_FORMATS = {".flac": "FLAC", ".wav": "WAV"}


def redact_audio(
    audio: CallAudio,
    spans: Sequence[PiiSpan],
    out_path: Path | str,
    *,
    mode: str = "silence",
    pad_s: float = 0.15,
    tone_hz: float = 1000.0,
) -> Path:
    """Write a copy of the call with every span silenced or replaced by a tone.

    Every channel is blanked over a span (the other channel carries the customer's voice as
    cross-talk).

    Parameters
    ----------
    audio : CallAudio
        The decoded call (16 kHz).
    spans : sequence of PiiSpan
        From :func:`find_pii`; their times are in seconds from the start of the call.
    out_path : Path or str
        Destination ending in ".flac" or ".wav" (16-bit PCM, 16 kHz, same channels);
        written atomically.
    mode : {"silence", "tone"}
        Zeros, or a sine of ``tone_hz`` at -20 dBFS.
    pad_s : float >= 0 [s]
        Extra time blanked before and after each span.
    tone_hz : float > 0 [Hz]
        Tone frequency.

    Returns
    -------
    Path
        ``out_path``.
    """
    import io

    import soundfile as sf

    from callqa.fsutil import atomic_write_bytes

    out_path = Path(out_path)
    fmt = _FORMATS.get(out_path.suffix.lower())
    if fmt is None:
        raise AudioError(
            f"cannot write redacted audio to {out_path.name}: use a .flac or .wav name"
        )
    if mode not in AUDIO_MODES:
        raise AudioError(f"unknown audio redaction mode {mode!r}: use 'silence' or 'tone'")
    data = np.stack([np.asarray(c, dtype=np.float32) for c in audio.channels], axis=1).copy()
    sr = audio.sample_rate
    for a, b in _sample_ranges(spans, len(data), sr, pad_s):
        if mode == "silence":
            data[a:b, :] = 0.0
        else:
            t = np.arange(a, b) / sr
            data[a:b, :] = (10 ** (_TONE_DBFS / 20) * np.sin(2 * np.pi * tone_hz * t))[:, None]
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(data, -1.0, 1.0), sr, format=fmt, subtype="PCM_16")
    return atomic_write_bytes(out_path, buffer.getvalue())


def _sample_ranges(
    spans: Sequence[PiiSpan], n: int, sr: int, pad_s: float
) -> list[tuple[int, int]]:
    """Padded sample ranges ``[a, b)`` of the spans, clipped to the audio."""
    out = []
    for span in spans:
        a = max(0, int(np.floor((span.start - pad_s) * sr)))
        b = min(n, int(np.ceil((span.end + pad_s) * sr)))
        if b > a:
            out.append((a, b))
    return out
