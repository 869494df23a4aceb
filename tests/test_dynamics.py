"""Conversation dynamics on hand-derived timelines (times in seconds)."""

from __future__ import annotations

import pytest

from callqa.config import DynamicsConfig
from callqa.measures.dynamics import agent_talk_share, measure_dynamics, talk_time
from callqa.types import AGENT, CUSTOMER, SpeechActivity, Transcript, Turn, Utterance, Word

CFG = DynamicsConfig()
EMPTY = Transcript(language="en", segments=())


def activity(*turns: tuple[str, float, float]) -> SpeechActivity:
    """A stereo call's turns (agent on channel 0): overlaps are measurable."""
    return SpeechActivity(
        turns=tuple(Turn(s, a, b) for s, a, b in turns),
        method="test",
        channel_map=((AGENT, 0), (CUSTOMER, 1)),
    )


def say(speaker: str, start: float, end: float, text: str) -> Utterance:
    tokens = text.split()
    step = (end - start) / len(tokens)
    words = tuple(
        Word(t, start + i * step, start + (i + 1) * step, speaker) for i, t in enumerate(tokens)
    )
    return Utterance(speaker, start, end, text, words)


def test_competitive_interruption_with_evidence() -> None:
    """
    time      0    1    2    3    4    5    6    7    8    9    10   11   12
    agent     |---------|                   |-----------------------------|
    customer                 |-------------------------------|
    agent starts at 6.0 while the customer speaks until 10.0: overlap 4.0 s, the customer
    still had 4.0 s to go (> transition_tail_s 1.0) and stops while the agent goes on
    (the customer yields) -> competitive.
    """
    act = activity((AGENT, 0, 2), (CUSTOMER, 2.5, 10), (AGENT, 6, 12))
    tr = Transcript("en", (say(AGENT, 6, 12, "no listen you need to call billing"),))
    d = measure_dynamics(act, tr, 12.0, CFG)
    (event,) = d.interruptions
    assert (event.interrupter, event.interrupted, event.kind) == (AGENT, CUSTOMER, "competitive")
    assert (event.start, event.end, event.overlap_s) == (6.0, 10.0, 4.0)
    assert event.words.startswith("no listen you need")
    agent = d.party(AGENT)
    assert agent is not None and agent.competitive_interruptions == 1 and agent.interruptions == 1
    assert agent.interruption_s == 4.0
    assert d.party(CUSTOMER).interruptions == 0  # type: ignore[union-attr]
    assert d.overlap_s == 4.0


def test_transition_and_short_overlaps() -> None:
    """
    customer  |0--------------5|              |10-----------15|
    agent                  |4.3-------8|                 |14.8----18|
    4.3: overlap 0.7 s (>= 0.5), customer ends 0.7 s later (<= 1.0): the agent came in as the
    customer was finishing (Jefferson's terminal overlap) -> transition, not an interruption.
    14.8: overlap 0.2 s (< 0.5) -> ordinary turn-taking, not listed.
    """
    act = activity((CUSTOMER, 0, 5), (AGENT, 4.3, 8), (CUSTOMER, 10, 15), (AGENT, 14.8, 18))
    d = measure_dynamics(act, EMPTY, 18.0, CFG)
    assert [(e.start, e.kind) for e in d.interruptions] == [(4.3, "transition")]
    agent = d.party(AGENT)
    assert agent is not None and agent.overlaps == {"transition": 1}
    assert agent.competitive_interruptions == 0 and agent.interruptions == 0


def test_backchannel_is_not_an_interruption_and_keeps_the_floor() -> None:
    """
    agent     |0------------------------------------10|
    customer            |3.0-3.4| "mhm"      |6.0--6.5| "yeah okay"
    Both short, inside the agent's turn, backchannel words -> backchannels; the agent keeps
    the floor: one 10 s monologue, no turn switch.
    """
    act = activity((AGENT, 0, 10), (CUSTOMER, 3.0, 3.4), (CUSTOMER, 6.0, 6.5))
    tr = Transcript("en", (say(CUSTOMER, 3.0, 3.4, "Mhm."), say(CUSTOMER, 6.0, 6.5, "yeah okay")))
    d = measure_dynamics(act, tr, 10.0, CFG)
    assert [e.kind for e in d.interruptions] == ["backchannel", "backchannel"]
    customer = d.party(CUSTOMER)
    assert customer is not None and customer.backchannels == 2 and customer.interruptions == 0
    assert d.party(AGENT).longest_monologue_s == 10.0  # type: ignore[union-attr]
    assert d.turn_switches_per_minute == 0.0


