"""The ``callqa`` command line: a thin layer over the library.

Each command parses its options, calls one library function, and turns a
:class:`~callqa.errors.CallQAError` into ``Error: <message>`` on stderr. Exit codes, the same
in every command: 0 success, 1 a call (or the command's work) failed, 2 usage error (a bad
option, date, config or rubric, a path that does not exist), 75 another nightly run holds the
lock, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from callqa.cli import batch as batch_commands
from callqa.cli import report as report_commands
from callqa.cli import review as review_commands
from callqa.cli import rubric as rubric_commands
from callqa.cli.options import (
    EXIT_USAGE,
    BackendChoice,
    ChannelChoice,
    ConfigOpt,
    DebugOpt,
    LanguageOpt,
    ModelOpt,
    OutputFormat,
    QuietOpt,
    RubricOpt,
    build_config,
    errors_as_lines,
    exit_code,
    fail,
    output_path,
    require_file,
    score_recording,
    setup_logging,
)
from callqa.errors import CallQAError
from callqa.heap import one_arena

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = typer.Typer(
    name="callqa",
    help=(
        "Score recorded customer-service calls offline: transcription, conversation dynamics, "
        "voice and the HEAT method (Hear, Empathise, lead to resolution, Take action).\n\n"
        "Example: callqa score sample_calls/en_good.ogg\n\n"
        "Exit codes (every command): 0 success, 1 failed, 2 usage error, 75 locked, "
        "130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,  # plain help: no "<bool>" after flags, copyable examples
    context_settings=HELP_OPTIONS,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="Prepare the shipped Whisper model.\n\nExample: callqa models prepare",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,
)
app.add_typer(models_app, name="models")
config_app = typer.Typer(
    help="Show the effective configuration.\n\nExample: callqa config show",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,
)
app.add_typer(config_app, name="config")

stderr = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from callqa import __version__

        typer.echo(f"callqa {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Score recorded customer-service calls offline."""


