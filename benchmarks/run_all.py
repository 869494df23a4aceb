"""Run every callqa benchmark, one after another, and list the results files they wrote.

Usage (from the repository root; ``make bench`` runs this)::

    python benchmarks/run_all.py               # all benchmarks
    python benchmarks/run_all.py voice redact  # some of them

Each benchmark is its own script, run in a fresh interpreter so that its timings and peak
memory are not disturbed by the others; they run in sequence because speed figures on a
2-core machine are meaningless when two benchmarks share it. Every script writes
``benchmarks/results/<name>.md``; the figures in README.md and docs/ are copied from there.
Accuracy benchmarks read ``../shared/eval/`` (see its README); a missing data set makes that
benchmark fail, and the others still run. Exit code: 0 when all ran, 1 otherwise.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Fast first, so a broken environment shows up early.
ORDER = (
    "redact",
    "report",
    "voice",
    "dynamics",
    "checks",
    "sentiment",
    "transcribe",
    "batch",
    "throughput",
    "italian",
)


def run(name: str) -> tuple[int, float]:
    """Run ``bench_<name>.py`` from the repository root; (exit code, seconds)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / f"bench_{name}.py")], cwd=ROOT)
    return proc.returncode, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(ORDER)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    names = args.names or list(ORDER)
    outcome = []
    for name in names:
        print(f"== bench_{name}.py", flush=True)
        rc, seconds = run(name)
        outcome.append((name, rc, seconds))
    print("\nbenchmark   exit   time (s)   results")
    for name, rc, seconds in outcome:
        print(f"{name:<11} {rc:>4}   {seconds:>8.0f}   benchmarks/results/{name}.md")
    return 0 if all(rc == 0 for _, rc, _ in outcome) else 1


if __name__ == "__main__":
    sys.exit(main())
