"""The English commitment detector (``action_phrase``): owner, governed verb, and the traps."""

from __future__ import annotations

import pytest

from callqa.checks.commitment import is_commitment

COMMITMENTS = [
    "I'll let you know by Friday.",
    "I'll, I'll send it over this afternoon.",
    "I'll just quickly book that for you.",
    "We'll go ahead and replace the router.",
    "I'll be sending the form by email.",
    "What I'll do is send you a new one.",
    "You'll get an email with the tracking number.",
    "You'll hear from us within two days.",
    "Let me transfer you to billing.",
    "I'm going to escalate this today.",
    "Our team will contact you next week.",
    "I'll try to call you back tomorrow.",
    "I definitely will do that.",
    "I'll be in touch tomorrow.",
]

NOT_COMMITMENTS = [
    "I'll be honest with you, it's an old model.",
    "We'll see.",
    "I'll try my best.",
    "I'll have to think about that.",
    "I'll never understand these forms.",
    "So I'll",
    "You'll get an error if the cable is loose.",
    "I'm sure we'll sort it out.",
    "We'll usually send these out on a Monday.",
    "Let's say I'll send you a form, then what?",
    "That's how we'll do it.",
    "If we're going to replace it, we need the serial number.",
    "Let me check that for you.",
    "Will you send me the form?",
    "Your bank will contact you.",
    "You will need to send us the form.",
]


@pytest.mark.parametrize("text", COMMITMENTS)
def test_commitment(text: str) -> None:
    assert is_commitment(text, "en")


@pytest.mark.parametrize("text", NOT_COMMITMENTS)
def test_not_a_commitment(text: str) -> None:
    assert not is_commitment(text, "en")


def test_unsupported_language_has_no_commitment() -> None:
    assert not is_commitment("Ich schicke es morgen.", "de")
