"""Stored runs as the dashboard shows and hands them out: rounded tables, downloads, comparisons.

- :func:`readable` rounds a number for reading (pages only; downloads keep full precision);
- :func:`run_tables` picks the tables a run's page shows, per model (multi-sector and
  one-sector: ``countries`` (and ``bands``), one-sector also ``flows``; PE: ``countries``
  per importer, ``products`` per market, ``flows`` per partner and line);
- :func:`export_download` exports a run with :func:`blocsim.export_run` into a scratch
  folder the server owns, packs the result (one ``.xlsx``, or a ``.zip`` of the Stata or CSV
  folder) into memory and removes the folder before the download is sent;
- :func:`comparison` compares stored runs with :func:`blocsim.compare`.
"""

from __future__ import annotations

import io
import math
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from blocsim.errors import BlocsimError

#: Download formats: name -> (export format, locale, file suffix, media type).
DOWNLOADS: dict[str, tuple[str, str | None, str, str]] = {
    "xlsx": ("xlsx", None, ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "dta": ("dta", None, "-dta.zip", "application/zip"),
    "csv": ("csv", "en", "-csv-en.zip", "application/zip"),
    "csv-ru": ("csv", "ru", "-csv-ru.zip", "application/zip"),
    "csv-kk": ("csv", "kk", "-csv-kk.zip", "application/zip"),
}
#: Rows of a table shown on a page (the downloads hold every row).
PAGE_ROWS = 100
#: Tables a run page shows, per model, in order (those the run has).
PAGE_TABLES: dict[str, tuple[str, ...]] = {
    "multisector": ("countries", "bands"),
    "onesector": ("countries", "flows"),
    "pe": ("countries", "products", "flows"),
}
#: Most runs one comparison may hold.
MAX_COMPARED = 10


def readable(value: Any) -> str:
    """A number rounded for reading: 3 decimals, or 3 significant digits below 0.1 in size.

    ``12.3456789 -> "12.346"``, ``0.0123456 -> "0.0123"``, ``0 -> "0"``; integers as they are;
    missing or non-finite values ``""``; anything else as text.
    """
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value == 0.0:
            return "0"
        return f"{value:.3f}" if abs(value) >= 0.1 else f"{value:.3g}"
    return str(value)


@dataclass(frozen=True)
class PageTable:
    """One table for a page: its name, columns and the first rows (values as they are)."""

    name: str
    columns: list[str]
    rows: list[list[Any]]
    total_rows: int


def run_tables(model: str, tables: Mapping[str, pd.DataFrame]) -> list[PageTable]:
    """The tables a run's page shows for ``model`` (see :data:`PAGE_TABLES`), at most :data:`PAGE_ROWS` rows each."""
    shown = []
    for name in PAGE_TABLES.get(model, ("countries",)):
        frame = tables.get(name)
        if not isinstance(frame, pd.DataFrame):
            continue
        head = frame.head(PAGE_ROWS).astype(object).where(frame.head(PAGE_ROWS).notna(), None)
        rows = [[_plain(value) for value in row] for row in head.itertuples(index=False)]
        shown.append(PageTable(name, [str(c) for c in frame.columns], rows, len(frame)))
    return shown


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def export_download(run_dir: Path, kind: str, scratch: Path, run_id: str) -> tuple[str, bytes, str]:
    """Export a stored run for download: (file name, bytes, media type).

    The export is written by :func:`blocsim.export_run` into a fresh folder under ``scratch``
    (server-owned), read into memory and the folder removed, whatever happens.

    Raises
    ------
    BlocsimError
        Unknown ``kind`` (allowed: :data:`DOWNLOADS`) or a run that cannot be exported.
    """
    from blocsim.results import export_run

    if kind not in DOWNLOADS:
        raise BlocsimError(f"download format {kind!r}: unknown; allowed: {', '.join(DOWNLOADS)}")
    format_, locale, suffix, media = DOWNLOADS[kind]
    folder = scratch / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        target = folder / (f"{run_id}.xlsx" if format_ == "xlsx" else f"{run_id}{suffix.removesuffix('.zip')}")
        written = export_run(run_dir, format_, locale=locale, out=target)  # type: ignore[arg-type]
        if format_ == "xlsx":
            return target.name, target.read_bytes(), media
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, f"{target.name}/{path.name}")
        return f"{run_id}{suffix}", buffer.getvalue(), media
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def comparison(run_dirs: Sequence[Path], labels: Sequence[str]) -> Any:
    """Compare stored runs (:func:`blocsim.compare`), each labelled (``labels``, unique)."""
    from blocsim.report import compare

    return compare([str(path) for path in run_dirs], labels=list(labels))


def comparison_page(compared: Any, scratch: Path) -> str:
    """The offline comparison page (HTML text) of ``compared``, written in a server scratch folder and removed."""
    folder = scratch / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        return compared.to_html(folder / "comparison.html").read_text(encoding="utf-8")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def comparison_view(compared: Any) -> dict[str, Any]:
    """JSON-ready comparison: runs, variables, warnings, the wide table's columns and rows (full precision)."""
    table = compared.table
    frame = table.astype(object).where(table.notna(), None)
    return {
        # a run is named by its store id; the server's folder is not shown
        "runs": [{"run_id": Path(info.path).name, **{k: v for k, v in vars(info).items() if k != "path"}}
                 for info in compared.runs],
        "variables": list(compared.variables),
        "warnings": list(compared.warnings),
        "columns": [str(c) for c in table.columns],
        "rows": [[_plain(value) for value in row] for row in frame.itertuples(index=False)],
    }
