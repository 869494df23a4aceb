"""Verdict confidence, the review list and the auto-fail rule, with known answers."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from callqa.scoring import confidence
from callqa.scoring.confidence import (
    Track,
    call_reviews,
    language_contradiction,
    margin_confidence,
    review_items,
    track_key,
    with_confidence,
)
from callqa.scoring.rubric import load_rubric
from callqa.scoring.score import score_checks, withheld_auto_fails
from callqa.types import (
    AGENT,
    CUSTOMER,
    CheckResult,
    Evidence,
    RoleDecision,
    Transcript,
    Utterance,
    Word,
)


def _words(speaker: str, start: float, text: str, probability: float) -> Utterance:
    tokens = text.split()
    words = tuple(
        Word(w, start + 0.4 * i, start + 0.4 * i + 0.3, speaker, probability)
        for i, w in enumerate(tokens)
    )
    return Utterance(speaker, start, start + 0.4 * len(tokens), text, words)


CLEAR = Transcript("en", (_words(AGENT, 0.0, "you have to call billing", 0.95),))
MUMBLED = Transcript("en", (_words(AGENT, 0.0, "you have to call billing", 0.2),))
FORBIDDEN = CheckResult(
    "positive.forbidden_phrases",
    "fail",
    0.0,
    (Evidence(AGENT, 0.0, 2.0, "you have to call billing"),),
    details={"phrases": ["you have to"], "strength": "weak"},
)


@pytest.fixture()
def records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Track records with known rates: strong fails right 19 of 20, weak ones 3 of 6."""
    table = {
        "positive.forbidden_phrases": {
            "fail": Track(19, 20),
            "fail/weak": Track(3, 6),
            "pass": Track(40, 40),
        }
    }
    monkeypatch.setattr(confidence, "track_records", lambda: table)


def test_track_record_rate_is_smoothed() -> None:
    assert Track(19, 20).rate == pytest.approx(20 / 22)
    assert Track(0, 0).rate == 0.5  # no record: a coin flip


def test_track_key_splits_weak_and_partial_evidence() -> None:
    assert track_key(FORBIDDEN) == "fail/weak"
    assert track_key(replace(FORBIDDEN, details={"strength": "strong"})) == "fail"
    partial = CheckResult("action.next_step", "pass", 0.5, details={"partial": True})
    assert track_key(partial) == "pass/partial"
    near = CheckResult("action.next_step", "fail", 0.0, details={"near_miss": "tomorrow"})
    assert track_key(near) == "fail/near_miss"


def test_confidence_is_the_track_record_when_words_and_roles_are_sure(records: None) -> None:
    (result,) = with_confidence([FORBIDDEN], CLEAR, None)
    assert result.confidence == pytest.approx(round(4 / 8, 3))  # (3 + 1) / (6 + 2)
    strong = replace(FORBIDDEN, details={"strength": "strong"})
    (result,) = with_confidence([strong], CLEAR, None)
    assert result.confidence == pytest.approx(round(20 / 22, 3), abs=1e-3)


def test_misheard_words_and_unsure_roles_pull_towards_a_coin_flip(records: None) -> None:
    strong = replace(FORBIDDEN, details={"strength": "strong"})
    (mumbled,) = with_confidence([strong], MUMBLED, None)
    assert mumbled.confidence == 0.5  # none of the quoted words clearly heard
    roles = RoleDecision("spk0", "auto", 0.6, "greets first")
    (unsure,) = with_confidence([strong], CLEAR, roles)
    c = 20 / 22
    assert unsure.confidence == pytest.approx(round(0.5 + (c - 0.5) * 0.6, 3), abs=1e-3)
    assert unsure.details["confidence_parts"] == {
        "track_record": round(c, 3),
        "calibrated": True,
        "heard": 1.0,
        "roles": 0.6,
    }


