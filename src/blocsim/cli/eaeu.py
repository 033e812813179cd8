"""``blocsim data build-eaeu``: rebuild a bundled EAEU dataset from the original public files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from blocsim.cli._common import console, handle_errors
from blocsim.cli.progress import progress_bar
from blocsim.errors import BlocsimError

#: Datasets the command builds: name -> description.
BUILDS: dict[str, str] = {
    "eaeu-2022v2": "v2: OECD ICIO 2011-2022, 28 sectors, ARM/KGZ/TJK/UZB carved out (Parquet)",
    "eaeu-2016v1": "the earlier 18-region, 4-sector tables for 2008/2012/2016 (CSV)",
}


def register(data_app: typer.Typer) -> None:
    """Add ``build-eaeu`` to the ``blocsim data`` command group."""

    @data_app.command("build-eaeu")
    @handle_errors
    def build_eaeu_command(
        source: Annotated[
            Path,
            typer.Option(
                "--from",
                help="Folder DIR with the original public files, one sub-folder per source "
                "(oecd_icio_tariffwar/, wb_trade_agreements_penppml/, cepii_geodist/, ...).",
            ),
        ],
        out: Annotated[
            Optional[Path],
            typer.Option(
                "--out",
                help="Folder to write the tables and meta.json into (default: the tables bundled in the "
                "installed package for --dataset).",
            ),
        ] = None,
        dataset: Annotated[
            str,
            typer.Option("--dataset", help="Which bundled dataset to build: eaeu-2022v2 (v2, default) or eaeu-2016v1."),
        ] = "eaeu-2022v2",
    ) -> None:
        """Rebuild a bundled EAEU dataset's tables from the original public files (deterministic)."""
        if dataset not in BUILDS:
            raise BlocsimError(f"--dataset {dataset!r} is not a bundled EAEU dataset; allowed: {sorted(BUILDS)}")
        if dataset == "eaeu-2022v2":
            from blocsim.data.eaeu_v2 import TABLES_DIR as v2_tables
            from blocsim.data.eaeu_v2 import build_eaeu_v2

            with progress_bar(f"building {dataset} from {source}") as progress:
                written = build_eaeu_v2(source, out or v2_tables, progress=progress)
        else:
            from blocsim.data.eaeu import TABLES_DIR
            from blocsim.data.eaeu import TABLES, build_eaeu

            target = out or TABLES_DIR
            with progress_bar(f"building {dataset} from {source}") as progress:
                build_eaeu(source, target, progress=progress)
            written = [target / name for name in TABLES]
        total = sum(path.stat().st_size for path in written)
        console.print(f"wrote {len(written)} tables ({total / 1024:.0f} KiB) to {written[0].parent}")
