"""Benchmark: 1,000 Monte Carlo draws of the multi-sector GE on the bundled EAEU data, batched vs serial.

The model: every region and sector of the bundled ``eaeu`` dataset, with the shock of a
library scenario (default ``kazakhstan-leaves``) compiled by the scenario pipeline (policy
states -> ``compile_shock``): tariffs before/after, duty pools before/after, AVE-based
non-tariff cost factors, the scenario's closure.

The draws: ``theta_s ~ lognormal(median = the scenario's theta_s, sd of log 0.2)``,
independently by sector, the documented elasticity uncertainty of
``blocsim.pipeline.uncertainty.scenario_bands``; draw ``d`` uses its own generator
(``draw_rng(seed, d)``), as there. The shock is recompiled at each draw's theta, so the
AVE-based cost factors (here the customs checks Kazakhstan restores, ``(1.02)^-theta``) move
with it; that step is timed on its own (it feeds both paths and is not part of the comparison).

Compared on the same draws and inputs:

- batched: one call of ``blocsim.equilibrium.solve_multisector_batch`` for all draws;
- serial: a loop of single array solves (``calibrate`` + ``solve_changes``, the path of
  ``blocsim.solve_multisector`` without its tidy tables) over ``--serial-draws`` draws
  (default: all of them; fewer are extrapolated, as the output says);
- for scale, a loop of the tidy ``blocsim.solve_multisector`` (validation, conditional
  equilibrium and result tables included) on ``--tidy-draws`` draws, extrapolated.

Wall clock and CPU time are printed for each (on a shared machine the CPU ratio is the steadier
one). The last line reads ``seconds=<batched wall s> speedup=<serial wall s / batched wall s>``.
``--memory`` first measures the peak memory (tracemalloc) of 100 draws on a synthetic
N = 85, S = 28 problem with tariffs, input-output links and a ban (per-draw theta and cost factors).

Usage: ``python bench/montecarlo_multisector.py [--draws 1000] [--scenario kazakhstan-leaves]
[--seed 0] [--serial-draws N] [--tidy-draws 50] [--memory]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

import blocsim
from blocsim.data import load_dataset
from blocsim.equilibrium import DutyPool, multisector_problem, solve_multisector_batch
from blocsim.equilibrium.multisector_core import calibrate, solve_changes
from blocsim.equilibrium.multisector_inputs import MultiSectorProblem, parse_pair_table
from blocsim.pipeline.uncertainty_draws import draw_rng, parameter
from blocsim.scenario.build import build_states
from blocsim.pipeline.scenario_run import baseline_flows, run_scenario
from blocsim.shock.compile import compile_shock

THETA_SPREAD = 0.2  # sd of log theta, as in scenario_bands


def draw_theta(point: np.ndarray, sectors: tuple[str, ...], draws: int, seed: int) -> np.ndarray:
    """(D, S) elasticities: lognormal around the point values, one generator per draw."""
    params = [parameter(("lognormal", float(v), THETA_SPREAD), f"theta[{s}]", 0.0) for s, v in zip(sectors, point)]
    return np.array([[p.draw(rng) for p in params] for rng in (draw_rng(seed, d) for d in range(draws))])


def cost_cube(table: pd.DataFrame, problem: MultiSectorProblem) -> np.ndarray:
    """The shock's ``exporter, importer, sector, factor`` table as a (S, N, N) array."""
    (cube,) = parse_pair_table(table, ("factor",), "shock", problem.countries, problem.sectors,
                               ("exporter", "importer", "sector"), fill=1.0, low=0.0, high=np.inf,
                               allowed="finite factors >= 0")
    return np.ones_like(problem.flows) if cube is None else cube


