"""The ``callqa`` command line (nothing in the library imports it)."""

from callqa.cli.app import app, main

__all__ = ["app", "main"]
