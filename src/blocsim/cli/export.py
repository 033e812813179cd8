"""``blocsim export RUN_DIR --format xlsx|dta|csv [--locale ru|kk|en] [--out PATH]``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from blocsim.cli._common import console, handle_errors, print_json
from blocsim.cli.progress import progress_bar


def register(app: typer.Typer) -> None:
    """Add ``blocsim export`` to the top-level app."""

    @app.command("export")
    @handle_errors
    def export_command(
        run_dir: Path = typer.Argument(..., help="Run directory written by `blocsim run` or `blocsim scenarios run`."),
        format: str = typer.Option(..., "--format", "-f", help="xlsx (workbook with a README sheet), dta (Stata "
                                   "files with variable labels, in a folder) or csv (one file per table)."),
        locale: Optional[str] = typer.Option(None, "--locale", help="CSV only: en (',' and '.'; default), ru or kk "
                                             "(';' and decimal comma). Always UTF-8 with a byte-order mark."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="The .xlsx file, or the folder for dta/csv "
                                           "(default: beside RUN_DIR: RUN.xlsx, RUN-dta/, RUN-csv-LOCALE/)."),
        force: bool = typer.Option(False, "--force", help="Overwrite files of the same names (other files are "
                                   "never touched)."),
        as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON (for scripts)."),
    ) -> None:
        """Export a run for Excel, Stata or a locale's spreadsheet: tables plus a README of units, definitions
        and the run's assumptions. Existing files are not overwritten unless --force; each file is written whole."""
        from blocsim.results import export_run

        with progress_bar(f"exporting {run_dir} as {format}") as progress:
            written = export_run(run_dir, format, locale=locale, out=out, force=force,  # type: ignore[arg-type]
                                 progress=progress)
        if as_json:
            print_json({"written": [str(path) for path in written]})
            return
        for path in written:
            console.print(f"[green]wrote[/green] {path}", highlight=False)
