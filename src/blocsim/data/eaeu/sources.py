"""Read the original public files the EAEU recipe is built from (one sub-folder per source).

The tabular sources go through the public loaders of :mod:`blocsim.data.loaders` (code
normalisation such as ``ROM -> ROU``, units to USD millions, validation with file, row and
column in every error): World Bank trade every 4 years, WDI, ADB MRIO, CEPII GeoDist. The
NSF-Kellogg EIA Parquet (2.4 million rows) is read directly with a year filter, and the
hand-compiled policy files with pandas; both are checked for their columns here. Errors
name the file, the column and a fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from blocsim.data.countries import code_kind, normalize_codes
from blocsim.data.loaders.adb_mrio import load_adb_mrio
from blocsim.data.loaders.cepii import load_geodist_dist, load_geodist_geo
from blocsim.data.loaders.worldbank import load_wb_trade_every4y, load_wdi
from blocsim.errors import DataValidationError

#: Relative paths of the files the recipe reads, keyed by role.
FILES: dict[str, str] = {
    "trade": "wb_trade_agreements_penppml/trade_2000_2016_every4y.csv",
    "gdp": "gdp_worldbank/gdp_current_usd_1960_2016_wwmetrics.csv",
    "mrio": "adb_mrio_sector_summary/adb_mrio62_country_sector_summary_2000_2007_2022.csv",
    "dist": "cepii_geodist/dist_cepii.csv",
    "geo": "cepii_geodist/geo_cepii.csv",
    "eia": "nsf_kellogg_eia/eia_1950_2012.parquet",
    "policy": "eaeu_policy_reference/published_tariff_and_policy_figures.csv",
    "timeline": "eaeu_policy_reference/eaeu_timeline.csv",
    "food": "russia_food_ban_2013_trade_values/russia_food_imports_2013_published_figures.csv",
    "mfn2006": "yotov2016/ch1_exercise2_mfn_tariff.csv",
}

_COLUMNS: dict[str, tuple[str, ...]] = {
    "eia": ("year", "origin", "destination", "eia_level"),
    "policy": ("country", "indicator", "period", "value", "unit", "source_citation", "source_url"),
    "timeline": ("date", "event", "countries", "source_citation", "source_url"),
    "food": ("table", "origin", "destination", "year", "value", "unit", "source_citation", "source_url"),
    "mfn2006": ("exporter", "importer", "year", "MFN_TARIFF"),
}
GDP_INDICATOR = "NY.GDP.MKTP.CD"


@dataclass(frozen=True)
class Sources:
    """The raw tables, restricted to what the recipe needs (codes normalised).

    Attributes
    ----------
    trade : DataFrame
        ``exporter, importer, year, trade`` (USD millions), ``agreement`` for the dataset's years.
    gdp : DataFrame
        ``iso3, year, gdp`` (current USD millions) for the dataset's years, countries only.
    mrio : DataFrame
        ADB MRIO summary rows (USD million) for the dataset's years; ``iso3`` incl. ``ROW``.
    dist : DataFrame
        CEPII GeoDist pairs ``iso_o, iso_d, contig, comlang_off, colony, dist, distw``.
    geo : DataFrame
        CEPII GeoDist capitals ``iso3, lat, lon``.
    eia : DataFrame
        NSF-Kellogg EIA rows for the dataset's years up to 2012.
    policy, timeline, food, mfn2006 : DataFrame
        Published policy figures, EAEU timeline, 2013 food-import figures, Yotov et al.
        (2016) MFN tariffs.
    paths : dict
        Role -> absolute path read.
    """

    trade: pd.DataFrame
    gdp: pd.DataFrame
    mrio: pd.DataFrame
    dist: pd.DataFrame
    geo: pd.DataFrame
    eia: pd.DataFrame
    policy: pd.DataFrame
    timeline: pd.DataFrame
    food: pd.DataFrame
    mfn2006: pd.DataFrame
    paths: dict[str, Path]


def _path(source_dir: Path, role: str) -> Path:
    path = Path(source_dir) / FILES[role]
    if not path.is_file():
        raise DataValidationError(
            f"{path}: file not found (needed as the {role!r} input of the EAEU recipe); fix: pass "
            f"--from pointing at the folder that holds {FILES[role]}"
        )
    return path


def _read(source_dir: Path, role: str, **kwargs: object) -> pd.DataFrame:
    path = _path(source_dir, role)
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path, columns=list(_COLUMNS[role]))
    else:
        frame = pd.read_csv(path, **kwargs)  # type: ignore[arg-type]
    missing = [c for c in _COLUMNS[role] if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{path}: missing columns {missing} (found {list(frame.columns)[:12]}); fix: use the "
            f"file as published (DATA.md, EAEU dataset 2016v1, sources)"
        )
    return frame.loc[:, list(_COLUMNS[role])]


def _codes(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    return normalize_codes(frame[column], source=str(path), column=column)


def read_sources(source_dir: Path, years: tuple[int, ...]) -> Sources:
    """Read and validate every input of the recipe.

    Parameters
    ----------
    source_dir
        Folder with one sub-folder per source (see :data:`FILES`).
    years
        Years to keep from the time-varying files.

    Returns
    -------
    Sources

    Raises
    ------
    DataValidationError
        A file is missing, lacks a column, or holds an unknown country code.
    """
    source_dir = Path(source_dir)
    paths = {role: _path(source_dir, role) for role in FILES}

    trade = load_wb_trade_every4y(paths["trade"])
    trade = trade.loc[trade["year"].isin(years), ["exporter", "importer", "year", "trade", "agreement"]]

    wdi = load_wdi(paths["gdp"])
    wdi = wdi[(wdi["indicator"] == GDP_INDICATOR) & wdi["year"].isin(years)]
    if wdi.empty:
        raise DataValidationError(
            f"{paths['gdp']}: no {GDP_INDICATOR} values for {list(years)}; fix: use a WDI file with "
            "current-USD GDP for these years"
        )
    gdp = wdi.rename(columns={"country": "iso3", "value": "gdp"}).loc[:, ["iso3", "year", "gdp"]]
    gdp = gdp[gdp["iso3"].map(code_kind) == "country"].reset_index(drop=True)

    mrio = load_adb_mrio(paths["mrio"]).rename(columns={"country": "iso3"})
    mrio = mrio[mrio["year"].isin(years)].reset_index(drop=True)

    dist = load_geodist_dist(paths["dist"]).rename(columns={"exporter": "iso_o", "importer": "iso_d"})
    geo = load_geodist_geo(paths["geo"], city="capital").loc[:, ["iso3", "lat", "lon"]]

    eia = _read(source_dir, "eia")
    eia = eia[eia["year"].isin(years)].copy()
    eia["origin"] = _codes(eia, "origin", paths["eia"])
    eia["destination"] = _codes(eia, "destination", paths["eia"])

    policy = _read(source_dir, "policy", keep_default_na=False, dtype=str)
    timeline = _read(source_dir, "timeline", keep_default_na=False, dtype=str)
    food = _read(source_dir, "food", keep_default_na=False, dtype={"year": str, "origin": str})
    mfn = _read(source_dir, "mfn2006")
    mfn = mfn[mfn["year"] == mfn["year"].max()].copy()
    mfn["importer"] = _codes(mfn, "importer", paths["mfn2006"])
    mfn["exporter"] = _codes(mfn, "exporter", paths["mfn2006"])
    return Sources(trade, gdp, mrio, dist, geo, eia, policy, timeline, food, mfn, paths)
