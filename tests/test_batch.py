"""Batch scoring: inputs, manifest, keys, engines, outputs, progress and the CLI commands."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner

import callqa.batch as batch
from callqa.batch import (
    BatchOptions,
    BatchUsageError,
    CallInput,
    collect_inputs,
    machine,
    plan,
    run_batch,
    store,
)
from callqa.batch.progress import JsonReporter, PlainReporter, make_reporter
from callqa.config import Config, RedactionConfig, replace_config
from callqa.transcription.fake import FakeTranscriber
from tests.conftest import clip

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_calls"
VOLATILE = ("created_at", "timings_s")  # the only fields allowed to differ between runs


def stable(card: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in card.items() if k not in VOLATILE}


@pytest.fixture(scope="module")
def calls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 15 s of two stereo sample calls, plus a note that is not audio."""
    return make_calls(tmp_path_factory.mktemp("calls"))


def make_calls(folder: Path, seconds: float = 15.0) -> Path:
    """Cut ``good.wav`` and ``poor.wav`` from the sample calls into ``folder``."""
    for name in ("good", "poor"):
        clip(folder / f"{name}.wav", 0, seconds, SAMPLES / f"en_{name}.ogg")
    (folder / "notes.txt").write_text("not audio")
    return folder


def quiet() -> Any:
    return make_reporter("quiet")


def inline(**kw: Any) -> BatchOptions:
    return BatchOptions(workers=0, **kw)


def score(specs: list[Any], work: Path, **kw: Any) -> batch.BatchResult:
    """run_batch with the fake transcriber in this process, into work/out and work/s.duckdb."""
    args: dict[str, Any] = {
        "out_dir": work / "out",
        "store_path": work / "s.duckdb",
        "transcriber_factory": FakeTranscriber,
        "options": inline(),
        "reporter": quiet(),
    }
    return run_batch(collect_inputs(specs), **{**args, **kw})


# -- inputs -----


def test_collect_directory_glob_and_named_files(tmp_path: Path) -> None:
    (tmp_path / "a b ø").mkdir()
    for name in ("a b ø/x.WAV", "a b ø/y.mp3", "z.flac", "skip.txt", "a b ø/readme.md"):
        (tmp_path / name).write_bytes(b"")
    found = collect_inputs([tmp_path])
    assert [c.path.name for c in found.calls] == ["x.WAV", "y.mp3", "z.flac"]
    assert found.ignored_files == 2
    globbed = collect_inputs([str(tmp_path / "**" / "*.mp3")])
    assert [c.path.name for c in globbed.calls] == ["y.mp3"]
    named = collect_inputs([tmp_path / "skip.txt", tmp_path / "gone.wav", tmp_path / "z.flac"])
    problems = [c.problem for c in named.calls]
    assert problems[0] is not None and problems[0].startswith("not an audio file (extension .txt")
    assert problems[1] is not None and problems[1].startswith("file not found")
    assert problems[2] is None
    assert collect_inputs([str(tmp_path / "*.ogg")]).calls[0].problem == (
        f"no file matches {tmp_path / '*.ogg'}"
    )
    twice = collect_inputs([tmp_path / "z.flac", tmp_path])
    assert [c.path.name for c in twice.calls] == ["z.flac", "x.WAV", "y.mp3"]


def test_manifest_columns_and_metadata(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "one.wav").write_bytes(b"")
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "\ufeffpath,call_id,agent_id,team,language,agent_channel,call_date,campaign\n"
        "audio/one.wav,c-1,ann,A,no,right,2025-01-31,winter\n"
        "audio/two.wav,,,,,,,\n",
        encoding="utf-8",
    )
    calls = batch.read_manifest(manifest)
    assert calls[0] == CallInput(
        path=tmp_path / "audio" / "one.wav",
        call_id="c-1",
        agent_id="ann",
        team="A",
        language="no",
        agent_channel="right",
        call_date="2025-01-31",
        metadata=(("campaign", "winter"),),
    )
    assert calls[1].call_id is None and calls[1].problem is not None  # missing file: a failed row


@pytest.mark.parametrize("sep", [";", "\t"])
def test_manifest_separated_by_semicolons_or_tabs(tmp_path: Path, sep: str) -> None:
    """Excel's "CSV" in Norwegian, Finnish, Italian or Slovenian settings is ";"-separated (the
    comma is the decimal mark); it had been refused as having no 'path' column."""
    manifest = tmp_path / "m.csv"
    rows = [["path", "call_id", "agent_id", "note"], ["one.wav", "c-1", "Åse", "2,5 min; late"]]
    manifest.write_text(
        "\n".join(sep.join(r) for r in rows[:1])
        + "\n"
        + sep.join(rows[1][:3])
        + sep
        + '"2,5 min; late"\n',
        encoding="utf-8",
    )
    (call,) = batch.read_manifest(manifest)
    assert (call.path, call.call_id, call.agent_id) == (tmp_path / "one.wav", "c-1", "Åse")
    assert call.metadata == (("note", "2,5 min; late"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("file,agent\nx.wav,a\n", "has no 'path' column"),
        ("path,call_date\nx.wav,31/01/2025\n", "is not YYYY-MM-DD"),
        ("path,call_id\na.wav,c\nb.wav,c\n", "call_id used twice: c"),
        ("path\n\n ,\n", "empty path"),
    ],
)
def test_bad_manifest_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    with pytest.raises(BatchUsageError, match=message):
        collect_inputs([manifest])


