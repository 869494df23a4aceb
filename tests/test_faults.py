"""Bad input and faults: every one costs at most its own call, never a stored result.

Each fault has a test that checks its specific outcome: a ``failed`` row with a one-line
reason (or, for faults of the run itself, one ``Error:`` line before any work), the other
calls' results kept, and the exit code.

The transcribers below are module-level (picklable) so spawned worker processes can import
them from this file (pytest puts tests/ on sys.path, and spawn passes sys.path on).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from conftest import clip
from typer.testing import CliRunner, Result

import callqa.batch as batch
from callqa.batch import BatchOptions, collect_inputs, plan, run_batch, store, writer
from callqa.batch.progress import make_reporter
from callqa.errors import CallQAError, StoreError
from callqa.transcription.fake import FakeTranscriber

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


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


@dataclass(frozen=True)
class LockHolder:
    """A factory whose transcriber holds a multiprocessing lock (a named POSIX semaphore), as
    tqdm and torch do in a worker that loaded the real model."""

    def __call__(self) -> _Holder:
        return _Holder()


class _Holder(FakeTranscriber):
    def __init__(self) -> None:
        import multiprocessing
        from multiprocessing import util

        super().__init__()
        object.__setattr__(self, "_lock", multiprocessing.get_context("spawn").Lock())
        util.Finalize(self, time.sleep, args=(0.5,), exitpriority=10)  # a slow exit, as a model's


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


def cli_batch(specs: list[Path], work: Path, *extra: str, out: Path | None = None) -> Result:
    """``callqa batch SPECS --backend fake --workers 0`` into work/out (or ``out``) and
    work/s.duckdb."""
    from callqa.cli.batch import register

    app = typer.Typer()
    register(app)
    args = ["batch", *map(str, specs), "--out", str(out or work / "out"), "--store",
            str(work / "s.duckdb"), "--backend", "fake", "--workers", "0", *extra]  # fmt: skip
    return CliRunner().invoke(app, args)


def csv_rows(work: Path) -> dict[str, dict[str, str]]:
    """scorecards.csv of work/out, by the input file's name."""
    text = (work / "out" / "scorecards.csv").read_text(encoding="utf-8")
    return {Path(r["source_path"]).name: r for r in csv.DictReader(io.StringIO(text))}


