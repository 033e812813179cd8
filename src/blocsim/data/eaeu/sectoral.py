"""Sectoral flows of the EAEU dataset: proportional split, 2013 food calibration, domestic flows.

* **Split.** International goods flows ``X_ijs = X_ij * e_is`` with ``e_is`` the exporter's
  share of sector s in its goods exports (ADB MRIO derived exports; CIS proxy for BLR, ARM,
  UKR, UZB, TJK). ``other`` (utilities, construction, services) is not traded: the
  bilateral source is merchandise only.
* **Food calibration (2012 only).** Where a published 2013 figure of Russia's food imports
  from an origin exists (Reuters factbox, 7 Aug 2014: BLR, UKR, TUR, CHN, USA and the EU
  total), the 2012 ``agri_food`` flow origin->RUS is set to it and the remainder of the
  bilateral total is split over the other goods sectors by the origin's shares.
* **Domestic flows.** ``D_r = max(GDP_r - sum_j X_rj, floor * GDP_r)`` (GDP-based
  absorption of own output, merchandise exports subtracted), split over sectors by the
  region's MRIO domestic-sales shares.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocsim.data.eaeu.regions import NON_MRIO, REGIONS, SECTOR_CODES, YEARS
from blocsim.errors import DataValidationError

#: Domestic flows are at least this fraction of GDP.
DOMESTIC_FLOOR = 0.10
#: Year whose agri_food flows to RUS are matched to the published 2013 figures.
FOOD_YEAR = 2012
FOOD_TABLE = "top_food_suppliers_to_russia"
_FOOD_ORIGIN = {"EU28": "EUN"}

SPLIT_MRIO = "split_mrio"
SPLIT_PROXY = "split_proxy"
FOOD_2013 = "food2013"
FOOD_RESIDUAL = "food2013_residual"
NOT_TRADED = "not_traded"
DOMESTIC_GDP = "domestic_gdp"
DOMESTIC_FLOOR_FLAG = "domestic_gdp_floor"
DSHARE_MRIO = "dshare_mrio"
DSHARE_PROXY = "dshare_proxy"

#: Every flag that can appear in ``flows.imputed`` (joined with ``+``), with its meaning.
FLAG_LEGEND: dict[str, str] = {
    "gap_growth": "bilateral total was a reporting gap; filled from the same pair in other years "
    "scaled by the exporter's world exports (geometric mean)",
    "gap_reverse": "bilateral total was a reporting gap; filled with the reverse flow of the same "
    "year (symmetry; neither UZB nor TJK reports exports)",
    "gap_proxy": "bilateral total was a reporting gap in both directions; KAZ's flow to the same "
    "importer scaled by the exporter's GDP relative to KAZ",
    SPLIT_MRIO: "sector value = bilateral total x exporter's ADB MRIO goods-export share "
    "(proportionality assumption)",
    SPLIT_PROXY: "sector value = bilateral total x CIS proxy share (mean of RUS, KAZ, KGZ MRIO "
    "shares; exporter not in ADB MRIO)",
    FOOD_2013: "agri_food flow to RUS set to the published 2013 figure (Reuters factbox, 7 Aug "
    "2014) in the 2012 baseline",
    FOOD_RESIDUAL: "bilateral total minus the published 2013 food figure, split over the other "
    "goods sectors by the exporter's shares",
    NOT_TRADED: "utilities, construction and services: not in the merchandise source, set to 0",
    DOMESTIC_GDP: "domestic flow = GDP (WDI, current USD) minus merchandise exports to the other regions",
    DOMESTIC_FLOOR_FLAG: f"domestic flow floored at {DOMESTIC_FLOOR:.0%} of GDP",
    DSHARE_MRIO: "domestic flow split by the region's ADB MRIO domestic-sales shares",
    DSHARE_PROXY: "domestic flow split by the CIS proxy domestic-sales shares (mean of RUS, KAZ, KGZ)",
}


def published_food_imports(food: pd.DataFrame) -> dict[str, tuple[float, str]]:
    """Published 2013 food imports of Russia by origin region.

    Parameters
    ----------
    food
        ``russia_food_imports_2013_published_figures.csv`` rows.

    Returns
    -------
    dict
        Region -> (USD millions, citation) for origins that are regions of the dataset
        (EU member-state rows are skipped: the EU total is used for EUN; BRA is inside ROW).
    """
    rows = food[(food["table"] == FOOD_TABLE) & (food["destination"] == "RUS") & (food["year"] == "2013")]
    bad = rows[rows["unit"] != "USD billion"]
    if len(bad):
        raise DataValidationError(
            f"russia food figures: table {FOOD_TABLE!r} row with unit {bad['unit'].iloc[0]!r}; "
            "expected 'USD billion'; fix: convert the row"
        )
    out: dict[str, tuple[float, str]] = {}
    for origin, value, citation, url in rows[["origin", "value", "source_citation", "source_url"]].itertuples(
        index=False
    ):
        region = _FOOD_ORIGIN.get(origin, origin)
        if region in REGIONS and region not in ("ROW", "RUS") and (origin == "EU28" or region != "EUN"):
            out[region] = (float(value) * 1000.0, f"{citation} {url}")
    return out


def split_international(
    totals: np.ndarray, gap_method: np.ndarray, export_share: np.ndarray, food: dict[str, tuple[float, str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Split off-diagonal totals into sectors and apply the 2012 food calibration.

    Parameters
    ----------
    totals
        Shape (Y, R, R): gap-filled bilateral totals, USD millions (diagonal ignored).
    gap_method
        Shape (Y, R, R): gap-fill flag per cell (``""`` for source values).
    export_share
        Shape (Y, R, S): exporters' goods-export shares.
    food
        From :func:`published_food_imports`.

    Returns
    -------
    values : ndarray, shape (Y, R, R, S)
        USD millions; zero on the diagonal (domestic flows are added separately).
    flags : ndarray of str, shape (Y, R, R, S)
    """
    n_r = totals.shape[1]
    off = ~np.eye(n_r, dtype=bool)
    values = np.where(off[None, :, :, None], totals[..., None] * export_share[:, :, None, :], 0.0)
    split = np.where(np.isin(np.array(REGIONS), NON_MRIO), SPLIT_PROXY, SPLIT_MRIO)
    flags = np.broadcast_to(split[None, :, None, None], values.shape).astype(object)
    flags = np.where(np.array(SECTOR_CODES) == "other", NOT_TRADED, flags).astype(object)

    y = YEARS.index(FOOD_YEAR)
    rus = REGIONS.index("RUS")
    agri = SECTOR_CODES.index("agri_food")
    for origin, (level, _citation) in sorted(food.items()):
        o = REGIONS.index(origin)
        total = totals[y, o, rus]
        share = export_share[y, o]
        rest = share.sum() - share[agri]
        if not level < total:
            raise DataValidationError(
                f"russia food figures: published 2013 food imports from {origin} ({level:.0f} USD m) "
                f"are not below the {FOOD_YEAR} bilateral total ({total:.0f} USD m); fix: check units"
            )
        values[y, o, rus, :] = (total - level) * share / rest
        values[y, o, rus, agri] = level
        goods = share > 0
        flags[y, o, rus, goods] = FOOD_RESIDUAL
        flags[y, o, rus, agri] = FOOD_2013
    gap = np.broadcast_to(gap_method[..., None], values.shape)
    flags = np.where(gap != "", gap + "+" + flags, flags)
    return values, flags