def test_short_turn_with_other_words_is_not_a_backchannel() -> None:
    """
    customer  |0---------------------------10|
    agent               |3.0---3.8| "wait stop"
    0.8 s inside the customer's turn, but not backchannel words: 0.8 s overlap. The customer
    keeps talking (does not yield): an interruption attempt, not a competitive interruption.
    """
    act = activity((CUSTOMER, 0, 10), (AGENT, 3.0, 3.8))
    tr = Transcript("en", (say(AGENT, 3.0, 3.8, "wait stop"),))
    (event,) = measure_dynamics(act, tr, 10.0, CFG).interruptions
    assert (event.kind, event.overlap_s, event.words) == ("attempt", 0.8, "wait stop")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("It's MM.", "backchannel"),  # Whisper pads a sub-second hum with a word never said
        ("M -M.", "backchannel"),  # a hum split by the transcriber
        ("Mmhm", "backchannel"),
        ("yeah but stop", "attempt"),  # one backchannel word out of three
    ],
)
def test_short_turn_mostly_backchannel_words(text: str, kind: str) -> None:
    """
    customer  |0---------------------------10|
    agent               |3.0---3.8| text
    A short turn inside the customer's is a backchannel when at least half its words are
    backchannel words or hums; otherwise a 0.8 s attempt (the customer keeps the floor).
    """
    act = activity((CUSTOMER, 0, 10), (AGENT, 3.0, 3.8))
    tr = Transcript("en", (say(AGENT, 3.0, 3.8, text),))
    (event,) = measure_dynamics(act, tr, 10.0, CFG).interruptions
    assert event.kind == kind


def test_simultaneous_start_is_not_competitive() -> None:
    """
    customer  |5.0-------------8.0|
    agent      |5.3-------------------------10.0|
    Both start within 0.5 s after a silence (both self-selected): simultaneous, even though the
    customer drops out.
    """
    act = activity((AGENT, 0, 4), (CUSTOMER, 5.0, 8.0), (AGENT, 5.3, 10.0))
    (event,) = measure_dynamics(act, EMPTY, 10.0, CFG).interruptions
    assert (event.interrupter, event.kind) == (AGENT, "simultaneous")


def test_echo_of_the_customers_words_is_a_confirmation() -> None:
    """
    customer  |0-----"this one was a 2018 Tesla Model S"---------------6.0|
    agent                             |3.5 "2018 Tesla, perfect"--------------7.0|
    The agent repeats the year and make the customer has just given: an echo (Clark &
    Schaefer's display of understanding), not an interruption, though the customer stops.
    """
    act = activity((CUSTOMER, 0, 6.0), (AGENT, 3.5, 7.0))
    tr = Transcript("en", (
        say(CUSTOMER, 0.0, 6.0, "this one was a 2018 Tesla Model S and it"),
        say(AGENT, 3.5, 7.0, "2018 Tesla, okay."),
    ))  # fmt: skip
    (event,) = measure_dynamics(act, tr, 7.0, CFG).interruptions
    assert event.kind == "echo"


def test_common_words_are_no_echo() -> None:
    """The agent's words share only "have" and "the" with the customer's: not an echo."""
    act = activity((CUSTOMER, 0.0, 6.0), (AGENT, 3.5, 8.0))
    tr = Transcript("en", (
        say(CUSTOMER, 0.0, 6.0, "But I have already called three times and every time the"),
        say(AGENT, 3.5, 8.0, "have the call, I have a number, really."),
    ))  # fmt: skip
    (event,) = measure_dynamics(act, tr, 8.0, CFG).interruptions
    assert event.kind == "competitive"


