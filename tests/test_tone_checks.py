"""Tone checks on hand-made voice measures: a pass and a fail for each, and the "na" paths."""

from __future__ import annotations

from dataclasses import replace

import pytest

from callqa.checks.base import CheckContext
from callqa.checks.tone import CHECKS, DEFAULTS, stretch_sentiment
from callqa.config import VoiceConfig
from callqa.measures.metrics import CallMetrics
from callqa.measures.voice import (
    NO_VOICED_SPEECH,
    LoudnessStats,
    PaceStats,
    PartVoice,
    PitchStats,
    RaisedRule,
    SpeakerVoice,
    VoiceMetrics,
    agent_responses,
    find_raised,
)
from callqa.outputs.explain import measure_text
from callqa.sentiment import default_model
from callqa.types import AGENT, CUSTOMER, Sentiment, Transcript, Utterance, Word

STEP = 0.5


def part(index: int, start: float, end: float, sd: float | None, wpm: float | None) -> PartVoice:
    return PartVoice(index, start, end, 5.0, 150.0, sd, 0.0, -20.0, 0.0, 10, wpm, 3.0, 0.0)


def speaker(
    name: str,
    levels: list[float | None],
    *,
    start: float = 0.0,
    f0: float = 150.0,
    sd_st: float = 3.0,
    words: int = 50,
    wps: float = 3.0,
    wpm: float = 150.0,
    config: VoiceConfig | None = None,
) -> SpeakerVoice:
    """A speaker with a contour of consecutive 0.5-s steps from ``start`` (s) at ``levels``
    (dBFS), steady pitch ``f0`` and a calm baseline of -20 dBFS / ``f0``; its raised stretches
    are measured as the voice stage does, with ``config``'s ``raised_*`` settings."""
    times = tuple(start + STEP * (i + 0.5) for i in range(len(levels)))
    end = start + STEP * len(levels)
    quarter = (end - start) / 4
    quarters = tuple(
        part(k, start + k * quarter, start + (k + 1) * quarter, sd_st - k * 0.1, wpm + k)
        for k in range(4)
    )
    sv = SpeakerVoice(
        speaker=name,
        channel=None,
        dominant_s=end - start,
        reason=None,
        pitch=PitchStats(f0, sd_st, 3 * sd_st, 30.0),
        loudness=LoudnessStats(-20.0, 5.0, -21.0, -20.0, f0),
        pace=PaceStats(words, words * 60 / wpm, words / wps, wpm, wps),
        quarters=quarters,
        raised=(),
        contour_t=times,
        contour_f0_hz=tuple(f0 if lv is not None else None for lv in levels),
        contour_level_db=tuple(levels),
    )
    return with_raised(sv, config or VoiceConfig())


def with_raised(sv: SpeakerVoice, config: VoiceConfig) -> SpeakerVoice:
    """``sv`` with the raised stretches the voice stage would measure on its contour."""
    return replace(sv, raised=find_raised(sv, RaisedRule.from_config(config)))


def ctx(
    *speakers: SpeakerVoice,
    language: str = "en",
    customer_says: tuple[float, float, str] | None = None,
    **params: object,
) -> CheckContext:
    """Checks' input for these speakers; words "a0", "c0", ... at each step, and, with
    ``customer_says = (start, end, text)``, that customer sentence over its span."""
    by_name = {s.speaker: s for s in speakers}
    agent, customer = by_name.get(AGENT), by_name.get(CUSTOMER)
    responses: tuple = ()
    if agent is not None and customer is not None and customer.reason is None:
        responses = agent_responses(agent, customer)  # the voice stage's defaults
    voice = VoiceMetrics(speakers=speakers, agitation=None, responses=responses)
    steps = tuple(
        Word(f"{s.speaker[0]}{i}", t - 0.2, t + 0.2, s.speaker)
        for s in speakers
        for i, t in enumerate(s.contour_t)
    )
    utterances = [Utterance(AGENT, 0.0, 100.0, "", steps)]
    if customer_says is not None:
        start, end, text = customer_says
        tokens = text.split()
        step = (end - start) / len(tokens)
        words = tuple(
            Word(w, start + i * step, start + (i + 0.8) * step, CUSTOMER)
            for i, w in enumerate(tokens)
        )
        (mood,) = default_model().classify([text], language)  # the shipped sentiment model
        utterances.append(Utterance(CUSTOMER, start, end, text, words, sentiment=mood))
    utterances.sort(key=lambda u: u.start)
    transcript = Transcript(language, tuple(utterances))
    return CheckContext(transcript, CallMetrics(100.0, voice=voice), params=params)


