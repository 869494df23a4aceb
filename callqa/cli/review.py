"""``callqa review`` (import, set, export), ``callqa calibrate`` and ``callqa queue``.

Thin commands over :mod:`callqa.review` and :mod:`callqa.batch.reviews`. A reviews file with
problems prints one ``Error:`` line per problem (with its line number), stores nothing and
exits 1.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from callqa.cli.options import (
    EXIT_USAGE,
    ConfigOpt,
    DebugOpt,
    QuietOpt,
    RubricOpt,
    SinceOpt,
    StoreOpt,
    TeamOpt,
    TimeoutOpt,
    UntilOpt,
    build_config,
    check_date,
    configured_rubric,
    errors_as_lines,
    fail,
    output_path,
    require_file,
    setup_logging,
    store_path,
)

if TYPE_CHECKING:
    from callqa.review.files import ReviewFileError
    from callqa.scoring.rubric import Rubric

MAX_ERROR_LINES = 20  # problems printed one per line; the rest are counted


class CalibrateFormat(StrEnum):
    table = "table"
    md = "md"
    json = "json"


class QueueFormat(StrEnum):
    table = "table"
    md = "md"
    json = "json"
    csv = "csv"


def _problems(exc: ReviewFileError) -> NoReturn:
    """One ``Error:`` line per problem (at most :data:`MAX_ERROR_LINES`), then exit 1."""
    for problem in exc.problems[:MAX_ERROR_LINES]:
        typer.echo(f"Error: {problem}", err=True)
    more = len(exc.problems) - MAX_ERROR_LINES
    tail = f"{more} more problem{'s' * (more != 1)}; " if more > 0 else ""
    fail(f"{tail}nothing was imported")


def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help="Reviews as CSV (header call_id,item,verdict,reviewer,note,reviewed_at) or JSON "
            "lines with the same keys.",
            dir_okay=False,
            metavar="FILE",
            show_default=False,
        ),
    ],
    store: StoreOpt = None,
    config: ConfigOpt = None,
    store_timeout: TimeoutOpt = 30.0,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Import a team's verdicts into the store, beside callqa's (never over them).

    verdict is pass, fail or na; note and reviewed_at (ISO 8601, UTC unless it says) are
    optional. Every row is checked first: an unknown call id or item, a bad verdict or time,
    a repeated row or one already stored is an Error line naming its line, and then nothing is
    imported. A call's final verdict on an item is the latest human one.

    Example: callqa review import reviews.csv --store qa.duckdb
    """
    from callqa.batch.reviews import import_reviews
    from callqa.review.files import ReviewFileError, check_reviews_file

    setup_logging(quiet=quiet, debug=debug)
    require_file(file)
    cfg = build_config(config)
    with errors_as_lines(debug):
        try:
            rows, problems = check_reviews_file(file, max_bytes=cfg.limits.max_manifest_bytes)
            n = import_reviews(
                store_path(store),
                rows,
                file_name=file.name,
                redaction=cfg.redaction,
                timeout_s=store_timeout,
                problems=problems,
            )
        except ReviewFileError as exc:
            _problems(exc)
    if not quiet:
        typer.echo(f"imported {n} review{'s' * (n != 1)} from {file}", err=True)


