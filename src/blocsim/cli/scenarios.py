"""``blocsim scenarios list|show|new|run``: the built-in scenario library and new scenario files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from blocsim.cli._common import console, err_console, handle_errors, print_json
from blocsim.cli.progress import progress_bar
from blocsim.cli.run import EXPLAIN_OPTION, INCLUDE_DIR_OPTION, STORE_OPTION, YEAR_OPTION, execute

scenarios_app = typer.Typer(help="The built-in scenario library: events of the EAEU modelled as scenarios.",
                            no_args_is_help=True)


@scenarios_app.command("list")
@handle_errors
def list_command(as_json: bool = typer.Option(False, "--json", help="Print [{name, title, event, sources}] as JSON.")) -> None:
    """List the built-in scenarios with the event each one models."""
    from blocsim.scenario import library_entries

    entries = library_entries()
    if as_json:
        print_json(entries)
        return
    table = Table(title="Built-in scenarios (blocsim scenarios run NAME --out DIR)")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("title")
    table.add_column("sources", justify="right")
    for entry in entries:
        table.add_row(escape(entry["name"]), escape(entry["title"]), str(len(entry["sources"])))
    console.print(table)


@scenarios_app.command("show")
@handle_errors
def show_command(
    name: str = typer.Argument(..., help="Name of a built-in scenario (see `blocsim scenarios list`)."),
    as_toml: bool = typer.Option(False, "--toml", help="Print the scenario's file verbatim and nothing else (no "
                                 "header, never wrapped): `blocsim scenarios show NAME --toml > my.toml`."),
) -> None:
    """Show a scenario: event, sources, the policy changes it makes, rule violations, its file and its TOML."""
    from blocsim.data import load_dataset
    from blocsim.policy import check_rules
    from blocsim.scenario import build_states, describe_changes, library_path, library_text, load_scenario

    if as_toml:
        sys.stdout.write(library_text(name))
        return
    scenario = load_scenario(name)
    meta = scenario.scenario
    console.print(f"[bold]{escape(meta.title)}[/bold]  ({meta.name})")  # file texts are not Rich markup
    console.print(f"event: {escape(meta.event)}", highlight=False)
    console.print("sources:")
    for source in meta.sources:
        console.print(f"  - {escape(source)}", highlight=False)
    with progress_bar(f"loading dataset {scenario.data.dataset} and building the policy states"):
        before, after, _ = build_states(scenario, load_dataset(scenario.data.dataset))
    console.print("policy changes:")
    for change in describe_changes(before, after):
        console.print(f"  - {escape(change)}", highlight=False)
    for violation in check_rules(after):
        allowed = "allowed by the scenario" if scenario.policy.allow_rule_violations else "the run will stop"
        err_console.print(f"[yellow]rule violation ({allowed}):[/yellow] {escape(violation.message)}", highlight=False)
    path = library_path(name)
    console.print(f"file: {escape(path)}", highlight=False, soft_wrap=True)
    console.print(f"library folder: {escape(str(Path(path).parent))}", highlight=False, soft_wrap=True)
    console.print(f"copy it: blocsim scenarios show {name} --toml > my.toml   "
                  f"or: blocsim scenarios new my-scenario --from {name}", highlight=False, soft_wrap=True)
    console.print(Syntax(library_text(name), "toml", word_wrap=True))


@scenarios_app.command("new")
@handle_errors
def new_command(
    name: str = typer.Argument(..., help="Name of the new scenario (lower-case letters, digits, '-'); the file is "
                               "NAME.toml."),
    base: Optional[str] = typer.Option(None, "--from", help="Start from this built-in scenario (see `blocsim "
                                       "scenarios list`) instead of the blank, commented template."),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Folder to write NAME.toml into (created if missing)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing NAME.toml (no other file is touched)."),
    as_json: bool = typer.Option(False, "--json", help="Print the written path as JSON (for scripts)."),
) -> None:
    """Write a commented scenario file to edit and run (`blocsim run NAME.toml --out DIR`).

    An existing NAME.toml is not overwritten unless --force; the file is written whole."""
    from blocsim.results import check_targets, write_files
    from blocsim.scenario import scenario_template

    text = scenario_template(name, base)
    file_name = f"{name}.toml"
    folder = check_targets(out, [file_name], force=force, option="--out")
    written = write_files(folder, {file_name: lambda path: path.write_text(text, encoding="utf-8", newline="")})
    if as_json:
        print_json({"written": [str(p) for p in written]})
        return
    for path in written:
        console.print(f"[green]wrote[/green] {escape(str(path))}; run it: blocsim run {escape(str(path))} --out "
                      f"runs/{name}", highlight=False, soft_wrap=True)


@scenarios_app.command("run")
@handle_errors
def run_command(
    name: str = typer.Argument(..., help="Name of a built-in scenario (or a scenario TOML file)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write (replaced atomically)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
    with_report: bool = typer.Option(False, "--report", help="Also write DIR/report.html (charts, map; works offline)."),
    include_dir: list[Path] = INCLUDE_DIR_OPTION,
    explain: bool = EXPLAIN_OPTION,
    store: bool = STORE_OPTION,
    year: Optional[int] = YEAR_OPTION,
) -> None:
    """Run a built-in scenario and write countries.csv, flows.csv, bloc_effects.csv and run.json to DIR."""
    execute(name, out, as_json=as_json, include_dirs=include_dir, explain=explain, store=store, year=year)
    if with_report:
        from blocsim.cli.report import report_after_run

        report_after_run(out, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add the ``scenarios`` command group to the top-level app."""
    app.add_typer(scenarios_app, name="scenarios")
