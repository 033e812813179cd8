"""``blocsim data build-eaeu``: rebuild the bundled EAEU tables from the original public files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from blocsim.cli._common import console, handle_errors
from blocsim.data.eaeu import TABLES_DIR


def register(data_app: typer.Typer) -> None:
    """Add ``build-eaeu`` to the ``blocsim data`` command group."""

    @data_app.command("build-eaeu")
    @handle_errors
    def build_eaeu_command(
        source: Annotated[
            Path,
            typer.Option(
                "--from",
                help="Folder with the original public files, laid out like ../shared/data "
                "(wb_trade_agreements_penppml/, gdp_worldbank/, adb_mrio_sector_summary/, ...).",
            ),
        ],
        out: Annotated[
            Path,
            typer.Option(
                "--out",
                help="Folder to write flows.csv, gravity.csv, tariffs.csv, countries.csv, sectors.csv "
                "and meta.json into (default: the tables bundled in the installed package).",
            ),
        ] = TABLES_DIR,
    ) -> None:
        """Rebuild the bundled EAEU dataset tables from the original public files (deterministic)."""
        from blocsim.data.eaeu import TABLES, build_eaeu

        build_eaeu(source, out)
        total = sum((out / name).stat().st_size for name in TABLES)
        console.print(f"wrote {len(TABLES)} tables ({total / 1024:.0f} KiB) to {out}")
