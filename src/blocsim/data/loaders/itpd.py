"""USITC International Trade and Production Database for Estimation (ITPD-E) loader.

Source
------
Borchert, I., Larch, M., Shikher, S. and Yotov, Y. V. (2021), "The International Trade and
Production Database for Estimation (ITPD-E)", International Economics 166, 140-166;
USITC working paper 2020-05-C. Release files ``ITPD_E_R0x.csv``: columns
``exporter_iso3, exporter_name, importer_iso3, importer_name, year, industry_id,
industry_descr, broad_sector, trade, flag_mirror, flag_zero``; ``trade`` in millions of
current USD, domestic trade (exporter == importer) included, built from production data.

ITPD-E's broad sectors map to blocsim's as: Agriculture -> ``agri_food``, Mining and
Energy -> ``mining_energy``, Manufacturing -> ``manufacturing``, Services -> ``other``.
Caveat: ITPD-E classifies food processing (ISIC 10-12) as manufacturing, while blocsim's HS
split puts processed food (HS 16-24) in ``agri_food``.
"""

from __future__ import annotations

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
    tidy,
)

ITPD_BROAD_TO_SECTOR: dict[str, str] = {
    "agriculture": "agri_food",
    "mining and energy": "mining_energy",
    "mining & energy": "mining_energy",
    "manufacturing": "manufacturing",
    "services": "other",
}
ITPD_COLUMNS = ("exporter_iso3", "importer_iso3", "year", "industry_id", "trade")


def load_itpd(path: PathLike) -> pd.DataFrame:
    """Load an ITPD-E release file.

    Parameters
    ----------
    path
        ``ITPD_E_R0x.csv`` (comma-separated) or an extract with the same columns.

    Returns
    -------
    DataFrame
        ``exporter, importer`` (ISO3), ``year``, ``industry_id`` (int, 1-170),
        ``industry`` (description), ``broad_sector`` (ITPD-E label), ``sector`` (blocsim
        broad sector), ``trade`` (USD millions, as published), and when present
        ``flag_mirror`` (int8, 1 = mirror flow) and ``flag_zero`` (``p`` positive, ``r``
        reported zero, ``u`` missing replaced by zero). Domestic flows are kept.
    """
    source = SourceFile(existing_file(path, what="USITC ITPD-E"))
    raw = read_delimited(source.path, sep=",", required=ITPD_COLUMNS, what="USITC ITPD-E", dtype=str, na_values=())
    out = pd.DataFrame(index=raw.index)
    out["exporter"] = country_column(raw, "exporter_iso3", source)
    out["importer"] = country_column(raw, "importer_iso3", source)
    out["year"] = integer_column(raw, "year", source)
    out["industry_id"] = integer_column(raw, "industry_id", source)
    out["industry"] = raw.get("industry_descr", pd.Series("", index=raw.index)).fillna("").astype(str)
    broad = raw.get("broad_sector", pd.Series("", index=raw.index)).fillna("").astype(str).str.strip()
    out["broad_sector"] = broad
    sector = broad.str.lower().map(ITPD_BROAD_TO_SECTOR)
    pos = first_row(sector.isna()) if "broad_sector" in raw.columns else None
    if pos is not None:
        raise source.error(
            pos, "broad_sector", f"unknown broad sector {broad.loc[pos]!r}; allowed are Agriculture, "
            "Mining and Energy, Manufacturing, Services"
        )
    out["sector"] = sector.fillna("other")
    out["trade"] = numeric_column(raw, "trade", source, allow_missing=False, non_negative=True)
    if "flag_mirror" in raw.columns:
        out["flag_mirror"] = numeric_column(raw, "flag_mirror", source).fillna(0).astype("int8")
    if "flag_zero" in raw.columns:
        zero = raw["flag_zero"].fillna("").astype(str).str.strip().str.lower()
        pos = first_row(~zero.isin(["p", "r", "u"]))
        if pos is not None:
            raise source.error(pos, "flag_zero", f"flag {zero.loc[pos]!r}; allowed are p, r, u")
        out["flag_zero"] = zero
    check_unique(out, ("exporter", "importer", "year", "industry_id"), source)
    return tidy(out)
