"""Human review: agreement statistics with hand-computed answers, final scores through the
machine score's own weighting, the reviews file reader, the queue's order and the threshold
fit (docs/review.md)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from callqa.pipeline import score_transcript
from callqa.review import agreement as ag
from callqa.review.calibrate import OVERALL, calibrate
from callqa.review.files import (
    ReviewFileError,
    duplicate_problems,
    parse_reviews,
    parse_time,
    read_reviews_file,
)
from callqa.review.fit import fit_thresholds, overlay_text
from callqa.review.queue import MIN_HISTORY, review_queue
from callqa.review.render import calibration_json, calibration_markdown, calibration_table
from callqa.review.reviews import StoredReview, latest_by_item, with_final
from callqa.scoring.final import HumanVerdict, final_score
from callqa.scoring.rubric import Rubric, RubricItem, RubricSection, load_rubric
from callqa.scoring.score import score_checks
from callqa.scoring.scorecard import to_dict
from callqa.types import (
    AGENT,
    CUSTOMER,
    CheckResult,
    ItemScore,
    SectionScore,
    Transcript,
    Utterance,
)

T0 = datetime(2025, 1, 1)


def review(
    sha: str, item: str, verdict: str, reviewer: str = "ann", n: int = 1, at: datetime | None = None
) -> StoredReview:
    return StoredReview(n, sha, f"call-{sha}", item, verdict, reviewer, "", at, T0, "import")  # type: ignore[arg-type]


def card(
    checks: dict[str, tuple[str, float | None]],
    *,
    score: float | None = None,
    auto_failed: tuple[str, ...] = (),
    review: tuple[dict[str, Any], ...] = (),
    auto: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A scorecard's JSON form with just what the store views read: checks and sections."""
    items = [
        {
            "id": i,
            "section": i.split(".")[0],
            "title": i,
            "weight": 1.0,
            "verdict": v,
            "score": None if v == "na" else float(v == "pass"),
            "auto_fail": i in auto,
        }
        for i, (v, _) in checks.items()
    ]
    return {
        "call_id": "x",
        "score": score,
        "auto_failed": list(auto_failed),
        "review": list(review),
        "checks": [{"id": i, "verdict": v, "confidence": c} for i, (v, c) in checks.items()],
        "sections": [{"id": "s", "title": "S", "score": score, "items": items}],
    }


def row(sha: str, c: dict[str, Any], call_id: str | None = None) -> dict[str, Any]:
    return {
        "audio_sha256": sha,
        "call_id": call_id or f"call-{sha}",
        "scorecard": c,
        "score": c.get("score"),
        "sections": {"s": c.get("score")},
        "failed_items": [x["id"] for x in c["checks"] if x["verdict"] == "fail"],
    }


# -- agreement, known answers -----


def test_cohen_kappa_by_hand() -> None:
    """Confusion (rows human, columns callqa) [[4,1,0],[1,3,0],[0,0,1]]: p_o = 8/10;
    marginals 5/4/1 both ways, p_e = (25 + 16 + 1) / 100 = 0.42; kappa = 0.38 / 0.58."""
    pairs = (
        [("pass", "pass")] * 4
        + [("pass", "fail")]
        + [("fail", "pass")]
        + [("fail", "fail")] * 3
        + [("na", "na")]
    )
    result = ag.agreement([[p] for p in pairs])
    assert result.n == 10 and result.accuracy == pytest.approx(0.8)
    assert result.kappa == pytest.approx(0.38 / 0.58)
    assert result.confusion == ((4, 1, 0), (1, 3, 0), (0, 0, 1))
    assert result.kappa_ci is not None and result.accuracy_ci is not None
    low, high = result.kappa_ci
    assert low <= result.kappa <= high  # type: ignore[operator]
    again = ag.agreement([[p] for p in pairs])
    assert again.kappa_ci == result.kappa_ci  # a fixed seed: the same interval every run


def test_kappa_of_one_class_is_undefined_and_said_so() -> None:
    result = ag.agreement([[("pass", "pass")]] * 6)
    assert result.accuracy == 1.0 and result.kappa is None
    assert result.kappa_note == "undefined: every verdict is 'pass' (one class only)"
    assert ag.agreement([]).kappa is None and ag.agreement([]).kappa_note == "no pairs"


def test_kappa_when_only_the_reviewer_uses_one_class() -> None:
    """Human always pass, callqa 8 pass 2 fail: p_o = 0.8 = p_e (1 x 0.8): kappa 0, defined."""
    result = ag.agreement([[("pass", "pass")]] * 8 + [[("pass", "fail")]] * 2)
    assert result.kappa == pytest.approx(0.0)


