"""Export a run directory for spreadsheet and statistics users: Excel, Stata, locale-aware CSV.

:func:`export_run` writes

- ``xlsx``: one workbook, a ``README`` sheet first (run, provenance, the assumptions recorded in
  ``run.json``, units, and the label, unit and definition of every column of every sheet), then
  one sheet per table of the run (``countries``, ``bands``, ``flows``, ...). Default path:
  ``<run>.xlsx`` beside the run directory.
- ``dta``: a folder with one Stata file per table (``<table>.dta``, format 118, Stata 14 or
  later, UTF-8) and ``README.txt``. Variable names follow Stata's rules (letters, digits, ``_``,
  at most 32 characters, not starting with a digit, no reserved word); a renamed variable's
  label starts with its original column name, e.g. ``"1x: ..."``. Labels come from
  :mod:`blocsim.results.columns`. A folder (not a zip) so that Stata's ``use`` opens the files
  as they are. Default: ``<run>-dta/`` beside the run directory.
- ``csv``: a folder with one CSV per table and ``README.txt``; ``locale="ru"`` or ``"kk"``
  writes ``;`` between fields and a decimal comma, ``"en"`` ``,`` and ``.``. Files are UTF-8
  with a byte-order mark, so Excel opens Cyrillic text correctly. Numbers keep full precision.
  Default: ``<run>-csv-<locale>/`` beside the run directory.

Existing files are never overwritten unless ``force`` (then only the files written); every
file is written to a temporary sibling first and renamed into place. ``progress(done, total)``
counts the rows of the tables written (an Excel sheet in blocks of :data:`XLSX_BLOCK_ROWS`).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, get_args

import pandas as pd

from blocsim.data.progress import ProgressCallback
from blocsim.errors import BlocsimError
from blocsim.results.columns import describe_column
from blocsim.results.output import write_outputs

ExportFormat = Literal["xlsx", "dta", "csv"]
ExportLocale = Literal["en", "ru", "kk"]

#: Field separator and decimal mark of the CSV export per locale.
CSV_LOCALES: dict[str, tuple[str, str]] = {"en": (",", "."), "ru": (";", ","), "kk": (";", ",")}

#: Tables in sheet order; any other table of the run follows in name order.
TABLE_ORDER: tuple[str, ...] = ("countries", "bands", "bloc_effects", "partner_groups", "revenue", "flows", "tariffs")

README_NAME = "README.txt"
EXCEL_MAX_ROWS = 1_048_575  # one header row leaves this many data rows
XLSX_BLOCK_ROWS = 20_000
"""Rows written to an Excel sheet at a time (a few seconds of openpyxl), for progress reports."""
STATA_LABEL_LENGTH = 80
_STATA_RESERVED = frozenset(
    "_all _b byte _coef _cons double float if in int long _n _N _pi _pred _rc _skip strL using with".split()
)

UNITS_NOTE = (
    "Percent changes (columns ending in _pct) are (counterfactual - baseline) / baseline * 100. Money is in "
    "current USD millions a year; tariffs are ad valorem fractions (0.05 = 5 %). Countries are ISO 3166-1 "
    "alpha-3 codes; EUN is the EU as one region, ROW the rest of the world."
)


def export_run(
    run_dir: str | os.PathLike[str],
    format: ExportFormat,
    *,
    locale: ExportLocale | None = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Export a run directory as an Excel workbook, Stata files or locale-aware CSV.

    Parameters
    ----------
    run_dir
        A run directory (read with :func:`blocsim.results.read_run`, which checks its marker).
    format
        ``"xlsx"``, ``"dta"`` or ``"csv"`` (see the module docstring for each).
    locale
        CSV only: ``"en"`` (default; ``,`` and ``.``), ``"ru"`` or ``"kk"`` (``;`` and decimal comma).
    out
        The ``.xlsx`` file, or the folder for ``dta``/``csv`` (created if missing); defaults
        beside the run directory: ``<run>.xlsx``, ``<run>-dta/``, ``<run>-csv-<locale>/``.
    force
        Overwrite files of the same names (other files are never touched).
    progress
        ``progress(done, total)`` (:mod:`blocsim.data.progress`), ``total`` = the rows of all
        tables: 0 first, then as each table (an Excel sheet: each block of rows) is written.

    Returns
    -------
    list of Path
        The written files.

    Raises
    ------
    BlocsimError
        An unknown format or locale, a locale with a format other than csv, a run that
        cannot be read, an existing file without ``force``, or a table too long for Excel.
    """
    if format not in get_args(ExportFormat):
        raise BlocsimError(f"--format {format!r}: unknown; allowed are {', '.join(get_args(ExportFormat))}")
    if locale is not None and locale not in CSV_LOCALES:
        raise BlocsimError(f"--locale {locale!r}: unknown; allowed are {', '.join(CSV_LOCALES)}")
    if locale is not None and format != "csv":
        raise BlocsimError(f"--locale {locale}: applies to --format csv only (xlsx and dta store numbers, not text)")
    from blocsim.results.rundir import read_run

    source = Path(run_dir)
    tables, meta = read_run(source)
    ordered = {name: tables[name] for name in sorted(tables, key=_table_rank)}
    name = source.resolve().name
    advance = _row_counter(progress, sum(len(frame) for frame in ordered.values()))
    if format == "xlsx":
        target = Path(out) if out is not None else source.resolve().with_name(f"{name}.xlsx")
        return write_outputs(target.parent, {target.name: _xlsx_writer(ordered, meta, name, advance)}, force=force)
    if format == "dta":
        folder = Path(out) if out is not None else source.resolve().with_name(f"{name}-dta")
        return write_outputs(folder, _counted(_dta_writers(ordered, meta, name), ordered, ".dta", advance), force=force)
    chosen = locale or "en"
    folder = Path(out) if out is not None else source.resolve().with_name(f"{name}-csv-{chosen}")
    return write_outputs(folder, _counted(_csv_writers(ordered, meta, name, chosen), ordered, ".csv", advance),
                         force=force)