def test_closing_said_together_is_an_echo() -> None:
    """A mutual goodbye: the customer's "Bye." overlapped by the agent's "Bye-bye."."""
    act = activity((CUSTOMER, 10.0, 12.0), (AGENT, 10.6, 11.6), (AGENT, 0.0, 9.0))
    tr = Transcript("en", (say(CUSTOMER, 10.0, 12.0, "All right, bye."),
                           say(AGENT, 10.6, 11.6, "Bye-bye.")))  # fmt: skip
    (event,) = measure_dynamics(act, tr, 12.0, CFG).interruptions
    assert event.kind == "echo"


def test_latching_onto_a_completed_sentence_is_a_transition() -> None:
    """
    customer  |0 "I need it by Friday." 3.0| "and also the" ... 6.0|
    agent                                   |3.1 "Friday works, I will book it now"-----8.0|
    The customer's sentence was complete when the agent came in (0.1 s later); the customer
    adds an increment and drops out: a transition overlap, not a competitive interruption.
    """
    act = activity((CUSTOMER, 0.0, 6.0), (AGENT, 3.1, 8.0))
    tr = Transcript("en", (
        say(CUSTOMER, 0.0, 3.0, "I need it by Friday."),
        say(CUSTOMER, 3.2, 6.0, "and also the other"),
        say(AGENT, 3.1, 8.0, "Sure I will book it now for you"),
    ))  # fmt: skip
    (event,) = measure_dynamics(act, tr, 8.0, CFG).interruptions
    assert event.kind == "transition"


def test_competitive_only_when_the_other_yields_mid_sentence() -> None:
    """
    customer  |0 "I was charged twice for my bill this" ----------6.0|
    agent                   |3.0 "Calm down that's not my department"-----------8.0|
    The agent comes in 3 s before the customer's end, not echoing; the customer stops while
    the agent goes on -> competitive. If the customer keeps talking past the agent -> attempt.
    """
    tr = Transcript("en", (
        say(CUSTOMER, 0.0, 6.0, "I was charged twice for my bill this month and"),
        say(AGENT, 3.0, 8.0, "Calm down, that's not my department."),
    ))  # fmt: skip
    (yielded,) = measure_dynamics(
        activity((CUSTOMER, 0, 6), (AGENT, 3, 8)), tr, 9.0, CFG
    ).interruptions
    assert yielded.kind == "competitive"
    held = activity((CUSTOMER, 0, 9), (AGENT, 3, 5))
    (kept,) = measure_dynamics(held, tr, 9.0, CFG).interruptions
    assert kept.kind == "attempt"


def test_overlap_is_not_measured_on_a_mono_call() -> None:
    """Mono: one speaker per moment, so the interruption check says "na", never "pass"."""
    from callqa.checks.conversation import CHECKS

    turns = (Turn(AGENT, 0, 2), Turn(CUSTOMER, 2.5, 5))
    stereo = measure_dynamics(activity((AGENT, 0, 2), (CUSTOMER, 2.5, 5)), EMPTY, 5.0, CFG)
    assert stereo.overlap_measured
    assert CHECKS["hear.no_interruptions"](_ctx(stereo)).verdict == "pass"
    mono = measure_dynamics(SpeechActivity(turns, "diarized"), EMPTY, 5.0, CFG)
    assert not mono.overlap_measured
    result = CHECKS["hear.no_interruptions"](_ctx(mono))
    assert result.verdict == "na" and "mono" in result.details["reason"]


def test_interruption_split_by_a_short_pause_is_one_attempt() -> None:
    """
    customer  |2.3--------------------------------8.9|
    agent                         |7.6--8.3|  |8.6---------10.0|
    The agent pauses 0.3 s and goes on: one attempt, overlap 0.7 + 0.3 = 1.0 s, competitive
    (the customer still had 1.3 s to go).
    """
    act = activity((CUSTOMER, 2.3, 8.9), (AGENT, 7.6, 8.3), (AGENT, 8.6, 10.0))
    (event,) = measure_dynamics(act, EMPTY, 10.0, CFG).interruptions
    assert event.kind == "competitive" and event.overlap_s == pytest.approx(1.0)
    assert (event.start, event.end) == (7.6, 8.9)


