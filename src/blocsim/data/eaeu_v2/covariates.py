"""Countries table and gravity covariates of dataset v2.

Single-country pairs take CEPII GeoDist values (``distw`` km, ``contig``, ``comlang_off``,
``colony``). Pairs with ``ROW`` take the mean over the non-ICIO countries in GeoDist weighted by
their mean PPP GDP 2011-2021 (WDI); ``ROW``-``ROW`` uses the same weights on both sides.
Domestic pairs: ``dist`` = GeoDist's internal ``distw``, ``contig = colony = 0``, ``comlang = 1``.
``cu`` = both in the EAEU that year (:data:`~blocsim.data.eaeu_v2.tariffs.MEMBER_FROM`), both in
the EU that year, or an EU member and TUR; ``fta`` = both CIS FTA parties or an EAEU member and
an EAEU FTA partner in force, and not ``cu``. Agreement flags are 0 on ROW pairs and the diagonal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocsim.data.countries import country_name, eu_members
from blocsim.data.eaeu_v2.tariffs import EAEU_FTAS, MEMBER_FROM, _cis, _member

MEMBERS: tuple[str, ...] = ("ARM", "BLR", "KAZ", "KGZ", "RUS")
#: CEPII GeoDist codes -> ISO3.
CEPII_CODES: dict[str, str] = {"ZAR": "COD", "ROM": "ROU"}


def countries_table(regions: tuple[str, ...], geo: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``iso3, name, group, lat, lon`` (group: member, partner or rest; ROW has no coordinates)."""
    geo = geo.assign(iso3=geo["iso3"].replace(CEPII_CODES)).drop_duplicates("iso3").set_index("iso3")
    rows = []
    for region in regions:
        if region == "ROW":
            rows.append((region, "Rest of the world", "rest", float("nan"), float("nan")))
            continue
        group = "member" if region in MEMBERS else "partner"
        name = names.get(region) or country_name(region)
        rows.append((region, name, group, float(geo.loc[region, "lat"]), float(geo.loc[region, "lon"])))
    return pd.DataFrame(rows, columns=["iso3", "name", "group", "lat", "lon"])


def _weights(gdp_ppp: pd.DataFrame, codes: list[str]) -> pd.Series:
    rows = gdp_ppp[(gdp_ppp["year"] >= 2011) & gdp_ppp["iso3"].isin(codes)]
    mean = rows.groupby("iso3")["gdp_ppp_current_intl_dollar"].mean().reindex(codes).fillna(0.0)
    return mean / mean.sum()


def agreement_flags(a: str, b: str, year: int, eu: frozenset[str] | set[str] | None = None) -> tuple[int, int]:
    """``(cu, fta)`` of two different regions in ``year`` (0/1): a customs union (both EAEU members, both
    EU members, or the EU-Turkey customs union), else a free trade area (the CIS FTA, or an EAEU FTA in
    force with an EAEU member). ``eu``: the EU members of ``year`` (computed when not given)."""
    eu = eu_members(year) if eu is None else eu
    cu = int((_member(a, year) and _member(b, year)) or (a in eu and b in eu)
             or (a in eu and b == "TUR") or (b in eu and a == "TUR"))
    fta = (_cis(a, year) and _cis(b, year)) or any(
        _member(p, year) and q in EAEU_FTAS and year >= EAEU_FTAS[q] for p, q in ((a, b), (b, a)))
    return cu, int(fta and not cu)


def gravity_table(
    regions: tuple[str, ...], years: tuple[int, ...], dist: pd.DataFrame, gdp_ppp: pd.DataFrame
) -> pd.DataFrame:
    """``exporter, importer, year, dist, contig, comlang, colony, cu, fta`` for every region pair.

    Parameters
    ----------
    regions
        v2 regions (ROW last).
    years
        Years of the dataset.
    dist
        CEPII ``dist_cepii.csv``.
    gdp_ppp
        WDI PPP GDP (weights for ROW).
    """
    cols = ["distw", "contig", "comlang_off", "colony"]
    dist = dist.assign(iso_o=dist["iso_o"].replace(CEPII_CODES), iso_d=dist["iso_d"].replace(CEPII_CODES))
    table = dist.set_index(["iso_o", "iso_d"])[cols].astype(float)
    codes = sorted(set(dist["iso_o"]))
    rest = [c for c in codes if c not in regions]
    w = _weights(gdp_ppp, rest)
    rest = [c for c in rest if w[c] > 0]
    w = w[rest]
    pair_values: dict[tuple[str, str], np.ndarray] = {}
    single = [r for r in regions if r != "ROW"]
    order = single + rest
    full = table.reindex(pd.MultiIndex.from_product([order, order]))
    full = full.fillna(full.mean())
    grid = full.to_numpy().reshape(len(order), len(order), len(cols))
    n_s = len(single)
    weights = w.to_numpy()
    for i, a in enumerate(single):
        for j, b in enumerate(single):
            pair_values[(a, b)] = grid[i, j]
        pair_values[(a, "ROW")] = weights @ grid[i, n_s:]
        pair_values[("ROW", a)] = weights @ grid[n_s:, i]
    pair_values[("ROW", "ROW")] = np.einsum("i,j,ijk->k", weights, weights, grid[n_s:, n_s:])
    rows = []
    for year in years:
        eu = eu_members(year)
        for a in regions:
            for b in regions:
                d, contig, comlang, colony = pair_values[(a, b)]
                if a == b:
                    contig, comlang, colony, cu, fta = 0.0, 1.0, 0.0, 0, 0
                else:
                    cu, fta = agreement_flags(a, b, year, eu)
                rows.append((a, b, year, round(float(d), 6), round(float(contig), 6), round(float(comlang), 6),
                             round(float(colony), 6), cu, fta))
    return pd.DataFrame(rows, columns=["exporter", "importer", "year", "dist", "contig", "comlang", "colony", "cu", "fta"])


__all__ = ["MEMBER_FROM", "agreement_flags", "countries_table", "gravity_table"]
