"""Build ``russia_food_ban_hs4_imports.csv``: Russia's imports of the HS4 lines of its August 2014 food ban.

Usage: ``python examples/build_russia_food_ban_hs4.py WORLD_TRADE_2017_CSV``, where the
argument is the tidy Open Trade Statistics extract ``world_trade_2017.csv.gz`` (columns
``reporter_iso3, hs4, export_value_usd``; from the ``economiccomplexity`` R package by
M. Vargas, commit f2c36132 of 2 June 2019, https://github.com/pachadotdev/economiccomplexity,
built from UN Comtrade via https://tradestatistics.io).

Method (an assumption, stated in the example scenario): the bundled dataset's 2012 agri-food
flow from each origin to Russia (USD millions) is split over the banned HS4 headings in
proportion to that origin's 2017 world exports of each heading within HS chapters 01-24.
The EU region (EUN) sums the 28 EU members; ROW sums every reporter outside the dataset's regions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

import blocsim

#: HS4 headings of the ban list (Lexology, Aug 2015): 0201-0203, 0207, 0302-0308, 0401-0406, chapter 07
#: (the list names certain vegetables; all of 0701-0714 are taken here), 0801-0813, 1601.
BANNED = ["0201", "0202", "0203", "0207", *[f"03{k:02d}" for k in range(2, 9)], *[f"04{k:02d}" for k in range(1, 7)],
          *[f"07{k:02d}" for k in range(1, 15)], *[f"08{k:02d}" for k in range(1, 14)], "1601"]
EU28 = ["AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN", "IRL", "ITA",
        "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP", "SWE", "GBR"]


def build(world_trade: Path) -> pd.DataFrame:
    """Rows ``importer, exporter, product, sector, trade`` (USD millions) for RUS and the banned HS4 lines."""
    dataset = blocsim.load_dataset("eaeu")
    regions = set(dataset.countries["iso3"])
    hs = pd.read_csv(world_trade, dtype={"reporter_iso3": str, "hs4": str})
    hs = hs[hs["hs4"].str[:2].astype(int) <= 24]
    region = hs["reporter_iso3"].where(hs["reporter_iso3"].isin(regions), "ROW")
    region = region.where(~hs["reporter_iso3"].isin(EU28), "EUN")
    by_region = hs.assign(region=region).groupby(["region", "hs4"])["export_value_usd"].sum()
    shares = by_region / by_region.groupby(level="region").transform("sum")
    flows = dataset.flows
    food = flows[(flows["year"] == 2012) & (flows["importer"] == "RUS") & (flows["sector"] == "agri_food")
                 & (flows["exporter"] != "RUS") & (flows["trade"] > 0)].set_index("exporter")["trade"]
    rows = [
        {"importer": "RUS", "exporter": origin, "product": code, "sector": "agri_food",
         "trade": round(float(value * shares.get((origin, code), 0.0)), 6)}
        for origin, value in food.items() for code in BANNED
    ]
    frame = pd.DataFrame(rows)
    return frame[frame["trade"] > 0].sort_values(["product", "exporter"]).reset_index(drop=True)


if __name__ == "__main__":
    build(Path(sys.argv[1])).to_csv(Path(__file__).with_name("russia_food_ban_hs4_imports.csv"), index=False)
