"""What every ``callqa`` command shares: exit codes, the one-line error, choices and options.

Commands import the library inside their bodies (so ``callqa --help`` does not pay for
numpy, scipy and onnxruntime) and turn a :class:`~callqa.errors.CallQAError` into
``Error: <message>`` on stderr with the exit code of :func:`exit_code`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from callqa.errors import CallQAError

if TYPE_CHECKING:
    from callqa.config import Config, RedactionConfig
    from callqa.pipeline import ScoredCall
    from callqa.scoring.rubric import Rubric

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``Error: message`` on stderr, on one line (a value quoted from a file may hold a
    line break: a manifest's unterminated quote had split the error in two), and exit."""
    typer.echo(f"Error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """Print ``Warning: message`` on stderr."""
    typer.echo(f"Warning: {message}", err=True)


@contextlib.contextmanager
def errors_as_lines(
    debug: bool = False, redaction: RedactionConfig | None = None
) -> Iterator[None]:
    """Turn what a command raises into one ``Error:`` line and its exit code.

    A :class:`~callqa.errors.CallQAError` exits with :func:`exit_code`; Ctrl-C with 130; an
    unexpected exception with 1 and a hint to rerun with ``--debug`` (which prints the
    traceback first). ``typer.Exit`` passes through. With ``redaction`` (enabled), the values
    the message quotes ('...' or "...") go through the personal-data detector first: an error
    quoting a file's bad value may quote a card number (stderr often ends in a log). Only the
    quotes: the detector read "4,294,967,296 bytes, more than the 67,108,864 bytes allowed" as
    two phone numbers.
    """
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except CallQAError as exc:
        message = str(exc)
        if redaction is not None and redaction.enabled:
            from callqa.privacy.identifiers import redact_identifier

            message = re.sub(
                r"'[^']*'|\"[^\"]*\"", lambda m: redact_identifier(m.group(), redaction), message
            )
        fail(message, exit_code(exc))
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # a user at 3 a.m. gets one line, not a traceback
        if debug:
            traceback.print_exc()
        fail(f"unexpected failure ({type(exc).__name__}: {exc}); rerun with --debug for details")


def require_file(path: Path, *, folder_ok: bool = False, regular: bool = False) -> Path:
    """``path`` when it exists; a path named on the command line that does not is a usage
    error (exit 2) in every command. ``regular``: a FIFO or device is one too (for a path
    nothing else checks before reading it)."""
    if not path.exists():
        fail(f"{path}: no such file", EXIT_USAGE)
    if path.is_dir():
        if not folder_ok:
            fail(f"{path}: is a directory; give a file", EXIT_USAGE)
    elif regular and not path.is_file():  # a FIFO would hang the reader (report --audio had)
        fail(f"{path}: not a regular file (a pipe, socket or device); give a file", EXIT_USAGE)
    return path


def output_path(path: Path, *, force: bool = True) -> Path:
    """Make ``path`` ready to be written before any work: its folder is created, a folder at
    ``path`` or an existing file without ``force`` is refused (exit 2), an unwritable folder
    fails (exit 1)."""
    if path.is_dir():
        fail(f"{path} is a folder; give a file name for --out", EXIT_USAGE)
    if path.exists() and not force:
        fail(f"{path} exists; add --force to replace it, or choose another --out", EXIT_USAGE)
    _make_folder(path.parent)
    if not os.access(path.parent, os.W_OK):
        fail(f"cannot write to {path.parent}: permission denied; choose another --out")
    return path


def output_folder(path: Path) -> Path:
    """Create the output folder ``path`` before any work (exit 1 when impossible)."""
    if path.exists() and not path.is_dir():
        fail(f"{path} is a file; give a folder for --out", EXIT_USAGE)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "Not a directory" if isinstance(exc, FileExistsError) else exc.strerror or exc
        fail(f"output directory {path} is not writable ({reason}); choose another --out")
    return path


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        fail(f"cannot create folder {folder}: a file is in the way; choose another --out")
    except OSError as exc:
        fail(f"cannot create folder {folder}: {exc.strerror or exc}; choose another --out")


def setup_logging(*, quiet: bool = False, debug: bool = False) -> None:
    """Route the library's ``logging`` to stderr: warnings by default, errors only with
    ``--quiet``, everything (with times and module names) with ``--debug``."""
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    fmt = (
        "%(asctime)s %(name)s %(levelname)s: %(message)s" if debug else "%(levelname)s: %(message)s"
    )
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger("callqa")
    for old in [h for h in root.handlers if getattr(h, "callqa_cli", False)]:
        root.removeHandler(old)
    handler.callqa_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


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


QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress or status output, only errors.")
]
DebugOpt = Annotated[
    bool,
    typer.Option("--debug", help="Log every step, and show the traceback of unexpected errors."),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML config file (default: $CALLQA_CONFIG, ./callqa.toml or "
        "~/.config/callqa/config.toml, the first found; see docs/configuration.md).",
        dir_okay=False,
    ),
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
    """The config file (``path``, else the first found by :func:`callqa.config.find_config`,
    else the defaults) with the command-line flags over it.

    ``more`` takes further ``section__key=value`` settings (None values are ignored). A bad
    file or value exits with code 2.
    """
    from callqa.config import find_config, load_config, replace_config

    try:
        return replace_config(
            load_config(path or find_config()),
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


def score_recording(call: Path, cfg: Config) -> ScoredCall:
    """Score one recording with the configured model, loaded on a second thread while the
    pipeline is imported and the call decoded and its speech found (the pipeline waits for it
    when transcription starts). A broken file is reported once the load is done; it is not
    decoded a first time just to fail before the model loads."""
    import callqa.transcription  # before the loading thread starts: one thread imports it

    with ThreadPoolExecutor(1, thread_name_prefix="callqa-load") as pool:
        loading = pool.submit(callqa.transcription.load_transcriber, cfg.transcription)
        from callqa import pipeline

        return pipeline.score_call_with_audio(call, transcriber=loading, config=cfg)


def configured_rubric(cfg: Config) -> Rubric:
    """The rubric ``cfg`` names (else the built-in one); a bad rubric exits 2. Views over the
    store need its auto-fail cap (a scorecard records its rubric's weights, not its cap) and
    its ``review_below``."""
    from callqa.scoring.rubric import load_rubric

    try:
        path = Path(cfg.rubric.path) if cfg.rubric.path else None
        return load_rubric(path, limits=cfg.limits)
    except CallQAError as exc:
        fail(str(exc), EXIT_USAGE)


def auto_fail_cap(cfg: Config) -> float:
    """The configured rubric's auto-fail cap (see :func:`configured_rubric`)."""
    return float(configured_rubric(cfg).auto_fail_cap)


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
