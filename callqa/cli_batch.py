"""CLI commands for many calls: ``batch``, ``nightly``, ``export`` and ``stats``.

Thin wrappers over :mod:`callqa.batch` and :mod:`callqa.store` (imported inside the commands,
so ``callqa --help`` stays instant). Exit codes: 0 every call scored or skipped, 1 at least
one call failed or a :class:`~callqa.errors.CallQAError`, 2 usage error, 75 another nightly run
holds the lock, 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from callqa.errors import CallQAError

if TYPE_CHECKING:
    from callqa.batch import BatchResult
    from callqa.config import Config
    from callqa.progress import Reporter

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class BackendChoice(StrEnum):
    faster_whisper = "faster-whisper"
    openai_whisper = "openai-whisper"
    fake = "fake"  # scripted words, no model: dry runs and tests


class ChannelChoice(StrEnum):
    left = "left"
    right = "right"
    auto = "auto"


class GroupBy(StrEnum):
    agent = "agent"
    team = "team"


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="DuckDB results store (default: $CALLQA_STORE or ./callqa.duckdb).",
        dir_okay=False,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file (see docs/configuration.md).", dir_okay=False),
]
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
LanguageOpt = Annotated[
    str | None,
    typer.Option("--language", help="Force the language of every call (en, nb, fi, it, sl)."),
]
ChannelOpt = Annotated[
    ChannelChoice | None,
    typer.Option("--agent-channel", help="Stereo: the agent's channel (default: left)."),
]
BackendOpt = Annotated[
    BackendChoice | None,
    typer.Option(
        "--backend",
        help="faster-whisper (default), openai-whisper, or fake (scripted words, no model).",
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Whisper model: 'base' or a local path.")
]
RubricOpt = Annotated[
    Path | None, typer.Option("--rubric", help="Rubric TOML file.", dir_okay=False)
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output, only errors.")]
JsonLogsOpt = Annotated[
    bool, typer.Option("--json-logs", help="Progress as one JSON object per line (stderr).")
]
TimeoutOpt = Annotated[
    float, typer.Option("--store-timeout", min=0, help="Seconds to wait for a busy store.")
]
EngineOpt = Annotated[Engine, typer.Option("--engine", help="local process pool or Ray.")]
AddressOpt = Annotated[str, typer.Option("--address", help="Ray: local, auto or ray://HOST:10001.")]
GpusOpt = Annotated[float, typer.Option("--gpus-per-worker", min=0, help="Ray: GPUs per worker.")]


def batch(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Audio files, folders (recursive), globs, or a manifest .csv.", show_default=False
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
    store_timeout: TimeoutOpt = 30.0,
) -> None:
    """Score many calls in parallel into --out and the results store.

    Writes calls/<call_id>.json as each call finishes, then scorecards.csv,
    scorecards.parquet and summary.md. Calls already in the store are skipped (--force scores
    them again). Exit codes: 0 all scored or skipped, 1 some failed, 2 usage error, 130
    interrupted.

    Examples:

        callqa batch sample_calls/ --out qa-out

        callqa batch manifest.csv --workers 2 --store qa.duckdb --out qa-out

        callqa batch "calls/**/*.mp3" --engine ray --address ray://head:10001
    """
    from callqa.batch import BatchOptions, collect_inputs, run_batch

    cfg, factory = _setup(config, language, agent_channel, backend, model, rubric)
    options = BatchOptions(
        workers=workers,
        threads=threads,
        engine=engine.value,
        ray_address=address,
        gpus_per_worker=gpus_per_worker,
        force=force,
        store_timeout_s=store_timeout,
        reports=reports,
    )
    store_path = None if no_store else _store_path(store)
    reporter = _reporter(quiet, json_logs)

    def run() -> BatchResult:
        return run_batch(
            collect_inputs(inputs),
            config=cfg,
            out_dir=out,
            store_path=store_path,
            transcriber_factory=factory,
            options=options,
            reporter=reporter,
        )

    result = _guarded(run)
    _finish(result, quiet)


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
    store_timeout: TimeoutOpt = 30.0,
) -> None:
    """Score the calls in --inbox that the store does not hold yet (for cron / systemd).

    Writes summary-YYYY-MM-DD.md (and scorecards-YYYY-MM-DD.csv/.parquet) for this run.
    Exit codes: 0 nothing failed, 1 some call failed, 2 usage error, 75 another run holds
    the lock (nothing done), 130 interrupted. See pipelines/README.md.

    Examples:

        callqa nightly --inbox /srv/calls/inbox --store /srv/callqa/qa.duckdb

        callqa nightly --inbox /srv/calls/inbox --engine ray --address ray://head:10001
    """
    from callqa.batch import BatchOptions, run_nightly

    cfg, factory = _setup(config, language, agent_channel, backend, model, rubric)
    options = BatchOptions(
        workers=workers,
        threads=threads,
        engine=engine.value,
        ray_address=address,
        gpus_per_worker=gpus_per_worker,
        store_timeout_s=store_timeout,
    )
    store_path = _store_path(store)
    reporter = _reporter(quiet, json_logs)

    def run() -> BatchResult:
        return run_nightly(
            inbox,
            store_path=store_path,
            out_dir=out,
            config=cfg,
            transcriber_factory=factory,
            options=options,
            reporter=reporter,
            min_age_s=min_age,
        )

    result = _guarded(run)
    _finish(result, quiet)


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
    since: Annotated[
        str | None, typer.Option("--since", help="First call date, YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last call date, YYYY-MM-DD.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team.")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent id.")] = None,
    store_timeout: TimeoutOpt = 30.0,
) -> None:
    """Export scored calls from the store as CSV or Parquet.

    Dates are the calls' dates (from the manifest), else the day they were scored (UTC).

    Examples:

        callqa export --out january.parquet --since 2025-01-01 --until 2025-01-31

        callqa export --out team-a.csv --team A --store qa.duckdb
    """
    from callqa.batch import export_rows, rebuild_outputs, write_table

    store_path = _store_path(store)
    filters: dict[str, Any] = {"since": since, "until": until, "team": team, "agent": agent}
    try:
        if out.is_dir() or out.suffix == "":
            written = rebuild_outputs(store_path, out, timeout_s=store_timeout, **filters)
            typer.echo(f"wrote {', '.join(str(p) for p in written)}", err=True)
            return
        rows = export_rows(store_path, timeout_s=store_timeout, **filters)
        write_table(rows, out)
    except CallQAError as exc:
        _fail(str(exc), _code(exc))
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}; choose a writable --out")
    typer.echo(f"wrote {len(rows)} calls to {out}", err=True)


def stats(
    store: StoreOpt = None,
    by: Annotated[GroupBy, typer.Option("--by", help="Group by agent or team.")] = GroupBy.agent,
    since: Annotated[
        str | None, typer.Option("--since", help="First call date, YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last call date, YYYY-MM-DD.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team.")] = None,
    store_timeout: TimeoutOpt = 30.0,
) -> None:
    """Print per-agent (or per-team) averages from the store.

    Columns: calls, mean/min/max score (0-100), mean agent talk share, mean agent
    interruptions per call, and the item failed most often.

    Examples:

        callqa stats --store qa.duckdb

        callqa stats --by team --since 2025-01-01
    """
    from rich.console import Console

    from callqa.store import read_calls

    try:
        calls = read_calls(
            _store_path(store), since=since, until=until, team=team, timeout_s=store_timeout
        )
    except CallQAError as exc:
        _fail(str(exc), _code(exc))
    Console().print(stats_table(calls, by=by.value))


def stats_table(calls: list[dict[str, Any]], *, by: str = "agent") -> Any:
    """A rich Table of per-agent or per-team figures from :func:`callqa.store.read_calls` rows."""
    from collections import Counter

    from rich.table import Table

    key = "agent_id" if by == "agent" else "team"
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in calls:
        groups.setdefault(c.get(key) or "(none)", []).append(c)
    table = Table(title=f"callqa: {len(calls)} calls by {by}")
    table.add_column(by)
    for name in ("calls", "mean score", "min", "max", "agent talk share", "agent interruptions"):
        table.add_column(name, justify="right")
    table.add_column("most failed item")
    for name in sorted(groups):
        g = groups[name]
        scores = [c["score"] for c in g if c["score"] is not None]
        failed = Counter(item for c in g for item in c["failed_items"])
        top = failed.most_common(1)
        table.add_row(
            name,
            str(len(g)),
            _fmt(sum(scores) / len(scores) if scores else None, ".1f"),
            _fmt(min(scores, default=None), ".1f"),
            _fmt(max(scores, default=None), ".1f"),
            _fmt(_mean(c["agent_talk_share"] for c in g), ".2f"),
            _fmt(_mean(c["agent_interruptions"] for c in g), ".1f"),
            f"{top[0][0]} ({top[0][1]})" if top else "-",
        )
    return table


def _mean(values: Any) -> float | None:
    numbers = [float(v) for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


# -- shared plumbing -----


def _store_path(store: Path | None) -> Path:
    from callqa.store import default_store_path

    return store or default_store_path()


def _reporter(quiet: bool, json_logs: bool) -> Reporter:
    from callqa.progress import make_reporter

    return make_reporter("quiet" if quiet else "json" if json_logs else "auto")


def _setup(
    config: Path | None,
    language: str | None,
    agent_channel: ChannelChoice | None,
    backend: BackendChoice | None,
    model: str | None,
    rubric: Path | None,
) -> tuple[Config, Any]:
    """The config (file + flags) and the transcriber factory (None: the configured model)."""
    from callqa.config import load_config, replace_config

    try:
        cfg = replace_config(
            load_config(config),
            call__language=language,
            call__agent_channel=agent_channel.value if agent_channel else None,
            transcription__backend=backend.value
            if backend and backend is not BackendChoice.fake
            else None,
            transcription__model=model,
            rubric__path=str(rubric) if rubric else None,
        )
    except CallQAError as exc:
        _fail(str(exc), EXIT_USAGE)
    factory = None
    if backend is BackendChoice.fake:
        from callqa.testing import FakeTranscriber

        factory = FakeTranscriber
    return cfg, factory


def _code(exc: CallQAError) -> int:
    from callqa.batch import BatchUsageError, LockHeldError

    if isinstance(exc, LockHeldError):
        return EXIT_LOCKED
    if isinstance(exc, BatchUsageError):
        return EXIT_USAGE
    return EXIT_FAILED


def _guarded(run: Any) -> BatchResult:
    try:
        result: BatchResult = run()
    except CallQAError as exc:
        _fail(str(exc), _code(exc))
    except KeyboardInterrupt:
        _fail(
            "interrupted; scored calls are stored, run the same command again to finish",
            EXIT_INTERRUPTED,
        )
    return result


def _finish(result: BatchResult, quiet: bool) -> None:
    counts = result.counts
    if not quiet:
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