def test_a_verdict_by_absence_reads_every_word_of_the_party() -> None:
    # the agent's closing is heard clearly (0.95), the commitment before it was not (0.2):
    # a missing next step quotes the closing, but its verdict rests on all 8 agent words
    transcript = Transcript("en", (
        _words(AGENT, 0.0, "i will call you tomorrow", 0.2),
        _words(AGENT, 5.0, "thanks goodbye now", 0.95),
    ))  # fmt: skip
    closing = (Evidence(AGENT, 5.0, 6.2, "thanks goodbye now"),)
    missing = CheckResult("action.next_step", "fail", 0.0, closing)
    present = replace(missing, verdict="pass", score=1.0)
    phrases = {"kind": "phrases", "mode": "required", "speaker": AGENT}
    required = CheckResult("custom.disclosure", "fail", 0.0, closing, details=phrases)
    forbidden = replace(required, details={**required.details, "mode": "forbidden"})
    heard = {
        r.id + "/" + r.verdict + "/" + str(r.details.get("mode")): r.details["confidence_parts"][
            "heard"
        ]
        for r in with_confidence([missing, present, required, forbidden], transcript, None)
    }
    assert heard == {
        "action.next_step/fail/None": 3 / 8,  # 3 of the agent's 8 words clearly heard
        "action.next_step/pass/None": 1.0,  # a pass rests on what it quotes
        "custom.disclosure/fail/required": 3 / 8,
        "custom.disclosure/fail/forbidden": 1.0,  # a forbidden phrase heard: its quote
    }


def test_na_for_missing_audio_is_certain() -> None:
    """Scored from a transcript, an audio check's "na" is a fact about the input."""
    no_audio = CheckResult("tone.pace", "na", None, details={"reason": "no audio: voice ..."})
    by_rule = CheckResult(
        "hear.talk_share", "na", None, details={"reason": "scored from a transcript without audio"}
    )
    judged = CheckResult("tone.pace", "na", None, details={"reason": "too few customer words"})
    sure, rule, unsure = with_confidence([no_audio, by_rule, judged], CLEAR, None)
    assert sure.confidence == 1.0 and rule.confidence == 1.0
    assert unsure.confidence == pytest.approx(round(10 / 12, 3))  # "na" prior (9 + 1) / (10 + 2)


def test_margin_confidence_grows_with_the_distance_from_the_threshold() -> None:
    assert margin_confidence(0.60, 0.60, 0.05) == 0.5
    one_sd = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    assert margin_confidence(0.65, 0.60, 0.05) == pytest.approx(one_sd)
    assert margin_confidence(0.90, 0.60, 0.05) == 0.9  # never more than the ceiling


def test_an_unsure_auto_fail_does_not_zero_the_call(records: None) -> None:
    rubric = load_rubric()
    weak = with_confidence([FORBIDDEN], CLEAR, None)
    assert withheld_auto_fails(rubric, weak) == ("positive.forbidden_phrases",)
    _, score, failed = score_checks(rubric, weak)
    assert failed == () and score == 0.0  # the only item: a plain fail, not an auto-fail
    items = review_items(weak, review_below=0.7, withheld=("positive.forbidden_phrases",))
    assert [i.item for i in items] == ["positive.forbidden_phrases"]
    assert items[0].reason.startswith("auto-fail not applied")
    strong = with_confidence([replace(FORBIDDEN, details={"strength": "strong"})], CLEAR, None)
    assert withheld_auto_fails(rubric, strong) == ()
    _, score, failed = score_checks(rubric, strong)
    assert failed == ("positive.forbidden_phrases",) and score == 0.0


def test_unsure_verdicts_are_listed_with_the_reason(records: None) -> None:
    strong = replace(FORBIDDEN, details={"strength": "strong"})
    items = review_items(with_confidence([strong], MUMBLED, None), review_below=0.7)
    assert len(items) == 1 and "of the quoted words were clearly heard" in items[0].reason
    na = CheckResult("lead.alternative", "na", None, confidence=0.1)
    assert review_items([na], review_below=0.7) == []  # "na" is never listed


