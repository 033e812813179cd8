"""``blocsim data``: import public files into the store, list, show and export datasets.

Bundled datasets (``blocsim.data.list_datasets()``, e.g. ``eaeu``) and datasets imported
into the store (``$BLOCSIM_HOME/store``) are listed together; a store dataset cannot take a
bundled dataset's name. ``build-eaeu`` is added by :mod:`blocsim.cli.eaeu`, ``build``
(a model dataset from the user's flows and tariffs) by :mod:`blocsim.cli.data_build`.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd
import typer
from rich.table import Table

from blocsim.cli._common import console, handle_errors, print_json
from blocsim.cli.progress import counted_writers, progress_bar
from blocsim.errors import BlocsimError, StoreError

data_app = typer.Typer(
    name="data",
    help="Datasets: import public files into the store, list, show and export them.",
    no_args_is_help=True,
)

_HOME_HELP = "Store root (default: $BLOCSIM_HOME or ~/.blocsim)."


def _store(home: Optional[Path]) -> Any:
    from blocsim.data import Store

    return Store(home)


def _bundled() -> dict[str, dict[str, Any]]:
    from blocsim.data import list_datasets

    return {entry["name"]: entry for entry in list_datasets()}


def _model_dataset(name: str, home: Optional[Path]) -> Any:
    """A bundled dataset or one built into the store (``blocsim data build``), else None."""
    from blocsim.data import built_names, load_dataset

    return load_dataset(name, home) if name in _bundled() or name in built_names(home) else None


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BlocsimError(f"--option {pair!r}: expected KEY=VALUE (e.g. --option engine=duckdb)")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


@data_app.command("import")
@handle_errors
def import_command(
    source: str = typer.Argument(..., help="Source format: cepii_dist, cepii_geo, cepii_gravity, baci, itpd, "
                                 "comtrade, wits, wdi, wb_trade, eia, adb_mrio."),
    path: Path = typer.Argument(..., help="File to import."),
    name: str = typer.Option(..., "--name", help="Dataset name in the store (lower-case letters, digits, _)."),
    replace: bool = typer.Option(False, "--replace", help="Replace a stored dataset of the same name."),
    option: list[str] = typer.Option([], "--option", help="Loader option KEY=VALUE (repeatable), e.g. engine=duckdb."),
    home: Optional[Path] = typer.Option(None, "--home", help=_HOME_HELP),
) -> None:
    """Validate a public-source file and store it as a Parquet dataset (idempotent)."""
    from blocsim.data.loaders import LOADERS

    if source not in LOADERS:
        raise BlocsimError(f"SOURCE {source!r}: unknown; allowed are {', '.join(LOADERS)}")
    if name in _bundled():
        raise StoreError(f"--name {name!r} is a bundled dataset's name; choose another name")
    store = _store(home)
    with progress_bar(f"importing {path.name} as {name} ({LOADERS[source].description})") as progress:
        result = store.import_file(name, path, loader=source, options=_parse_options(option), replace=replace,
                                   progress=progress)
    verb = "imported" if result.changed else "unchanged (same content already stored)"
    console.print(f"{name}: {verb}, {result.rows:,} rows, sha256 {result.content_hash[:12]}")


@data_app.command("list")
@handle_errors
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list of datasets) instead of a table."),
    home: Optional[Path] = typer.Option(None, "--home", help=_HOME_HELP),
) -> None:
    """List bundled datasets and datasets imported into the store."""
    entries: list[dict[str, Any]] = []
    for name, entry in _bundled().items():
        entries.append({**entry, "name": name, "origin": "bundled"})
    from blocsim.data import list_built

    entries.extend(list_built(home))
    stored = _store(home).list()
    for record in stored.to_dict(orient="records"):
        entries.append({**record, "origin": "store"})
    if as_json:
        print_json(entries)
        return
    table = Table(title="blocsim datasets")
    for column in ("name", "origin", "source", "rows", "details"):
        table.add_column(column)
    for entry in entries:
        if entry["origin"] == "built":
            details = f"years {entry['years']}, {entry['region_count']} regions, {entry['sector_count']} sectors"
            table.add_row(entry["name"], "built", entry["source"], "", details)
        elif entry["origin"] == "bundled":
            rows = entry.get("rows", {})
            details = f"years {entry.get('years')}, {len(entry.get('countries', []))} regions, sectors {entry.get('sectors')}"
            table.add_row(entry["name"], "bundled", str(entry.get("source", "")), str(rows.get("flows", "")), details)
        else:
            details = f"{entry['columns']} columns, imported {entry['imported_utc']}"
            table.add_row(entry["name"], "store", entry["source"], f"{entry['rows']:,}", details)
    console.print(table)


@data_app.command("runs")
@handle_errors
def runs_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    home: Optional[Path] = typer.Option(None, "--home", help=_HOME_HELP),
) -> None:
    """List scenario runs stored with Store.add_run."""
    runs = _store(home).runs()
    if as_json:
        print_json(runs.to_dict(orient="records"))
        return
    table = Table(title="stored runs")
    for column in ("run_id", "scenario", "model", "dataset", "year", "converged", "added_utc"):
        table.add_column(column)
    for row in runs.itertuples(index=False):
        table.add_row(row.run_id, row.scenario, row.model, row.dataset, str(row.year), str(row.converged), row.added_utc)
    console.print(table)


@data_app.command("show")
@handle_errors
def show_command(
    name: str = typer.Argument(..., help="Dataset name (bundled or stored)."),
    rows: int = typer.Option(5, "--rows", min=0, help="Rows of each table to print."),
    home: Optional[Path] = typer.Option(None, "--home", help=_HOME_HELP),
) -> None:
    """Describe a dataset: source, columns, row counts and the first rows."""
    with progress_bar(f"loading {name}"):
        dataset = _model_dataset(name, home)
    if dataset is not None:
        meta = dataset.meta
        origin = "bundled" if name in _bundled() else "built"
        console.print(f"[bold]{name}[/bold] ({origin}): {meta.get('title', '')}")
        for table_name in ("flows", "gravity", "tariffs", "countries", "sectors"):
            frame = getattr(dataset, table_name)
            console.print(f"\n[bold]{table_name}[/bold]: {len(frame):,} rows; columns {', '.join(frame.columns)}")
            console.print(frame.head(rows).to_string(index=False))
        return
    store = _store(home)
    info = store.show(name)
    console.print(f"[bold]{name}[/bold] (store): source {info['source']}, {info['rows']:,} rows, imported {info['imported_utc']}")
    console.print(f"from {info['origin'] or '(DataFrame)'}; sha256 {info['content_hash']}")
    console.print("columns: " + ", ".join(f"{c} ({t})" for c, t in info["columns"]))
    console.print(store.table(name).head(rows).to_string(index=False))


def sum_over_sectors(flows: pd.DataFrame) -> pd.DataFrame:
    """Total flows per (exporter, importer, year), USD millions; ``imputed`` joins the sector flags.

    Parameters
    ----------
    flows
        Sectoral flows ``exporter, importer, sector, year, trade, imputed``.

    Returns
    -------
    DataFrame
        ``exporter, importer, year, trade, imputed``; ``imputed`` is the sorted ``+``-joined
        set of the non-empty sector flags (empty if every sector cell is a source value).
    """
    keys = ["exporter", "importer", "year"]
    grouped = flows.groupby(keys, sort=False)
    total = grouped["trade"].sum().rename("trade")
    if "imputed" in flows.columns:
        flags = grouped["imputed"].agg(
            lambda s: "+".join(sorted({part for flag in s.fillna("") for part in str(flag).split("+") if part}))
        )
        return pd.concat([total, flags.rename("imputed")], axis=1).reset_index()
    return total.reset_index()


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def _write_json(meta: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(meta, indent=2, default=str))


def _export_targets(out: Path, names: list[str], *, force: bool) -> None:
    """Create ``out`` if needed; refuse files of these ``names`` already there unless ``force``."""
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise BlocsimError(f"--out {out}: is a file, not a folder; choose a folder for the exported files")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BlocsimError(f"--out {out}: cannot create the folder ({error.strerror or error}); choose a writable location") from None
    existing = [name for name in names if (out / name).exists() or (out / name).is_symlink()]
    odd = [name for name in existing if not (out / name).is_file() or (out / name).is_symlink()]
    if odd:
        raise BlocsimError(
            f"--out {out}: not regular files: {', '.join(odd)}; nothing was written: choose another --out"
        )
    if existing and not force:
        raise BlocsimError(
            f"--out {out}: these files already exist: {', '.join(existing)}; nothing was written. Pass --force to "
            "overwrite these files (no other file in the folder is touched), or choose another --out"
        )


@data_app.command("export")
@handle_errors
def export_command(
    name: str = typer.Argument(..., help="Dataset name (bundled or stored)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the CSV files into (created if missing)."),
    force: bool = typer.Option(
        False, "--force", help="Overwrite files of the same names already in --out (other files are never touched)."
    ),
    home: Optional[Path] = typer.Option(None, "--home", help=_HOME_HELP),
) -> None:
    """Write a dataset's tables as CSV (bundled: flows.csv totals, flows_sectoral.csv, tariffs.csv, ...).

    Existing files are not overwritten unless --force; files are written whole (each to a
    temporary file first, then renamed), and nothing else in --out is touched.
    """
    from blocsim.results import write_files

    meta: dict[str, Any] | None = None
    with progress_bar(f"reading {name} and summing its flows over sectors"):
        dataset = _model_dataset(name, home)
        if dataset is not None:
            tables = {
                "flows": sum_over_sectors(dataset.flows) if "sector" in dataset.flows.columns else dataset.flows,
                "flows_sectoral": dataset.flows,
                "gravity": dataset.gravity,
                "tariffs": dataset.tariffs,
                "countries": dataset.countries,
                "sectors": dataset.sectors,
                **dataset.extra,  # v2: bilateral tariffs.csv, tariffs_external, cet, remittances, duties
            }
    if dataset is not None:
        meta = dataset.meta
    else:
        tables = {name: _store(home).table(name)}  # raises a clear error for an unknown name
    writers: dict[str, Callable[[Path], None]] = {
        f"{table_name}.csv": functools.partial(_write_csv, frame) for table_name, frame in tables.items()
    }
    if meta is not None:
        writers["meta.json"] = functools.partial(_write_json, meta)
    _export_targets(out, list(writers), force=force)
    with progress_bar(f"writing {len(writers)} files to {out}") as progress:
        rows = {f"{table_name}.csv": len(frame) for table_name, frame in tables.items()}
        written = write_files(out, counted_writers(writers, rows, progress))
    console.print(f"wrote {', '.join(p.name for p in written)} to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group (and the EAEU recipe's ``build-eaeu``) to ``app``."""
    from blocsim.cli import data_build
    from blocsim.cli import eaeu as eaeu_cli

    eaeu_cli.register(data_app)
    data_build.register(data_app)
    app.add_typer(data_app, name="data")
