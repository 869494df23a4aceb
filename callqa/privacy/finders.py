"""The detectors: validated numbers, phones, card extras, e-mails, names and addresses in a token
stream."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from callqa.config import (
    ADDRESS,
    CARD,
    CVV,
    EMAIL,
    EXPIRY,
    IBAN,
    NAME,
    NATIONAL_ID,
    PHONE,
)
from callqa.privacy.streams import Atom, Tok, cue_re, month_of, word_lists, word_set
from callqa.privacy.validators import (
    card_prefix_ok,
    codice_fiscale_valid,
    emso_valid,
    fnr_valid,
    hetu_valid,
    iban_valid,
    luhn_valid,
)
from callqa.words.numbers import NumberUnit, fold


@dataclass(frozen=True)
class Found:
    """A detection over stream tokens ``[start, end)``."""

    type: str
    start: int
    end: int
    kind: str = ""


class Taken:
    """Stream tokens already claimed by a detection: a mask, so a lookup costs O(1) however
    many numbers a long transcript holds."""

    def __init__(self, n: int) -> None:
        self._mask = bytearray(n)

    def add(self, start: int, end: int) -> None:
        """Claim tokens ``[start, end)``."""
        self._mask[start:end] = b"\x01" * (end - start)

    def covers(self, i: int) -> bool:
        return bool(self._mask[i])


def _context(stream: Sequence[Tok], start: int, n: int = 8) -> str:
    """The ``n`` normalised tokens before ``start``, space-joined."""
    return " ".join(t.norm for t in stream[max(0, start - n) : start])


def _has_cue(kind: str, text: str) -> bool:
    return cue_re(kind).search(text) is not None or cue_re(kind).search(fold(text)) is not None


def _last_cue(kind: str, text: str) -> int:
    """Position of the last cue of ``kind`` in ``text`` (-1 when none)."""
    hits = [m.start() for m in cue_re(kind).finditer(text)]
    return hits[-1] if hits else -1


_VALIDATED_PRIORITY = {IBAN: 0, NATIONAL_ID: 1, CARD: 2}


def _validate(chars: str, raw: str) -> list[tuple[str, str]]:
    """Types with check digits that ``chars`` (alphanumerics) / ``raw`` (with signs) pass."""
    found: list[tuple[str, str]] = []
    if chars.isdigit():
        n = len(chars)
        if 13 <= n <= 19 and card_prefix_ok(chars) and luhn_valid(chars):
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


def _leftover_ok(stream: Sequence[Tok], block: Sequence[Atom], i: int, j: int) -> bool:
    """May number atoms right before atom ``i`` / after atom ``j`` be left out of the window?

    Digits said in one breath belong to one number, so a window inside a longer digit run is
    rejected (a valid card inside a tracking code). Allowed: a segment boundary; before, a
    single word for 1 ("en", "one", "un" used as an article); after, up to 4 digits behind a
    comma or full stop (the CVV or expiry right after a card).
    """
    before = _neighbours(block, i, -1, limit=2)
    if before:
        word = before[0][1]
        one_word = word.chars == "1" and stream[word.start].text.isalpha()
        if len(before) > 1 or not one_word:
            return False
    after = _neighbours(block, j, +1, limit=5)  # 5 atoms hold more than 4 digits
    if after:
        digits = sum(len(a.chars) for _, a in after)
        punct = any(
            block[k].kind == "sep" and stream[block[k].start].text in ",.;:"
            for k in range(j + 1, after[0][0])
        )
        if digits > 4 or not punct:
            return False
    return True


def _neighbours(block: Sequence[Atom], i: int, step: int, limit: int) -> list[tuple[int, Atom]]:
    """Up to ``limit`` number atoms next to atom ``i`` (separators skipped), up to a code atom
    or a segment start (the limit keeps the work per window bounded in a long digit run)."""
    out: list[tuple[int, Atom]] = []
    k = i + step
    while 0 <= k < len(block) and len(out) < limit:
        boundary = block[k + 1].new_segment if step < 0 else block[k].new_segment
        if boundary or block[k].kind == "code":
            break
        if block[k].kind == "num":
            out.append((k, block[k]))
        k += step
    return out


def _windows(block: Sequence[Atom]) -> Iterable[tuple[int, int, str, str]]:
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


def find_validated(
    stream: Sequence[Tok], block: Sequence[Atom], types: frozenset[str]
) -> list[Found]:
    """Cards, IBANs and national IDs: windows whose check digits agree, longest first."""
    candidates: list[tuple[int, int, int, str, str]] = []
    for i, j, chars, raw in _windows(block):
        for typ, kind in _validate(chars, raw):
            if typ not in types or not _plausible(stream, block, i, j, typ, kind, chars):
                continue
            candidates.append((len(chars), i, j, typ, kind))
    candidates.sort(key=lambda c: (-c[0], _VALIDATED_PRIORITY[c[3]], c[1]))
    taken = bytearray(len(block))  # atoms of the windows kept so far
    found: list[Found] = []
    for _, i, j, typ, kind in candidates:
        if taken.find(1, i, j + 1) >= 0:
            continue
        taken[i : j + 1] = b"\x01" * (j + 1 - i)
        found.append(Found(typ, block[i].start, block[j].end, kind))
    return found


def _plausible(
    stream: Sequence[Tok], block: Sequence[Atom], i: int, j: int, typ: str, kind: str, chars: str
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


def _digit_runs(block: Sequence[Atom], taken: Taken) -> list[tuple[int, int]]:
    """Maximal runs of number atoms (separators inside allowed) outside ``taken`` tokens."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    last: int | None = None
    for k, atom in enumerate(block):
        inside = taken.covers(atom.start)
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


