"""``blocsim report RUN_DIR``: write the HTML report (and PNG charts) of a run directory."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import typer

from blocsim.cli._common import console, handle_errors, print_json
from blocsim.cli.progress import progress_bar


def build_report(run_dir: Path, *, png: bool = False) -> dict[str, object]:
    """Write ``report.html`` (and ``figures/*.png`` if ``png``) with a progress display on stderr.

    Returns
    -------
    dict
        ``{"report": str, "figures": [str, ...]}`` (absolute paths).
    """
    from blocsim.report import write_pngs, write_report

    with progress_bar(f"writing {run_dir / 'report.html'}"):
        report = write_report(run_dir)
    figures: list[Path] = []
    if png:
        with progress_bar("rendering PNG charts in headless chromium"):
            figures = write_pngs(run_dir)
    return {"report": str(report), "figures": [str(p) for p in figures]}


def report_after_run(run_dir: Path, *, as_json: bool) -> None:
    """``--report`` of ``blocsim run`` / ``blocsim scenarios run``: write RUN_DIR/report.html.

    With ``as_json`` nothing is printed (the run's JSON summary stays the only stdout); the
    report is always ``RUN_DIR/report.html``.
    """
    written = build_report(run_dir)
    if not as_json:
        console.print(f"[green]wrote[/green] {written['report']}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``blocsim report`` to the top-level app."""

    @app.command("report")
    @handle_errors
    def report(
        run_dir: Path = typer.Argument(..., help="Run directory written by `blocsim run` or `blocsim scenarios run`."),
        png: bool = typer.Option(False, "--png", help="Also write one PNG per chart to RUN_DIR/figures/ (needs chromium)."),
        open_: bool = typer.Option(False, "--open", help="Open the report in the default web browser."),
        as_json: bool = typer.Option(False, "--json", help="Print the written paths as JSON (for scripts)."),
    ) -> None:
        """Write RUN_DIR/report.html: one self-contained page that works offline (charts, map, tables, sources)."""
        written = build_report(run_dir, png=png)
        if as_json:
            print_json(written)
        else:
            console.print(f"[green]wrote[/green] {written['report']}")
            for figure in written["figures"]:  # type: ignore[union-attr]
                console.print(f"[green]wrote[/green] {figure}")
        if open_:
            webbrowser.open(Path(str(written["report"])).resolve().as_uri())