def test_fleiss_kappa_by_hand() -> None:
    """(pass, pass), (pass, fail), (fail, fail): P_i = 1, 0, 1, P = 2/3; p = 0.5 each,
    P_e = 0.5; kappa = (2/3 - 1/2) / (1/2) = 1/3."""
    result = ag.fleiss([["pass", "pass"], ["pass", "fail"], ["fail", "fail"], ["na"]])
    assert result.subjects == 3 and result.ratings == 6
    assert result.agreement == pytest.approx(2 / 3) and result.kappa == pytest.approx(1 / 3)
    same = ag.fleiss([["fail", "fail"], ["fail", "fail", "fail"]])
    assert same.kappa is None and "one class only" in same.kappa_note


def test_bootstrap_resamples_calls_not_pairs() -> None:
    """One call holding every pair: every resample is that call, so the interval is a point."""
    pairs = [("pass", "pass"), ("fail", "fail"), ("pass", "fail")]
    result = ag.agreement([pairs])
    assert result.accuracy_ci == (pytest.approx(2 / 3), pytest.approx(2 / 3))


# -- calibration over calls and reviews -----


def test_calibration_known_answers_and_degenerate_cases() -> None:
    """Item a: the 10-pair confusion above. Item b: one class only. Item c: never reviewed.
    Reviewer bob judged call 1's item a twice: his latest verdict counts."""
    human = ["pass"] * 5 + ["fail"] * 4 + ["na"]
    machine = ["pass"] * 4 + ["fail"] + ["pass"] + ["fail"] * 3 + ["na"]
    rows = [
        row(str(n), card({"x.a": (m, 0.9), "x.b": ("pass", 0.9), "x.c": ("fail", 0.6)}))
        for n, m in enumerate(machine)
    ]
    reviews = [review(str(n), "x.a", h, n=n + 1) for n, h in enumerate(human)]
    reviews += [review(str(n), "x.b", "pass", n=20 + n) for n in range(10)]
    reviews += [
        review("1", "x.a", "fail", reviewer="bob", n=40, at=datetime(2025, 1, 2)),
        review("1", "x.a", "pass", reviewer="bob", n=41, at=datetime(2025, 1, 3)),
    ]
    cal = calibrate(rows, reviews)
    by = {i.item: i for i in cal.items}
    # call 1's final verdict on x.a: bob's latest ("pass", 2025-01-03) - the same as ann's
    assert by["x.a"].vs_human.kappa == pytest.approx(0.38 / 0.58)
    assert by["x.b"].vs_human.kappa is None and by["x.b"].vs_human.accuracy == 1.0
    assert by["x.c"].note == "never reviewed" and by["x.c"].vs_human.n == 0
    assert cal.superseded == 1  # bob's first verdict on call 1 no longer counts
    assert cal.reviewers == ("ann", "bob")
    # call 1: ann "pass", bob "pass" (latest): the two reviewers agree on the one shared item
    assert by["x.a"].reviewers.subjects == 1 and by["x.a"].reviewers.agreement == 1.0
    assert cal.overall.item == OVERALL and cal.overall.vs_human.n == 20
    assert [(d.call_id, d.item, d.machine, d.human) for d in cal.disagreements] == [
        ("call-4", "x.a", "fail", "pass"),
        ("call-5", "x.a", "pass", "fail"),
    ]


def test_calibration_without_reviews_says_how_to_add_them() -> None:
    cal = calibrate([row("1", card({"x.a": ("pass", 0.9)}))], [])
    assert cal.overall.vs_human.n == 0 and cal.items[0].note == "never reviewed"
    assert "no reviews yet: `callqa review import FILE`" in calibration_markdown(cal)


