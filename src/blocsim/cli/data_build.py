"""``blocsim data build NAME``: a model dataset from the user's flows and tariffs, stored in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from blocsim.cli._common import console, handle_errors
from blocsim.cli.progress import progress_bar


def register(data_app: typer.Typer) -> None:
    """Add ``build`` to the ``blocsim data`` command group."""

    @data_app.command("build")
    @handle_errors
    def build_command(
        name: Annotated[str, typer.Argument(help="Name of the new dataset (lower-case letters, digits, _).")],
        flows: Annotated[str, typer.Option(
            "--flows", help="CSV/Parquet file or stored dataset with exporter, importer, [sector,] year, trade "
            "(USD millions, domestic flows included).")],
        tariffs: Annotated[Optional[str], typer.Option(
            "--tariffs", help="CSV/Parquet file or stored dataset with importer, exporter, [sector,] year, tariff "
            "[, source, flag] (fractions), or a WITS import (AHS rows); missing rows are 0, flagged 'assumed'.")] = None,
        sectors: Annotated[Optional[str], typer.Option(
            "--sectors", help="CSV/Parquet file with sector, name [, description, goods] (default: the bundled "
            "datasets' sector names for their codes).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace a built dataset of the same name.")] = False,
        home: Annotated[Optional[Path], typer.Option(
            "--home", help="Store root (default: $BLOCSIM_HOME or ~/.blocsim).")] = None,
    ) -> None:
        """Build a model dataset (flows, tariffs with sources and flags, covariates) that scenarios can name."""
        from blocsim.data import build_dataset

        with progress_bar(f"building {name} from {flows}"):
            result = build_dataset(name, flows, tariffs, sectors, force=force, home=home)
        verb = "replaced" if result.replaced else "built"
        years = f"{result.years[0]}-{result.years[-1]}" if len(result.years) > 1 else str(result.years[0])
        console.print(
            f"{name}: {verb}, {result.regions} regions, {result.sectors} sectors, years {years}; "
            f"{result.assumed_tariff_rows:,} of {result.tariff_rows:,} tariff rows assumed (0, flag 'assumed'); "
            f'use it in a scenario with [data] dataset = "{name}"', soft_wrap=True, highlight=False, markup=False)