def _row_counter(progress: ProgressCallback | None, total: int) -> Callable[[int], None]:
    """``advance(rows)``: report ``rows`` more rows written to ``progress`` (0 of ``total`` first)."""
    done = 0
    if progress is not None and total:
        progress(0, total)

    def advance(rows: int) -> None:
        nonlocal done
        if progress is not None and rows:
            done += rows
            progress(done, total)

    return advance


def _counted(writers: dict[str, Callable[[Path], None]], tables: Mapping[str, pd.DataFrame], suffix: str,
             advance: Callable[[int], None]) -> dict[str, Callable[[Path], None]]:
    """``writers`` whose table files (``<table><suffix>``) report their rows to ``advance`` once written."""
    rows = {f"{name}{suffix}": len(frame) for name, frame in tables.items()}

    def counted(file_name: str, write: Callable[[Path], None]) -> Callable[[Path], None]:
        def run(path: Path) -> None:
            write(path)
            advance(rows.get(file_name, 0))

        return run

    return {file_name: counted(file_name, write) for file_name, write in writers.items()}


def _table_rank(name: str) -> tuple[int, str]:
    return (TABLE_ORDER.index(name) if name in TABLE_ORDER else len(TABLE_ORDER), name)


# --- README: run, provenance, assumptions, units, column definitions ---------------------------

def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    """``run.json`` values as (dotted key, text) rows; lists of scalars joined, lists of records numbered."""
    if isinstance(value, Mapping):
        return [row for key, item in value.items() for row in _flatten(f"{prefix}.{key}" if prefix else str(key), item)]
    if isinstance(value, list) and any(isinstance(item, (Mapping, list)) for item in value):
        return [row for index, item in enumerate(value, 1) for row in _flatten(f"{prefix}[{index}]", item)]
    if isinstance(value, list):
        return [(prefix, "; ".join(map(str, value)))]
    return [(prefix, "" if value is None else str(value))]


