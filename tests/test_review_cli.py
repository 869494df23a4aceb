"""Reviews in the store, end to end: batch transcripts (no model), import, set, export,
calibrate, queue, the report and the dashboard; every problem with a reviews file is one
``Error:`` line with its line number, and nothing is half-imported."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from callqa.batch import BatchOptions, collect_inputs, run_batch, store
from callqa.batch.engines import Job, only_transcripts
from callqa.batch.progress import make_reporter
from callqa.batch.ray_engine import _ScorerActor
from callqa.batch.reviews import import_reviews, read_reviews
from callqa.cli.app import app
from callqa.config import Config
from callqa.review.files import ReviewRow

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "benchmarks" / "data" / "calls"
CALLS = ("en_01_router_outage", "en_05_parcel_not_there", "en_06_leak_claim")
runner = CliRunner()

VTT = """WEBVTT
Language: en

00:00:00.000 --> 00:00:03.000
<v Agent>Good morning, thank you for calling Acme, my name is Ann, how can I help you?

00:00:03.500 --> 00:00:07.000
<v Customer>Hi, my parcel never arrived and I am really annoyed about it.

00:00:07.500 --> 00:00:12.000
<v Agent>I'm so sorry to hear that, I understand how frustrating that is.

00:00:12.500 --> 00:00:16.000
<v Agent>I will send a new parcel today and email you the tracking number by five.

00:00:16.500 --> 00:00:19.000
<v Agent>Is there anything else I can help you with? Thank you for calling.
"""


class NoModel:
    """A transcriber factory that must never be called: transcripts need no model."""

    def __init__(self) -> None:
        raise AssertionError("a batch of transcripts loaded a model")


def run(*args: str) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three development transcripts (JSON, by manifest) and one WebVTT file (named), batched
    into a store without a model; one manifest call id starts with '='."""
    work = tmp_path_factory.mktemp("reviews")
    (work / "t").mkdir()
    lines = ["path,call_id,team,language"]
    for name in CALLS:
        call = json.loads((DEV / f"{name}.json").read_text(encoding="utf-8"))
        (work / "t" / f"{name}.json").write_text(json.dumps(call["transcript"]), encoding="utf-8")
        call_id = "=SUM(1)" if name == CALLS[2] else name
        lines.append(f"t/{name}.json,{call_id},dev,en")
    (work / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (work / "t" / "vtt_call.vtt").write_text(VTT, encoding="utf-8")
    result = run_batch(
        collect_inputs([work / "manifest.csv", work / "t" / "vtt_call.vtt"]),
        out_dir=work / "out",
        store_path=work / "qa.duckdb",
        transcriber_factory=NoModel,
        options=BatchOptions(workers=0),
        reporter=make_reporter("quiet"),
    )
    assert result.counts == {"scored": 4, "skipped": 0, "failed": 0}, result.rows
    clean = work / "clean.duckdb"
    shutil.copy(work / "qa.duckdb", clean)
    return {"work": work, "clean": clean}


@pytest.fixture()
def db(scored: dict[str, Path], tmp_path: Path) -> Path:
    """A fresh copy of the scored store, without reviews."""
    path = tmp_path / "qa.duckdb"
    shutil.copy(scored["clean"], path)
    return path


def test_batch_takes_transcripts_without_a_model(scored: dict[str, Path]) -> None:
    calls = {c["call_id"]: c for c in store.read_calls(scored["clean"])}
    assert sorted(calls) == sorted([*CALLS[:2], "=SUM(1)", "vtt_call"])
    card = calls["vtt_call"]["scorecard"]
    assert card["model"]["backend"] == "transcript-file" and card["channels"] == 0
    assert calls["vtt_call"]["score"] is not None
    assert calls[CALLS[0]]["team"] == "dev" and calls[CALLS[0]]["language"] == "en"
    # a transcript is not audio: no report tries to load it (and a folder is searched for audio)
    assert collect_inputs([scored["work"] / "t"]).calls == ()


def test_a_ray_actor_loads_no_model_for_transcripts(scored: dict[str, Path]) -> None:
    """The Ray engine's actor body, called directly: lazy for a batch of transcripts."""
    job = Job(0, str(scored["work"] / "t" / "vtt_call.vtt"), "vtt_call", Config())
    actor = _ScorerActor(NoModel, None, only_transcripts([job]))
    result = actor.score(job)
    assert result.status == "scored" and result.card is not None
    assert result.worker.startswith("ray:")
    with pytest.raises(AssertionError, match="loaded a model"):
        _ScorerActor(NoModel, None, only_transcripts([replace(job, path="call.wav")]))


def _reviews_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["call_id", "item", "verdict", "reviewer", "note", "reviewed_at"])
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