def memory_check(seed: int) -> list[str]:
    """Peak traced memory of 100 draws on a synthetic N = 85, S = 28 problem."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from multisector_speed import synthetic

    base, tariffs, shock, io, theta = synthetic(85, 28, seed=seed)
    problem = multisector_problem(base, theta=theta, tariffs=tariffs, shock=shock, io=io)
    draws = 100
    rng = np.random.default_rng(seed)
    thetas = problem.theta[None] * np.exp(THETA_SPREAD * rng.standard_normal((draws, len(problem.sectors))))
    ave = np.where(rng.uniform(size=problem.flows.shape) < 0.05, 0.1, 0.0)  # NTMs on 5 % of the cells
    factors = (1.0 + ave)[None] ** -thetas[:, :, None, None] * problem.cost_factor[None]
    solve_multisector_batch(problem, theta=thetas[:2], cost_factor=factors[:2])  # warm-up
    tracemalloc.start()
    start = time.perf_counter()
    res = solve_multisector_batch(problem, theta=thetas, cost_factor=factors)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mib = 2.0**20
    return [
        f"memory, synthetic N=85 S=28 (tariffs, IO, ban), {draws} draws of theta and cost factors: "
        f"peak {peak / mib:.0f} MiB traced during the batch (inputs {factors.nbytes / mib:.0f} MiB held by the "
        f"caller, not counted), chunks of {res.chunk_size} draws under the default 512 MiB budget, "
        f"{seconds:.1f} s, converged {int(res.converged.sum())}/{draws}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--scenario", default="kazakhstan-leaves")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serial-draws", type=int, default=None, help="draws of the serial loop (default: all)")
    parser.add_argument("--tidy-draws", type=int, default=50, help="draws of the tidy solve_multisector loop")
    parser.add_argument("--memory", action="store_true", help="also measure memory on a synthetic 85 x 28 problem")
    args = parser.parse_args()
    serial_draws = min(args.draws, args.serial_draws or args.draws)
    lines = memory_check(args.seed) if args.memory else []

    dataset = load_dataset("eaeu")
    run = run_scenario(args.scenario, dataset=dataset)
    shock, year, closure = run.shock, run.scenario.data.year, run.scenario.model.closure
    baseline = baseline_flows(dataset, year)
    pools = {"duty_pool": DutyPool(shock.duty_pool_before) if shock.duty_pool_before else None,
             "duty_pool_after": DutyPool(shock.duty_pool_after) if shock.duty_pool_after else None,
             "productivity": None if shock.productivity.empty else shock.productivity}
    problem = multisector_problem(baseline, theta=dict(shock.theta), tariffs=shock.tariffs, **pools)
    theta = draw_theta(problem.theta, problem.sectors, args.draws, args.seed)

    start, cpu = time.perf_counter(), time.process_time()
    before, after, _ = build_states(run.scenario, dataset)
    shocks = [compile_shock(before, after, dataset, year, theta=dict(zip(problem.sectors, row))) for row in theta]
    factors = np.stack([cost_cube(s.cost_factor, problem) for s in shocks])
    compile_seconds, compile_cpu = time.perf_counter() - start, time.process_time() - cpu
    if any(not s.tariffs.equals(shock.tariffs) for s in shocks[:10]):
        raise SystemExit("the scenario's tariffs depend on theta: pass them per draw (tariff_after=...)")

    solve_multisector_batch(problem, theta=theta[:4], cost_factor=factors[:4], closure=closure)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    batch = solve_multisector_batch(problem, theta=theta, cost_factor=factors, closure=closure)
    batched, batched_cpu = time.perf_counter() - start, time.process_time() - cpu

    worst = 0.0
    start, cpu = time.perf_counter(), time.process_time()
    for d in range(serial_draws):
        one = dataclasses.replace(problem, theta=theta[d], cost_factor=factors[d])
        eq = solve_changes(calibrate(one, closure=closure, numeraire=None))
        worst = max(worst, float(np.max(np.abs(eq.wage_hat - batch.wage_hat[d]))),
                    float(np.max(np.abs(eq.income / batch.income[d] - 1.0))))
    serial = (time.perf_counter() - start) / serial_draws * args.draws
    serial_cpu = (time.process_time() - cpu) / serial_draws * args.draws

    tidy_draws = min(args.tidy_draws, args.draws)
    start, cpu = time.perf_counter(), time.process_time()
    tidy_gap = 0.0
    for d in range(tidy_draws):
        res = blocsim.solve_multisector(baseline, theta=dict(zip(problem.sectors, theta[d])),
                                        shock=None if shocks[d].cost_factor.empty else shocks[d].cost_factor,
                                        tariffs=shock.tariffs, closure=closure, **pools)
        welfare = res.countries.set_index("country").loc[list(problem.countries), "welfare_pct"].to_numpy()
        tidy_gap = max(tidy_gap, float(np.max(np.abs(welfare - (batch.real_income_hat[d] - 1.0) * 100.0))))
    tidy = (time.perf_counter() - start) / max(tidy_draws, 1) * args.draws
    tidy_cpu = (time.process_time() - cpu) / max(tidy_draws, 1) * args.draws

    n, s = len(problem.countries), len(problem.sectors)
    iters = batch.diagnostics["iterations"]
    extrapolated = "" if serial_draws == args.draws else f", measured on {serial_draws} draws and extrapolated"
    print(f"{args.scenario} on the bundled 'eaeu' data, {year}: N={n} regions x S={s} sectors, closure={closure}; "
          f"{args.draws} draws of theta ~ lognormal(scenario theta, sd of log {THETA_SPREAD}), seed {args.seed}; "
          f"{os.cpu_count()} cores")
    for line in lines:
        print(line)
    print(f"{'step (' + str(args.draws) + ' draws)':<56}{'wall s':>8}{'cpu s':>8}{'ms/draw':>9}")
    rows = [
        ("shock recompiled at each draw's theta (compile_shock)", compile_seconds, compile_cpu,
         "input to both, not compared"),
        ("batched: solve_multisector_batch, all draws", batched, batched_cpu, f"chunks of {batch.chunk_size}"),
        ("serial: calibrate + solve_changes per draw", serial, serial_cpu, f"one solve per draw{extrapolated}"),
        ("tidy: blocsim.solve_multisector per draw", tidy, tidy_cpu, f"incl. tables; {tidy_draws} draws, extrapolated"),
    ]
    for name, seconds, cpu_seconds, note in rows:
        print(f"{name:<56}{seconds:>8.2f}{cpu_seconds:>8.2f}{seconds / args.draws * 1e3:>9.2f}  {note}")
    print(f"speed-up batched vs serial: {serial / batched:.1f}x wall clock, {serial_cpu / batched_cpu:.1f}x CPU time "
          "(the machine is shared: wall clock varies with its load)")
    print(f"converged {int(batch.converged.sum())}/{args.draws} draws; iterations min/median/max "
          f"{iters.min()}/{int(iters.median())}/{iters.max()}; batched vs serial max |diff| {worst:.1e} "
          f"(wage hat, relative income); vs tidy welfare_pct {tidy_gap:.1e} pp")
    welfare = (batch.real_income_hat - 1.0) * 100.0
    focus = [c for c in ("KAZ", "RUS", "BLR", "ARM", "KGZ") if c in problem.countries]
    print("welfare_pct bands (p05 / p50 / p95): " + "; ".join(
        f"{c} " + " / ".join(f"{v:.3f}" for v in np.percentile(welfare[:, problem.countries.index(c)], [5, 50, 95]))
        for c in focus))
    print(f"seconds={batched:.3f} speedup={serial / batched:.1f}")


if __name__ == "__main__":
    main()
