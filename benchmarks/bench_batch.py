"""Batch throughput with the real model: 1 vs 2 workers, stage shares, memory, call length.

Run from the repository root::

    python benchmarks/bench_batch.py            # writes benchmarks/results/batch.md

What it measures (all in one run, so the ratios compare like with like):

- throughput of ``callqa.batch.run_batch`` over ``sample_calls/*.ogg`` (languages forced from the
  file names through a manifest) with 1 worker x 2 threads and 2 workers x 1 thread:
  audio-hours per wall-hour, calls per minute, and the speed-up of 2 workers over 1;
- per-stage shares of the time spent inside ``score_call`` (the scorecard's ``timings_s``);
- peak resident memory (VmHWM) of every worker process;
- time against call length for 1, 5 and 20 minutes of audio built by concatenating the
  stereo sample calls (one worker, 2 threads): seconds per audio minute should stay flat.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callqa.batch import BatchOptions, collect_inputs, run_batch  # noqa: E402
from callqa.fsutil import atomic_write_text  # noqa: E402
from callqa.progress import make_reporter  # noqa: E402

SAMPLES = ROOT / "sample_calls"
RESULTS = ROOT / "benchmarks" / "results" / "batch.md"
LENGTHS_MIN = (1, 5, 20)


def duration_s(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


class PeakMemory:
    """Polls the VmHWM (peak RSS) of this process's children every 0.2 s."""

    def __init__(self) -> None:
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.2):
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    self._sample(entry, me)

    def _sample(self, entry: Path, parent: int) -> None:
        try:
            status = (entry / "status").read_text()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) != parent or "VmHWM" not in fields:
            return
        kib = int(fields["VmHWM"].split()[0])
        pid = int(entry.name)
        self.peaks[pid] = max(self.peaks.get(pid, 0), kib * 1024)


def manifest(folder: Path, calls: list[Path]) -> Path:
    lines = ["path,language"]
    lines += [f"{p},{p.name.split('_')[0]}" for p in calls]
    path = folder / "manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(inputs: Path, out: Path, workers: int, threads: int) -> dict:
    with PeakMemory() as memory:
        start = time.perf_counter()
        result = run_batch(
            collect_inputs([inputs]),
            out_dir=out,
            store_path=None,
            options=BatchOptions(workers=workers, threads=threads),
            reporter=make_reporter("quiet"),
        )
        wall = time.perf_counter() - start
    failed = [r for r in result.rows if r["status"] != "scored"]
    if failed:
        raise SystemExit(f"calls failed: {failed}")
    stages: dict[str, float] = defaultdict(float)
    import json

    for card_path in (out / "calls").glob("*.json"):
        for stage, seconds in (json.loads(card_path.read_text()).get("timings_s") or {}).items():
            stages[stage] += seconds
    workers_peaks = sorted(memory.peaks.values())
    return {"wall": wall, "n": len(result.rows), "stages": dict(stages), "peaks": workers_peaks}


def concat(calls: list[Path], minutes: float, out: Path) -> Path:
    """A stereo 16 kHz WAV of ``minutes`` built by repeating ``calls`` end to end."""
    need = minutes * 60.0
    parts: list[Path] = []
    total = 0.0
    while total < need:
        for c in calls:
            parts.append(c)
            total += duration_s(c)
            if total >= need:
                break
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
         "-t", str(need), "-ar", "16000", "-ac", "2", str(out)],
        check=True,
    )  # fmt: skip
    return out


def main() -> None:
    calls = sorted(SAMPLES.glob("*.ogg"))
    if not calls:
        raise SystemExit("no sample calls in sample_calls/")
    audio_s = sum(duration_s(c) for c in calls)
    lines = [
        "# Batch throughput (benchmarks/bench_batch.py)",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; real model "
        "(faster-whisper, shipped Whisper base, int8, beam 5), language forced from the file name. "
        f"Data: the {len(calls)} calls in `sample_calls/` ({audio_s / 60:.1f} min of audio). "
        "Other jobs were sharing the machine while this ran: compare rows of this file with each "
        "other, not with figures measured elsewhere.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = manifest(work, calls)
        runs = {}
        for workers, threads in ((1, 2), (2, 1)):
            runs[workers] = run(inputs, work / f"out{workers}", workers, threads)
            print(f"{workers} workers: {runs[workers]['wall']:.1f} s", file=sys.stderr)
        lines += throughput_table(runs, audio_s)
        lines += stage_table(runs[1]["stages"])
        lines += scaling_table(work, [SAMPLES / "en_good.ogg", SAMPLES / "en_poor.ogg"])
    atomic_write_text(RESULTS, "\n".join(lines) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)


def throughput_table(runs: dict[int, dict], audio_s: float) -> list[str]:
    base = runs[1]["wall"]
    out = [
        "## Throughput",
        "",
        "| workers x threads | wall (s) | calls/min | audio-hours per wall-hour | speed-up vs 1 worker "
        "| peak RSS per worker (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for workers, r in sorted(runs.items()):
        threads = 2 // workers
        peaks = ", ".join(f"{p / 2**20:.0f}" for p in r["peaks"]) or "-"
        out.append(
            f"| {workers} x {threads} | {r['wall']:.1f} | {60 * r['n'] / r['wall']:.2f} | "
            f"{audio_s / r['wall']:.1f} | {base / r['wall']:.2f} | {peaks} |"
        )
    out += [
        "",
        "Wall time includes starting the workers and loading the model once in each.",
        "",
    ]
    return out


def stage_table(stages: dict[str, float]) -> list[str]:
    total = sum(stages.values()) or 1.0
    out = ["## Where the time goes (1 worker, sum over calls)", "", "| stage | s | share |"]
    out.append("|---|---:|---:|")
    for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        out.append(f"| {stage} | {seconds:.1f} | {seconds / total:.0%} |")
    return [*out, ""]


def scaling_table(work: Path, calls: list[Path]) -> list[str]:
    out = [
        "## Time against call length (1 worker x 2 threads)",
        "",
        "| audio (min) | wall (s) | s per audio minute | x real time |",
        "|---:|---:|---:|---:|",
    ]
    for minutes in LENGTHS_MIN:
        folder = work / f"len{minutes}"
        folder.mkdir()
        concat(calls, minutes, folder / f"long{minutes}.wav")
        r = run(folder, work / f"lenout{minutes}", 1, 2)
        scoring = sum(r["stages"].values())
        out.append(
            f"| {minutes} | {scoring:.1f} | {scoring / minutes:.1f} | {minutes * 60 / scoring:.1f} |"
        )
        print(f"{minutes} min: {scoring:.1f} s", file=sys.stderr)
    out += ["", "Wall here is the time inside `score_call` (model loading excluded).", ""]
    return out


if __name__ == "__main__":
    main()