@pytest.fixture(scope="module")
def good_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of the good sample call (copied next to each bad file)."""
    return clip(tmp_path_factory.mktemp("good") / "good.wav", 0, 6)


def sparse_wav(path: Path, seconds: float, sr: int = 8000) -> Path:
    """A 16-bit mono WAV header claiming ``seconds`` of audio over a sparse, all-zero body.

    Instant to make and ~0 bytes on disk, however long the header says the call is.
    """
    size = int(seconds * sr) * 2
    header = b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16) + b"data"
    header += struct.pack("<I", size)
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + size)
    return path


# -- bad input -----


def _empty(folder: Path) -> tuple[Path, str]:
    path = folder / "empty.wav"
    path.write_bytes(b"")
    return path, "empty.wav: empty file (0 bytes); re-export the recording"


def _text_as_wav(folder: Path) -> tuple[Path, str]:
    path = folder / "text.wav"
    path.write_text("this is not audio\n")
    return path, "text.wav: not an audio file"


def _truncated_mp3(folder: Path) -> tuple[Path, str]:
    path = folder / "cut.mp3"
    clip(path, 0, 6)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path, "cut.mp3: truncated or corrupt audio"


def _truncated_ogg(folder: Path) -> tuple[Path, str]:
    """Cut inside a page: FFmpeg alone would decode it as a 3.6-s call."""
    path = folder / "cut.ogg"
    clip(path, 0, 6)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])
    return path, "cut.ogg: truncated or corrupt audio (the Ogg stream stops before its last page)"


def _fifo(folder: Path) -> tuple[Path, str]:
    """A named pipe called x.wav: unreadable for root too (opening it would block forever)."""
    path = folder / "x.wav"
    os.mkfifo(path)
    return path, f"not a regular file: {path}"


def _dangling_link(folder: Path) -> tuple[Path, str]:
    """A symlink whose target is gone (a call deleted under a link farm): fails for root too."""
    path = folder / "gone.wav"
    path.symlink_to(folder / "deleted.wav")
    return path, f"cannot read {path}: No such file or directory"


BAD_FILES: dict[str, Callable[[Path], tuple[Path, str]]] = {
    "zero-byte": _empty,
    "text-named-wav": _text_as_wav,
    "truncated-mp3": _truncated_mp3,
    "truncated-ogg": _truncated_ogg,
    "fifo-named-wav": _fifo,
    "dangling-symlink": _dangling_link,
}


@pytest.mark.parametrize("fault", list(BAD_FILES))
def test_bad_file_is_one_failed_row_and_exit_1(fault: str, good_clip: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(good_clip, calls / "good.wav")
    bad, reason = BAD_FILES[fault](calls)
    result = cli_batch([calls], tmp_path)
    assert result.exit_code == 1, result.output
    rows = csv_rows(tmp_path)
    assert rows["good.wav"]["status"] == "scored" and rows["good.wav"]["score"]
    assert rows[bad.name]["status"] == "failed"
    assert rows[bad.name]["reason"].startswith(reason)
    assert "\n" not in rows[bad.name]["reason"]
    assert f"{bad.stem}  failed: {reason}" in result.stderr  # the log line, one per call
    assert "1 scored, 0 skipped, 1 failed" in result.stderr
    stored = store.read_calls(tmp_path / "s.duckdb")
    assert [c["call_id"] for c in stored] == ["good"]


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="running as root, which reads chmod-000 files; test_permission_denied_as_root_"
    "simulated and the fifo/dangling-symlink cases cover unreadable files here",
)
def test_unreadable_file_is_one_failed_row_and_exit_1(good_clip: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(good_clip, calls / "good.wav")
    locked = calls / "locked.wav"
    shutil.copy(good_clip, locked)
    locked.chmod(0)
    try:
        result = cli_batch([calls], tmp_path)
    finally:
        locked.chmod(0o644)
    assert result.exit_code == 1, result.output
    rows = csv_rows(tmp_path)
    assert rows["locked.wav"]["reason"] == f"cannot read {locked}: Permission denied"
    assert rows["good.wav"]["status"] == "scored"


def test_permission_denied_as_root_simulated(
    good_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open() refusal a non-root user gets, injected where the batch first reads the file."""
    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(good_clip, calls / "good.wav")
    locked = calls / "locked.wav"
    shutil.copy(good_clip, locked)
    real_hash = plan.sha256_file

    def refuse(path: Path, **kw: Any) -> str:
        if Path(path).name == "locked.wav":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_hash(path, **kw)

    monkeypatch.setattr(plan, "sha256_file", refuse)
    result = cli_batch([calls], tmp_path)
    assert result.exit_code == 1, result.output
    rows = csv_rows(tmp_path)
    assert rows["locked.wav"]["reason"] == f"cannot read {locked}: Permission denied"
    assert rows["good.wav"]["status"] == "scored"


def test_bad_files_fail_alone(tmp_path: Path) -> None:
    """All the bad files at once, plus a named non-audio file: each is its own failed row."""
    calls = tmp_path / "calls"
    clip(calls / "good.wav", 0, 6)
    for make in BAD_FILES.values():
        make(calls)
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    result = inline_run([calls, notes], tmp_path)
    rows = by_name(result)
    assert rows["good.wav"]["status"] == "scored"
    assert rows["empty.wav"]["reason"] == "empty.wav: empty file (0 bytes); re-export the recording"
    assert rows["text.wav"]["reason"].startswith("text.wav: not an audio file")
    assert rows["cut.mp3"]["reason"].startswith("cut.mp3: truncated or corrupt audio")
    assert rows["cut.ogg"]["reason"].startswith("cut.ogg: truncated or corrupt audio (the Ogg")
    assert rows["x.wav"]["reason"] == f"not a regular file: {calls / 'x.wav'}"
    assert rows["gone.wav"]["reason"].startswith("cannot read")
    assert rows["notes.txt"]["reason"].startswith("not an audio file (extension .txt")
    assert result.counts == {"scored": 1, "skipped": 0, "failed": 7}
    assert result.exit_code == 1
    assert all("\n" not in r["reason"] for r in result.rows)
    with store.connect(tmp_path / "s.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM failures").fetchone() == (7,)
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Failed calls" in summary and "empty file (0 bytes)" in summary


