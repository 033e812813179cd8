"""Monte Carlo uncertainty bands for the GE models: :func:`monte_carlo`.

Two sources of uncertainty, drawn jointly per draw:

- **trade elasticities**: ``sigma`` (one-sector) or ``theta`` per sector (multi-sector) from a
  distribution the user picks: a frozen :mod:`scipy.stats` distribution or a small spec
  ``("normal", mean, sd)``, ``("lognormal", median, sd_of_log)``, ``("uniform", low, high)``,
  ``("triangular", low, mode, high)`` (or the same as a dict ``{"dist": "normal", ...}``);
  draws outside the model's domain (sigma <= 1, theta <= 0) are redrawn;
- **estimated cost coefficients**: ``beta ~ N(beta_hat, V)`` with ``V`` the PPML covariance
  (``estimate_gravity(...).vcov``), drawn as ``beta_hat + R z`` with ``R R' = V`` (symmetric
  square root, so semi-definite ``V`` works) and ``z`` standard normal.

Reproducibility: draw ``d`` uses its own generator ``default_rng(SeedSequence(seed,
spawn_key=(d,)))`` (= child ``d`` of ``SeedSequence(seed).spawn``), so the parameters of a
draw do not depend on how draws are chunked or where chunks run; serial and Dask runs with
the same seed and chunk size give bit-identical numbers.

Solving: the one-sector model solves a chunk of draws in one vectorised call of the batched
array core (:func:`blocsim.equilibrium.equations.solve_counterfactual`, arrays ``(D, N, N)``,
``sigma`` of shape ``(D, 1)``); ``method="loop"`` calls :func:`blocsim.solve_ge` once per draw
instead (for comparison). With ``compat="yotov"`` or ``"gegravity"`` the batched path solves
the draws of a chunk one by one with that compatibility algorithm (each has its own stopping
rule). ``model="multisector"`` loops over :func:`blocsim.solve_multisector` (every keyword of
the single solve reaches each draw); a scenario run's bands use the batched multi-sector core
through :mod:`blocsim.pipeline.bands`. Every argument of a single run (``compat``, ``output``,
``expenditure``, ``io``, ``duty_pool``, ...) reaches every draw; arguments the chosen model
does not use are errors (:mod:`blocsim.pipeline.uncertainty_inputs`). Chunks of draws are tasks
for :mod:`blocsim.pipeline.distributed` (in process or on Dask).

Bands: for every country and variable, percentiles of the draws (``numpy.percentile``,
linear interpolation), their mean and standard deviation, and the point estimate (the model
solved at ``beta_hat`` and the elasticities' point values: the float given, or the
distribution's median).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from blocsim.data.progress import ProgressCallback
from blocsim.equilibrium.baseline import country_index
from blocsim.equilibrium.equations import country_changes, solve_counterfactual
from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import DataValidationError
from blocsim.pipeline.distributed import Scheduler, map_tasks
from blocsim.pipeline.uncertainty_draws import (
    check_draws,
    check_seed,
    coefficient_draws_root,
    draw_rng,
)
from blocsim.pipeline.uncertainty_inputs import (
    MULTISECTOR_VARIABLES,
    ONE_SECTOR_VARIABLES,
    MonteCarloProblem,
    cost_arrays,
    multisector_problem,
    onesector_problem,
    percentile_array,
    reject_unused,
)

__all__ = ["MULTISECTOR_VARIABLES", "ONE_SECTOR_VARIABLES", "MonteCarloResult", "band_frame", "monte_carlo"]

_Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]
"""What a chunk task returns: elasticities (D, P), coefficients (D, K), results (D, V, N)."""


def _draw(problem: MonteCarloProblem, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Elasticities (D, P) and coefficients (D, K) of draws ``start..stop-1``."""
    k = len(problem.coef_names)
    elas = np.empty((stop - start, len(problem.elasticities)))
    coefs = np.tile(problem.coef_mean, (stop - start, 1))
    for row, d in enumerate(range(start, stop)):
        rng = draw_rng(problem.seed, d)
        elas[row] = [p.draw(rng) for p in problem.elasticities]
        if problem.coef_root is not None:
            coefs[row] += problem.coef_root @ rng.standard_normal(k)
    return elas, coefs


