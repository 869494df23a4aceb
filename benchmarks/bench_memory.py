"""Peak memory of ``callqa score`` against call length: flat when the call is read in blocks.

Builds stereo calls of 5 min, 30 min and 2 h (``--quick``: 2 and 10 min) by joining the
English sample calls (sample_calls/en_good.ogg, en_poor.ogg) with one second of silence between
them, written as 8 kHz FLAC to a temporary folder (never to the repository). Each call is
scored by ``python -m callqa score CALL --format json --out ...`` in its own process, with the
default model ("base"); its peak resident memory is ``ru_maxrss`` of that process
(``resource.getrusage(RUSAGE_CHILDREN)`` read in a wrapper process that runs only it).

``--fake`` scores with the scripted transcriber instead (every stage but Whisper, whose memory
is bounded by the block length and measured by the default run). ``--fixed-heap`` scores with
the default model but keeps glibc's mmap threshold at 1 MiB while blocks are transcribed (the
setting before ``callqa.heap.decoder_heap``): the baseline of the wall-time ratio that
the table adds for each length both ran. Writes
benchmarks/results/memory.json (the rows of each mode), memory.md (table: transcriber, call
length, peak RSS, ratio to the shortest call, wall time) and memory.svg (peak RSS against call
length, one line per mode), after each call (``--minutes`` adds to the record); ``--quick``
only prints the table; ``--render`` rewrites memory.md and memory.svg from memory.json. Run:
``python benchmarks/bench_memory.py [--fake | --fixed-heap] [--quick] [--threads 1]
[--minutes 3 12]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from callqa.heap import DECODER_MMAP_THRESHOLD  # noqa: E402

DECODER_MIB = DECODER_MMAP_THRESHOLD >> 20
SAMPLES = ROOT / "sample_calls"
RESULTS = ROOT / "benchmarks" / "results"
SOURCES = ("en_good.ogg", "en_poor.ogg")
RATE = 8000  # Hz; the sample calls' rate (telephony)
GAP_S = 1.0  # silence between joined calls
FULL_MIN = (5, 30, 120)
QUICK_MIN = (2, 10)
# one process that runs the command and prints its children's peak RSS (KiB on Linux)
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)
# --fake: every stage but Whisper (the scripted transcriber), written as `callqa score` would
_FAKE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from callqa.pipeline import score_call\n"
    "from callqa.scoring.scorecard import write_json\n"
    "from callqa.transcription.fake import FakeTranscriber\n"
    "write_json(score_call(sys.argv[1], transcriber=FakeTranscriber()), Path(sys.argv[2]))\n"
)
# --fixed-heap: the default model with the mmap threshold at 1 MiB throughout, as before
# `decoder_heap` (docs/architecture.md, "Long calls"): the baseline for the wall-time ratio
_FIXED = (
    "import contextlib, sys\n"
    "import callqa.pipeline\n"
    "from callqa.cli import main\n"
    "callqa.pipeline.decoder_heap = contextlib.nullcontext\n"
    "sys.argv[0] = 'callqa'\n"
    "main()\n"
)
MODES = {
    "base": 'default model ("base")',
    "fixed": "default model, mmap threshold fixed at 1 MiB (before)",
    "fake": "scripted transcriber (no Whisper)",
}


def build_call(minutes: float, path: Path) -> Path:
    """A stereo call of exactly ``minutes`` made of the sample calls, joined and repeated."""
    pieces = []
    for name in SOURCES:
        data, rate = sf.read(SAMPLES / name, dtype="float32", always_2d=True)
        assert rate == RATE and data.shape[1] == 2, name
        pieces += [data, np.zeros((int(GAP_S * RATE), 2), dtype=np.float32)]
    unit = np.concatenate(pieces)
    n = int(minutes * 60 * RATE)
    with sf.SoundFile(path, "w", RATE, 2, "PCM_16", format="FLAC") as out:
        written = 0
        while written < n:
            take = unit[: n - written]
            out.write(take)
            written += len(take)
    return path


def score(call: Path, out: Path, threads: int, mode: str) -> tuple[float, float, int]:
    """(peak RSS in MiB, wall seconds, exit code) of scoring ``call`` in its own process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "callqa", "score", str(call), "--format", "json"]
    command += ["--out", str(out), "--threads", str(threads)]
    if mode == "fixed":
        command[1:3] = ["-c", _FIXED]
    if mode == "fake":
        command = [sys.executable, "-c", _FAKE, str(call), str(out)]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    kib, code = proc.stdout.split()
    return int(kib) / 1024, wall, int(code)