def test_call_over_two_hours_is_refused_before_decoding(good_clip: Path, tmp_path: Path) -> None:
    """A 2 h 1 min call against the 2 h limit of a config file: one failed row in well under a
    minute."""
    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(good_clip, calls / "good.wav")
    sparse_wav(calls / "long.wav", 7260)
    config = tmp_path / "c.toml"
    config.write_text("[call]\nmax_duration_s = 7200\n", encoding="utf-8")
    start = time.monotonic()
    result = cli_batch([calls], tmp_path, "--config", str(config))
    assert time.monotonic() - start < 30  # decoding 2 h would take minutes
    assert result.exit_code == 1, result.output
    rows = csv_rows(tmp_path)
    assert rows["long.wav"]["reason"] == (
        "long.wav: 121 min long, more than the 120 min limit; split it or raise max_duration_s "
        "in the config"
    )
    assert rows["good.wav"]["status"] == "scored"


def test_call_over_the_default_limit_is_refused(tmp_path: Path) -> None:
    """The default limit (2 h, ``[call] max_duration_s``) applies without a config file."""
    long = sparse_wav(tmp_path / "long.wav", 2 * 3600 + 120)
    result = inline_run([long], tmp_path, store_path=None)
    assert result.exit_code == 1
    assert result.rows[0]["reason"].startswith("long.wav: 122 min long, more than the 120 min")


def ten_thousand_text_files(junk: Path) -> Path:
    """``junk/d0 .. d9``, each with 1000 empty ``.txt`` files."""
    for i in range(10):
        sub = junk / f"d{i}"
        sub.mkdir(parents=True)
        for j in range(1000):
            (sub / f"f{j}.txt").touch()
    return junk


def test_ten_thousand_non_audio_files_are_counted_fast(tmp_path: Path) -> None:
    junk = ten_thousand_text_files(tmp_path / "junk")
    (junk / "d3" / "call.wav").touch()
    start = time.monotonic()
    found = collect_inputs([junk])
    assert time.monotonic() - start < 2.0
    assert found.ignored_files == 10_000
    assert [c.path.name for c in found.calls] == ["call.wav"]


def test_folder_of_ten_thousand_non_audio_files_is_not_a_failure(
    good_clip: Path, tmp_path: Path
) -> None:
    """They are counted and reported once; the one call in the folder is scored; exit 0."""
    junk = ten_thousand_text_files(tmp_path / "junk")
    shutil.copy(good_clip, junk / "d3" / "call.wav")
    result = cli_batch([junk], tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("ignored 10000 non-audio files in the input folders") == 1
    assert "1 scored, 0 skipped, 0 failed" in result.stderr
    assert list(csv_rows(tmp_path)) == ["call.wav"]


def test_unicode_and_spaces_in_paths(tmp_path: Path) -> None:
    odd = clip(tmp_path / "Kundeanrop ø" / "samtale 1 – é.wav", 0, 5)
    result = inline_run([tmp_path / "Kundeanrop ø"], tmp_path)
    assert result.rows[0]["status"] == "scored" and result.exit_code == 0
    card = json.loads((tmp_path / "out" / "calls" / "samtale 1 – é.json").read_text("utf-8"))
    assert card["source"]["path"] == str(odd)
    assert store.read_calls(tmp_path / "s.duckdb")[0]["call_id"] == "samtale 1 – é"


def test_unicode_and_spaces_in_a_failed_path(good_clip: Path, tmp_path: Path) -> None:
    """The reason names the file exactly, in the log, the CSV, the summary and the store."""
    calls = tmp_path / "Kundeanrop ø"
    calls.mkdir()
    shutil.copy(good_clip, calls / "samtale 1 – é.wav")
    (calls / "tom fil ø.wav").write_bytes(b"")
    result = cli_batch([calls], tmp_path)
    assert result.exit_code == 1, result.output
    reason = "tom fil ø.wav: empty file (0 bytes); re-export the recording"
    rows = csv_rows(tmp_path)
    assert rows["tom fil ø.wav"]["reason"] == reason
    assert rows["samtale 1 – é.wav"]["status"] == "scored"
    assert f"tom fil ø  failed: {reason}" in result.stderr
    assert reason in (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    with store.connect(tmp_path / "s.duckdb", read_only=True) as con:
        assert con.execute("SELECT reason FROM failures").fetchall() == [(reason,)]


def test_duplicate_audio_is_scored_once_and_not_a_failure(good_clip: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(good_clip, calls / "a.wav")
    shutil.copy(good_clip, calls / "b copy.wav")
    result = cli_batch([calls], tmp_path)
    assert result.exit_code == 0, result.output
    rows = csv_rows(tmp_path)
    assert rows["a.wav"]["status"] == "scored"
    assert rows["b copy.wav"]["status"] == "skipped"
    assert rows["b copy.wav"]["reason"] == f"same audio as a ({calls / 'a.wav'})"
    assert rows["b copy.wav"]["score"] == rows["a.wav"]["score"] != ""
    assert len(store.read_calls(tmp_path / "s.duckdb")) == 1


# -- environment faults -----


HOLD = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_store_locked_by_another_process(good_clip: Path, tmp_path: Path) -> None:
    earlier = clip(tmp_path / "earlier.wav", 10, 4)
    call = shutil.copy(good_clip, tmp_path / "c.wav")
    db = tmp_path / "s.duckdb"
    assert inline_run([earlier], tmp_path, out_dir=tmp_path / "first").exit_code == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="in use by another process"):
            inline_run([call], tmp_path, options=BatchOptions(workers=0, store_timeout_s=0.3))
        result = cli_batch([Path(call)], tmp_path, "--store-timeout", "0.3")
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: store {db} is in use by another process (PID ")
        assert len(result.output.strip().splitlines()) == 1
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "out" / "calls" / "c.json").exists()  # refused before any work
    assert [c["call_id"] for c in store.read_calls(db)] == ["earlier"]  # earlier results kept


def test_output_directory_not_writable(good_clip: Path, tmp_path: Path) -> None:
    # As root, chmod cannot make a directory unwritable: use a path below a regular file.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(
        CallQAError, match=r"output directory .* is not writable .*choose another --out"
    ):
        inline_run([tmp_path], tmp_path, out_dir=blocker / "out")
    assert inline_run([good_clip], tmp_path).exit_code == 0  # an earlier run's results
    result = cli_batch([good_clip], tmp_path, out=blocker / "out")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: output directory {blocker / 'out'} is not writable (Not a directory); "
        "choose another --out\n"
    )
    assert len(store.read_calls(tmp_path / "s.duckdb")) == 1  # the store is untouched


