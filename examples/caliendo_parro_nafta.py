"""Caliendo and Parro (2015), section 5: NAFTA's tariff reductions, replicated with blocsim.

Run from the repository root (the authors' files beside it):

    python examples/caliendo_parro_nafta.py [path/to/caliendo_parro_2015]

Steps as in the paper: load the authors' 1993 data (31 regions x 40 sectors, IO links),
purge the trade deficits (the model solved with every deficit set to zero), then lower the
tariffs among Canada, Mexico and the USA from their 1993 to their 2005 levels (all other
tariffs stay at 1993) and split each member's welfare change into terms of trade and volume
of trade. Prints blocsim's numbers next to the published totals (the paper's abstract) and
the re-implementation's Table 2 columns (tests/reference/caliendo_parro_2015/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

import blocsim
from blocsim.data import caliendo_parro_2015
from blocsim.equilibrium import caliendo_parro_decomposition

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "caliendo_parro_2015"


def main(folder: Path) -> None:
    cp = caliendo_parro_2015(folder)
    tariffs = cp.experiment_tariffs()  # NAFTA pairs 1993 -> 2005, others at 1993
    purged = blocsim.purge_deficits(cp.flows, theta=cp.theta, tariffs=tariffs, io=cp.io,
                                    final_demand=cp.final_demand)
    table = caliendo_parro_decomposition(purged, theta=cp.theta, tariffs=tariffs, io=cp.io).set_index("country")
    order = ["MEX", "CAN", "USA"]
    published = pd.read_csv(REFERENCE / "table2.csv").set_index("country")["value"]
    other = pd.read_csv(REFERENCE / "reimplementation.csv").set_index("country")
    columns = ["welfare_first_order_pct", "welfare_tot_pct", "welfare_vot_pct", "real_wage_pct"]
    out = table.loc[order, [*columns, "welfare_pct"]].round(2)
    out["published_welfare"] = published.reindex(order)
    for column in columns[1:]:
        out[f"reimpl_{column.removeprefix('welfare_').removesuffix('_pct')}"] = other.loc[order, column]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("Caliendo and Parro (2015), Table 2: welfare effects of NAFTA's tariff reductions (%)")
        print(out.to_string())
    print("welfare_first_order_pct = terms of trade + volume of trade (the paper's welfare); "
          "welfare_pct = exact change of real income in the same equilibrium.")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data" / "caliendo_parro_2015")
