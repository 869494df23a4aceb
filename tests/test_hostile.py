"""Hostile, huge and broken input: every command answers with its documented exit code and one
``Error:`` line (or, for a batch, a failed row), never a traceback, in bounded memory.

The cases run in one child process whose address space is capped with ``resource`` limits
(:func:`conftest.run_limited`): a case that tried to read a 4 GB file or ``/dev/zero`` whole
would hit the cap and show up as a ``MemoryError`` instead of passing. Each case is then
checked on its own (exit code, the one error line, no traceback) and some outputs are
inspected (formula-safe CSV, escaped summary, redacted identifiers). docs/security.md lists
what each case defends.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import clip, run_limited

TESTS = Path(__file__).resolve().parent
# The address space of the child that runs every case. Running every case in one process
# (two Whisper replicas decoding windows in parallel, VAD, voice measures, the embedding and
# sentiment models) maps about 3.0 GB of virtual memory (VmPeak 3071 MB, resident peak 605 MB),
# most of it thread stacks and malloc arenas never touched; reading a 4 GB file or /dev/zero
# whole would still exceed this cap, which stays below 4 GB.
MEMORY_MB = 3584
GB4 = 4 << 30


@dataclass(frozen=True)
class Case:
    """A command line (``{w}`` is the work folder), its exit code and the error it prints
    ("" when the command must print no ``Error:`` line: a batch with failed rows)."""

    name: str
    argv: tuple[str, ...]
    code: int
    error: str = ""


def _cases() -> list[Case]:
    transcript = ("score", "--transcript")
    batch = ("--backend", "fake", "--workers", "0", "--quiet")
    cases = [
        Case("config-dev-zero", ("config", "show", "--config", "/dev/zero"), 2,
             "config file /dev/zero is not a regular file"),
        Case("config-4gb", ("config", "show", "--config", "{w}/big.toml"), 2,
             "bytes, more than the 1,048,576 bytes allowed"),
        Case("config-nul", ("config", "show", "--config", "{w}/nul.toml"), 2, "not valid TOML"),
        Case("config-bad-utf8", ("config", "show", "--config", "{w}/bad.toml"), 2,
             "not valid TOML"),
        Case("config-nested", ("config", "show", "--config", "{w}/nested.toml"), 2,
             "not valid TOML"),
        Case("config-range", ("config", "show", "--config", "{w}/range.toml"), 2,
             "dynamics.vad_threshold must be > 0 and < 1, not 2.0"),
        Case("rubric-dev-zero", ("rubric", "check", "/dev/zero"), 2,
             "rubric /dev/zero is not a regular file"),
        Case("rubric-show-dev-zero", ("rubric", "show", "/dev/zero"), 2,
             "rubric /dev/zero is not a regular file"),
        Case("rubric-4gb", ("rubric", "check", "{w}/big.toml"), 2,
             "bytes, more than the 1,048,576 bytes allowed"),
        Case("rubric-nul", ("rubric", "check", "{w}/nul.toml"), 2, "not valid TOML"),
        Case("rubric-bad-utf8", ("rubric", "check", "{w}/bad.toml"), 2, "not valid TOML"),
        Case("rubric-nested", ("rubric", "check", "{w}/nested.toml"), 2, "not valid TOML"),
        Case("rubric-inf-weight", ("rubric", "check", "{w}/inf.toml"), 2,
             "must be > 0 and <= 1000, got inf"),
        Case("transcript-surrogate", (*transcript, "{w}/surrogate.json"), 1,
             "holds \\ud800, half of a UTF-16 surrogate pair"),
        Case("transcript-nul", (*transcript, "{w}/nul.json"), 1, "holds NUL characters"),
        Case("transcript-bad-utf8", (*transcript, "{w}/bad.json"), 1, "is not UTF-8 text"),
        Case("transcript-nested", (*transcript, "{w}/nested.json"), 1, "nested too deeply"),
        Case("transcript-4gb", (*transcript, "{w}/big.json"), 1,
             "bytes, more than the 67,108,864 bytes allowed"),
        Case("transcript-dev-zero", (*transcript, "/dev/zero"), 1,
             "transcript /dev/zero is not a regular file"),
        Case("transcript-cap", (*transcript, "{w}/ok.json", "--config", "{w}/cap.toml"), 1,
             "bytes, more than the 100 bytes allowed"),
        Case("score-wav-1e9-samples", ("score", "{w}/huge-header.wav"), 1,
             "huge-header.wav: truncated or corrupt audio"),
        Case("report-4gb", ("report", "{w}/big.json", "--out", "{w}/r1.html"), 1,
             "bytes, more than the 67,108,864 bytes allowed"),
        Case("report-nested", ("report", "{w}/nested.json", "--out", "{w}/r2.html"), 1,
             "is not JSON"),
        Case("report-nul", ("report", "{w}/nul.json", "--out", "{w}/r3.html"), 1,
             "is not JSON"),
        Case("report-surrogate", ("report", "{w}/surrogate-card.json", "--out", "{w}/r4.html"), 1,
             "holds half of a UTF-16 surrogate pair"),
        Case("report-names-a-local-file", ("report", "{w}/cards/planted.json", "--out",
             "{w}/r5.html"), 0),
        # 60 MB of [{},{},...] (inside the size cap) had taken 1.6 GB to parse; NaN crashed
        Case("report-object-bomb", ("report", "{w}/bomb.json", "--out", "{w}/r6.html"), 1,
             "30,000,001 objects and arrays, 0 items: not a call's"),
        Case("report-nan", ("report", "{w}/nan-card.json", "--out", "{w}/r7.html"), 1,
             "NaN is not a JSON number"),
        Case("report-audio-fifo", ("report", "{w}/cards/planted.json", "--audio", "{w}/fifo.wav",
             "--out", "{w}/r8.html"), 2, "not a regular file (a pipe, socket or device)"),
        Case("stats-fifo", ("stats", "--store", "{w}/fifo.duckdb"), 1,
             "fifo.duckdb is not a regular file"),
        Case("dashboard-truncated-header", ("dashboard", "--store", "{w}/cut-100.duckdb",
             "--out", "{w}/d1.html"), 1, "cannot open store"),
        Case("dashboard-truncated", ("dashboard", "--store", "{w}/cut.duckdb", "--out",
             "{w}/d2.html"), 1, "cut.duckdb"),
        Case("stats-truncated", ("stats", "--store", "{w}/cut.duckdb"), 1, "cut.duckdb"),
        Case("export-truncated", ("export", "--store", "{w}/cut.duckdb", "--out", "{w}/e.csv"), 1,
             "cut.duckdb"),
        Case("batch-truncated-store", ("batch", "{w}/clip.wav", "--out", "{w}/o-cut", "--store",
             "{w}/cut.duckdb", *batch), 1, "cut.duckdb"),
        Case("batch-manifest-nul", ("batch", "{w}/nul.csv", "--no-store", "--out", "{w}/o1",
             *batch), 2, "holds NUL characters"),
        Case("batch-manifest-bad-utf8", ("batch", "{w}/bad.csv", "--no-store", "--out", "{w}/o2",
             *batch), 2, "is not UTF-8 text"),
        Case("batch-manifest-4gb", ("batch", "{w}/big.csv", "--no-store", "--out", "{w}/o3",
             *batch), 2, "bytes, more than the 67,108,864 bytes allowed"),
        Case("batch-ids-clash", ("batch", "{w}/clash.csv", "--no-store", "--out", "{w}/o4",
             *batch), 2, "all become the file name 'x_y'"),
        Case("batch-300-char-id", ("batch", "{w}/long.csv", "--no-store", "--out", "{w}/o5",
             *batch), 0),
        Case("batch-bad-utf8-name", ("batch", "{w}/badname", "--no-store", "--out", "{w}/o6",
             *batch), 0),
        Case("batch-wav-1e9-samples", ("batch", "{w}/huge-header.wav", "--no-store", "--out",
             "{w}/o7", *batch), 1),
        Case("batch-injection", ("batch", "{w}/inject.csv", "--no-store", "--out", "{w}/o9",
             *batch), 0),
        Case("nightly-symlink-loop", ("nightly", "--inbox", "{w}/inbox", "--store",
             "{w}/n/n.duckdb", "--min-age", "0", *batch), 1),
        Case("nightly-same-day", ("nightly", "--inbox", "{w}/inbox", "--store",
             "{w}/n/n.duckdb", "--min-age", "0", *batch), 1),
    ]  # fmt: skip
    return cases


CASES = _cases()


# -- the hostile files -----


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space: ``head``, then a hole of zeros."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def wav_header(samples: int, sr: int = 8000) -> bytes:
    """A 16-bit mono WAV header claiming ``samples`` samples."""
    size = samples * 2
    head = b"RIFF" + struct.pack("<I", min(36 + size, 2**32 - 1)) + b"WAVEfmt "
    head += struct.pack("<IHHIIHH", 16, 1, 1, sr, 2 * sr, 2, 16) + b"data"
    return head + struct.pack("<I", min(size, 2**32 - 1))


def make_files(w: Path) -> None:
    from callqa.scoring.rubric import DEFAULT_RUBRIC

    good = clip(w / "clip.wav", 0, 3)
    clip(w / "clip2.wav", 4, 3)
    for name in ("big.toml", "big.json", "big.csv"):
        sparse(w / name, GB4)
    (w / "nul.toml").write_bytes(b"name = 'x'\x00\n")
    (w / "nul.json").write_bytes(b'{"language": "en", "segments": [\x00]}')
    (w / "nul.csv").write_bytes(b"path\nclip\x00.wav\n")
    (w / "bad.toml").write_bytes(b'name = "\xff\xfe"\n')
    (w / "bad.json").write_bytes(b'{"language": "en", "segments": []}\xff')
    (w / "bad.csv").write_bytes(b"path\n\xff\xfe.wav\n")
    (w / "nested.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    (w / "nested.json").write_text("[" * 200_000 + "]" * 200_000)
    (w / "range.toml").write_text("[dynamics]\nvad_threshold = 2\n")
    (w / "cap.toml").write_text("[limits]\nmax_transcript_bytes = 100\n")
    rubric = DEFAULT_RUBRIC.read_text(encoding="utf-8")
    (w / "inf.toml").write_text(rubric.replace("weight = 2.0", "weight = inf", 1))
    segment = {"speaker": "agent", "start": 0.0, "end": 2.0, "text": "hello, how can I help"}
    (w / "ok.json").write_text(json.dumps({"language": "en", "segments": [segment]}))
    bad_text = json.dumps({"language": "en", "segments": [segment]}).replace("help", "\\ud800")
    (w / "surrogate.json").write_text(bad_text)
    (w / "huge-header.wav").write_bytes(wav_header(10**9) + bytes(8000))
    (w / "bomb.json").write_bytes(b"[" + b"[]" * 30_000_000 + b"]")  # no commas: 0 items
    (w / "nan-card.json").write_text('{"call_id": "x", "duration_s": NaN}')
    os.mkfifo(w / "fifo.wav")
    os.mkfifo(w / "fifo.duckdb")
    _manifests(w, good)
    _stores_and_cards(w, good)
    inbox = w / "inbox"
    inbox.mkdir()
    shutil.copy(good, inbox / "good.wav")
    (inbox / "loop.wav").symlink_to(inbox / "loop.wav")  # a symlink to itself
    (w / "n").mkdir()
    odd = w / "badname"
    odd.mkdir()
    shutil.copy(good, os.fsdecode(bytes(odd) + b"/\xff\xfe call.wav"))


def _manifests(w: Path, good: Path) -> None:
    (w / "clash.csv").write_text(f"path,call_id\n{good},x/y\n{w / 'clip2.wav'},x_y\n")
    (w / "long.csv").write_text(f"path,call_id\n{good},{'k' * 300}\n")
    rows = [
        ["path", "agent_id", "team", "note"],
        [str(good), '=HYPERLINK("http://evil.example","x")', "<script>alert(1)</script>",
         "@SUM(1+1)"],
        [str(w / "clip2.wav"), "-2+3", "[a](javascript:alert(1))", "=cmd|' /C calc'!A0"],
    ]  # fmt: skip
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    (w / "inject.csv").write_text(buffer.getvalue())


def _stores_and_cards(w: Path, good: Path) -> None:
    from callqa.batch import BatchOptions, collect_inputs, run_batch
    from callqa.batch.progress import make_reporter
    from callqa.transcription.fake import FakeTranscriber

    run_batch(collect_inputs([good]), out_dir=w / "seed", store_path=w / "seed.duckdb",
              transcriber_factory=FakeTranscriber, options=BatchOptions(workers=0),
              reporter=make_reporter("quiet"))  # fmt: skip
    data = (w / "seed.duckdb").read_bytes()
    (w / "cut-100.duckdb").write_bytes(data[:100])
    (w / "cut.duckdb").write_bytes(data[: len(data) * 3 // 10])
    card = json.loads((w / "seed" / "calls" / "clip.json").read_text())
    surrogate = json.dumps(card).replace('"call_id": "clip"', '"call_id": "clip\\ud800"')
    (w / "surrogate-card.json").write_text(surrogate)
    secret = w / "secret.wav"  # a file the scorecard names but the user never gave
    shutil.copy(good, secret)
    (w / "cards").mkdir()
    card["source"]["path"] = str(secret)
    card["redaction"]["audio_path"] = str(secret)
    (w / "cards" / "planted.json").write_text(json.dumps(card))


# -- running -----


def run_cases(work: Path) -> None:
    """Run every case in this process (called in the capped child); write results.json."""
    from typer.testing import CliRunner

    from callqa.cli.app import app

    results: dict[str, Any] = {}
    for case in CASES:
        argv = [a.format(w=work) for a in case.argv]
        start = time.monotonic()
        done = CliRunner().invoke(app, argv)
        error = done.exception
        results[case.name] = {
            "seconds": round(time.monotonic() - start, 2),
            "code": done.exit_code,
            "stdout": done.stdout,
            "stderr": done.stderr,
            "exception": None if error is None or isinstance(error, SystemExit) else repr(error),
        }
    (work / "results.json").write_text(json.dumps(results), encoding="utf-8")


RUNNER = (
    "import sys; from pathlib import Path; sys.path[:0] = [sys.argv[1]]; "
    "import test_hostile as t, time; w = Path(sys.argv[2]); s = time.monotonic(); "
    "t.make_files(w); print(f'files {time.monotonic() - s:.1f} s', file=sys.stderr); "
    "t.run_cases(w)"
)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    work = tmp_path_factory.mktemp("hostile")
    done = run_limited(
        [sys.executable, "-c", RUNNER, str(TESTS), str(work)], memory_mb=MEMORY_MB, cpu_s=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return work, json.loads((work / "results.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, outcome: tuple[Path, dict[str, Any]]) -> None:
    result = outcome[1][case.name]
    assert result["exception"] is None, result["exception"]
    output = result["stdout"] + result["stderr"]
    assert "Traceback" not in output
    assert result["code"] == case.code, output[-2000:]
    errors = [line for line in result["stderr"].splitlines() if line.startswith("Error:")]
    if case.error:
        assert len(errors) == 1, result["stderr"][-2000:]
        assert case.error in errors[0]
    else:
        assert errors == [], errors


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_failed_rows_say_why(outcome: tuple[Path, dict[str, Any]]) -> None:
    work = outcome[0]
    rows = _csv(work / "o7" / "scorecards.csv")  # 10^9 samples claimed, 8 kB there
    assert rows[0]["reason"].startswith("huge-header.wav: truncated or corrupt audio")
    folder = work / "n" / "callqa-nightly"
    first = [p for p in folder.glob("scorecards-*.csv") if not p.name.endswith(".2.csv")]
    rows = {Path(r["source_path"]).name: r for r in _csv(first[0])}
    assert rows["good.wav"]["status"] == "scored"
    assert rows["loop.wav"]["status"] == "failed"
    assert "Too many levels of symbolic links" in rows["loop.wav"]["reason"]


def test_formulas_are_defused_and_the_summary_escaped(outcome: tuple[Path, dict[str, Any]]) -> None:
    work = outcome[0]
    rows = _csv(work / "o9" / "scorecards.csv")
    cells = {r["agent_id"]: r for r in rows}
    assert set(cells) == {'\'=HYPERLINK("http://evil.example","x")', "'-2+3"}
    assert {r["meta_note"] for r in rows} == {"'@SUM(1+1)", "'=cmd|' /C calc'!A0"}
    summary = (work / "o9" / "summary.md").read_text(encoding="utf-8")
    assert "<script>" not in summary and "\\<script\\>alert" in summary
    assert "[a](javascript" not in summary and "\\[a\\](javascript" in summary  # no link


def test_identifiers_stay_file_names(outcome: tuple[Path, dict[str, Any]]) -> None:
    work = outcome[0]
    [long] = list((work / "o5" / "calls").glob("*.json"))
    assert long.name.startswith("k" * 100) and len(long.name.encode()) <= 160
    assert json.loads(long.read_text())["call_id"] == long.stem
    rows = _csv(work / "o6" / "scorecards.csv")  # a name that is not UTF-8, shown escaped
    assert rows[0]["status"] == "scored" and rows[0]["source_path"].endswith("\\xff\\xfe call.wav")
    assert (work / "o6" / "calls" / "_xff_xfe call.json").is_file()


def test_report_never_embeds_a_file_the_scorecard_names(
    outcome: tuple[Path, dict[str, Any]],
) -> None:
    work = outcome[0]
    page = (work / "r5.html").read_text(encoding="utf-8")
    secret = (work / "secret.wav").read_bytes()
    assert base64.b64encode(secret[1000:4000]).decode()[:200] not in page
    assert "secret.wav" not in page.split("<audio", 1)[-1].split(">", 1)[0]


def test_second_nightly_the_same_day_keeps_the_first(outcome: tuple[Path, dict[str, Any]]) -> None:
    folder = outcome[0] / "n" / "callqa-nightly"
    summaries = sorted(p.name for p in folder.glob("summary-*.md"))
    first_name = [n for n in summaries if not n.endswith(".2.md")]
    assert len(summaries) == 2 and len(first_name) == 1, summaries
    first = (folder / first_name[0]).read_text(encoding="utf-8")
    assert "1 scored" in first  # not overwritten by the second run's "0 scored"


@pytest.mark.parametrize(
    ("argv", "code", "error"),
    [
        (["rubric", "check", "/dev/zero"], 2, "Error: rubric /dev/zero is not a regular file"),
        (["config", "show", "--config", "/dev/zero"], 2, "Error: config file /dev/zero is not"),
    ],
)
def test_the_installed_command_prints_one_line(argv: list[str], code: int, error: str) -> None:
    """The real entry point (not the test runner) under a 512 MiB cap: one line, its code."""
    done = run_limited([sys.executable, "-m", "callqa", *argv], memory_mb=512, cpu_s=60)
    assert done.returncode == code
    assert done.stderr.startswith(error) and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""
