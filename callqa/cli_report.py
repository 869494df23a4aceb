"""``callqa report`` and ``callqa dashboard``: the HTML views of one call and of a team.

Thin commands: each parses its options, calls one library function
(:func:`callqa.report.report_from_input`, :func:`callqa.dashboard.dashboard_from_store`) and
turns a :class:`~callqa.errors.CallQAError` into ``Error: <message>`` with exit code 1.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from callqa.errors import CallQAError


def register(app: typer.Typer) -> None:
    """Add the ``report`` and ``dashboard`` commands to ``app``."""
    app.command("report")(report)
    app.command("dashboard")(dashboard)


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def _warn(message: str) -> None:
    typer.echo(f"Warning: {message}", err=True)


def report(
    source: Annotated[
        Path,
        typer.Argument(
            help="A scorecard JSON file (from 'callqa score --format json') or a call recording "
            "(scored first with the configured model).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The HTML file to write.", dir_okay=False)
    ] = Path("call.html"),
    audio: Annotated[
        Path | None,
        typer.Option(
            "--audio",
            help="The call's audio (default: the scorecard's source path, if that file exists).",
            exists=True,
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
) -> None:
    """Write the coach's call report: one HTML page with score, timeline, voice and transcript.

    With redaction on (the default), the page carries the audio with the personal data the
    scorecard lists silenced, never the original; a scorecard that records no redaction gets
    the original audio and a warning on stderr.

    Example: callqa report x.json --out call.html
    """
    from callqa.report import report_from_input

    try:
        path = report_from_input(
            source, out, audio=audio, link_audio=link_audio, config_path=config, warn=_warn
        )
    except CallQAError as exc:
        _fail(str(exc))
    typer.echo(str(path))


def dashboard(
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            help="The results store (DuckDB file written by 'callqa batch').",
            dir_okay=False,
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The HTML file to write.", dir_okay=False)
    ] = Path("team.html"),
    since: Annotated[
        str | None, typer.Option("--since", help="First call date to include (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last call date to include (YYYY-MM-DD).")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team.")] = None,
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports",
            help="Folder holding the call reports (<call_id>.html); rows link to the ones found.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Write the team dashboard: score distribution, per-agent table, scores by day.

    Example: callqa dashboard --store callqa.duckdb --out team.html --since 2025-01-01
    """
    from callqa.dashboard import dashboard_from_store

    for name, value in (("--since", since), ("--until", until)):
        if value is not None and not _is_date(value):
            typer.echo(f"Error: {name} must be a date like 2025-01-31, got {value!r}", err=True)
            raise typer.Exit(2)
    try:
        path = dashboard_from_store(
            store, out, since=since, until=until, team=team, reports_dir=reports
        )
    except CallQAError as exc:
        _fail(str(exc))
    typer.echo(str(path))


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
