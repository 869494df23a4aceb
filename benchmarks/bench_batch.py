"""Batch throughput with the real model: 1 vs 2 workers, stage shares, memory, call length.

Run from the repository root::

    python benchmarks/bench_batch.py            # writes benchmarks/results/batch.md

What it measures (all in one run, so the ratios compare like with like):

- throughput of ``callqa.batch.run_batch`` over ``sample_calls/*.ogg`` (languages forced from the
  file names through a manifest) with 1 worker x 2 threads and 2 workers x 1 thread:
  audio-hours per wall-hour, calls per minute, and the speed-up of 2 workers over 1;
- per-stage shares of the time spent inside ``score_call`` (the scorecard's ``timings_s``),
  and each call's scoring time against its length and language;
- peak resident memory (VmHWM) of every worker process;
- time against call length for 1, 5 and 20 minutes of audio built by concatenating the
  English stereo sample calls (one worker, 2 threads, language forced): seconds per audio
  minute should stay flat.

Other jobs on a shared machine change every figure: run it under the machine's benchmark lock
(``flock /tmp/bench.lock python benchmarks/bench_batch.py``).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from procmem import Tree, spawned_workers  # noqa: E402

from callqa.audio.load import load_audio, probe  # noqa: E402
from callqa.batch import BatchOptions, collect_inputs, run_batch  # noqa: E402
from callqa.batch.progress import make_reporter  # noqa: E402
from callqa.files import atomic_write_text  # noqa: E402
from callqa.types import SAMPLE_RATE  # noqa: E402

SAMPLES = ROOT / "sample_calls"
RESULTS = ROOT / "benchmarks" / "results" / "batch.md"
LENGTHS_MIN = (1, 5, 20)


def duration_s(path: Path) -> float:
    return probe(path).duration_s or 0.0


def manifest(folder: Path, calls: list[Path], language: str | None = None) -> Path:
    """A manifest forcing each call's language (``language``, else the file name's prefix)."""
    lines = ["path,language"]
    lines += [f"{p},{language or p.name.split('_')[0]}" for p in calls]
    path = folder / "manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(inputs: Path, out: Path, workers: int, threads: int) -> dict:
    with Tree(os.getpid()) as memory:
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
    cards = [json.loads(p.read_text()) for p in sorted((out / "calls").glob("*.json"))]
    stages: dict[str, float] = defaultdict(float)
    for card in cards:
        for stage, seconds in (card.get("timings_s") or {}).items():
            stages[stage] += seconds
    workers_peaks = sorted(spawned_workers(memory))
    return {
        "wall": wall,
        "n": len(result.rows),
        "stages": dict(stages),
        "peaks": workers_peaks,
        "calls": [call_figures(card) for card in cards],
    }


def call_figures(card: dict) -> dict:
    """One scorecard's id, language, length (s), transcription and total scoring time (s)."""
    timings = card.get("timings_s") or {}
    return {
        "call_id": card["call_id"],
        "language": card.get("language"),
        "duration": card.get("duration_s") or 0.0,
        "transcribe": timings.get("transcribe", 0.0),
        "total": sum(timings.values()),
        "words": sum(len(s["text"].split()) for s in card["transcript"]["segments"]),
    }


def concat(calls: list[Path], minutes: float, out: Path) -> Path:
    """A stereo 16 kHz WAV of ``minutes`` built by repeating ``calls`` end to end."""
    need = round(minutes * 60.0 * SAMPLE_RATE)
    parts: list[np.ndarray] = []
    total = 0
    while total < need:
        for c in calls:
            channels = load_audio(c).channels
            stereo = np.stack(channels * (2 // len(channels)), axis=1)  # mono: both channels
            parts.append(stereo)
            total += len(stereo)
            if total >= need:
                break
    sf.write(out, np.concatenate(parts)[:need], SAMPLE_RATE, subtype="PCM_16")
    return out


def main() -> None:
    began = time.perf_counter()
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
        "Compare rows of this file with each other: its figures move with whatever else the "
        "machine is doing.",
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
        lines += per_call_table(runs[1]["calls"])
        lines += scaling_table(work, [SAMPLES / "en_good.ogg", SAMPLES / "en_poor.ogg"])
    minutes = (time.perf_counter() - began) / 60
    lines += [f"The whole benchmark ran for {minutes:.1f} min.", ""]
    atomic_write_text(RESULTS, "\n".join(lines) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)


def throughput_table(runs: dict[int, dict], audio_s: float) -> list[str]:
    base = runs[1]["wall"]
    out = [
        "## Throughput",
        "",
        "| workers x threads | wall (s) | calls/min | audio-hours per wall-hour "
        "| speed-up vs 1 worker | peak RSS per worker (MiB) |",
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


def per_call_table(calls: list[dict]) -> list[str]:
    out = [
        "## Each call (1 worker x 2 threads)",
        "",
        "| call | language | audio (s) | words | transcribe (s) | scoring (s) | x real time |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in calls:
        out.append(
            f"| {c['call_id']} | {c['language']} | {c['duration']:.1f} | {c['words']} | "
            f"{c['transcribe']:.1f} | {c['total']:.1f} | {c['duration'] / c['total']:.1f} |"
        )
    return [*out, ""]


def scaling_table(work: Path, calls: list[Path]) -> list[str]:
    out = [
        "## Time against call length (1 worker x 2 threads, English forced)",
        "",
        "| audio (min) | scoring (s) | s per audio minute | of which transcribe "
        "| of which other stages | x real time | peak RSS (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    per_minute = {}
    for minutes in LENGTHS_MIN:
        folder = work / f"len{minutes}"
        folder.mkdir()
        wav = concat(calls, minutes, folder / f"long{minutes}.wav")
        r = run(manifest(folder, [wav], "en"), work / f"lenout{minutes}", 1, 2)
        scoring = sum(r["stages"].values())
        per_minute[minutes] = scoring / minutes
        peak = max(r["peaks"], default=0) / 2**20
        transcribe = r["stages"].get("transcribe", 0.0)
        out.append(
            f"| {minutes} | {scoring:.1f} | {scoring / minutes:.2f} | {transcribe / minutes:.2f} "
            f"| {(scoring - transcribe) / minutes:.2f} | {minutes * 60 / scoring:.1f} "
            f"| {peak:.0f} |"
        )
        print(f"{minutes} min: {scoring:.1f} s", file=sys.stderr)
    first, last = LENGTHS_MIN[0], LENGTHS_MIN[-1]
    out += [
        "",
        "Scoring is the time inside `score_call` (the scorecard's `timings_s`; model loading "
        f"excluded). Seconds per audio minute at {last} min / at {first} min: "
        f"{per_minute[last] / per_minute[first]:.2f} (1.00 = exactly linear).",
        "",
    ]
    return out


if __name__ == "__main__":
    main()
