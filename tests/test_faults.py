"""Bad input and faults: every one costs at most its own call, never a stored result.

The transcribers below are module-level (picklable) so spawned worker processes can import
them from this file (pytest puts tests/ on sys.path, and spawn passes sys.path on).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from callqa import batch, store
from callqa.batch import BatchOptions, collect_inputs, run_batch
from callqa.config import Config, replace_config
from callqa.errors import CallQAError, StoreError
from callqa.progress import make_reporter
from callqa.testing import FakeTranscriber

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
SAMPLE = ROOT / "sample_calls" / "en_good.ogg"


@dataclass(frozen=True)
class KillOnce:
    """A factory whose transcriber SIGKILLs its own process the first time (like the OOM killer).

    The marker file makes the kill happen once across all worker processes.
    """

    marker: str

    def __call__(self) -> _Killer:
        return _Killer(self.marker, short_only=False)


@dataclass(frozen=True)
class KillOnShort:
    """A factory whose transcriber SIGKILLs its process on every call shorter than 5 s."""

    def __call__(self) -> _Killer:
        return _Killer("", short_only=True)


class _Killer(FakeTranscriber):
    def __init__(self, marker: str, *, short_only: bool) -> None:
        super().__init__()
        object.__setattr__(self, "_marker", marker)
        object.__setattr__(self, "_short_only", short_only)

    def transcribe(self, audio: np.ndarray, *, language: str) -> Any:
        if self._short_only and len(audio) < 5 * 16_000:
            os.kill(os.getpid(), signal.SIGKILL)
        if self._marker and not os.path.exists(self._marker):
            Path(self._marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().transcribe(audio, language=language)


@dataclass(frozen=True)
class SlowFake:
    """A factory for a fake transcriber that takes ``seconds`` per channel."""

    seconds: float

    def __call__(self) -> _Slow:
        return _Slow(self.seconds)


class _Slow(FakeTranscriber):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        object.__setattr__(self, "_seconds", seconds)

    def transcribe(self, audio: np.ndarray, *, language: str) -> Any:
        time.sleep(self._seconds)
        return super().transcribe(audio, language=language)


def clip(out: Path, start: float, seconds: float) -> Path:
    """Cut ``seconds`` of the good sample call starting at ``start`` into ``out`` (WAV)."""
    if not SAMPLE.exists():
        pytest.skip("sample_calls/ not generated yet")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", str(seconds), "-i", str(SAMPLE),
         str(out)],
        check=True,
    )  # fmt: skip
    return out


def quiet() -> Any:
    return make_reporter("quiet")


def inline_run(specs: list[Any], work: Path, **kw: Any) -> batch.BatchResult:
    args: dict[str, Any] = {
        "out_dir": work / "out",
        "store_path": work / "s.duckdb",
        "transcriber_factory": FakeTranscriber,
        "options": BatchOptions(workers=0),
        "reporter": quiet(),
    }
    return run_batch(collect_inputs(specs), **{**args, **kw})


def by_name(result: batch.BatchResult) -> dict[str, dict[str, Any]]:
    return {Path(r["source_path"]).name: r for r in result.rows}


# -- bad input -----


def test_bad_files_fail_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    good = clip(calls / "good.wav", 0, 6)
    (calls / "empty.wav").write_bytes(b"")
    (calls / "text.wav").write_text("this is not audio\n")
    mp3 = calls / "cut.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(good), str(mp3)], check=True)
    mp3.write_bytes(mp3.read_bytes()[: mp3.stat().st_size // 2])
    locked = clip(calls / "locked.wav", 6, 4)
    real_hash = batch.sha256_file

    def unreadable(path: Path, **kw: Any) -> str:
        # Tests run as root, where chmod 000 does not stop reads: simulate the refused open.
        if Path(path).name == "locked.wav":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_hash(path, **kw)

    monkeypatch.setattr(batch, "sha256_file", unreadable)
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    result = inline_run([calls, notes], tmp_path)
    rows = by_name(result)
    assert rows["good.wav"]["status"] == "scored"
    assert rows["empty.wav"]["reason"] == "empty.wav: empty file (0 bytes); re-export the recording"
    assert rows["text.wav"]["reason"].startswith("text.wav: not an audio file")
    assert rows["cut.mp3"]["reason"].startswith("cut.mp3: truncated or corrupt audio")
    assert rows["locked.wav"]["reason"] == f"cannot read {locked}: Permission denied"
    assert rows["notes.txt"]["reason"].startswith("not an audio file (extension .txt")
    assert result.counts == {"scored": 1, "skipped": 0, "failed": 5}
    assert result.exit_code == 1
    assert all("\n" not in r["reason"] for r in result.rows)
    with store.connect(tmp_path / "s.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM failures").fetchone() == (5,)
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Failed calls" in summary and "empty file (0 bytes)" in summary


def test_call_over_the_duration_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    long = tmp_path / "long.flac"  # 2 h 0 min 10 s of silence: flac keeps it at ~1.3 MB
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "7210",
         "-c:a", "flac", str(long)],
        check=True,
    )  # fmt: skip
    config = replace_config(Config(), call__max_duration_s=7200.0)
    start = time.monotonic()
    result = inline_run([long], tmp_path, config=config, store_path=None)
    assert time.monotonic() - start < 20  # decoding 2 h would take far longer
    assert result.rows[0]["status"] == "failed"
    assert "more than the 120 min limit" in result.rows[0]["reason"]


def test_ten_thousand_non_audio_files_are_counted_fast(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    for i in range(10):
        sub = junk / f"d{i}"
        sub.mkdir(parents=True)
        for j in range(1000):
            (sub / f"f{j}.txt").touch()
    (junk / "d3" / "call.wav").touch()
    start = time.monotonic()
    found = collect_inputs([junk])
    assert time.monotonic() - start < 2.0
    assert found.ignored_files == 10_000
    assert [c.path.name for c in found.calls] == ["call.wav"]


def test_unicode_and_spaces_in_paths(tmp_path: Path) -> None:
    odd = clip(tmp_path / "Kundeanrop ø" / "samtale 1 – é.wav", 0, 5)
    result = inline_run([tmp_path / "Kundeanrop ø"], tmp_path)
    assert result.rows[0]["status"] == "scored"
    card = json.loads((tmp_path / "out" / "calls" / "samtale 1 – é.json").read_text("utf-8"))
    assert card["source"]["path"] == str(odd)
    assert store.read_calls(tmp_path / "s.duckdb")[0]["call_id"] == "samtale 1 – é"


# -- environment faults -----


HOLD = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_store_locked_by_another_process(tmp_path: Path) -> None:
    call = clip(tmp_path / "c.wav", 0, 4)
    db = tmp_path / "s.duckdb"
    with store.connect(db):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="in use by another process"):
            inline_run([call], tmp_path, options=BatchOptions(workers=0, store_timeout_s=0.3))
        import typer

        from callqa.cli_batch import register

        app = typer.Typer()
        register(app)
        result = CliRunner().invoke(app, ["batch", str(call), "--store", str(db), "--out",
                                          str(tmp_path / "o"), "--backend", "fake", "--workers",
                                          "0", "--store-timeout", "0.3"])  # fmt: skip
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: store {db} is in use by another process (PID ")
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "out" / "calls" / "c.json").exists()  # refused before any work


def test_output_directory_not_writable(tmp_path: Path) -> None:
    # As root, chmod cannot make a directory unwritable: use a path below a regular file.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(
        CallQAError, match=r"output directory .* is not writable .*choose another --out"
    ):
        inline_run([tmp_path], tmp_path, out_dir=blocker / "out")


def test_full_disk_for_call_files_keeps_store_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = clip(tmp_path / "calls" / "c.wav", 0, 4)
    real_write = batch.atomic_write_text

    def full(path: Any, text: str) -> Path:
        if Path(path).suffix == ".json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, text)

    monkeypatch.setattr(batch, "atomic_write_text", full)
    result = inline_run([call], tmp_path)
    assert result.rows[0]["status"] == "scored"
    stored = store.read_calls(tmp_path / "s.duckdb")
    assert len(stored) == 1 and stored[0]["scorecard_path"] is None
    monkeypatch.setattr(batch, "atomic_write_text", real_write)
    batch.rebuild_outputs(tmp_path / "s.duckdb", tmp_path / "rebuilt")
    assert "c," in (tmp_path / "rebuilt" / "scorecards.csv").read_text()


# -- dying workers -----


def test_worker_killed_once_is_replaced(tmp_path: Path) -> None:
    calls = [clip(tmp_path / "calls" / f"c{i}.wav", 5 * i, 4) for i in range(2)]
    marker = tmp_path / "killed-once"
    result = inline_run(calls, tmp_path, transcriber_factory=KillOnce(str(marker)),
                        options=BatchOptions(workers=1, threads=1))  # fmt: skip
    assert marker.exists()  # a worker really died
    assert result.restarts >= 1
    assert result.counts == {"scored": 2, "skipped": 0, "failed": 0}


def test_call_that_always_kills_its_worker_fails_alone(tmp_path: Path) -> None:
    calls = [clip(tmp_path / "calls" / f"c{i}.wav", 5 * i, 6) for i in range(2)]
    poison = clip(tmp_path / "calls" / "poison.wav", 20, 2)
    result = inline_run([*calls, poison], tmp_path, transcriber_factory=KillOnShort(),
                        options=BatchOptions(workers=1, threads=1))  # fmt: skip
    rows = by_name(result)
    assert rows["poison.wav"]["status"] == "failed"
    assert rows["poison.wav"]["reason"].startswith("the worker process died while scoring")
    assert rows["c0.wav"]["status"] == rows["c1.wav"]["status"] == "scored"


RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from test_faults import SlowFake
    from callqa.batch import BatchOptions, collect_inputs, run_batch
    from callqa.progress import make_reporter
    work = Path(sys.argv[3])
    run_batch(collect_inputs([work / "calls"]), out_dir=work / "out", store_path=work / "s.duckdb",
              transcriber_factory=SlowFake(1.0), options=BatchOptions(workers=1, threads=1),
              reporter=make_reporter("plain"))
    """
)


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_sigkill_mid_batch_then_resume(tmp_path: Path) -> None:
    for i in range(4):
        clip(tmp_path / "calls" / f"c{i}.wav", 4 * i, 3)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(TESTS), str(ROOT), str(tmp_path)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while len(list((tmp_path / "out" / "calls").glob("*.json"))) < 2:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "no call finished in 90 s"
        time.sleep(0.1)
    workers = children_of(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.stem for p in (tmp_path / "out" / "calls").glob("*.json")}
    assert 2 <= len(done) < 4
    with store.connect(tmp_path / "s.duckdb", read_only=True) as con:  # no partial rows
        calls = con.execute("SELECT audio_sha256 FROM calls").fetchall()
        orphans = con.execute(
            "SELECT count(*) FROM check_results "
            "WHERE audio_sha256 NOT IN (SELECT audio_sha256 FROM calls)"
        ).fetchone()
        assert orphans == (0,)
        for (sha,) in calls:
            n = con.execute(
                "SELECT count(*) FROM check_results WHERE audio_sha256 = ?", [sha]
            ).fetchone()
            assert n is not None and n[0] > 0
        status = con.execute("SELECT status FROM runs").fetchall()
    assert status == [("running",)]  # the killed run is visibly unfinished
    stored = len(calls)
    assert stored >= 1  # the first call was stored before the second one finished
    time.sleep(2.5)  # the orphaned worker notices its parent is gone within ~1 s
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists() and _alive(pid)]
    resumed = inline_run([tmp_path / "calls"], tmp_path, transcriber_factory=SlowFake(0.0))
    assert resumed.counts == {"scored": 4 - stored, "skipped": stored, "failed": 0}
    assert len(store.read_calls(tmp_path / "s.duckdb")) == 4


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
