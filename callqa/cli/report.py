"""``callqa report`` and ``callqa dashboard``: the HTML views of one call and of a team.

Thin commands over :mod:`callqa.outputs` (and :mod:`callqa.pipeline` when ``report`` is given a
recording to score first); a :class:`~callqa.errors.CallQAError` becomes ``Error: <message>``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from callqa.cli.options import (
    DebugOpt,
    QuietOpt,
    SinceOpt,
    StoreOpt,
    TeamOpt,
    UntilOpt,
    auto_fail_cap,
    build_config,
    check_date,
    configured_rubric,
    errors_as_lines,
    output_path,
    require_file,
    score_recording,
    setup_logging,
    store_path,
    warn,
)


def register(app: typer.Typer) -> None:
    """Add the ``report`` and ``dashboard`` commands to ``app``."""
    app.command("report")(report)
    app.command("dashboard")(dashboard)


def report(
    source: Annotated[
        Path,
        typer.Argument(
            help="A scorecard JSON file (from 'callqa score --format json') or a call recording "
            "(scored first with the configured model).",
            metavar="SCORECARD_OR_CALL",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The HTML file to write (default: SOURCE with .html, beside it).",
            dir_okay=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the HTML file if it exists.")
    ] = False,
    audio: Annotated[
        Path | None,
        typer.Option(
            "--audio",
            help="The call's audio (default: the scorecard's source path, if that file exists).",
            dir_okay=False,
        ),
    ] = None,
    link_audio: Annotated[
        bool,
        typer.Option(
            "--link-audio",
            help="Reference the audio file by a relative path instead of embedding it (a "
            "redacted copy is written beside the report as <name>.redacted.flac).",
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML config file, used when scoring audio.", dir_okay=False),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Show the reviewers' verdicts on this call from this store (callqa review) "
            "beside callqa's; the score is then over the final verdicts.",
            dir_okay=False,
        ),
    ] = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write the coach's call report: one HTML page with score, timeline, voice and transcript.

    An existing report is never replaced silently: add --force. With redaction on (the
    default), a scorecard's text is searched for personal data again (it may have been
    written with --no-redact or edited), and the page carries the audio with every span
    silenced, never the original; a scorecard that records no redaction and holds none gets
    the original audio and a warning on stderr. Prints the path of the page written.

    Examples:

    \b
        callqa report x.json --out call.html
        callqa report calls/en_05.json --store qa.duckdb   (with the reviewers' verdicts)
    """
    from callqa.outputs.sources import report_from_scorecard
    from callqa.scoring.scorecard import read_json

    setup_logging(quiet=quiet, debug=debug)
    require_file(source)
    if audio is not None:
        require_file(audio, regular=True)
    if store is not None:
        require_file(store)
    out = output_path(out or source.with_suffix(".html"), force=force)
    cfg = build_config(config)
    cap = auto_fail_cap(cfg) if store is not None else 0.0
    with errors_as_lines(debug):
        if source.suffix.lower() == ".json":
            human = _human(store, read_json(source).source.sha256) if store is not None else None
            path = report_from_scorecard(
                source,
                out,
                audio=audio,
                link_audio=link_audio,
                redaction=cfg.redaction,
                warn=warn,
                human=human,
                auto_fail_cap=cap,
            )
        else:
            path = _report_from_recording(source, out, cfg, link_audio, store, cap)
    typer.echo(str(path))


def _human(store: Path, sha256: str) -> dict[str, Any]:
    """The reviewers' latest verdict per item on the recording ``sha256`` ({} when none)."""
    from callqa.batch.reviews import read_reviews
    from callqa.review.reviews import latest_by_item

    latest = latest_by_item(read_reviews(store)).get(sha256, {})
    return {item: r.human() for item, r in latest.items()}


def _report_from_recording(
    source: Path, out: Path, cfg: object, link_audio: bool, store: Path | None, cap: float
) -> Path:
    """Score a recording with the configured model, then write its report. With redaction on
    and personal data found, the page carries a copy with those spans silenced."""
    from callqa.config import Config
    from callqa.outputs.media import REDACTED_SUFFIX
    from callqa.outputs.report import write_call_report

    assert isinstance(cfg, Config)
    result = score_recording(source, cfg)
    human = _human(store, result.scorecard.source.sha256) if store is not None else None
    with tempfile.TemporaryDirectory(prefix="callqa-report-") as tmp:
        audio = source
        if cfg.redaction.enabled and result.pii:
            folder = out.parent if link_audio else Path(tmp)
            audio = folder / f"{out.stem}{REDACTED_SUFFIX}"
            result = result.write_redacted_audio(audio)
        return write_call_report(
            result.scorecard,
            out,
            audio_path=audio,
            link_audio=link_audio,
            human=human,
            auto_fail_cap=cap,
        )


def dashboard(
    store: StoreOpt = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The HTML file to write.", dir_okay=False)
    ] = Path("team.html"),
    since: SinceOpt = None,
    until: UntilOpt = None,
    team: TeamOpt = None,
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports",
            help="Folder holding the call reports (<call_id>.html); rows link to the ones found.",
            file_okay=False,
        ),
    ] = None,
    queue: Annotated[
        int,
        typer.Option(
            "--queue", min=0, help="Calls in the review queue panel (0: no panel; callqa queue)."
        ),
    ] = 10,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write the team dashboard: score distribution, scores by day, pass rate of each rubric
    item over time, the review queue, per-agent and per-call tables (sortable, filterable,
    CSV export). Scores are over the final verdicts (a reviewer's, where given, else
    callqa's), with callqa's own beside them.

    The store defaults to $CALLQA_STORE, else ./callqa.duckdb, as in 'stats' and 'export'.
    The dashboard is meant to be rewritten (a nightly job): an existing file is replaced.

    Example: callqa dashboard --store callqa.duckdb --out team.html --since 2025-01-01
    """
    from callqa.batch.reviews import read_final_calls, read_reviews
    from callqa.outputs.dashboard import report_links_in, write_dashboard
    from callqa.review.queue import review_queue
    from callqa.review.render import queue_records

    setup_logging(quiet=quiet, debug=debug)
    since, until = check_date("--since", since), check_date("--until", until)
    if reports is not None:
        require_file(reports, folder_ok=True)
    output_path(out)
    rubric = configured_rubric(build_config(None))
    with errors_as_lines(debug):
        at = store_path(store)
        rows = read_final_calls(
            at, auto_fail_cap=rubric.auto_fail_cap, since=since, until=until, team=team
        )
        entries = review_queue(
            rows, read_reviews(at), budget=queue, review_below=rubric.review_below
        )
        links = report_links_in(rows, reports, out) if reports is not None else None
        path = write_dashboard(rows, out, report_links=links, queue=queue_records(entries))
    typer.echo(str(path))
