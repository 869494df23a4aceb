"""``callqa rubric``: show the rubric in use, validate rubric files, start one of your own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from callqa.cli.options import (
    EXIT_USAGE,
    DebugOpt,
    errors_as_lines,
    fail,
    output_path,
    require_file,
)
from callqa.errors import CallQAError


def show(
    rubric: Annotated[
        Path | None,
        typer.Argument(
            help="Rubric TOML file (default: the built-in rubric).",
            dir_okay=False,
            metavar="[FILE]",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Print a rubric's sections, items, weights, na rules and auto-fail items.

    Example: callqa rubric show my_rubric.toml
    """
    from callqa.scoring.rubric import format_rubric, load_rubric

    if rubric is not None:
        require_file(rubric)
    with errors_as_lines(debug):
        try:
            typer.echo(format_rubric(load_rubric(rubric)))
        except CallQAError as exc:
            fail(str(exc), EXIT_USAGE)


def check(
    file: Annotated[
        Path, typer.Argument(help="Rubric TOML file to validate.", dir_okay=False, metavar="FILE")
    ],
    debug: DebugOpt = False,
) -> None:
    """Validate a rubric file: exit 0 when valid, 2 with one error line when not (a bad rubric
    is a usage error in every command).

    Example: callqa rubric check my_rubric.toml
    """
    from callqa.scoring.rubric import load_rubric

    require_file(file)
    with errors_as_lines(debug):
        try:
            rubric = load_rubric(file)
        except CallQAError as exc:
            fail(str(exc), EXIT_USAGE)
    n_items = sum(len(s.items) for s in rubric.sections)
    typer.echo(
        f"{file}: valid rubric {rubric.name!r} ({len(rubric.sections)} sections, {n_items} items)"
    )


def init(
    file: Annotated[
        Path, typer.Argument(help="The rubric file to write.", dir_okay=False, metavar="FILE")
    ] = Path("rubric.toml"),
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Copy the whole built-in rubric instead of a rubric that extends it."
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Start a rubric of your own: a short file that extends the built-in rubric, with
    commented examples (drop an item, change a weight or a threshold, add a phrase item such
    as a recording disclosure).

    Example: callqa rubric init my_rubric.toml
    """
    from callqa.files import atomic_write_text
    from callqa.scoring.rubric import DEFAULT_RUBRIC, STARTER_RUBRIC

    output_path(file, force=force)
    source = DEFAULT_RUBRIC if full else STARTER_RUBRIC
    atomic_write_text(file, source.read_text(encoding="utf-8"))
    typer.echo(f"wrote {file}; check it with: callqa rubric check {file}")


def register(app: typer.Typer) -> None:
    """Add the ``rubric`` command group (``show``, ``check``, ``init``) to ``app``."""
    group = typer.Typer(
        help="Show, validate and start scoring rubrics.\n\nExample: callqa rubric init team.toml",
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    group.command("show")(show)
    group.command("check")(check)
    group.command("init")(init)
    app.add_typer(group, name="rubric")