def _date_or_time(stream: Sequence[Tok], start: int, end: int) -> bool:
    """Digits joined by ":" or "/", or by "." with no space ("20.11.2020", "10:32"), or an
    ISO date written tight ("2025-01-31", as in file names)."""
    if _iso_date(stream[start:end]):
        return True
    for k in range(start + 1, end - 1):
        mark, before, after = stream[k], stream[k - 1], stream[k + 1]
        if mark.text in ":/":
            return True
        tight = before.char_end == mark.char_start and mark.char_end == after.char_start
        if mark.text == "." and tight and before.segment == after.segment:
            return True
    return False


def _iso_date(tokens: Sequence[Tok]) -> bool:
    texts = [t.text for t in tokens]
    if (
        len(texts) != 5
        or texts[1] != "-"
        or texts[3] != "-"
        or not all(a.char_end == b.char_start for a, b in itertools.pairwise(tokens))
    ):
        return False
    year, month, day = texts[0], texts[2], texts[4]
    if not (year.isdigit() and month.isdigit() and day.isdigit()):
        return False
    shape = len(year) == 4 and year[:2] in ("19", "20") and len(month) == len(day) == 2
    return shape and 1 <= int(month) <= 12 and 1 <= int(day) <= 31


# digit counts of an asked-for number whose check digit may have been misheard by ASR
_CUED_LENGTHS = {CARD: (12, 19), NATIONAL_ID: (9, 13)}


def find_cued_numbers(stream: Sequence[Tok], block: Sequence[Atom], taken: Taken) -> list[Found]:
    """Digit runs said right after a card or ID cue ("my card number is ...") whose check
    digits fail: speech recognition garbles a digit often enough that a run of card-number
    length after "card" is treated as the card (kind "unvalidated"), never left in clear."""
    found: list[Found] = []
    for i, j in _digit_runs(block, taken):
        digits = "".join(a.chars for a in block[i : j + 1])
        context = _context(stream, block[i].start)
        cues = {k: _last_cue(k, context) for k in (CARD, NATIONAL_ID, "phone", "reference")}
        nearest = max(cues, key=lambda k: cues[k])
        if cues[nearest] < 0 or nearest not in _CUED_LENGTHS:
            continue
        low, high = _CUED_LENGTHS[nearest]
        if low <= len(digits) <= high:
            found.append(Found(nearest, block[i].start, block[j].end, "unvalidated"))
    return found


def find_phones(
    stream: Sequence[Tok], block: Sequence[Atom], taken: Taken, language: str
) -> list[Found]:
    """Phone numbers: whole digit runs shaped like a phone number or announced as one."""
    found: list[Found] = []
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
            found.append(Found(PHONE, start, block[j].end))
    return found


_EXTRA_REACH = 20  # tokens after a card number in which its CVV or expiry date is looked for