def test_rendered_calibration_never_prints_nan() -> None:
    rows = [row(str(n), card({"x.b": ("pass", 0.9)})) for n in range(4)]
    cal = calibrate(rows, [review(str(n), "x.b", "pass", n=n) for n in range(4)])
    data = json.loads(calibration_json(cal))
    item = data["items"][0]
    assert {"item", "n", "kappa", "accuracy"} <= set(item)
    assert item["kappa"] is None and "one class only" in item["kappa_note"]
    text = calibration_markdown(cal)
    assert "undefined" in text and "nan" not in text.lower()
    from rich.console import Console

    console = Console(width=160, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(calibration_table(cal))
    plain = console.export_text()
    assert "undefined" in plain and "nan" not in plain.lower()


# -- final scores -----


def _sections() -> tuple[SectionScore, ...]:
    items = (
        ItemScore("a.one", "a", "One", 2.0, "pass", 1.0),
        ItemScore("a.two", "a", "Two", 1.0, "fail", 0.0),
        ItemScore("b.bad", "b", "Bad", 1.0, "pass", 1.0, auto_fail=True),
        ItemScore("b.half", "b", "Half", 2.0, "pass", 0.5),
    )
    return (SectionScore("a", "A", 66.67, items[:2]), SectionScore("b", "B", 66.67, items[2:]))


def test_final_score_without_reviews_is_callqas_own() -> None:
    final = final_score(_sections(), machine_score=66.67, auto_failed=(), human={})
    assert final.score == 66.67 and final.overridden == () and final.human == {}


def test_final_score_uses_the_machine_weighting() -> None:
    """A reviewer fails a.one: the final score is score_checks over the final verdicts."""
    human = {
        "a.one": HumanVerdict("a.one", "fail", "ann"),
        "b.half": HumanVerdict("b.half", "pass", "ann"),
    }
    final = final_score(_sections(), machine_score=66.67, auto_failed=(), human=human)
    rubric = Rubric(
        "r",
        tuple(
            RubricSection(
                s.id,
                s.title,
                tuple(RubricItem(i.id, i.title, i.weight, auto_fail=i.auto_fail) for i in s.items),
            )
            for s in _sections()
        ),
    )
    checks = [
        CheckResult("a.one", "fail", 0.0),
        CheckResult("a.two", "fail", 0.0),
        CheckResult("b.bad", "pass", 1.0),
        CheckResult("b.half", "pass", 0.5),
    ]
    _, expected, _ = score_checks(rubric, checks)
    # weights 2,1,1,2 and scores 0,0,1,0.5 (a confirmed partial pass keeps its 0.5): 2/6
    assert final.score == expected == pytest.approx(100 * 2 / 6, abs=0.01)
    assert final.overridden == ("a.one",) and final.machine_score == 66.67
    assert final.verdicts["a.one"] == "fail"


def test_a_reviewer_fail_on_an_auto_fail_item_caps_and_a_pass_lifts() -> None:
    human = {"b.bad": HumanVerdict("b.bad", "fail", "ann")}
    capped = final_score(
        _sections(), machine_score=66.67, auto_failed=(), human=human, auto_fail_cap=20.0
    )
    assert capped.score == 20.0 and capped.auto_failed == ("b.bad",)
    sections = tuple(
        SectionScore(
            s.id,
            s.title,
            s.score,
            tuple(
                ItemScore(i.id, i.section, i.title, i.weight, "fail", 0.0, True)
                if i.id == "b.bad"
                else i
                for i in s.items
            ),
        )
        for s in _sections()
    )
    lifted = final_score(
        sections,
        machine_score=0.0,
        auto_failed=("b.bad",),
        human={"b.bad": HumanVerdict("b.bad", "pass", "ann")},
    )
    # weights 2, 1, 1, 2 and scores 1, 0, 1 (the reviewer), 0.5: 4/6
    assert lifted.auto_failed == () and lifted.score == pytest.approx(100 * 4 / 6, abs=0.01)
    # an auto-fail callqa withheld (unsure) stays uncapped while unreviewed ...
    unsure = final_score(
        sections,
        machine_score=50.0,
        auto_failed=(),
        human={"a.two": HumanVerdict("a.two", "fail", "ann")},
    )
    assert unsure.auto_failed == ()
    # ... and caps once a reviewer confirms it
    confirmed = final_score(
        sections,
        machine_score=50.0,
        auto_failed=(),
        human={"b.bad": HumanVerdict("b.bad", "fail", "ann")},
    )
    assert confirmed.score == 0.0


def test_with_final_puts_machine_and_final_side_by_side() -> None:
    c = card({"x.a": ("pass", 0.9), "x.b": ("fail", 0.9)}, score=50.0)
    rows = with_final([row("1", c)], [review("1", "x.b", "pass")])
    r = rows[0]
    assert r["machine_score"] == 50.0 and r["score"] == 100.0
    assert r["failed_items"] == [] and r["machine_failed_items"] == ["x.b"]
    assert r["overridden"] == ["x.b"] and r["human"]["x.b"].verdict == "pass"


# -- the reviews file -----


def test_reviews_file_rows_and_their_problems() -> None:
    text = (
        "call_id,item,verdict,reviewer,note,reviewed_at\n"
        'c1,open.greeting,PASS,ann,"fine, really",2025-01-31\n'
        "c1,open.closing,maybe,ann,,\n"
        "c2,open.greeting,n/a,,,\n"
        "c3,open.greeting,fail,ann,,yesterday\n"
        "\n"
        'c4,open.greeting,fail,ann,"a note\non two lines",2025-01-31T10:00:00+01:00\n'
    )
    rows, problems = parse_reviews(text, json_lines=False)
    assert problems == [
        "line 3: verdict 'maybe' is not one of pass, fail, na",
        "line 4: empty reviewer",
        "line 5: reviewed_at 'yesterday' is not a date or time like 2025-01-31 or "
        "2025-01-31T10:00:00Z",
    ]
    assert [(r.line, r.verdict) for r in rows] == [(2, "pass"), (7, "fail")]
    assert rows[1].note == "a note on two lines"
    assert rows[1].reviewed_at == datetime(2025, 1, 31, 9, 0)  # UTC


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_reviews(sep: str) -> None:
    """Excel writes ";" where the decimal mark is a comma (nb, fi, it, sl settings)."""
    text = sep.join(["call_id", "item", "verdict", "reviewer", "note"]) + "\n"
    text += sep.join(["c1", "open.greeting", "fail", "Åse", "no greeting, at all"]) + "\n"
    rows, problems = parse_reviews(text, json_lines=False)
    assert problems == []
    assert [(r.call_id, r.verdict, r.reviewer, r.note) for r in rows] == [
        ("c1", "fail", "Åse", "no greeting, at all")
    ]


def test_header_and_json_lines_problems() -> None:
    _, bad = parse_reviews("call,item,verdict,reviewer\nc1,x,pass,ann\n", json_lines=False)
    assert bad == [
        "line 1: unknown column 'call'; the header must be "
        "call_id,item,verdict,reviewer,note,reviewed_at (note and reviewed_at optional)"
    ]
    text = '{"call_id": "c1", "item": "x", "verdict": "fail", "reviewer": "ann"}\n[1]\n{"who": 1}\n'
    rows, problems = parse_reviews(text, json_lines=True)
    assert len(rows) == 1 and problems == [
        "line 2: not a JSON object but a list",
        "line 3: unknown key 'who' (keys: call_id, item, verdict, reviewer, note, reviewed_at)",
    ]


def test_duplicate_rows_are_problems_naming_both_lines() -> None:
    text = "call_id,item,verdict,reviewer\nc1,x,pass,ann\nc1,x,fail,ann\nc1,x,fail,bob\n"
    rows, _ = parse_reviews(text, json_lines=False)
    assert duplicate_problems(rows) == [
        "line 3: repeats line 2 (call 'c1', item 'x', reviewer 'ann', no time); keep one, or "
        "give each its reviewed_at"
    ]


def test_reviews_file_is_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("call_id,item,verdict,reviewer\n" + "c,x,pass,ann\n" * 1000)
    with pytest.raises(ReviewFileError, match="more than the 1,000 bytes allowed"):
        read_reviews_file(big, max_bytes=1000)
    long = tmp_path / "long.csv"
    long.write_text("call_id,item,verdict,reviewer,note\nc,x,pass,ann," + "n" * 5000 + "\n")
    with pytest.raises(ReviewFileError, match="note is 5,000 characters long; at most 4,000"):
        read_reviews_file(long)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"call_id,item,verdict,reviewer\nc,x,pa\0ss,ann\n")
    with pytest.raises(ReviewFileError, match="NUL"):
        read_reviews_file(nul)


