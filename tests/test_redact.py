"""Personal-data detection and redaction, from generated identifiers with known check digits.

The generators below compute check digits from the published algorithms independently of
callqa.privacy.redact, so a wrong validator fails here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callqa.config import RedactionConfig
from callqa.errors import AudioError, ConfigError
from callqa.measures.metrics import CallMetrics
from callqa.privacy import (
    PiiSpan,
    attach_audio_path,
    codice_fiscale_valid,
    emso_valid,
    find_pii,
    fnr_valid,
    hetu_valid,
    iban_valid,
    luhn_valid,
    redact_audio,
    redact_scorecard,
    redact_text,
)
from callqa.scoring.scorecard import Scorecard
from callqa.types import (
    CallAudio,
    CheckResult,
    Evidence,
    ModelInfo,
    RedactionSummary,
    SourceInfo,
    Transcript,
    Utterance,
    Word,
)

RNG = random.Random(7)

# ----------------------------------------------------------------- generators (own algorithms)


def make_card(prefix: str = "4", length: int = 16, rng: random.Random = RNG) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(body + check)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return body + check
    raise AssertionError


def make_iban(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def make_fnr(ddmmyy: str, rng: random.Random = RNG) -> str:
    while True:
        base = ddmmyy + f"{rng.randrange(1000):03d}"
        k1 = (
            11
            - sum(w * int(c) for w, c in zip([3, 7, 6, 1, 8, 9, 4, 5, 2], base, strict=True)) % 11
        ) % 11
        if k1 == 10:
            continue
        base += str(k1)
        k2 = (
            11
            - sum(w * int(c) for w, c in zip([5, 4, 3, 2, 7, 6, 5, 4, 3, 2], base, strict=True))
            % 11
        ) % 11
        if k2 != 10:
            return base + str(k2)


def make_hetu(ddmmyy: str, sign: str, individual: str) -> str:
    return (
        ddmmyy
        + sign
        + individual
        + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(ddmmyy + individual) % 31]
    )


ODD_DIGITS = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21]
ODD_LETTERS = [
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
]
ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", [*ODD_DIGITS, *ODD_LETTERS], strict=True))


def make_cf(first15: str) -> str:
    even = {
        c: (int(c) if c.isdigit() else ord(c) - 65) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    }
    total = sum(ODD[c] if i % 2 == 0 else even[c] for i, c in enumerate(first15))
    return first15 + chr(65 + total % 26)


def make_emso(ddmmyyy: str, region: str = "50", rng: random.Random = RNG) -> str:
    while True:
        base = ddmmyyy + region + f"{rng.randrange(1000):03d}"
        k = (
            11
            - sum(
                w * int(c) for w, c in zip([7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], base, strict=True)
            )
            % 11
        )
        if k != 10:
            return base + str(k % 11)


def wrong_last(value: str) -> str:
    last = value[-1]
    if last.isdigit():
        return value[:-1] + str((int(last) + 1) % 10)
    return value[:-1] + ("A" if last != "A" else "B")


EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NB_DIGITS = ["null", "en", "to", "tre", "fire", "fem", "seks", "sju", "åtte", "ni"]
FI_DIGITS = [
    "nolla",
    "yksi",
    "kaksi",
    "kolme",
    "neljä",
    "viisi",
    "kuusi",
    "seitsemän",
    "kahdeksan",
    "yhdeksän",
]
IT_DIGITS = ["zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"]
SL_DIGITS = ["nič", "ena", "dva", "tri", "štiri", "pet", "šest", "sedem", "osem", "devet"]
SPOKEN = {"en": EN_DIGITS, "nb": NB_DIGITS, "fi": FI_DIGITS, "it": IT_DIGITS, "sl": SL_DIGITS}


def spoken(digits: str, language: str) -> str:
    return " ".join(SPOKEN[language][int(d)] if d.isdigit() else d for d in digits)


def grouped(digits: str, size: int = 4) -> str:
    return " ".join(digits[i : i + size] for i in range(0, len(digits), size))


# ----------------------------------------------------------------- validators


def test_luhn_generated_and_mutated() -> None:
    for _ in range(200):
        card = make_card(RNG.choice("23456"), RNG.choice([13, 15, 16, 19]))
        assert luhn_valid(card)
        assert not luhn_valid(wrong_last(card))
    assert luhn_valid("4532015112830366")  # a published Visa test number
    assert not luhn_valid("4532015112830367")


@pytest.mark.parametrize(
    "iban",
    [
        "GB82 WEST 1234 5698 7654 32",  # ISO 13616 examples
        "NO93 8601 1117 947",
        "FI21 1234 5600 0007 85",
        "IT60 X054 2811 1010 0000 0123 456",
        "SI56 2633 0001 2039 086",
        "DE89 3704 0044 0532 0130 00",
    ],
)
def test_iban_examples(iban: str) -> None:
    assert iban_valid(iban)
    assert not iban_valid(iban[:-1] + str((int(iban[-1]) + 1) % 10))


def make_kontonr(digits: str) -> str:
    """11 digits whose last is the Norwegian account number's mod-11 check digit (a body
    whose check digit would be 10 gets its 10th digit bumped)."""
    body = digits[:10]
    while True:
        total = sum(w * int(c) for w, c in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), body, strict=True))
        if (11 - total % 11) % 11 < 10:
            return body + str((11 - total % 11) % 11)
        body = body[:9] + str((int(body[9]) + 1) % 10)


def test_iban_generated() -> None:
    for _ in range(100):
        iban = make_iban("NO", make_kontonr("".join(str(RNG.randrange(10)) for _ in range(11))))
        assert iban_valid(iban)
        assert not iban_valid(iban[:4] + iban[5] + iban[4] + iban[6:]) or iban[4] == iban[5]
    assert not iban_valid("NO93 8601 1117 94")  # wrong length for Norway


def test_iban_with_a_wrong_national_check_digit() -> None:
    """A Norwegian IBAN whose mod-97 digits agree but whose account number's own mod-11 check
    digit fails is no IBAN (python-stdnum checks the BBAN too)."""
    good = make_kontonr("8601111794")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert iban_valid(make_iban("NO", good))
    assert not iban_valid(make_iban("NO", bad))


def test_fnr() -> None:
    for ddmmyy in ["010190", "290204", "311299", "450190"]:  # 45 = D-number (day + 40)
        fnr = make_fnr(ddmmyy)
        assert fnr_valid(fnr)
        assert not fnr_valid(wrong_last(fnr))
    assert not fnr_valid(make_fnr("320190"))  # day 32 does not exist


def test_hetu() -> None:
    assert hetu_valid("131052-308T")  # the example of the Finnish population register
    assert not hetu_valid("131052-308U")
    assert hetu_valid(make_hetu("010203", "A", "123"))
    assert hetu_valid(make_hetu("311299", "-", "450"))
    assert not hetu_valid(make_hetu("310299", "-", "450"))  # 31 February
    assert not hetu_valid("131052308T")
    assert hetu_valid("131052308T", require_sign=False)


def test_codice_fiscale() -> None:
    assert codice_fiscale_valid("RSSMRA85T10A562S")  # the textbook example
    assert not codice_fiscale_valid("RSSMRA85T10A562T")
    for first15 in ["BNCGPP70A01H501", "VRDLCU92M55F205", "RSSMRA85T10A56N"]:  # last: omocodia
        assert codice_fiscale_valid(make_cf(first15))
        assert not codice_fiscale_valid(wrong_last(make_cf(first15)))


def test_emso() -> None:
    for ddmmyyy in ["0101006", "3112985", "2902000"]:
        emso = make_emso(ddmmyyy)
        assert emso_valid(emso)
        assert not emso_valid(wrong_last(emso))
    assert not emso_valid(make_emso("3002985"))  # 30 February
    # the first 12 digits weigh 1 mod 11: the control digit is 0 (python-stdnum, -s mod 11 mod 10)
    assert emso_valid("0101990500020")


# ----------------------------------------------------------------- detection in text

CARD = "4532015112830366"


def _types(text: str, language: str = "en", config: RedactionConfig | None = None) -> list[str]:
    t = Transcript(language, (Utterance("customer", 0.0, 5.0, text),))
    return [s.type for s in find_pii(t, config)]


@pytest.mark.parametrize(
    "text",
    [
        f"my card number is {CARD}",
        f"my card number is {grouped(CARD)}",
        f"it's {CARD[:4]}-{CARD[4:8]}-{CARD[8:12]}-{CARD[12:]}",
        f"the card is {spoken(CARD, 'en')}",
        "the card is forty five thirty two oh one fifty one twelve eighty three oh three sixty six",
        "four five three two, zero one five one. One two eight three, zero three six six.",
    ],
)
def test_card_forms(text: str) -> None:
    assert _types(text) == ["card"]
    assert "[CARD]" in redact_text(text)


@pytest.mark.parametrize("language", ["en", "nb", "fi", "it", "sl"])
def test_spoken_card_each_language(language: str) -> None:
    for _ in range(5):
        card = make_card(RNG.choice("3456"), 16)
        assert _types(f"... {spoken(card, language)}", language) == ["card"], card
        assert _types(f"... {spoken(wrong_last(card), language)}", language) == []


def test_invalid_and_order_numbers_are_kept() -> None:
    assert _types("my order number is 123456789012") == []
    assert _types(f"my order number is {wrong_last(CARD)}") == []
    text = "the reference is one two three four five six seven eight nine"
    assert redact_text(text) == text


def test_number_with_check_digits_in_a_longer_number_is_kept() -> None:
    # a valid card inside a 24-digit tracking code: too many stray digits around it
    assert _types(f"tracking {'12345678'}{CARD}") == []


def test_cvv_and_expiry_after_a_card() -> None:
    text = f"card {CARD} expires oh nine twenty six and the security code is one two three"
    assert redact_text(text) == "card [CARD] expires [EXPIRY] and the security code is [CVV]"
    # without a card nearby, a three-digit number is just a number
    assert redact_text("I have called three times, 123 minutes in total") == (
        "I have called three times, 123 minutes in total"
    )


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("nb", "kontonummeret er NO93 8601 1117 947"),
        ("en", "my IBAN is GB82 WEST 1234 5698 7654 32"),
        ("it", "l'IBAN è IT60 X054 2811 1010 0000 0123 456"),
        ("fi", "tilinumero FI21 1234 5600 0007 85"),
        ("sl", "IBAN SI56 2633 0001 2039 086"),
        ("nb", "det er N O ni tre åtte seks null en en en en sju ni fire sju"),
    ],
)
def test_iban_in_text(language: str, text: str) -> None:
    assert _types(text, language) == ["iban"]


def test_iban_with_wrong_check_digits_is_kept() -> None:
    assert "iban" not in _types("kontonummeret er NO94 8601 1117 947", "nb")


@pytest.mark.parametrize("language", ["nb", "en"])
def test_fnr_in_text(language: str) -> None:
    fnr = make_fnr("150385")
    assert _types(f"fødselsnummeret mitt er {fnr[:6]} {fnr[6:]}", language) == ["national_id"]
    assert _types(f"det er {spoken(fnr, 'nb')}", "nb") == ["national_id"]
    # a wrong check digit right after the cue is what ASR does to a read-out ID: still redacted
    cued = find_pii(Transcript(language, (Utterance("customer", 0.0, 5.0,
                    f"fødselsnummeret mitt er {wrong_last(fnr)}"),)))  # fmt: skip
    assert [(s.type, s.kind) for s in cued] == [("national_id", "unvalidated")]
    assert "national_id" not in _types(f"det er {wrong_last(fnr)}", language)  # no cue: kept


def test_hetu_in_text() -> None:
    assert _types("henkilötunnukseni on 131052-308T", "fi") == ["national_id"]
    hetu = make_hetu("240587", "-", "123")
    said = f"{spoken(hetu[:6], 'fi')} viiva {spoken(hetu[7:10], 'fi')} {hetu[-1]}"
    assert _types(f"se on {said}", "fi") == ["national_id"]
    assert _types("henkilötunnukseni on 131052-308U", "fi") == []
    digit_control = make_hetu("111253", "-", "828")
    assert digit_control[-1].isdigit()
    assert _types(f"se on {digit_control}", "fi") == ["national_id"]  # the "-" is enough


def test_codice_fiscale_in_text() -> None:
    assert _types("il mio codice fiscale è RSSMRA85T10A562S", "it") == ["national_id"]
    said = "R S S M R A otto cinque T uno zero A cinque sei due S"
    assert _types(f"allora {said}", "it") == ["national_id"]
    assert _types("il mio codice fiscale è RSSMRA85T10A562T", "it") == []


def test_emso_in_text() -> None:
    emso = make_emso("0503987")
    assert _types(f"moj EMŠO je {emso}", "sl") == ["national_id"]
    assert _types(f"moj EMŠO je {spoken(emso, 'sl')}", "sl") == ["national_id"]
    assert _types(f"moj EMŠO je {wrong_last(emso)}", "sl") == ["national_id"]  # cue: redacted
    assert _types(f"številka je {wrong_last(emso)}", "sl") == []  # no card/ID cue: kept


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "call me on +47 912 34 567"),
        ("en", "my mobile is oh seven seven double oh nine eight three four five six"),
        ("en", "you can reach me on 555 0123 4567"),
        ("nb", "nummeret mitt er 912 34 567"),
        ("nb", "mobilen min er ni en to tre fire fem seks sju"),
        ("fi", "puhelinnumeroni on nolla neljä nolla yksi kaksi kolme neljä viisi kuusi seitsemän"),
        ("it", "il mio cellulare è 347 123 4567"),
        ("sl", "moja telefonska je nič štiri ena dva tri štiri pet šest sedem"),
    ],
)
def test_phone(language: str, text: str) -> None:
    assert _types(text, language) == ["phone"]


@pytest.mark.parametrize(
    "text",
    [
        "my order number is 91234567",
        "the case reference is 0412345678",
        "it costs 4500 kroner and I waited 45 minutes",
        "I was born in 1985 and moved here in 2003",
    ],
)
def test_not_a_phone(text: str) -> None:
    language = "nb" if "kroner" in text else "en"
    assert _types(text, language) == []


@pytest.mark.parametrize(
    "text",
    [
        "my email is john.smith@example.com thanks",
        "it's john dot smith at example dot com",
        "john underscore smith eighty at gmail dot co dot uk",
        "min e-post er ola punktum nordmann alfakrøll firma punktum no",
        "la mia mail è mario punto rossi chiocciola libero punto it",
        "sähköposti on matti piste virtanen ät yritys piste fi",
        "moj e-naslov je janez pika novak afna podjetje pika si",
    ],
)
def test_email(text: str) -> None:
    assert "email" in _types(text)
    redacted = redact_text(text)
    for leaked in ("smith", "nordmann", "rossi", "virtanen", "novak", "example", "firma"):
        assert leaked not in redacted


def test_at_without_a_domain_is_not_an_email() -> None:
    assert _types("I'm at home, call me at five") == []


def test_names_and_addresses_are_off_by_default() -> None:
    text = "my name is Anna Berg and I live at Storgata 12"
    assert _types(text) == []
    config = RedactionConfig(names=True, addresses=True)
    assert redact_text(text, "en", config) == "my name is [NAME] and I live at [ADDRESS]"
    assert redact_text("jeg heter Kari Nordmann", "nb", config) == "jeg heter [NAME]"
    assert redact_text("abito in via Roma 12", "it", config) == "abito in [ADDRESS]"
    assert redact_text("221 Baker Street", "en", config) == "[ADDRESS]"


def test_types_switch() -> None:
    text = f"card {CARD}, email a@b.com"
    assert _types(text, config=RedactionConfig(types=("email",))) == ["email"]
    assert _types(text, config=RedactionConfig(enabled=False)) == []


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown type"):
        RedactionConfig(types=("cards",))
    with pytest.raises(ConfigError, match="silence"):
        RedactionConfig(audio_mode="beep")
    assert RedactionConfig(types=["card"]).types == ("card",)  # TOML gives lists


# ----------------------------------------------------------------- transcripts


def word_lists(
    text: str, start: float, step: float = 0.4, speaker: str = "customer"
) -> tuple[Word, ...]:
    return tuple(
        Word(w, start + i * step, start + i * step + 0.3, speaker)
        for i, w in enumerate(text.split())
    )


def _segment(speaker: str, start: float, text: str, with_words: bool = True) -> Utterance:
    words = word_lists(text, start, speaker=speaker) if with_words else ()
    end = words[-1].end if words else start + 0.4 * len(text.split())
    return Utterance(speaker, start, end, text, words)


def split_card_transcript(with_words: bool = True) -> Transcript:
    """A card read over two customer segments, with an agent back-channel between them."""
    return Transcript(
        "en",
        (
            _segment("agent", 0.0, "could I have the card number please", with_words),
            _segment("customer", 3.0, "yes it's four five three two zero one five one", with_words),
            _segment("agent", 6.8, "mm-hm", with_words),
            _segment("customer", 7.5, "one two eight three zero three six six", with_words),
            _segment("agent", 11.0, "thank you", with_words),
        ),
    )


def test_card_across_two_segments() -> None:
    transcript = split_card_transcript()
    spans = find_pii(transcript)
    assert [s.type for s in spans] == ["card"]
    span = spans[0]
    assert span.speaker == "customer"
    assert [p.segment for p in span.pieces] == [1, 3]
    assert span.start == pytest.approx(3.0 + 2 * 0.4)  # "four" is the third word
    assert span.end == pytest.approx(7.5 + 7 * 0.4 + 0.3)
    assert (span.pieces[0].word_start, span.pieces[0].word_end) == (2, 10)
    assert (span.pieces[1].word_start, span.pieces[1].word_end) == (0, 8)


def test_card_across_segments_without_word_times() -> None:
    transcript = split_card_transcript(with_words=False)
    spans = find_pii(transcript)
    assert [s.type for s in spans] == ["card"]
    assert spans[0].start == transcript.segments[1].start  # segment times instead
    assert spans[0].end == transcript.segments[3].end
    assert spans[0].pieces[0].word_start is None


def test_long_pause_ends_a_number() -> None:
    segments = list(split_card_transcript().segments)
    segments[3] = _segment("customer", 40.0, "one two eight three zero three six six")
    assert find_pii(Transcript("en", tuple(segments))) == ()


def test_words_that_differ_from_the_text() -> None:
    words = word_lists("my card is 4532 0151 1283 0366", 0.0)
    seg = Utterance("customer", 0.0, 3.0, "My card is 4532-0151-1283-0366.", words)
    spans = find_pii(Transcript("en", (seg,)))
    assert [s.type for s in spans] == ["card"]


def _card(transcript: Transcript, checks: tuple[CheckResult, ...] = ()) -> Scorecard:
    return Scorecard(
        call_id="c1",
        source=SourceInfo("call.wav", "0" * 64),
        duration_s=12.0,
        language=transcript.language,
        channels=2,
        agent_channel="left",
        model=ModelInfo("fake", "fake"),
        transcript=transcript,
        metrics=CallMetrics(12.0),
        checks=checks,
        sections=(),
        score=None,
    )


def test_redact_scorecard_everywhere() -> None:
    transcript = split_card_transcript()
    seg1, seg3 = transcript.segments[1], transcript.segments[3]
    checks = (
        CheckResult(
            "hear.listen",
            "pass",
            1.0,
            evidence=(
                Evidence("customer", seg1.start, seg1.end, seg1.text),
                Evidence("customer", seg3.start, seg3.end, seg3.text),
                Evidence("agent", 0.0, 2.0, "could I have the card number please"),
            ),
            details={
                "quotes": [seg1.text, {"said": seg3.text}],
                "n": 3,
                "note": f"paid with {CARD}",
            },
        ),
    )
    card = _card(transcript, checks)
    spans = find_pii(transcript)
    out = redact_scorecard(card, spans)
    segs = out.transcript.segments
    assert segs[1].text == "yes it's [CARD]"
    assert segs[3].text == "[CARD]"
    assert [w.text for w in segs[1].words] == ["yes", "it's", "[CARD]"]
    assert segs[1].words[-1].start == pytest.approx(seg1.words[2].start)
    assert segs[1].words[-1].end == pytest.approx(seg1.words[-1].end)
    ev = out.checks[0].evidence
    assert ev[0].text == "yes it's [CARD]"
    assert ev[1].text == "[CARD]"
    assert ev[2].text == "could I have the card number please"
    details = out.checks[0].details
    assert details["quotes"] == ["yes it's [CARD]", {"said": "[CARD]"}]
    assert details["n"] == 3
    assert details["note"] == "paid with [CARD]"
    assert isinstance(out.redaction, RedactionSummary)
    assert out.redaction.counts == {"card": 1}
    assert out.redaction.spans[0].type == "card"
    dumped = json.dumps(dataclasses.asdict(out), default=str)
    for digit_word in ("four five three two", "zero three six six", CARD):
        assert digit_word not in dumped
    assert card.transcript.segments[1].text.endswith("one")  # the input is unchanged


def test_quote_that_starts_or_ends_inside_a_number() -> None:
    """A check quoting a time window can cut a number in half: the halves go too."""
    seg = _segment("customer", 0.0, "yes my card is 4532 0151 1283 0366 the other one is fine")
    transcript = Transcript("en", (seg,))
    checks = (
        CheckResult(
            "tone.calm",
            "pass",
            1.0,
            evidence=(
                Evidence("customer", 1.6, 4.0, "1283 0366 the other one"),
                Evidence("customer", 0.0, 2.0, "yes my card is 4532"),
                Evidence("customer", 5.0, 6.0, "yes my card is fine"),  # other time: untouched
            ),
            details={"window": "0151 1283 0366 the other"},
        ),
    )
    out = redact_scorecard(_card(transcript, checks), find_pii(transcript))
    assert [e.text for e in out.checks[0].evidence] == [
        "[CARD] the other one",
        "yes my card is [CARD]",
        "yes my card is fine",
    ]
    assert out.checks[0].details["window"] == "[CARD] the other"


def test_summary_json_and_audio_path() -> None:
    card = redact_scorecard(_card(split_card_transcript()), find_pii(split_card_transcript()))
    card = attach_audio_path(card, Path("out/c1.redacted.flac"))
    assert card.redaction is not None
    d = card.redaction.to_dict()
    assert d["counts"] == {"card": 1}
    assert d["audio_path"] == "out/c1.redacted.flac"
    assert json.loads(json.dumps(d)) == d


def test_redaction_disabled_summary() -> None:
    transcript = split_card_transcript()
    out = redact_scorecard(_card(transcript), (), RedactionConfig(enabled=False))
    assert out.redaction == RedactionSummary(enabled=False)
    assert out.transcript == transcript


# ----------------------------------------------------------------- audio


def _span(start: float, end: float) -> PiiSpan:
    return PiiSpan("card", "customer", start, end, ())


@pytest.fixture
def stereo_noise() -> CallAudio:
    rng = np.random.default_rng(0)
    chans = tuple((0.3 * rng.standard_normal(16_000 * 4)).astype(np.float32) for _ in range(2))
    return CallAudio(channels=chans, source=None, sha256="x", original_sample_rate=16_000)


def test_redact_audio_silence(tmp_path: Path, stereo_noise: CallAudio) -> None:
    out = redact_audio(stereo_noise, [_span(1.0, 2.0)], tmp_path / "r.flac")
    data, sr = sf.read(out, dtype="float32")
    assert sr == 16_000 and data.shape == (16_000 * 4, 2)
    a, b = int((1.0 - 0.15) * sr), int((2.0 + 0.15) * sr)
    assert np.all(data[a:b] == 0.0)
    assert np.sqrt(np.mean(data[: a - 10] ** 2)) > 0.2  # untouched before
    assert np.sqrt(np.mean(data[b + 10 :] ** 2)) > 0.2  # and after
    assert np.abs(data[a - 200 : a - 1]).max() > 0


def test_redact_audio_tone(tmp_path: Path, stereo_noise: CallAudio) -> None:
    out = redact_audio(stereo_noise, [_span(1.0, 2.0)], tmp_path / "r.wav", mode="tone", pad_s=0.0)
    data, sr = sf.read(out, dtype="float32")
    chunk = data[16_000:32_000, 0]
    spectrum = np.abs(np.fft.rfft(chunk))
    assert np.argmax(spectrum) * sr / len(chunk) == pytest.approx(1000.0, abs=2.0)
    assert np.sqrt(np.mean(chunk**2)) == pytest.approx(0.1 / np.sqrt(2), rel=0.05)  # -20 dBFS sine


def test_redact_audio_bad_name(tmp_path: Path, stereo_noise: CallAudio) -> None:
    with pytest.raises(AudioError, match=r"\.flac or \.wav"):
        redact_audio(stereo_noise, [], tmp_path / "r.mp3")


def test_misheard_card_is_silenced_in_the_audio(tmp_path: Path, stereo_noise: CallAudio) -> None:
    """A card number whose check digit fails, said after "my card number is", is redacted
    (kind "unvalidated") and its words' time span is silenced like any other span."""
    said = ["my", "card", "number", "is", "4532", "0151", "1283", "0367", "thanks"]  # not Luhn
    words = tuple(Word(w, 0.3 * k, 0.3 * k + 0.25, "customer") for k, w in enumerate(said))
    transcript = Transcript("en", (Utterance("customer", 0.0, 3.0, " ".join(said), words),))
    spans = find_pii(transcript)
    assert [(s.type, s.kind) for s in spans] == [("card", "unvalidated")]
    assert spans[0].start == pytest.approx(1.2) and spans[0].end == pytest.approx(2.35)
    out = redact_audio(stereo_noise, spans, tmp_path / "r.flac")
    data, sr = sf.read(out, dtype="float32")
    a, b = int((1.2 - 0.15) * sr), int((2.35 + 0.15) * sr)
    assert np.all(data[a:b] == 0.0)
    assert np.sqrt(np.mean(data[: a - 10] ** 2)) > 0.2
    assert np.sqrt(np.mean(data[b + 10 :] ** 2)) > 0.2


