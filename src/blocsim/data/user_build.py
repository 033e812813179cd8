"""``blocsim data build NAME``: turn a user's flows (and tariffs) into a model dataset in the store.

The input is a table of flows (a CSV or Parquet file, or a dataset imported into the store
with ``blocsim data import``, e.g. ITPD-E or an ICIO extract) with columns ``exporter,
importer, [sector,] year, trade`` (USD millions, domestic flows exporter == importer
included) and, optionally, a table of bilateral tariffs ``importer, exporter, [sector,] year,
tariff [, source, flag]`` (ad valorem fractions, 0.05 = 5 %). The result has the tables of the
bundled EAEU dataset v2 (:mod:`blocsim.data.eaeu_v2.build`): ``flows``, ``gravity``,
``tariffs`` (per importer: regime ``mfn``, ``cet``), ``countries``, ``sectors`` and the
bilateral ``tariffs_bilateral`` with a source and flag per row, written with the same Parquet
settings, and it is stored under ``$BLOCSIM_HOME/store/datasets/NAME/``.

Rules, as in the v2 recipe (:mod:`blocsim.data.eaeu_v2.tariffs`):

- the panel is completed: a cell of (exporter, importer, sector, year) missing from the input
  is 0 with flag ``not_reported_zero`` in ``imputed``; repeated cells are summed (an ITPD-E
  import has several industries per broad sector); every region needs domestic sales in every
  year (general equilibrium rests on them);
- a bilateral tariff missing from the input (or given empty) is 0 with flag ``assumed``;
- an importer's ``mfn`` rate for a sector and year is the median over exporters outside the
  CIS free trade area of its given bilateral rates (0, flagged as an assumption, when none is
  given); a union member (:data:`~blocsim.data.eaeu_v2.tariffs.MEMBER_FROM`) also has a
  ``cet`` row, the median over the founders present of their ``mfn`` rates;
- covariates: distance, contiguity, common language and colony from the bundled dataset v2
  for pairs it has (empty otherwise); ``cu``/``fta`` from the union's and the CIS FTA's
  membership dates.

The build is all-or-nothing: the tables are written to a temporary folder inside the store and
renamed into place; an existing dataset of the same name is replaced only with ``force``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from blocsim.data.loaders._io import (
    SourceFile,
    check_range,
    check_unique,
    country_column,
    first_row,
    integer_column,
    not_allowed,
    numeric_column,
    require_columns,
)
from blocsim.errors import DataValidationError, StoreError

RECIPE_VERSION = "1.0"
#: Tables of a built dataset (``<name>.parquet``); the first five are the Dataset contract's.
TABLE_NAMES: tuple[str, ...] = ("flows", "gravity", "tariffs", "countries", "sectors", "tariffs_bilateral")
#: Flag of a tariff row filled in because the input gives none (the rate is then 0).
ASSUMED = "assumed"
#: Flag of a tariff row taken from the input without a flag of its own.
GIVEN = "given"
#: Largest accepted tariff (ad valorem fraction): 5 = 500 %; larger values are taken for percent.
MAX_TARIFF = 5.0
#: Sector code of flows given without a sector column.
TOTAL_SECTOR = "total"
_SECTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
FLAG_LEGEND: dict[str, str] = {
    "": "value of the flows input",
    "not_reported_zero": "cell absent from the flows input: 0",
}


@dataclass(frozen=True)
class BuildResult:
    """Outcome of :func:`build_dataset`: where the dataset was stored and what it holds."""

    name: str
    path: Path
    regions: int
    sectors: int
    years: tuple[int, ...]
    assumed_tariff_rows: int
    tariff_rows: int
    replaced: bool


def built_root(home: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the built datasets: ``<home>/store/datasets`` (home: ``$BLOCSIM_HOME`` or ``~/.blocsim``)."""
    from blocsim.data.store import default_home

    return (Path(home) if home is not None else default_home()) / "store" / "datasets"


# ------------------------------------------------------------------------------ input


