"""CEPII GeoDist (``dist_cepii``, ``geo_cepii``) and CEPII Gravity loaders.

Sources
-------
- Mayer, T. and Zignago, S. (2011), "Notes on CEPII's distances measures: the GeoDist
  Database", CEPII Working Paper 2011-25. Distributed by CEPII as ``dist_cepii.xls/.csv``
  and ``geo_cepii.xls/.csv``; the CSV versions are ``;``-separated with ``.`` for missing
  and Latin-1 text. Copies re-written as comma CSV with empty cells are accepted too.
- Conte, M., Cotterlaz, P. and Mayer, T. (2022), "The CEPII Gravity database", CEPII
  Working Paper 2022-05 (release V202211): one row per (year, iso3_o, iso3_d); GDP and
  trade flows in thousands of current USD, population in thousands.

Old CEPII codes are rewritten (``ROM -> ROU``, ``ZAR -> COD``, ``TMP -> TLS``,
``PAL -> PSE``) and, in GeoDist only, ``YUG -> SRB`` (GeoDist's YUG is Serbia and
Montenegro, whose distances are Belgrade's).
"""

from __future__ import annotations

from typing import Literal

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
    sniff_header,
    tidy,
)
from blocsim.errors import DataValidationError

GEODIST_FIXES = {"YUG": "SRB"}
DIST_DUMMIES = ("contig", "comlang_off", "comlang_ethno", "colony", "comcol", "curcol", "col45", "smctry")
DIST_KM = ("dist", "distcap", "distw", "distwces")
_MISSING = (".", "")


def _read_geodist(
    path: PathLike, required: tuple[str, ...], what: str, *, encoding: str
) -> tuple[SourceFile, pd.DataFrame]:
    """Read a GeoDist file as text; they come ``;``-separated (CEPII original) or
    comma-separated (re-exports), so the separator is taken from the header."""
    source = SourceFile(existing_file(path, what=what))
    header = sniff_header(source.path, encoding="latin-1")
    for sep in (";", ","):
        names = [name.strip().strip('"') for name in header.split(sep)]
        if all(col in names for col in required[:2]):
            raw = read_delimited(
                source.path, sep=sep, required=required, what=what, dtype=str, na_values=(), encoding=encoding
            )
            return source, raw
    raise DataValidationError(
        f"{path}: row 1: wrong separator or header: a {what} file is ';'- or ','-separated with "
        f"columns {', '.join(required)}; the header read {header[:80]!r}; re-export it from CEPII"
    )


def _dummy(frame: pd.DataFrame, column: str, source: SourceFile) -> pd.Series:
    values = numeric_column(frame, column, source, missing=_MISSING, allow_missing=False)
    pos = first_row(~values.isin([0.0, 1.0]))
    if pos is not None:
        raise source.error(pos, column, f"value {values.loc[pos]!r} is not a 0/1 dummy; allowed are 0 and 1")
    return values.astype("int8")


def load_geodist_dist(path: PathLike) -> pd.DataFrame:
    """Load CEPII GeoDist ``dist_cepii`` (bilateral distances and dummies).

    Parameters
    ----------
    path
        ``dist_cepii.csv`` in CEPII's original format (``;``, ``.`` = missing, Latin-1) or
        as a comma CSV with empty cells for missing.

    Returns
    -------
    DataFrame
        One row per ordered pair (the diagonal holds internal distances):
        ``exporter, importer`` (ISO3, from ``iso_o, iso_d``), the dummies ``contig,
        comlang_off, comlang_ethno, colony, comcol, curcol, col45, smctry`` (int8, 0/1) and
        distances ``dist, distcap, distw, distwces`` (km, float64; NaN where CEPII has none).

    Raises
    ------
    DataValidationError
        Wrong separator, missing columns, unknown codes, non-0/1 dummies, negative
        distances, or a pair listed twice (also after old-code fixes).
    """
    required = ("iso_o", "iso_d", "contig", "comlang_off", "colony", "dist")
    source, raw = _read_geodist(path, required, "CEPII dist_cepii", encoding="latin-1")
    out = pd.DataFrame(index=raw.index)
    out["exporter"] = country_column(raw, "iso_o", source, extra_fixes=GEODIST_FIXES)
    out["importer"] = country_column(raw, "iso_d", source, extra_fixes=GEODIST_FIXES)
    for column in DIST_DUMMIES:
        if column in raw.columns:
            out[column] = _dummy(raw, column, source)
    for column in DIST_KM:
        if column in raw.columns:
            out[column] = numeric_column(raw, column, source, missing=_MISSING, non_negative=True)
    check_unique(out, ("exporter", "importer"), source)
    return tidy(out)