def test_full_disk_for_call_files_keeps_store_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = clip(tmp_path / "calls" / "c.wav", 0, 4)
    real_write = writer.atomic_write_text

    def full(path: Any, text: str) -> Path:
        if Path(path).suffix == ".json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(path, text)

    monkeypatch.setattr(writer, "atomic_write_text", full)
    result = inline_run([call], tmp_path)
    row = result.rows[0]
    assert row["status"] == "failed"  # not "scored": its scorecard file is missing
    assert row["reason"] == (
        "scored, but c.json could not be written: No space left on device (it is in the "
        "store: run again to write it)"
    )
    assert result.exit_code == 1
    stored = store.read_calls(tmp_path / "s.duckdb")
    assert len(stored) == 1 and stored[0]["scorecard_path"] is None
    monkeypatch.setattr(writer, "atomic_write_text", real_write)
    batch.rebuild_outputs(tmp_path / "s.duckdb", tmp_path / "rebuilt")
    assert "c," in (tmp_path / "rebuilt" / "scorecards.csv").read_text()
    again = inline_run([call], tmp_path)  # the next run writes the missing file from the store
    assert again.rows[0]["status"] == "skipped" and again.exit_code == 0
    assert json.loads((tmp_path / "out" / "calls" / "c.json").read_text())["call_id"] == "c"


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


class KillAWorkerAfter:
    """A reporter that SIGKILLs one worker process (as the OOM killer would) when ``after``
    calls are done, then waits until the pool has noticed, so the batch's next step is a
    submit to a broken pool (the race that aborted a batch with ``BrokenProcessPool``)."""

    def __init__(self, after: int) -> None:
        self.after, self.done, self.killed = after, 0, 0

    def start(self, total: int, *, description: str = "scoring") -> None:
        pass

    def call_done(self, call_id: str, status: str, reason: str = "", **_: object) -> None:
        self.done += 1
        if self.done == self.after:
            workers = [pid for pid in children_of(os.getpid()) if _is_pool_worker(pid)]
            assert workers, "no worker process found"
            os.kill(workers[0], signal.SIGKILL)
            self.killed = workers[0]
            time.sleep(1.0)  # the pool's manager thread marks the pool broken meanwhile

    def message(self, text: str, *, level: str = "info") -> None:
        pass

    def finish(self) -> None:
        pass


