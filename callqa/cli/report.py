"""``callqa report`` and ``callqa dashboard``: the HTML views of one call and of a team.

Thin commands over :mod:`callqa.outputs` (and :mod:`callqa.pipeline` when ``report`` is given a
recording to score first); a :class:`~callqa.errors.CallQAError` becomes ``Error: <message>``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from callqa.cli.options import (
    SinceOpt,
    StoreOpt,
    TeamOpt,
    UntilOpt,
    build_config,
    check_date,
    exit_code,
    fail,
    store_path,
    warn,
)
from callqa.errors import CallQAError


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
    from callqa.outputs.sources import report_from_scorecard

    cfg = build_config(config)
    try:
        if source.suffix.lower() == ".json":
            path = report_from_scorecard(
                source,
                out,
                audio=audio,
                link_audio=link_audio,
                redaction=cfg.redaction,
                warn=warn,
            )
        else:
            path = _report_from_recording(source, out, cfg, link_audio)
    except CallQAError as exc:
        fail(str(exc), exit_code(exc))
    typer.echo(str(path))


def _report_from_recording(source: Path, out: Path, cfg: object, link_audio: bool) -> Path:
    """Score a recording with the configured model, then write its report. With redaction on
    and personal data found, the page carries a copy with those spans silenced."""
    from callqa.config import Config
    from callqa.outputs.media import REDACTED_SUFFIX
    from callqa.outputs.report import write_call_report
    from callqa.pipeline import score_call_with_audio
    from callqa.transcription import load_transcriber

    assert isinstance(cfg, Config)
    result = score_call_with_audio(
        source, transcriber=load_transcriber(cfg.transcription), config=cfg
    )
    with tempfile.TemporaryDirectory(prefix="callqa-report-") as tmp:
        audio = source
        if cfg.redaction.enabled and result.pii:
            folder = out.parent if link_audio else Path(tmp)
            audio = folder / f"{out.stem}{REDACTED_SUFFIX}"
            result = result.write_redacted_audio(audio)
        return write_call_report(result.scorecard, out, audio_path=audio, link_audio=link_audio)


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
) -> None:
    """Write the team dashboard: score distribution, per-agent table, scores by day.

    Example: callqa dashboard --store callqa.duckdb --out team.html --since 2025-01-01
    """
    from callqa.batch.store import read_calls
    from callqa.outputs.dashboard import report_links_in, write_dashboard

    since, until = check_date("--since", since), check_date("--until", until)
    try:
        rows = read_calls(store_path(store), since=since, until=until, team=team)
        links = report_links_in(rows, reports, out) if reports is not None else None
        path = write_dashboard(rows, out, report_links=links)
    except CallQAError as exc:
        fail(str(exc), exit_code(exc))
    typer.echo(str(path))