def read_input(spec: str, option: str, home: str | os.PathLike[str] | None) -> tuple[pd.DataFrame, str, int]:
    """The table named by a ``--flows``/``--tariffs`` value: a CSV/Parquet file or a store dataset.

    Returns
    -------
    frame, label, first_row
        The table (text columns as str), a label for messages (the file path or
        ``store dataset NAME``) and the line/row number of its first row (2 for CSV, below the
        header; 1 otherwise).

    Raises
    ------
    DataValidationError
        A file that cannot be read, or a value that is neither a file nor a stored dataset.
    """
    path = Path(spec)
    suffixes = "".join(path.suffixes[-2:]).lower()
    if path.is_file() or suffixes.endswith((".csv", ".parquet", ".csv.gz")):
        if not path.is_file():
            raise DataValidationError(f"{option} {spec}: no such file; give a CSV or Parquet file or the name of a "
                                      "dataset in the store (blocsim data list)")
        try:
            if suffixes.endswith(".parquet"):
                return pd.read_parquet(path), str(path), 1
            return pd.read_csv(path, dtype=str, keep_default_na=False), str(path), 2
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise DataValidationError(f"{option} {spec}: cannot read the file ({error}); give a CSV (comma-"
                                      "separated, header row) or Parquet file") from None
    from blocsim.data.store import Store

    try:
        return Store(home).table(spec), f"store dataset {spec}", 1
    except StoreError as error:
        raise DataValidationError(f"{option} {spec}: not a file, and {error}") from None


def source_of(label: str, first: int) -> SourceFile:
    """The :class:`~blocsim.data.loaders._io.SourceFile` of an input read by :func:`read_input`, for the
    loaders' shared checks: ``label`` names it in messages, ``first`` is the row number of its first row."""
    return SourceFile(Path(label), row_offset=first)


#: What the ``year`` column of an input allows.
YEAR_ALLOWED = "a whole year from 1900 to 2100"


def _years(frame: pd.DataFrame, source: SourceFile) -> pd.Series:
    years = integer_column(frame, "year", source, allowed=YEAR_ALLOWED)
    check_range(years, "year", source, 1900, 2100, allowed=YEAR_ALLOWED)
    return years


def _sectors(frame: pd.DataFrame, source: SourceFile) -> pd.Series:
    sectors = frame["sector"].astype(str).str.strip()
    pos = first_row(~sectors.str.fullmatch(_SECTOR.pattern))
    if pos is not None:
        raise source.error(pos, "sector", not_allowed(frame["sector"].loc[pos], "a sector code of letters, digits, "
                                                      "'_', '.', '-' (up to 40 characters)"))
    return sectors


