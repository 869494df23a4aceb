"""Rubric loading (errors name the key and file), running, scoring arithmetic, and the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from callqa.checks import registry
from callqa.cli.rubric import register
from callqa.errors import ConfigError
from callqa.measures.metrics import CallMetrics
from callqa.measures.voice import LoudnessStats, PaceStats, PitchStats, SpeakerVoice, VoiceMetrics
from callqa.scoring.rubric import (
    DEFAULT_RUBRIC,
    NA_RULES,
    Rubric,
    RubricItem,
    RubricSection,
    format_rubric,
    load_rubric,
)
from callqa.scoring.score import run_checks, score_checks
from callqa.types import AGENT, CUSTOMER, CheckResult, Evidence, Transcript, Utterance

MINI = """
name = "mini"
auto_fail_cap = 40
min_words = 0  # the tests call on single lines

[[sections]]
id = "empathise"
title = "Empathise"

[[sections.items]]
check = "empathise.apology"
title = "Apologises"
weight = 2
na_if = ["no_complaint"]

[[sections.items]]
check = "empathise.empathy"
title = "Empathy"
weight = 1
params = { require_complaint = true }

[[sections]]
id = "positive"
title = "Positive"

[[sections.items]]
check = "positive.forbidden_phrases"
title = "No forbidden phrases"
weight = 1
auto_fail = true
"""


def write(tmp_path: Path, text: str, name: str = "r.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_default_rubric_loads_and_names_every_section() -> None:
    rubric = load_rubric()
    assert rubric.name == "default" and rubric.source == str(DEFAULT_RUBRIC)
    assert [s.id for s in rubric.sections] == [
        "open",
        "hear",
        "empathise",
        "lead",
        "action",
        "positive",
        "tone",
        "outcome",
    ]
    ids = {i.check for _, i in rubric.items}
    assert {
        "hear.no_interruptions",
        "hear.talk_share",
        "tone.steady_under_pressure",
        "tone.not_monotone",
        "tone.pace",
        "tone.no_raised_voice",
        "outcome.customer_calmer",
        "outcome.low_point_response",
    } <= ids
    assert ids <= set(registry())


def test_mini_rubric(tmp_path: Path) -> None:
    rubric = load_rubric(write(tmp_path, MINI))
    assert rubric.auto_fail_cap == 40.0
    item = rubric.sections[0].items[0]
    assert (item.check, item.weight, item.na_if) == ("empathise.apology", 2.0, ("no_complaint",))
    assert rubric.sections[0].items[1].params == {"require_complaint": True}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('name = "mini"', 'name = "mini"\ncolour = "red"'),
            "unknown key 'colour' in the top level",
        ),
        (
            ('title = "Apologises"', 'title = "Apologises"\nscore = 3'),
            "unknown key 'score' in item",
        ),
        (('id = "positive"', 'id = "positive"\nweight = 2'), "unknown key 'weight' in section 2"),
        (
            ('check = "empathise.apology"', 'check = "empathise.sorry"'),
            "unknown check id 'empathise.sorry'",
        ),
        (("weight = 2", "weight = 0"), "weight of item 'empathise.apology' must be > 0"),
        (("weight = 2", "weight = -1.5"), "must be > 0"),
        (
            ("weight = 2", 'weight = "heavy"'),
            "'weight' in item 'empathise.apology' has the wrong type",
        ),
        (("weight = 2", "weight = true"), "has the wrong type"),
        (
            ('na_if = ["no_complaint"]', 'na_if = ["rainy_day"]'),
            "na_if of item 'empathise.apology'",
        ),
        (
            ("require_complaint = true", "require_complain = true"),
            "unknown key 'require_complain' in params of empathise.empathy",
        ),
        (
            ("require_complaint = true", "require_complaint = 3"),
            "params.require_complaint of empathise.empathy must be bool",
        ),
        (
            ("auto_fail_cap = 40", "auto_fail_cap = 140"),
            "auto_fail_cap must be a number from 0 to 100",
        ),
        (
            ('check = "empathise.empathy"', 'check = "empathise.apology"'),
            "item (check) 'empathise.apology' appears twice",
        ),
    ],
)
def test_invalid_rubrics_name_key_and_file(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    old, new = edit
    assert old in MINI
    path = write(tmp_path, MINI.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_rubric(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_rubric(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_rubric(write(tmp_path, "[[sections]\n"))
    with pytest.raises(ConfigError, match="lacks 'sections'"):
        load_rubric(write(tmp_path, "name = 'x'\n"))


# --- scoring arithmetic -------------------------------------------------------------------


def _rubric(cap: float = 0.0) -> Rubric:
    a = RubricItem("empathise.apology", "A", 2.0)
    b = RubricItem("empathise.empathy", "B", 1.0)
    c = RubricItem("positive.negative_language", "C", 1.0)
    d = RubricItem("positive.forbidden_phrases", "D", 3.0, auto_fail=True)
    return Rubric(
        "t", (RubricSection("e", "E", (a, b)), RubricSection("p", "P", (c, d))), auto_fail_cap=cap
    )


def _result(cid: str, verdict: str, score: float | None) -> CheckResult:
    return CheckResult(cid, verdict, score)  # type: ignore[arg-type]


def test_weighted_scores_by_hand() -> None:
    checks = (
        _result("empathise.apology", "pass", 1.0),
        _result("empathise.empathy", "pass", 0.5),
        _result("positive.negative_language", "fail", 0.25),
        _result("positive.forbidden_phrases", "pass", 1.0),
    )
    sections, overall, failed = score_checks(_rubric(), checks)
    # section e: (2*1 + 1*0.5) / 3 = 0.8333; section p: (1*0.25 + 3*1) / 4 = 0.8125
    assert sections[0].score == pytest.approx(83.33)
    assert sections[1].score == pytest.approx(81.25)
    # overall over all items: (2 + 0.5 + 0.25 + 3) / 7 = 0.82143
    assert overall == pytest.approx(82.14)
    assert failed == ()
    assert [i.weight for i in sections[0].items] == [2.0, 1.0]
    assert sections[1].items[1].auto_fail is True


def test_na_items_are_left_out() -> None:
    checks = (
        _result("empathise.apology", "na", None),
        _result("empathise.empathy", "pass", 0.5),
        _result("positive.negative_language", "na", None),
        _result("positive.forbidden_phrases", "pass", 1.0),
    )
    sections, overall, _ = score_checks(_rubric(), checks)
    assert sections[0].score == pytest.approx(50.0)
    assert sections[1].score == pytest.approx(100.0)
    assert overall == pytest.approx(100 * (0.5 + 3) / 4)


def test_all_na_gives_none_and_missing_results_count_as_na() -> None:
    sections, overall, failed = score_checks(_rubric(), ())
    assert overall is None and failed == ()
    assert all(s.score is None for s in sections)
    assert sections[0].items[0].verdict == "na"


def test_auto_fail_caps_the_overall_score() -> None:
    checks = (
        _result("empathise.apology", "pass", 1.0),
        _result("empathise.empathy", "pass", 1.0),
        _result("positive.negative_language", "pass", 1.0),
        _result("positive.forbidden_phrases", "fail", 0.0),
    )
    sections, overall, failed = score_checks(_rubric(cap=30.0), checks)
    assert failed == ("positive.forbidden_phrases",)
    assert overall == 30.0  # uncapped: (2 + 1 + 1 + 0) / 7 = 57.14
    assert sections[0].score == 100.0  # sections are not capped
    _, overall, _ = score_checks(_rubric(cap=0.0), checks)
    assert overall == 0.0


# --- running ------------------------------------------------------------------------------


def _call(lines: list[tuple[str, str]], language: str = "en") -> Transcript:
    segs, t = [], 0.0
    for speaker, text in lines:
        segs.append(Utterance(speaker, t, t + 2.0, text))
        t += 2.5
    return Transcript(language, tuple(segs), language_source="file")


def test_run_checks_applies_na_rules_and_params(tmp_path: Path) -> None:
    rubric = load_rubric(write(tmp_path, MINI))
    calm = _call(
        [(CUSTOMER, "I'd like to change my address."), (AGENT, "Sure, I understand. Calm down.")]
    )
    results = run_checks(rubric, calm, CallMetrics(duration_s=5.0), has_audio=False)
    assert [r.id for r in results] == [
        "empathise.apology",
        "empathise.empathy",
        "positive.forbidden_phrases",
    ]
    assert results[0].verdict == "na"
    assert results[0].details["reason"] == "the customer stated no problem or complaint"
    assert results[1].verdict == "na"  # require_complaint = true from the rubric's params
    assert results[2].verdict == "fail"
    _, overall, failed = score_checks(rubric, results)
    assert failed == ("positive.forbidden_phrases",) and overall == 0.0


def test_a_customer_without_words_states_no_complaint_to_answer() -> None:
    # Only the agent was transcribed (the customer's turns got no words): the default rubric's
    # empathy item is "na" by its no_complaint rule, not a fail for ignoring a complaint nobody
    # heard; an unsupported language stays unjudged by the rule (the check says why itself).
    rubric = load_rubric()
    words = "Thanks for calling Nordic Telecom, this is Anna. Let me look at your account. " * 3
    only_agent = _call([(AGENT, words), (AGENT, "Is there anything else? Goodbye.")])
    results = {r.id: r for r in run_checks(rubric, only_agent, CallMetrics(duration_s=5.0),
                                           has_audio=False)}  # fmt: skip
    assert results["empathise.empathy"].verdict == "na"
    assert results["empathise.empathy"].details["reason"] == NA_RULES["no_complaint"]
    german = _call([(AGENT, "Danke für Ihren Anruf, hier spricht Anna. " * 5)], language="de")
    results = {r.id: r for r in run_checks(rubric, german, CallMetrics(duration_s=2.0),
                                           has_audio=False)}  # fmt: skip
    assert results["empathise.empathy"].details["reason"] == "language de not supported"


def test_no_audio_rule_on_default_rubric() -> None:
    rubric = load_rubric()
    t = _call([(AGENT, "Hello, thanks for calling Nordic Telecom, this is Anna, how can I help?")])
    results = {r.id: r for r in run_checks(rubric, t, CallMetrics(duration_s=2.0), has_audio=False)}
    assert results["tone.pace"].verdict == "na"
    assert results["open.greeting"].verdict == "pass"


def test_a_call_with_almost_no_words_is_not_judged() -> None:
    rubric = load_rubric()
    t = _call([(AGENT, "Hello?"), (CUSTOMER, "Hello, can you hear me?")])
    results = run_checks(rubric, t, CallMetrics(duration_s=30.0), has_audio=True)
    assert {r.verdict for r in results} == {"na"}
    assert "too little speech was transcribed to judge the call (6 words)" in {
        r.details["reason"] for r in results
    }
    _, score, failed = score_checks(rubric, results)
    assert score is None and failed == ()


def test_user_phrase_pack_from_rubric(tmp_path: Path) -> None:
    write(tmp_path, 'language = "en"\nforbidden = ["no can do"]\n', "extra_en.toml")
    text = MINI.replace('name = "mini"', 'name = "mini"\nphrase_packs = ["extra_en.toml"]')
    rubric = load_rubric(write(tmp_path, text))
    t = _call([(AGENT, "Sorry, no can do.")])
    results = {r.id: r for r in run_checks(rubric, t, CallMetrics(duration_s=2.0), has_audio=False)}
    assert results["positive.forbidden_phrases"].details["phrases"] == ["no can do"]


# --- CLI ----------------------------------------------------------------------------------


@pytest.fixture()
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command so "rubric" stays a sub-command group
        """Unused."""

    return app


def test_rubric_show(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["rubric", "show"])
    assert result.exit_code == 0
    assert result.output == format_rubric(load_rubric()) + "\n"
    assert "positive.forbidden_phrases" in result.output and "AUTO-FAIL" in result.output


def test_rubric_check_valid_and_invalid(app: typer.Typer, tmp_path: Path) -> None:
    good = write(tmp_path, MINI)
    result = CliRunner().invoke(app, ["rubric", "check", str(good)])
    assert result.exit_code == 0
    assert result.output == f"{good}: valid rubric 'mini' (2 sections, 3 items)\n"
    bad = write(tmp_path, MINI.replace("weight = 2", "weight = 0"), "bad.toml")
    result = CliRunner().invoke(app, ["rubric", "check", str(bad)])
    assert result.exit_code == 2  # a bad rubric is a usage error, as with --rubric
    assert (
        result.output
        == f"Error: {bad}: weight of item 'empathise.apology' must be > 0 and <= 1000, got 0\n"
    )


def test_rubric_help_has_examples(app: typer.Typer) -> None:
    for cmd in ("show", "check", "init"):
        result = CliRunner().invoke(app, ["rubric", cmd, "--help"])
        assert result.exit_code == 0 and "Example: callqa rubric" in result.output


# --- extending the default rubric, phrase items, rubric init ------------------------------

EXTENDS = """
name = "acme"
extends = "default"
remove = ["tone.not_monotone", "hear.no_repeat"]

