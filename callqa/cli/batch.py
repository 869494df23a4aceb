"""CLI commands for many calls: ``batch``, ``nightly``, ``export`` and ``stats``.

Thin wrappers over :mod:`callqa.batch` (imported inside the commands, so ``callqa --help``
stays instant). Exit codes: 0 every call scored or skipped, 1 at least one call failed or a
:class:`~callqa.errors.CallQAError`, 2 usage error, 75 another nightly run holds the lock,
130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from callqa.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    BackendChoice,
    BackendOpt,
    ChannelOpt,
    ConfigOpt,
    DebugOpt,
    Engine,
    GroupBy,
    LanguageOpt,
    ModelOpt,
    QuietOpt,
    RubricOpt,
    SinceOpt,
    StoreOpt,
    TeamOpt,
    TimeoutOpt,
    UntilOpt,
    auto_fail_cap,
    build_config,
    check_date,
    errors_as_lines,
    fail,
    output_folder,
    output_path,
    setup_logging,
    store_path,
)

if TYPE_CHECKING:
    from callqa.batch import BatchOptions, BatchResult
    from callqa.batch.progress import Reporter

WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", min=0, help="Worker processes (default: one per core); 0 = in this process."
    ),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", min=1, help="CPU threads per worker (default: cores/workers)."),
]
JsonLogsOpt = Annotated[
    bool,
    typer.Option(
        "--json-logs",
        help="Progress as one JSON object per line on stderr, and nothing else there (each "
        "call's event carries its score and time).",
    ),
]
EngineOpt = Annotated[Engine, typer.Option("--engine", help="local process pool or Ray.")]
AddressOpt = Annotated[str, typer.Option("--address", help="Ray: local, auto or ray://HOST:10001.")]
GpusOpt = Annotated[float, typer.Option("--gpus-per-worker", min=0, help="Ray: GPUs per worker.")]


def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Audio or transcript (.json, .vtt) files, folders (recursive, audio only), globs, "
            "or a manifest .csv.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder.", file_okay=False)
    ] = Path("callqa-out"),
    store: StoreOpt = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not use a results store.")
    ] = False,
    workers: WorkersOpt = None,
    threads: ThreadsOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Score again calls already in the store.")
    ] = False,
    reports: Annotated[
        bool, typer.Option("--reports", help="Also write an HTML report per call.")
    ] = False,
    engine: EngineOpt = Engine.local,
    address: AddressOpt = "local",
    gpus_per_worker: GpusOpt = 0.0,
    language: LanguageOpt = None,
    agent_channel: ChannelOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    rubric: RubricOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    json_logs: JsonLogsOpt = False,
    debug: DebugOpt = False,
    store_timeout: TimeoutOpt = 30.0,
) -> None:
    """Score many calls in parallel into --out and the results store.

    Writes calls/<call_id>.json as each call finishes, then scorecards.csv,
    scorecards.parquet and summary.md. Calls already in the store are skipped (--force scores
    them again). One run per store at a time. Exit codes: 0 all scored or skipped, 1 some
    failed, 2 usage error, 75 another run holds the store (nothing done), 130 interrupted.

    Examples:

    \b
        callqa batch sample_calls/ --out qa-out
        callqa batch manifest.csv --workers 2 --store qa.duckdb --out qa-out
        callqa batch "calls/**/*.mp3" --engine ray --address ray://head:10001
    """
    from callqa.batch import collect_inputs, run_batch, store_lock

    setup_logging(quiet=quiet or json_logs, debug=debug)
    _require_inputs(inputs)
    cfg, factory = _setup(config, language, agent_channel, backend, model, rubric)
    options = _options(workers, threads, engine, address, gpus_per_worker, store_timeout)
    options = _replace(options, force=force, reports=reports)
    store_at = None if no_store else store_path(store)
    output_folder(out)
    reporter = _reporter(quiet, json_logs)

    def run() -> Any:
        # one run per store, as for nightly: two runs had both scored every call (exit 75)
        with store_lock(store_at) if store_at is not None else nullcontext():
            return run_batch(
                collect_inputs(
                    inputs, max_manifest_bytes=cfg.limits.max_manifest_bytes, exclude=[out]
                ),
                config=cfg,
                out_dir=out,
                store_path=store_at,
                transcriber_factory=factory,
                options=options,
                reporter=reporter,
            )

    _run_and_exit(run, quiet or json_logs, debug)


def _require_inputs(inputs: list[str]) -> None:
    """A file or folder named on the command line must exist (exit 2), as in every command;
    a glob may match nothing, and files a manifest names that are missing become failed
    rows."""
    for spec in inputs:
        if not any(ch in spec for ch in "*?[") and not Path(spec).exists():
            fail(f"{spec}: no such file or folder", EXIT_USAGE)


def nightly(
    inbox: Annotated[
        Path,
        typer.Option(
            "--inbox", help="Folder new calls arrive in (searched recursively).", file_okay=False
        ),
    ],
    store: StoreOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output folder (default: <store folder>/callqa-nightly).",
            file_okay=False,
        ),
    ] = None,
    workers: WorkersOpt = None,
    threads: ThreadsOpt = None,
    min_age: Annotated[
        float,
        typer.Option(
            "--min-age", min=0, help="Leave files younger than this (s) for the next run."
        ),
    ] = 120.0,
    engine: EngineOpt = Engine.local,
    address: AddressOpt = "local",
    gpus_per_worker: GpusOpt = 0.0,
    language: LanguageOpt = None,
    agent_channel: ChannelOpt = None,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    rubric: RubricOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    json_logs: JsonLogsOpt = False,
    debug: DebugOpt = False,
    store_timeout: TimeoutOpt = 30.0,
) -> None:
    """Score the calls in --inbox that the store does not hold yet (for cron / systemd).

    Writes summary-YYYY-MM-DD.md (and scorecards-YYYY-MM-DD.csv/.parquet) for this run.
    Exit codes: 0 nothing failed, 1 some call failed, 2 usage error, 75 another run holds
    the lock (nothing done), 130 interrupted. See pipelines/README.md.

    Examples:

    \b
        callqa nightly --inbox /srv/calls/inbox --store /srv/callqa/qa.duckdb
        callqa nightly --inbox /srv/calls/inbox --engine ray --address ray://head:10001
    """
    from callqa.batch import run_nightly

    setup_logging(quiet=quiet or json_logs, debug=debug)
    if not inbox.is_dir():
        fail(f"{inbox}: no such folder (--inbox)", EXIT_USAGE)
    cfg, factory = _setup(config, language, agent_channel, backend, model, rubric)
    options = _options(workers, threads, engine, address, gpus_per_worker, store_timeout)
    store_at = store_path(store)
    reporter = _reporter(quiet, json_logs)
    _run_and_exit(
        lambda: run_nightly(
            inbox,
            store_path=store_at,
            out_dir=out,
            config=cfg,
            transcriber_factory=factory,
            options=options,
            reporter=reporter,
            min_age_s=min_age,
        ),
        quiet or json_logs,
        debug,
    )


def export(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="A .csv or .parquet file, or a folder (scorecards.csv, .parquet, summary.md).",
        ),
    ],
    store: StoreOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    team: TeamOpt = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent id.")] = None,
    store_timeout: TimeoutOpt = 30.0,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Export scored calls from the store as CSV or Parquet.

    Dates are the calls' dates (from the manifest), else the day they were scored (UTC).
    Reviewers' verdicts (callqa review) sit beside callqa's (human_<item> beside check_<item>);
    score and section_<id> are over the final verdicts, machine_score is callqa's own.

    Examples:

    \b
        callqa export --out january.parquet --since 2025-01-01 --until 2025-01-31
        callqa export --out team-a.csv --team A --store qa.duckdb
    """
    from callqa.batch import export_rows, rebuild_outputs, write_table

    setup_logging(quiet=quiet, debug=debug)
    cap = auto_fail_cap(build_config(None))
    since, until = check_date("--since", since), check_date("--until", until)
    store_at = store_path(store)
    filters: dict[str, Any] = {"since": since, "until": until, "team": team, "agent": agent}
    folder = out.is_dir() or out.suffix == ""
    if folder:
        output_folder(out)
    else:
        output_path(out)
    with errors_as_lines(debug):
        try:
            if folder:
                written = rebuild_outputs(
                    store_at, out, timeout_s=store_timeout, auto_fail_cap=cap, **filters
                )
                message = f"wrote {', '.join(str(p) for p in written)}"
            else:
                rows = export_rows(store_at, timeout_s=store_timeout, auto_fail_cap=cap, **filters)
                write_table(rows, out)
                message = f"wrote {len(rows)} calls to {out}"
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}; choose a writable --out")
    if not quiet:
        typer.echo(message, err=True)


class StatsFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def stats(
    store: StoreOpt = None,
    by: Annotated[GroupBy, typer.Option("--by", help="Group by agent or team.")] = GroupBy.agent,
    since: SinceOpt = None,
    until: UntilOpt = None,
    team: TeamOpt = None,
    fmt: Annotated[
        StatsFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (default on a terminal), csv (default when piped) or json.",
        ),
    ] = None,
    store_timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """Print per-agent (or per-team) averages from the store.

    Columns: calls, mean/min/max score (0-100), mean agent talk share, mean agent
    interruptions per call, the item failed most often, callqa's own mean score and the
    calls a reviewer judged, and the mean score of each rubric section (section_<id>).
    Scores and failed items are over the final verdicts (a reviewer's, where given, else
    callqa's). CSV and JSON carry the same columns, for spreadsheets and scripts.

    Examples:

    \b
        callqa stats --store qa.duckdb
        callqa stats --by team --since 2025-01-01
        callqa stats --format csv > agents.csv
    """
    from rich.console import Console

    from callqa.batch.reviews import read_final_calls
    from callqa.outputs.table import stats_csv, stats_json, stats_rows, stats_table

    setup_logging(debug=debug)
    since, until = check_date("--since", since), check_date("--until", until)
    cap = auto_fail_cap(build_config(None))
    with errors_as_lines(debug):
        calls = read_final_calls(store_path(store), auto_fail_cap=cap, since=since, until=until,
                                 team=team, timeout_s=store_timeout)  # fmt: skip
    rows = stats_rows(calls, by=by.value)
    chosen = fmt or (StatsFormat.table if sys.stdout.isatty() else StatsFormat.csv)
    if chosen is StatsFormat.csv:
        sys.stdout.write(stats_csv(rows))
    elif chosen is StatsFormat.json:
        sys.stdout.write(stats_json(rows))
    else:
        Console().print(stats_table(rows, by=by.value, total=len(calls)))