ROWS = [
    [CALLS[0], "open.greeting", "pass", "ann", "greets, names the company", "2025-01-30T09:00:00Z"],
    [CALLS[0], "empathise.apology", "fail", "ann", "«sorry» only for the hold, before it", ""],
    [CALLS[1], "action.next_step", "pass", "bob", 'says "tomorrow"', "2025-01-31T10:15:00Z"],
    ["=SUM(1)", "open.closing", "fail", "ann", '=HYPERLINK("http://x")', ""],
]


def test_import_store_export_round_trip(db: Path, tmp_path: Path) -> None:
    """Exporting and importing again gives the same reviews, in the same order: an untimed
    review is exported with the time it counts from (it had been left empty, and a second
    import dated it anew, so it outranked a later review and turned a final "fail" into
    "pass"); the spreadsheet guard before a formula-like cell comes off on import (a reviewer
    "-jd" had come back as "'-jd")."""
    source = _reviews_csv(tmp_path / "reviews.csv", ROWS)
    result = run("review", "import", source, "--store", db)
    assert result.exit_code == 0, result.output
    assert "imported 4 reviews" in result.stderr
    stored = {(r.call_id, r.item): r.when for r in read_reviews(db)}
    out = tmp_path / "back.csv"
    assert run("review", "export", out, "--store", db).exit_code == 0
    back = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    expected = [r[:] for r in (ROWS[0], ROWS[2], ROWS[1], ROWS[3])]  # oldest first
    for row in expected:
        row[5] = stored[(row[0], row[1])].isoformat() + "Z"
    expected[3][0] = "'=SUM(1)"  # formulas defused, as in every export
    expected[3][4] = "'" + expected[3][4]
    assert back[1:] == expected
    for name in ("back.jsonl", "back.csv", "back.json"):  # .json: JSON lines, as imported
        exported = tmp_path / name
        assert run("review", "export", exported, "--store", db, "--force").exit_code == 0
        fresh = tmp_path / f"fresh-{name}.duckdb"
        shutil.copy(db.with_name("qa.duckdb"), fresh)
        with duckdb.connect(str(fresh)) as con:
            con.execute("DELETE FROM reviews")
        assert run("review", "import", exported, "--store", fresh).exit_code == 0
        key = [(r.call_id, r.item, r.verdict, r.reviewer, r.note, r.when) for r in read_reviews(db)]
        again = [
            (r.call_id, r.item, r.verdict, r.reviewer, r.note, r.when) for r in read_reviews(fresh)
        ]
        assert sorted(again) == sorted(key), name
    # and into the store it came from: every row is already there
    repeat = run("review", "import", tmp_path / "back.csv", "--store", db)
    assert repeat.exit_code != 0 and "already in the store" in repeat.stderr