def load_geodist_geo(path: PathLike, *, city: Literal["capital", "main", "all"] = "capital") -> pd.DataFrame:
    """Load CEPII GeoDist ``geo_cepii`` (country attributes and city coordinates).

    Parameters
    ----------
    path
        ``geo_cepii.csv`` (``;``/Latin-1 original or comma/UTF-8 copy).
    city
        ``"capital"`` keeps one row per country: the capital (``cap == 1``) or, if none is
        flagged, the first listed city; ``"main"`` keeps the main city (``maincity == 1``,
        the one CEPII's distances use); ``"all"`` keeps every row (some countries have two).

    Returns
    -------
    DataFrame
        ``iso3`` (fixed as in :func:`load_geodist_dist`), ``iso2``, ``numeric`` (ISO numeric
        ``cnum``), ``name`` (``country``), ``area`` (km2), ``dis_int`` (internal distance,
        km), ``landlocked`` (0/1), ``continent``, ``city`` (``city_en``), ``lat``, ``lon``
        (degrees), ``cap``, ``maincity``, ``langoff_1..3`` and ``colonizer1`` where present.
    """
    required = ("iso3", "cnum", "country", "lat", "lon")
    source, raw = _read_geodist(path, required, "CEPII geo_cepii", encoding="utf-8-sig")
    out = pd.DataFrame(index=raw.index)
    out["iso3"] = country_column(raw, "iso3", source, extra_fixes=GEODIST_FIXES)
    out["iso2"] = raw.get("iso2", pd.Series("", index=raw.index)).fillna("").astype(str)
    out["numeric"] = integer_column(raw, "cnum", source)
    out["name"] = raw["country"].astype(str)
    for column in ("area", "dis_int"):
        if column in raw.columns:
            out[column] = numeric_column(raw, column, source, missing=_MISSING, non_negative=True)
    if "landlocked" in raw.columns:
        out["landlocked"] = _dummy(raw, "landlocked", source)
    if "continent" in raw.columns:
        out["continent"] = raw["continent"].astype(str)
    out["city"] = raw.get("city_en", pd.Series("", index=raw.index)).fillna("").astype(str)
    for column, bound in (("lat", 90.0), ("lon", 180.0)):
        values = numeric_column(raw, column, source, missing=_MISSING, allow_missing=False)
        pos = first_row(values.abs() > bound)
        if pos is not None:
            raise source.error(pos, column, f"value {values.loc[pos]!r} outside [-{bound:g}, {bound:g}] degrees")
        out[column] = values
    for column in ("cap", "maincity"):
        out[column] = (
            numeric_column(raw, column, source, missing=_MISSING).fillna(0).astype("int8")
            if column in raw.columns
            else np.int8(1)
        )
    for column in ("langoff_1", "langoff_2", "langoff_3", "colonizer1"):
        if column in raw.columns:
            out[column] = raw[column].fillna("").replace(".", "").astype(str)
    if city == "all":
        return tidy(out)
    if city not in ("capital", "main"):
        raise DataValidationError(f"city={city!r}: allowed are 'capital', 'main', 'all'")
    flag = "cap" if city == "capital" else "maincity"
    preferred = out.assign(_rank=(out[flag] != 1).astype(int), _pos=np.arange(len(out)))
    chosen = preferred.sort_values(["iso3", "_rank", "_pos"]).drop_duplicates("iso3", keep="first")
    return tidy(chosen.drop(columns=["_rank", "_pos"]))