def domestic_flows(
    gdp: np.ndarray, exports: np.ndarray, domestic_share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Domestic flows by sector from GDP minus merchandise exports.

    Parameters
    ----------
    gdp
        Shape (Y, R), USD millions.
    exports
        Shape (Y, R): each region's exports to the other regions (USD millions).
    domestic_share
        Shape (Y, R, S): MRIO domestic-sales shares.

    Returns
    -------
    values : ndarray, shape (Y, R, S)
        Domestic flows, USD millions (> 0).
    flags : ndarray of str, shape (Y, R, S)
    """
    raw = gdp - exports
    floor = DOMESTIC_FLOOR * gdp
    total = np.maximum(raw, floor)
    level = np.where(raw < floor, DOMESTIC_FLOOR_FLAG, DOMESTIC_GDP)
    split = np.where(np.isin(np.array(REGIONS), NON_MRIO), DSHARE_PROXY, DSHARE_MRIO)
    flags = (level[:, :, None].astype(object) + "+" + split[None, :, None].astype(object)).repeat(
        len(SECTOR_CODES), axis=2
    )
    return total[:, :, None] * domestic_share, flags


def long_table(values: np.ndarray, flags: np.ndarray) -> pd.DataFrame:
    """Turn (Y, R, R, S) arrays into the ``flows`` table (exporter, importer, sector, year, ...).

    Returns
    -------
    DataFrame
        Columns ``exporter, importer, sector, year, trade, imputed``, sorted by year,
        exporter, importer (region order) and sector.
    """
    grid = pd.MultiIndex.from_product(
        [YEARS, REGIONS, REGIONS, SECTOR_CODES], names=["year", "exporter", "importer", "sector"]
    )
    frame = grid.to_frame(index=False)
    frame["trade"] = values.reshape(-1)
    frame["imputed"] = flags.reshape(-1).astype(str)
    return frame.loc[:, ["exporter", "importer", "sector", "year", "trade", "imputed"]]
