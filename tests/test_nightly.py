"""The nightly pipeline: new calls only, dated summary, lock, kill safety, cron and systemd."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import clip as clip_sample
from typer.testing import CliRunner

from callqa.batch import BatchOptions, LockHeldError, run_nightly, store, store_lock
from callqa.batch.nightly import EXIT_LOCKED
from callqa.batch.progress import make_reporter
from callqa.transcription.fake import FakeTranscriber

ROOT = Path(__file__).resolve().parents[1]
PIPELINES = ROOT / "pipelines"
SAMPLE = ROOT / "sample_calls" / "en_poor.ogg"


def clip(out: Path, start: float, seconds: float) -> Path:
    """A cut of the poor sample call, an hour old (past the min-age guard)."""
    clip_sample(out, start, seconds, SAMPLE)
    old = time.time() - 3600  # an hour old: past the min-age guard
    os.utime(out, (old, old))
    return out


def nightly(inbox: Path, db: Path, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "store_path": db,
        "transcriber_factory": FakeTranscriber,
        "options": BatchOptions(workers=0),
        "reporter": make_reporter("quiet"),
        "day": "2025-01-31",
    }
    return run_nightly(inbox, **{**args, **kw})


def test_scores_only_new_calls_and_writes_dated_summary(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "qa.duckdb"
    clip(inbox / "a.wav", 0, 4)
    clip(inbox / "sub" / "b.wav", 5, 4)
    (inbox / "manifest.csv").write_text("path,agent_id,team\na.wav,ann,A\n")
    first = nightly(inbox, db)
    assert first.counts == {"scored": 2, "skipped": 0, "failed": 0}
    out = tmp_path / "callqa-nightly"
    summary = (out / "summary-2025-01-31.md").read_text()
    assert "2 calls: 2 scored" in summary and "| ann | 1 |" in summary
    assert (out / "scorecards-2025-01-31.csv").exists()
    clip(inbox / "c.wav", 10, 4)
    fresh = clip(inbox / "d.wav", 15, 4)
    now = time.time()
    os.utime(fresh, (now, now))  # still being copied: left for the next night
    second = nightly(inbox, db, day="2025-02-01")
    assert second.counts == {"scored": 1, "skipped": 2, "failed": 0}
    assert [r["call_id"] for r in second.rows] == ["c"]  # the summary lists this night's calls
    assert "1 calls: 1 scored" in (out / "summary-2025-02-01.md").read_text()
    assert {r["agent_id"] for r in store.read_calls(db)} == {"ann", None}


def test_failures_give_a_nonzero_exit(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    broken = inbox / "broken.wav"
    broken.write_bytes(b"RIFF")
    os.utime(broken, (time.time() - 3600,) * 2)
    result = nightly(inbox, tmp_path / "qa.duckdb")
    assert result.exit_code == 1 and result.rows[0]["status"] == "failed"


def test_missing_inbox_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="is not a directory"):
        nightly(tmp_path / "nope", tmp_path / "qa.duckdb")


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from callqa.batch import store_lock
    with store_lock(Path(sys.argv[1])):
        print("held", flush=True)
        time.sleep(30)
    """
)


