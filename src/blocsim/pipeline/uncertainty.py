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
instead (for comparison). The multi-sector model has no batched core and loops over
:func:`blocsim.solve_multisector`. Chunks of draws are tasks for
:mod:`blocsim.pipeline.distributed` (in process or on Dask).

Bands: for every country and variable, percentiles of the draws (``numpy.percentile``,
linear interpolation), their mean and standard deviation, and the point estimate (the model
solved at ``beta_hat`` and the elasticities' point values: the float given, or the
distribution's median).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from blocsim.equilibrium.baseline import check_flows, country_index
from blocsim.equilibrium.equations import country_changes, solve_counterfactual
from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import DataValidationError
from blocsim.pipeline.distributed import Scheduler, map_tasks
from blocsim.pipeline.uncertainty_draws import (
    Parameter,
    coefficient_draws_root,
    draw_rng,
    parameter,
)

ONE_SECTOR_VARIABLES = ("real_gdp_pct", "welfare_pct", "exports_pct", "imports_pct", "factory_price_pct")
MULTISECTOR_VARIABLES = ("welfare_pct", "real_wage_pct", "exports_pct", "imports_pct", "tariff_revenue_change")


@dataclass(frozen=True)
class _Problem:
    """Everything a chunk task needs (picklable; sent to Dask workers once)."""

    model: str
    countries: tuple[str, ...]
    variables: tuple[str, ...]
    seed: int
    elasticities: tuple[Parameter, ...]  # sigma, or theta per sector (sorted)
    coef_names: tuple[str, ...]
    coef_mean: np.ndarray  # (K,)
    coef_root: np.ndarray | None  # (K, K) or None (coefficients fixed)
    flows: np.ndarray | None = None  # (N, N) observed (one-sector)
    z_base: np.ndarray | None = None  # (K, N, N)
    z_delta: np.ndarray | None = None  # (K, N, N) counterfactual - baseline
    shock: np.ndarray | None = None  # (N, N)
    reference: int | None = None
    baseline_method: str = "estimated"
    closure: str = "ratio"
    options: SolverOptions | None = None
    sectors: tuple[str, ...] = ()  # multi-sector: order of the theta parameters
    frames: dict[str, Any] = field(default_factory=dict)  # DataFrames for the per-draw loops
    kwargs: dict[str, Any] = field(default_factory=dict)


def _draw(problem: _Problem, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
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


def _onesector_arrays(problem: _Problem, sigma: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Solve D one-sector counterfactuals in one batched call; returns (D, V, N)."""
    from blocsim.equilibrium.baseline import fitted_flows

    assert problem.flows is not None and problem.shock is not None
    change = np.broadcast_to(problem.shock, (len(sigma), *problem.shock.shape))
    if problem.z_delta is not None:
        change = change * np.exp(np.einsum("dk,kij->dij", coefs, problem.z_delta))
    base: np.ndarray = problem.flows[None]
    if problem.baseline_method == "estimated":
        assert problem.z_base is not None
        cost = np.exp(np.einsum("dk,kij->dij", coefs, problem.z_base))
        base = fitted_flows(cost, problem.flows.sum(axis=1), problem.flows.sum(axis=0),
                            reference=problem.reference, options=problem.options).flows
    arrays = solve_counterfactual(base, change, sigma=sigma[:, None], reference=problem.reference,
                                  closure=problem.closure, options=problem.options)
    changes = country_changes(arrays)
    return np.stack([changes[v] for v in problem.variables], axis=1)


def _onesector_chunk(problem: _Problem, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Task: draws ``start..stop-1`` solved in one vectorised call."""
    elas, coefs = _draw(problem, start, stop)
    return elas, coefs, _onesector_arrays(problem, elas[:, 0], coefs)


def _onesector_loop_chunk(problem: _Problem, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Task: the same draws, one :func:`blocsim.solve_ge` call per draw (the serial reference)."""
    from blocsim.equilibrium.onesector import solve_ge

    elas, coefs = _draw(problem, start, stop)
    out = np.empty((stop - start, len(problem.variables), len(problem.countries)))
    for row in range(stop - start):
        coefficients = dict(zip(problem.coef_names, coefs[row])) if problem.coef_names else None
        res = solve_ge(problem.frames["baseline"], sigma=elas[row, 0], cost_coefficients=coefficients,
                       counterfactual=problem.frames.get("counterfactual"), shock=problem.frames.get("shock"),
                       baseline_method=problem.baseline_method, closure=problem.closure,
                       reference_importer=None if problem.reference is None else problem.countries[problem.reference],
                       options=problem.options, **problem.kwargs)
        table = res.countries.set_index("country").loc[list(problem.countries)]
        out[row] = table[list(problem.variables)].to_numpy(dtype=float).T
    return elas, coefs, out


def _multisector_solve(problem: _Problem, theta: np.ndarray, coefs: np.ndarray) -> np.ndarray:
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
                            tariffs=problem.frames.get("tariffs"), closure=problem.closure,
                            options=problem.options, **problem.kwargs)
    table = res.countries.set_index("country").loc[list(problem.countries)]
    return table[list(problem.variables)].to_numpy(dtype=float).T


def _multisector_chunk(problem: _Problem, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _pair_array(
    frame: pd.DataFrame, column: str, countries: Sequence[str], *, exporter: str, importer: str, argument: str,
    fill: float | None = None,
) -> np.ndarray:
    """Pivot ``column`` of a pair table to an (N, N) array (rows exporters); missing pairs -> ``fill``."""
    missing = [c for c in (exporter, importer, column) if c not in frame.columns]
    if missing:
        raise DataValidationError(f"argument {argument!r}: missing columns {missing}; available: "
                                  f"{list(frame.columns)}. Fix: add them or pass exporter=/importer=.")
    pos = pd.Series(np.arange(len(countries)), index=list(countries))
    i = frame[exporter].astype(str).map(pos)
    j = frame[importer].astype(str).map(pos)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = i.isna() | j.isna() | ~np.isfinite(values) | frame[[exporter, importer]].duplicated(keep=False).to_numpy()
    if bad.any():
        rows = frame.loc[bad, [exporter, importer, column]].head(3).to_dict("records")
        raise DataValidationError(f"argument {argument!r}, column {column!r}: unknown country, duplicate pair or "
                                  f"non-finite value in rows {rows}. Fix: one finite value per known pair.")
    out = np.full((len(countries),) * 2, np.nan if fill is None else fill)
    out[i.to_numpy(dtype=int), j.to_numpy(dtype=int)] = values
    if np.isnan(out).any():
        raise DataValidationError(f"argument {argument!r}, column {column!r}: {int(np.isnan(out).sum())} pairs "
                                  "missing. Fix: give every (exporter, importer) pair, domestic ones included.")
    return out


def _cost_arrays(
    frame: pd.DataFrame, names: Sequence[str], countries: Sequence[str], exporter: str, importer: str, argument: str
) -> np.ndarray:
    """Cost covariates as a (K, N, N) array."""
    if not names:
        return np.zeros((0, len(countries), len(countries)))
    return np.stack([_pair_array(frame, n, countries, exporter=exporter, importer=importer, argument=argument)
                     for n in names])


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
    baseline_method: Literal["estimated", "observed"] = "estimated",
    closure: Literal["ratio", "level"] = "ratio",
    reference_importer: str | None = None,
    variables: Sequence[str] | None = None,
    percentiles: Sequence[float] = (5, 50, 95),
    method: Literal["batched", "loop"] = "batched",
    scheduler: Scheduler = None,
    chunk_size: int = 250,
    exporter: str = "exporter",
    importer: str = "importer",
    flow: str = "trade",
    options: SolverOptions | None = None,
    **model_kwargs: Any,
) -> MonteCarloResult:
    """Monte Carlo bands for the one-sector (``model="ge"``) or multi-sector GE.

    Parameters
    ----------
    baseline_df : DataFrame
        Baseline as for :func:`blocsim.solve_ge` (pairs with domestic flows, cost columns) or
        :func:`blocsim.solve_multisector` (with a ``sector`` column).
    model : {"ge", "multisector"}
        Which model.
    draws : int
        Number of draws D (>= 2).
    seed : int
        Seed; the same seed gives the same numbers on every scheduler and chunking.
    sigma : float, frozen distribution or spec
        One-sector elasticity of substitution (> 1); see the module notes for specs.
    theta : float, spec, or mapping sector -> float/spec
        Multi-sector trade elasticities (> 0).
    cost_coefficients : mapping, Series or estimation result, optional
        Point estimates beta_hat of the cost variables (``estimate_gravity`` result: its
        ``.vcov`` is used for the draws).
    vcov : DataFrame, optional
        Covariance of the coefficients (K x K, named by covariate); overrides ``.vcov``.
    vary_coefficients : bool, optional
        Draw the coefficients (default: when a covariance is available).
    counterfactual : DataFrame, optional
        ``cost_table`` with changed cost columns; the shock is ``exp((z' - z) beta)`` per draw
        (multi-sector: applied to every sector of the pair).
    cost_table : DataFrame, optional
        Pair table (exporter, importer, cost columns) with the baseline cost variables;
        default ``baseline_df`` (one-sector). Needed for coefficient draws in the multi-sector model.
    shock, tariffs : DataFrame, optional
        Fixed shock tables as for the model (``shock``: exporter, importer[, sector], factor).
    baseline_method, closure, reference_importer
        As for :func:`blocsim.solve_ge` (one-sector; ``closure`` also multi-sector).
    variables : sequence of str, optional
        Country columns to band (defaults: ``ONE_SECTOR_VARIABLES`` / ``MULTISECTOR_VARIABLES``).
    percentiles : sequence of float
        Percentiles in [0, 100] for the band columns (``p05`` ...).
    method : {"batched", "loop"}
        One-sector only: all draws of a chunk in one vectorised solve, or one
        :func:`blocsim.solve_ge` call per draw (same numbers to ~1e-10).
    scheduler : None, "local", "processes", address or distributed.Client
        Where the chunks run (:mod:`blocsim.pipeline.distributed`).
    chunk_size : int
        Draws per task.
    exporter, importer, flow : str
        Column names in ``baseline_df``.
    options : SolverOptions, optional
        Solver settings.
    **model_kwargs
        Passed to :func:`blocsim.solve_multisector` (e.g. ``io``, ``duty_pool``).

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
        A bad argument (model, method, draws, chunk_size, percentiles, distribution spec,
        coefficients/covariance) or a baseline table that breaks the model's schema.
    ConvergenceError
        The solver did not converge at the point parameters or at one of the draws.
    """
    started = time.perf_counter()
    if model not in ("ge", "multisector"):
        raise DataValidationError(f"argument 'model': got {model!r}; allowed: 'ge', 'multisector'.")
    if method not in ("batched", "loop"):
        raise DataValidationError(f"argument 'method': got {method!r}; allowed: 'batched', 'loop'.")
    if not isinstance(draws, (int, np.integer)) or draws < 2:
        raise DataValidationError(f"argument 'draws': got {draws!r}; allowed: an integer >= 2. Fix: draws=1000.")
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise DataValidationError(f"argument 'chunk_size': got {chunk_size!r}; allowed: an integer >= 1.")
    pct = np.asarray(percentiles, dtype=float)
    if pct.size == 0 or np.any((pct < 0) | (pct > 100)):
        raise DataValidationError(f"argument 'percentiles': got {list(percentiles)}; allowed: numbers in [0, 100].")
    if not isinstance(baseline_df, pd.DataFrame):
        raise DataValidationError(f"argument 'baseline_df': got {type(baseline_df).__name__}; allowed: a DataFrame.")
    names, mean, root = coefficient_draws_root(cost_coefficients, vcov, vary_coefficients)
    countries = country_index(baseline_df, exporter, importer, "baseline_df")
    z_delta = None
    if counterfactual is not None:
        if not names:
            raise DataValidationError("argument 'counterfactual' needs 'cost_coefficients'. Fix: pass them.")
        costs = baseline_df if cost_table is None else cost_table
        z_delta = (_cost_arrays(counterfactual, names, countries, exporter, importer, "counterfactual")
                   - _cost_arrays(costs, names, countries, exporter, importer, "cost_table"))
    common = {"countries": countries, "seed": int(seed), "coef_names": names, "coef_mean": mean, "coef_root": root,
              "z_delta": z_delta, "closure": closure, "options": options}
    if model == "ge":
        problem = _onesector_problem(baseline_df, common, sigma=sigma, variables=variables, shock=shock,
                                     counterfactual=counterfactual, baseline_method=baseline_method,
                                     reference_importer=reference_importer, exporter=exporter, importer=importer,
                                     flow=flow)
        task = _onesector_chunk if method == "batched" else _onesector_loop_chunk
    else:
        problem = _multisector_problem(baseline_df, common, theta=theta, variables=variables, shock=shock,
                                       tariffs=tariffs, kwargs={"exporter": exporter, "importer": importer,
                                                                "flow": flow, **model_kwargs})
        task = _multisector_chunk
    bounds = [(a, min(a + chunk_size, draws)) for a in range(0, draws, chunk_size)]
    parts = map_tasks(task, problem, bounds, scheduler=scheduler)
    elas = np.concatenate([p[0] for p in parts])
    coefs = np.concatenate([p[1] for p in parts])
    samples = np.concatenate([p[2] for p in parts])
    point_elas = np.array([p.point for p in problem.elasticities])
    if model == "ge":
        point = (_onesector_arrays(problem, point_elas[:1], mean[None]) if method == "batched"
                 else _onesector_loop_point(problem, point_elas, mean))[0]
    else:
        point = _multisector_solve(problem, point_elas, mean)
    return _assemble(problem, samples, point, elas, coefs, pct, {
        "draws": int(draws), "method": method if model == "ge" else "loop", "model": model, "seed": int(seed),
        "scheduler": scheduler if scheduler is None or isinstance(scheduler, str) else type(scheduler).__name__,
        "chunks": len(bounds), "chunk_size": int(chunk_size), "seconds": time.perf_counter() - started,
    })


_ONE_SECTOR_KEYS = frozenset({
    "exports_pct", "imports_pct", "real_gdp_pct", "welfare_pct", "factory_price_pct", "omr_pct", "imr_pct",
    "exports_cond_pct", "imports_cond_pct", "omr_cond_pct", "imr_cond_pct", "output_pct", "expenditure_pct",
    "intranational_pct",
})


def _onesector_problem(
    baseline_df: pd.DataFrame, common: dict[str, Any], *, sigma: Any, variables: Sequence[str] | None,
    shock: pd.DataFrame | None, counterfactual: pd.DataFrame | None, baseline_method: str,
    reference_importer: str | None, exporter: str, importer: str, flow: str,
) -> _Problem:
    """Validate the one-sector inputs and pack them for the chunk tasks."""
    countries, names = common["countries"], common["coef_names"]
    if sigma is None:
        raise DataValidationError("argument 'sigma': required for model='ge'. Fix: e.g. sigma=('normal', 7, 0.5).")
    chosen = tuple(variables or ONE_SECTOR_VARIABLES)
    unknown = [v for v in chosen if v not in _ONE_SECTOR_KEYS]
    if unknown:
        raise DataValidationError(f"argument 'variables': {unknown} unknown; allowed: {sorted(_ONE_SECTOR_KEYS)}.")
    flows = _pair_array(baseline_df, flow, countries, exporter=exporter, importer=importer, argument="baseline_df")
    check_flows(flows, countries, "baseline_df")
    if baseline_method not in ("estimated", "observed"):
        raise DataValidationError(f"argument 'baseline_method': got {baseline_method!r}; allowed: 'estimated', "
                                  "'observed'.")
    if baseline_method == "estimated" and not names:
        raise DataValidationError("baseline_method='estimated' needs 'cost_coefficients'. Fix: pass them or "
                                  "baseline_method='observed'.")
    if reference_importer is not None and reference_importer not in countries:
        raise DataValidationError(f"argument 'reference_importer': got {reference_importer!r}; allowed: one of the "
                                  "baseline's countries.")
    shock_matrix = np.ones((len(countries),) * 2)
    if shock is not None:
        shock_matrix = _pair_array(shock, "factor", countries, exporter="exporter", importer="importer",
                                   argument="shock", fill=1.0)
    z_base = (_cost_arrays(baseline_df, names, countries, exporter, importer, "baseline_df")
              if baseline_method == "estimated" else None)
    return _Problem(
        model="ge", variables=chosen, elasticities=(parameter(sigma, "sigma", 1.0),), flows=flows, z_base=z_base,
        shock=shock_matrix, reference=None if reference_importer is None else countries.index(reference_importer),
        baseline_method=baseline_method,
        frames={"baseline": baseline_df, "counterfactual": counterfactual, "shock": shock},
        kwargs={"exporter": exporter, "importer": importer, "flow": flow}, **common,
    )


def _multisector_problem(
    baseline_df: pd.DataFrame, common: dict[str, Any], *, theta: Any, variables: Sequence[str] | None,
    shock: pd.DataFrame | None, tariffs: pd.DataFrame | None, kwargs: dict[str, Any],
) -> _Problem:
    """Validate the multi-sector inputs and pack them for the chunk tasks."""
    if theta is None:
        raise DataValidationError("argument 'theta': required for model='multisector'. Fix: e.g. theta=4.0.")
    sector_col = kwargs.get("sector", "sector")
    if sector_col not in baseline_df.columns:
        raise DataValidationError(f"argument 'baseline_df': no {sector_col!r} column; allowed: a multi-sector table "
                                  "exporter, importer, sector, trade. Fix: pass sector=<column name>.")
    sectors = sorted(baseline_df[sector_col].astype(str).unique())
    per = theta if isinstance(theta, Mapping) else {s: theta for s in sectors}
    missing = [s for s in sectors if s not in per]
    if missing:
        raise DataValidationError(f"argument 'theta': no value for sectors {missing}. Fix: add them.")
    return _Problem(
        model="multisector", variables=tuple(variables or MULTISECTOR_VARIABLES),
        elasticities=tuple(parameter(per[s], f"theta[{s}]", 0.0) for s in sectors), sectors=tuple(sectors),
        frames={"baseline": baseline_df, "shock": shock, "tariffs": tariffs}, kwargs=kwargs, **common,
    )


def _onesector_loop_point(problem: _Problem, elas: np.ndarray, coefs: np.ndarray) -> np.ndarray:
    """Point estimate through :func:`blocsim.solve_ge` (the loop path), shape (1, V, N)."""
    fixed = dataclasses.replace(problem, coef_mean=coefs, coef_root=None, elasticities=tuple(
        Parameter(p.name, float(v), None, p.lower) for p, v in zip(problem.elasticities, elas)))
    return _onesector_loop_chunk(fixed, 0, 1)[2]


def _assemble(problem: _Problem, samples: np.ndarray, point: np.ndarray, elas: np.ndarray, coefs: np.ndarray,
              pct: np.ndarray, diagnostics: dict[str, Any]) -> MonteCarloResult:
    v, n = len(problem.variables), len(problem.countries)
    bands = pd.DataFrame({
        "country": np.tile(np.asarray(problem.countries, dtype=object), v),
        "variable": np.repeat(np.asarray(problem.variables, dtype=object), n),
        "point": point.ravel(),
        "mean": samples.mean(axis=0).ravel(),
        "std": samples.std(axis=0, ddof=1).ravel(),
    })
    quantiles = np.percentile(samples, pct, axis=0)  # (Q, V, N)
    for q, values in zip(pct, quantiles):
        bands[f"p{q:02g}"] = values.ravel()  # p05, p50, p95, p2.5 ...
    point_frame = pd.DataFrame({"country": list(problem.countries)})
    for k, name in enumerate(problem.variables):
        point_frame[name] = point[k]
    params = pd.DataFrame({"draw": np.arange(len(elas))})
    for k, p in enumerate(problem.elasticities):
        params[p.name] = elas[:, k]
    for k, name in enumerate(problem.coef_names):
        params[name] = coefs[:, k]
    return MonteCarloResult(bands, samples, point_frame, params, problem.variables, problem.countries, diagnostics)


def scenario_bands(
    result: Any,
    *,
    draws: int = 200,
    seed: int = 0,
    theta_spread: float = 0.2,
    variables: Sequence[str] | None = None,
    percentiles: Sequence[float] = (5, 50, 95),
    scheduler: Scheduler = None,
    chunk_size: int = 25,
) -> MonteCarloResult:
    """Monte Carlo bands for a scenario run (``blocsim.run_scenario``) over its trade elasticities.

    Re-solves the scenario's multi-sector GE (same baseline flows, tariffs, cost factors,
    productivity changes, duty pools and closure) with ``theta_s ~ lognormal(median = the
    scenario's theta_s, sd of log = theta_spread)``, independently by sector. The default
    spread 0.2 is of the order of the standard errors of Caliendo and Parro (2015, Table 1),
    which are about 20-25 % of the estimates for most sectors; it is an assumption, not data.

    Parameters
    ----------
    result : ScenarioResult
        The run (``.model.flows``, ``.shock``, ``.meta["model"]``).
    draws, seed, variables, percentiles, scheduler, chunk_size
        As for :func:`monte_carlo`.
    theta_spread : float
        Standard deviation of ``log theta`` (> 0).

    Returns
    -------
    MonteCarloResult
        Its point estimate equals the scenario's own result.
    """
    from blocsim.equilibrium.duty_pool import DutyPool

    if not theta_spread > 0:
        raise DataValidationError(f"argument 'theta_spread': got {theta_spread!r}; allowed: a number > 0, e.g. 0.2.")
    params = result.meta["model"]["parameters"]
    shock = result.shock
    baseline = result.model.flows[["exporter", "importer", "sector", "trade_baseline"]].rename(
        columns={"trade_baseline": "trade"})
    kwargs: dict[str, Any] = {}
    if shock.duty_pool_before:
        kwargs["duty_pool"] = DutyPool(shares=shock.duty_pool_before)
    if shock.duty_pool_after:
        kwargs["duty_pool_after"] = DutyPool(shares=shock.duty_pool_after)
    if not shock.productivity.empty:
        kwargs["productivity"] = shock.productivity
    return monte_carlo(
        baseline, model="multisector", draws=draws, seed=seed,
        theta={s: ("lognormal", float(v), theta_spread) for s, v in params["theta"].items()},
        shock=None if shock.cost_factor.empty else shock.cost_factor, tariffs=shock.tariffs,
        closure=params.get("closure", "ratio"), variables=variables, percentiles=percentiles,
        scheduler=scheduler, chunk_size=chunk_size, **kwargs,
    )