def test_a_forced_language_that_detection_contradicts_is_flagged() -> None:
    t = Transcript(
        "en", (), language_source="forced", detected_language="it", detected_probability=0.97
    )
    note = language_contradiction(t)
    assert note is not None and "may be a translation" in note
    assert [i.item for i in call_reviews(t, None)] == ["language"]
    close = replace(t, language="nb", detected_language="da")  # language ID confuses them
    assert language_contradiction(close) is None
    unsure = replace(t, detected_probability=0.6)
    assert language_contradiction(unsure) is None


def test_pipeline_warns_when_whisper_hears_another_language(tmp_path: Path) -> None:
    """Forcing --language en on a call Whisper hears as Italian: a warning and a review item."""
    from conftest import clip

    from callqa.config import Config, replace_config
    from callqa.pipeline import score_call
    from callqa.transcription.fake import FakeTranscriber

    call = clip(tmp_path / "call.wav", 0.0, 15.0)
    config = replace_config(Config(), call__language="en")
    card = score_call(call, transcriber=FakeTranscriber(language="it"), config=config)
    assert card.transcript.detected_language == "it"
    assert any("may be a translation" in w for w in card.warnings)
    assert "language" in {r.item for r in card.review} and card.provisional
    assert all(c.confidence is not None for c in card.checks)


def test_a_clip_with_almost_no_words_gets_no_score(tmp_path: Path) -> None:
    from conftest import clip

    from callqa.pipeline import score_call
    from callqa.transcription.fake import FakeTranscriber

    call = clip(tmp_path / "call.wav", 0.0, 15.0)
    card = score_call(call, transcriber=FakeTranscriber(text="hello"))
    assert card.score is None and {c.verdict for c in card.checks} == {"na"}
    assert any("too little speech was transcribed" in w for w in card.warnings)


def test_review_roles_and_poorly_heard_transcripts() -> None:
    roles = RoleDecision("spk1", "auto", 0.55, "the first speaker asked")
    assert [i.item for i in call_reviews(CLEAR, roles)] == ["roles"]
    assert [i.item for i in call_reviews(MUMBLED, None)] == ["transcript"]
    customer_only = Transcript("en", (_words(CUSTOMER, 0.0, "hello there", 0.9),))
    assert call_reviews(customer_only, None) == []


def test_a_call_with_most_turns_unheard_is_listed_for_review() -> None:
    """The Norwegian sample had 11 of its 13 speech turns without words: a warning beside a
    score, nothing in the review list."""
    from callqa.types import TurnCoverage

    poor = TurnCoverage(min_turn_s=1.0, turns=13, empty=11, empty_share=11 / 13)
    items = call_reviews(CLEAR, None, poor)
    assert [i.item for i in items] == ["transcript"]
    assert items[0].reason.startswith("11 of 13 speech turns got no words")
    fine = TurnCoverage(min_turn_s=1.0, turns=44, empty=1, empty_share=1 / 44)
    assert call_reviews(CLEAR, None, fine) == []


def _pace(wpm: float, ceiling: float | None, ratio: float) -> dict[str, float | None]:
    return {"agent_wpm": wpm, "max_wpm": ceiling, "ratio": ratio, "max_ratio": 1.3}


@pytest.mark.parametrize(
    ("details", "verdict", "low", "high"),
    [
        # the AWS call: 259 words/min against 190 is a sure fail, whatever the ratio says
        (_pace(259.25, 190.0, 1.38), "fail", 0.89, 0.9),
        # en_mono: 199 against 190 with a ratio far below its limit: a close call
        (_pace(199.3, 190.0, 1.08), "fail", 0.6, 0.75),
        # a pass is as sure as its closest limit
        (_pace(185.0, 190.0, 0.9), "pass", 0.55, 0.65),
        # no ceiling for the language: the ratio alone, as before
        (_pace(185.0, None, 1.25), "pass", 0.6, 0.7),
    ],
)
def test_pace_confidence_reads_both_limits(
    details: dict[str, float | None], verdict: str, low: float, high: float
) -> None:
    result = CheckResult("tone.pace", verdict, 0.0 if verdict == "fail" else 1.0, details=details)
    c, calibrated = confidence.base_confidence(result)
    assert not calibrated and low <= c <= high, c
