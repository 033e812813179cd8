"""Speed and memory of the multi-sector GE on GTAP-size synthetic data.

Run: ``.venv/bin/python bench/multisector_speed.py [--repeat 2]``

Cases: N = 141 countries x S = 65 sectors (GTAP 10 size) with tariffs and input-output links,
and N = 200 x S = 50 with tariffs and input-output links. The data are synthetic but
consistent: gravity flows (sizes / distance^theta, strong home bias), tariffs of 0-20 %,
input shares proportional to each country's spending mix (so final demand is positive). The
counterfactual: a 20-country customs union removes its internal tariffs, raises its external
tariffs by a half, and one member bans one sector's imports from three countries.

Printed per case: seconds per counterfactual end to end (tidy DataFrames in, result tables
out, conditional equilibrium included), seconds of the array solve alone (calibration + full
equilibrium), iterations, iterations and seconds of the conditional equilibrium, peak traced memory (tracemalloc; numpy reports its buffers) and the
memory-bandwidth floor: iterations x bytes of the (S, N, N) arrays one evaluation streams
(3 passes: the kernel once, the pre-tariff kernel twice) / bandwidth measured with a large
numpy copy on this machine.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

import blocsim
from blocsim.equilibrium.multisector_core import calibrate, solve_changes, solve_conditional
from blocsim.equilibrium.multisector_inputs import MultiSectorProblem
from blocsim.equilibrium.options import SolverOptions


def synthetic(n: int, s: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Baseline flows, tariffs, shock, IO table and elasticities (tidy frames)."""
    rng = np.random.default_rng(seed)
    codes = np.array([f"{chr(65 + k // 26 // 26 % 26)}{chr(65 + k // 26 % 26)}{chr(65 + k % 26)}" for k in range(n)])
    sectors = np.array([f"s{k:02d}" for k in range(s)])
    theta = rng.choice([1.45, 2.62, 3.13, 4.0, 6.99, 8.22, 9.11, 13.53, 64.85], size=s)
    loc = rng.uniform(0, 10, size=(n, 2))
    dist = np.sqrt(((loc[:, None] - loc[None]) ** 2).sum(-1)) + 0.5
    size = rng.lognormal(0, 1.5, size=n)
    supply = rng.lognormal(0, 1.0, size=(s, n)) * size
    x = supply[:, :, None] * size[None, None, :] * dist[None] ** (-np.minimum(theta, 8)[:, None, None] / 4)
    x[:, np.arange(n), np.arange(n)] *= 30.0
    x *= rng.uniform(0.5, 1.5, size=x.shape)
    s_idx, i_idx, j_idx = np.meshgrid(np.arange(s), np.arange(n), np.arange(n), indexing="ij")
    base = pd.DataFrame({"exporter": codes[i_idx.ravel()], "importer": codes[j_idx.ravel()],
                         "sector": sectors[s_idx.ravel()], "trade": x.ravel()})
    off = i_idx.ravel() != j_idx.ravel()
    bloc = np.zeros(n, dtype=bool)
    bloc[:20] = True
    tb = rng.uniform(0, 0.2, size=x.shape).ravel()
    inside = bloc[i_idx.ravel()] & bloc[j_idx.ravel()]
    into = ~bloc[i_idx.ravel()] & bloc[j_idx.ravel()]
    ta = np.where(inside, 0.0, np.where(into, tb * 1.5, tb))
    tariffs = pd.DataFrame({"exporter": base.exporter[off], "importer": base.importer[off], "sector": base.sector[off],
                            "tariff_before": tb[off], "tariff_after": ta[off]})
    shock = pd.DataFrame({"exporter": codes[[30, 31, 32]], "importer": codes[0], "sector": sectors[0], "factor": 0.0})
    spend = x.sum(axis=1)
    mix = spend / spend.sum(axis=0)
    beta = 0.45 * np.minimum(1.0, x.sum(axis=(0, 1)) / x.sum(axis=(0, 2)))
    share = beta[:, None, None] * mix.T[:, :, None] * np.ones((1, 1, s))  # [country, input, sector]
    c_idx, k_idx, u_idx = np.meshgrid(np.arange(n), np.arange(s), np.arange(s), indexing="ij")
    io = pd.DataFrame({"country": codes[c_idx.ravel()], "sector": sectors[u_idx.ravel()],
                       "input_sector": sectors[k_idx.ravel()], "share": share.ravel()})
    return base, tariffs, shock, io, dict(zip(sectors, theta))


def bandwidth() -> float:
    """Bytes per second of a large numpy copy (read + write counted)."""
    a = np.ones(2**25)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def run_case(n: int, s: int, repeat: int, bw: float) -> None:
    base, tariffs, shock, io, theta = synthetic(n, s)
    kwargs = dict(theta=theta, tariffs=tariffs, shock=shock, io=io, bloc=[c for c in sorted(set(base.exporter))[:20]])
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        res = blocsim.solve_multisector(base, **kwargs)
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    blocsim.solve_multisector(base, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the array solve alone, on the problem the public function builds
    from blocsim.equilibrium import multisector as ms

    captured: dict[str, MultiSectorProblem] = {}
    original = ms.calibrate

    def spy(problem: MultiSectorProblem, **kw: object):  # type: ignore[no-untyped-def]
        captured["p"] = problem
        return original(problem, **kw)

    ms.calibrate = spy
    try:
        blocsim.solve_multisector(base, **kwargs)
    finally:
        ms.calibrate = original
    core = []
    for _ in range(repeat):
        t = time.perf_counter()
        eq = solve_changes(calibrate(captured["p"], closure="ratio", numeraire=None), SolverOptions())
        core.append(time.perf_counter() - t)
    cal = calibrate(captured["p"], closure="ratio", numeraire=None)
    cond = []
    for _ in range(repeat):
        t = time.perf_counter()
        solve_conditional(cal, SolverOptions())
        cond.append(time.perf_counter() - t)
    iters = eq.record.iterations
    cube = 8.0 * s * n * n
    floor = iters * 3 * cube / bw
    per_eval = (min(core)) / iters
    print(f"N={n:4d} S={s:3d}  end-to-end {min(times):6.3f} s  array solve {min(core):6.3f} s  "
          f"iterations {iters:4d}  ({res.diagnostics['iterations']} in the run; conditional "
          f"{res.diagnostics['conditional_iterations']}, {min(cond):.3f} s)  peak traced memory {peak / 2**20:7.1f} MiB "
          f"(one (S,N,N) array = {cube / 2**20:.1f} MiB)")
    print(f"             bandwidth floor {floor:6.3f} s (= {iters} x 3 x {cube / 2**20:.1f} MiB / "
          f"{bw / 2**30:.1f} GiB/s); array solve is {min(core) / floor:4.1f} x the floor, "
          f"{per_eval * 1e3:.2f} ms per evaluation; converged={res.diagnostics['converged']} "
          f"max_residual={res.diagnostics['max_residual']:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    bw = bandwidth()
    print(f"numpy copy bandwidth: {bw / 2**30:.1f} GiB/s (read + write)")
    for n, s in ((141, 65), (200, 50)):
        run_case(n, s, args.repeat, bw)


if __name__ == "__main__":
    main()