def test_call_ids_are_unique_and_safe() -> None:
    calls = [CallInput(Path("a/call.wav")), CallInput(Path("b/call.wav")), CallInput(Path("x.wav"))]
    ids = plan.call_ids(calls)
    assert ids[0] != ids[1] and ids[0].startswith("call-") and ids[2] == "x"
    assert plan.safe_call_id("../etc/passwd") == "_etc_passwd"
    assert plan.safe_call_id("Møte 1") == "Møte 1"


def test_scoring_key_tracks_what_changes_results(tmp_path: Path) -> None:
    base = Config()
    key = batch.scoring_key(base)
    assert batch.scoring_key(replace_config(base, transcription__threads=7)) == key
    assert batch.scoring_key(replace_config(base, limits__max_transcript_bytes=10)) == key
    assert batch.scoring_key(replace_config(base, call__language="fi")) != key
    assert batch.scoring_key(base, model_id="other") != key
    rubric = tmp_path / "r.toml"
    rubric.write_text("a = 1\n")
    with_rubric = batch.scoring_key(replace_config(base, rubric__path=str(rubric)))
    rubric.write_text("a = 2\n")
    assert batch.scoring_key(replace_config(base, rubric__path=str(rubric))) != with_rubric


def test_default_workers_respects_cores_and_memory() -> None:
    assert machine.default_workers(cores=8, memory_bytes=64 * 2**30) == 8
    assert machine.default_workers(cores=8, memory_bytes=3 * 2**30) == 2  # 1.5 GiB each
    assert machine.default_workers(cores=8, memory_bytes=6 * 2**30) == 4
    assert machine.default_workers(cores=2, memory_bytes=100) == 1
    assert machine.threads_per_worker(2, cores=2) == 1
    assert machine.threads_per_worker(1, cores=2) == 2
    assert machine.threads_per_worker(3, cores=2) == 1


def test_cgroup_memory_limit_counts(tmp_path: Path) -> None:
    """A unit's MemoryMax= (cgroup v2 memory.max) limits the workers, not the host's memory."""
    proc = tmp_path / "cgroup"
    proc.write_text("0::/system.slice/callqa-nightly.service\n")
    root = tmp_path / "sys"
    unit = root / "system.slice" / "callqa-nightly.service"
    unit.mkdir(parents=True)
    (root / "system.slice" / "memory.max").write_text("max\n")
    (unit / "memory.max").write_text(f"{8 * 2**30}\n")
    (unit / "memory.current").write_text(f"{2**30}\n")
    assert machine.cgroup_memory_room(proc, root) == 7 * 2**30
    (root / "system.slice" / "memory.max").write_text(f"{3 * 2**30}\n")  # a tighter parent
    assert machine.cgroup_memory_room(proc, root) == 3 * 2**30
    (unit / "memory.max").write_text("max\n")
    (root / "system.slice" / "memory.max").write_text("max\n")
    assert machine.cgroup_memory_room(proc, root) is None
    proc.write_text("4:memory:/x\n")  # cgroup v1 only
    assert machine.cgroup_memory_room(proc, root) is None
    assert machine.cgroup_memory_room(tmp_path / "missing", root) is None


# -- running -----