def test_non_talk_leading_and_trailing_silence() -> None:
    """
    time      0    2    4    6    8    10   12   14   16   18   20
    agent          |----|                        |-|
    customer                 |----|
    gaps: 4-6 (2 s, not non-talk), 8-14 (6 s, non-talk), leading 2 s, trailing 20-15 = 5 s.
    """
    act = activity((AGENT, 2, 4), (CUSTOMER, 6, 8), (AGENT, 14, 15))
    d = measure_dynamics(act, EMPTY, 20.0, CFG)
    assert d.non_talk_count == 1 and d.non_talk_s == 6.0 and d.longest_non_talk_s == 6.0
    assert (d.non_talk[0].start, d.non_talk[0].end) == (8.0, 14.0)
    assert d.non_talk_share == pytest.approx(0.3)
    assert (d.leading_silence_s, d.trailing_silence_s, d.conversation_s) == (2.0, 5.0, 13.0)


def test_response_latency_and_long_responses() -> None:
    """
    customer  |0--2|          |5--6|
    agent           |2.5--4|             |9--10|
    customer->agent gaps: 0.5 and 3.0 s -> median 1.75, p90 2.75; 3.0 > 2.0 listed.
    """
    act = activity((CUSTOMER, 0, 2), (AGENT, 2.5, 4), (CUSTOMER, 5, 6), (AGENT, 9, 10))
    d = measure_dynamics(act, EMPTY, 10.0, CFG)
    assert d.response_latency_median_s == pytest.approx(1.75)
    assert d.response_latency_p90_s == pytest.approx(2.75)
    assert [(p.start, p.end) for p in d.long_responses] == [(6.0, 9.0)]
    # 3 floor switches over 10 s of conversation
    assert d.turn_switches_per_minute == pytest.approx(18.0)


def test_talk_time_share_monologue_and_pace() -> None:
    """
    agent     |0-----------6|         |9--10|
    customer                 |6.5--8.5|
    agent talk 7 s, customer 2 s: share 7/9; agent's longest monologue 0-6.
    13 agent words in 7 s -> 111.429 wpm.
    """
    act = activity((AGENT, 0, 6), (CUSTOMER, 6.5, 8.5), (AGENT, 9, 10))
    tr = Transcript(
        "en",
        (
            say(AGENT, 0, 6, "thank you for calling how can I help you today with your bill"),
            say(CUSTOMER, 6.5, 8.5, "my bill is wrong"),
        ),
    )
    d = measure_dynamics(act, tr, 10.0, CFG)
    assert d.agent_talk_share == pytest.approx(7 / 9, abs=1e-3)
    agent = d.party(AGENT)
    assert agent is not None and agent.talk_s == 7.0 and agent.longest_monologue_s == 6.0
    assert agent.words == 13 and agent.words_per_minute == pytest.approx(13 / (7 / 60), abs=1e-3)
    talk = talk_time(act, 10.0)
    assert [(t.speaker, t.talk_s) for t in talk] == [(AGENT, 7.0), (CUSTOMER, 2.0)]
    assert agent_talk_share(talk) == pytest.approx(7 / 9)


def test_agent_questions_by_mark_and_question_word() -> None:
    tr = Transcript(
        "nb",
        (
            say(AGENT, 0, 4, "Hei. Hva er kundenummeret ditt. Takk."),
            say(AGENT, 5, 7, "Stemmer det?"),
            say(CUSTOMER, 8, 9, "Hva skjer?"),
        ),
    )
    d = measure_dynamics(activity((AGENT, 0, 7), (CUSTOMER, 8, 9)), tr, 9.0, CFG)
    assert [q.text for q in d.agent_questions] == ["Hva er kundenummeret ditt.", "Stemmer det?"]


