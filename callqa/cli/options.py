"""What every ``callqa`` command shares: exit codes, the one-line error, choices and options.

Commands import the library inside their bodies (so ``callqa --help`` does not pay for
numpy, scipy and onnxruntime) and turn a :class:`~callqa.errors.CallQAError` into
``Error: <message>`` on stderr with the exit code of :func:`exit_code`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from callqa.errors import CallQAError

if TYPE_CHECKING:
    from callqa.config import Config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``Error: message`` on stderr and exit with ``code``."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """Print ``Warning: message`` on stderr."""
    typer.echo(f"Warning: {message}", err=True)


def exit_code(exc: CallQAError) -> int:
    """The exit code of a library error: 2 for usage errors, 75 for a held lock, else 1."""
    from callqa.batch import BatchUsageError, LockHeldError
    from callqa.errors import ConfigError

    if isinstance(exc, LockHeldError):
        return EXIT_LOCKED
    if isinstance(exc, BatchUsageError | ConfigError):
        return EXIT_USAGE
    return EXIT_FAILED


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"


class ChannelChoice(StrEnum):
    left = "left"
    right = "right"
    auto = "auto"


class BackendChoice(StrEnum):
    faster_whisper = "faster-whisper"
    openai_whisper = "openai-whisper"
    fake = "fake"  # scripted words, no model: dry runs and tests


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class GroupBy(StrEnum):
    agent = "agent"
    team = "team"


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML config file (see docs/configuration.md).", dir_okay=False),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="DuckDB results store (default: $CALLQA_STORE or ./callqa.duckdb).",
        dir_okay=False,
    ),
]
LanguageOpt = Annotated[
    str | None,
    typer.Option(
        "--language", help="Force the language: en, nb (or no), fi, it, sl, ... (default: detect)."
    ),
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
    str | None,
    typer.Option(
        "--model", help="Whisper model: 'base' (shipped), a local path, or a name (needs internet)."
    ),
]
RubricOpt = Annotated[
    Path | None,
    typer.Option(
        "--rubric", help="Rubric TOML file (default: the built-in rubric).", dir_okay=False
    ),
]
SinceOpt = Annotated[str | None, typer.Option("--since", help="First call date, YYYY-MM-DD.")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Last call date, YYYY-MM-DD.")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Only this team.")]
TimeoutOpt = Annotated[
    float, typer.Option("--store-timeout", min=0, help="Seconds to wait for a busy store.")
]


def build_config(
    path: Path | None,
    *,
    language: str | None = None,
    agent_channel: ChannelChoice | None = None,
    backend: BackendChoice | None = None,
    model: str | None = None,
    rubric: Path | None = None,
    **more: Any,
) -> Config:
    """The config file (or the defaults) with the command-line flags over it.

    ``more`` takes further ``section__key=value`` settings (None values are ignored). A bad
    file or value exits with code 2.
    """
    from callqa.config import load_config, replace_config

    try:
        return replace_config(
            load_config(path),
            call__language=language,
            call__agent_channel=agent_channel.value if agent_channel else None,
            transcription__backend=backend.value
            if backend and backend is not BackendChoice.fake
            else None,
            transcription__model=model,
            rubric__path=str(rubric) if rubric else None,
            **more,
        )
    except CallQAError as exc:
        fail(str(exc), EXIT_USAGE)


def store_path(store: Path | None) -> Path:
    """``--store``, else ``$CALLQA_STORE``, else ``./callqa.duckdb``."""
    from callqa.batch.store import default_store_path

    return store or default_store_path()


def check_date(name: str, value: str | None) -> str | None:
    """``value`` when it is a ``YYYY-MM-DD`` date (or None); exit 2 otherwise."""
    from datetime import date

    if value is None:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        fail(f"{name} must be a date like 2025-01-31, got {value!r}", EXIT_USAGE)
    return value
