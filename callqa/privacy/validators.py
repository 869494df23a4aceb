"""Check digits and formats of payment cards, IBANs and national IDs (no I/O, no state)."""

from __future__ import annotations

import re
from datetime import date


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


def card_prefix_ok(digits: str) -> bool:
    """Issuer prefixes of the card networks (Visa 4, Mastercard 2/5, Amex 34/37, ...)."""
    return digits[0] in "23456"