@app.command()
def score(
    call: Annotated[
        Path | None,
        typer.Argument(
            help="Recorded call: wav, flac, ogg, oga, opus, mp3, m4a, aac, webm (any sample "
            "rate, mono or stereo).",
            metavar="CALL",
            show_default=False,
        ),
    ] = None,
    transcript: Annotated[
        Path | None,
        typer.Option(
            "--transcript", help="Score a transcript file (JSON or WebVTT) instead of audio."
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format", "-f", help="table, json or md (default: table, or from --out's extension)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the result to this file (atomically); the table is still printed.",
        ),
    ] = None,
    agent_channel: Annotated[
        ChannelChoice | None,
        typer.Option("--agent-channel", help="Stereo: channel of the agent (default: left)."),
    ] = None,
    language: LanguageOpt = None,
    backend: Annotated[
        BackendChoice | None,
        typer.Option("--backend", help="Transcription backend (default: faster-whisper)."),
    ] = None,
    model: ModelOpt = None,
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda or auto (default: auto: CUDA when available).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for the model (default: all cores).")
    ] = None,
    rubric: RubricOpt = None,
    redact: Annotated[
        bool | None,
        typer.Option(
            "--redact/--no-redact",
            help="Replace card numbers, IDs, phones, e-mails in all output (default: on).",
        ),
    ] = None,
    redact_audio: Annotated[
        Path | None,
        typer.Option(
            "--redact-audio", help="Also write a copy of the audio with personal data silenced."
        ),
    ] = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Score one call and print its QA scorecard.

    While it works, a status line on stderr says what it is doing (loading the model,
    transcribing, ...). Exit codes: 0 scored, 1 the call could not be scored, 2 usage error
    (also: a file that does not exist).

    Examples:

    \b
        callqa score sample_calls/en_good.ogg
        callqa score call.mp3 --agent-channel right --language nb --format json --out call.json
        callqa score --transcript call.vtt --format md
    """
    setup_logging(quiet=quiet, debug=debug)
    if (call is None) == (transcript is None):
        fail("give either a CALL audio file or --transcript FILE", EXIT_USAGE)
    if backend is BackendChoice.fake:
        fail("--backend fake is for batch dry runs; score one call with a real model", EXIT_USAGE)
    require_file(call or transcript)  # type: ignore[arg-type]
    output = _output_format(fmt, out)
    if out is not None:
        output_path(out)  # before the work: a result is never lost to a missing folder
    if redact_audio is not None:
        output_path(redact_audio)
    cfg = build_config(
        config,
        language=language,
        agent_channel=agent_channel,
        backend=backend,
        model=model,
        rubric=rubric,
        transcription__device=device,
        transcription__threads=threads,
        redaction__enabled=redact,
    )
    with errors_as_lines(debug, cfg.redaction), _status(enabled=not quiet and not debug):
        card = _score(call, transcript, cfg, redact_audio)
    _emit(card, output, out, quiet=quiet)


@contextlib.contextmanager
def _status(*, enabled: bool, text: str = "starting") -> Iterator[None]:
    """A status line on stderr (a terminal only) showing the stage the library logs."""
    if not enabled or not stderr.is_terminal:
        yield
        return
    with stderr.status(text) as status:
        handler = _StageHandler(status)
        logger = logging.getLogger("callqa")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(min(level or logging.WARNING, logging.INFO))
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


class _StageHandler(logging.Handler):
    """Shows each INFO message of the pipeline (its stages, the model loading) as the status."""

    def __init__(self, status: Any) -> None:
        super().__init__(logging.INFO)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.INFO:
            self.status.update(record.getMessage() + " …")


def _score(call: Path | None, transcript: Path | None, cfg: Any, redact_audio: Path | None) -> Any:
    if transcript is not None:
        from callqa import pipeline
        from callqa.files import sha256_file
        from callqa.transcription.files import read_transcript

        limit = cfg.limits.max_transcript_bytes
        parsed = read_transcript(transcript, language=cfg.call.language, max_bytes=limit)
        digest = sha256_file(transcript)
        return pipeline.score_transcript(parsed, source=transcript, sha256=digest, config=cfg)
    assert call is not None
    result = score_recording(call, cfg)
    if redact_audio is not None:
        result = result.write_redacted_audio(redact_audio)
        logging.getLogger("callqa.cli").info("wrote redacted audio %s", redact_audio)
    return result.scorecard


def _output_format(fmt: OutputFormat | None, out: Path | None) -> OutputFormat:
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower() if out else ""
    return {".json": OutputFormat.json, ".md": OutputFormat.md}.get(suffix, OutputFormat.table)


def _emit(scorecard: Any, fmt: OutputFormat, out: Path | None, *, quiet: bool = False) -> None:
    from callqa.files import atomic_write_text
    from callqa.outputs.markdown import render_markdown
    from callqa.outputs.table import print_table, render_table
    from callqa.scoring.scorecard import to_json

    if fmt is OutputFormat.json:
        text = to_json(scorecard) + "\n"
    elif fmt is OutputFormat.md:
        text = render_markdown(scorecard)
    else:
        text = render_table(scorecard)
    if out is None:
        if fmt is OutputFormat.table:
            print_table(scorecard, Console())
        else:
            sys.stdout.write(text)
        return
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}; choose a writable --out path")
    if fmt is not OutputFormat.table and not quiet:
        print_table(scorecard, Console())  # the file gets the data, the terminal a summary
    if not quiet:
        stderr.print(f"wrote {out}", highlight=False)


@models_app.command("prepare")
def models_prepare(quiet: QuietOpt = False, debug: DebugOpt = False) -> None:
    """Join, verify and cache the shipped Whisper base model (both backends).

    Runs once; scoring does it on first use anyway. Example: callqa models prepare
    """
    from callqa.transcription import weights

    setup_logging(quiet=quiet, debug=debug)
    working = "joining and verifying the shipped Whisper base weights"
    with errors_as_lines(debug), _status(enabled=not quiet, text=working):
        ct2 = weights.ensure_base_ct2()
        pt = weights.ensure_base_openai()
    typer.echo(f"faster-whisper model: {ct2}\nopenai-whisper checkpoint: {pt}")


@config_app.command("show")
def config_show(
    config: ConfigOpt = None,
    comments: Annotated[
        bool,
        typer.Option("--comments/--no-comments", help="Explain every key (default: on)."),
    ] = True,
) -> None:
    """Print the effective configuration as TOML: the defaults, overridden by the config file
    (--config, else the first of $CALLQA_CONFIG, ./callqa.toml, ~/.config/callqa/config.toml).

    Every key comes with what it means; the first line names the file in use.

    Example: callqa config show > callqa.toml
    """
    from callqa.config import find_config, load_config, to_toml

    with errors_as_lines():
        try:
            source = config or find_config()
            cfg = load_config(source)
        except CallQAError as exc:
            fail(str(exc), exit_code(exc))
        typer.echo(to_toml(cfg, comments=comments, source=source), nl=False)


for commands in (rubric_commands, batch_commands, report_commands, review_commands):
    commands.register(app)


def main() -> None:
    """Console-script entry point (also ``python -m callqa``)."""
    one_arena()  # before any thread starts (docs/architecture.md, "Long calls")
    app(prog_name="callqa")
