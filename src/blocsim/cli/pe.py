"""``blocsim pe SCENARIO.toml --out DIR``: tariff-line partial equilibrium from a scenario file.

A thin front over the scenario path: the file is a scenario with ``[model] name = "pe"``
(policy states -> shock -> :func:`blocsim.solve_pe`), run by :func:`blocsim.run_scenario`
exactly as ``blocsim run`` would; this command refuses files of another model and prints the
largest lines of the result besides the per-importer summary.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from blocsim.cli._common import console, handle_errors, print_json
from blocsim.cli.progress import progress_bar
from blocsim.cli.run import INCLUDE_DIR_OPTION, print_summary, summary
from blocsim.errors import ScenarioError

LINE_COLUMNS = ("trade_before", "trade_after", "trade_creation", "trade_diversion", "consumer_surplus_change")


def _lines_table(by_partner: pd.DataFrame, rows: int) -> Table:
    """The ``rows`` lines with the largest absolute trade change (USD millions)."""
    change = (by_partner["trade_after"] - by_partner["trade_before"]).abs()
    top = by_partner.loc[change.sort_values(ascending=False).index[:rows]]
    table = Table(title="Largest changes by line (USD millions)", title_justify="left")
    for column in ("importer", "exporter", "product"):
        table.add_column(column)
    for column in LINE_COLUMNS:
        table.add_column(column, justify="right")
    for record in top.to_dict(orient="records"):
        table.add_row(*(escape(str(record[c])) for c in ("importer", "exporter", "product")),
                      *(f"{record[c]:.3f}" for c in LINE_COLUMNS))
    return table


def register(app: typer.Typer) -> None:
    """Add ``blocsim pe`` to the top-level app."""

    @app.command("pe")
    @handle_errors
    def pe_command(
        scenario: Path = typer.Argument(..., help='Scenario TOML file with [model] name = "pe".'),
        out: Path = typer.Option(..., "--out", "-o", help="Run directory to write (replaced atomically)."),
        rows: int = typer.Option(10, "--rows", min=0, help="Lines shown in the terminal table (0 = none)."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
        include_dir: list[Path] = INCLUDE_DIR_OPTION,
    ) -> None:
        """Tariff-line partial equilibrium (WITS-SMART style) of a scenario file; writes countries.csv, flows.csv,
        products.csv, run.json."""
        from blocsim import load_scenario, run_scenario

        parsed = load_scenario(scenario, include_dirs=include_dir)
        if parsed.model.name != "pe":
            raise ScenarioError(
                f"{scenario}: field 'model.name': got {parsed.model.name!r}; blocsim pe runs scenarios with "
                "[model] name = \"pe\". Fix: set it, or run the file with blocsim run"
            )
        with progress_bar(f"running {parsed.scenario.name} (tariff-line partial equilibrium)"):
            result = run_scenario(parsed, out)
        if as_json:
            print_json(summary(result))
            return
        print_summary(result)
        if rows:
            console.print(_lines_table(result.flows, rows))
