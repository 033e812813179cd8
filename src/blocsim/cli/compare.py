"""``blocsim compare RUN_DIR... [--out DIR] [--report]``: runs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from blocsim.cli._common import console, handle_errors, print_json
from blocsim.errors import BlocsimError

#: Columns shown in the terminal (all variables are in the CSV files and the page).
TERMINAL_VARIABLES = ("welfare_pct", "real_gdp_pct", "exports_pct", "imports_pct", "tariff_revenue_change")


def _cell(value: float, *, signed: bool = False) -> str:
    if value != value:
        return "-"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def terminal_tables(comparison: Any, variables: tuple[str, ...]) -> list[Table]:
    """One Rich table per variable: a row per country, the value of each run, the differences to the
    reference run and, for runs with Monte Carlo bands, p05 / p95."""
    from blocsim.results import describe_column

    reference = comparison.reference
    labels = [info.label for info in comparison.runs]
    tables = []
    for variable in variables:
        definition = describe_column(variable)
        long = comparison.long[comparison.long["variable"] == variable]
        by_run = {label: part.set_index("country") for label, part in long.groupby("run", sort=False)}
        banded = [label for label in labels if by_run[label][["p05", "p95"]].notna().any().any()]
        table = Table(title=f"{definition.label} ({variable}, {definition.unit})", title_justify="left")
        table.add_column("country", no_wrap=True)
        for label in labels:
            table.add_column(label, justify="right")
        for label in labels[1:]:
            table.add_column(f"{label} - {reference}", justify="right", style="bold")
        for label in banded:
            table.add_column(f"{label} p05..p95", justify="right", style="dim")
        for country in by_run[labels[0]].index:
            table.add_row(
                str(country),
                *(_cell(by_run[label].at[country, "value"]) for label in labels),
                *(_cell(by_run[label].at[country, "difference"], signed=True) for label in labels[1:]),
                *(f"{_cell(by_run[label].at[country, 'p05'])}..{_cell(by_run[label].at[country, 'p95'])}"
                  for label in banded),
            )
        tables.append(table)
    return tables


def register(app: typer.Typer) -> None:
    """Add ``blocsim compare`` to the top-level app."""

    @app.command("compare")
    @handle_errors
    def compare_command(
        run_dirs: list[Path] = typer.Argument(..., help="Two or more run directories; the first is the reference."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for comparison.csv (wide), "
                                           "comparison_long.csv (tidy) and comparison_runs.csv (created if missing)."),
        report: bool = typer.Option(False, "--report", help="Also write OUT/comparison.html (offline, self-contained)."),
        force: bool = typer.Option(False, "--force", help="Overwrite these files in --out if they exist "
                                   "(other files are never touched)."),
        variable: list[str] = typer.Option([], "--variable", help="Columns shown in the terminal (repeatable; "
                                           "default: welfare, real GDP, exports, imports, revenue change)."),
        as_json: bool = typer.Option(False, "--json", help="Print the tidy table and warnings as JSON (for scripts)."),
    ) -> None:
        """Compare runs side by side: headline columns per country, differences to the first run, and bands.

        Runs of different models, datasets or data years may be compared; a warning names what differs.
        """
        from blocsim.report import COMPARE_PAGE_NAME, compare

        if report and out is None:
            raise BlocsimError("--report: needs --out DIR (the folder the comparison page is written to)")
        comparison = compare([str(path) for path in run_dirs])
        unknown = [name for name in variable if name not in comparison.variables]
        if unknown:
            raise BlocsimError(f"--variable {unknown[0]!r}: not compared; allowed are {', '.join(comparison.variables)}")
        written: list[Path] = []
        if out is not None:
            from blocsim.results import COMPARISON_FILES, check_targets

            # every name checked before anything is written: an existing file stops the command whole
            check_targets(out, [*COMPARISON_FILES, *([COMPARE_PAGE_NAME] if report else [])], force=force)
            written = comparison.write_csv(out, force=force)
            if report:
                written.append(comparison.to_html(out / COMPARE_PAGE_NAME, force=force))
        if as_json:
            print_json({"runs": comparison.runs_frame().to_dict(orient="records"),
                        "warnings": list(comparison.warnings),
                        "rows": comparison.long.astype(object).where(comparison.long.notna(), None).to_dict(orient="records"),
                        "written": [str(path) for path in written]})
            return
        shown = tuple(variable) or tuple(v for v in TERMINAL_VARIABLES if v in comparison.variables)
        for table in terminal_tables(comparison, shown):
            console.print(table)
        for line in comparison.warnings:
            console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
        for path in written:
            console.print(f"[green]wrote[/green] {path}", highlight=False)
