"""Bilateral totals, gap filling, GDP by region and MRIO sector shares for the EAEU dataset.

All arrays use the dataset's canonical order: axis 0 years (:data:`YEARS`), then regions
(:data:`REGIONS`, exporters before importers), then sectors. Values are USD millions.

Methods (documented in ``DATA.md`` and in the dataset's ``meta``):

* **Totals.** Exporter-reported merchandise exports (USD millions) summed over the countries
  of each region. A region pair is a *reporting gap* when the summed source value is
  zero or absent (e.g. RUS->BLR 2008, ARM<->RUS 2008, every UZB and TJK export: neither reports).
* **Gap filling**, first rule that applies:
  ``gap_growth``  pair observed in other years: geometric mean over those years y' of
  ``X_ij,y' * T_i,y / T_i,y'`` (T = the exporter's reported world exports);
  ``gap_reverse`` reverse flow of the same year observed: ``X_ij,y = X_ji,y`` (symmetry);
  ``gap_proxy``   neither: ``X_KAZ,j,y * GDP_i,y / GDP_KAZ,y`` (a CIS neighbour scaled by size).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocsim.data.eaeu.regions import (
    CIS_PROXY,
    GOODS_SECTORS,
    MRIO_SECTOR,
    NON_MRIO,
    REGIONS,
    SECTOR_CODES,
    YEARS,
    region_of,
)
from blocsim.errors import DataValidationError

GAP_GROWTH = "gap_growth"
GAP_REVERSE = "gap_reverse"
GAP_PROXY = "gap_proxy"
_PROXY_EXPORTER = "KAZ"


def _index(values: pd.Series, labels: tuple) -> np.ndarray:
    lookup = {label: k for k, label in enumerate(labels)}
    return values.map(lookup).to_numpy(dtype=np.int64)


def source_totals(trade: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate exporter-reported exports to region pairs.

    Parameters
    ----------
    trade
        ``exporter, importer, year, trade`` (USD millions) as returned by :func:`read_sources`.

    Returns
    -------
    totals : ndarray, shape (Y, R, R)
        Summed source exports in USD millions (diagonal: intra-region trade between different
        countries of EUN/ROW, unused); NaN where the pair has no positive source value.
    world : ndarray, shape (Y, R)
        Each exporter region's reported exports to all partners (USD millions).
    """
    frame = trade.assign(
        e=region_of(trade["exporter"], trade["year"]),
        i=region_of(trade["importer"], trade["year"]),
    )
    y = _index(frame["year"], YEARS)
    e = _index(frame["e"], REGIONS)
    i = _index(frame["i"], REGIONS)
    n_y, n_r = len(YEARS), len(REGIONS)
    totals = np.zeros((n_y, n_r, n_r))
    np.add.at(totals, (y, e, i), frame["trade"].to_numpy(dtype=float))
    world = totals.sum(axis=2)
    totals[totals <= 0] = np.nan
    return totals, world