#: CEPII Gravity columns kept (when present) besides the keys, with the factor that converts
#: them to blocsim units (thousands of USD -> USD millions: 1e-3; thousands of people -> millions: 1e-3).
GRAVITY_COLUMNS: dict[str, float] = {
    "dist": 1.0,
    "distw_harmonic": 1.0,
    "distw_arithmetic": 1.0,
    "distcap": 1.0,
    "contig": 1.0,
    "comlang_off": 1.0,
    "comlang_ethno": 1.0,
    "comcol": 1.0,
    "col45": 1.0,
    "col_dep_ever": 1.0,
    "sibling_ever": 1.0,
    "comrelig": 1.0,
    "gatt_o": 1.0,
    "gatt_d": 1.0,
    "wto_o": 1.0,
    "wto_d": 1.0,
    "eu_o": 1.0,
    "eu_d": 1.0,
    "fta_wto": 1.0,
    "rta_type": 1.0,
    "pop_o": 1e-3,
    "pop_d": 1e-3,
    "gdp_o": 1e-3,
    "gdp_d": 1e-3,
    "gdpcap_o": 1.0,
    "gdpcap_d": 1.0,
    "tradeflow_comtrade_o": 1e-3,
    "tradeflow_comtrade_d": 1e-3,
    "tradeflow_baci": 1e-3,
    "manuf_tradeflow_baci": 1e-3,
    "tradeflow_imf_o": 1e-3,
    "tradeflow_imf_d": 1e-3,
}
_NON_NEGATIVE = {"dist", "distw_harmonic", "distw_arithmetic", "distcap", "pop_o", "pop_d", "gdp_o", "gdp_d"} | {
    c for c in GRAVITY_COLUMNS if c.startswith(("tradeflow", "manuf_tradeflow"))
}
GravityTradeSource = Literal[
    "tradeflow_comtrade_d", "tradeflow_comtrade_o", "tradeflow_baci", "tradeflow_imf_d", "tradeflow_imf_o"
]


def load_cepii_gravity(path: PathLike, *, trade: GravityTradeSource = "tradeflow_comtrade_d") -> pd.DataFrame:
    """Load the CEPII Gravity database (V202211 CSV layout).

    Parameters
    ----------
    path
        ``Gravity_V202211.csv`` or an extract with the same columns (comma-separated,
        empty cells missing). Required: ``year, iso3_o, iso3_d, dist, contig, comlang_off``.
    trade
        Trade column copied to ``trade`` (importer-reported Comtrade by default).

    Returns
    -------
    DataFrame
        ``exporter, importer, year`` plus every column of :data:`GRAVITY_COLUMNS` found,
        with GDP and trade flows in USD millions (CEPII: thousands of current USD) and
        population in millions (CEPII: thousands), and ``trade`` (USD millions, NaN where the
        chosen source has no value). Rows with ``country_exists_o == 0`` or
        ``country_exists_d == 0`` (the country did not exist that year) are dropped.
    """
    required = ("year", "iso3_o", "iso3_d", "dist", "contig", "comlang_off")
    source = SourceFile(existing_file(path, what="CEPII Gravity"))
    raw = read_delimited(source.path, sep=",", required=required, what="CEPII Gravity", dtype=str, na_values=())
    if trade not in GRAVITY_COLUMNS or not trade.startswith("tradeflow"):
        raise DataValidationError(f"trade={trade!r}: allowed are {', '.join(GravityTradeSource.__args__)}")
    for flag in ("country_exists_o", "country_exists_d"):
        if flag in raw.columns:
            exists = numeric_column(raw, flag, source).fillna(1.0)
            raw = raw.loc[exists.to_numpy() != 0]
    out = pd.DataFrame(index=raw.index)
    out["exporter"] = country_column(raw, "iso3_o", source)
    out["importer"] = country_column(raw, "iso3_d", source)
    out["year"] = integer_column(raw, "year", source)
    for column, factor in GRAVITY_COLUMNS.items():
        if column in raw.columns:
            values = numeric_column(raw, column, source, non_negative=column in _NON_NEGATIVE)
            out[column] = values * factor
    out["trade"] = out[trade] if trade in out.columns else np.nan
    check_unique(out, ("exporter", "importer", "year"), source)
    return tidy(out)