CALM = [-20.0] * 20


# --------------------------------------------------------------------------- no raised voice


def test_no_raised_voice_passes_for_a_steady_agent() -> None:
    result = CHECKS["tone.no_raised_voice"](ctx(speaker(AGENT, CALM)))
    assert result.verdict == "pass" and result.score == 1.0
    assert len(result.evidence) == 1  # the loudest moment, for the coach


def test_no_raised_voice_fails_with_times_and_words() -> None:
    levels = CALM + [-12.0] * 6 + CALM  # 3 s at +8 dB from 10 s
    result = CHECKS["tone.no_raised_voice"](ctx(speaker(AGENT, levels)))
    assert result.verdict == "fail" and result.score == 0.0 and result.tip
    (ev,) = result.evidence
    assert (ev.speaker, ev.start, ev.end) == (AGENT, 10.0, 13.0)
    assert ev.text.split() == [f"a{i}" for i in range(20, 26)]
    assert result.details["stretches"] == [[10.0, 13.0, 8.0]]


def test_raised_voice_is_defined_once_by_the_voice_settings() -> None:
    levels = CALM + [-12.0] * 6 + CALM
    longer = VoiceConfig(raised_min_s=4.0)
    higher = VoiceConfig(raised_level_db=9.0)
    check = CHECKS["tone.no_raised_voice"]
    assert check(ctx(speaker(AGENT, levels, config=longer))).verdict == "pass"
    assert check(ctx(speaker(AGENT, levels, config=higher))).verdict == "pass"
    assert check(ctx(speaker(AGENT, levels), level_db=9.0)).verdict == "fail"  # no second knob


def test_pitch_alone_needs_some_level_to_count_as_raised() -> None:
    agent = speaker(AGENT, CALM + [-17.0] * 6 + CALM)  # +3 dB: half the level threshold
    high = tuple(
        300.0 if 10 < t < 13 else f
        for t, f in zip(agent.contour_t, agent.contour_f0_hz, strict=True)
    )
    raised_pitch = with_raised(replace(agent, contour_f0_hz=high), VoiceConfig())  # +12 st
    assert CHECKS["tone.no_raised_voice"](ctx(raised_pitch)).verdict == "fail"
    soft = replace(raised_pitch, contour_level_db=tuple(CALM * 2 + [-20.0] * 6)[:46])
    soft = with_raised(soft, VoiceConfig())
    assert CHECKS["tone.no_raised_voice"](ctx(soft)).verdict == "pass"


# --------------------------------------------------------------------------- not monotone


def test_not_monotone_passes_and_fails_on_pitch_sd() -> None:
    lively = CHECKS["tone.not_monotone"](ctx(speaker(AGENT, CALM, sd_st=3.0)))
    flat = CHECKS["tone.not_monotone"](ctx(speaker(AGENT, CALM, sd_st=1.2)))
    assert lively.verdict == "pass" and flat.verdict == "fail" and flat.tip
    assert flat.details["pitch_sd_st"] == 1.2 and flat.details["min_sd_st"] == 2.0
    # just under the limit: the details keep the digits that show it (a Finnish sample call
    # printed "pitch spread 2.0 semitones; minimum 2.0" beside a fail)
    near = CHECKS["tone.not_monotone"](ctx(speaker(AGENT, CALM, sd_st=1.9963)))
    assert near.verdict == "fail" and near.details["pitch_sd_st"] == 1.996
    assert measure_text(near) == "pitch variation (SD) 1.996 semitones; minimum 2.0"
    # evidence: the flattest quarter (the last one in these hand-made quarters)
    (ev,) = flat.evidence
    assert (ev.start, ev.end) == (7.5, 10.0) and flat.details["flattest_quarter"] == 3
    assert (
        CHECKS["tone.not_monotone"](ctx(speaker(AGENT, CALM, sd_st=1.2), min_sd_st=1.0)).verdict
        == "pass"
    )


