"""ADB Multiregional Input-Output (MRIO) summaries by country and sector.

Source
------
Asian Development Bank, MRIO tables (62 economies + RoW, 35 WIOD-style sectors, current
USD millions), summarised per country and sector (gross output, value added, domestic
sales, derived exports = gross output - domestic sales). Two layouts are read:

- country x sector (35 sectors): ``year, iso3, sector_id, sector_abbr, ...,
  gross_output, value_added, domestic_sales, exports_derived``;
- broad sectors: ``year, iso3, broad_sector, gross_output, value_added, domestic_sales,
  exports_derived``.

``value_added`` and ``domestic_sales`` may be slightly negative in IO tables (net taxes,
inventory changes); ``gross_output`` and ``exports_derived`` may not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocsim.data.loaders._io import (
    PathLike,
    SourceFile,
    check_unique,
    country_column,
    existing_file,
    first_row,
    integer_column,
    numeric_column,
    read_delimited,
    require_columns,
    tidy,
)

VALUE_COLUMNS = ("gross_output", "value_added", "domestic_sales", "exports_derived")
OPTIONAL_VALUE_COLUMNS = (
    "intermediate_inputs_used",
    "intermediate_sales",
    "final_demand_sales",
    "domestic_sales_intermediate",
    "domestic_sales_final",
)
_NON_NEGATIVE = {"gross_output", "exports_derived", "intermediate_inputs_used", "intermediate_sales"}
#: Allowed gap in gross_output = domestic_sales + exports_derived (the file rounds to 3 decimals).
IDENTITY_ATOL = 0.01


def load_adb_mrio(path: PathLike) -> pd.DataFrame:
    """Load an ADB MRIO country-sector summary (35 sectors or broad sectors).

    Parameters
    ----------
    path
        CSV or Parquet in one of the two layouts of the module docstring.

    Returns
    -------
    DataFrame
        ``country`` (ISO3; ``ROW`` = ADB's rest of the world), ``year``, ``sector`` (ADB
        abbreviation such as ``AHF``, or the broad-sector name), ``sector_id`` (1-35; 0 for
        broad sectors), ``sector_name``, and the value columns (USD millions, current):
        ``gross_output, value_added, domestic_sales, exports_derived`` plus any of
        :data:`OPTIONAL_VALUE_COLUMNS` present.

    Raises
    ------
    DataValidationError
        Missing columns, negative output or exports, a repeated (country, year, sector), or
        ``gross_output != domestic_sales + exports_derived`` beyond :data:`IDENTITY_ATOL`.
    """
    file = existing_file(path, what="ADB MRIO summary")
    what = "ADB MRIO summary"
    if file.suffix.lower() == ".parquet":
        source = SourceFile(file, row_offset=1)
        raw = pd.read_parquet(file).reset_index(drop=True)
    else:
        source = SourceFile(file)
        raw = read_delimited(file, sep=",", required=("year", "iso3"), what=what, dtype=str, na_values=())
    detailed = "sector_id" in raw.columns
    sector_column = "sector_abbr" if detailed else "broad_sector"
    require_columns(raw, ("year", "iso3", sector_column, *VALUE_COLUMNS), source, what=what)
    out = pd.DataFrame(index=raw.index)
    out["country"] = country_column(raw, "iso3", source)
    out["year"] = integer_column(raw, "year", source)
    out["sector"] = raw[sector_column].astype(str).str.strip()
    out["sector_id"] = integer_column(raw, "sector_id", source) if detailed else np.int64(0)
    name = raw["sector_name"] if "sector_name" in raw.columns else raw[sector_column]
    out["sector_name"] = name.astype(str)
    for column in (*VALUE_COLUMNS, *(c for c in OPTIONAL_VALUE_COLUMNS if c in raw.columns)):
        out[column] = numeric_column(raw, column, source, allow_missing=False, non_negative=column in _NON_NEGATIVE)
    gap = (out["gross_output"] - out["domestic_sales"] - out["exports_derived"]).abs()
    broken = gap > IDENTITY_ATOL + 1e-9 * out["gross_output"].abs()
    pos = first_row(broken)
    if pos is not None:
        raise source.error(
            pos, "exports_derived", f"gross_output {out.loc[pos, 'gross_output']} != domestic_sales "
            f"{out.loc[pos, 'domestic_sales']} + exports_derived {out.loc[pos, 'exports_derived']}; "
            "exports_derived must equal gross_output - domestic_sales"
        )
    check_unique(out, ("country", "year", "sector"), source)
    return tidy(out)
