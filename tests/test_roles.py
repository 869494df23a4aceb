"""Who is the agent: given channel, decided from speech (en, nb), or unknown."""

from __future__ import annotations

from callqa.measures.roles import apply_roles, decide_roles
from callqa.types import SpeakerCount, SpeechActivity, Transcript, Turn, Utterance, Word


def mono(
    *lines: tuple[str, float, float, str], lang: str = "en"
) -> tuple[SpeechActivity, Transcript]:
    turns = tuple(Turn(s, a, b) for s, a, b, _ in lines)
    segs = tuple(
        Utterance(s, a, b, text, (Word(text.split()[0], a, b, s),)) for s, a, b, text in lines
    )
    speakers = tuple(sorted({t.speaker for t in turns}))
    return SpeechActivity(turns, "test", speakers=speakers), Transcript(lang, segs)


def test_given_channel_needs_no_decision() -> None:
    act = SpeechActivity(
        (Turn("left", 0, 1), Turn("right", 1, 2)),
        "test",
        speakers=("left", "right"),
        channel_map=(("left", 0), ("right", 1)),
    )
    d = decide_roles(act, Transcript("en", ()), "right", "en")
    assert (d.agent, d.method, d.confidence) == ("right", "channel", 1.0)
    new, _ = apply_roles(act, Transcript("en", ()), d)
    assert new.channel_map == (("customer", 0), ("agent", 1)) and new.roles == d
    assert [t.speaker for t in new.turns] == ["customer", "agent"]


def test_auto_english_agent_found_even_when_the_customer_speaks_first() -> None:
    act, tr = mono(
        ("spk0", 0.0, 1.0, "Hello?"),
        ("spk1", 1.5, 5.0, "Thank you for calling Acme, my name is Ann. How can I help you?"),
        ("spk0", 5.5, 9.0, "I'm calling about my bill, I was charged twice."),
        ("spk1", 9.5, 12.0, "I'm sorry. Can I have your account number?"),
    )
    d = decide_roles(act, tr, "auto", "en")
    assert d.agent == "spk1" and d.method == "auto" and d.confidence > 0.8
    assert "thank you for calling" in d.reason
    new_act, new_tr = apply_roles(act, tr, d)
    assert new_act.speakers == ("agent", "customer")
    assert [s.speaker for s in new_tr.segments] == ["customer", "agent", "customer", "agent"]
    assert new_tr.segments[1].words[0].speaker == "agent"


def test_auto_norwegian() -> None:
    act, tr = mono(
        ("spk0", 0.0, 3.0, "Hei, jeg ringer fordi regningen min er feil."),
        ("spk1", 3.5, 7.0, "Takk for at du ringte. Kan jeg få kundenummeret ditt?"),
        lang="no",
    )
    d = decide_roles(act, tr, "auto", "no")
    assert d.agent == "spk1" and d.confidence > 0.8


def test_stereo_auto_decides_from_speech() -> None:
    act = SpeechActivity(
        (Turn("left", 0, 3), Turn("right", 3.5, 6)),
        "test",
        speakers=("left", "right"),
        channel_map=(("left", 0), ("right", 1)),
    )
    tr = Transcript(
        "en",
        (
            Utterance("left", 0, 3, "Hi, I want to cancel my order."),
            Utterance("right", 3.5, 6, "Welcome to Acme, how may I help?"),
        ),
    )
    assert decide_roles(act, tr, "auto", "en").agent == "right"


def test_without_cues_the_first_speaker_is_the_agent_with_low_confidence() -> None:
    act, tr = mono(("spk1", 0.0, 2.0, "Good morning."), ("spk0", 2.5, 4.0, "Morning."))
    d = decide_roles(act, tr, "auto", "fi")
    assert d.agent == "spk1" and d.confidence < 0.6 and "first" in d.reason


def test_one_speaker_means_unknown_roles() -> None:
    act, tr = mono(("unknown", 0.0, 5.0, "Thank you for calling."))
    d = decide_roles(act, tr, "auto", "en")
    assert (d.agent, d.method) == ("unknown", "none")
    new_act, new_tr = apply_roles(act, tr, d)
    assert new_act.speakers == ("unknown",) and new_tr.segments[0].speaker == "unknown"


AGENT_LINE = "Thank you for calling Acme, my name is Ann. How can I help you?"


def test_guard_lowers_confidence_on_a_collapsed_split() -> None:
    """The customer keeps 2.6 s of 95 s (a merged pair of voices): warn, halve the confidence."""
    act, tr = mono(
        ("spk0", 0.0, 50.0, AGENT_LINE),
        ("spk1", 50.5, 53.1, "I was charged twice."),
        ("spk0", 53.5, 95.0, "I'm sorry. Can I have your account number?"),
    )
    sound, _ = mono(
        ("spk0", 0.0, 50.0, AGENT_LINE),
        ("spk1", 50.5, 90.0, "I was charged twice."),
    )
    normal = decide_roles(sound, tr, "auto", "en")
    d = decide_roles(act, tr, "auto", "en")
    assert d.agent == "spk0" and d.confidence == round(normal.confidence * 0.5, 2)
    assert "only 3% of the talk" in d.reason and "one voice split in two" in d.reason


def test_guard_fires_when_the_voices_do_not_separate() -> None:
    act, tr = mono(("spk0", 0.0, 10.0, AGENT_LINE), ("spk1", 10.5, 20.0, "I was charged twice."))
    alike = SpeakerCount(2, 30, 0.89, (0.5, 0.5), "two voices")
    apart = SpeakerCount(2, 30, 0.70, (0.5, 0.5), "two voices")
    sure = decide_roles(
        SpeechActivity(act.turns, "t", act.speakers, voices=apart), tr, "auto", "en"
    )
    unsure = decide_roles(
        SpeechActivity(act.turns, "t", act.speakers, voices=alike), tr, "auto", "en"
    )
    assert sure.confidence > 0.6 and unsure.confidence == round(sure.confidence * 0.5, 2)
    assert "alike" in unsure.reason and "alike" not in sure.reason
    assert "may be one voice" in unsure.reason  # single real voices split in two sit at 0.90


def test_three_voices_keep_the_two_main_parties() -> None:
    act, tr = mono(
        ("spk0", 0.0, 10.0, AGENT_LINE),
        ("spk1", 10.5, 20.0, "I was charged twice."),
        ("spk2", 20.5, 22.0, "Hi dad."),
    )
    d = decide_roles(act, tr, "auto", "en")
    new, text = apply_roles(act, tr, d)
    assert [t.speaker for t in new.turns] == ["agent", "customer", "unknown"]
    assert [s.speaker for s in text.segments] == ["agent", "customer", "unknown"]