def _is_pool_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline


@pytest.mark.slow
def test_worker_killed_mid_batch_of_40_scores_all_40(tmp_path: Path) -> None:
    """A worker SIGKILLed in the middle of a 40-call batch costs no call: all 40 are scored."""
    source = clip(tmp_path / "source.wav", 0, 40)
    calls = tmp_path / "calls"
    calls.mkdir()
    for i in range(40):  # 40 different 1-s clips (equal audio would be skipped as duplicates)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", f"{i * 0.9:.1f}", "-t", "1", "-i", str(source),
             str(calls / f"c{i:02d}.wav")],
            check=True,
        )  # fmt: skip
    killer = KillAWorkerAfter(after=10)
    result = inline_run([calls], tmp_path, reporter=killer,
                        options=BatchOptions(workers=2, threads=1))  # fmt: skip
    assert killer.killed
    assert result.restarts >= 1
    assert result.counts == {"scored": 40, "skipped": 0, "failed": 0}
    assert len(store.read_calls(tmp_path / "s.duckdb")) == 40


RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from test_faults import SlowFake
    from callqa.batch import BatchOptions, collect_inputs, run_batch
    from callqa.batch.progress import make_reporter
    work = Path(sys.argv[3])
    run_batch(collect_inputs([work / "calls"]), out_dir=work / "out", store_path=work / "s.duckdb",
              transcriber_factory=SlowFake(1.0), options=BatchOptions(workers=1, threads=1),
              reporter=make_reporter("plain"))
    """
)


LEAK_RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from test_faults import LockHolder
    from callqa.batch import BatchOptions, collect_inputs, run_batch
    from callqa.batch.progress import make_reporter
    work = Path(sys.argv[3])
    result = run_batch(collect_inputs([work / "calls"]), out_dir=work / "out", store_path=None,
                       transcriber_factory=LockHolder(),
                       options=BatchOptions(workers=2, threads=1), reporter=make_reporter("quiet"))
    print(result.counts)
    """
)


def test_finished_workers_exit_cleanly_no_leaked_semaphores(tmp_path: Path) -> None:
    """Idle workers exit on their own after the last call: the resource tracker has nothing
    to warn about ("There appear to be 2 leaked semaphore objects") at shutdown."""
    for i in range(2):
        clip(tmp_path / "calls" / f"c{i}.wav", 4 * i, 3)
    done = subprocess.run(
        [sys.executable, "-c", LEAK_RUNNER, str(TESTS), str(ROOT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "'scored': 2" in done.stdout
    assert "leaked semaphore" not in done.stderr, done.stderr


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
    assert resumed.exit_code == 0
    assert len(store.read_calls(tmp_path / "s.duckdb")) == 4


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class InterruptAfterFirst:
    """A reporter that presses Ctrl-C when the first call is done."""

    def start(self, total: int, *, description: str = "scoring") -> None:
        pass

    def call_done(self, call_id: str, status: str, reason: str = "", **_: object) -> None:
        raise KeyboardInterrupt

    def message(self, text: str, *, level: str = "info") -> None:
        pass

    def finish(self) -> None:
        pass


def test_calls_not_reached_after_an_interrupt_are_not_failures(tmp_path: Path) -> None:
    """They say "interrupted", not "failed"; nothing is logged as a failure in the store."""
    calls = [clip(tmp_path / "calls" / f"c{i}.wav", 4 * i, 2) for i in range(3)]
    with pytest.raises(KeyboardInterrupt):
        inline_run(calls, tmp_path, reporter=InterruptAfterFirst())
    rows = csv_rows(tmp_path)
    assert rows["c0.wav"]["status"] == "scored"
    for name in ("c1.wav", "c2.wav"):
        assert rows[name]["status"] == "interrupted"
        assert rows[name]["reason"] == "not scored: the run stopped before it"
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "0 failed, 2 not scored (interrupted)." in summary
    with store.connect(tmp_path / "s.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM failures").fetchone() == (0,)
        assert con.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]


@pytest.mark.parametrize("commit", [False, True], ids=["write", "commit"])
def test_store_error_inside_a_transaction_is_not_hidden_by_the_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commit: bool
) -> None:
    """A disk-full error mid-transaction used to surface as "cannot rollback - no transaction
    is active", and the batch went on scoring every call. Now the real error stops the run in
    one line, the tables are still written and the calls scored so far are kept. At the commit
    DuckDB raises it as a TransactionException, which had failed each call in turn while the
    batch went on scoring them all."""
    import duckdb

    calls = [clip(tmp_path / "calls" / f"c{i}.wav", 4 * i, 2) for i in range(3)]
    real = store._insert_many
    seen: list[int] = []

    def full(con: Any, table: str, key: list[str], rows: Any) -> None:
        seen.append(1)
        if len(seen) > 3:  # the second call: the disk fills up
            con.execute("COMMIT")  # the failed write ends the transaction, as DuckDB does
            if commit:
                raise duckdb.TransactionException(
                    'TransactionContext Error: Failed to commit: Could not write file "s.duck'
                    'db.wal": No space left on device'
                )
            raise duckdb.IOException("Could not write file: No space left on device")
        real(con, table, key, rows)

    monkeypatch.setattr(store, "_insert_many", full)
    with pytest.raises(StoreError) as info:
        inline_run(calls, tmp_path)
    message = str(info.value)
    assert "No space left on device" in message and "rollback" not in message
    assert message.endswith("free disk space, then run again (the calls scored so far are kept)")
    rows = csv_rows(tmp_path)
    assert rows["c0.wav"]["status"] == "scored"
    assert rows["c1.wav"]["status"] == "failed"
    assert rows["c1.wav"]["reason"].startswith("scored but not stored: cannot store call c1")
    assert rows["c2.wav"]["status"] == "interrupted"  # not scored: the run stopped
    monkeypatch.setattr(store, "_insert_many", real)
    with store.connect(tmp_path / "s.duckdb", read_only=True) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("failed",)]


