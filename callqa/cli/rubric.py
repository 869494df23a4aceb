"""``callqa rubric``: show the rubric in use and validate rubric files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from callqa.cli.options import fail
from callqa.errors import CallQAError


def show(
    rubric: Annotated[
        Path | None,
        typer.Argument(help="Rubric TOML file (default: the built-in rubric).", dir_okay=False),
    ] = None,
) -> None:
    """Print a rubric's sections, items, weights, na rules and auto-fail items.

    Example: callqa rubric show my_rubric.toml
    """
    from callqa.scoring.rubric import format_rubric, load_rubric

    try:
        typer.echo(format_rubric(load_rubric(rubric)))
    except CallQAError as exc:
        fail(str(exc))


def check(
    file: Annotated[Path, typer.Argument(help="Rubric TOML file to validate.", dir_okay=False)],
) -> None:
    """Validate a rubric file: exit 0 when valid, 1 with one error line when not.

    Example: callqa rubric check my_rubric.toml
    """
    from callqa.scoring.rubric import load_rubric

    try:
        rubric = load_rubric(file)
    except CallQAError as exc:
        fail(str(exc))
    n_items = sum(len(s.items) for s in rubric.sections)
    typer.echo(
        f"{file}: valid rubric {rubric.name!r} ({len(rubric.sections)} sections, {n_items} items)"
    )


def register(app: typer.Typer) -> None:
    """Add the ``rubric`` command group (``show``, ``check``) to ``app``."""
    group = typer.Typer(
        help="Show and validate scoring rubrics.\n\nExample: callqa rubric check my_rubric.toml",
        no_args_is_help=True,
    )
    group.command("show")(show)
    group.command("check")(check)
    app.add_typer(group, name="rubric")
