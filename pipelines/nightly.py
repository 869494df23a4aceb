#!/usr/bin/env python3
"""Nightly scoring of a call inbox, for cron or a systemd timer.

Scores the calls in --inbox that the store does not hold yet, writes
summary-YYYY-MM-DD.md beside the scorecards, and exits non-zero when something failed so
cron mail or the unit's OnFailure= sees it. It is the library call behind ``callqa nightly``
(callqa.batch.run.run_nightly); this script exists for hosts that run a file rather than a
console entry point.

Exit codes: 0 nothing failed, 1 some call failed (or the run could not start), 2 usage
error, 75 another run holds the lock (nothing done), 130 interrupted (SIGTERM/Ctrl-C).

Examples::

    python pipelines/nightly.py --inbox /srv/calls/inbox --store /srv/callqa/qa.duckdb
    python pipelines/nightly.py --inbox /srv/calls/inbox --store /srv/callqa/qa.duckdb \
        --engine ray --address ray://head:10001
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED = 1, 2, 75, 130


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inbox", type=Path, required=True, help="folder new calls arrive in")
    parser.add_argument("--store", type=Path, required=True, help="DuckDB results store")
    parser.add_argument("--out", type=Path, help="output folder [<store folder>/callqa-nightly]")
    parser.add_argument("--config", type=Path, help="TOML config file")
    parser.add_argument("--workers", type=int, help="worker processes [one per core]")
    parser.add_argument("--min-age", type=float, default=120.0, help="skip files younger (s)")
    parser.add_argument("--json-logs", action="store_true", help="JSON log lines on stderr")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local process pool or Ray [local]")  # fmt: skip
    parser.add_argument("--address", default="local",
                        help="Ray: local, auto or ray://HOST:10001 [local]")  # fmt: skip
    parser.add_argument("--backend", choices=("model", "fake"), default="model",
                        help=argparse.SUPPRESS)  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from callqa.batch import BatchOptions, BatchUsageError, LockHeldError, run_nightly
    from callqa.batch.progress import make_reporter
    from callqa.config import load_config
    from callqa.errors import CallQAError

    factory = None
    if args.backend == "fake":
        from callqa.transcription.fake import FakeTranscriber

        factory = FakeTranscriber
    try:
        result = run_nightly(
            args.inbox,
            store_path=args.store,
            out_dir=args.out,
            config=load_config(args.config),
            transcriber_factory=factory,
            options=BatchOptions(
                workers=args.workers, engine=args.engine, ray_address=args.address
            ),
            reporter=make_reporter("json" if args.json_logs else "plain"),
            min_age_s=args.min_age,
        )
    except LockHeldError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except BatchUsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CallQAError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("Error: interrupted; run again to finish the remaining calls", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