COLOURS = {"base": "steelblue", "fixed": "grey", "fake": "darkorange"}


def svg_plot(series: dict[str, list[dict[str, float]]], limit_mb: float = 1e9 / 2**20) -> str:
    """A plain SVG plot of peak RSS (MiB) against call length (min), one line per mode, with
    the 1 GB line."""
    w, h, left, bottom, top, right = 600, 360, 60, 40, 20, 20
    rows = [r for rs in series.values() for r in rs]
    xmax = max(r["minutes"] for r in rows) * 1.05
    ymax = max(limit_mb, *(r["peak_mb"] for r in rows)) * 1.1

    def x(v: float) -> float:
        return left + (w - left - right) * v / xmax

    def y(v: float) -> float:
        return h - bottom - (h - bottom - top) * v / ymax

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
        f'<line x1="{left}" y1="{y(limit_mb):.1f}" x2="{w - right}" y2="{y(limit_mb):.1f}" '
        'stroke="red" stroke-dasharray="4,4"/>',
        f'<text x="{w - right - 4}" y="{y(limit_mb) - 4:.1f}" text-anchor="end" fill="red">'
        "1 GB</text>",
    ]
    ticks = sorted({r["minutes"] for r in rows})
    for m in ticks:
        out.append(f'<text x="{x(m):.1f}" y="{h - bottom + 16}" text-anchor="middle">{m:g}</text>')
    for k, (mode, rs) in enumerate(series.items()):
        colour = COLOURS.get(mode, "black")
        points = " ".join(f"{x(r['minutes']):.1f},{y(r['peak_mb']):.1f}" for r in rs)
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in rs:
            cx, cy = x(r["minutes"]), y(r["peak_mb"])
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}"/>')
            out.append(
                f'<text x="{cx:.1f}" y="{cy - 8:.1f}" text-anchor="middle" fill="{colour}">'
                f"{r['peak_mb']:.0f}</text>"
            )
        out.append(
            f'<text x="{left + 10}" y="{top + 14 + 16 * k}" fill="{colour}">{MODES[mode]}</text>'
        )
    out += [
        f'<text x="{(w + left) / 2}" y="{h - 6}" text-anchor="middle">call length (min)</text>',
        f'<text x="14" y="{(h - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(h - bottom) / 2})">peak RSS (MiB)</text>',
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def heap_lines(series: dict[str, list[dict[str, float]]]) -> list[str]:
    """The default against the fixed-threshold baseline, at each length both modes ran."""
    fixed = {r["minutes"]: r for r in series.get("fixed", [])}
    pairs = [(r, fixed[r["minutes"]]) for r in series.get("base", []) if r["minutes"] in fixed]
    if not pairs:
        return []
    lines = [
        "",
        f"Default (the CLI's one heap for every thread, `callqa.heap.one_arena`; while a block "
        f"is transcribed nothing mapped, or an mmap threshold of {DECODER_MIB} MiB where one "
        "arena could not be set, then `malloc_trim`: `callqa.heap.decoder_heap`) against "
        "the threshold fixed at 1 MiB throughout (`--fixed-heap`, the setting before "
        "`decoder_heap`), same call, same machine, one run each; the rows of a mode come from "
        "its latest run, which may be of an earlier version:",
        "",
        "| call length | wall, default / fixed (s) | speed-up | peak RSS, default / fixed (MiB) |",
        "|---|---|---|---|",
    ]
    for new, old in pairs:
        lines.append(
            f"| {new['minutes']:g} min | {new['wall_s']:.0f} / {old['wall_s']:.0f} | "
            f"{old['wall_s'] / new['wall_s']:.2f}x | {new['peak_mb']:.0f} / {old['peak_mb']:.0f} |"
        )
    return lines


def markdown(series: dict[str, list[dict[str, float]]], threads: int) -> str:
    lines = [
        "# Peak memory of `callqa score` against call length",
        "",
        "Written by `python benchmarks/bench_memory.py [--fake | --fixed-heap] --threads "
        f"{threads}` on {platform.machine()} ({os.cpu_count()} cores, shared with other work: "
        "wall times are "
        "noisy and must be re-measured on a quiet machine), default config (`[call] block_s = "
        '300`: a longer call is read in blocks, docs/architecture.md, "Long calls"). Calls '
        "are the English sample calls (en_good, en_poor) joined and repeated, stereo 8 kHz "
        "FLAC. Peak RSS is `ru_maxrss` of the scoring process in MiB (2^20 bytes; the 1 GB line "
        "of the plot is 954 MiB): `callqa score` with the default "
        'model ("base", int8 on CPU), or (`--fake`) the same pipeline with the scripted '
        "transcriber, which measures every stage but Whisper.",
        "",
        "| transcriber | call length | peak RSS (MiB) | ratio to the shortest | wall time (s) |",
        "|---|---|---|---|---|",
    ]
    for mode, rows in series.items():
        base = rows[0]["peak_mb"]
        for r in rows:
            lines.append(
                f"| {MODES[mode]} | {r['minutes']:g} min | {r['peak_mb']:.0f} | "
                f"{r['peak_mb'] / base:.2f} | {r['wall_s']:.0f} |"
            )
    longest = max(r["minutes"] for rows in series.values() for r in rows)
    if "base" in series and max(r["minutes"] for r in series["base"]) < longest:
        lines += [
            "",
            f"The default model ran here on calls up to {series['base'][-1]['minutes']:g} min "
            "only: transcription is most of the time, and this shared machine gave a run about "
            "a fifth of a core (a 5-minute call took the wall time above). Whisper's memory "
            "depends on the block it is given (at most `block_s` plus 10 s of margins), not on "
            "the call's length; the scripted-transcriber rows measure everything else up to 2 h. "
            "Run `python benchmarks/bench_memory.py --minutes 120` on a quiet machine to add the "
            "2-hour row.",
        ]
    lines += heap_lines(series)
    lines += ["", "![peak RSS against call length](memory.svg)", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2- and 10-minute calls only")
    parser.add_argument("--fake", action="store_true", help="scripted transcriber, no Whisper")
    parser.add_argument(
        "--fixed-heap", action="store_true", help="baseline: mmap threshold 1 MiB throughout"
    )
    parser.add_argument("--threads", type=int, default=1, help="model and BLAS threads")
    parser.add_argument("--minutes", type=float, nargs="*", help="call lengths to run instead")
    parser.add_argument("--render", action="store_true", help="rewrite the .md/.svg from .json")
    args = parser.parse_args()
    if args.render:
        series = json.loads((RESULTS / "memory.json").read_text())
        (RESULTS / "memory.md").write_text(markdown(series, args.threads))
        (RESULTS / "memory.svg").write_text(svg_plot(series))
        return
    minutes = args.minutes or (QUICK_MIN if args.quick else FULL_MIN)
    mode = "fake" if args.fake else "fixed" if args.fixed_heap else "base"
    record = not args.quick  # --minutes adds its lengths to (or replaces them in) the record
    store = RESULTS / "memory.json"
    series = json.loads(store.read_text()) if record and store.exists() else {}
    series[mode] = [r for r in series.get(mode, []) if r["minutes"] not in minutes]
    with tempfile.TemporaryDirectory(prefix="callqa-memory-") as tmp:
        for m in minutes:
            call = build_call(m, Path(tmp) / f"call_{m:g}min.flac")
            out = Path(tmp) / f"call_{m:g}min.json"
            peak, wall, code = score(call, out, args.threads, mode)
            if code != 0:
                raise SystemExit(f"scoring the {m:g}-minute call failed (exit {code})")
            series[mode].append({"minutes": m, "peak_mb": peak, "wall_s": wall})
            series[mode].sort(key=lambda r: r["minutes"])
            card = json.loads(out.read_text())
            print(
                f"{mode} {m:g} min: peak {peak:.0f} MiB, {wall:.0f} s, score {card['score']}, "
                f"{len(card['transcript']['segments'])} segments",
                flush=True,
            )
            call.unlink()
            if record:  # each finished run is kept, so a long run that is stopped keeps them
                RESULTS.mkdir(parents=True, exist_ok=True)
                # read again: a run of the other mode may have written since
                series = {**(json.loads(store.read_text()) if store.exists() else {}),
                          mode: series[mode]}  # fmt: skip
                store.write_text(json.dumps(series, indent=1) + "\n")
                (RESULTS / "memory.md").write_text(markdown(series, args.threads))
                (RESULTS / "memory.svg").write_text(svg_plot(series))
    if not record:
        print(markdown(series, args.threads))
        return
    print(f"wrote {RESULTS / 'memory.md'} and memory.svg")


if __name__ == "__main__":
    main()