def test_parse_time() -> None:
    assert parse_time("2025-01-31") == datetime(2025, 1, 31)
    assert parse_time("2025-01-31T10:00:00Z") == datetime(2025, 1, 31, 10)
    assert parse_time("") is None
    with pytest.raises(ValueError):
        parse_time("31/01/2025")


# -- the queue -----


def test_queue_order_is_the_documented_sum_with_stable_ties() -> None:
    rows = with_final(
        [
            row("1", card({"x.a": ("pass", 0.9)}, score=90.0)),  # 0.1 + 0.1
            row("2", card({"x.a": ("pass", 0.6)}, score=90.0)),  # 0.4 + 0.1
            row(
                "3", card({"x.a": ("fail", 0.9)}, score=0.0, auto_failed=("x.a",), auto=("x.a",))
            ),  # 0.1 + 1 + 1
            row("4", card({"x.a": ("pass", 0.6)}, score=90.0), call_id="call-0"),  # tie with 2
            row(
                "5",
                card(
                    {"x.a": ("pass", 0.9)},
                    score=90.0,
                    review=(
                        {"item": "transcript", "reason": "72% heard"},
                        {"item": "transcript", "reason": "3 of 9 speech turns got no words"},
                    ),  # one kind of doubt: 0.5 once
                ),
            ),
            row("6", card({"x.a": ("fail", 0.5)}, score=0.0)),  # reviewed: left out
        ],
        [review("6", "x.a", "fail")],
    )
    queue = review_queue(rows, [review("6", "x.a", "fail")], budget=4)
    assert [(e.rank, e.call_id) for e in queue] == [
        (1, "call-3"),
        (2, "call-5"),
        (3, "call-0"),
        (4, "call-2"),
    ]
    assert queue[0].priority == pytest.approx(2.1)
    assert queue[0].reasons[0] == "auto-fail applied (score capped): x.a"
    assert queue[1].parts == {
        "doubt": pytest.approx(0.1),
        "history": 0.0,
        "auto_fail": 0.0,
        "transcript": 0.5,
        "low_score": pytest.approx(0.1),
    }
    assert queue[1].reasons[0] == (
        "transcript: 72% heard; transcript: 3 of 9 speech turns got no words"
    )
    assert "unsure verdicts: x.a 'pass' (0.60)" in queue[2].reasons


