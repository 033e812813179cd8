"""``blocsim run SCENARIO.toml --out DIR``: run a scenario file with the multi-sector GE."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import typer
from rich.markup import escape
from rich.table import Table

from blocsim.cli._common import console, err_console, handle_errors, print_json
from blocsim.errors import BlocsimError

INCLUDE_DIR_OPTION = typer.Option(
    [], "--include-dir", exists=True, file_okay=False, dir_okay=True,
    help="Folder whose policy .toml files [policy] include may name (repeatable); the scenario file's own folder "
    "is always allowed, any other file is refused.",
)
YEAR_OPTION = typer.Option(
    None, "--year", help="Data year to run on instead of the scenario's [data] year (baseline flows and tariff "
    "schedules of that year); built-in scenarios default to their event's pre-event year.",
)
SUMMARY_COLUMNS = ("welfare_pct", "real_gdp_pct", "exports_pct", "imports_pct", "tariff_revenue_change")


def execute(reference: str, out: Path, *, as_json: bool, draws: int | None = None, seed: int | None = None,
            include_dirs: Sequence[Path] = (), year: int | None = None) -> Any:
    """Run a scenario (file path or built-in name), write ``out`` and print a summary.

    Shared by ``blocsim run`` and ``blocsim scenarios run``; returns the ScenarioResult.
    ``draws``/``seed`` as for :func:`blocsim.run_scenario` (checked before the run starts).
    ``include_dirs``: folders (besides the scenario file's own) its ``[policy] include`` may name files in.
    ``year``: data year instead of the scenario's ``[data] year`` (``--year``).
    """
    from blocsim import load_scenario, run_scenario

    scenario = load_scenario(reference, include_dirs=include_dirs)
    if as_json:
        result = run_scenario(scenario, out, draws=draws, seed=seed, year=year)
    else:
        with console.status(f"running {scenario.scenario.name} (multi-sector GE)..."):
            result = run_scenario(scenario, out, draws=draws, seed=seed, year=year)
    if as_json:
        print_json(summary(result))
    else:
        print_summary(result)
    return result


def summary(result: Any) -> dict[str, Any]:
    """JSON-ready summary of a scenario run: run directory, scenario, diagnostics, focus countries."""
    focus = result.meta["focus_countries"]
    rows = result.countries[result.countries["country"].isin(focus)]
    return {
        "run_dir": str(result.run_dir) if result.run_dir else None,
        "scenario": result.meta["scenario"],
        "policy_changes": result.meta["policy_changes"],
        "rule_violations": result.meta["rule_violations"],
        "diagnostics": result.meta["diagnostics"],
        "countries": rows[["country", *SUMMARY_COLUMNS]].to_dict(orient="records"),
    }


def print_summary(result: Any) -> None:
    """Rich summary: policy changes, rule violations, focus-country table, where the files are."""
    meta = result.meta  # texts from the scenario file are escaped: "[...]" in them is not Rich markup
    console.print(f"[bold]{escape(meta['scenario']['title'])}[/bold]")
    console.print(f"[dim]{escape(meta['scenario']['event'])}[/dim]")
    for change in meta["policy_changes"]:
        console.print(f"  - {escape(change)}", highlight=False)
    for note in meta.get("shock_notes", []):
        console.print(f"    [dim]{escape(note)}[/dim]", highlight=False)
    for violation in meta["rule_violations"]:
        err_console.print(f"[yellow]rule violation (allowed by the scenario):[/yellow] {escape(violation['message'])}",
                          highlight=False)
    table = Table(title="Changes in the focus countries (percent; revenue change in USD millions)")
    table.add_column("country")
    for column in SUMMARY_COLUMNS:
        table.add_column(column, justify="right")
    focus = meta["focus_countries"]
    rows = result.countries.set_index("country").reindex(focus)
    for country, row in rows.iterrows():
        table.add_row(str(country), *(f"{row[c]:.3f}" if c in row and row[c] == row[c] else "-" for c in SUMMARY_COLUMNS))
    console.print(table)
    diag = meta["diagnostics"]
    console.print(
        f"converged={diag.get('converged')} iterations={diag.get('iterations')} "
        f"max_residual={diag.get('max_residual'):.2e} method={diag.get('method')}",
        highlight=False,
    )
    if result.run_dir is not None:
        console.print(f"wrote {escape(str(result.run_dir))}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``blocsim run`` to the top-level app."""

    @app.command("run")
    @handle_errors
    def run_command(
        scenario: str = typer.Argument(..., help="Scenario TOML file (or the name of a built-in scenario)."),
        out: Path = typer.Option(..., "--out", "-o", help="Run directory to write (replaced atomically)."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
        draws: int = typer.Option(0, "--draws", min=0, help="Monte Carlo draws over the trade elasticities "
                                  "(0: none, else 2 to 1,000,000 within a 2 GiB result); writes DIR/bands.csv with "
                                  "p05/p50/p95 per country."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the Monte Carlo draws, an integer >= 0 "
                                           "(default 0; same seed, same bands). Only with --draws."),
        with_report: bool = typer.Option(False, "--report", help="Also write DIR/report.html (charts, map; works offline)."),
        include_dir: list[Path] = INCLUDE_DIR_OPTION,
        year: Optional[int] = YEAR_OPTION,
    ) -> None:
        """Run a scenario file with the multi-sector GE and write countries.csv, flows.csv, run.json."""
        if seed is not None and not draws:
            raise BlocsimError(f"--seed {seed}: the seed of the Monte Carlo draws needs --draws N (N >= 2)")
        execute(scenario, out, as_json=as_json, draws=draws or None, seed=seed, include_dirs=include_dir, year=year)
        if with_report:
            from blocsim.cli.report import report_after_run

            report_after_run(out, as_json=as_json)
