"""Recipe run: re-estimate the EAEU border AVEs by sector and write the shipped table.

Runs :func:`blocsim.estimation.border_effects.border_effects_table` on
``blocsim.load_dataset("eaeu-2022v2")`` (one PPML with exporter-year, importer-year and pair
fixed effects per goods sector, fine and broad: about 30 regressions of ~15 s each) and
writes ``src/blocsim/data/estimates/eaeu_border_aves.csv`` (or ``--out``). The test suite
checks the shipped table against a re-estimation of one sector
(``tests/test_border_costs.py``); this script redoes all of them.

Usage::

    python bench/estimate_border_aves.py
    python bench/estimate_border_aves.py --out /tmp/aves.csv --sectors C10T12 agri_food
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import blocsim
from blocsim.estimation.border_effects import border_effects_table

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "blocsim" / "data" / "estimates" / "eaeu_border_aves.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SHIPPED, help="CSV to write (default: the shipped table)")
    parser.add_argument("--sectors", nargs="*", default=None, help="sectors to estimate (default: all goods sectors)")
    args = parser.parse_args()
    start = time.perf_counter()
    table = border_effects_table(blocsim.load_dataset("eaeu-2022v2"), sectors=args.sectors)
    table.to_csv(args.out, index=False, float_format="%.10g")
    print(table[["sector", "beta", "beta_se", "theta", "ave", "ave_se"]].to_string(index=False))
    for sector, reason in table.attrs.get("failed", {}).items():
        print(f"not estimated: {sector}: {reason}")
    print(f"wrote {args.out} ({len(table)} sectors) in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