# ----------------------------------------------------------------- size and time

LONG_SEGMENT = """
import random, sys, time
from callqa.privacy import find_pii, redact_scorecard
from callqa.types import CheckResult, Evidence, Transcript, Utterance
sys.path.insert(0, sys.argv[2])
from test_redact import _card

rng = random.Random(3)
filler = "so I called about the bill and they said it would be fixed but it was not".split()
parts, size = [], 0
while size < int(sys.argv[1]):
    word = "my card number is 4532 0151 1283 0366" if rng.random() < 0.01 else rng.choice(filler)
    parts.append(word)
    size += len(word) + 1
text = " ".join(parts)  # one segment, no punctuation: one sentence as long as the file
transcript = Transcript("en", (Utterance("customer", 0.0, 3600.0, text),))
quote = (Evidence("customer", 0.0, 3600.0, text),)
checks = (CheckResult("hear.listen", "pass", 1.0, evidence=quote, details={"q": text[:10**5]}),)
start = time.process_time()
card = redact_scorecard(_card(transcript, checks), find_pii(transcript))
seconds = time.process_time() - start
for out in (card.transcript.segments[0].text, card.checks[0].evidence[0].text,
            card.checks[0].details["q"]):
    assert "0366" not in out and "[CARD]" in out
print(f"{seconds:.2f}")
"""


