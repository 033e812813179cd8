"""Decompose the modelled duty pool's change between two years (DATA.md, "Fiscal facts").

The pool the model credits in year ``y`` is ``sum_j e_j * D_j(x_y, t_y)``: ``e_j`` the
collection efficiencies calibrated on 2016 (the bundled ``duties`` table, ``kind =
calibration``), ``D_j(x, t)`` member j's statutory duties on flows ``x`` at tariffs ``t``
(:func:`blocsim.data.eaeu_v2.fiscal.modelled_collections`, USD millions). The change from a
base year ``b`` to ``y`` is split, per member and sector, into

* a **flow** part (import values move, tariffs held): the mean of
  ``D(x_y, t_b) - D(x_b, t_b)`` and ``D(x_y, t_y) - D(x_b, t_y)``;
* a **tariff** part (tariffs move, import values held): the mean of
  ``D(x_b, t_y) - D(x_b, t_b)`` and ``D(x_y, t_y) - D(x_y, t_b)``;

(the two-factor Shapley split: the parts add up to the change exactly). Everything is read
from the bundled dataset ``eaeu``; nothing is written.

Usage::

    python bench/pool_2022_gap.py                 # 2016 -> 2022 and 2018 -> 2022
    python bench/pool_2022_gap.py --base 2021 --year 2022
"""

from __future__ import annotations

import argparse

import pandas as pd

from blocsim.data import load_dataset
from blocsim.data.eaeu_v2.fiscal import modelled_collections, pool_facts

#: The pool's members (ISO3), in the order of the tables printed.
MEMBERS: tuple[str, ...] = ("ARM", "BLR", "KAZ", "KGZ", "RUS")
#: ICIO food, beverages and tobacco: the sector whose CET doubles in Teti from 2019 (held by recipe 2.1; DATA.md).
FOOD = "C10T12"


def efficiencies(dataset) -> pd.Series:
    """Calibrated collection efficiency ``e_j`` of each member (fraction), from the ``duties`` table."""
    duties = dataset.extra["duties"]
    calibration = duties[duties["kind"] == "calibration"].set_index("member")
    return calibration.loc[list(MEMBERS), "collection_efficiency"].astype(float)


def member_duties(flows: pd.DataFrame, tariffs: pd.DataFrame, flow_year: int, tariff_year: int) -> pd.DataFrame:
    """Statutory duties of each member and sector on ``flow_year``'s flows at ``tariff_year``'s tariffs.

    Calls :func:`modelled_collections` once per sector on the two years' rows relabelled to one
    year, so ``flow_year == tariff_year`` gives exactly the recipe's ``modelled_usd_m`` split by sector.

    Returns
    -------
    DataFrame
        Index: sectors (every goods sector with a tariff row); columns: :data:`MEMBERS`;
        values: USD millions (0 where a member levies nothing in a sector).
    """
    x = flows[(flows["year"] == flow_year) & flows["importer"].isin(MEMBERS)].assign(year=0)
    t = tariffs[(tariffs["year"] == tariff_year) & tariffs["importer"].isin(MEMBERS)].assign(year=0)
    sectors = sorted(set(t["sector"]))
    x_by, t_by = dict(tuple(x.groupby("sector"))), dict(tuple(t.groupby("sector")))
    columns = {
        sector: modelled_collections(x_by[sector], t_by[sector], 0) if sector in x_by else pd.Series(dtype=float)
        for sector in sectors
    }
    return pd.DataFrame(columns).T.reindex(index=sectors, columns=list(MEMBERS)).fillna(0.0)


def decompose(flows: pd.DataFrame, tariffs: pd.DataFrame, efficiency: pd.Series, base: int, year: int) -> pd.DataFrame:
    """The pool's change from ``base`` to ``year`` by member and sector, split into flow and tariff parts.

    Parameters
    ----------
    flows, tariffs
        The dataset's ``flows`` and ``tariffs_bilateral`` (``extra["tariffs"]``) tables.
    efficiency
        ``e_j`` by member (:func:`efficiencies`).
    base, year
        The two years compared.

    Returns
    -------
    DataFrame
        One row per (member, sector): ``member, sector``, statutory duties ``statutory_base``,
        ``statutory_year`` and the counterfactuals ``statutory_flows_year_tariffs_base``,
        ``statutory_flows_base_tariffs_year``; pool terms (times ``e_j``) ``pool_base``,
        ``pool_year``, ``flow_part``, ``tariff_part`` (``pool_year - pool_base = flow_part +
        tariff_part``). USD millions.
    """
    grids = {
        "statutory_base": member_duties(flows, tariffs, base, base),
        "statutory_year": member_duties(flows, tariffs, year, year),
        "statutory_flows_year_tariffs_base": member_duties(flows, tariffs, year, base),
        "statutory_flows_base_tariffs_year": member_duties(flows, tariffs, base, year),
    }
    sectors = sorted(set().union(*(g.index for g in grids.values())))
    long = pd.concat(
        {name: g.reindex(sectors).fillna(0.0).stack() for name, g in grids.items()}, axis=1
    ).rename_axis(["sector", "member"]).reset_index()
    e = long["member"].map(efficiency).astype(float)
    d00, d11 = long["statutory_base"], long["statutory_year"]
    d10, d01 = long["statutory_flows_year_tariffs_base"], long["statutory_flows_base_tariffs_year"]
    long["pool_base"], long["pool_year"] = e * d00, e * d11
    long["flow_part"] = e * 0.5 * ((d10 - d00) + (d11 - d01))
    long["tariff_part"] = e * 0.5 * ((d01 - d00) + (d11 - d10))
    return long[["member", "sector", *grids, "pool_base", "pool_year", "flow_part", "tariff_part"]].sort_values(
        ["member", "sector"], kind="stable", ignore_index=True)


