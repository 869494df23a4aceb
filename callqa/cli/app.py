"""The ``callqa`` command line: a thin layer over the library.

Each command parses its options, calls one library function, and turns a
:class:`~callqa.errors.CallQAError` into ``Error: <message>`` on stderr with exit code 1.
Usage errors exit with 2 (Typer's convention).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from callqa.cli import batch as batch_commands
from callqa.cli import report as report_commands
from callqa.cli import rubric as rubric_commands
from callqa.cli.options import (
    EXIT_USAGE,
    BackendChoice,
    ChannelChoice,
    ConfigOpt,
    LanguageOpt,
    ModelOpt,
    OutputFormat,
    RubricOpt,
    build_config,
    exit_code,
    fail,
)
from callqa.errors import CallQAError

app = typer.Typer(
    name="callqa",
    help=(
        "Score recorded customer-service calls offline: transcription, conversation dynamics, "
        "voice and the HEAT method (Hear, Empathise, lead to resolution, Take action).\n\n"
        "Example: callqa score sample_calls/en_good.ogg"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="Prepare the shipped Whisper model.\n\nExample: callqa models prepare",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
config_app = typer.Typer(
    help="Show the effective configuration.\n\nExample: callqa config show", no_args_is_help=True
)
app.add_typer(config_app, name="config")

stderr = Console(stderr=True)


@app.command()
def score(
    call: Annotated[
        Path | None,
        typer.Argument(help="Recorded call: wav, flac, ogg, mp3 or m4a.", show_default=False),
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
    debug: Annotated[bool, typer.Option(help="Show the traceback of unexpected errors.")] = False,
) -> None:
    """Score one call and print its QA scorecard.

    Exit codes: 0 scored, 1 the call could not be scored, 2 usage error.

    Examples:

        callqa score sample_calls/en_good.ogg

        callqa score call.mp3 --agent-channel right --language nb --format json --out call.json

        callqa score --transcript call.vtt --format md
    """
    if (call is None) == (transcript is None):
        fail("give either a CALL audio file or --transcript FILE", EXIT_USAGE)
    if backend is BackendChoice.fake:
        fail("--backend fake is for batch dry runs; score one call with a real model", EXIT_USAGE)
    output = _output_format(fmt, out)
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
    try:
        card = _score(call, transcript, cfg, redact_audio)
    except CallQAError as exc:
        fail(str(exc), exit_code(exc))
    except Exception as exc:  # a user at 3 a.m. gets one line, not a traceback
        if debug:
            traceback.print_exc()
        fail(f"unexpected failure ({type(exc).__name__}: {exc}); rerun with --debug for details")
    _emit(card, output, out)


def _score(call: Path | None, transcript: Path | None, cfg: Any, redact_audio: Path | None) -> Any:
    from callqa import pipeline
    from callqa.audio.load import load_audio
    from callqa.files import sha256_file
    from callqa.transcription.files import read_transcript

    if transcript is not None:
        limit = cfg.limits.max_transcript_bytes
        parsed = read_transcript(transcript, language=cfg.call.language, max_bytes=limit)
        digest = sha256_file(transcript)
        return pipeline.score_transcript(parsed, source=transcript, sha256=digest, config=cfg)
    assert call is not None
    load_audio(call, max_duration_s=cfg.call.max_duration_s)  # fail fast before loading a model
    transcriber = _load_transcriber(cfg)
    result = pipeline.score_call_with_audio(call, transcriber=transcriber, config=cfg)
    if redact_audio is not None:
        result = result.write_redacted_audio(redact_audio)
        stderr.print(f"wrote redacted audio {redact_audio}")
    return result.scorecard


def _load_transcriber(cfg: Any) -> Any:
    from callqa.transcription import load_transcriber

    with stderr.status(f"loading {cfg.transcription.backend} model '{cfg.transcription.model}'"):
        return load_transcriber(cfg.transcription)


def _output_format(fmt: OutputFormat | None, out: Path | None) -> OutputFormat:
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower() if out else ""
    return {".json": OutputFormat.json, ".md": OutputFormat.md}.get(suffix, OutputFormat.table)


def _emit(scorecard: Any, fmt: OutputFormat, out: Path | None) -> None:
    from callqa.files import atomic_write_text
    from callqa.outputs.markdown import render_markdown
    from callqa.outputs.table import print_table, render_table
    from callqa.scoring.scorecard import to_dict, to_json

    card = to_dict(scorecard)
    if fmt is OutputFormat.json:
        text = to_json(scorecard) + "\n"
    elif fmt is OutputFormat.md:
        text = render_markdown(card)
    else:
        text = render_table(card)
    if out is None:
        if fmt is OutputFormat.table:
            print_table(card, Console())
        else:
            sys.stdout.write(text)
        return
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}; choose a writable --out path")
    if fmt is not OutputFormat.table:
        print_table(card, Console())  # the file gets the data, the terminal a summary
    stderr.print(f"wrote {out}")


@models_app.command("prepare")
def models_prepare() -> None:
    """Join, verify and cache the shipped Whisper base model (both backends).

    Runs once; scoring does it on first use anyway. Example: callqa models prepare
    """
    from callqa.transcription import weights

    try:
        with stderr.status("joining and verifying the shipped Whisper base weights"):
            ct2 = weights.ensure_base_ct2()
            pt = weights.ensure_base_openai()
    except CallQAError as exc:
        fail(str(exc))
    typer.echo(f"faster-whisper model: {ct2}\nopenai-whisper checkpoint: {pt}")


@config_app.command("show")
def config_show(config: ConfigOpt = None) -> None:
    """Print the effective configuration as TOML (defaults, overridden by --config).

    Example: callqa config show > callqa.toml
    """
    from callqa.config import load_config, to_toml

    try:
        typer.echo(to_toml(load_config(config)), nl=False)
    except CallQAError as exc:
        fail(str(exc), exit_code(exc))


for commands in (rubric_commands, batch_commands, report_commands):
    commands.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