def set_(
    call_id: Annotated[str, typer.Argument(help="The call id.", metavar="CALL")],
    item: Annotated[str, typer.Argument(help="The item (check id).", metavar="ITEM")],
    verdict: Annotated[str, typer.Argument(help="pass, fail or na.", metavar="VERDICT")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who decided (a name).")],
    note: Annotated[str, typer.Option("--note", help="Why, in a sentence.")] = "",
    store: StoreOpt = None,
    config: ConfigOpt = None,
    store_timeout: TimeoutOpt = 30.0,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Overrule (or confirm) one of callqa's verdicts: stored now, as the latest human
    verdict on that item of that call.

    Example: callqa review set en_05 empathise.apology fail --reviewer anna --note "blames the
    customer"
    """
    from callqa.batch.reviews import import_reviews
    from callqa.batch.store import utc_now
    from callqa.review.files import ReviewFileError, check_record

    setup_logging(quiet=quiet, debug=debug)
    cfg = build_config(config)
    record = {
        "call_id": call_id,
        "item": item,
        "verdict": verdict,
        "reviewer": reviewer,
        "note": note,
        "reviewed_at": utc_now().isoformat(),
    }
    row = check_record(record, 0)
    if isinstance(row, str):
        fail(row, EXIT_USAGE)
    with errors_as_lines(debug):
        try:
            import_reviews(
                store_path(store),
                [row],
                source="set",
                redaction=cfg.redaction,
                timeout_s=store_timeout,
            )
        except ReviewFileError as exc:
            _problems(exc)
    if not quiet:
        typer.echo(f"{call_id} {item}: {row.verdict} ({reviewer}) stored", err=True)


def export(
    file: Annotated[
        Path,
        typer.Argument(
            help="A .csv, .jsonl or .json file (the import format).", dir_okay=False, metavar="FILE"
        ),
    ],
    store: StoreOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    store_timeout: TimeoutOpt = 30.0,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write every stored review in the import format (CSV or JSON lines), oldest first.

    Example: callqa review export reviews-backup.csv --store qa.duckdb
    """
    from callqa.batch.reviews import export_reviews

    setup_logging(quiet=quiet, debug=debug)
    output_path(file, force=force)
    with errors_as_lines(debug):
        n = export_reviews(store_path(store), file, timeout_s=store_timeout)
    if not quiet:
        typer.echo(f"wrote {n} review{'s' * (n != 1)} to {file}", err=True)


def _rubric(config: Path | None, rubric: Path | None) -> Rubric:
    """The rubric the stored calls were scored with: --rubric, else the config's, else the
    built-in one (a bad file exits 2)."""
    return configured_rubric(build_config(config, rubric=rubric))


def calibrate(
    store: StoreOpt = None,
    fmt: Annotated[
        CalibrateFormat, typer.Option("--format", "-f", help="table, md or json.")
    ] = CalibrateFormat.table,
    fit: Annotated[
        bool,
        typer.Option(
            "--fit",
            help="Also fit the numeric thresholds to the reviewers (cross-validated) and write "
            "them as a rubric overlay (--out).",
        ),
    ] = False,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="With --fit: the rubric overlay to write.", dir_okay=False
        ),
    ] = Path("rubric-fitted.toml"),
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    rubric: RubricOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    team: TeamOpt = None,
    store_timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """How often callqa agrees with your reviewers: per item and overall, Cohen's kappa,
    accuracy, confusion and counts with 95% bootstrap intervals; agreement among reviewers who
    judged the same calls; every disagreement with the evidence callqa quoted.

    --fit runs the checks with numeric thresholds again at other values and proposes those
    that agree best under 5-fold cross-validation (folds grouped by call), with the held-out
    kappa before and after; they are written to --out, a rubric that extends the one in use
    (--rubric, else the configured or built-in one). Nothing changes until you pass that
    file with --rubric.

    Examples:

    \b
        callqa calibrate --store qa.duckdb
        callqa calibrate --store qa.duckdb --format json > agreement.json
        callqa calibrate --store qa.duckdb --fit --out team-rubric.toml
    """
    from rich.console import Console

    from callqa.batch.reviews import read_reviews
    from callqa.batch.store import read_calls
    from callqa.review import render
    from callqa.review.calibrate import calibrate as run_calibration

    setup_logging(debug=debug)
    since, until = check_date("--since", since), check_date("--until", until)
    base = _rubric(config, rubric)  # read even without --fit: a bad or missing file is exit 2
    if fit:
        output_path(out, force=force)
    with errors_as_lines(debug):
        path = store_path(store)
        rows = read_calls(path, since=since, until=until, team=team, timeout_s=store_timeout)
        reviews = read_reviews(path, timeout_s=store_timeout)
        result = run_calibration(rows, reviews)
        fits = _fit(rows, reviews, base, out, path) if fit else []
    if fmt is CalibrateFormat.json:
        sys.stdout.write(render.calibration_json(result, fits))
    elif fmt is CalibrateFormat.md:
        sys.stdout.write(render.calibration_markdown(result, fits))
    else:
        Console(width=max(Console().width, 150)).print(render.calibration_table(result, fits))
    if fit:
        changed = sum(f.changed for f in fits)
        where = f"wrote {out}" if changed else f"{out} not written"
        typer.echo(f"{changed} threshold{'s' * (changed != 1)} proposed; {where}", err=True)


def _fit(rows: list[dict[str, Any]], reviews: Any, base: Rubric, out: Path, store: Path) -> Any:
    """Fit the thresholds and write the overlay when any changes (raises CallQAError)."""
    from datetime import UTC, datetime

    from callqa.files import atomic_write_text
    from callqa.review.fit import fit_thresholds, overlay_text
    from callqa.scoring.rubric import load_rubric

    fits = fit_thresholds(rows, reviews, base)
    if any(f.changed for f in fits):
        header = [
            f"Thresholds fitted by `callqa calibrate --fit` on {datetime.now(UTC):%Y-%m-%d} "
            f"against the reviewers in {store.name} ({len(rows)} calls).",
        ]
        atomic_write_text(out, overlay_text(fits, base, out, header=header))
        load_rubric(out)  # the overlay must load as it is written
    return fits


def queue(
    budget: Annotated[
        int, typer.Option("--budget", "-n", min=0, help="How many calls to list.")
    ] = 10,
    store: StoreOpt = None,
    fmt: Annotated[
        QueueFormat, typer.Option("--format", "-f", help="table, md, json or csv.")
    ] = QueueFormat.table,
    rubric: RubricOpt = None,
    config: ConfigOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    team: TeamOpt = None,
    store_timeout: TimeoutOpt = 30.0,
    debug: DebugOpt = False,
) -> None:
    """The calls most worth a reviewer's time, each with why: verdicts callqa is unsure of,
    verdicts your reviewers often overrule, auto-fails, an unreliable transcript, low scores.
    Calls already reviewed are left out; the order is stable (docs/review.md gives the formula).

    Examples:

    \b
        callqa queue --store qa.duckdb --budget 20
        callqa queue --budget 50 --format csv > to-review.csv
    """
    from rich.console import Console

    from callqa.batch.reviews import queue_csv, read_final_calls, read_reviews
    from callqa.review import render
    from callqa.review.queue import review_queue

    setup_logging(debug=debug)
    since, until = check_date("--since", since), check_date("--until", until)
    base = _rubric(config, rubric)
    with errors_as_lines(debug):
        path = store_path(store)
        rows = read_final_calls(
            path,
            auto_fail_cap=base.auto_fail_cap,
            since=since,
            until=until,
            team=team,
            timeout_s=store_timeout,
        )
        reviews = read_reviews(path, timeout_s=store_timeout)
        entries = review_queue(rows, reviews, budget=budget, review_below=base.review_below)
    total = len(rows) - len({r.audio_sha256 for r in reviews} & {x["audio_sha256"] for x in rows})
    if fmt is QueueFormat.json:
        sys.stdout.write(render.queue_json(entries))
    elif fmt is QueueFormat.csv:
        sys.stdout.write(queue_csv(entries))
    elif fmt is QueueFormat.md:
        sys.stdout.write(render.queue_markdown(entries, budget=budget, total=total))
    elif not entries:
        typer.echo(f"review queue: empty ({len(rows)} calls, {total} of them unreviewed)")
    else:
        Console(width=max(Console().width, 150)).print(
            render.queue_table(entries, budget=budget, total=total)
        )


def register(app: typer.Typer) -> None:
    """Add ``review`` (import, set, export), ``calibrate`` and ``queue`` to ``app``."""
    group = typer.Typer(
        help="Your reviewers' verdicts beside callqa's: import a file, overrule one verdict, "
        "export them.\n\nExample: callqa review import reviews.csv --store qa.duckdb",
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    group.command("import")(import_)
    group.command("set")(set_)
    group.command("export")(export)
    app.add_typer(group, name="review")
    app.command("calibrate")(calibrate)
    app.command("queue")(queue)
