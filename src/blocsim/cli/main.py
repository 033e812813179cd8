"""The ``blocsim`` command: a thin Typer front over the public API.

Each command group lives in its own module and adds itself through ``register(app)``.
"""

from __future__ import annotations

import typer

from blocsim import __version__
from blocsim.cli import compare, data, export, ge, pe, report, run, scenarios, serve

app = typer.Typer(
    name="blocsim",
    help="Simulate what a customs union's rules do to trade, prices, tariff revenue and real income.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"blocsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """blocsim: a customs union as software."""


for module in (ge, run, pe, scenarios, data, report, serve, compare, export):
    module.register(app)
