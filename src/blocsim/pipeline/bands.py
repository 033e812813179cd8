"""Uncertainty bands of a scenario run through the same pipeline: draw inputs -> rebuild the shock -> batched GE.

A draw changes the inputs of the scenario, not the model's finished inputs:

- **trade elasticities** ``theta_s ~ lognormal(median = the run's theta_s, sd of log =
  theta_spread)`` by sector (default spread 0.2, ``[uncertainty] theta_spread``);
- **AVEs of the scenario's non-tariff measures**, one input per measure (the AVE inputs of
  :mod:`blocsim.shock.terms`: ``border_cost[EAEU]``, ``added_cost[transit ...]``,
  ``reexport_cost[ban ...]``, ``ave[ntm ...]``, ``deflection_cost[...]``), each
  ``lognormal(median = its point value, sd of log = the spread of its kind)``
  (:data:`DEFAULT_AVE_SPREAD`, user-settable by kind in ``[uncertainty.ave_spread]``, or a
  whole distribution per input in ``[uncertainty.ave."<input>"]``); an AVE of 0 or below
  stays fixed unless given a distribution;
- **scenario parameters** the user names in ``[[uncertainty.parameters]]`` (a dotted path to
  a number of the scenario file and a distribution).

The shock is then rebuilt from the drawn inputs: without scenario parameters, the cost factor
of every draw comes from the point shock's cost terms in one array expression
(:func:`blocsim.shock.terms.cost_factor_cube`); with them, each draw's scenario is rebuilt
and its shock compiled (policy states, tariffs, pools and all). All draws of a chunk are
solved in one call of :func:`blocsim.equilibrium.solve_multisector_batch`; chunks are tasks
for :mod:`blocsim.pipeline.distributed` (in process or on Dask). A draw at the point values
gives the point run's numbers bit for bit.

With the labour channel on, the migration elasticity is drawn too (group ``"labour"``:
lognormal around the point value, :data:`MIGRATION_ELASTICITY_SPREAD`). With a duty pool, each
member's collection efficiency (``[model] collection_efficiency``, default the dataset's calibration) is drawn (group
and kind ``"pool"``): ``uniform[max(point - w, 0), point)`` with ``w`` =
:data:`COLLECTION_EFFICIENCY_WIDTH`, so a draw never collects more than the point value
assumes (1 = every statutory duty reaches the pool) and stays in (0, 1]. Estimated border AVEs
(:mod:`blocsim.data.border_costs`) are drawn from ``normal(ave, se)`` (the sectors are
estimated separately, so their covariance is diagonal). :data:`NOT_IN_MODEL` lists inputs the
issue asks to vary that the model does not have (none at present).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from blocsim.data.progress import ProgressCallback
from blocsim.equilibrium import DutyPool, solve_multisector_batch
from blocsim.equilibrium.multisector_batch import MultiSectorBatchResult
from blocsim.equilibrium.multisector_inputs import (
    MultiSectorProblem,
    multisector_problem,
    parse_pair_table,
    parse_productivity,
    pool_arrays,
)
from blocsim.errors import DataValidationError, ScenarioError
from blocsim.pipeline.collection_efficiency import efficiency_table, with_collection_efficiency
from blocsim.pipeline.distributed import Scheduler, map_tasks
from blocsim.pipeline.labour_inputs import labour_inputs
from blocsim.pipeline.uncertainty import MonteCarloResult, band_frame
from blocsim.pipeline.uncertainty_draws import Parameter, as_distribution, check_draws, check_seed, draw_rng, parameter
from blocsim.pipeline.uncertainty_inputs import MULTISECTOR_VARIABLES, chosen_variables, percentile_array
from blocsim.shock.terms import AVE_KINDS, CostTerm, ave_inputs, ave_standard_errors, cost_factor_cube, reorder_terms

__all__ = ["CHUNK_SIZE", "DEFAULT_AVE_SPREAD", "NOT_IN_MODEL", "BandInput", "BandsPlan", "bands_plan",
           "scenario_bands", "solve_values"]

DEFAULT_AVE_SPREAD = {"border": 0.5, "transit": 0.4, "reexport": 0.4, "ntm": 0.4, "deflection": 0.4}
"""Default sd of ``log AVE`` by measure kind: p05-p95 of a 2 % border cost is 0.9-4.6 %, of a
30 % detour 16-58 % (assumptions of the order of the ranges the sources give, not estimates)."""
MIGRATION_ELASTICITY_SPREAD = 0.6
"""sd of ``log eta`` of the migration elasticity's draws: p05-p95 of the default 0.3 is 0.11-0.80,
about the documented sensitivity range 0-1 (:mod:`blocsim.equilibrium.labour`); an assumption."""
COLLECTION_EFFICIENCY_WIDTH = 0.1
"""Width of the uniform draws of a pool member's collection efficiency below its point value
(0.9-1.0 around the default 1): an assumption of the order of customs under-collection estimates
(mis-declared values), not an estimate."""
CHUNK_SIZE = 25
"""Draws per task (one batched solve) by default: about 0.3-1 s of work on dataset v2 (85
regions, 28 sectors), so a progress display moves at least every second, and a task's per-draw
arrays stay small (25 cost factors of (S, N, N) are 40 MB on v2). Results do not depend on
chunking (:mod:`blocsim.equilibrium.multisector_batch`)."""
NOT_IN_MODEL: dict[str, str] = {}
"""Inputs the issue asks to vary that the model does not have yet: add them here and as a
``BandInput`` kind once the model takes them (they are reported, never faked)."""
SOLVED_VARIABLES = ("welfare_pct", "real_wage_pct", "exports_pct", "imports_pct", "tariff_revenue_change",
                    "price_index_pct", "factory_price_pct")
"""Country variables a batched solve reports (see :func:`batch_variables`)."""


@dataclass(frozen=True)
class BandInput:
    """One varied (or fixed) input: ``kind`` is ``"theta"``, an AVE kind, ``"labour"``, ``"pool"`` or ``"parameter"``."""

    name: str
    kind: str
    parameter: Parameter
    distribution: str

    def record(self) -> dict[str, Any]:
        """``run.json`` entry: input, kind, point, distribution."""
        return {"input": self.name, "kind": self.kind, "point": self.parameter.point,
                "distribution": self.distribution}


@dataclass(frozen=True)
class BandsPlan:
    """Everything a chunk of draws needs (picklable; sent to Dask workers once).

    ``problem`` holds the baseline and the point shock; ``terms`` the point shock's cost terms;
    ``inputs`` the inputs in column order of a values array (theta by sector, AVEs, parameters).
    """

    problem: MultiSectorProblem
    terms: tuple[CostTerm, ...]
    inputs: tuple[BandInput, ...]
    closure: str
    variables: tuple[str, ...]
    seed: int
    scenario: Any = None  # set iff scenario parameters are drawn (the shock is compiled per draw)
    dataset: Any = None

    @property
    def point(self) -> np.ndarray:
        """Values (P,) of the point run."""
        return np.array([i.parameter.point for i in self.inputs])


def _lognormal(point: float, spread: float, name: str, lower: float) -> tuple[Parameter, str]:
    if spread == 0 or point <= 0:
        why = "spread 0" if spread == 0 else "point value not positive"
        return Parameter(name, point, None, lower), f"fixed at {point:g} ({why})"
    return parameter(("lognormal", point, spread), name, lower), f"lognormal(median {point:g}, sd of log {spread:g})"


def _given(spec: Any, name: str, point: float, lower: float, where: str) -> tuple[Parameter, str]:
    numbers = {k: v for k, v in spec.model_dump(exclude={"path"}).items() if v is not None}
    dist = as_distribution(numbers, where)
    text = f"{numbers.pop('dist')}({', '.join(f'{k} {v:g}' for k, v in numbers.items())})"
    return Parameter(name, point, dist, lower), text


_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[\"([^\"]+)\"\]|\.")


def _path_keys(path: str, where: str) -> list[Any]:
    keys: list[Any] = []
    position = 0
    for match in _TOKEN.finditer(path):
        if match.start() != position:
            break
        position = match.end()
        if match.group(1):
            keys.append(match.group(1))
        elif match.group(2):
            keys.append(int(match.group(2)))
        elif match.group(3):
            keys.append(match.group(3))
    if position != len(path) or not keys:
        raise ScenarioError(f"{where} = {path!r}: not a path; allowed: dotted names with list positions, e.g. "
                            "'after.measures[0].added_cost'")
    return keys


def _walk(data: Any, keys: list[Any], path: str, where: str) -> tuple[Any, Any]:
    """(container, last key) of ``path`` in the dumped scenario, or a ScenarioError."""
    node = data
    for depth, key in enumerate(keys):
        ok = (isinstance(node, dict) and key in node) or (isinstance(node, list) and isinstance(key, int)
                                                          and key < len(node))
        if not ok:
            raise ScenarioError(f"{where} = {path!r}: {'.'.join(map(str, keys[:depth + 1]))} is not in the scenario; "
                                "allowed: a path to a number field of this scenario file")
        if depth == len(keys) - 1:
            return node, key
        node = node[key]
    raise ScenarioError(f"{where} = {path!r}: empty path")


def with_values(scenario: Any, paths: Sequence[str], values: Sequence[float]) -> Any:
    """A copy of ``scenario`` with the numbers at ``paths`` replaced (validated like a file)."""
    data = scenario.model_dump()
    for path, value in zip(paths, values):
        node, key = _walk(data, _path_keys(path, "[uncertainty] parameters.path"), path,
                          "[uncertainty] parameters.path")
        node[key] = float(value)
    try:
        out = type(scenario).model_validate(data)
    except ValueError as exc:
        raise ScenarioError(f"[uncertainty] parameters: a drawn value breaks the scenario ({exc}); allowed: "
                            "distributions within the field's range") from exc
    out._source, out._include_dirs = scenario._source, scenario._include_dirs
    return out


def _inputs(result: Any, sectors: Sequence[str], terms: Sequence[CostTerm], theta_spread: float | None,
            vary: frozenset[str], migration_elasticity: float | None,
            efficiency: dict[str, float] | None = None) -> list[BandInput]:
    """The inputs of a plan in column order; ``efficiency``: pool member -> point collection efficiency."""
    spec = result.scenario.uncertainty
    spread = spec.theta_spread if theta_spread is None else theta_spread
    if "theta" not in vary:
        spread = 0.0
    out = []
    theta = result.meta["model"]["parameters"]["theta"]
    for sector in sectors:
        par, text = _lognormal(float(theta[sector]), spread, f"theta[{sector}]", 0.0)
        out.append(BandInput(f"theta[{sector}]", "theta", par, text))
    known = ave_inputs(terms)
    estimated = ave_standard_errors(terms)
    unknown = sorted(set(spec.ave) - set(known))
    if unknown:
        raise ScenarioError(f"[uncertainty.ave]: {unknown} are not AVE inputs of this scenario; allowed: "
                            f"{list(known)}")
    for name, (kind, point) in known.items():
        lower = -1.0 if kind == "ntm" else 0.0
        if "ave" not in vary:
            par, text = Parameter(name, point, None, lower), f"fixed at {point:g} (AVEs not varied)"
        elif name in spec.ave:
            par, text = _given(spec.ave[name], name, point, lower, f"[uncertainty.ave] {name!r}")
        elif name in estimated:  # an estimate with a standard error (blocsim.data.border_costs)
            par = parameter(("normal", point, estimated[name]), name, -1.0)
            text = f"normal(mean {point:g}, sd {estimated[name]:g}; estimated s.e.)"
        else:
            par, text = _lognormal(point, spec.ave_spread.get(kind, DEFAULT_AVE_SPREAD[kind]), name, lower)
        out.append(BandInput(name, kind, par, text))
    if migration_elasticity is not None:  # the labour channel is on
        name, point = "migration_elasticity", float(migration_elasticity)
        if "labour" in vary and point > 0:
            par, text = _lognormal(point, MIGRATION_ELASTICITY_SPREAD, name, 0.0)
        else:
            par, text = Parameter(name, point, None, 0.0), f"fixed at {point:g} (labour not varied)"
        out.append(BandInput(name, "labour", par, text))
    for code, point in (efficiency or {}).items():
        name = f"collection_efficiency[{code}]"
        if "pool" in vary:
            low = max(point - COLLECTION_EFFICIENCY_WIDTH, 0.0)
            par = Parameter(name, point, as_distribution(("uniform", low, point), name), 0.0)
            text = f"uniform[{low:g}, {point:g}) (collection at most the point value)"
        else:
            par, text = Parameter(name, point, None, 0.0), f"fixed at {point:g} (pool not varied)"
        out.append(BandInput(name, "pool", par, text))
    data = result.scenario.model_dump()
    for k, draw in enumerate(spec.parameters if "parameters" in vary else ()):
        where = f"[[uncertainty.parameters]] {k + 1} path"
        node, key = _walk(data, _path_keys(draw.path, where), draw.path, where)
        if isinstance(node[key], bool) or not isinstance(node[key], float):
            raise ScenarioError(f"{where} = {draw.path!r}: holds {node[key]!r}; allowed: a path to a number "
                                "(float) field, e.g. 'after.measures[0].covered_share'")
        par, text = _given(draw, draw.path, node[key], -np.inf, where)
        out.append(BandInput(draw.path, "parameter", par, text))
    return out


def bands_plan(result: Any, *, seed: int = 0, theta_spread: float | None = None,
               variables: Sequence[str] | None = None,
               vary: Sequence[str] = ("theta", "ave", "labour", "pool", "parameters"), dataset: Any = None) -> BandsPlan:
    """The plan of a scenario run's bands: point problem, cost terms, inputs and their distributions.

    ``vary`` picks the groups drawn (``theta``, ``ave``, ``labour``, ``pool``, ``parameters``); the others stay at
    their point values (e.g. ``("theta",)`` for elasticity bands alone). ``dataset`` (the
    run's, loaded by name when None) is needed only when scenario parameters are drawn.
    """
    if not all(hasattr(result, name) for name in ("meta", "shock", "model", "scenario")):
        raise DataValidationError(f"argument 'result': got {type(result).__name__}; allowed: the ScenarioResult of "
                                  "blocsim.run_scenario(...).")
    groups = frozenset(vary)
    if isinstance(vary, str) or not groups <= {"theta", "ave", "labour", "pool", "parameters"}:
        raise DataValidationError(f"argument 'vary': got {vary!r}; allowed: a subset of ('theta', 'ave', "
                                  "'labour', 'pool', 'parameters').")
    if theta_spread is not None and (isinstance(theta_spread, bool) or not isinstance(theta_spread, (int, float))
                                     or not 0 <= theta_spread < float("inf")):
        raise DataValidationError(f"argument 'theta_spread': got {theta_spread!r}; allowed: a finite number >= 0, "
                                  "e.g. 0.2.")
    shock = result.shock
    chosen = chosen_variables(variables, MULTISECTOR_VARIABLES)
    unknown = [v for v in chosen if v not in SOLVED_VARIABLES]
    if unknown:
        raise DataValidationError(f"argument 'variables': {unknown} are not banded; allowed: {list(SOLVED_VARIABLES)}.")
    baseline = result.model.flows[["exporter", "importer", "sector", "trade_baseline"]].rename(
        columns={"trade_baseline": "trade"})
    params = result.meta["model"]["parameters"]
    if dataset is None:
        from blocsim.data import load_dataset

        dataset = load_dataset(result.scenario.data.dataset)
    labour = labour_inputs(result.scenario, dataset, result.before, result.after)  # as in the point run
    problem = multisector_problem(
        baseline, theta=dict(params["theta"]), shock=None if shock.cost_factor.empty else shock.cost_factor,
        tariffs=shock.tariffs, productivity=None if shock.productivity.empty else shock.productivity,
        duty_pool=DutyPool(shares=shock.duty_pool_before) if shock.duty_pool_before else None,
        duty_pool_after=DutyPool(shares=shock.duty_pool_after) if shock.duty_pool_after else None,
        income_transfers=None if shock.income_transfers.empty else shock.income_transfers,
        collection_efficiency=efficiency_table(with_collection_efficiency(result.scenario, dataset)[0]),
        deficit_targets=dict(shock.deficit_targets) or None,
        world_prices=dict(shock.world_prices) or None, **labour)
    terms = reorder_terms(shock.cost_terms, shock.countries, shock.sectors, problem.countries, problem.sectors)
    inputs = _inputs(result, problem.sectors, terms, theta_spread, groups, labour.get("migration_elasticity"),
                     _pool_efficiency(problem))
    drawn_paths = any(i.kind == "parameter" for i in inputs)
    return BandsPlan(problem=problem, terms=terms, inputs=tuple(inputs),
                     closure=params.get("closure", "ratio"), variables=chosen, seed=check_seed(seed),
                     scenario=result.scenario if drawn_paths else None,
                     dataset=dataset if drawn_paths else None)


def _pool_efficiency(problem: MultiSectorProblem) -> dict[str, float]:
    """Point collection efficiency of every member of the pool before or after (ISO3 -> fraction)."""
    member = np.zeros(len(problem.countries), dtype=bool)
    for pool in (problem.pool_before, problem.pool_after):
        if pool is not None:
            member |= pool[0]
    point = np.ones(len(problem.countries)) if problem.collection_efficiency is None else problem.collection_efficiency
    return {problem.countries[k]: float(point[k]) for k in np.flatnonzero(member)}


def draw_values(plan: BandsPlan, start: int, stop: int) -> np.ndarray:
    """Input values (D, P) of draws ``start..stop-1``: draw ``d`` uses ``draw_rng(seed, d)``, inputs in order."""
    out = np.empty((stop - start, len(plan.inputs)))
    for row, d in enumerate(range(start, stop)):
        rng = draw_rng(plan.seed, d)
        out[row] = [i.parameter.draw(rng) for i in plan.inputs]
    return out


def quantile(item: BandInput, q: float) -> float:
    """The ``q`` quantile of an input's distribution truncated at its lower bound (the point if fixed)."""
    par = item.parameter
    if par.dist is None:
        return par.point
    floor = float(par.dist.cdf(par.lower)) if np.isfinite(par.lower) else 0.0
    return float(par.dist.ppf(floor + q * (1.0 - floor)))


def _rebuilt(plan: BandsPlan, values: np.ndarray, theta: np.ndarray, aves: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per-draw cost factors, tariffs, productivity and pools from each draw's recompiled scenario."""
    from blocsim.policy.rules import validate_state
    from blocsim.scenario.build import build_states
    from blocsim.shock.compile import compile_shock

    p = plan.problem
    columns = [k for k, i in enumerate(plan.inputs) if i.kind == "parameter"]
    paths = [plan.inputs[k].name for k in columns]
    keys = ("exporter", "importer", "sector")
    parts: dict[str, list[Any]] = {name: [] for name in ("cost_factor", "tariff_before", "tariff_after",
                                                          "productivity", "pool_shares_before", "pool_shares_after")}
    for row in range(values.shape[0]):
        scenario = with_values(plan.scenario, paths, values[row, columns])
        before, after, _ = build_states(scenario, plan.dataset)
        validate_state(after, source=f"[uncertainty] draw with {dict(zip(paths, values[row, columns]))}")
        shock = compile_shock(before, after, plan.dataset, scenario.data.year, theta=dict(zip(p.sectors, theta[row])))
        terms = reorder_terms(shock.cost_terms, shock.countries, shock.sectors, p.countries, p.sectors)
        parts["cost_factor"].append(cost_factor_cube(terms, p.flows.shape, theta[row:row + 1],
                                                     {k: v[row:row + 1] for k, v in aves.items()})[0])
        before_t, after_t = parse_pair_table(shock.tariffs, ("tariff_before", "tariff_after"), "tariffs", p.countries,
                                             p.sectors, keys, fill=0.0, low=0.0, high=np.inf, allowed=">= 0")
        parts["tariff_before"].append(np.zeros_like(p.flows) if before_t is None else before_t)
        parts["tariff_after"].append(np.zeros_like(p.flows) if after_t is None else after_t)
        prod = parse_productivity(None if shock.productivity.empty else shock.productivity, p.countries, p.sectors)
        parts["productivity"].append(np.ones((len(p.countries), len(p.sectors))) if prod is None else prod)
        for name, shares, point in (("pool_shares_before", shock.duty_pool_before, p.pool_before),
                                    ("pool_shares_after", shock.duty_pool_after, p.pool_after)):
            pool = pool_arrays(DutyPool(shares=shares) if shares else None, p.countries, name)
            if (pool is None) != (point is None) or (pool is not None and not np.array_equal(pool[0], point[0])):
                raise ScenarioError(f"[uncertainty] parameters: a draw changes the members of the duty pool "
                                    f"({name}); allowed: draws that keep the pool's members")
            parts[name].append(None if pool is None else pool[1])
    point = {"tariff_before": p.tariff_before, "tariff_after": p.tariff_after, "productivity": p.productivity,
             "pool_shares_before": None if p.pool_before is None else p.pool_before[1],
             "pool_shares_after": None if p.pool_after is None else p.pool_after[1]}
    neutral = {"tariff_before": 0.0, "tariff_after": 0.0, "productivity": 1.0}
    given = {}
    for name, rows in parts.items():
        if not rows or rows[0] is None:
            continue
        reference = point.get(name)
        if name != "cost_factor":
            if reference is None and name in neutral:
                reference = np.full_like(rows[0], neutral[name])
            if reference is not None and all(np.array_equal(r, reference) for r in rows):
                continue  # the same as the point problem's: solved exactly as the point run
        given[name] = np.stack(rows)
    return given


def batch_variables(res: MultiSectorBatchResult, variables: Sequence[str]) -> np.ndarray:
    """Country variables of a batched solve, shape (D, V, N), defined as in ``countries.csv``."""
    cpi = res.consumer_price_hat
    with np.errstate(divide="ignore", invalid="ignore"):
        def pct(new: np.ndarray, old: np.ndarray) -> np.ndarray:
            return np.where(old != 0, (new - old) / np.where(old != 0, old, 1.0) * 100.0, np.nan)

        table = {
            "welfare_pct": lambda: (res.real_income_hat - 1.0) * 100.0,
            "real_wage_pct": lambda: (res.wage_hat / cpi - 1.0) * 100.0,
            "exports_pct": lambda: pct(res.exports, res.exports_baseline),
            "imports_pct": lambda: pct(res.imports, res.imports_baseline),
            "tariff_revenue_change": lambda: res.revenue_received - res.revenue_received_baseline,
            "price_index_pct": lambda: (cpi - 1.0) * 100.0,
            "factory_price_pct": lambda: (res.wage_hat - 1.0) * 100.0,
        }
        return np.stack([table[v]() for v in variables], axis=1)


def solve_values(plan: BandsPlan, values: np.ndarray, variables: Sequence[str] | None = None) -> np.ndarray:
    """Rebuild the shock from input values (D, P) and solve all D draws in one batched call; (D, V, N)."""
    s = len(plan.problem.sectors)
    theta = values[:, :s]
    aves = {i.name: values[:, k] for k, i in enumerate(plan.inputs) if i.kind in AVE_KINDS}
    if plan.scenario is not None:
        given = _rebuilt(plan, values, theta, aves)
    else:
        given = {"cost_factor": cost_factor_cube(plan.terms, plan.problem.flows.shape, theta, aves)}
    labour = [k for k, i in enumerate(plan.inputs) if i.kind == "labour"]
    if labour:
        given["migration_elasticity"] = values[:, labour[0]]
    pool = [k for k, i in enumerate(plan.inputs) if i.kind == "pool"]
    if pool:  # members' drawn efficiency; the other countries pay nothing in, their value is irrelevant
        p = plan.problem
        efficiency = np.broadcast_to(np.ones(len(p.countries)) if p.collection_efficiency is None
                                     else p.collection_efficiency, (len(values), len(p.countries))).copy()
        columns = [p.countries.index(plan.inputs[k].name[len("collection_efficiency["):-1]) for k in pool]
        efficiency[:, columns] = values[:, pool]
        given["collection_efficiency"] = efficiency
    res = solve_multisector_batch(plan.problem, theta=theta, closure=plan.closure, **given)
    return batch_variables(res, plan.variables if variables is None else variables)


def _chunk(plan: BandsPlan, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Task: values (D, P) and results (D, V, N) of draws ``start..stop-1``."""
    values = draw_values(plan, start, stop)
    return values, solve_values(plan, values)


def scenario_bands(
    result: Any,
    *,
    draws: int = 200,
    seed: int = 0,
    theta_spread: float | None = None,
    vary: Sequence[str] = ("theta", "ave", "labour", "pool", "parameters"),
    variables: Sequence[str] | None = None,
    percentiles: Sequence[float] = (5, 50, 95),
    scheduler: Scheduler = None,
    chunk_size: int = CHUNK_SIZE,
    plan: BandsPlan | None = None,
    dataset: Any = None,
    progress: ProgressCallback | None = None,
) -> MonteCarloResult:
    """Monte Carlo bands of a scenario run (``blocsim.run_scenario``) over its uncertain inputs.

    See the module notes for what is drawn; ``result.scenario.uncertainty`` (the scenario's
    ``[uncertainty]`` table) sets the spreads and distributions.

    Parameters
    ----------
    result : ScenarioResult
        The run (``.model.flows``, ``.shock``, ``.scenario``, ``.meta["model"]``).
    draws, seed, variables, percentiles, scheduler
        As for :func:`blocsim.monte_carlo`.
    chunk_size : int
        Draws per task, solved in one batched call (>= 1; default :data:`CHUNK_SIZE`); the
        numbers do not depend on it.
    theta_spread : float, optional
        sd of ``log theta`` (>= 0); default: the scenario's ``[uncertainty] theta_spread`` (0.2).
    vary : sequence of {"theta", "ave", "labour", "pool", "parameters"}
        Groups of inputs drawn; the others stay at their point values.
    plan : BandsPlan, optional
        A plan from :func:`bands_plan` (instead of building it from ``result``).
    dataset : Dataset, optional
        The run's dataset (for drawn scenario parameters; default: loaded by name).
    progress : callable, optional
        ``progress(done, total)``, ``total`` = ``draws``: called with 0 once the point run is
        solved, then with the draws finished after each chunk (strictly increasing, last
        ``done == draws``); see :mod:`blocsim.pipeline.distributed`.

    Returns
    -------
    MonteCarloResult
        ``.bands`` (``country, variable, point, mean, std, p05, p50, p95``), ``.samples``
        (D, V, N), ``.parameters`` (one column per varied input), ``.point`` (the point run,
        bit for bit), ``.diagnostics`` (with ``varied``: every input and its distribution).
    """
    started = time.perf_counter()
    plan = plan or bands_plan(result, seed=seed, theta_spread=theta_spread, variables=variables, vary=vary,
                              dataset=dataset)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise DataValidationError(f"argument 'chunk_size': got {chunk_size!r}; allowed: an integer >= 1.")
    pct = percentile_array(percentiles)
    countries = plan.problem.countries
    draws = check_draws(draws, variables=len(plan.variables), countries=len(countries), parameters=len(plan.inputs))
    point = solve_values(plan, plan.point[None])[0]
    bounds = [(a, min(a + chunk_size, draws)) for a in range(0, draws, chunk_size)]
    parts = map_tasks(_chunk, plan, bounds, scheduler=scheduler, progress=progress,
                      units=[stop - start for start, stop in bounds])
    values = np.concatenate([p[0] for p in parts])
    samples = np.concatenate([p[1] for p in parts])
    varied = [k for k, i in enumerate(plan.inputs) if i.parameter.dist is not None]
    parameters = pd.DataFrame({"draw": np.arange(draws)})
    for k in varied:
        parameters[plan.inputs[k].name] = values[:, k]
    bands, point_frame = band_frame(samples, point, plan.variables, countries, pct)
    diagnostics = {
        "draws": int(draws), "method": "batched", "model": "multisector", "seed": plan.seed, "chunks": len(bounds),
        "chunk_size": int(chunk_size), "seconds": time.perf_counter() - started,
        "scheduler": scheduler if scheduler is None or isinstance(scheduler, str) else type(scheduler).__name__,
        "varied": [i.record() for i in plan.inputs], "not_in_model": dict(NOT_IN_MODEL),
    }
    return MonteCarloResult(bands, samples, point_frame, parameters, plan.variables, countries, diagnostics)
