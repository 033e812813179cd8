"""World Bank sources: WDI indicator exports and the "Total trade every 4 years" / DTA panel.

Sources
-------
- World Bank, World Development Indicators (CC BY 4.0). Three layouts are read:
  the DataBank "wide" export (``Country Name, Country Code, Series Name, Series Code,
  2008 [YR2008], ...``; ``..`` = missing; footer lines ``Data from database: ...`` and
  ``Last Updated: ...``), the bulk/API CSV (four metadata lines, then ``Country Name,
  Country Code, Indicator Name, Indicator Code, 1960, ...``), and a long table
  ``iso3, [country_name], year, <value column>``.
- World Bank / LSE CEP "Total trade, every 4 years" (Comtrade merchandise exports,
  exporter-reported, current USD) with the World Bank Deep Trade Agreements ids and names
  (Mattoo, Rocha and Ruta 2020), as shipped by the R package penppml (``exp, imp, time,
  export, id, agreement`` + provision dummies), in Parquet or CSV.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from blocsim.data.countries import WB_AGGREGATES
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
    sniff_header,
    tidy,
)

#: Long-format value columns of known meaning -> WDI series code.
WDI_LONG_COLUMNS = {
    "gdp_constant_2010_usd": "NY.GDP.MKTP.KD",
    "gdp_current_usd": "NY.GDP.MKTP.CD",
}
USD_TO_MILLIONS = 1e-6
_DROPPED = WB_AGGREGATES | {"WLD"}
#: Series that cannot be negative (levels of output, population and gross trade).
NON_NEGATIVE_SERIES = frozenset(
    {
        "NY.GDP.MKTP.CD", "NY.GDP.MKTP.KD", "NY.GDP.MKTP.PP.CD", "NY.GDP.MKTP.PP.KD", "NY.GNP.MKTP.CD",
        "SP.POP.TOTL", "NE.EXP.GNFS.CD", "NE.IMP.GNFS.CD", "TX.VAL.MRCH.CD.WT", "TM.VAL.MRCH.CD.WT",
    }
)


def _wdi_unit(code: str) -> tuple[float, str]:
    """Scale factor and unit for a WDI series: ``*.CD`` / ``*.KD`` (US$) become USD millions."""
    if code.endswith(".CD"):
        return USD_TO_MILLIONS, "USD millions, current"
    if code.endswith(".KD"):
        return USD_TO_MILLIONS, "USD millions, constant prices"
    return 1.0, "as published"


def load_wdi(path: PathLike, *, drop_aggregates: bool = True) -> pd.DataFrame:
    """Load a World Development Indicators CSV (DataBank wide, bulk/API wide, or long).

    Parameters
    ----------
    path
        The CSV file.
    drop_aggregates
        Drop the world (``WLD``) and World Bank regional/income aggregates (``EUU``,
        ``ECS`` ...).

    Returns
    -------
    DataFrame
        ``country`` (ISO3), ``year`` (int), ``indicator`` (WDI series code), ``value``
        (float64; US$ series ``*.CD``/``*.KD`` converted to USD millions), ``unit``.
        Missing cells (``..`` or empty) give no row.
    """
    source_path = existing_file(path, what="World Bank WDI")
    head = [sniff_header(source_path, skip=k) for k in range(5)]
    if any(line.startswith('"Data Source"') or line.startswith("Data Source") for line in head[:1]):
        skip = next(k for k, line in enumerate(head) if "Country Code" in line)
        return _wdi_wide(source_path, skip, "Indicator Code", drop_aggregates)
    if "Series Code" in head[0]:
        return _wdi_wide(source_path, 0, "Series Code", drop_aggregates)
    return _wdi_long(source_path, drop_aggregates)


def _wdi_wide(path: Path, skip: int, code_column: str, drop_aggregates: bool) -> pd.DataFrame:
    source = SourceFile(path, row_offset=2 + skip)
    raw = read_delimited(
        path, sep=",", required=("Country Code", code_column), what="World Bank WDI", dtype=str,
        na_values=(), skiprows=skip,
    )
    footer = raw["Country Code"].isna() | (raw["Country Code"].astype(str).str.strip() == "")
    body = raw.loc[~footer]
    if footer.any() and not footer.loc[footer.idxmax():].all():
        pos = int(footer.idxmax())
        raise source.error(pos, "Country Code", "empty country code inside the data (only footer lines may lack one)")
    year_columns = {c: year for c in raw.columns if (year := parse_wdi_year(c)) is not None}
    if not year_columns:
        raise source.error(None, "year", "no year columns such as '2008 [YR2008]' or '2008' found")
    if drop_aggregates:
        body = body.loc[~body["Country Code"].str.strip().str.upper().isin(_DROPPED)]
    countries = country_column(body, "Country Code", source)
    check_unique(body.assign(_c=countries), ("_c", code_column), source)
    parts = []
    for column, year in year_columns.items():
        values = numeric_column(body, column, source, missing=("..",))
        _check_sign(values, body[code_column].str.strip(), source, column)
        parts.append(
            pd.DataFrame({"country": countries, "year": year, "indicator": body[code_column].str.strip(), "value": values})
        )
    return _wdi_finish(pd.concat(parts))


def _wdi_long(path: Path, drop_aggregates: bool) -> pd.DataFrame:
    source = SourceFile(path)
    raw = read_delimited(path, sep=",", required=("iso3", "year"), what="World Bank WDI (long)", dtype=str, na_values=())
    value_columns = [c for c in raw.columns if c in WDI_LONG_COLUMNS or c == "value"]
    if not value_columns:
        raise source.error(
            None, "value", f"no value column; a long WDI table needs one of {', '.join([*WDI_LONG_COLUMNS, 'value'])}"
        )
    if "value" in value_columns:
        require_columns(raw, ("indicator",), source, what="World Bank WDI (long)")
    if drop_aggregates:
        raw = raw.loc[~raw["iso3"].str.strip().str.upper().isin(_DROPPED)]
    countries = country_column(raw, "iso3", source)
    years = integer_column(raw, "year", source)
    parts = []
    for column in value_columns:
        indicator = raw["indicator"] if column == "value" else pd.Series(WDI_LONG_COLUMNS[column], index=raw.index)
        _check_sign(numeric_column(raw, column, source, missing=("..",)), indicator, source, column)
        parts.append(
            pd.DataFrame(
                {
                    "country": countries,
                    "year": years,
                    "indicator": indicator,
                    "value": numeric_column(raw, column, source, missing=("..",)),
                }
            )
        )
    frame = pd.concat(parts)
    check_unique(frame, ("country", "year", "indicator"), source)
    return _wdi_finish(frame)


def _check_sign(values: pd.Series, indicator: pd.Series, source: SourceFile, column: str) -> None:
    """Reject negative values of series in :data:`NON_NEGATIVE_SERIES` (others may be negative)."""
    pos = first_row((values < 0) & indicator.isin(NON_NEGATIVE_SERIES))
    if pos is not None:
        raise source.error(
            pos, column, f"negative value {values.loc[pos]!r} for {indicator.loc[pos]}; this series must be >= 0"
        )


def _wdi_finish(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.loc[frame["value"].notna()].copy()
    scale = frame["indicator"].map(lambda code: _wdi_unit(code)[0])
    frame["unit"] = frame["indicator"].map(lambda code: _wdi_unit(code)[1])
    frame["value"] = frame["value"] * scale.astype("float64")
    frame = frame.sort_values(["indicator", "country", "year"], kind="stable")
    return tidy(frame[["country", "year", "indicator", "value", "unit"]])


def load_wb_trade_every4y(path: PathLike) -> pd.DataFrame:
    """Load the World Bank "Total trade every 4 years" panel with DTA agreement ids (penppml).

    Parameters
    ----------
    path
        Parquet or CSV with columns ``exp, imp, time, export`` (USD) and optionally ``id``,
        ``agreement`` and provision dummies (``*_prov_*``).

    Returns
    -------
    DataFrame
        ``exporter, importer`` (ISO3, old codes fixed; ``BLX``, ``UNS`` ... kept),
        ``year``, ``trade`` (USD millions = export / 1e6), ``agreement_id`` (0 = none),
        ``agreement`` (name, empty if none) and the provision columns as read. The source has
        no domestic flows.
    """
    file = existing_file(path, what="World Bank trade every 4 years")
    required = ("exp", "imp", "time", "export")
    what = "World Bank trade every 4 years"
    if file.suffix.lower() == ".parquet":
        source = SourceFile(file, row_offset=1)
        raw = pd.read_parquet(file)
        require_columns(raw, required, source, what=what)
        raw = raw.reset_index(drop=True)
    else:
        source = SourceFile(file)
        raw = read_delimited(file, sep=",", required=required, what=what, dtype=str, na_values=())
    out = pd.DataFrame(index=raw.index)
    out["exporter"] = country_column(raw, "exp", source)
    out["importer"] = country_column(raw, "imp", source)
    out["year"] = integer_column(raw, "time", source)
    out["trade"] = numeric_column(raw, "export", source, allow_missing=False, non_negative=True) * USD_TO_MILLIONS
    out["agreement_id"] = integer_column(raw, "id", source) if "id" in raw.columns else np.int64(0)
    agreement = raw["agreement"] if "agreement" in raw.columns else pd.Series("", index=raw.index)
    out["agreement"] = agreement.fillna("").astype(str).str.strip()
    for column in [c for c in raw.columns if "_prov_" in c]:
        out[column] = numeric_column(raw, column, source)
    check_unique(out, ("exporter", "importer", "year"), source)
    if (out["exporter"] == out["importer"]).any():
        pos = int(out.index[(out["exporter"] == out["importer"]).to_numpy()][0])
        raise source.error(pos, "imp", "exporter equals importer; this source has no domestic flows")
    return tidy(out)


def parse_wdi_year(label: str) -> int | None:
    """Year of a WDI column label such as ``'2008 [YR2008]'`` or ``'2008'`` (None otherwise)."""
    match = re.match(r"^(\d{4})(?: \[YR\d{4}\])?$", label.strip())
    return int(match.group(1)) if match else None
