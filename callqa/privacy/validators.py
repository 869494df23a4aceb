"""Check digits and formats of payment cards, IBANs and national IDs (no I/O, no state).

python-stdnum checks Luhn, IBAN, henkilötunnus, codice fiscale and EMŠO; the Norwegian
fødselsnummer check is ours, because stdnum refuses H-numbers, synthetic test numbers and
individual-number/century combinations that are still personal data (docs/redaction.md).
"""

from __future__ import annotations

import re
from datetime import date

from stdnum import iban as _stdnum_iban
from stdnum import luhn as _stdnum_luhn
from stdnum.fi import hetu as _stdnum_hetu
from stdnum.it import codicefiscale as _stdnum_cf
from stdnum.si import emso as _stdnum_emso


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check used by payment cards
    (python-stdnum's ``luhn``)."""
    return digits.isdigit() and digits.isascii() and _stdnum_luhn.is_valid(digits)


# ISO 13616 IBAN lengths (SWIFT IBAN registry) of the countries customers here bank in: a
# spoken two-letter code of one of them starts an IBAN (callqa.privacy.streams).
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18,
    "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "ME": 22, "MK": 19, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "RS": 22, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26, "VA": 22, "XK": 20,
}  # fmt: skip


def iban_valid(text: str) -> bool:
    """True for a well-formed IBAN (python-stdnum's ``iban``): a country of the SWIFT IBAN
    registry, its length and BBAN structure, mod-97 remainder 1 (ISO 13616 / ISO 7064), and
    the national check digits where stdnum knows them (Norway's kontonummer mod 11, ...)."""
    iban = re.sub(r"[\s-]", "", text).upper()
    if len(iban) < 5 or not iban.isalnum() or not iban.isascii() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    if int("".join(str(int(c, 36)) for c in moved)) % 97 != 1:
        return False  # the cheap part first: 96 in 97 candidates end here
    return bool(_stdnum_iban.is_valid(iban))


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


_HETU_RE = re.compile(r"(\d{6})([-+A-FU-Y]?)(\d{3})([0-9A-Y])")


def hetu_valid(text: str, *, require_sign: bool = True) -> bool:
    """Finnish henkilötunnus (python-stdnum's ``fi.hetu``): DDMMYY, century sign, 3-digit
    individual number (temporary numbers 900-999 included), control character
    ``"0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYZZZ mod 31]`` (Digital and Population Data
    Services Agency). With ``require_sign=False`` the century sign may be missing (as when the
    "-" is not transcribed); the date is then read in the 1900s.
    """
    m = _HETU_RE.fullmatch(text.upper())
    if m is None or (require_sign and not m.group(2)):
        return False
    ddmmyy, sign, individual, control = m.groups()
    return bool(_stdnum_hetu.is_valid(ddmmyy + (sign or "-") + individual + control, True))


def codice_fiscale_valid(text: str) -> bool:
    """Italian codice fiscale of a person (python-stdnum's ``it.codicefiscale``): 16
    characters, structure (omocodia letters allowed), and the control letter (DM 23/12/1976)."""
    cf = text.upper()
    return len(cf) == 16 and cf.isalnum() and bool(_stdnum_cf.is_valid(cf))


def emso_valid(digits: str) -> bool:
    """Slovenian EMŠO (python-stdnum's ``si.emso``): DDMMYYY RR BBB K, a valid date, and the
    mod-11 control digit K = -(7,6,5,4,3,2,7,6,5,4,3,2 . first 12 digits) mod 11 mod 10.
    YYY is the year's last three digits (8xx-9xx: 1800s-1900s, 0xx: 2000s)."""
    if len(digits) != 13 or not digits.isdigit() or not digits.isascii():
        return False
    if not (1 <= int(digits[:2]) <= 31 and 1 <= int(digits[2:4]) <= 12):
        return False  # not a date: no need to ask stdnum
    return bool(_stdnum_emso.is_valid(digits))


def card_prefix_ok(digits: str) -> bool:
    """Issuer prefixes of the card networks (Visa 4, Mastercard 2/5, Amex 34/37, ...)."""
    return digits[0] in "23456"