[items."hear.talk_share"]
weight = 3.0
params = { max = 0.7 }

[[sections]]
id = "open"
[[sections.items]]
id = "open.recording_disclosure"
title = "Says the call is recorded"
weight = 1.0
first_turns = 2
auto_fail = true
phrases = { en = ["this call is recorded", "call may be recorded"], no = ["samtalen tas opp"] }

[[sections]]
id = "brand"
title = "Brand"
[[sections.items]]
id = "brand.no_cheap"
title = "Never calls the product cheap"
weight = 1.0
mode = "forbidden"
phrases = { en = ["cheap"] }
"""


def test_a_rubric_extends_the_default_and_overrides_items(tmp_path: Path) -> None:
    rubric = load_rubric(write(tmp_path, EXTENDS))
    default = load_rubric()
    ids = [i.check for _, i in rubric.items]
    assert "tone.not_monotone" not in ids and "hear.no_repeat" not in ids
    assert len(ids) == len(list(default.items)) - 2 + 2
    talk = next(i for _, i in rubric.items if i.check == "hear.talk_share")
    base = next(i for _, i in default.items if i.check == "hear.talk_share")
    assert talk.weight == 3.0 and talk.params["max"] == 0.7
    assert talk.na_if == base.na_if and talk.title == base.title  # the rest is inherited
    sections = {s.id: s for s in rubric.sections}
    assert [i.check for i in sections["open"].items][-1] == "open.recording_disclosure"
    assert sections["open"].title == "Open and close the call"  # kept from the base
    assert [s.id for s in rubric.sections][-1] == "brand"
    assert rubric.name == "acme" and rubric.auto_fail_cap == default.auto_fail_cap


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('remove = ["hear.nope"]', "remove names 'hear.nope', which the base rubric lacks"),
        ('[items."hear.nope"]\nweight = 2', '[items."hear.nope"] changes an item the base'),
        ('[items."hear.talk_share"]\ncolour = 2', "unknown key 'colour' in [items."),
        ('[items."hear.talk_share"]\nparams = { maximum = 2 }', "unknown key 'maximum' in params"),
    ],
)
def test_bad_extensions_name_the_key(tmp_path: Path, change: str, message: str) -> None:
    path = write(tmp_path, f'extends = "default"\n{change}\n')
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_rubric(path)


def test_phrase_items_need_no_python(tmp_path: Path) -> None:
    rubric = load_rubric(write(tmp_path, EXTENDS))
    said = _call(
        [
            (AGENT, "Hello, this call is recorded for training. How can I help?"),
            (CUSTOMER, "My bill is wrong."),
            (AGENT, "That is a cheap fix, sorry."),
        ]
    )
    results = {r.id: r for r in run_checks(rubric, said, CallMetrics(duration_s=8.0),
                                           has_audio=False)}  # fmt: skip
    disclosure = results["open.recording_disclosure"]
    assert disclosure.verdict == "pass" and disclosure.details["said"] == ["this call is recorded"]
    assert disclosure.evidence[0].text.startswith("Hello, this call is recorded")
    assert results["brand.no_cheap"].verdict == "fail"
    assert results["brand.no_cheap"].tip.startswith("Do not say “cheap”")
    silent = _call([(AGENT, "Hello, how can I help?"), (CUSTOMER, "Hi."), (AGENT, "Fine."),
                    (CUSTOMER, "Good."), (AGENT, "This call is recorded.")])  # fmt: skip
    late = {r.id: r for r in run_checks(rubric, silent, CallMetrics(duration_s=8.0),
                                        has_audio=False)}  # fmt: skip
    assert late["open.recording_disclosure"].verdict == "fail"  # said, but not in 2 turns
    _, overall, failed = score_checks(rubric, tuple(late.values()))
    assert "open.recording_disclosure" in failed and overall == 0.0  # auto-fail
    finnish = _call(
        [(AGENT, "Hei, täällä on Anna asiakaspalvelusta, miten voin auttaa teitä tänään?")],
        language="fi",
    )
    fi = {r.id: r for r in run_checks(rubric, finnish, CallMetrics(duration_s=3.0),
                                      has_audio=False)}  # fmt: skip
    assert fi["open.recording_disclosure"].verdict == "na"
    assert fi["open.recording_disclosure"].details["reason"] == "the rubric gives no phrases for fi"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ('id = "hear.paraphrase"\nphrases = { en = ["x"] }', "must be new"),
        ('id = "nodot"\nphrases = { en = ["x"] }', "look like 'section.name'"),
        ('id = "a.b"\nphrases = { en = [] }', "phrases.en of item 'a.b' must be a non-empty"),
        ('id = "a.b"\nphrases = { en = ["x"] }\nmode = "maybe"', "mode must be one of"),
        ('id = "a.b"\nphrases = { en = ["x"] }\nfirst_turns = -1', "first_turns of item"),
    ],
)
def test_bad_phrase_items(tmp_path: Path, item: str, message: str) -> None:
    text = f'name = "x"\n[[sections]]\nid = "a"\n[[sections.items]]\nweight = 1\n{item}\n'
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_rubric(write(tmp_path, text))


def test_rubric_init_writes_a_starter_that_checks(app: typer.Typer, tmp_path: Path) -> None:
    target = tmp_path / "team.toml"
    result = CliRunner().invoke(app, ["rubric", "init", str(target)])
    assert result.exit_code == 0 and target.is_file()
    assert CliRunner().invoke(app, ["rubric", "check", str(target)]).exit_code == 0
    assert len(list(load_rubric(target).items)) == len(list(load_rubric().items))
    again = CliRunner().invoke(app, ["rubric", "init", str(target)])
    assert again.exit_code == 2 and "exists; add --force" in again.output
    full = tmp_path / "full.toml"
    assert CliRunner().invoke(app, ["rubric", "init", str(full), "--full"]).exit_code == 0
    assert full.read_text() == DEFAULT_RUBRIC.read_text()


def test_the_starters_examples_work_uncommented(tmp_path: Path) -> None:
    """Every commented example in the starter rubric is valid as written."""
    from callqa.scoring.rubric import STARTER_RUBRIC

    lines = STARTER_RUBRIC.read_text().splitlines()
    code = re.compile(r"# ([a-z_]+ = |\[)")  # "# weight = 2.0", "# [items...]"; not prose
    example = [ln[2:] if code.match(ln) else ln for ln in lines]
    rubric = load_rubric(write(tmp_path, "\n".join(example)))
    ids = [i.check for _, i in rubric.items]
    assert "open.recording_disclosure" in ids and "tone.not_monotone" not in ids


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "weight = 1e308",
            "weight of item 'empathise.apology' must be > 0 and <= 1000, got 1e+308",
        ),
        ("weight = inf", "weight of item 'empathise.apology' must be > 0 and <= 1000, got inf"),
        ("weight = nan", "weight of item 'empathise.apology' must be > 0 and <= 1000, got nan"),
        (
            "weight = 1.0\nparams = { max_repeats = -1 }",
            "params.max_repeats of empathise.apology must be >= 0 and <= 1000, got -1",
        ),
    ],
)
def test_rubric_values_out_of_range(tmp_path: Path, line: str, message: str) -> None:
    """Weights of 1e308 or inf used to pass and null every score; a negative count too."""
    text = DEFAULT_RUBRIC.read_text(encoding="utf-8")
    old = 'check = "empathise.apology"\ntitle = "Apologises for the problem, after hearing it"\n'
    assert old + "weight = 2.0" in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old + "weight = 2.0", old + line), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_rubric(bad)
    assert str(info.value) == f"{bad}: {message}"


def test_rubric_read_is_capped(tmp_path: Path) -> None:
    """/dev/zero used to be read until memory ran out; a file over the cap is refused unread."""
    from callqa.config import LimitsConfig

    with pytest.raises(ConfigError, match=r"^rubric /dev/zero is not a regular file; give a"):
        load_rubric(Path("/dev/zero"))
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 20_000, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big.toml is 200,000 bytes, more than the 100,000"):
        load_rubric(big, limits=LimitsConfig(max_rubric_bytes=100_000))


def test_evidence_times_are_clamped_to_the_call() -> None:
    assert Evidence(AGENT, -0.75, 1.25, "x").clamped(10.0) == Evidence(AGENT, 0.0, 1.25, "x")
    assert Evidence(AGENT, 9.5, 11.0, "x").clamped(10.0) == Evidence(AGENT, 9.5, 10.0, "x")
    assert Evidence(AGENT, 12.0, 13.0, "x").clamped(10.0) == Evidence(AGENT, 10.0, 10.0, "x")
    result = CheckResult("a.b", "fail", 0.0, (Evidence(AGENT, -1.0, 0.5, "hi"),))
    assert result.clamped(5.0).evidence == (Evidence(AGENT, 0.0, 0.5, "hi"),)


def test_run_checks_never_writes_evidence_before_the_call_starts() -> None:
    """The loudest agent step at 0.25 s: the tone check quotes a second either side of it."""
    levels = (-10.0, *([-20.0] * 19))
    agent = SpeakerVoice(
        speaker=AGENT, channel=0, dominant_s=10.0, reason=None,
        pitch=PitchStats(150.0, 3.0, 9.0, 10.0),
        loudness=LoudnessStats(-20.0, 3.0, -21.0, -20.0, 150.0),
        pace=PaceStats(0, 10.0, 0.0, None, None), quarters=(), raised=(),
        contour_t=tuple(0.25 + 0.5 * i for i in range(20)),
        contour_f0_hz=(150.0,) * 20, contour_level_db=levels,
    )  # fmt: skip
    metrics = CallMetrics(10.0, voice=VoiceMetrics((agent,), None, None))
    said = _call([(AGENT, "Hello there, thank you for calling, how can I help you today?")])
    results = run_checks(load_rubric(), said, metrics, has_audio=True)
    evidence = [e for r in results for e in r.evidence]
    assert evidence and all(0.0 <= e.start <= e.end <= 10.0 for e in evidence)
    raised = next(r for r in results if r.id == "tone.no_raised_voice")
    assert raised.evidence[0].start == 0.0


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.toml": 'extends = "b.toml"', "b.toml": 'extends = "a.toml"'},
         "the rubrics extend each other in a loop (a.toml -> b.toml -> a.toml)"),
        ({"a.toml": 'extends = "default"\n[items."open.greeting"]\nparams = "x"'},
         '[items."open.greeting"] and its params must be tables'),
        ({"a.toml": 'extends = "default"\n[items."tone.pace"]\nparams = {max_wpm = {en = "x"}}'},
         "params.max_wpm of tone.pace holds 'x'; its values are like 190.0"),
        ({"a.toml": 'extends = "default"\n[items."hear.no_interruptions"]\n'
                    'params = {kinds = ["bogus"]}'},
         "kinds of hear.no_interruptions: 'bogus' is none of"),
        ({"a.toml": '[[sections]]\nid = "a"\nitems = []'}, "section 'a' has no items"),
    ],
)  # fmt: skip
def test_rubrics_that_failed_later_are_refused_when_read(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    """Each of these had passed `rubric check` or printed a traceback (a loop: 3,000 lines of
    RecursionError), then failed every call as an internal error."""
    for name, text in files.items():
        (tmp_path / name).write_text(text + "\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_rubric(tmp_path / "a.toml")


def test_a_rubric_that_removes_every_item_is_refused(tmp_path: Path) -> None:
    every = [i.check for _, i in load_rubric().items]
    (tmp_path / "a.toml").write_text(f'extends = "default"\nremove = {every!r}\n'.replace("'", '"'))
    with pytest.raises(ConfigError, match="the rubric has no items left"):
        load_rubric(tmp_path / "a.toml")


def test_a_phrase_pack_the_rubric_names_must_exist(tmp_path: Path) -> None:
    """A missing pack had passed `rubric check`, then failed every call."""
    packs = 'name = "mini"\nphrase_packs = ["x.toml"]'
    path = write(tmp_path, MINI.replace('name = "mini"', packs))
    with pytest.raises(ConfigError, match=r"phrase pack .*x\.toml: No such file or directory"):
        load_rubric(path)