def fill_gaps(totals: np.ndarray, world: np.ndarray, gdp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill reporting gaps of the off-diagonal totals (see module notes for the rules).

    Parameters
    ----------
    totals
        Shape (Y, R, R), USD millions, NaN at gaps (diagonal ignored).
    world
        Shape (Y, R), exporters' reported world exports (USD millions).
    gdp
        Shape (Y, R), GDP by region (USD millions).

    Returns
    -------
    filled : ndarray, shape (Y, R, R)
        Off-diagonal flows with every gap filled (diagonal set to 0).
    method : ndarray of str, shape (Y, R, R)
        ``""`` for source values, else the gap-fill rule.
    """
    n_y, n_r, _ = totals.shape
    off = ~np.eye(n_r, dtype=bool)[None, :, :].repeat(n_y, axis=0)
    gap = np.isnan(totals) & off
    method = np.full(totals.shape, "", dtype=object)
    filled = np.where(off, totals, 0.0)

    # rule 1: geometric mean over other observed years, scaled by the exporter's world exports
    log_est = np.full(totals.shape, np.nan)
    for k in range(n_y):
        others = [m for m in range(n_y) if m != k]
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.stack([np.log(totals[m]) + np.log(world[k] / world[m])[:, None] for m in others])
        observed = np.isfinite(logs)
        count = observed.sum(axis=0)
        mean = np.where(observed, logs, 0.0).sum(axis=0) / np.maximum(count, 1)
        log_est[k] = np.where(count > 0, mean, np.nan)
    rule1 = gap & np.isfinite(log_est)
    filled[rule1] = np.exp(log_est[rule1])
    method[rule1] = GAP_GROWTH

    # rule 2: symmetric reverse flow of the same year
    reverse = np.transpose(totals, (0, 2, 1))
    rule2 = gap & ~rule1 & np.isfinite(reverse)
    filled[rule2] = reverse[rule2]
    method[rule2] = GAP_REVERSE

    # rule 3: KAZ's flow to the same importer scaled by GDP
    rule3 = gap & ~rule1 & ~rule2
    kaz = REGIONS.index(_PROXY_EXPORTER)
    proxy = totals[:, kaz, :][:, None, :] * (gdp / gdp[:, kaz][:, None])[:, :, None]
    if not np.all(np.isfinite(proxy[rule3])):
        y, e, i = (int(v[0]) for v in np.nonzero(rule3 & ~np.isfinite(proxy)))
        raise DataValidationError(
            f"trade source: cannot fill the gap {REGIONS[e]}->{REGIONS[i]} in {YEARS[y]}: no other "
            "year, no reverse flow and no KAZ flow to the importer; fix: extend the source file"
        )
    filled[rule3] = proxy[rule3]
    method[rule3] = GAP_PROXY
    return filled, method


def region_gdp(gdp: pd.DataFrame) -> np.ndarray:
    """GDP by region and year.

    Parameters
    ----------
    gdp
        ``iso3, year, gdp`` (current USD millions), countries only.

    Returns
    -------
    ndarray, shape (Y, R)
        USD millions. EUN = sum of that year's members; ROW = sum of every other country
        with a WDI value.

    Raises
    ------
    DataValidationError
        A single-country region has no GDP value in a year.
    """
    frame = gdp.assign(region=region_of(gdp["iso3"], gdp["year"]))
    out = np.zeros((len(YEARS), len(REGIONS)))
    np.add.at(
        out,
        (_index(frame["year"], YEARS), _index(frame["region"], REGIONS)),
        frame["gdp"].to_numpy(dtype=float),
    )
    if np.any(out <= 0):
        y, r = (int(v[0]) for v in np.nonzero(out <= 0))
        raise DataValidationError(
            f"gdp source: no GDP for region {REGIONS[r]} in {YEARS[y]}; every region needs a WDI "
            "value (NY.GDP.MKTP.CD); fix: use a GDP file covering it"
        )
    return out


def mrio_aggregates(mrio: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum ADB MRIO output, domestic sales and derived exports to (year, region, sector).

    Parameters
    ----------
    mrio
        MRIO summary rows (USD million), ``iso3`` incl. ``ROW`` (MRIO's rest of world).

    Returns
    -------
    output, domestic, exports : ndarray, shape (Y, R, S)
        USD millions; zero for regions MRIO does not cover (:data:`NON_MRIO`).
    """
    frame = mrio.assign(
        region=region_of(mrio["iso3"], mrio["year"]),
        sector=mrio["sector_id"].map(MRIO_SECTOR),
    )
    idx = (
        _index(frame["year"], YEARS),
        _index(frame["region"], REGIONS),
        _index(frame["sector"], SECTOR_CODES),
    )
    shape = (len(YEARS), len(REGIONS), len(SECTOR_CODES))
    arrays = []
    for column in ("gross_output", "domestic_sales", "exports_derived"):
        values = np.zeros(shape)
        np.add.at(values, idx, frame[column].to_numpy(dtype=float))
        arrays.append(values)
    return arrays[0], arrays[1], arrays[2]


def _shares(values: np.ndarray) -> np.ndarray:
    total = values.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return values / total


def sector_shares(domestic: np.ndarray, exports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Export shares over goods sectors and domestic-sales shares over all sectors.

    Regions without MRIO data (:data:`NON_MRIO`) get the simple average of the shares of
    :data:`CIS_PROXY` (RUS, KAZ, KGZ).

    Parameters
    ----------
    domestic, exports
        Shape (Y, R, S), from :func:`mrio_aggregates`.

    Returns
    -------
    export_share : ndarray, shape (Y, R, S)
        Share of each goods sector in the region's goods exports (``other`` = 0); rows sum to 1.
    domestic_share : ndarray, shape (Y, R, S)
        Share of each sector in the region's domestic sales; rows sum to 1.
    """
    goods = np.array([s in GOODS_SECTORS for s in SECTOR_CODES])
    export_share = _shares(np.where(goods, exports, 0.0))
    domestic_share = _shares(domestic)
    proxy = [REGIONS.index(r) for r in CIS_PROXY]
    target = [REGIONS.index(r) for r in NON_MRIO]
    export_share[:, target, :] = export_share[:, proxy, :].mean(axis=1, keepdims=True)
    domestic_share[:, target, :] = domestic_share[:, proxy, :].mean(axis=1, keepdims=True)
    if not (np.all(np.isfinite(export_share)) and np.all(np.isfinite(domestic_share))):
        raise DataValidationError(
            "ADB MRIO summary: a region has no output in some year, so its sector shares are "
            "undefined; fix: use the MRIO file for 2008, 2012 and 2016"
        )
    return export_share, domestic_share
