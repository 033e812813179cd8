"""``blocsim run SCENARIO.toml --out DIR``: run a scenario file with the model its ``[model] name`` names."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import typer
from rich.markup import escape
from rich.table import Table

from blocsim.cli._common import console, err_console, handle_errors, print_json
from blocsim.cli.explain import explanation, print_explanation
from blocsim.cli.progress import progress_bar
from blocsim.errors import BlocsimError

INCLUDE_DIR_OPTION = typer.Option(
    [], "--include-dir", exists=True, file_okay=False, dir_okay=True,
    help="Folder whose policy .toml files [policy] include may name (repeatable); the scenario file's own folder "
    "is always allowed, any other file is refused.",
)
EXPLAIN_OPTION = typer.Option(
    False, "--explain", help="Also print where each focus country's welfare change comes from: the exact "
    "decomposition (terms of trade, volume of trade, tariff revenue, pool transfer, ...; pp summing to welfare_pct).",
)
YEAR_OPTION = typer.Option(
    None, "--year", help="Data year to run on instead of the scenario's [data] year (baseline flows and tariff "
    "schedules of that year); built-in scenarios default to their event's pre-event year.",
)
SUMMARY_COLUMNS = ("welfare_pct", "real_gdp_pct", "exports_pct", "imports_pct", "tariff_revenue_change")
#: per model: the columns of the focus-country table, and what the model is called in progress lines
MODEL_SUMMARY = {
    "multisector": (SUMMARY_COLUMNS, "multi-sector GE"),
    "onesector": (("welfare_pct", "real_gdp_pct", "exports_pct", "imports_pct"), "PPML + one-sector GE"),
    "pe": (("trade_pct", "trade_creation", "trade_diversion", "tariff_revenue_change", "consumer_surplus_change",
            "welfare_change"), "tariff-line partial equilibrium"),
}
UNITS = {
    "multisector": "percent; revenue change in USD millions",
    "onesector": "percent",
    "pe": "trade_pct in percent; the rest in USD millions",
}


STORE_OPTION = typer.Option(True, "--store/--no-store", help="Register the run in the run store under "
                            "$BLOCSIM_HOME (default ~/.blocsim), where the dashboard lists it; --no-store: only write DIR.")


def execute(reference: str, out: Path, *, as_json: bool, draws: int | None = None, seed: int | None = None,
            include_dirs: Sequence[Path] = (), explain: bool = False, store: bool = True,
            year: int | None = None) -> Any:
    """Run a scenario (file path or built-in name), write ``out`` and print a summary.

    Shared by ``blocsim run`` and ``blocsim scenarios run``; returns the ScenarioResult.
    ``draws``/``seed`` as for :func:`blocsim.run_scenario` (checked before the run starts).
    ``include_dirs``: folders (besides the scenario file's own) its ``[policy] include`` may name files in.
    ``explain``: also print the welfare decomposition of the focus countries (``--explain``).
    ``store``: also copy the written run into the run store (:func:`store_run`); its id is printed
    (``stored_run_id`` in the JSON summary).
    ``year``: data year instead of the scenario's ``[data] year`` (``--year``).
    """
    from blocsim import load_scenario, run_scenario

    scenario = load_scenario(reference, include_dirs=include_dirs)
    label = MODEL_SUMMARY[scenario.model.name][1] + (f", {draws:,} draws and the sensitivity" if draws else "")
    with progress_bar(f"running {scenario.scenario.name} ({label})") as progress:
        result = run_scenario(scenario, out, draws=draws, seed=seed, year=year, progress=progress)
    stored = store_run(result.run_dir) if store else None
    if as_json:
        print_json({**summary(result), "stored_run_id": stored}
                   | ({"explanation": explanation(result.countries, result.meta["focus_countries"])} if explain else {}))
    else:
        print_summary(result)
        if explain:
            print_explanation(result.countries, result.meta["focus_countries"])
        if stored is not None:
            console.print(f"stored as run {stored} (the dashboard lists it; --no-store to skip)", highlight=False)
    return result


def store_run(run_dir: Path) -> str | None:
    """Copy a written run directory into the run store under ``$BLOCSIM_HOME``; returns its run id.

    The run directory is written either way: if the store refuses the copy (full, unwritable),
    a one-line warning on stderr says why and None is returned.
    """
    from blocsim.data import Store

    try:
        return Store().add_run(run_dir)
    except BlocsimError as error:
        err_console.print(f"[yellow]warning:[/yellow] {escape(str(run_dir))} was written but not added to the run "
                          f"store ({escape(str(error))}); the dashboard will not list it", highlight=False)
        return None


def _columns(result: Any) -> tuple[str, ...]:
    """The summary columns of the result's model."""
    return MODEL_SUMMARY[result.scenario.model.name][0]


def summary(result: Any) -> dict[str, Any]:
    """JSON-ready summary of a scenario run: run directory, scenario, diagnostics, focus countries."""
    focus = result.meta["focus_countries"]
    rows = result.countries[result.countries["country"].isin(focus)]
    columns = [c for c in _columns(result) if c in rows.columns]
    return {
        "run_dir": str(result.run_dir) if result.run_dir else None,
        "scenario": result.meta["scenario"],
        "model": result.scenario.model.name,
        "policy_changes": result.meta["policy_changes"],
        "rule_violations": result.meta.get("rule_violations", []),
        "diagnostics": result.meta["diagnostics"],
        "countries": rows[["country", *columns]].to_dict(orient="records"),
        "assumptions": run_assumptions(result),
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
    for violation in meta.get("rule_violations", []):
        err_console.print(f"[yellow]rule violation (allowed by the scenario):[/yellow] {escape(violation['message'])}",
                          highlight=False)
    name = result.scenario.model.name
    columns = _columns(result)
    table = Table(title=f"Changes in the focus countries ({UNITS[name]})")
    table.add_column("country")
    for column in columns:
        table.add_column(column, justify="right")
    focus = meta["focus_countries"]
    rows = result.countries.set_index("country").reindex(focus)
    for country, row in rows.iterrows():
        table.add_row(str(country), *(f"{row[c]:.3f}" if c in row and row[c] == row[c] else "-" for c in columns))
    console.print(table)
    diag = meta["diagnostics"]
    console.print(
        f"converged={diag.get('converged')} iterations={diag.get('iterations')} "
        f"max_residual={float(diag.get('max_residual', diag.get('residual', float('nan')))):.2e} "
        f"method={diag.get('method')}",
        highlight=False,
    )
    if result.run_dir is not None:
        console.print(f"wrote {escape(str(result.run_dir))}", highlight=False)
    print_assumptions(result)


def run_assumptions(result: Any) -> dict[str, Any]:
    """What the run assumed (data year and version, sectors, elasticities and source, closure, assumed AVEs,
    proxy tariffs, what the bands vary): :func:`blocsim.report.assumptions_summary` of its record and tariffs."""
    from blocsim.report import assumptions_summary

    return assumptions_summary(result.meta, result.tables.get("tariffs"))


def print_assumptions(result: Any) -> None:
    """The compact "Assumptions" footer under a run's summary (the same content as ``--json``'s ``assumptions``)."""
    from blocsim.report import assumptions_footer

    console.print("[bold]Assumptions[/bold]")
    for line in assumptions_footer(run_assumptions(result)):
        console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)


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
        explain: bool = EXPLAIN_OPTION,
        store: bool = STORE_OPTION,
        year: Optional[int] = YEAR_OPTION,
    ) -> None:
        """Run a scenario file with its [model] (multisector, onesector or pe); write countries.csv, flows.csv, run.json."""
        if seed is not None and not draws:
            raise BlocsimError(f"--seed {seed}: the seed of the Monte Carlo draws needs --draws N (N >= 2)")
        execute(scenario, out, as_json=as_json, draws=draws or None, seed=seed, include_dirs=include_dir,
                explain=explain, store=store, year=year)
        if with_report:
            from blocsim.cli.report import report_after_run

            report_after_run(out, as_json=as_json)
