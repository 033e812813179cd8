"""Remittances and migrant stocks by corridor (World Bank/KNOMAD), on the v2 regions.

Countries outside the regions are summed into ``ROW``; flows inside ROW are kept as ROW->ROW.
Columns: ``sender, receiver, year, remittances_usd_m`` (2017 model estimates and the 2018
matrix, USD millions) and ``migrants`` (bilateral migrant stock 2017: people born in
``receiver`` living in ``sender``; on the 2017 rows only, empty for 2018).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def remittance_table(remittances: pd.DataFrame, migrants: pd.DataFrame, regions: tuple[str, ...]) -> pd.DataFrame:
    """Remittances and migrant stocks per (sender, receiver, year) on ``regions`` (sorted rows)."""
    known = set(regions)

    def region(codes: pd.Series) -> pd.Series:
        return codes.where(codes.isin(known), "ROW")

    money = remittances.assign(sender=region(remittances["sender_iso3"]), receiver=region(remittances["receiver_iso3"]))
    money = money.groupby(["sender", "receiver", "year"], as_index=False)["usd_m"].sum()
    people = migrants.assign(sender=region(migrants["destination_iso3"]), receiver=region(migrants["origin_iso3"]))
    people = people.groupby(["sender", "receiver"], as_index=False)["migrants"].sum().assign(year=2017)
    table = money.merge(people, on=["sender", "receiver", "year"], how="outer")
    table = table.rename(columns={"usd_m": "remittances_usd_m"})
    table["remittances_usd_m"] = table["remittances_usd_m"].round(6)
    table["migrants"] = table["migrants"].astype("Int64")
    table["year"] = table["year"].astype("int64")
    table = table[table["remittances_usd_m"].fillna(0).gt(0) | table["migrants"].fillna(0).gt(0)]
    return table.sort_values(["sender", "receiver", "year"], ignore_index=True)[
        ["sender", "receiver", "year", "remittances_usd_m", "migrants"]
    ].assign(remittances_usd_m=lambda t: t["remittances_usd_m"].astype(np.float64))
