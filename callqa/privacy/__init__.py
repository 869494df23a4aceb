"""Personal data: find card numbers, IBANs, national IDs, phone numbers and e-mail addresses
in a transcript, and redact them from the scorecard, free text and the call audio.

::

    Transcript -> find_pii -> PiiSpan ...      (checks still see the unredacted text, in memory)
    Scorecard + spans -> redact_scorecard -> Scorecard with placeholders + RedactionSummary
    CallAudio + spans -> redact_audio -> a copy with the spans silenced (or a 1 kHz tone)

Detection works on one speaker's words at a time, across that speaker's consecutive segments
(a card number read out over two ASR segments is one number), and on digits as well as number
words in en, nb, fi, it and sl (:mod:`callqa.words.numbers`). Numbers with check digits are
redacted
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

Modules: :mod:`~callqa.privacy.detect` (find), :mod:`~callqa.privacy.redact` (apply to text and
scorecards), :mod:`~callqa.privacy.audio` (apply to audio), with the validators, tokenizer,
number-word reader and token streams they share. docs/redaction.md gives the rules and the
measured precision and recall.
"""

from callqa.privacy.audio import recorded_spans, redact_audio, redact_card_audio
from callqa.privacy.detect import find_pii
from callqa.privacy.redact import (
    attach_audio_path,
    redact_scorecard,
    redact_text,
    redact_transcript,
    summarize,
)
from callqa.privacy.spans import PLACEHOLDERS, PiiPiece, PiiSpan
from callqa.privacy.validators import (
    codice_fiscale_valid,
    emso_valid,
    fnr_valid,
    hetu_valid,
    iban_valid,
    luhn_valid,
)
from callqa.words.tokens import Token, tokenize

__all__ = [
    "PLACEHOLDERS",
    "PiiPiece",
    "PiiSpan",
    "Token",
    "attach_audio_path",
    "codice_fiscale_valid",
    "emso_valid",
    "find_pii",
    "fnr_valid",
    "hetu_valid",
    "iban_valid",
    "luhn_valid",
    "recorded_spans",
    "redact_audio",
    "redact_card_audio",
    "redact_scorecard",
    "redact_text",
    "redact_transcript",
    "summarize",
    "tokenize",
]
