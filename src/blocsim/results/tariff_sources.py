"""Where each tariff of a run comes from: ``source`` and ``flag`` columns for the run's ``tariffs.csv``.

The run's tariffs table (``exporter, importer, sector, tariff_before, tariff_after``) holds the
rates the policy states apply. :func:`with_tariff_sources` adds, per row, the dataset's basis for
the pair's rate in the tariff year (the year nearest to it that the table has):

- the dataset's bilateral tariffs table (``Dataset.extra["tariffs"]``: dataset v2 and datasets
  built with ``blocsim data build``): its ``source``, and its ``flag``, except that a flag the
  dataset lists as a proxy (``meta["tariff_proxy_flags"]``, plus ``assumed`` and ``proxy``)
  becomes :data:`PROXY`;
- else the importer's schedule (the ``mfn`` row of the per-importer ``tariffs`` table): its
  ``source``, flag :data:`PROXY` when that source starts with ``assumption`` (the datasets'
  marker of a rate that is not a published figure), else :data:`SCHEDULE`;
- a services sector (``goods`` false in the dataset's ``sectors``) that the steps above flag as a
  proxy: :data:`SERVICES` (services carry no import tariff; the rate stands for no unknown figure);
- a country's sales to itself: :data:`DOMESTIC` (no tariff).

The report's assumptions section and the CLI footer list the :data:`PROXY` rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from blocsim.policy.build import nearest_year

#: Flag of a rate that stands in for a figure the data lack (assumed, or another country's/year's rate).
PROXY = "proxy"
#: Flag of a rate taken from the importer's schedule (no bilateral row in the dataset).
SCHEDULE = "importer_schedule"
#: Flag of a services sector's rate (``goods`` false in the dataset's sectors): no import tariff, by
#: convention, not a stand-in for an unknown rate.
SERVICES = "services_no_tariff"
#: Flag (and source) of a country's sales to itself.
DOMESTIC = "domestic"
_DOMESTIC_SOURCE = "domestic sales: no tariff"
_UNKNOWN_SOURCE = "not in the dataset's tariff tables"


def with_tariff_sources(tariffs: pd.DataFrame, dataset: Any, year: int) -> pd.DataFrame:
    """``tariffs`` with ``source`` and ``flag`` columns (see the module notes).

    Parameters
    ----------
    tariffs
        The run's tariffs: ``exporter, importer, sector, tariff_before, tariff_after`` (fractions).
    dataset
        The run's :class:`~blocsim.data.datasets.Dataset` (``tariffs``, ``extra``, ``meta``).
    year
        The tariff year of the run (``RateTables.year``).

    Returns
    -------
    DataFrame
        A copy of ``tariffs`` with ``source`` (text) and ``flag`` (the dataset's flag, or
        :data:`PROXY`, :data:`SCHEDULE`, :data:`DOMESTIC`) appended; same rows and order.
    """
    out = tariffs.copy()
    keys = ["importer", "exporter", "sector"]
    proxy_flags = {"assumed", PROXY, *[str(f) for f in (getattr(dataset, "meta", {}) or {}).get(
        "tariff_proxy_flags", [])]}
    source = pd.Series(np.nan, index=out.index, dtype=object)
    flag = pd.Series(np.nan, index=out.index, dtype=object)
    bilateral = (getattr(dataset, "extra", {}) or {}).get("tariffs")
    if bilateral is not None and {"source", "flag", "year", *keys} <= set(bilateral.columns) and not bilateral.empty:
        chosen = bilateral[bilateral["year"] == nearest_year(bilateral["year"], year)]
        rows = chosen.drop_duplicates(keys)[[*keys, "source", "flag"]]
        hit = out[keys].merge(rows, on=keys, how="left")
        hit.index = out.index
        source = hit["source"]
        flag = hit["flag"].where(~hit["flag"].isin(proxy_flags) | hit["flag"].isna(), PROXY)
    schedule = dataset.tariffs
    if {"importer", "sector", "year", "regime", "source"} <= set(schedule.columns):
        mfn = schedule[schedule["regime"] == "mfn"]
        if not mfn.empty:
            chosen = mfn[mfn["year"] == nearest_year(mfn["year"], year)]
            rows = chosen.drop_duplicates(["importer", "sector"])[["importer", "sector", "source"]]
            hit = out[["importer", "sector"]].merge(rows, on=["importer", "sector"], how="left")
            hit.index = out.index
            missing = source.isna() & hit["source"].notna()
            assumed = hit["source"].fillna("").astype(str).str.lower().str.startswith("assumption")
            source = source.where(~missing, hit["source"])
            flag = flag.where(~missing, np.where(assumed, PROXY, SCHEDULE))
    sectors = getattr(dataset, "sectors", None)
    if sectors is not None and "goods" in sectors.columns:
        services = set(sectors.loc[~sectors["goods"].astype(bool), "sector"].astype(str))
        untaxed = out["sector"].astype(str).isin(services) & flag.eq(PROXY)
        flag = flag.where(~untaxed, SERVICES)
    domestic = out["exporter"] == out["importer"]
    out["source"] = source.where(~domestic, _DOMESTIC_SOURCE).fillna(_UNKNOWN_SOURCE).astype(str)
    out["flag"] = flag.where(~domestic, DOMESTIC).fillna(PROXY).astype(str)
    return out