def readme_rows(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], run_name: str,
                stata_names: Mapping[str, Mapping[str, str]] | None = None) -> list[tuple[str, ...]]:
    """The README of an export as rows: (section, key, value) and, for columns,
    (``"column"``, table, column, [Stata name,] label, unit, definition)."""
    scenario = meta.get("scenario") if isinstance(meta.get("scenario"), Mapping) else {}
    rows: list[tuple[str, ...]] = [
        ("run", "exported from", run_name),
        ("run", "scenario", str(scenario.get("name") or "")),
        ("run", "title", str(scenario.get("title") or "")),
        ("run", "event", str(scenario.get("event") or "")),
        ("units", "conventions", UNITS_NOTE),
    ]
    provenance = {key: meta.get(key) for key in ("package", "version", "created_utc") if key in meta}
    for section, value in (("provenance", provenance), ("provenance", {"dataset": meta.get("dataset")}),
                           ("provenance", {"diagnostics": meta.get("diagnostics")})):
        rows += [(section, key, text) for key, text in _flatten("", value) if text]
    assumptions = {key: meta[key] for key in ("model", "policy", "policy_changes", "shock_notes", "rule_violations",
                                                "focus_countries", "assumptions") if meta.get(key)}
    rows += [("assumptions", key, text) for key, text in _flatten("", assumptions)]
    rows += [("sources", f"scenario.sources[{index}]", str(source))
             for index, source in enumerate(scenario.get("sources") or [], 1)]
    for table, frame in tables.items():
        for column in frame.columns:
            definition = describe_column(str(column))
            stata = [stata_names[table][str(column)]] if stata_names is not None else []
            rows.append(("column", table, str(column), *stata, definition.label, definition.unit, definition.definition))
    return rows


def _readme_text(rows: list[tuple[str, ...]], header: str) -> str:
    lines = [header, ""]
    columns_header = False
    for row in rows:
        if row[0] != "column":
            lines.append(f"[{row[0]}] {row[1]}: {row[2]}")
            continue
        if not columns_header:
            lines += ["", "Columns (table, column, " + ("Stata name, " if len(row) == 7 else "") + "label, unit, definition):"]
            columns_header = True
        lines.append("  " + " | ".join(row[1:]))
    return "\n".join(lines) + "\n"


# --- xlsx ---------------------------------------------------------------------------------------

def _sheet_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "table"
    candidate, number = base, 2
    while candidate.lower() in taken:
        candidate = f"{base[:28]}_{number}"
        number += 1
    taken.add(candidate.lower())
    return candidate


def _xlsx_writer(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], run_name: str,
                 advance: Callable[[int], None]) -> Callable[[Path], None]:
    for name, frame in tables.items():
        if len(frame) > EXCEL_MAX_ROWS:
            raise BlocsimError(
                f"{name}.csv: {len(frame):,} rows, more than an Excel sheet holds ({EXCEL_MAX_ROWS:,}); "
                "export it with --format csv or dta instead"
            )
    content = _xlsx_bytes(tables, meta, run_name, advance)

    def write(path: Path) -> None:
        path.write_bytes(content)

    return write


def _xlsx_bytes(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], run_name: str,
                advance: Callable[[int], None]) -> bytes:
    from openpyxl.styles import Alignment, Font

    buffer = io.BytesIO()
    taken = {"readme"}
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        book = writer.book
        readme = book.create_sheet("README")
        bold = Font(bold=True)
        readme.append([f"blocsim run {run_name}: one sheet per table of the run; this sheet explains them."])
        readme["A1"].font = Font(bold=True, size=13)
        readme.append([])
        readme.append(["section", "key", "value"])
        columns_started = False
        for row in readme_rows(tables, meta, run_name):
            if row[0] == "column" and not columns_started:
                readme.append([])
                readme.append(["column", "sheet", "column", "label", "unit", "definition"])
                columns_started = True
            readme.append(list(row))
            if row[0] != "column":
                readme.cell(readme.max_row, 3).alignment = Alignment(wrap_text=True, vertical="top")
        for cells in readme.iter_rows():
            if cells and cells[0].value in ("section", "column") and cells[1].value in ("key", "sheet"):
                for cell in cells:
                    cell.font = bold
        for letter, width in zip("ABCDEF", (14, 32, 60, 36, 16, 80)):
            readme.column_dimensions[letter].width = width
        for name, frame in tables.items():
            sheet = _sheet_name(name, taken)
            for start in range(0, max(len(frame), 1), XLSX_BLOCK_ROWS):  # the header with the first block
                block = frame.iloc[start:start + XLSX_BLOCK_ROWS]
                first = start == 0
                block.to_excel(writer, sheet_name=sheet, index=False, header=first, startrow=start + (not first),
                               freeze_panes=(1, 0) if first else None)
                advance(len(block))
    return buffer.getvalue()