def test_not_monotone_needs_voiced_speech() -> None:
    agent = speaker(AGENT, CALM, sd_st=1.0)
    short = replace(agent, pitch=replace(agent.pitch, voiced_s=2.0))
    assert CHECKS["tone.not_monotone"](ctx(short)).verdict == "na"
    silent = replace(agent, reason=NO_VOICED_SPEECH)
    result = CHECKS["tone.not_monotone"](ctx(silent))
    assert result.verdict == "na" and NO_VOICED_SPEECH in result.details["reason"]


# --------------------------------------------------------------------------- pace


def test_pace_ratio_pass_and_fail() -> None:
    customer = speaker(CUSTOMER, CALM, start=20.0, wps=3.0)
    ok = CHECKS["tone.pace"](ctx(speaker(AGENT, CALM, wps=3.6), customer))  # ratio 1.2
    fast = CHECKS["tone.pace"](ctx(speaker(AGENT, CALM, wps=4.2), customer))  # ratio 1.4
    assert ok.verdict == "pass" and fast.verdict == "fail" and fast.tip
    assert fast.details["ratio"] == pytest.approx(1.4)
    assert fast.evidence[0].start == 7.5  # the agent's fastest quarter
    loose = CHECKS["tone.pace"](ctx(speaker(AGENT, CALM, wps=4.2), customer, max_ratio=1.5))
    assert loose.verdict == "pass"


def test_pace_ceiling_applies_to_its_language_only() -> None:
    racing = speaker(AGENT, CALM, wpm=230.0)
    assert CHECKS["tone.pace"](ctx(racing)).verdict == "fail"  # en: 190 words/min
    assert CHECKS["tone.pace"](ctx(racing, language="fi")).verdict == "na"  # no ceiling, no ratio
    assert CHECKS["tone.pace"](ctx(racing, language="fi", max_wpm={"fi": 250})).verdict == "pass"
    assert CHECKS["tone.pace"](ctx(racing, max_wpm=0)).verdict == "na"  # ceiling off


def test_pace_needs_agent_words() -> None:
    result = CHECKS["tone.pace"](ctx(speaker(AGENT, CALM, words=4)))
    assert result.verdict == "na" and "10 timed words" in result.details["reason"]


# --------------------------------------------------------------------------- steady under pressure


STEADY = "tone.steady_under_pressure"
COMPLAINT = "This is unacceptable, I was charged twice!"
DELIGHT = "Oh wonderful, thank you so much, that is great!"


def pressure_call(agent_levels: list[float | None], says: str = COMPLAINT) -> CheckContext:
    """Customer raised (+10 dB) 0-5 s saying ``says``; the agent answers 5-15 s (the 10-s
    pressure window after the stretch), then speaks calmly 15-35 s; the customer is calm
    again from 35 s."""
    customer = speaker(CUSTOMER, [-10.0] * 10 + [None] * 60 + CALM)
    agent = speaker(AGENT, [None] * 10 + agent_levels + [-20.0] * 40)
    return ctx(agent, customer, customer_says=(0.0, 5.0, says))