def test_tables_on_a_full_disk_still_close_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callqa.batch import tables

    call = clip(tmp_path / "calls" / "c.wav", 0, 2)

    def full(path: Any, data: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tables, "atomic_write_text", full)
    with pytest.raises(CallQAError, match=r"cannot write the tables in .*No space left on device"):
        inline_run([call], tmp_path)
    with store.connect(tmp_path / "s.duckdb", read_only=True) as con:
        assert con.execute("SELECT status, n_scored FROM runs").fetchall() == [("finished", 1)]
    cli = cli_batch([call], tmp_path, "--force")
    assert cli.exit_code == 1
    assert cli.stderr.strip().splitlines()[-1].startswith("Error: cannot write the tables in")


def test_calls_a_busy_store_never_took_are_not_listed_as_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process held the store to the end of the run: the tables had said 'scored' with
    no reason for calls that were not in the store."""
    calls = [clip(tmp_path / "calls" / f"c{i}.wav", 4 * i, 2) for i in range(2)]

    def busy(*args: Any, **kwargs: Any) -> None:
        raise store.StoreBusyError("store s.duckdb is busy (held by PID 1)")

    monkeypatch.setattr(store, "write_call", busy)
    with pytest.raises(StoreError, match="busy"):
        inline_run(calls, tmp_path)
    rows = csv_rows(tmp_path)
    for name in ("c0.wav", "c1.wav"):
        assert rows[name]["status"] == "failed"
        assert rows[name]["reason"].startswith("scored but not stored: store s.duckdb is busy")
    assert (tmp_path / "out" / "calls" / "c0.json").exists()  # its scorecard is kept


def test_a_second_batch_on_one_store_exits_at_once(tmp_path: Path) -> None:
    """Two batch runs on one store had both scored every call; the second now exits 75 at once,
    as a second nightly run does."""
    from callqa.batch import store_lock

    call = clip(tmp_path / "calls" / "c.wav", 0, 2)
    with store_lock(tmp_path / "s.duckdb"):
        result = cli_batch([call], tmp_path)
    assert result.exit_code == 75
    assert "another callqa run" in result.stderr and not (tmp_path / "out" / "calls").exists()
    assert cli_batch([call], tmp_path).exit_code == 0


def test_sigterm_while_hashing_is_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while the inputs were hashed (a 2 GB file) had killed the process outright, with
    no message and no exit 130."""
    import os
    import signal

    from callqa.batch import plan

    call = clip(tmp_path / "calls" / "c.wav", 0, 2)

    def terminated(path: Any) -> str:
        os.kill(os.getpid(), signal.SIGTERM)
        return "0" * 64

    monkeypatch.setattr(plan, "sha256_file", terminated)
    with pytest.raises(KeyboardInterrupt):
        inline_run([call], tmp_path)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back