def test_second_run_exits_at_once_with_75(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "qa.duckdb"
    inbox.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        with pytest.raises(LockHeldError, match=rf"another callqa run \(PID {holder.pid}\) holds"):
            nightly(inbox, db)
        assert time.monotonic() - start < 2.0
        from callqa.cli.batch import register

        app = typer.Typer()
        register(app)
        args = ["nightly", "--inbox", str(inbox), "--store", str(db), "--backend", "fake"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == EXIT_LOCKED == 75
        assert result.output.startswith("Error: another callqa run")
        script = subprocess.run(
            [sys.executable, str(PIPELINES / "nightly.py"), "--inbox", str(inbox), "--store",
             str(db), "--backend", "fake"],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        assert script.returncode == 75, script.stderr
    finally:
        holder.kill()
        holder.wait()
    with store_lock(db):  # released by the kernel when the holder died
        pass


RUN_NIGHTLY = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from test_faults import SlowFake
    from callqa.batch import BatchOptions, run_nightly
    from callqa.batch.progress import make_reporter
    work = Path(sys.argv[3])
    run_nightly(work / "inbox", store_path=work / "qa.duckdb", transcriber_factory=SlowFake(1.0),
                options=BatchOptions(workers=0), reporter=make_reporter("plain"))
    """
)


def test_sigterm_mid_run_leaves_no_partial_rows_and_next_run_completes(tmp_path: Path) -> None:
    for i in range(4):
        clip(tmp_path / "inbox" / f"c{i}.wav", 4 * i, 3)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_NIGHTLY, str(ROOT / "tests"), str(ROOT), str(tmp_path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    calls = tmp_path / "callqa-nightly" / "calls"
    deadline = time.monotonic() + 90
    while len(list(calls.glob("*.json")) if calls.exists() else []) < 2:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    db = tmp_path / "qa.duckdb"
    with store.connect(db, read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM calls").fetchone()
        partial = con.execute(
            "SELECT count(*) FROM calls c WHERE NOT EXISTS "
            "(SELECT 1 FROM check_results r WHERE r.audio_sha256 = c.audio_sha256)"
        ).fetchone()
        runs = con.execute("SELECT status FROM runs").fetchall()
    assert stored is not None and 1 <= stored[0] < 4 and partial == (0,)
    assert runs == [("interrupted",)]
    from test_faults import SlowFake  # the same transcriber: the same scoring key

    resumed = nightly(tmp_path / "inbox", db, transcriber_factory=SlowFake(0.0))
    assert resumed.counts == {"scored": 4 - stored[0], "skipped": stored[0], "failed": 0}
    assert len(store.read_calls(db)) == 4


# -- schedule files -----

CRON_FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def cron_field_ok(field: str, low: int, high: int) -> bool:
    """One crontab time field: '*', numbers, ranges, lists and steps within [low, high]."""
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        bounds = base.split("-")
        if len(bounds) > 2 or not all(b.isdigit() and low <= int(b) <= high for b in bounds):
            return False
    return True


def cron_entries(text: str) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith("#") and not re.match(r"^[A-Z_]+=", line)
    ]


def test_cron_line_has_five_valid_fields() -> None:
    entries = cron_entries((PIPELINES / "callqa-nightly.cron").read_text())
    assert len(entries) == 1
    fields = entries[0].split()
    assert all(
        cron_field_ok(f, lo, hi) for f, (lo, hi) in zip(fields[:5], CRON_FIELD_RANGES, strict=True)
    )
    command = " ".join(fields[5:])
    assert "flock -n -E 75" in command and "callqa nightly --inbox" in command
    assert not cron_field_ok("61", 0, 59) and not cron_field_ok("*/0", 0, 59)  # the check can fail


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    service = (PIPELINES / "callqa-nightly.service").read_text()
    assert "ExecStart=/srv/callqa/.venv/bin/callqa nightly" in service
    assert "SuccessExitStatus=75" in service
    # verify insists that ExecStart exists: point it at /bin/true for the syntax check
    (tmp_path / "callqa-nightly.service").write_text(
        service.replace("/srv/callqa/.venv/bin/callqa", "/bin/true")
    )
    shutil.copy(PIPELINES / "callqa-nightly.timer", tmp_path)
    units = [str(tmp_path / "callqa-nightly.service"), str(tmp_path / "callqa-nightly.timer")]
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True)
    if "Failed to" in result.stderr and "bus" in result.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.strip()}")
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    broken = tmp_path / "broken.timer"
    broken.write_text(
        (PIPELINES / "callqa-nightly.timer").read_text().replace("OnCalendar", "OnCalender")
    )
    bad = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True)
    assert "Unknown key" in bad.stderr  # the check sees a typo


def nightly_args(command: str) -> list[str]:
    """The arguments after ``.../callqa nightly`` in a shell command, up to a redirection."""
    words = shlex.split(command)
    at = next(
        i for i, w in enumerate(words[:-1]) if w.endswith("/callqa") and words[i + 1] == "nightly"
    )
    args = words[at + 2 :]
    stop = next(
        (i for i, w in enumerate(args) if w in {">", ">>", "2>&1", "|", "||", "&&", ";"}), len(args)
    )
    return args[:stop]


def scheduled_commands() -> dict[str, str]:
    cron = " ".join(cron_entries((PIPELINES / "callqa-nightly.cron").read_text())[0].split()[5:])
    service = (PIPELINES / "callqa-nightly.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", service, re.M)
    assert exec_start is not None
    return {"cron": cron, "systemd": exec_start.group(1)}


def test_scheduled_commands_parse_as_callqa_nightly() -> None:
    """Every option the cron line and the unit pass exists: parsed by the real command."""
    from callqa.cli.batch import register

    app = typer.Typer()
    register(app)
    command = typer.main.get_command(app).commands["nightly"]
    for name, line in scheduled_commands().items():
        ctx = command.make_context("nightly", nightly_args(line))
        assert ctx.params["inbox"] == Path("/srv/calls/inbox"), name
        assert ctx.params["store"] == Path("/srv/callqa/qa.duckdb"), name
    with pytest.raises(Exception, match="No such option: --inbx"):
        command.make_context("nightly", ["--inbx", "/srv/calls/inbox"])  # the check can fail


def test_cron_and_timer_fire_at_the_same_time() -> None:
    minute, hour = cron_entries((PIPELINES / "callqa-nightly.cron").read_text())[0].split()[:2]
    timer = (PIPELINES / "callqa-nightly.timer").read_text()
    calendar = re.search(r"^OnCalendar=(.+)$", timer, re.M)
    assert calendar is not None
    assert calendar.group(1) == f"*-*-* {int(hour):02d}:{int(minute):02d}:00"


def test_timer_calendar_is_valid_for_systemd() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    timer = (PIPELINES / "callqa-nightly.timer").read_text()
    calendar = re.search(r"^OnCalendar=(.+)$", timer, re.M)
    assert calendar is not None
    result = subprocess.run(
        [analyze, "calendar", calendar.group(1)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "Normalized form: *-*-* 02:30:00" in result.stdout
    bad = subprocess.run([analyze, "calendar", "*-*-* 25:30:00"], capture_output=True, text=True)
    assert bad.returncode != 0


def test_nightly_passes_the_ray_engine_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import callqa.batch
    from callqa.cli.batch import register

    seen: dict[str, Any] = {}

    def fake_run(inbox: Path, **kw: Any) -> Any:
        seen.update(kw)
        raise callqa.batch.LockHeldError("held")  # stop here: only the options matter

    monkeypatch.setattr(callqa.batch, "run_nightly", fake_run)
    app = typer.Typer()
    register(app)
    args = ["nightly", "--inbox", str(tmp_path), "--store", str(tmp_path / "qa.duckdb"),
            "--backend", "fake", "--engine", "ray", "--address", "ray://head:10001"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == EXIT_LOCKED
    assert (seen["options"].engine, seen["options"].ray_address) == ("ray", "ray://head:10001")
    spec = importlib.util.spec_from_file_location("nightly_script", PIPELINES / "nightly.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    parsed = script.parse_args(["--inbox", "i", "--store", "s", "--engine", "ray", "--address",
                                "ray://head:10001"])  # fmt: skip
    assert (parsed.engine, parsed.address) == ("ray", "ray://head:10001")


@pytest.mark.parametrize("ext", ["opus", "webm", "oga", "aac", "m4a"])
def test_an_inbox_of_any_supported_format_is_scored(tmp_path: Path, ext: str) -> None:
    """Not "ignored as non-audio": batch and nightly take what the decoder reads."""
    inbox, db = tmp_path / "inbox", tmp_path / "qa.duckdb"
    clip(inbox / f"a.{ext}", 0, 4)
    clip(inbox / "sub" / f"b.{ext}", 5, 4)
    result = nightly(inbox, db)
    assert result.counts == {"scored": 2, "skipped": 0, "failed": 0}
    assert result.ignored_files == 0


def test_a_bad_manifest_row_fails_that_call_only(tmp_path: Path) -> None:
    """One malformed date had stopped the whole night (exit 2, nothing scored)."""
    inbox, db = tmp_path / "inbox", tmp_path / "qa.duckdb"
    clip(inbox / "a.wav", 0, 4)
    clip(inbox / "b.wav", 5, 4)
    manifest = "path,agent_id,call_date\na.wav,ann,2025-13-01\nb.wav,bob,\n"
    (inbox / "manifest.csv").write_text(manifest)
    result = nightly(inbox, db)
    rows = {r["call_id"]: r for r in result.rows}
    assert rows["a"]["status"] == "failed" and "is not YYYY-MM-DD" in rows["a"]["reason"]
    assert rows["b"]["status"] == "scored" and rows["b"]["agent_id"] == "bob"


def test_an_unusable_manifest_fails_every_call_with_why(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "qa.duckdb"
    clip(inbox / "a.wav", 0, 4)
    (inbox / "manifest.csv").write_text("path,call_id\na.wav,x\nb.wav,x\n")  # id used twice
    result = nightly(inbox, db)
    assert [r["status"] for r in result.rows] == ["failed"]
    assert "manifest.csv cannot be used" in result.rows[0]["reason"]
    assert "call_id used twice" in result.rows[0]["reason"]
    again = nightly(inbox, db, day="2025-02-01")  # failed calls are tried again
    assert [r["status"] for r in again.rows] == ["failed"]


def test_the_output_folder_inside_the_inbox_is_not_scored(tmp_path: Path) -> None:
    """With --reports the outputs hold `<id>.redacted.flac` copies: the next run had scored
    them as new calls."""
    inbox, db = tmp_path / "inbox", tmp_path / "inbox" / "qa.duckdb"
    clip(inbox / "a.wav", 0, 4)
    out = inbox / "out"
    first = nightly(inbox, db, out_dir=out)
    assert [r["call_id"] for r in first.rows] == ["a"]
    clip(out / "calls" / "a.redacted.wav", 5, 4)  # a report's audio copy: other bytes
    again = nightly(inbox, db, out_dir=out, day="2025-02-01")
    assert again.rows == ()