def find_card_extras(
    stream: Sequence[Tok],
    blocks: Sequence[Sequence[Atom]],
    cards: Sequence[Found],
    taken: Taken,
    types: frozenset[str],
) -> list[Found]:
    """CVV and expiry date: short numbers said within 20 words after a card number."""
    runs: dict[int, tuple[Sequence[Atom], int, int]] = {}  # first token -> (block, i, j)
    for block in blocks:
        for i, j in _digit_runs(block, taken):
            runs[block[i].start] = (block, i, j)
    found: list[Found] = []
    for card in cards:
        for start in range(card.end, card.end + _EXTRA_REACH + 1):
            if start not in runs:
                continue
            block, i, j = runs[start]
            digits = "".join(a.chars for a in block[i : j + 1])
            extra = _card_extra(stream, card.end, start, digits, types)
            if extra is not None:
                typ, first = extra
                found.append(Found(typ, first, block[j].end))
    return found


def _card_extra(
    stream: Sequence[Tok], card_end: int, start: int, digits: str, types: frozenset[str]
) -> tuple[str, int] | None:
    between = " ".join(t.norm for t in stream[max(card_end, start - 4) : start])
    month = month_of().get(stream[start - 1].norm) if start > card_end else None
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


def find_emails(stream: Sequence[Tok], units: Sequence[NumberUnit]) -> list[Found]:
    """Written or spoken e-mail addresses: local part, "@"/"at", domain ending in a known TLD.

    ``units``: the stream's numbers (:func:`callqa.privacy.streams.number_units`)."""
    at, found = word_set("at"), []
    numeric = frozenset(k for u in units for k in range(u.start, u.end))
    for a, tok in enumerate(stream):
        if tok.norm not in at:
            continue
        end = _domain_end(stream, a + 1)
        start = _local_start(stream, a - 1, numeric)
        if end is not None and start is not None:
            found.append(Found(EMAIL, start, end))
    return found


def _is_part(stream: Sequence[Tok], k: int) -> bool:
    return 0 <= k < len(stream) and stream[k].text.isalnum()


def _domain_end(stream: Sequence[Tok], k: int) -> int | None:
    """End (exclusive) of "example dot com" starting at ``k``, at its last TLD part."""
    if not _is_part(stream, k):
        return None
    dots, dashes, tld = word_set("dot"), word_set("dash"), word_set("tld")
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


def _local_start(stream: Sequence[Tok], k: int, numeric: frozenset[int]) -> int | None:
    """Start of the local part ("john dot smith", "smith eight zero") that ends at token ``k``."""
    if not _is_part(stream, k):
        return None
    joins = word_set("dot") | word_set("underscore") | word_set("dash") | word_set("plus")
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


def find_names(stream: Sequence[Tok]) -> list[Found]:
    """Person names: one or two capitalised words after "my name is", "jeg heter", ..."""
    found: list[Found] = []
    for k in range(1, len(stream)):
        if not _ends_with_cue(stream, k, "name"):
            continue
        end = k
        while end < min(k + 2, len(stream)) and _looks_like_name(stream[end]):
            end += 1
        if end > k:
            found.append(Found(NAME, k, end))
    return found


def _ends_with_cue(stream: Sequence[Tok], k: int, kind: str) -> bool:
    """True when the tokens just before ``k`` end with a cue phrase of ``kind``."""
    text = " ".join(t.norm for t in stream[max(0, k - 4) : k])
    return any(text == c or text.endswith(" " + c) for c in word_lists()[kind])


def _looks_like_name(tok: Tok) -> bool:
    text = tok.text
    return text.isalpha() and text[0].isupper() and tok.norm not in _NAME_STOP


def _is_street(tok: Tok) -> bool:
    if tok.norm in word_set("street"):
        return True
    return tok.text.isalpha() and any(
        tok.norm.endswith(s) and len(tok.norm) >= len(s) + 3 for s in word_lists()["street_suffix"]
    )


def find_addresses(stream: Sequence[Tok], units: Sequence[NumberUnit]) -> list[Found]:
    """Street addresses: a street word with a house number and up to three name words."""
    numbers = {u.start: u for u in units}
    number_ending = {u.end: u.start for u in numbers.values()}
    found: list[Found] = []
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
        elif start - 1 >= 0 and start in number_ending:
            start = number_ending[start]
        else:
            continue
        found.append(Found(ADDRESS, start, end))
    return found