# --- dta ----------------------------------------------------------------------------------------

def stata_names(columns: list[str]) -> dict[str, str]:
    """Column -> a valid, unique Stata variable name (letters, digits, ``_``; <= 32 characters;
    not starting with a digit; not a reserved word). Valid names are kept as they are."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column)
        if not name or name[0].isdigit() or name in _STATA_RESERVED or re.fullmatch(r"str[0-9]+", name):
            name = f"_{name}"
        name = name[:32]
        candidate, number = name, 2
        while candidate in taken:
            suffix = f"_{number}"
            candidate, number = name[: 32 - len(suffix)] + suffix, number + 1
        taken.add(candidate)
        names[column] = candidate
    return names


def stata_label(column: str, renamed: bool) -> str:
    """Variable label: the column's label and unit; a renamed column's original name first."""
    definition = describe_column(column)
    shown = definition.unit and not (definition.unit == "percent" and "%" in definition.label)
    unit = f" ({definition.unit})" if shown else ""
    label = f"{definition.label}{unit}"
    if renamed:
        label = f"{column}: {label}"
    return label[:STATA_LABEL_LENGTH]


def _stata_frame(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object).where(out[column].notna(), "").astype(str)
        elif pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].astype("int8")
    return out.rename(columns=dict(names))


def _dta_writers(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], run_name: str) -> dict[str, Callable[[Path], None]]:
    mapping = {name: stata_names([str(c) for c in frame.columns]) for name, frame in tables.items()}
    scenario = meta.get("scenario") if isinstance(meta.get("scenario"), Mapping) else {}
    writers: dict[str, Callable[[Path], None]] = {}
    for name, frame in tables.items():
        names = mapping[name]
        labels = {new: stata_label(old, renamed=new != old) for old, new in names.items()}
        data_label = f"blocsim {scenario.get('name') or run_name}: {name}"[:STATA_LABEL_LENGTH]
        writers[f"{name}.dta"] = _dta_writer(_stata_frame(frame, names), labels, data_label)
    header = (f"blocsim run {run_name} as Stata files (format 118, Stata 14 or later): one .dta per table. "
              "Variable labels give each column's label and unit; a renamed column's label starts with its "
              "original name.")
    writers[README_NAME] = _text_writer(_readme_text(readme_rows(tables, meta, run_name, mapping), header))
    return writers


def _dta_writer(frame: pd.DataFrame, labels: dict[str, str], data_label: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_stata(path, write_index=False, version=118, variable_labels=labels, data_label=data_label)

    return write


# --- csv ----------------------------------------------------------------------------------------

def _csv_writers(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], run_name: str,
                 locale: str) -> dict[str, Callable[[Path], None]]:
    separator, decimal = CSV_LOCALES[locale]
    writers: dict[str, Callable[[Path], None]] = {
        f"{name}.csv": _csv_writer(frame, separator, decimal) for name, frame in tables.items()
    }
    header = (f"blocsim run {run_name} as CSV for locale {locale}: fields separated by {separator!r}, decimal mark "
              f"{decimal!r}, UTF-8 with a byte-order mark. Read in pandas with pd.read_csv(path, sep={separator!r}, "
              f"decimal={decimal!r}).")
    writers[README_NAME] = _text_writer(_readme_text(readme_rows(tables, meta, run_name), header))
    return writers


def _csv_writer(frame: pd.DataFrame, separator: str, decimal: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_csv(path, sep=separator, decimal=decimal, index=False, encoding="utf-8-sig")

    return write


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write

