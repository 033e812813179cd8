"""Benchmark: 1,000 Monte Carlo draws of a scenario on the full bundled EAEU model, scenario-level path vs serial.

The model: every region and sector of the bundled ``eaeu`` dataset with the shock of a
library scenario (default ``russia-blocks-belarus-kazakhstan-transit``, whose transit detour
is an AVE-based measure) compiled by the scenario pipeline.

The draws are those of a scenario run's bands (``blocsim.pipeline.bands``): theta by sector
(lognormal, sd of log 0.2) and the AVE of every non-tariff measure (lognormal around its
point value, spread by kind); draw ``d`` uses its own generator.

Compared on the same draws:

- batched: ``scenario_bands(run, draws=...)``, the scenario-level path: the shock's cost
  factors rebuilt for all draws in one array expression from the point shock's cost terms,
  then one ``solve_multisector_batch`` call per chunk (shock rebuild, solve and bands timed
  together);
- serial: per draw, ``compile_shock`` at the draw's theta, its cost terms at the draw's AVEs,
  and a single array solve (``calibrate`` + ``solve_changes``), over ``--serial-draws`` draws
  (default 100) extrapolated to all of them.

Wall clock and CPU time are printed for each. The last line reads
``seconds=<batched wall s> speedup=<serial wall s / batched wall s>``. ``--memory`` first
measures the peak memory (tracemalloc) of 100 draws on a synthetic N = 85, S = 28 problem.

Usage: ``python bench/montecarlo_multisector.py [--draws 1000] [--scenario NAME] [--seed 0]
[--serial-draws 100] [--memory]``
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

from blocsim.data import load_dataset
from blocsim.equilibrium import multisector_problem, solve_multisector_batch
from blocsim.equilibrium.multisector_core import calibrate, log_consumer_prices, solve_changes
from blocsim.pipeline.bands import bands_plan, draw_values, scenario_bands
from blocsim.pipeline.scenario_run import run_scenario
from blocsim.scenario.build import build_states
from blocsim.shock.compile import compile_shock
from blocsim.shock.terms import AVE_KINDS, cost_factor_cube, reorder_terms

THETA_SPREAD = 0.2  # sd of log theta, as in scenario_bands


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
    parser.add_argument("--scenario", default="russia-blocks-belarus-kazakhstan-transit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serial-draws", type=int, default=100, help="draws of the serial loop (extrapolated)")
    parser.add_argument("--memory", action="store_true", help="also measure memory on a synthetic 85 x 28 problem")
    args = parser.parse_args()
    serial_draws = min(args.draws, args.serial_draws)
    lines = memory_check(args.seed) if args.memory else []

    dataset = load_dataset("eaeu")
    run = run_scenario(args.scenario, dataset=dataset)
    plan = bands_plan(run, seed=args.seed)
    scenario_bands(run, draws=4, seed=args.seed, plan=plan)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    mc = scenario_bands(run, draws=args.draws, seed=args.seed, plan=plan, chunk_size=args.draws)
    batched, batched_cpu = time.perf_counter() - start, time.process_time() - cpu

    problem, year, closure = plan.problem, run.scenario.data.year, plan.closure
    values = draw_values(plan, 0, serial_draws)
    s = len(problem.sectors)
    ave_columns = {i.name: k for k, i in enumerate(plan.inputs) if i.kind in AVE_KINDS}
    before, after, _ = build_states(run.scenario, dataset)
    welfare = list(mc.variables).index("welfare_pct")
    worst = 0.0
    start, cpu = time.perf_counter(), time.process_time()
    for d in range(serial_draws):
        shock = compile_shock(before, after, dataset, year, theta=dict(zip(problem.sectors, values[d, :s])))
        terms = reorder_terms(shock.cost_terms, shock.countries, shock.sectors, problem.countries, problem.sectors)
        factor = cost_factor_cube(terms, problem.flows.shape, values[d:d + 1, :s],
                                  {name: values[d:d + 1, k] for name, k in ave_columns.items()})[0]
        one = dataclasses.replace(problem, theta=values[d, :s], cost_factor=factor)
        cal = calibrate(one, closure=closure, numeraire=None)
        eq = solve_changes(cal)
        real = eq.income / cal.income / np.exp(log_consumer_prices(cal, eq.log_price_hat))
        worst = max(worst, float(np.max(np.abs((real - 1.0) * 100.0 - mc.samples[d, welfare]))))
    serial = (time.perf_counter() - start) / serial_draws * args.draws
    serial_cpu = (time.process_time() - cpu) / serial_draws * args.draws

    n = len(problem.countries)
    varied = ", ".join(i.name for i in plan.inputs if i.parameter.dist is not None)
    print(f"{args.scenario} on the bundled 'eaeu' data, {year}: N={n} regions x S={s} sectors, closure={closure}; "
          f"{args.draws} draws of {varied}; seed {args.seed}; {os.cpu_count()} cores")
    for line in lines:
        print(line)
    print(f"{'path (' + str(args.draws) + ' draws)':<64}{'wall s':>8}{'cpu s':>8}{'ms/draw':>9}")
    rows = [
        ("batched: scenario_bands (shock rebuilt as arrays + one batch)", batched, batched_cpu, "all draws"),
        ("serial: compile_shock + single solve per draw", serial, serial_cpu,
         f"measured on {serial_draws} draws, extrapolated"),
    ]
    for name, seconds, cpu_seconds, note in rows:
        print(f"{name:<64}{seconds:>8.2f}{cpu_seconds:>8.2f}{seconds / args.draws * 1e3:>9.2f}  {note}")
    print(f"speed-up: {serial / batched:.1f}x wall clock, {serial_cpu / batched_cpu:.1f}x CPU time; batched vs serial "
          f"welfare_pct max |diff| {worst:.1e} pp")
    bands = mc.bands[mc.bands["variable"] == "welfare_pct"].set_index("country")
    focus = [c for c in run.meta["focus_countries"] if c in bands.index]
    print("welfare_pct bands (p05 / p50 / p95): " + "; ".join(
        f"{c} {bands.at[c, 'p05']:.4f} / {bands.at[c, 'p50']:.4f} / {bands.at[c, 'p95']:.4f}" for c in focus))
    print(f"seconds={batched:.3f} speedup={serial / batched:.1f}")


if __name__ == "__main__":
    main()