def test_steady_agent_passes_under_pressure() -> None:
    result = CHECKS["tone.steady_under_pressure"](pressure_call([-19.0] * 20))
    assert result.verdict == "pass"
    (ev,) = result.evidence
    assert (ev.speaker, ev.start, ev.end) == (CUSTOMER, 0.0, 5.0)
    assert result.details["level_shift_db"] == pytest.approx(1.0)


def test_agent_raising_its_voice_under_pressure_fails() -> None:
    result = CHECKS["tone.steady_under_pressure"](pressure_call([-12.0] * 20))
    assert result.verdict == "fail" and result.tip
    assert [(e.speaker, e.start, e.end) for e in result.evidence] == [
        (CUSTOMER, 0.0, 5.0),
        (AGENT, 5.0, 15.0),
    ]
    assert result.details["agent_raised_stretches"] == 1


def test_agent_slightly_louder_under_pressure_fails_on_level_shift() -> None:
    # +4 dB: not a raised voice (< 6 dB) but more than the 3-dB steadiness limit
    result = CHECKS["tone.steady_under_pressure"](pressure_call([-16.0] * 20))
    assert result.verdict == "fail" and result.details["agent_raised_stretches"] == 0
    relaxed = pressure_call([-16.0] * 20)
    relaxed = replace(relaxed, params={"level_db": 5.0})
    assert CHECKS["tone.steady_under_pressure"](relaxed).verdict == "pass"


def test_a_delighted_customer_is_no_pressure() -> None:
    """The same loud customer saying thanks: raised, but not negative -> "na", even though
    the agent answers loudly."""
    result = CHECKS["tone.steady_under_pressure"](pressure_call([-12.0] * 20, says=DELIGHT))
    assert result.verdict == "na" and "not pressure" in result.details["reason"]


def test_pressure_reads_the_customers_sentiment() -> None:
    """The complaint reads negative, the thanks positive (the shipped model); a loud customer
    whose words have no sentiment (the stage did not run) is no verdict, not a pass."""
    loud = pressure_call([-19.0] * 20)
    assert stretch_sentiment(loud.transcript, 0.0, 5.0) <= DEFAULTS[STEADY]["negative_at"]
    glad = pressure_call([-19.0] * 20, says=DELIGHT)
    assert stretch_sentiment(glad.transcript, 0.0, 5.0) > 0.25
    assert stretch_sentiment(loud.transcript, 40.0, 50.0) is None  # the customer said nothing
    unread = replace(
        loud,
        transcript=replace(
            loud.transcript,
            segments=tuple(replace(u, sentiment=None) for u in loud.transcript.segments),
        ),
    )
    result = CHECKS[STEADY](unread)
    assert result.verdict == "na" and "no sentiment" in result.details["reason"]
    negative = Utterance(CUSTOMER, 0.0, 5.0, "x", sentiment=Sentiment("negative", -0.2))
    mild = replace(loud, transcript=Transcript("en", (negative,)))
    assert CHECKS[STEADY](mild).verdict == "na"  # -0.2 is above the -0.25 threshold
    assert CHECKS[STEADY](replace(mild, params={"negative_at": -0.1})).verdict == "pass"


def test_steady_is_na_without_an_agitated_customer() -> None:
    calm = ctx(speaker(AGENT, CALM), speaker(CUSTOMER, CALM, start=20.0))
    result = CHECKS["tone.steady_under_pressure"](calm)
    assert result.verdict == "na" and "never raised" in result.details["reason"]


# --------------------------------------------------------------------------- no audio


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_tone_check_is_na_without_audio(check_id: str) -> None:
    no_voice = CheckContext(Transcript("en", ()), CallMetrics(10.0), has_audio=False)
    result = CHECKS[check_id](no_voice)
    assert result.verdict == "na" and result.score is None and result.details["reason"]


def test_ids_and_defaults() -> None:
    assert (
        set(CHECKS)
        == set(DEFAULTS)
        == {
            "tone.steady_under_pressure",
            "tone.not_monotone",
            "tone.pace",
            "tone.no_raised_voice",
        }
    )
