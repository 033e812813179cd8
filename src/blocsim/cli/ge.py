"""``blocsim ge CONFIG.toml --out DIR``: a deprecated alias of ``blocsim run`` for one-sector files.

It reads the old ``blocsim ge`` format (:mod:`blocsim.scenario.ge_config`), translates it into
a one-sector scenario, prints a one-line deprecation note on stderr saying how to convert the
file, and runs it through :func:`blocsim.run_scenario`: the same numbers as ``blocsim run`` on
the converted file. A file already in the scenario form (``[model] name = "onesector"``) is run as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from blocsim.cli._common import console, err_console, handle_errors
from blocsim.cli.progress import progress_bar

_SHOWN = (
    ("exports_pct", "exports %"),
    ("exports_cond_pct", "exports (cond.) %"),
    ("real_gdp_pct", "real GDP %"),
    ("welfare_pct", "welfare %"),
    ("factory_price_pct", "factory price %"),
    ("imr_pct", "IMR %"),
)


def _table(countries: pd.DataFrame, rows: int, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("country")
    for column, label in _SHOWN:
        if column in countries:
            table.add_column(label, justify="right")
    ordered = countries.sort_values("real_gdp_pct", ascending=False) if "real_gdp_pct" in countries else countries
    for record in (ordered if rows <= 0 else ordered.head(rows)).to_dict(orient="records"):
        table.add_row(escape(str(record["country"])), *(f"{record[c]:.3f}" for c, _ in _SHOWN if c in countries))
    return table


def register(app: typer.Typer) -> None:
    """Add ``blocsim ge`` to the top-level app."""

    @app.command("ge")
    @handle_errors
    def ge_command(
        config: Annotated[Path, typer.Argument(help="TOML file describing data, estimation, GE settings and counterfactual.")],
        out: Annotated[Path, typer.Option("--out", help="Run directory to write (countries.csv, flows.csv, run.json).")],
        rows: Annotated[
            int, typer.Option("--rows", min=0, help="Countries shown in the terminal table (0 = all).")
        ] = 15,
    ) -> None:
        """Deprecated: estimate gravity by PPML and solve a one-sector GE from CONFIG (use blocsim run)."""
        from blocsim import run_scenario
        from blocsim.scenario import CONVERT_HINT, read_ge_file

        scenario, old_format = read_ge_file(config)
        if old_format:
            err_console.print(f"note: {escape(CONVERT_HINT)}", highlight=False, soft_wrap=True)
        with progress_bar("estimating gravity (PPML) and solving the GE counterfactual"):
            result = run_scenario(scenario, out)
        title = scenario.scenario.title or scenario.scenario.name
        console.print(_table(result.countries, rows, f"{escape(title)}: % change (by real GDP)"))
        diagnostics = result.model.diagnostics
        console.print(
            f"converged={diagnostics.get('converged')} iterations={diagnostics.get('iterations')} "
            f"max_residual={diagnostics.get('max_residual', float('nan')):.2e} method={diagnostics.get('method')}"
        )
        console.print(f"wrote {escape(str(result.run_dir))}")
