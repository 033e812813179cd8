"""Benchmark: 1,000 Monte Carlo draws of "trade without borders" (Yotov et al. 2016, ch. 2).

69 countries, 2006, estimated baseline; each draw takes sigma ~ Normal(7, 0.5) and the three
cost coefficients (ln_DIST, CNTG, INTL_BRDR) from N(beta_hat, V) with V the PPML covariance
(blocsim.estimate_gravity, robust), then solves the conditional and full-endowment GE.

Prints the seconds for 1,000 draws with the batched solver (chunks of 250 draws, one
vectorised solve each), the seconds per draw of a serial loop that calls ``blocsim.solve_ge``
once per draw (run on a subset of draws and extrapolated to 1,000, as stated in the output),
and the speed-up. ``--dask`` also times the batched run on a 2-worker Dask LocalCluster.

Usage: ``python bench/montecarlo.py [--draws 1000] [--loop-draws 20] [--dask]``
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

import blocsim

DATA = Path(os.environ.get("BLOCSIM_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--loop-draws", type=int, default=20, help="draws for the serial per-draw loop")
    parser.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster (2 workers)")
    args = parser.parse_args()

    df = pd.read_csv(DATA / "yotov2016" / "ch2_app1_trade_without_border_2006.csv")
    gravity = blocsim.estimate_gravity(df, covariates=["ln_DIST", "CNTG", "INTL_BRDR"])
    kw = {"sigma": ("normal", 7.0, 0.5), "cost_coefficients": gravity,
          "counterfactual": df.assign(INTL_BRDR=0.0), "reference_importer": "ZZZ", "seed": 2016}
    blocsim.monte_carlo(df, draws=2, **kw)  # warm-up (imports, caches)

    start = time.perf_counter()
    res = blocsim.monte_carlo(df, draws=args.draws, **kw)
    batched = time.perf_counter() - start

    start = time.perf_counter()
    loop = blocsim.monte_carlo(df, draws=args.loop_draws, method="loop", **kw)
    per_draw = (time.perf_counter() - start) / args.loop_draws
    agree = float(np.max(np.abs(loop.samples - res.samples[: args.loop_draws])))

    print(f"countries: {len(res.countries)}, draws: {args.draws}, cores: {os.cpu_count()}")
    print(f"batched (chunks of 250, one vectorised solve each): {batched:.2f} s for {args.draws} draws "
          f"({batched / args.draws * 1e3:.2f} ms/draw)")
    print(f"serial loop, one solve_ge per draw: {per_draw:.3f} s/draw measured on {args.loop_draws} draws; "
          f"extrapolated to {args.draws} draws: {per_draw * args.draws:.1f} s")
    print(f"speed-up batched vs serial loop: {per_draw * args.draws / batched:.1f}x; "
          f"max |difference| on the shared draws: {agree:.1e} percentage points")
    if args.dask:
        start = time.perf_counter()
        on_dask = blocsim.monte_carlo(df, draws=args.draws, scheduler="local", **kw)
        seconds = time.perf_counter() - start
        same = np.array_equal(on_dask.samples, res.samples)
        print(f"Dask LocalCluster (2 workers, incl. start-up): {seconds:.2f} s; identical to serial: {same}")
    can = res.bands[(res.bands["country"] == "CAN") & (res.bands["variable"] == "real_gdp_pct")].iloc[0]
    print(f"CAN real GDP %: point {can['point']:.2f}, 90% band [{can['p05']:.2f}, {can['p95']:.2f}]")


if __name__ == "__main__":
    main()