@pytest.fixture(scope="module")
def first_run(calls_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One inline batch over the two calls (shared by the tests that only read its outputs)."""
    work = tmp_path_factory.mktemp("run")
    result = run_batch(
        collect_inputs([calls_dir]),
        out_dir=work / "out",
        store_path=work / "qa.duckdb",
        transcriber_factory=FakeTranscriber,
        options=inline(),
        reporter=quiet(),
    )
    return {"result": result, "out": work / "out", "store": work / "qa.duckdb", "dir": calls_dir}


def test_batch_writes_every_output(first_run: dict[str, Any]) -> None:
    result, out = first_run["result"], first_run["out"]
    assert result.counts == {"scored": 2, "skipped": 0, "failed": 0}
    assert result.exit_code == 0 and result.ignored_files == 1
    assert sorted(p.name for p in (out / "calls").iterdir()) == ["good.json", "poor.json"]
    rows = list(csv.DictReader(io.StringIO((out / "scorecards.csv").read_text())))
    assert [r["call_id"] for r in rows] == ["good", "poor"]
    assert {"status", "reason", "score", "agent_talk_share", "agent_interruptions"} <= set(rows[0])
    assert any(c.startswith("section_") for c in rows[0])
    assert any(c.startswith("check_hear__") for c in rows[0])
    assert not any("." in c for c in rows[0])  # no dotted names
    table = pq.read_table(out / "scorecards.parquet")
    assert table.num_rows == 2 and table.schema.field("score").type == "double"
    assert table.column_names == list(rows[0])  # CSV and Parquet name the columns alike
    card = json.loads((out / "calls" / "good.json").read_text())
    assert float(rows[0]["score"]) == pytest.approx(card["score"])
    summary = (out / "summary.md").read_text()
    assert "2 calls: 2 scored, 0 skipped" in summary and "## Per agent" in summary


def test_store_holds_the_same_scorecards(first_run: dict[str, Any]) -> None:
    stored = {r["call_id"]: r for r in store.read_calls(first_run["store"])}
    for call_id in ("good", "poor"):
        on_disk = json.loads((first_run["out"] / "calls" / f"{call_id}.json").read_text())
        assert stored[call_id]["scorecard"] == on_disk
        assert stored[call_id]["scorecard_path"].endswith(f"calls/{call_id}.json")


def test_rerun_skips_and_force_rescores(first_run: dict[str, Any], tmp_path: Path) -> None:
    args: dict[str, Any] = {
        "store_path": first_run["store"],
        "transcriber_factory": FakeTranscriber,
        "reporter": quiet(),
    }
    again = run_batch(
        collect_inputs([first_run["dir"]]), out_dir=tmp_path / "o1", options=inline(), **args
    )
    assert again.counts == {"scored": 0, "skipped": 2, "failed": 0}
    assert {r["reason"] for r in again.rows} == {"already scored"}
    rows = list(csv.DictReader(io.StringIO((tmp_path / "o1" / "scorecards.csv").read_text())))
    assert all(r["score"] for r in rows)  # skipped rows carry the stored scores
    assert (tmp_path / "o1" / "calls" / "good.json").exists()
    forced = run_batch(
        collect_inputs([first_run["dir"] / "good.wav"]),
        out_dir=tmp_path / "o2",
        options=inline(force=True),
        **args,
    )
    assert forced.counts["scored"] == 1
    assert len(store.read_calls(first_run["store"], latest_only=False)) == 2  # replaced, not added


def test_same_audio_under_two_names_is_scored_once(calls_dir: Path, tmp_path: Path) -> None:
    shutil.copy(calls_dir / "good.wav", tmp_path / "copy of good.wav")
    result = score([calls_dir / "good.wav", tmp_path / "copy of good.wav"], tmp_path)
    assert [r["status"] for r in result.rows] == ["scored", "skipped"]
    assert result.rows[1]["reason"].startswith("same audio as good")
    assert len(store.read_calls(tmp_path / "s.duckdb")) == 1


def test_manifest_metadata_reaches_outputs_and_store(calls_dir: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "path,call_id,agent_id,team,call_date,campaign\n"
        f"{calls_dir / 'poor.wav'},P-1,bob,B,2025-02-03,x\n"
    )
    result = score([manifest], tmp_path)
    row = result.rows[0]
    assert (row["call_id"], row["agent_id"], row["team"], row["meta_campaign"]) == (
        "P-1",
        "bob",
        "B",
        "x",
    )
    stored = store.read_calls(tmp_path / "s.duckdb", agent="bob")[0]
    assert (stored["call_id"], stored["call_date"], stored["metadata"]) == (
        "P-1",
        "2025-02-03",
        {"campaign": "x"},
    )
    assert "| bob | 1 |" in (tmp_path / "out" / "summary.md").read_text()


def test_process_pool_matches_inline(first_run: dict[str, Any], tmp_path: Path) -> None:
    result = score([first_run["dir"]], tmp_path, store_path=None, options=BatchOptions(workers=2))
    assert result.counts["scored"] == 2
    for call_id in ("good", "poor"):
        pooled = json.loads((tmp_path / "out" / "calls" / f"{call_id}.json").read_text())
        alone = json.loads((first_run["out"] / "calls" / f"{call_id}.json").read_text())
        assert stable(pooled) == stable(alone)


def test_rebuild_outputs_from_store(first_run: dict[str, Any], tmp_path: Path) -> None:
    batch.rebuild_outputs(first_run["store"], tmp_path / "again")
    rebuilt = list(csv.DictReader(io.StringIO((tmp_path / "again" / "scorecards.csv").read_text())))
    assert sorted(r["call_id"] for r in rebuilt) == ["good", "poor"]
    text = (first_run["out"] / "scorecards.csv").read_text()
    original = {r["call_id"]: r for r in csv.DictReader(io.StringIO(text))}
    for r in rebuilt:
        assert r["score"] == original[r["call_id"]]["score"]
        assert r["check_hear__talk_share"] == original[r["call_id"]]["check_hear__talk_share"]


def test_parquet_columns_are_typed(calls_dir: Path, tmp_path: Path) -> None:
    """Dates, UTC timestamps, integer counts, float scores, a list for auto-fails."""
    import pyarrow as pa

    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,agent_id,call_date\n{calls_dir / 'poor.wav'},a1,2025-03-04\n")
    batch.run_batch(
        collect_inputs([manifest]),
        out_dir=tmp_path / "out",
        store_path=None,
        transcriber_factory=FakeTranscriber,
        options=inline(),
        reporter=quiet(),
    )
    table = pq.read_table(tmp_path / "out" / "scorecards.parquet")
    schema = table.schema
    assert schema.field("call_date").type == pa.date32()
    assert schema.field("scored_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("agent_interruptions").type == pa.int64()
    assert schema.field("score").type == pa.float64()
    assert schema.field("section_hear").type == pa.float64()
    assert schema.field("auto_failed").type == pa.list_(pa.string())
    assert schema.field("check_hear__talk_share").type == pa.string()
    row = table.to_pylist()[0]
    assert str(row["call_date"]) == "2025-03-04" and row["scored_at"].year >= 2025
    assert isinstance(row["auto_failed"], list)


# -- progress -----


def test_plain_reporter_writes_a_line_per_call_and_periodic_lines() -> None:
    stream = io.StringIO()
    rep = PlainReporter(stream, interval_s=0.0)
    rep.start(3)
    rep.call_done("a", "scored", score=87.4, seconds=12.34)
    rep.call_done("b", "failed", "bad file")
    rep.call_done("c", "skipped", "already in the store")
    rep.finish()
    lines = [line.split("callqa: ", 1)[1] for line in stream.getvalue().splitlines()]
    assert lines[0] == "scoring 3 calls"
    assert "[1/3] a  score 87  12.3 s" in lines
    assert "[2/3] b  failed: bad file" in lines
    assert "[3/3] c  skipped (already in the store)" in lines
    assert any("calls/min" in line and "ETA" in line for line in lines)
    assert lines[-1].startswith("done: 3/3 calls (1 failed, 1 scored, 1 skipped)")


def test_eta_is_calls_left_times_time_per_worked_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipped calls take no time and do not count; the ETA does not jump back to unknown."""
    from callqa.batch import progress

    clock = iter([100.0, 110.0, 130.0, 131.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    counts = progress._Counts()  # started at 100 s
    counts.total = 6
    counts.add("skipped")
    counts.add("scored")
    assert counts.eta_s() == pytest.approx(4 * 10.0)  # 10 s per worked call at 110 s
    counts.add("scored")
    assert counts.eta_s() == pytest.approx(3 * 15.0)  # 30 s for 2 worked calls at 130 s
    counts.add("skipped")
    assert counts.eta_s() == pytest.approx(2 * 15.5)


def test_json_reporter_lines_are_json_with_score_and_time() -> None:
    stream = io.StringIO()
    rep = JsonReporter(stream)
    rep.start(2)
    rep.call_done("a", "failed", "zero-byte file")
    rep.call_done("b", "scored", score=73.04, seconds=5.4321)
    rep.finish()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["start", "call", "call", "finish"]
    assert events[1]["reason"] == "zero-byte file" and events[1]["score"] is None
    assert (events[2]["score"], events[2]["seconds"]) == (73.04, 5.432)
    assert events[3]["counts"] == {"failed": 1, "scored": 1}


def test_rich_reporter_says_loading_then_a_line_per_call() -> None:
    from callqa.batch.progress import RichReporter

    stream = io.StringIO()
    rep = RichReporter(stream)
    rep.start(2, description="batch")
    assert rep._progress.tasks[0].description == "batch: loading model"
    rep.call_done("en_good", "scored", score=96.2, seconds=20.0)
    assert rep._progress.tasks[0].description == "batch"
    assert rep._progress.tasks[0].fields["eta"].startswith("ETA 0:")
    rep.finish()
    assert "en_good  score 96  20.0 s" in stream.getvalue()


def test_auto_reporter_is_plain_off_a_terminal() -> None:
    assert isinstance(make_reporter("auto", stream=io.StringIO()), PlainReporter)
    with pytest.raises(ValueError, match="progress mode"):
        make_reporter("loud")


# -- CLI -----


@pytest.fixture
def app() -> typer.Typer:
    from callqa.cli.batch import register

    application = typer.Typer()
    register(application)
    return application


def test_cli_batch_export_and_stats(app: typer.Typer, calls_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    db, out = tmp_path / "s.duckdb", tmp_path / "out"
    args = ["batch", str(calls_dir), "--out", str(out), "--store", str(db), "--backend", "fake"]
    done = runner.invoke(app, [*args, "--workers", "0", "--quiet"])
    assert done.exit_code == 0, done.output
    assert (out / "scorecards.csv").exists()
    again = runner.invoke(app, [*args, "--workers", "0", "--json-logs"])
    assert again.exit_code == 0
    events = [json.loads(line) for line in again.stderr.splitlines()]  # nothing but JSON
    assert events[-1]["event"] == "finish" and events[-1]["counts"] == {"skipped": 2}
    assert again.stdout == ""
    exported = runner.invoke(
        app, ["export", "--store", str(db), "--out", str(tmp_path / "e.parquet")]
    )
    assert exported.exit_code == 0 and pq.read_table(tmp_path / "e.parquet").num_rows == 2
    none = runner.invoke(
        app,
        ["export", "--store", str(db), "--out", str(tmp_path / "e.csv"), "--since", "2999-01-01"],
    )
    assert none.exit_code == 0 and "wrote 0 calls" in none.output
    bad = runner.invoke(app, ["export", "--store", str(db), "--out", str(tmp_path / "e.xlsx")])
    assert bad.exit_code == 2 and "use a .csv or .parquet" in bad.output
    table = runner.invoke(app, ["stats", "--store", str(db)])
    assert table.exit_code == 0 and "(none)" in table.output and "2" in table.output


def test_cli_exit_codes(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "bad.wav").write_bytes(b"")
    args = ["--out", str(tmp_path / "o"), "--no-store", "--backend", "fake", "--workers", "0"]
    failed = runner.invoke(app, ["batch", str(tmp_path / "bad.wav"), *args, "--quiet"])
    assert failed.exit_code == 1
    manifest = tmp_path / "m.csv"
    manifest.write_text("file\nx.wav\n")
    usage = runner.invoke(app, ["batch", str(manifest), "--out", str(tmp_path / "o"), "--no-store"])
    assert usage.exit_code == 2 and "Error: manifest" in usage.output
    missing = runner.invoke(app, ["stats", "--store", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1 and "Error: store" in missing.output
    assert runner.invoke(app, ["batch"]).exit_code == 2


@pytest.mark.parametrize("command", ["batch", "nightly", "export", "stats"])
def test_cli_help_has_an_example(app: typer.Typer, command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert f"callqa {command}" in result.output


# -- the real model -----


@pytest.mark.slow
def test_real_model_on_two_sample_calls(calls_dir: Path, tmp_path: Path) -> None:
    """Whisper base (shipped) through a one-worker pool: both calls get a transcript and a score."""
    config = replace_config(Config(), call__language="en")
    result = run_batch(
        collect_inputs([calls_dir]),
        config=config,
        out_dir=tmp_path / "out",
        store_path=tmp_path / "s.duckdb",
        options=BatchOptions(workers=1, threads=2),
        reporter=quiet(),
    )
    assert result.counts == {"scored": 2, "skipped": 0, "failed": 0}, result.rows
    for call_id in ("good", "poor"):
        card = json.loads((tmp_path / "out" / "calls" / f"{call_id}.json").read_text())
        assert card["model"]["backend"] == "faster-whisper"
        words = " ".join(s["text"] for s in card["transcript"]["segments"]).lower()
        assert len(words.split()) > 20 and card["score"] is not None


def audio_src(page: str) -> list[str]:
    return re.findall(r'<audio id="audio"[^>]* src="([^"]+)"', page)


def test_reports_and_dashboard(calls_dir: Path, tmp_path: Path) -> None:
    result = score(
        [calls_dir / "poor.wav"], tmp_path, store_path=None, options=inline(reports=True)
    )
    assert result.counts["scored"] == 1
    page = (tmp_path / "out" / "calls" / "poor.html").read_text()
    assert "plotly-basic.min.js" in page  # the bundle is shared, not inlined per call
    dashboard = (tmp_path / "out" / "dashboard.html").read_text()
    assert "calls/poor.html" in dashboard
    # the fake's words hold no personal data: nothing to silence, the original is linked
    card = json.loads((tmp_path / "out" / "calls" / "poor.json").read_text())
    assert card["redaction"]["enabled"] and card["redaction"]["spans"] == []
    assert audio_src(page)[0].endswith("/poor.wav")
    assert not list((tmp_path / "out" / "calls").glob("*.flac"))


# A mono call of continuous synthetic speech; the fake transcriber hears SAID spread over it,
# so the planted card number (a Visa test number) falls in the middle of the speech.
PLANTED = "4532015112830366"
GROUPS = " ".join(PLANTED[i : i + 4] for i in range(0, 16, 4))
SAID = f"thank you for calling yes my card is {GROUPS} that is all thank you for your help today"
SPEECH = (
    "Thank you for calling the support line, this is Anna. Yes, I would like to pay the "
    "invoice with my card today, and then I would like to close the account, thank you."
)


@pytest.fixture(scope="module")
def spoken_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("spoken")
    args = ["espeak-ng", "-v", "en", "-s", "150", "-w", str(folder / "card call.wav"), SPEECH]
    subprocess.run(args, check=True)
    return folder


def hears_card() -> Any:
    return functools.partial(FakeTranscriber, text=SAID)


def test_reports_link_a_redacted_copy(spoken_dir: Path, tmp_path: Path) -> None:
    """``--reports`` with redaction on: the report links calls/<id>.redacted.flac, silenced."""
    from callqa.audio.load import load_audio

    result = score([spoken_dir], tmp_path, options=inline(reports=True),
                   transcriber_factory=hears_card())  # fmt: skip
    assert result.counts["scored"] == 1 and result.exit_code == 0
    calls = tmp_path / "out" / "calls"
    card = json.loads((calls / "card call.json").read_text())
    spans = [s for s in card["redaction"]["spans"] if s["type"] == "card"]
    assert len(spans) == 1
    page = (calls / "card call.html").read_text()
    assert audio_src(page) == ["card%20call.redacted.flac"]
    assert PLANTED not in page and GROUPS not in page
    audio, sr = sf.read(calls / "card call.redacted.flac", dtype="float32", always_2d=True)
    original = load_audio(spoken_dir / "card call.wav").mix
    a, b = int(spans[0]["start"] * sr), int(spans[0]["end"] * sr)
    assert sr == 16_000 and len(audio) == len(original) and b - a > sr // 2
    assert np.all(audio[a:b] == 0.0)
    assert np.abs(original[a:b]).max() > 0.05  # the planted number was spoken there
    assert np.count_nonzero(audio) > 0.5 * audio.size


def test_reports_of_skipped_calls_also_get_the_copy(spoken_dir: Path, tmp_path: Path) -> None:
    """A re-run into a fresh folder writes the reports of stored calls with their copies."""
    first = score([spoken_dir], tmp_path, transcriber_factory=hears_card())
    assert first.counts["scored"] == 1
    again = score([spoken_dir], tmp_path, out_dir=tmp_path / "again",
                  options=inline(reports=True), transcriber_factory=hears_card())  # fmt: skip
    assert again.counts == {"scored": 0, "skipped": 1, "failed": 0}
    page = (tmp_path / "again" / "calls" / "card call.html").read_text()
    assert audio_src(page) == ["card%20call.redacted.flac"]
    assert (tmp_path / "again" / "calls" / "card call.redacted.flac").is_file()


def test_reports_with_redaction_off_link_the_original(spoken_dir: Path, tmp_path: Path) -> None:
    config = replace_config(Config(), redaction__enabled=False)
    score([spoken_dir], tmp_path, store_path=None, options=inline(reports=True), config=config,
          transcriber_factory=hears_card())  # fmt: skip
    page = (tmp_path / "out" / "calls" / "card call.html").read_text()
    assert audio_src(page)[0].endswith("/card%20call.wav")
    assert not list((tmp_path / "out" / "calls").glob("*.flac"))


def test_report_without_its_redacted_copy_has_no_audio(
    spoken_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the copy cannot be written the report has no audio, never the original."""
    import callqa.outputs.report
    from callqa.errors import AudioError

    def broken(*args: Any, **kw: Any) -> Path:
        raise AudioError("disk full")

    monkeypatch.setattr(callqa.batch.writer, "redact_card_audio", broken)
    stream = io.StringIO()
    result = score([spoken_dir], tmp_path, store_path=None, options=inline(reports=True),
                   transcriber_factory=hears_card(), reporter=PlainReporter(stream))  # fmt: skip
    assert result.counts["scored"] == 1
    page = (tmp_path / "out" / "calls" / "card call.html").read_text()
    assert audio_src(page) == [] and "No audio in this report" in page
    assert "report for card call has no audio: cannot write its redacted copy (disk full)" in (
        stream.getvalue()
    )


def test_stats_formats_with_section_means(
    app: typer.Typer, first_run: dict[str, Any], tmp_path: Path
) -> None:
    """CSV when piped (and with --format csv), JSON on request; a mean per rubric section."""
    runner = CliRunner()
    db = str(first_run["store"])
    calls = store.read_calls(first_run["store"])
    piped = runner.invoke(app, ["stats", "--store", db])
    rows = list(csv.DictReader(io.StringIO(piped.stdout)))
    assert piped.exit_code == 0 and len(rows) == 1 and rows[0]["agent"] == "(none)"
    assert rows[0]["calls"] == "2"
    mean_hear = sum(c["sections"]["hear"] for c in calls) / 2
    assert float(rows[0]["section_hear"]) == pytest.approx(mean_hear, abs=1e-3)
    as_json = json.loads(runner.invoke(app, ["stats", "--store", db, "--format", "json"]).stdout)
    assert as_json[0]["mean_score"] == pytest.approx(sum(c["score"] for c in calls) / 2, abs=1e-3)
    table = runner.invoke(app, ["stats", "--store", db, "--format", "table"])
    assert "mean score" in table.stdout and "hear" in table.stdout


def test_call_ids_clash_only_after_they_are_made_safe() -> None:
    """ "x/y" and "x_y" are different manifest ids but one file name: a usage error."""
    clash = [CallInput(Path("a.wav"), call_id="x/y"), CallInput(Path("b.wav"), call_id="x_y")]
    with pytest.raises(BatchUsageError, match=r"'x/y', 'x_y' all become the file name 'x_y'"):
        plan.call_ids(clash)
    assert plan.safe_call_id("\u202egnp.exe") == "_gnp.exe"  # no right-to-left override
    long = plan.safe_call_id("k" * 300)
    assert len(long.encode()) <= plan.MAX_ID_BYTES and long.startswith("k" * 100)
    assert plan.safe_call_id("k" * 300 + "a") != long
    same_audio = [CallInput(Path("a/c.wav")), CallInput(Path("b/c.wav"))]
    ids = plan.call_ids(same_audio, ["ab" * 32, "ab" * 32])  # a duplicate: still two names
    assert ids == ["c-abababab", "c-abababab-2"]


def test_the_largest_files_start_first(tmp_path: Path) -> None:
    # Longest-processing-time-first: a long call started last would hold the whole batch
    # while the other workers sit idle. Ties keep the input order; a vanished file sorts last.
    sizes = {"a.wav": 10, "b.wav": 300, "c.wav": 20, "d.wav": 300}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    names = [*sizes, "gone.wav"]
    entries = [plan.Entry(n, CallInput(path=tmp_path / name), name) for n, name in enumerate(names)]
    plan.hash_inputs(entries, None, 1.0)  # reads each size; the vanished file is failed
    order = [e.call_id for e in plan.largest_first(entries)]
    assert order == ["b.wav", "d.wav", "c.wav", "a.wav", "gone.wav"]


def test_process_engine_starts_jobs_in_the_order_given(tmp_path: Path) -> None:
    from callqa.batch.engines import Job, JobResult, ProcessEngine

    jobs = [Job(i, str(tmp_path / f"missing{i}.wav"), f"c{i}", Config()) for i in (2, 0, 1)]
    seen: list[JobResult] = []
    ProcessEngine(FakeTranscriber, workers=1, threads=1).run(jobs, seen.append)
    assert [r.index for r in seen] == [2, 0, 1]  # one worker: finished in the order started
    assert {r.status for r in seen} == {"failed"}  # and each missing file is a failed row


def test_summary_counts_calls_without_a_score() -> None:
    """A scored call with no score (a language without a phrase pack) had vanished from the
    per-agent table: "7 scored" above a table of 6 calls."""
    from callqa.batch.tables import summary_markdown

    rows = [
        {"status": "scored", "call_id": "a", "agent_id": "ann", "score": 80.0},
        {"status": "scored", "call_id": "b", "agent_id": "ann", "score": None},
        {"status": "scored", "call_id": "c", "agent_id": "bob", "score": None},
    ]
    text = summary_markdown(rows)
    assert "3 calls: 3 scored" in text and "2 of the scored calls have no score" in text
    assert "| ann | 2 | 1 | 80.0 | 80.0 | 80.0 | - | - |" in text
    assert "| bob | 1 | 0 | - | - | - | - | - |" in text


def test_copies_of_a_broken_file_are_each_a_failed_row(tmp_path: Path) -> None:
    """Two empty files have the same sha256: the second was 'skipped (same audio as a)', and a
    nightly run, which lists no skipped rows, lost it altogether."""
    for name in ("a.wav", "b.wav", "c.wav"):
        (tmp_path / name).write_bytes(b"")
    result = score([tmp_path / n for n in ("a.wav", "b.wav", "c.wav")], tmp_path)
    assert [r["status"] for r in result.rows] == ["failed", "failed", "failed"]
    first = result.rows[0]["reason"]
    said = f"same audio as a ({tmp_path / 'a.wav'}), which failed: {first}"
    assert result.rows[1]["reason"] == said
    with duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True) as db:
        logged = db.execute("SELECT call_id FROM failures ORDER BY call_id").fetchall()
    assert [c for (c,) in logged] == ["a", "b", "c"]


def test_the_summary_counts_a_duplicate_audio_once(calls_dir: Path, tmp_path: Path) -> None:
    """summary.md had averaged the same call twice (the copy's row carries its scorecard), so it
    disagreed with `callqa stats`."""
    from callqa.batch.tables import summary_markdown

    shutil.copy(calls_dir / "good.wav", tmp_path / "copy of good.wav")
    result = score([calls_dir / "good.wav", tmp_path / "copy of good.wav"], tmp_path)
    text = summary_markdown(result.rows)
    assert "| (none) | 1 | 1 |" in text, text


def test_an_unreadable_folder_is_a_failed_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.walk had skipped a folder it could not list: 0 calls, exit 0, no word. (The folder is
    refused by a stand-in for os.scandir: as root, chmod 0 still lets it be read.)"""
    calls = tmp_path / "calls"
    (calls / "day1").mkdir(parents=True)
    (calls / "day1" / "x.wav").write_bytes(b"")
    (calls / "y.wav").write_bytes(b"")
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == calls / "day1":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = collect_inputs([calls])
    assert [(c.path, c.problem) for c in found.calls] == [
        (calls / "y.wav", None),
        (calls / "day1", f"cannot read folder {calls / 'day1'}: Permission denied"),
    ]


def test_the_batch_output_folder_is_never_an_input(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "out" / "calls").mkdir(parents=True)
    (tmp_path / "out" / "calls" / "a.redacted.flac").write_bytes(b"x")
    found = collect_inputs([tmp_path], exclude=[tmp_path / "out"])
    assert [c.path for c in found.calls] == [tmp_path / "a.wav"]
    found = collect_inputs([f"{tmp_path}/**/*.flac"], exclude=[tmp_path / "out"])
    assert found.calls == ()


def test_a_manifest_after_its_folder_keeps_its_details(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "m.csv").write_text("path,agent_id\na.wav,ann\n")
    found = collect_inputs([tmp_path, tmp_path / "m.csv"])
    assert [(c.path.name, c.agent_id) for c in found.calls] == [("a.wav", "ann")]
    (tmp_path / "m.csv").write_text("path,call_id\na.wav,c1\na.wav,c3\n")
    with pytest.raises(BatchUsageError, match="listed twice with different details"):
        collect_inputs([tmp_path / "m.csv"])


def test_a_reused_file_name_never_replaces_an_earlier_calls_scorecard(
    calls_dir: Path, tmp_path: Path
) -> None:
    """Recorders reuse names (call001 every day): the second run's calls/call001.json had
    replaced the first run's, and the store held two 'call001' rows pointing at one file."""
    day1, day2 = tmp_path / "day1", tmp_path / "day2"
    day1.mkdir(), day2.mkdir()
    shutil.copy(calls_dir / "good.wav", day1 / "call001.wav")
    shutil.copy(calls_dir / "poor.wav", day2 / "call001.wav")
    first = score([day1 / "call001.wav"], tmp_path)
    card = json.loads((tmp_path / "out" / "calls" / "call001.json").read_text())
    second = score([day2 / "call001.wav"], tmp_path)
    sha = second.rows[0]["audio_sha256"]
    assert first.rows[0]["call_id"] == "call001"
    assert second.rows[0]["call_id"] == f"call001-{sha[:8]}"
    assert json.loads((tmp_path / "out" / "calls" / "call001.json").read_text()) == card
    again = score([day1 / "call001.wav"], tmp_path, options=inline(force=True))
    assert again.rows[0]["call_id"] == "call001"  # the same recording keeps its id
    ids = sorted(c["call_id"] for c in store.read_calls(tmp_path / "s.duckdb"))
    assert ids == ["call001", f"call001-{sha[:8]}"]


def test_no_id_or_column_name_leads_back_to_personal_data() -> None:
    """An unreadable file's id suffix was the sha1 of its raw path: 'call [PHONE]-1dadf1e9'
    gave the number back to anyone who hashed candidate numbers. A manifest column named
    after a customer kept the e-mail in the tables' headers and the store."""
    import hashlib

    red = RedactionConfig()
    names = [Path("piisha/call +47 912 34 567.ogg"), Path("piisha/call +47 912 34 568.ogg")]
    ids = plan.call_ids([CallInput(p) for p in names], [None, None], red)
    assert ids[0].startswith("call [PHONE]-") and ids[1] == f"{ids[0]}-2"
    for p in names:
        assert hashlib.sha1(str(p).encode()).hexdigest()[:8] not in "".join(ids)
    shown = plan.shown_input(
        CallInput(Path("a.wav"), metadata=(("customer ola.nordmann@example.com", "x"),)), red
    )
    assert "ola.nordmann" not in str(shown.metadata)