def _options(
    workers: int | None,
    threads: int | None,
    engine: Engine,
    address: str,
    gpus_per_worker: float,
    store_timeout: float,
) -> BatchOptions:
    from callqa.batch import BatchOptions

    return BatchOptions(
        workers=workers,
        threads=threads,
        engine=engine.value,
        ray_address=address,
        gpus_per_worker=gpus_per_worker,
        store_timeout_s=store_timeout,
    )


def _replace(options: BatchOptions, **changes: Any) -> BatchOptions:
    from dataclasses import replace

    return replace(options, **changes)


def _reporter(quiet: bool, json_logs: bool) -> Reporter:
    from callqa.batch.progress import make_reporter

    return make_reporter("quiet" if quiet else "json" if json_logs else "auto")


def _setup(
    config: Path | None,
    language: str | None,
    agent_channel: Any,
    backend: BackendChoice | None,
    model: str | None,
    rubric: Path | None,
) -> tuple[Any, Any]:
    """The config (file + flags) and the transcriber factory (None: the configured model)."""
    cfg = build_config(
        config,
        language=language,
        agent_channel=agent_channel,
        backend=backend,
        model=model,
        rubric=rubric,
    )
    factory = None
    if backend is BackendChoice.fake:
        from callqa.transcription.fake import FakeTranscriber

        factory = FakeTranscriber
    return cfg, factory


def _run_and_exit(run: Any, quiet: bool, debug: bool = False) -> None:
    """Run a batch (or nightly run), print its counts, exit with its code."""
    with errors_as_lines(debug):
        try:
            result: BatchResult = run()
        except KeyboardInterrupt:
            fail(
                "interrupted; scored calls are stored, run the same command again to finish",
                EXIT_INTERRUPTED,
            )
    counts = result.counts
    if not quiet:  # --json-logs: the "finish" event says it; stderr stays JSON only
        where = f"; outputs in {result.out_dir}" if result.out_dir else ""
        typer.echo(
            f"{counts['scored']} scored, {counts['skipped']} skipped, "
            f"{counts['failed']} failed{where}",
            err=True,
        )
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``batch``, ``nightly``, ``export`` and ``stats`` to the ``callqa`` app."""
    app.command("batch")(batch)
    app.command("nightly")(nightly)
    app.command("export")(export)
    app.command("stats")(stats)
