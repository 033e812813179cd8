"""Speed of blocsim.solve_ge against USITC gegravity 0.3 on the same problems, in one run.

Problems: gegravity's sample data (30 countries, CAN-JPN PTA, sigma 5, reference DEU) and
synthetic gravity-consistent data at N = 30, 60, 120, 200 (flows are the structural fitted
values of random output, expenditure and distance-based trade costs, so both tools face an
exact gravity baseline); the counterfactual gives a PTA to a group of five countries.

Each tool gets the same coefficients, sigma, reference importer and counterfactual; timings
include building the baseline and solving one counterfactual from a DataFrame. blocsim is
timed as the best of ``--repeat`` runs (default 3), gegravity once (it is slow). The table
also prints the largest gap in real-GDP change between blocsim ``compat="gegravity"`` and
gegravity, as a check that the two solved the same problem.

Usage::

    .venv/bin/python bench/ge_speed.py                      # full comparison (several minutes)
    .venv/bin/python bench/ge_speed.py --sizes 30 60 --skip-peer-above 60
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from blocsim.equilibrium.baseline import fitted_flows
from blocsim.equilibrium.onesector import solve_ge

SIGMA = 5.0
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gegravity_sample" / "sample_data_set.csv"
SAMPLE_COEFS = {"lndist": -0.3898623, "contiguity": 0.891577, "common_language": 0.0326249, "pta": 0.4711383,
                "international": -3.412584}
SYNTH_COEFS = {"lndist": -0.8, "contiguity": 0.5, "pta": 0.45, "international": -2.5}


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """Gravity-consistent square table with n countries (ISO-like codes Cnnn, reference C000)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 100.0, (n, 2))
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)) + np.eye(n) * 0.5 + 0.5
    contig = ((dist < 12.0) & ~np.eye(n, dtype=bool)).astype(float)
    block = rng.integers(0, max(2, n // 10), n)
    pta = ((block[:, None] == block[None, :]) & ~np.eye(n, dtype=bool)).astype(float)
    intl = 1.0 - np.eye(n)
    z = {"lndist": np.log(dist), "contiguity": contig, "pta": pta, "international": intl}
    log_t = sum(SYNTH_COEFS[k] * v for k, v in z.items())
    y = rng.lognormal(11.0, 1.5, n)
    e = y * rng.uniform(0.9, 1.1, n)
    e *= y.sum() / e.sum()
    flows = fitted_flows(np.exp(log_t), y, e, reference=0).flows
    names = [f"C{k:03d}" for k in range(n)]
    frame = pd.DataFrame({"exporter": np.repeat(names, n), "importer": np.tile(names, n), "year": "2006",
                          "trade": flows.ravel(), "Y": np.repeat(flows.sum(1), n), "E": np.tile(flows.sum(0), n)})
    for k, v in z.items():
        frame[k] = v.ravel()
    return frame


def counterfactual(frame: pd.DataFrame, members: list[str]) -> pd.DataFrame:
    out = frame.copy()
    pair = out["exporter"].isin(members) & out["importer"].isin(members) & (out["exporter"] != out["importer"])
    out.loc[pair, "pta"] = 1.0
    return out


def run_blocsim(frame: pd.DataFrame, cf: pd.DataFrame, coefs: dict[str, float], ref: str,
                repeat: int, compat: str | None) -> tuple[float, pd.DataFrame]:
    best, result = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = solve_ge(frame, sigma=SIGMA, cost_coefficients=coefs, counterfactual=cf, reference_importer=ref,
                          output="Y", expenditure="E", compat=compat)
        best = min(best, time.perf_counter() - t0)
    return best, result.countries.set_index("country")


def run_gegravity(frame: pd.DataFrame, cf: pd.DataFrame, coefs: dict[str, float], ref: str) -> tuple[float, pd.DataFrame | None]:
    import gegravity as ge

    coef_df = pd.DataFrame({"var": list(coefs), "coeff": list(coefs.values())})
    data = frame.assign(year=frame["year"].astype(str))
    experiment = cf.assign(year=cf["year"].astype(str))
    total = 0.0
    for rescale in (100.0, 1.0, 0.01, 1000.0):
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                base = ge.BaselineData(data, imp_var_name="importer", exp_var_name="exporter", year_var_name="year",
                                       trade_var_name="trade", expend_var_name="E", output_var_name="Y")
                model = ge.OneSectorGE(base, year="2006", reference_importer=ref, sigma=SIGMA,
                                       cost_variables=list(coefs), quiet=True,
                                       cost_coeff_values=ge.CostCoeffs(estimates=coef_df, identifier_col="var",
                                                                       coeff_col="coeff"))
                model.build_baseline(omr_rescale=rescale)
                model.define_experiment(experiment)
                model.simulate()
            ok = all(d.success for d in model.solver_diagnostics.values())
        except ValueError:
            ok = False
        total += time.perf_counter() - t0
        if ok:
            return total, model.country_results
    return total, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[30, 60, 120, 200], help="synthetic sizes N")
    parser.add_argument("--skip-peer-above", type=int, default=None,
                        help="do not run gegravity for N above this (it takes minutes at N=200)")
    parser.add_argument("--repeat", type=int, default=3, help="blocsim repetitions (best time is reported)")
    parser.add_argument("--no-sample", action="store_true", help="skip gegravity's sample data")
    args = parser.parse_args()

    problems: list[tuple[str, pd.DataFrame, pd.DataFrame, dict[str, float], str]] = []
    if not args.no_sample and SAMPLE.is_file():
        sample = pd.read_csv(SAMPLE)
        problems.append(("sample (N=30)", sample, counterfactual(sample, ["CAN", "JPN"]), SAMPLE_COEFS, "DEU"))
    for n in args.sizes:
        frame = synthetic(n)
        members = [f"C{k:03d}" for k in range(1, 6)]
        problems.append((f"synthetic N={n}", frame, counterfactual(frame, members), SYNTH_COEFS, "C000"))

    print(f"load average before: {os.getloadavg()}  cores: {os.cpu_count()}")
    header = f"{'problem':18s} {'blocsim s':>10s} {'compat s':>9s} {'gegravity s':>12s} {'ratio':>9s} {'max |dGDP| pp':>14s}"
    print(header)
    print("-" * len(header))
    for name, frame, cf, coefs, ref in problems:
        n = frame["exporter"].nunique()
        t_b, _ = run_blocsim(frame, cf, coefs, ref, args.repeat, None)
        t_c, ours = run_blocsim(frame, cf, coefs, ref, args.repeat, "gegravity")
        if args.skip_peer_above is not None and n > args.skip_peer_above:
            print(f"{name:18s} {t_b:10.4f} {t_c:9.4f} {'skipped':>12s} {'':>9s} {'':>14s}", flush=True)
            continue
        t_g, theirs = run_gegravity(frame, cf, coefs, ref)
        gap = (float((ours["real_gdp_pct"] - theirs["GDP change (percent)"].reindex(ours.index)).abs().max())
               if theirs is not None else float("nan"))
        print(f"{name:18s} {t_b:10.4f} {t_c:9.4f} {t_g:12.2f} {t_g / t_b:9.0f}x {gap:14.2e}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
