"""Shared CLI plumbing: one console, one way to turn errors into exit codes."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from blocsim.errors import BlocsimError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Run a CLI command; a :class:`BlocsimError` or ``OSError`` becomes one line and exit code 1.

    The message is printed as plain text (square brackets in paths or values are not Rich
    markup) and unwrapped (``soft_wrap``): one line per line of the message, at any terminal
    width, so that scripts and logs can match it.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BlocsimError as error:
            err_console.print(f"[bold red]error:[/bold red] {escape(str(error))}", markup=True, highlight=False,
                              soft_wrap=True)
            raise typer.Exit(code=1) from None
        except OSError as error:  # a file the user named cannot be read or written
            where = f"{error.filename}: " if error.filename else ""
            err_console.print(f"[bold red]error:[/bold red] {escape(where + str(error.strerror or error))}",
                              markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON to stdout (no Rich markup), for scripts."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