def clean_flows(raw: pd.DataFrame, label: str, first: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Validated, aggregated and completed flows ``exporter, importer, sector, year, trade, imputed``.

    Returns
    -------
    flows, counts
        The panel (every exporter x importer x sector x year, USD millions) sorted by those
        keys, and ``{"input_rows", "summed_rows", "filled_cells"}``.

    Raises
    ------
    DataValidationError
        A missing column or a bad value (naming the row, column and value), or a region without
        domestic sales in a year.
    """
    source = source_of(label, first)
    raw = raw.reset_index(drop=True)
    require_columns(raw, ("exporter", "importer", "year", "trade"), source, what="flows", optional=("sector",))
    if raw.empty:
        raise DataValidationError(f"{label}: no rows; give at least one flow per region and year")
    frame = pd.DataFrame({
        "exporter": country_column(raw, "exporter", source),
        "importer": country_column(raw, "importer", source),
        "sector": _sectors(raw, source) if "sector" in raw.columns else TOTAL_SECTOR,
        "year": _years(raw, source),
        "trade": numeric_column(raw, "trade", source, allow_missing=False, non_negative=True,
                                allowed="a finite number >= 0 (USD millions)"),
    })
    keys = ["exporter", "importer", "sector", "year"]
    summed = frame.groupby(keys, sort=True, as_index=False)["trade"].sum()
    regions = sorted(set(summed["exporter"]) | set(summed["importer"]))
    sectors = sorted(summed["sector"].unique())
    years = sorted(int(y) for y in summed["year"].unique())
    grid = pd.MultiIndex.from_product([regions, regions, sectors, years], names=keys).to_frame(index=False)
    panel = grid.merge(summed, on=keys, how="left", indicator=True)
    filled = panel["_merge"].eq("left_only")
    panel["trade"] = panel["trade"].fillna(0.0)
    panel["imputed"] = np.where(filled, "not_reported_zero", "")
    panel = panel.drop(columns="_merge")
    domestic = panel[panel["exporter"] == panel["importer"]].groupby(["exporter", "year"])["trade"].sum()
    lacking = domestic[domestic <= 0]
    if not lacking.empty:
        region, year = lacking.index[0]
        raise source.error(
            None, "trade", f"region {region!r} has no domestic sales (exporter == importer == {region}) in year "
            f"{year}; allowed: a positive flow from each region to itself in every year (general equilibrium rests on "
            "it): use a source with domestic trade (ITPD-E, ICIO) or add those rows"
        )
    counts = {"input_rows": int(len(frame)), "summed_rows": int(len(frame) - len(summed)),
              "filled_cells": int(filled.sum())}
    return panel.reset_index(drop=True), counts


def clean_tariffs(raw: pd.DataFrame | None, label: str, first: int, flows: pd.DataFrame) -> pd.DataFrame:
    """Bilateral tariffs ``importer, exporter, sector, year, tariff, source, flag`` on the flows' panel.

    Every (importer, exporter != importer, sector, year) of ``flows`` has a row: the input's
    rate with its ``source``/``flag`` (defaults: the input's label, :data:`GIVEN`), else 0 with
    flag :data:`ASSUMED`. Input rows for years outside the flows' years are not used.

    Raises
    ------
    DataValidationError
        A missing column, a bad value (naming row, column and value), a region or sector not in
        the flows, a tariff on a region's own sales, or the same cell given twice.
    """
    regions = sorted(flows["exporter"].unique())
    sectors = sorted(flows["sector"].unique())
    years = sorted(int(y) for y in flows["year"].unique())
    keys = ["importer", "exporter", "sector", "year"]
    grid = pd.MultiIndex.from_product([regions, regions, sectors, years], names=keys).to_frame(index=False)
    grid = grid[grid["importer"] != grid["exporter"]]
    if raw is not None and is_wits(raw):
        raw = wits_tariffs(raw, label, regions, sectors)
    given = pd.DataFrame({"importer": pd.Series(dtype=str), "exporter": pd.Series(dtype=str),
                          "sector": pd.Series(dtype=str), "year": pd.Series(dtype="int64"),
                          "tariff": pd.Series(dtype=float), "source": pd.Series(dtype=str),
                          "flag": pd.Series(dtype=str)})
    if raw is not None:
        source = source_of(label, first)
        raw = raw.reset_index(drop=True)
        require_columns(raw, ("importer", "exporter", "year", "tariff"), source, what="tariffs",
                        optional=("sector", "source", "flag"))
        allowed = (f"empty (no tariff known: 0, flagged {ASSUMED!r}) or an ad valorem fraction from 0 to "
                   f"{MAX_TARIFF:g} (0.05 = 5 %)")
        frame = pd.DataFrame({
            "importer": country_column(raw, "importer", source),
            "exporter": country_column(raw, "exporter", source),
            "year": _years(raw, source),
            "tariff": numeric_column(raw, "tariff", source, allowed=allowed),
            "source": (raw["source"].fillna("").astype(str).str.strip() if "source" in raw.columns else ""),
            "flag": (raw["flag"].fillna("").astype(str).str.strip() if "flag" in raw.columns else ""),
        })
        check_range(frame["tariff"], "tariff", source, 0.0, MAX_TARIFF, allowed=allowed)
        if "sector" in raw.columns:
            frame.insert(2, "sector", _sectors(raw, source))
        _check_members(frame, source, regions, sectors)
        check_unique(frame, [key for key in keys if key in frame.columns], source)
        if "sector" not in frame.columns:
            frame = frame.merge(pd.DataFrame({"sector": sectors}), how="cross")
        frame = frame[frame["year"].isin(years)]
        frame["source"] = frame["source"].mask(frame["source"].eq(""), f"tariffs input ({label})")
        frame["flag"] = frame["flag"].mask(frame["flag"].eq(""), GIVEN)
        missing = frame["tariff"].isna()
        frame.loc[missing, "flag"] = ASSUMED
        given = frame[~missing]
    table = grid.merge(given, on=keys, how="left")
    assumed = table["tariff"].isna()
    table["tariff"] = table["tariff"].fillna(0.0).astype(float).round(6)
    table["source"] = table["source"].where(~assumed, "assumption: no tariff given in the tariffs input; 0")
    table["flag"] = table["flag"].where(~assumed, ASSUMED)
    table["year"] = table["year"].astype("int64")
    return table.sort_values(keys, kind="stable", ignore_index=True)


WITS_COLUMNS: tuple[str, ...] = ("importer", "exporter", "product", "year", "duty_type", "simple_average")
#: WITS product codes that mean all products (the rate then applies to every sector).
WITS_ALL_PRODUCTS: frozenset[str] = frozenset({"total", "all products", "all", "999999"})


def is_wits(frame: pd.DataFrame) -> bool:
    """Whether a tariffs table is a WITS/TRAINS import (``blocsim data import wits``) rather than the
    ``importer, exporter, [sector,] year, tariff`` layout."""
    return "tariff" not in frame.columns and set(WITS_COLUMNS) <= set(frame.columns)


def wits_tariffs(frame: pd.DataFrame, label: str, regions: Sequence[str], sectors: Sequence[str]) -> pd.DataFrame:
    """A WITS import as ``importer, exporter, sector, year, tariff, source, flag`` on the flows' regions.

    Rows of duty type AHS (effectively applied) only; the rate is the import-weighted average where
    WITS gives one, else the simple average (fractions). Partner ``WLD`` stands for every exporter
    without a row of its own, product ``Total`` for every sector without a row of its own (a product
    code equal to a sector of the flows is that sector); a sector's own row comes first, then a
    partner's own row. Rows for other importers, partners or products are not used.

    Raises
    ------
    DataValidationError
        No usable AHS row (naming the table and what is needed).
    """
    ahs = frame[frame["duty_type"].astype(str).str.lower() == "ahs"]
    product = ahs["product"].astype(str).str.strip()
    whole = product.str.lower().isin(WITS_ALL_PRODUCTS)
    usable = ahs[(whole | product.isin(sectors)).to_numpy() & ahs["importer"].isin(regions).to_numpy()
                 & (ahs["exporter"].isin(regions) | ahs["exporter"].eq("WLD")).to_numpy()]
    if usable.empty:
        raise DataValidationError(
            f"{label}: a WITS import with no usable row; allowed: rows of duty type AHS whose reporter is a region of "
            f"the flows ({', '.join(list(regions)[:12])}), partner WLD or such a region, product Total or a sector "
            "of the flows"
        )
    weighted = usable["weighted_average"] if "weighted_average" in usable.columns else pd.Series(np.nan, usable.index)
    basis = np.where(weighted.notna(), "import-weighted", "simple")
    cells = pd.DataFrame({
        "importer": usable["importer"].to_numpy(), "exporter": usable["exporter"].to_numpy(),
        "product": usable["product"].astype(str).str.strip().to_numpy(), "year": usable["year"].to_numpy(),
        "tariff": weighted.fillna(usable["simple_average"]).to_numpy(),
        "source": [f"WITS effectively applied tariff (AHS), {b} average ({label})" for b in basis],
        "flag": "wits_ahs",
    })
    cells["priority"] = cells["exporter"].eq("WLD").astype(int) + 2 * ~cells["product"].isin(sectors)
    cells = cells.merge(pd.DataFrame({"sector": list(sectors)}), how="cross")
    cells = cells[cells["product"].eq(cells["sector"]) | ~cells["product"].isin(sectors)]
    partners = pd.DataFrame({"partner": list(regions)})
    cells = cells.merge(partners, how="cross")
    cells = cells[(cells["exporter"].eq(cells["partner"]) | cells["exporter"].eq("WLD"))
                  & cells["partner"].ne(cells["importer"])]
    cells = cells.sort_values("priority", kind="stable").drop_duplicates(["importer", "partner", "sector", "year"])
    out = cells.drop(columns=["exporter", "product", "priority"]).rename(columns={"partner": "exporter"})
    return out[["importer", "exporter", "sector", "year", "tariff", "source", "flag"]].reset_index(drop=True)


def _check_members(frame: pd.DataFrame, source: SourceFile, regions: list[str], sectors: list[str]) -> None:
    """Regions and sectors of a tariffs table must be the flows'; no tariff on a region's own sales."""
    for column, allowed in (("importer", regions), ("exporter", regions), ("sector", sectors)):
        if column not in frame.columns:
            continue
        pos = first_row(~frame[column].isin(allowed))
        if pos is not None:
            raise source.error(pos, column, not_allowed(
                frame[column].loc[pos], f"a {'sector' if column == 'sector' else 'region'} of the flows: "
                f"{', '.join(allowed[:12])}{', ...' if len(allowed) > 12 else ''}"))
    pos = first_row(frame["importer"] == frame["exporter"])
    if pos is not None:
        raise source.error(pos, "exporter", not_allowed(frame["exporter"].loc[pos], "a region other than the importer "
                                                        "(domestic sales carry no tariff)"))