def imports_from(flows: pd.DataFrame, goods: set[str], importer: str, exporters: dict[str, list[str]],
                 years: list[int]) -> pd.DataFrame:
    """``importer``'s goods imports (USD m, ICIO basic prices) from each group of exporters, by year (rows)."""
    rows = flows[(flows["importer"] == importer) & flows["sector"].isin(goods) & flows["year"].isin(years)]
    return pd.DataFrame({name: rows[rows["exporter"].isin(codes)].groupby("year")["trade"].sum()
                         for name, codes in exporters.items()})


#: EU members from 2020 (ISO3), for the mirror check of Russia's 2022 imports.
EU27: tuple[str, ...] = ("AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN",
                         "IRL", "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP",
                         "SWE")


def _print_change(table: pd.DataFrame, base: int, year: int, published: pd.Series) -> None:
    """Print the decomposition of one pair of years: total, by member, the largest sectors."""
    total = table[["pool_base", "pool_year", "flow_part", "tariff_part"]].sum()
    print(f"\n== pool {base} -> {year} (USD m; published {base}: {published.get(base, float('nan')):,.0f}, "
          f"{year}: {published.get(year, float('nan')):,.0f}) ==")
    print(f"modelled pool {total['pool_base']:,.1f} -> {total['pool_year']:,.1f}: change "
          f"{total['pool_year'] - total['pool_base']:+,.1f} = flows {total['flow_part']:+,.1f} "
          f"+ tariffs {total['tariff_part']:+,.1f}")
    columns = ["pool_base", "pool_year", "flow_part", "tariff_part"]
    by_member = table.groupby("member")[columns].sum()
    by_member["change"] = by_member["pool_year"] - by_member["pool_base"]
    print("\nby member:\n" + by_member.round(1).to_string())
    by_sector = table.groupby("sector")[columns].sum()
    by_sector["change"] = by_sector["pool_year"] - by_sector["pool_base"]
    top = by_sector.reindex(by_sector["change"].abs().sort_values(ascending=False).index).head(10)
    print("\nby sector (10 largest changes):\n" + top.round(1).to_string())


def main() -> None:
    """Print the decompositions, the pool by year, the food CET, Russia's imports and the implied factor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, action="append", help="base year(s) (default 2016 and 2018)")
    parser.add_argument("--year", type=int, default=2022, help="year compared (default 2022)")
    args = parser.parse_args()
    dataset = load_dataset("eaeu")
    flows, tariffs = dataset.flows, dataset.extra["tariffs"]
    efficiency = efficiencies(dataset)
    facts = pool_facts()
    published = facts[(facts["member"] == "EAEU") & (facts["months"] == 12)].set_index("year")["distributed_usd_m"]
    print("collection efficiency (2016):", efficiency.round(4).to_dict())
    for base in args.base or [2016, 2018]:
        _print_change(decompose(flows, tariffs, efficiency, base, args.year), base, args.year, published)

    print("\n== the pool by year (USD m) ==")
    series = pd.DataFrame(
        [(y, float((member_duties(flows, tariffs, y, y).sum() * efficiency).sum()), published.get(y, float("nan")))
         for y in range(2015, args.year + 1)],
        columns=["year", "modelled", "published"]).set_index("year")
    series["gap_pct"] = 100 * (series["modelled"] / series["published"] - 1)
    print(series.round(1).to_string())
    cet = dataset.extra["cet"].set_index(["sector", "year"]).loc[FOOD]
    print(f"\n{FOOD} CET by year (cet_teti: Teti's median; held from a source break on):")
    print(cet[["cet_teti", "cet", "source_break_held"]].T.round(4).to_string())

    goods = set(dataset.sectors.loc[dataset.sectors["goods"].astype(bool), "sector"])
    outsiders = sorted(set(flows["exporter"]) - set(MEMBERS))
    years = sorted({2016, 2018, 2021, args.year})
    groups = {"CHN": ["CHN"], "EU27": list(EU27), "USA": ["USA"], "all non-members": outsiders}
    rus = imports_from(flows, goods, "RUS", groups, years)
    print("\nRUS goods imports by origin (USD m, ICIO basic prices):\n" + rus.round(0).to_string())
    print(f"change {years[-2]} -> {years[-1]} (%):", (100 * (rus.iloc[-1] / rus.iloc[-2] - 1)).round(1).to_dict())
    statutory = member_duties(flows, tariffs, args.year, args.year)
    print(f"RUS mean statutory rate {args.year}: {statutory['RUS'].sum() / rus['all non-members'].iloc[-1]:.4f}")
    modelled = series.loc[args.year, "modelled"]
    if args.year in published.index:
        print(f"\npool {args.year}: modelled {modelled:,.1f}, published {published[args.year]:,.1f} "
              f"(gap {modelled - published[args.year]:+,.1f}, {modelled / published[args.year] - 1:+.1%}); "
              f"factor on the 2016 efficiencies that closes it {published[args.year] / modelled:.4f}")


if __name__ == "__main__":
    main()
