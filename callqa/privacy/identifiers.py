"""Personal data in identifiers: call ids, file names, paths and manifest values.

Telephony exports name files after the caller (``call_+4791234567_4539....wav``) and manifests
carry free-text columns, so what identifies a call goes through the same detector as the
transcript before it is written anywhere (JSON, CSV, Parquet, the store, reports, log lines
and output file names).

- :func:`redact_identifier`: the detector of every supported language over the text (an
  identifier has no language: "91234567" is a Norwegian mobile number whatever the call's
  language); each value becomes its placeholder: ``call_[PHONE]_[CARD]``.
- :func:`traceable_id`: a redacted call id gets ``~sha`` and the first 8 hex digits of the
  recording's sha256 (``call_[PHONE]_[CARD]~sha3f9a2c1b``). Two calls whose names differ only in
  the redacted digits stay apart, and whoever holds the recordings can find the file again
  (``sha256sum``); the suffix tells nothing about the removed digits (a hash of the name would:
  a phone number has few enough values to try them all).
- :func:`redact_path`: each component of a path through :func:`redact_identifier`.
- :func:`display_path`: a path as text that can always be written: bytes that are not UTF-8
  (a file name from another system) are shown as ``\\xff`` escapes.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import PurePath

from callqa.config import RedactionConfig
from callqa.privacy.redact import redact_text
from callqa.scoring.scorecard import Scorecard

IDENTIFIER_LANGUAGES = ("en", "nb", "fi", "it", "sl")
TRACE_MARK = "~sha"  # a word the detector never reads as a number ("sha1234..." is one code)


def display_path(path: PurePath | str) -> str:
    """``path`` as printable text: undecodable bytes as ``\\xNN``, lone surrogates escaped."""
    raw = os.fsencode(path) if isinstance(path, PurePath) else _encode(path)
    return raw.decode("utf-8", "backslashreplace")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape" if _escapable(text) else "backslashreplace")


def _escapable(text: str) -> bool:
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def redact_identifier(text: str, config: RedactionConfig | None = None) -> str:
    """``text`` with the personal data found in it replaced by placeholders.

    Parameters
    ----------
    text : str
        A call id, file name, agent id or manifest value.
    config : RedactionConfig, optional
        Which types; redaction off returns ``text`` unchanged (printable, see
        :func:`display_path`).
    """
    text = display_path(text)
    config = config or RedactionConfig()
    if not config.enabled or not any(c.isalnum() for c in text):
        return text
    for language in IDENTIFIER_LANGUAGES:
        text = redact_text(text, language, config)
    return text


def traceable_id(call_id: str, sha256: str | None, config: RedactionConfig | None = None) -> str:
    """A call id without personal data: :func:`redact_identifier`, and when it removed
    something, ``~sha`` plus 8 hex digits of the recording's sha256 (when known)."""
    redacted = redact_identifier(call_id, config)
    if redacted == display_path(call_id) or not sha256:
        return redacted
    return f"{redacted}{TRACE_MARK}{sha256[:8]}"


def redact_card_identifiers(card: Scorecard, config: RedactionConfig | None = None) -> Scorecard:
    """The scorecard with its call id (:func:`traceable_id`) and source path
    (:func:`redact_path`) redacted: a file name may hold a phone or card number. With redaction
    off both are only made printable."""
    return replace(
        card,
        call_id=traceable_id(card.call_id, card.source.sha256, config),
        source=replace(card.source, path=redact_path(card.source.path, config)),
    )


def redact_path(path: PurePath | str, config: RedactionConfig | None = None) -> str:
    """A path as text with each component through :func:`redact_identifier`."""
    text = display_path(path)
    parts = text.replace("\\", "/").split("/")
    redacted = [redact_identifier(part, config) if part else part for part in parts]
    return "/".join(redacted) if redacted != parts else text