def test_queue_counts_no_doubt_for_items_a_transcript_cannot_have() -> None:
    """A transcript's audio items are "na" (no audio) with a prior confidence: no doubt."""
    c = card({"x.a": ("pass", 0.8), "x.t": ("na", 0.833)}, score=100.0)
    c["checks"][1]["details"] = {"reason": "scored from a transcript without audio"}
    [entry] = review_queue(with_final([row("1", c)], []), [], budget=1)
    assert entry.parts["doubt"] == pytest.approx(0.2)
    c["checks"][1]["details"] = {"reason": "the customer stated no problem or complaint"}
    [entry] = review_queue(with_final([row("1", c)], []), [], budget=1)
    assert entry.parts["doubt"] == pytest.approx(0.2 + 0.167)  # a judged "na" can be wrong


def test_queue_prefers_the_teams_own_history() -> None:
    """Reviewers overruled callqa's 'pass' on x.a in 3 of 5 calls: 0.6 replaces 1 - 0.9."""
    reviewed = [row(f"r{n}", card({"x.a": ("pass", 0.9)}, score=100.0)) for n in range(MIN_HISTORY)]
    reviews = [review(f"r{n}", "x.a", "fail" if n < 3 else "pass", n=n) for n in range(MIN_HISTORY)]
    fresh = row("new", card({"x.a": ("pass", 0.9)}, score=100.0))
    queue = review_queue(with_final([*reviewed, fresh], reviews), reviews, budget=5)
    assert [e.call_id for e in queue] == ["call-new"]
    assert queue[0].parts["history"] == pytest.approx(0.6) and queue[0].parts["doubt"] == 0.0
    assert "reviewers overruled callqa's 'pass' on x.a in 3 of 5 calls" in queue[0].reasons


# -- fitting thresholds -----

RUBRIC = """name = "negative"
[[sections]]
id = "positive"
title = "Positive language"

[[sections.items]]
check = "positive.negative_language"
title = "Avoids no / can't"
weight = 1.0
"""


def _call(k: int) -> Transcript:
    """60 s of agent speech holding ``k`` refusals ("I can't do that."): k per minute."""
    segments = [Utterance(CUSTOMER, 0.0, 4.0, "Hello, my order has not arrived yet, can you help?")]
    for n in range(12):
        text = "I can't do that." if n < k else "Sure, I will check that for you."
        segments.append(Utterance(AGENT, 5.0 + 5 * n, 10.0 + 5 * n, text))
    return Transcript("en", tuple(segments), language_source="file")