def test_every_problem_is_one_line_and_nothing_is_imported(db: Path, tmp_path: Path) -> None:
    source = _reviews_csv(
        tmp_path / "bad.csv",
        [
            [CALLS[0], "open.greeting", "pass", "ann", "", ""],  # fine
            ["nope", "open.greeting", "pass", "ann", "", ""],
            [CALLS[0], "open.hello", "pass", "ann", "", ""],
            [CALLS[0], "open.closing", "good", "ann", "", ""],
            [CALLS[1], "open.closing", "fail", "ann", "", ""],
            [CALLS[1], "open.closing", "fail", "ann", "", ""],
            [CALLS[1], "open.greeting", "fail", "ann@example.com", "", ""],
        ],
    )
    result = run("review", "import", source, "--store", db)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: bad.csv line 3: unknown call id 'nope': no scored call in the store has it "
        "(`callqa export` lists the ids)",
        "Error: bad.csv line 4: call 'en_01_router_outage' was not scored on item 'open.hello' "
        "(its items: action.next_step, empathise.apology, empathise.empathy, "
        "hear.no_interruptions, hear.no_repeat, hear.paraphrase, hear.talk_share, "
        "lead.alternative, ...)",
        "Error: bad.csv line 5: verdict 'good' is not one of pass, fail, na",
        "Error: bad.csv line 7: repeats line 6 (call 'en_05_parcel_not_there', item "
        "'open.closing', reviewer 'ann', no time); keep one, or give each its reviewed_at",
        "Error: bad.csv line 8: reviewer 'ann@example.com' holds personal data (an e-mail or "
        "phone number); name reviewers by name or initials",
        "Error: nothing was imported",
    ]
    assert read_reviews(db) == []
    # a second import of a clean file is refused row by row once it is stored
    good = _reviews_csv(tmp_path / "good.csv", [ROWS[0]])
    assert run("review", "import", good, "--store", db).exit_code == 0
    again = run("review", "import", good, "--store", db)
    assert again.exit_code == 1 and "line 2: already in the store" in again.stderr
    assert len(read_reviews(db)) == 1


def test_a_bad_file_is_one_line(db: Path, tmp_path: Path) -> None:
    header = tmp_path / "h.csv"
    header.write_text("call,item,verdict,reviewer\nx,y,pass,ann\n")
    result = run("review", "import", header, "--store", db)
    assert result.exit_code == 1 and result.stderr.splitlines()[0].startswith(
        "Error: h.csv line 1: unknown column 'call'"
    )
    assert "Traceback" not in result.output
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00junk")
    result = run("review", "import", binary, "--store", db)
    assert result.exit_code == 1 and "not UTF-8" in result.stderr
    missing = run("review", "import", tmp_path / "none.csv", "--store", db)
    assert missing.exit_code == 2


def test_notes_are_redacted_before_they_are_stored(db: Path) -> None:
    row = ReviewRow(
        0,
        CALLS[0],
        "open.greeting",
        "pass",
        "ann",
        note="customer read out 4539 1488 0343 6467 twice",
    )
    import_reviews(db, [row])
    assert read_reviews(db)[0].note == "customer read out [CARD] twice"


def test_set_overrules_and_every_view_shows_both(db: Path, tmp_path: Path) -> None:
    before = {r["call_id"]: r for r in csv.DictReader(io.StringIO(_export(db, tmp_path)))}
    machine = before[CALLS[0]]
    assert machine["check_empathise__apology"] in ("pass", "fail")
    flipped = "fail" if machine["check_empathise__apology"] == "pass" else "pass"
    result = run(
        "review",
        "set",
        CALLS[0],
        "empathise.apology",
        flipped,
        "--reviewer",
        "ann",
        "--note",
        "the apology is for the hold",
        "--store",
        db,
    )
    assert result.exit_code == 0, result.output
    after = {r["call_id"]: r for r in csv.DictReader(io.StringIO(_export(db, tmp_path)))}
    row = after[CALLS[0]]
    assert row["check_empathise__apology"] == machine["check_empathise__apology"]  # callqa's
    assert row["human_empathise__apology"] == flipped
    assert row["machine_score"] == machine["score"] and row["score"] != machine["score"]
    assert (row["reviewed_items"], row["overridden_items"]) == ("1", "1")
    stats = json.loads(run("stats", "--store", db, "--format", "json", "--by", "team").stdout)
    team = next(t for t in stats if t["team"] == "dev")
    assert team["reviewed_calls"] == 1 and team["mean_score"] != team["machine_mean_score"]
    bad = run(
        "review", "set", CALLS[0], "empathise.apology", "maybe", "--reviewer", "ann", "--store", db
    )
    assert (
        bad.exit_code == 2 and bad.stderr == "Error: verdict 'maybe' is not one of pass, fail, na\n"
    )