def _redact_long_segment(size: int, memory_mb: int, cpu_s: int) -> float:
    from conftest import run_limited

    args = [sys.executable, "-c", LONG_SEGMENT, str(size), str(Path(__file__).parent)]
    done = run_limited(args, memory_mb=memory_mb, cpu_s=cpu_s)
    assert done.returncode == 0, done.stderr[-2000:]
    return float(done.stdout.strip().splitlines()[-1])


def test_redaction_time_grows_linearly_with_segment_length() -> None:
    """One segment 10 times longer costs about 10 times the CPU time (it was quadratic: a
    50 kB segment took 23 s), in a process capped at 512 MiB."""
    short = _redact_long_segment(100_000, memory_mb=512, cpu_s=60)
    long = _redact_long_segment(1_000_000, memory_mb=512, cpu_s=60)
    assert long / max(short, 0.05) < 25  # quadratic work would give about 100


@pytest.mark.slow
def test_ten_megabyte_segment_in_bounded_time_and_memory() -> None:
    """A 10 MB transcript in one segment (a one-segment-per-speaker export) is redacted in the
    transcript, its evidence quote and its details within 512 MiB of address space and two
    minutes of CPU."""
    assert _redact_long_segment(10_000_000, memory_mb=512, cpu_s=120) < 120