def test_fit_proposes_the_teams_threshold_under_cross_validation(tmp_path: Path) -> None:
    """The team fails a call only above 4 refusals a minute; callqa's default is 2. The
    current value's verdicts, by hand: human fail for k = 5..7 (6 calls), callqa for k = 3..7
    (10): p_o = 12/16, p_e = (10 x 6 + 6 x 10) / 256, kappa = 0.5294."""
    path = tmp_path / "negative.toml"
    path.write_text(RUBRIC)
    rubric = load_rubric(path)
    rows, reviews = [], []
    for n, k in enumerate([k for k in range(8) for _ in range(2)]):
        c = score_transcript(_call(k), source=Path(f"c{n}.json"), sha256=f"{n:064x}", rubric=rubric)
        rows.append({"audio_sha256": f"{n:064x}", "call_id": f"c{n}", "scorecard": to_dict(c)})
        reviews.append(
            review(f"{n:064x}", "positive.negative_language", "fail" if k > 4 else "pass", n=n)
        )
    [fit] = fit_thresholds(rows, reviews, rubric)
    assert fit.current == 2.0 and fit.proposed == 4.0 and fit.changed
    assert fit.calls == 16 and fit.folds == 5 and fit.rescored_differently == 0
    assert fit.before is not None and fit.after is not None
    assert fit.before.kappa == pytest.approx((12 / 16 - 120 / 256) / (1 - 120 / 256))
    assert fit.after.kappa is not None and fit.after.kappa > fit.before.kappa
    overlay = tmp_path / "fitted.toml"
    overlay.write_text(overlay_text([fit], rubric, overlay, header=["test"]))
    fitted = load_rubric(overlay)
    assert fitted.name == "negative-fitted"
    assert dict(fitted.sections[0].items[0].params) == {"max_per_minute": 4.0}
    assert 'extends = "negative.toml"' in overlay.read_text()
    # nothing changed until the file is passed: the original rubric still fails k = 3
    assert (
        score_transcript(_call(3), source=Path("a.json"), sha256="a" * 64, rubric=rubric)
        .checks[0]
        .verdict
        == "fail"
    )
    assert (
        score_transcript(_call(3), source=Path("a.json"), sha256="a" * 64, rubric=fitted)
        .checks[0]
        .verdict
        == "pass"
    )


def test_fit_says_why_it_does_not_fit() -> None:
    rubric = load_rubric(None)
    rows = [row(str(n), card({"positive.negative_language": ("pass", 0.9)})) for n in range(3)]
    reviews = [review(str(n), "positive.negative_language", "pass", n=n) for n in range(3)]
    fits = {f.item: f for f in fit_thresholds(rows, reviews, rubric)}
    # three reviewed calls (and these scorecards carry no transcript to run the check on)
    assert fits["positive.negative_language"].note == "not enough reviewed calls (0 < 10)"
    assert fits["hear.talk_share"].note == "not enough reviewed calls (0 < 10)"
    assert all(not f.changed and f.proposed is None for f in fits.values())
    assert not any(math.isnan(f.current) for f in fits.values())


def test_latest_by_item_orders_by_time_then_storage() -> None:
    a = review("1", "x", "pass", n=1, at=datetime(2025, 1, 5))
    b = review("1", "x", "fail", reviewer="bob", n=2, at=datetime(2025, 1, 4))
    c = review("1", "x", "na", reviewer="cy", n=3, at=datetime(2025, 1, 5))
    assert latest_by_item([c, b, a])["1"]["x"] is c  # same time: the later stored wins


def test_items_a_reviewer_settled_no_longer_make_a_score_provisional() -> None:
    """The dashboard and the export counted 55 provisional scores where reviewers had judged
    every flagged item of 45 of them."""
    from callqa.batch.inputs import CallInput
    from callqa.batch.tables import flat_row
    from callqa.scoring.final import HumanVerdict, pending_review

    flagged = [
        {"item": "hear.paraphrase", "reason": "unsure 'fail'"},
        {"item": "transcript", "reason": "72% heard"},
    ]
    assert pending_review(flagged, []) == 2
    assert pending_review(flagged, ["empathise.empathy"]) == 1  # someone looked: not the words
    assert pending_review(flagged, ["hear.paraphrase"]) == 0
    assert pending_review(None, []) == 0
    c = card({"hear.paraphrase": ("fail", 0.6)}, score=50.0, review=tuple(flagged))
    before = flat_row(CallInput(Path("a.wav")), "a", "scored", "", c, "s", "k")
    assert before["provisional"] is True and before["items_to_review"] == 2
    human = {"hear.paraphrase": HumanVerdict("hear.paraphrase", "pass", "ann")}
    after = flat_row(CallInput(Path("a.wav")), "a", "scored", "", c, "s", "k", human=human)
    assert after["provisional"] is False and after["items_to_review"] == 0