def _variables(problem: MonteCarloProblem, arrays: Any) -> np.ndarray:
    """The banded variables of solved arrays, shape (..., V, N)."""
    changes = country_changes(arrays)
    return np.stack([changes[v] for v in problem.variables], axis=-2)


def _solve_onesector(problem: MonteCarloProblem, base: np.ndarray, change: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(D, V, N) results of D counterfactuals: one batched call, or draw by draw for a compat mode.

    The compatibility algorithms reproduce a published loop with its own stopping rule, so
    each draw is solved alone, exactly as :func:`blocsim.solve_ge` solves a single run.
    """
    settings = {"reference": problem.reference, "options": problem.options}
    if problem.compat is None:
        arrays = solve_counterfactual(base, change, sigma=sigma[:, None], closure=problem.closure, **settings)
        return _variables(problem, arrays)
    from blocsim.equilibrium.compat import solve_gegravity, solve_yotov

    solver = {"yotov": solve_yotov, "gegravity": solve_gegravity}[problem.compat]
    base = np.broadcast_to(base, change.shape)
    return np.stack([_variables(problem, solver(base[d], change[d], sigma=float(sigma[d]), **settings))
                     for d in range(len(sigma))])


def _onesector_arrays(problem: MonteCarloProblem, sigma: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Solve D one-sector counterfactuals with the array core; returns (D, V, N)."""
    from blocsim.equilibrium.baseline import fitted_flows

    change = np.broadcast_to(problem.shock, (len(sigma), *problem.shock.shape))
    if problem.z_delta is not None:
        change = change * np.exp(np.einsum("dk,kij->dij", coefs, problem.z_delta))
    base: np.ndarray = problem.flows[None]
    if problem.z_base is not None:  # estimated baseline: fitted flows from the drawn costs
        cost = np.exp(np.einsum("dk,kij->dij", coefs, problem.z_base))
        base = fitted_flows(cost, problem.output, problem.expenditure, reference=problem.reference,
                            options=problem.options).flows
    return _solve_onesector(problem, base, change, sigma)


def _onesector_chunk(problem: MonteCarloProblem, start: int, stop: int) -> _Chunk:
    """Task: draws ``start..stop-1`` solved in one vectorised call."""
    elas, coefs = _draw(problem, start, stop)
    return elas, coefs, _onesector_arrays(problem, elas[:, 0], coefs)


def _solve_ge_once(problem: MonteCarloProblem, sigma: float, coefs: np.ndarray) -> np.ndarray:
    """One :func:`blocsim.solve_ge` call with every argument of the run; returns (V, N)."""
    from blocsim.equilibrium.onesector import solve_ge

    coefficients = dict(zip(problem.coef_names, coefs)) if problem.coef_names else None
    res = solve_ge(problem.frames["baseline"], sigma=sigma, cost_coefficients=coefficients,
                   counterfactual=problem.frames.get("counterfactual"), shock=problem.frames.get("shock"),
                   baseline_method=problem.baseline_method, closure=problem.closure,  # type: ignore[arg-type]
                   reference_importer=None if problem.reference is None else problem.countries[problem.reference],
                   options=problem.options, **problem.kwargs)
    table = res.countries.set_index("country").loc[list(problem.countries)]
    return table[list(problem.variables)].to_numpy(dtype=float).T


def _onesector_loop_chunk(problem: MonteCarloProblem, start: int, stop: int) -> _Chunk:
    """Task: the same draws, one :func:`blocsim.solve_ge` call per draw (the serial reference)."""
    elas, coefs = _draw(problem, start, stop)
    out = np.stack([_solve_ge_once(problem, float(elas[r, 0]), coefs[r]) for r in range(stop - start)])
    return elas, coefs, out


def _multisector_solve(problem: MonteCarloProblem, theta: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """One multi-sector solve; returns (V, N)."""
    from blocsim.equilibrium.multisector import solve_multisector

    sectors = list(problem.sectors)
    shock = problem.frames.get("shock")
    if problem.z_delta is not None:  # cost-coefficient draw -> factor on every sector of the pair
        exp_col, imp_col = problem.kwargs["exporter"], problem.kwargs["importer"]
        n = len(problem.countries)
        names = np.asarray(problem.countries, dtype=object)
        table = pd.DataFrame({
            exp_col: np.repeat(names, n), imp_col: np.tile(names, n),
            "_cf": np.exp(np.einsum("k,kij->ij", coefs, problem.z_delta)).ravel(),
        }).merge(pd.DataFrame({problem.kwargs.get("sector", "sector"): sectors}), how="cross")
        if shock is not None:
            table = table.merge(shock, on=list(table.columns[[0, 1, 3]]), how="left")
            table["_cf"] *= table.pop("factor").fillna(1.0)
        shock = table.rename(columns={"_cf": "factor"})
    res = solve_multisector(problem.frames["baseline"], theta=dict(zip(sectors, theta)), shock=shock,
                            tariffs=problem.frames.get("tariffs"), closure=problem.closure,  # type: ignore[arg-type]
                            options=problem.options, **problem.kwargs)
    missing = [v for v in problem.variables if v not in res.countries.columns]
    if missing:
        raise DataValidationError(f"argument 'variables': {missing} are not columns of the multi-sector result; "
                                  f"allowed: {[c for c in res.countries.columns if c != 'country']}.")
    table = res.countries.set_index("country").loc[list(problem.countries)]
    return table[list(problem.variables)].to_numpy(dtype=float).T


def _multisector_chunk(problem: MonteCarloProblem, start: int, stop: int) -> _Chunk:
    """Task: draws ``start..stop-1`` of the multi-sector model, one solve per draw."""
    elas, coefs = _draw(problem, start, stop)
    out = np.stack([_multisector_solve(problem, elas[r], coefs[r]) for r in range(stop - start)])
    return elas, coefs, out


@dataclass(frozen=True)
class MonteCarloResult:
    """Outcome of :func:`monte_carlo`.

    Attributes
    ----------
    bands : DataFrame
        One row per (country, variable): ``country, variable, point, mean, std`` and one
        column per percentile (``p05, p50, p95`` by default). Units of the variable (percent
        changes, or USD millions for revenue).
    samples : numpy.ndarray
        All draws, shape ``(D, V, N)`` (draw, variable, country).
    point : DataFrame
        ``country`` plus one column per variable at the point parameters.
    parameters : DataFrame
        One row per draw: ``draw``, the elasticities and coefficients used.
    variables, countries : tuple of str
        Axis labels of ``samples``.
    diagnostics : dict
        ``draws, method, scheduler, chunks, seconds, seed``.
    """

    bands: pd.DataFrame
    samples: np.ndarray
    point: pd.DataFrame
    parameters: pd.DataFrame
    variables: tuple[str, ...]
    countries: tuple[str, ...]
    diagnostics: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """The bands table (a copy), as written to ``bands.csv``."""
        return self.bands.copy()

    def long(self) -> pd.DataFrame:
        """All draws as a tidy table ``draw, country, variable, value``."""
        d, v, n = self.samples.shape
        return pd.DataFrame({
            "draw": np.repeat(np.arange(d), v * n),
            "variable": np.tile(np.repeat(np.asarray(self.variables, dtype=object), n), d),
            "country": np.tile(np.asarray(self.countries, dtype=object), d * v),
            "value": self.samples.ravel(),
        })


def monte_carlo(
    baseline_df: pd.DataFrame,
    *,
    model: Literal["ge", "multisector"] = "ge",
    draws: int = 1000,
    seed: int = 0,
    sigma: Any = None,
    theta: Any = None,
    cost_coefficients: Any = None,
    vcov: pd.DataFrame | None = None,
    vary_coefficients: bool | None = None,
    counterfactual: pd.DataFrame | None = None,
    cost_table: pd.DataFrame | None = None,
    shock: pd.DataFrame | None = None,
    tariffs: pd.DataFrame | None = None,
    baseline_method: Literal["estimated", "observed"] | None = None,
    closure: Literal["ratio", "level"] = "ratio",
    reference_importer: str | None = None,
    variables: Sequence[str] | None = None,
    percentiles: Sequence[float] = (5, 50, 95),
    method: Literal["batched", "loop"] | None = None,
    scheduler: Scheduler = None,
    chunk_size: int = 250,
    exporter: str = "exporter",
    importer: str = "importer",
    flow: str = "trade",
    options: SolverOptions | None = None,
    progress: ProgressCallback | None = None,
    **model_kwargs: Any,
) -> MonteCarloResult:
    """Monte Carlo bands for the one-sector (``model="ge"``) or multi-sector GE.

    Every argument is used by the chosen model or rejected (see "Raises"); each draw is the
    same solve as a single run with the same arguments (:func:`blocsim.solve_ge` or
    :func:`blocsim.solve_multisector`) at that draw's parameters.

    Parameters
    ----------
    baseline_df : DataFrame
        Baseline as for :func:`blocsim.solve_ge` (pairs with domestic flows, cost columns) or
        :func:`blocsim.solve_multisector` (with a ``sector`` column).
    model : {"ge", "multisector"}
        Which model.
    draws : int
        Number of draws D, from 2 to ``MAX_DRAWS`` (1,000,000), and small enough that the
        result fits in ``MAX_RESULT_BYTES`` (2 GiB; see
        :func:`blocsim.pipeline.uncertainty_draws.result_bytes`).
    seed : int
        Seed (>= 0); the same seed gives the same numbers on every scheduler and chunking.
    sigma : float, frozen distribution or spec
        One-sector only: elasticity of substitution (> 1); see the module notes for specs.
    theta : float, spec, or mapping sector -> float/spec
        Multi-sector only: trade elasticities (> 0), one per sector of ``baseline_df``.
    cost_coefficients : mapping, Series or estimation result, optional
        Point estimates beta_hat of the cost variables (``estimate_gravity`` result: its
        ``.vcov`` is used for the draws).
    vcov : DataFrame, optional
        Covariance of the coefficients (K x K, named by covariate); overrides ``.vcov``.
        Needs ``cost_coefficients``.
    vary_coefficients : bool, optional
        Draw the coefficients (default: when a covariance is available). Needs ``cost_coefficients``.
    counterfactual : DataFrame, optional
        Cost table with changed cost columns; the shock is ``exp((z' - z) beta)`` per draw
        (multi-sector: applied to every sector of the pair).
    cost_table : DataFrame, optional
        Multi-sector only: pair table (exporter, importer, cost columns) with the baseline
        cost variables, needed for coefficient draws (the one-sector model reads them from
        ``baseline_df``, as :func:`blocsim.solve_ge` does).
    shock : DataFrame, optional
        Fixed shock table as for the model (exporter, importer[, sector], factor).
    tariffs : DataFrame, optional
        Multi-sector only: tariffs before/after as for :func:`blocsim.solve_multisector`.
    baseline_method, reference_importer
        One-sector only, as for :func:`blocsim.solve_ge` (``baseline_method`` default "estimated").
    closure : {"ratio", "level"}
        Deficit closure of either model.
    variables : sequence of str, optional
        Country columns to band (defaults: ``ONE_SECTOR_VARIABLES`` / ``MULTISECTOR_VARIABLES``).
    percentiles : sequence of float
        Distinct percentiles in [0, 100] for the band columns (``p05`` ...).
    method : {"batched", "loop"}, optional
        One-sector only (default "batched"): all draws of a chunk in one vectorised solve of
        the array core, or one :func:`blocsim.solve_ge` call per draw (same numbers to ~1e-10).
    scheduler : None, "local", "processes", address or distributed.Client
        Where the chunks run (:mod:`blocsim.pipeline.distributed`).
    chunk_size : int
        Draws per task (>= 1).
    exporter, importer, flow : str
        Column names in ``baseline_df``.
    options : SolverOptions, optional
        Solver settings.
    progress : callable, optional
        ``progress(done, total)``, ``total`` = ``draws``: called with 0 once the point
        estimate is solved, then with the draws finished after each chunk (strictly
        increasing, last ``done == draws``; in completion order on Dask); see
        :mod:`blocsim.pipeline.distributed`. For a progress display (the CLI's bar).
    **model_kwargs
        Further keywords of the model's single-run solve: for ``model="ge"`` ``compat``,
        ``output``, ``expenditure`` of :func:`blocsim.solve_ge`; for ``"multisector"`` ``io``,
        ``duty_pool``, ``duty_pool_after``, ``productivity``, ``bloc``, ``partner_groups``,
        ``sector``, ``numeraire`` of :func:`blocsim.solve_multisector`.

    Returns
    -------
    MonteCarloResult
        ``.bands``: one row per (country, variable) with columns ``country, variable, point,
        mean, std`` and one column per percentile (``p05, p50, p95`` by default), in the
        variable's units (``*_pct`` percent changes; revenue in USD millions); ``.samples``:
        every draw as an array of shape ``(D, V, N)`` (draw, variable, country, labelled by
        ``.variables`` and ``.countries``); also ``.point``, ``.parameters`` and ``.diagnostics``.

    Raises
    ------
    DataValidationError
        A bad argument (model, method, draws, seed, chunk_size, percentiles, distribution
        spec, coefficients/covariance), an argument the chosen model does not use (e.g.
        ``theta`` or ``tariffs`` with ``model="ge"``, ``sigma`` with ``"multisector"``, a
        keyword neither solver takes), or a baseline table that breaks the model's schema.
        The point estimate is solved first, so every error of a single run comes before
        any draw.
    ConvergenceError
        The solver did not converge at the point parameters or at one of the draws.
    """
    started = time.perf_counter()
    if model not in ("ge", "multisector"):
        raise DataValidationError(f"argument 'model': got {model!r}; allowed: 'ge', 'multisector'.")
    reject_unused(model, {"sigma": sigma, "baseline_method": baseline_method, "reference_importer": reference_importer,
                          "method": method, "theta": theta, "tariffs": tariffs, "cost_table": cost_table}, model_kwargs)
    method = method or "batched"
    if method not in ("batched", "loop"):
        raise DataValidationError(f"argument 'method': got {method!r}; allowed: 'batched', 'loop'.")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise DataValidationError(f"argument 'chunk_size': got {chunk_size!r}; allowed: an integer >= 1.")
    pct = percentile_array(percentiles)
    if not isinstance(baseline_df, pd.DataFrame):
        raise DataValidationError(f"argument 'baseline_df': got {type(baseline_df).__name__}; allowed: a DataFrame.")
    names, mean, root = coefficient_draws_root(cost_coefficients, vcov, vary_coefficients)
    countries = country_index(baseline_df, exporter, importer, "baseline_df")
    z_delta = None
    if counterfactual is not None:
        if not names:
            raise DataValidationError("argument 'counterfactual' needs 'cost_coefficients'. Fix: pass them.")
        costs = baseline_df if cost_table is None else cost_table
        z_delta = (cost_arrays(counterfactual, names, countries, exporter, importer, "counterfactual")
                   - cost_arrays(costs, names, countries, exporter, importer, "cost_table"))
    common = {"countries": countries, "seed": check_seed(seed), "coef_names": names, "coef_mean": mean,
              "coef_root": root, "z_delta": z_delta, "closure": closure, "options": options}
    kwargs = {"exporter": exporter, "importer": importer, "flow": flow, **model_kwargs}
    if model == "ge":
        problem = onesector_problem(baseline_df, common, sigma=sigma, variables=variables, shock=shock,
                                    counterfactual=counterfactual, baseline_method=baseline_method or "estimated",
                                    reference_importer=reference_importer, kwargs=kwargs)
        task = _onesector_chunk if method == "batched" else _onesector_loop_chunk
    else:
        problem = multisector_problem(baseline_df, common, theta=theta, variables=variables, shock=shock,
                                      tariffs=tariffs, kwargs=kwargs)
        task = _multisector_chunk
    draws = check_draws(draws, variables=len(problem.variables), countries=len(countries),
                        parameters=len(problem.elasticities) + len(names))
    point = _point(problem)  # first: a single run's errors come before any draw
    bounds = [(a, min(a + chunk_size, draws)) for a in range(0, draws, chunk_size)]
    parts = map_tasks(task, problem, bounds, scheduler=scheduler, progress=progress,
                      units=[stop - start for start, stop in bounds])
    elas = np.concatenate([p[0] for p in parts])
    coefs = np.concatenate([p[1] for p in parts])
    samples = np.concatenate([p[2] for p in parts])
    return _assemble(problem, samples, point, elas, coefs, pct, {
        "draws": int(draws), "method": method if model == "ge" else "loop", "model": model, "seed": problem.seed,
        "scheduler": scheduler if scheduler is None or isinstance(scheduler, str) else type(scheduler).__name__,
        "chunks": len(bounds), "chunk_size": int(chunk_size), "seconds": time.perf_counter() - started,
    })


def _point(problem: MonteCarloProblem) -> np.ndarray:
    """The model at the point parameters, shape (V, N): the single-run solve (solve_ge / solve_multisector)."""
    point_elas = np.array([p.point for p in problem.elasticities])
    if problem.model == "ge":
        return _solve_ge_once(problem, float(point_elas[0]), problem.coef_mean)
    return _multisector_solve(problem, point_elas, problem.coef_mean)


def band_frame(samples: np.ndarray, point: np.ndarray, variables: Sequence[str], countries: Sequence[str],
               pct: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bands table (one row per country and variable) and the point table of draws (D, V, N)."""
    v, n = len(variables), len(countries)
    bands = pd.DataFrame({
        "country": np.tile(np.asarray(countries, dtype=object), v),
        "variable": np.repeat(np.asarray(variables, dtype=object), n),
        "point": point.ravel(),
        "mean": samples.mean(axis=0).ravel(),
        "std": samples.std(axis=0, ddof=1).ravel(),
    })
    quantiles = np.percentile(samples, pct, axis=0)  # (Q, V, N)
    for q, values in zip(pct, quantiles):
        bands[f"p{q:02g}"] = values.ravel()  # p05, p50, p95, p2.5 ...
    point_frame = pd.DataFrame({"country": list(countries)})
    for k, name in enumerate(variables):
        point_frame[name] = point[k]
    return bands, point_frame


def _assemble(problem: MonteCarloProblem, samples: np.ndarray, point: np.ndarray, elas: np.ndarray, coefs: np.ndarray,
              pct: np.ndarray, diagnostics: dict[str, Any]) -> MonteCarloResult:
    bands, point_frame = band_frame(samples, point, problem.variables, problem.countries, pct)
    params = pd.DataFrame({"draw": np.arange(len(elas))})
    for k, p in enumerate(problem.elasticities):
        params[p.name] = elas[:, k]
    for k, name in enumerate(problem.coef_names):
        params[name] = coefs[:, k]
    return MonteCarloResult(bands, samples, point_frame, params, problem.variables, problem.countries, diagnostics)
