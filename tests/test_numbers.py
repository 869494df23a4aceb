"""Spoken numbers -> digits, per language (known answers written out by hand)."""

from __future__ import annotations

import pytest

from callqa.languages import closest_supported
from callqa.words.numbers import find_numbers, fold, lexicon, words_to_digits


@pytest.mark.parametrize(
    ("language", "text", "digits"),
    [
        # English: digits one by one, "oh", "double"/"triple", tens + unit, hundreds
        ("en", "four five three two", "4532"),
        ("en", "forty five thirty two", "4532"),
        ("en", "twenty-one", "21"),
        ("en", "twenty one", "21"),
        ("en", "double five oh one", "5501"),
        ("en", "triple seven", "777"),
        ("en", "nineteen eighty five", "1985"),
        ("en", "five hundred and twelve", "512"),
        ("en", "oh seven nine", "079"),
        ("en", "zero zero four seven", "0047"),
        ("en", "45 32 and twelve", "453212"),
        # Norwegian Bokmål: compounds, "fem og tjue", sju/syv, ASCII-folded "atte"
        ("nb", "fire fem tre to", "4532"),
        ("nb", "tjuefem", "25"),
        ("nb", "fem og tjue", "25"),
        ("nb", "sju syv åtte atte ni null", "778890"),
        ("nb", "førti en", "41"),
        ("nb", "tolv tretten nitti", "121390"),
        ("nb", "fem hundre", "500"),
        # Finnish: teens and tens are compounds, colloquial short forms
        ("fi", "neljä viisi kolme kaksi", "4532"),
        ("fi", "kaksikymmentäyksi", "21"),
        ("fi", "yksitoista", "11"),
        ("fi", "kaks viis nolla", "250"),
        ("fi", "neljäkymmentä viisi", "45"),
        ("fi", "viisisataa", "500"),
        # Italian: elision (ventotto, trentuno), accent (ventitré), hundreds (duecento)
        ("it", "quattro cinque tre due", "4532"),
        ("it", "ventotto", "28"),
        ("it", "trentuno", "31"),
        ("it", "ventitré", "23"),
        ("it", "ventitre", "23"),
        ("it", "diciannove", "19"),
        ("it", "duecento", "200"),
        ("it", "doppio zero", "00"),
        # Slovenian: "unit in tens" as one word or three, diacritics optional
        ("sl", "štiri pet tri dva", "4532"),
        ("sl", "enaindvajset", "21"),
        ("sl", "pet in dvajset", "25"),
        ("sl", "stiri sest nic", "460"),
        ("sl", "petinštirideset", "45"),
        ("sl", "dvesto", "200"),
    ],
)
def test_words_to_digits(language: str, text: str, digits: str) -> None:
    assert words_to_digits(text, language) == digits


def test_oh_is_a_zero_only_next_to_numbers() -> None:
    assert words_to_digits("oh I see, thanks", "en") == ""
    assert words_to_digits("one oh one", "en") == "101"


def test_units_cover_their_tokens() -> None:
    tokens = ["my", "pin", "is", "forty", "five", "and", "double", "two"]
    units = find_numbers(tokens, "en")
    assert [(u.start, u.end, u.digits) for u in units] == [(3, 5, "45"), (6, 8, "22")]


def test_words_of_other_languages_are_not_numbers() -> None:
    assert words_to_digits("quattro cinque", "en") == ""
    assert words_to_digits("four five", "it") == ""


def test_language_codes() -> None:
    assert closest_supported("no") == "nb"
    assert closest_supported("NB") == "nb"
    assert closest_supported("de") == "en"  # unknown languages fall back to English words
    assert lexicon("no") is lexicon("nb")


def test_fold() -> None:
    assert fold("štiri") == "stiri"
    assert fold("førti") == "forti"
    assert fold("åtte") == "atte"