def test_one_party_silent_the_whole_call() -> None:
    d = measure_dynamics(activity((AGENT, 1, 9)), EMPTY, 10.0, CFG)
    assert d.agent_talk_share == 1.0 and d.interruptions == () and d.overlap_s == 0.0
    assert d.party(CUSTOMER).talk_s == 0.0  # type: ignore[union-attr]
    assert d.response_latency_median_s is None


def test_both_talking_the_whole_call_is_overlap_not_interruption() -> None:
    d = measure_dynamics(activity((AGENT, 0, 60), (CUSTOMER, 0, 60)), EMPTY, 60.0, CFG)
    assert d.overlap_s == 60.0 and d.agent_talk_share == 0.5 and d.interruptions == ()


def test_one_second_call_and_silent_call() -> None:
    d = measure_dynamics(activity((AGENT, 0.1, 0.9)), EMPTY, 1.0, CFG)
    assert d.turn_switches_per_minute is None and d.party(AGENT).words_per_minute is None  # type: ignore[union-attr]
    silent = measure_dynamics(activity(), EMPTY, 1.0, CFG)
    assert silent.agent_talk_share is None and silent.leading_silence_s == 1.0
    assert silent.non_talk_count == 0 and silent.conversation_s == 0.0


def test_thirty_seconds_of_hold_music_at_the_start_is_leading_silence() -> None:
    """Hold music carries no speech turns: 30 s leading silence, not counted as non-talk."""
    act = activity((AGENT, 30, 35), (CUSTOMER, 35.5, 40))
    d = measure_dynamics(act, EMPTY, 40.0, CFG)
    assert d.leading_silence_s == 30.0 and d.non_talk_count == 0 and d.conversation_s == 10.0
    assert d.turn_switches_per_minute == pytest.approx(6.0)


def _ctx(d: object, has_audio: bool = True, **params: object):  # type: ignore[no-untyped-def]
    from callqa.checks.base import CheckContext
    from callqa.measures.metrics import CallMetrics

    return CheckContext(EMPTY, CallMetrics(10.0, dynamics=d), has_audio, params)  # type: ignore[arg-type]


def test_check_no_interruptions_fails_with_the_agents_words() -> None:
    from callqa.checks.conversation import CHECKS

    act = activity((AGENT, 0, 2), (CUSTOMER, 2.5, 10), (AGENT, 6, 12))
    tr = Transcript("en", (say(AGENT, 6, 12, "calm down that is not my department"),))
    d = measure_dynamics(act, tr, 12.0, CFG)
    result = CHECKS["hear.no_interruptions"](_ctx(d))
    assert result.verdict == "fail" and result.score == 0.0
    (ev,) = result.evidence
    assert (ev.start, ev.end) == (6.0, 10.0) and "calm down" in ev.text
    assert CHECKS["hear.no_interruptions"](_ctx(d, max_allowed=1)).verdict == "pass"
    assert CHECKS["hear.no_interruptions"](_ctx(d, min_overlap_s=5.0)).verdict == "pass"
    assert CHECKS["hear.no_interruptions"](_ctx(None)).verdict == "na"
    assert CHECKS["hear.no_interruptions"](_ctx(d, has_audio=False)).verdict == "na"


def test_check_talk_share_threshold_and_partial_score() -> None:
    from callqa.checks.conversation import CHECKS

    check = CHECKS["hear.talk_share"]
    listening = measure_dynamics(activity((AGENT, 0, 4), (CUSTOMER, 4, 10)), EMPTY, 10.0, CFG)
    assert check(_ctx(listening)).verdict == "pass"  # share 0.4
    talking = measure_dynamics(activity((AGENT, 0, 7), (CUSTOMER, 7, 10)), EMPTY, 10.0, CFG)
    result = check(_ctx(talking))  # share 0.7: halfway between 0.6 and 0.8
    assert result.verdict == "fail" and result.score == pytest.approx(0.5)
    assert result.evidence[0].start == 0.0 and result.evidence[0].end == 7.0
    silent = measure_dynamics(activity(), EMPTY, 10.0, CFG)
    assert check(_ctx(silent)).verdict == "na"