# ----------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    ("name", "redacted"),
    [
        ("call_+4791234567_4532015112830366", "call_[PHONE]_[CARD]"),
        ("kunde_91234567", "kunde_[PHONE]"),  # a Norwegian mobile, whatever the call's language
        ("anna.berg@example.com_0915", "[EMAIL]_0915"),
        ("NO9386011117947", "[IBAN]"),
        ("2025-01-31_10-32-05_agent7", "2025-01-31_10-32-05_agent7"),  # a date is no phone
        ("1706712345.1234", "1706712345.1234"),  # a PBX id (Unix time) is kept
        ("order_12345678", "order_12345678"),
    ],
)
def test_identifiers_go_through_the_detector(name: str, redacted: str) -> None:
    from callqa.privacy.identifiers import redact_identifier

    assert redact_identifier(name) == redacted


def test_traceable_ids() -> None:
    from callqa.privacy.identifiers import display_path, redact_path, traceable_id

    sha = "3f9a2c1b" + "0" * 56
    call_id = traceable_id("call_+4791234567", sha)
    assert call_id == "call_[PHONE]~sha3f9a2c1b"
    assert traceable_id(call_id, sha) == call_id  # idempotent: nothing left to find
    assert traceable_id("call_7", sha) == "call_7"  # nothing found: no suffix
    assert traceable_id("call_+4791234567", sha, RedactionConfig(enabled=False)) == (
        "call_+4791234567"
    )
    assert redact_path("/srv/+4791234567/a_4532015112830366.wav") == "/srv/[PHONE]/a_[CARD].wav"
    assert display_path(Path(os.fsdecode(b"/x/\xff.wav"))) == "/x/\\xff.wav"
    assert display_path("a\ud800") == "a\\ud800"
