"""Services trade of the small economies with OECD reporters and Russia (``oecd_services_trade``).

For an ICIO economy X that reports services trade by partner (38 OECD members and RUS; RUS
2009-2019) and a small economy S, the share of S in X's services trade with the economies
outside ICIO is ``value(X, S) / (value(X, WLD) - sum over ICIO partners p of value(X, p))``, for
exports (X -> S, flow EXP) and imports (S -> X, flow IMP). :func:`services_shares` returns it per
year 2011-2022; years outside the reporter's coverage take the nearest covered year (flag
``oecd_services_nearest``). The carve-out multiplies ICIO's X->ROW (or ROW->X) services cell by
this share, so ICIO's services totals hold (``oecd_services``). Pairs not reported keep the goods
share rule of :mod:`blocsim.data.eaeu_v2.carve`.
"""

from __future__ import annotations

import pandas as pd

from blocsim.data.eaeu_v2.icio import YEARS

SERVICES_FLAG = "oecd_services"
NEAREST_FLAG = "oecd_services_nearest"


def services_shares(services: pd.DataFrame, icio_codes: list[str], small: tuple[str, ...]) -> pd.DataFrame:
    """Shares of each small economy in ICIO reporters' services trade with non-ICIO economies.

    Parameters
    ----------
    services
        ``oecd_services_trade/services_bilateral.csv.gz``.
    icio_codes
        ICIO economies (without ROW).
    small
        The carved economies.

    Returns
    -------
    DataFrame
        ``exporter, importer, year, share, flag`` (share in [0, 1]), one row per reported pair and
        year 2011-2022, sorted.
    """
    rows = services[services["reporter"].isin(icio_codes) & services["flow"].isin(["EXP", "IMP"])]
    table = rows.pivot_table(index=["reporter", "flow", "year"], columns="partner", values="value_usd_m", aggfunc="sum")
    if "WLD" not in table.columns:
        return pd.DataFrame(columns=["exporter", "importer", "year", "share", "flag"])
    icio_partners = [c for c in table.columns if c in set(icio_codes)]
    rest = table["WLD"] - table[icio_partners].fillna(0.0).sum(axis=1)
    out = []
    for s in small:
        if s not in table.columns:
            continue
        share = (table[s] / rest.where(rest > 0)).clip(lower=0.0, upper=1.0).dropna()
        for (reporter, flow), series in share.groupby(level=["reporter", "flow"]):
            by_year = series.droplevel(["reporter", "flow"])
            covered = sorted(int(y) for y in by_year.index)
            for year in YEARS:
                source_year = year if year in covered else min(covered, key=lambda k: (abs(k - year), k))
                exporter, importer = (reporter, s) if flow == "EXP" else (s, reporter)
                flag = SERVICES_FLAG if source_year == year else NEAREST_FLAG
                out.append((exporter, importer, year, float(by_year.loc[source_year]), flag))
    frame = pd.DataFrame(out, columns=["exporter", "importer", "year", "share", "flag"])
    return frame.sort_values(["exporter", "importer", "year"], ignore_index=True)