def _export(db: Path, tmp_path: Path) -> str:
    out = tmp_path / "export.csv"
    result = run("export", "--out", out, "--store", db)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_calibrate_and_queue_commands(db: Path, tmp_path: Path) -> None:
    labels = []
    for name in CALLS[:2]:
        call = json.loads((DEV / f"{name}.json").read_text(encoding="utf-8"))
        labels += [
            [name, item, label["verdict"], "dev", "", ""] for item, label in call["labels"].items()
        ]
    source = _reviews_csv(tmp_path / "labels.csv", labels)
    assert run("review", "import", source, "--store", db).exit_code == 0
    result = run("calibrate", "--store", db, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    items = {i["item"]: i for i in data["items"]}
    assert items["open.greeting"]["n"] == 2 and items["hear.talk_share"]["note"] == "never reviewed"
    assert data["overall"]["n"] == 22 and data["bootstrap"] == {
        "resamples": 1000,
        "seed": 0,
        "unit": "call",
        "interval": "95% percentile",
    }
    for fmt in ("table", "md"):
        shown = run("calibrate", "--store", db, "--format", fmt)
        assert shown.exit_code == 0 and "open.greeting" in shown.stdout
    queue = run("queue", "--store", db, "--budget", "5", "--format", "json")
    listed = json.loads(queue.stdout)
    assert sorted(e["call_id"] for e in listed) == ["=SUM(1)", "vtt_call"]  # reviewed: left out
    assert [e["rank"] for e in listed] == [1, 2] and listed[0]["priority"] >= listed[1]["priority"]
    as_csv = run("queue", "--store", db, "--format", "csv").stdout
    assert "'=SUM(1)" in as_csv and "\n=SUM" not in as_csv
    assert run("queue", "--store", db, "--budget", "1").exit_code == 0
    empty = run("queue", "--store", db, "--budget", "0")
    assert empty.exit_code == 0 and empty.stdout.startswith("review queue: empty (")


def test_report_shows_the_reviewer_beside_callqa(
    db: Path, scored: dict[str, Path], tmp_path: Path
) -> None:
    page_json = scored["work"] / "out" / "calls" / f"{CALLS[1]}.json"
    card = json.loads(page_json.read_text(encoding="utf-8"))
    verdict = next(c["verdict"] for c in card["checks"] if c["id"] == "open.greeting")
    flipped = "fail" if verdict == "pass" else "pass"
    assert (
        run(
            "review",
            "set",
            CALLS[1],
            "open.greeting",
            flipped,
            "--reviewer",
            "Ann Berg",
            "--note",
            "no company name",
            "--store",
            db,
        ).exit_code
        == 0
    )
    out = tmp_path / "r.html"
    result = run("report", page_json, "--out", out, "--store", db)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert f"reviewer: {flipped.capitalize()}" in html and f"callqa: {verdict.capitalize()}" in html
    assert "Overruled by Ann Berg" in html and "“no company name”" in html
    assert 'id="final-note"' in html and "Overall score (final)" in html
    plain = tmp_path / "plain.html"
    assert run("report", page_json, "--out", plain).exit_code == 0
    assert "Overruled" not in plain.read_text(encoding="utf-8")


def test_dashboard_has_the_queue_panel(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "team.html"
    result = run("dashboard", "--store", db, "--out", out)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert 'id="queue"' in html and "vtt_call" in html and "Score (final)" in html
    none = tmp_path / "none.html"
    assert run("dashboard", "--store", db, "--out", none, "--queue", "0").exit_code == 0
    assert 'id="queue"' not in none.read_text(encoding="utf-8")


def test_schema_2_store_gains_the_reviews_table(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    store.migrate(con, upto=2)
    con.close()
    assert read_reviews(path) == []  # read-only: an old store has no reviews yet
    with store.connect(path) as con:  # a writer migrates
        assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM reviews").fetchone() == (0,)


def test_calibrate_reads_the_rubric_and_config_it_is_given(db: Path, tmp_path: Path) -> None:
    """Without --fit, a missing --config or --rubric had been ignored (exit 0)."""
    assert run("calibrate", "--store", db, "--config", tmp_path / "none.toml").exit_code == 2
    assert run("calibrate", "--store", db, "--rubric", tmp_path / "none.toml").exit_code == 2
