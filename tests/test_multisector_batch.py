"""Batched multi-sector GE (``solve_multisector_batch``): every draw equals its single solve.

The reference is the single solve, :func:`blocsim.solve_multisector`, called once per draw
with that draw's inputs as tidy tables (its result tables are computed by separate code,
``multisector_tables.country_table``). The economy has input-output links by country,
tariffs before and after, a duty pool whose shares change, unbalanced trade (deficits), a
ban and productivity changes; draws vary theta, AVE-based cost factors (recomputed with each
draw's theta), tariffs after, pool shares and productivity.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.data import load_dataset
from blocsim.equilibrium import DutyPool, MultiSectorProblem, multisector_problem, solve_multisector_batch
from blocsim.equilibrium.multisector_batch import _draw_batch, bytes_per_draw
from blocsim.equilibrium.options import SolverOptions
from blocsim.equilibrium.solvers import solve_fixed_point, solve_with_fallback
from blocsim.errors import ConvergenceError, DataValidationError

CODES = ("ARM", "BLR", "KAZ", "KGZ", "RUS")
SECTORS = ("agri", "manu", "mine")
TIGHT = SolverOptions(tol=1e-13, max_iter=20000)
POOL_BEFORE = {"RUS": 0.85, "KAZ": 0.08, "BLR": 0.05, "ARM": 0.02}
POOL_MEMBERS_AFTER = ("RUS", "KAZ", "BLR", "KGZ")


def cube_frame(arr: np.ndarray, column: str) -> pd.DataFrame:
    """A (S, N, N) array as rows ``exporter, importer, sector, <column>`` (off-diagonal)."""
    s_idx, i_idx, j_idx = np.meshgrid(range(len(SECTORS)), range(len(CODES)), range(len(CODES)), indexing="ij")
    off = (i_idx != j_idx).ravel()
    return pd.DataFrame({"exporter": np.array(CODES)[i_idx.ravel()[off]], "importer": np.array(CODES)[j_idx.ravel()[off]],
                         "sector": np.array(SECTORS)[s_idx.ravel()[off]], column: arr.ravel()[off]})


def economy(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Unbalanced flows with home bias, tariffs before/after, IO shares by country, theta."""
    rng = np.random.default_rng(seed)
    n, s = len(CODES), len(SECTORS)
    x = rng.lognormal(0.0, 1.0, size=(s, n, n)) * rng.uniform(0.3, 3.0, size=(1, n, 1))  # deficits
    x[:, np.arange(n), np.arange(n)] = rng.uniform(40, 120, size=(s, n))
    s_idx, i_idx, j_idx = np.meshgrid(range(s), range(n), range(n), indexing="ij")
    flows = pd.DataFrame({"exporter": np.array(CODES)[i_idx.ravel()], "importer": np.array(CODES)[j_idx.ravel()],
                          "sector": np.array(SECTORS)[s_idx.ravel()], "trade": x.ravel()})
    before = rng.uniform(0.0, 0.2, size=x.shape)
    tariffs = cube_frame(before, "tariff_before").assign(tariff_after=cube_frame(before * 1.3, "t").t)
    mix = x.sum(axis=1) / x.sum(axis=(0, 1))  # (S, N) spending mix
    io = pd.DataFrame([(CODES[j], SECTORS[u], SECTORS[k], 0.35 * mix[k, j] * rng.uniform(0.5, 1.0))
                       for j in range(n) for u in range(s) for k in range(s)],
                      columns=["country", "sector", "input_sector", "share"])
    theta = dict(zip(SECTORS, (4.07, 4.26, 22.39)))
    return flows, tariffs, io, theta


def draws(problem: MultiSectorProblem, count: int, seed: int) -> dict[str, np.ndarray]:
    """Per-draw inputs: theta, AVE-based cost factors at that theta (with a ban), tariffs after,
    pool shares after and productivity."""
    rng = np.random.default_rng(seed)
    n, s = len(CODES), len(SECTORS)
    theta = problem.theta[None] * np.exp(0.2 * rng.standard_normal((count, s)))
    ave = np.zeros((s, n, n))
    ave[:, 2, 4] = 0.15  # an NTM on KAZ -> RUS, all sectors
    ave[1, 3, 0] = 0.4
    cost = (1.0 + ave)[None] ** -theta[:, :, None, None]
    cost[:, 0, 1, 2] = 0.0  # a ban: BLR -> KAZ agri
    tariff_after = problem.tariff_after[None] * rng.uniform(0.5, 1.5, size=(count, s, n, n))
    members = np.isin(CODES, POOL_MEMBERS_AFTER)
    shares = np.zeros((count, n))
    shares[:, members] = rng.dirichlet(np.ones(members.sum()), size=count)
    productivity = rng.uniform(0.97, 1.03, size=(count, n, s))
    return {"theta": theta, "cost_factor": cost, "tariff_after": tariff_after, "pool_shares_after": shares,
            "productivity": productivity}


def point_problem(seed: int = 5) -> tuple[MultiSectorProblem, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    flows, tariffs, io, theta = economy(seed)
    pool_after = {c: 1.0 / len(POOL_MEMBERS_AFTER) for c in POOL_MEMBERS_AFTER}
    problem = multisector_problem(flows, theta=theta, tariffs=tariffs, io=io, duty_pool=DutyPool(POOL_BEFORE),
                                  duty_pool_after=DutyPool(pool_after))
    return problem, flows, tariffs, io


def single_solve(flows: pd.DataFrame, tariffs: pd.DataFrame, io: pd.DataFrame, inputs: dict[str, np.ndarray],
                 d: int, **kwargs: object) -> blocsim.MultiSectorResult:
    """The single solve of draw ``d`` through the public tidy entry point."""
    prod = inputs["productivity"][d]
    c_idx, s_idx = np.meshgrid(range(len(CODES)), range(len(SECTORS)), indexing="ij")
    return blocsim.solve_multisector(
        flows, theta=dict(zip(SECTORS, inputs["theta"][d])),
        shock=cube_frame(inputs["cost_factor"][d], "factor"),
        tariffs=tariffs.assign(tariff_after=cube_frame(inputs["tariff_after"][d], "t").t), io=io,
        duty_pool=DutyPool(POOL_BEFORE),
        duty_pool_after=DutyPool({c: float(v) for c, v in zip(CODES, inputs["pool_shares_after"][d]) if v > 0}),
        productivity=pd.DataFrame({"country": np.array(CODES)[c_idx.ravel()], "sector": np.array(SECTORS)[s_idx.ravel()],
                                   "factor": prod.ravel()}),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("closure,numeraire", [("ratio", None), ("level", None), ("level", "KAZ")])
def test_each_draw_equals_its_single_solve(closure: str, numeraire: str | None) -> None:
    """IO, duty pool, deficits, tariffs, ban: every draw of the batch = its single solve, to 1e-10."""
    problem, flows, tariffs, io = point_problem()
    inputs = draws(problem, 5, seed=1)
    batch = solve_multisector_batch(problem, closure=closure, numeraire=numeraire, conditional=True,
                                    options=TIGHT, **inputs)
    assert batch.converged.all() and batch.wage_hat.shape == (5, len(CODES))
    for d in range(5):
        single = single_solve(flows, tariffs, io, inputs, d, closure=closure, numeraire=numeraire, options=TIGHT)
        c = single.countries.set_index("country").loc[list(batch.countries)]
        pairs = {
            "welfare_pct": (batch.real_income_hat[d] - 1) * 100, "factory_price_pct": (batch.wage_hat[d] - 1) * 100,
            "price_index_pct": (batch.consumer_price_hat[d] - 1) * 100,
            "exports_cond_pct": (batch.exports_conditional[d] / batch.exports_baseline - 1) * 100,
        }
        for column, value in pairs.items():
            np.testing.assert_allclose(value, c[column], rtol=0, atol=1e-10, err_msg=f"draw {d} {column}")
        levels = {
            "income_counterfactual": batch.income[d], "income_baseline": batch.income_baseline[d],
            "tariff_revenue_collected_after": batch.revenue_collected[d],
            "tariff_revenue_received_after": batch.revenue_received[d],
            "tariff_revenue_received_before": batch.revenue_received_baseline[d],
            "exports_counterfactual": batch.exports[d], "imports_counterfactual": batch.imports[d],
        }
        scale = c["income_baseline"].sum()
        for column, value in levels.items():
            np.testing.assert_allclose(value, c[column], rtol=1e-10, atol=1e-10 * scale, err_msg=f"draw {d} {column}")
        output = single.flows_counterfactual.sum(axis=2)
        np.testing.assert_allclose(batch.output[d], output, rtol=1e-10, atol=1e-10 * output.max())
        full_part = next(part for part in single.diagnostics["parts"] if part["name"] == "full")
        assert batch.diagnostics.loc[d, "iterations"] == full_part["iterations"]  # the batch reports the full solve
        assert batch.diagnostics.loc[d, "converged"] and batch.diagnostics.loc[d, "residual"] <= TIGHT.tol


def test_point_draw_reproduces_point_run_exactly() -> None:
    """A library scenario on the bundled EAEU data: the draw at the point theta, with the shock
    recompiled from it (AVE-based factors included), gives the scenario's own numbers exactly."""
    from blocsim.equilibrium.multisector_inputs import parse_pair_table
    from blocsim.scenario.build import build_states
    from blocsim.pipeline.collection_efficiency import efficiency_table
    from blocsim.pipeline.scenario_run import baseline_flows, run_scenario
    from blocsim.shock.compile import compile_shock

    full = load_dataset("eaeu")  # without the corridor table: the labour channel stays off (tested elsewhere)
    dataset = dataclasses.replace(full, extra={k: v for k, v in full.extra.items() if k != "remittances"})
    run = run_scenario("kazakhstan-leaves", dataset=dataset)
    shock = run.shock
    year = run.scenario.data.year
    problem = multisector_problem(baseline_flows(dataset, year), theta=dict(shock.theta), tariffs=shock.tariffs,
                                  duty_pool=DutyPool(shock.duty_pool_before),
                                  duty_pool_after=DutyPool(shock.duty_pool_after))
    before, after, _ = build_states(run.scenario, dataset)
    theta = problem.theta[None] * np.stack([np.ones(len(problem.sectors)),
                                            np.resize([1.3, 0.8, 1.1, 0.9], len(problem.sectors))])
    factors = []
    for row in theta:  # the shock stage recomputes the AVE-based factors at each draw's theta
        table = compile_shock(before, after, dataset, year, theta=dict(zip(problem.sectors, row))).cost_factor
        (cube,) = parse_pair_table(table, ("factor",), "shock", problem.countries, problem.sectors,
                                   ("exporter", "importer", "sector"), fill=1.0, low=0.0, high=np.inf, allowed=">= 0")
        factors.append(cube)
    assert not np.array_equal(factors[0], factors[1])  # the factors do move with theta
    efficiency = efficiency_table(run.scenario) or {}  # the dataset's calibrated collection efficiency
    batch = solve_multisector_batch(problem, theta=theta, cost_factor=np.stack(factors),
                                    collection_efficiency=[efficiency.get(c, 1.0) for c in problem.countries])
    c = run.model.countries.set_index("country").loc[list(batch.countries)]
    assert np.array_equal((batch.real_income_hat[0] - 1) * 100, c["welfare_pct"].to_numpy())
    assert np.array_equal((batch.wage_hat[0] - 1) * 100, c["factory_price_pct"].to_numpy())
    assert np.array_equal(batch.revenue_received[0], c["tariff_revenue_received_after"].to_numpy())
    assert np.array_equal(batch.exports[0], c["exports_counterfactual"].to_numpy())
    assert not np.allclose(batch.real_income_hat[1], batch.real_income_hat[0], rtol=0, atol=1e-9)


def test_shared_inputs_broadcast_without_copies_and_chunks_agree() -> None:
    """An input the draws share keeps a leading axis of 1 and the caller's memory; repeating it
    per draw, or solving in chunks of 1 and 2 draws, gives the same numbers."""
    problem, *_ = point_problem()
    inputs = draws(problem, 4, seed=2)
    shared = inputs["cost_factor"][0]
    batch = _draw_batch(problem, theta=inputs["theta"], cost_factor=shared, tariff_before=None, tariff_after=None,
                        productivity=None, pool_shares_before=None, pool_shares_after=None)
    assert batch.size == 4 and batch.cost_factor.shape[0] == 1 and np.shares_memory(batch.cost_factor, shared)
    assert batch.tariff_after.shape[0] == 1 and np.shares_memory(batch.tariff_after, problem.tariff_after)
    assert np.shares_memory(batch.take(slice(1, 3)).theta, inputs["theta"])
    one = solve_multisector_batch(problem, theta=inputs["theta"], cost_factor=shared)
    repeated = solve_multisector_batch(problem, theta=inputs["theta"], cost_factor=np.repeat(shared[None], 4, axis=0))
    np.testing.assert_array_equal(one.real_income_hat, repeated.real_income_hat)
    assert one.chunk_size == 4
    for draws_per_chunk in (1, 2):
        budget = draws_per_chunk * bytes_per_draw(batch)
        chunked = solve_multisector_batch(problem, theta=inputs["theta"], cost_factor=shared, memory_budget=budget)
        assert chunked.chunk_size == draws_per_chunk
        np.testing.assert_array_equal(chunked.real_income_hat, one.real_income_hat)
        np.testing.assert_array_equal(chunked.diagnostics["draw"], np.arange(4))


def stranded_exporter() -> np.ndarray:
    """Cost factors that close every export market of ARM (all sectors): with its trade
    surplus held fixed it has no equilibrium (its wage collapses), see the methods notes."""
    cube = np.ones((len(SECTORS), len(CODES), len(CODES)))
    cube[:, 0, 1:] = 0.0
    return cube


def test_failed_draw_is_reported_not_hidden() -> None:
    """A draw without an equilibrium fails on its own: flagged with its residual, its arrays NaN,
    the other draws converge to their single solves; by default the batch raises naming it."""
    problem, *_ = point_problem()
    ok = np.ones((len(SECTORS), len(CODES), len(CODES)))
    cost = np.stack([ok, stranded_exporter(), ok])
    theta = problem.theta[None] * np.array([[1.0], [1.0], [1.2]])
    options = SolverOptions(max_iter=300, raise_on_failure=False)
    res = solve_multisector_batch(problem, theta=theta, cost_factor=cost, closure="level", options=options)
    diag = res.diagnostics
    assert diag["converged"].tolist() == [True, False, True] and res.failed.tolist() == [1]
    assert diag.loc[1, "residual"] > options.tol and diag.loc[1, "iterations"] == 300
    assert diag.loc[1, "method"] == "anderson+iterate" and diag.loc[0, "method"] == "anderson"
    assert np.isnan(res.real_income_hat[1]).all() and np.isfinite(res.real_income_hat[[0, 2]]).all()
    alone = solve_multisector_batch(problem, theta=theta[2], closure="level")
    np.testing.assert_array_equal(res.real_income_hat[2], alone.real_income_hat[0])
    with pytest.raises(ConvergenceError, match=r"1 of 3 draws \(first: draw 1 residual"):
        solve_multisector_batch(problem, theta=theta, cost_factor=cost, closure="level",
                                options=dataclasses.replace(options, raise_on_failure=True))


def test_bad_draw_inputs_name_argument_and_draw() -> None:
    problem, *_ = point_problem()
    inputs = draws(problem, 3, seed=3)
    with pytest.raises(DataValidationError, match=r"'cost_factor': shape \(3, 3, 5\); allowed: \(D, 3, 5, 5\)"):
        solve_multisector_batch(problem, cost_factor=inputs["cost_factor"][:, :, 0])
    with pytest.raises(DataValidationError, match=r"argument 'theta' has 2 draws, but 'cost_factor' has 3"):
        solve_multisector_batch(problem, theta=inputs["theta"][:2], cost_factor=inputs["cost_factor"])
    bad = inputs["cost_factor"].copy()
    bad[2, 1, 3, 4] = -0.5
    one_per_chunk = 100  # bytes: chunks of one draw, so the error must number the draw globally
    with pytest.raises(DataValidationError, match=r"'cost_factor': value -0.5 at draw 2, sector 'manu', exporter 'KGZ', importer 'RUS'"):
        solve_multisector_batch(problem, cost_factor=bad, memory_budget=one_per_chunk)
    shares = inputs["pool_shares_after"].copy()
    shares[1, 4] += 0.1
    with pytest.raises(DataValidationError, match=r"'pool_shares_after': draw 1 has shares summing to 1.1"):
        solve_multisector_batch(problem, pool_shares_after=shares)
    theta = inputs["theta"].copy()
    theta[0, 2] = 0.0
    with pytest.raises(DataValidationError, match=r"'theta': draw 0, sector 2: 0.0; allowed: finite elasticities > 0"):
        solve_multisector_batch(problem, theta=theta)
    tariffs = inputs["tariff_after"].copy()
    tariffs[1, 0, 2, 2] = 0.1
    with pytest.raises(DataValidationError, match=r"'tariff_after': draw 1 taxes the domestic flow of 'KAZ'"):
        solve_multisector_batch(problem, tariff_after=tariffs)
    no_pool = dataclasses.replace(problem, pool_before=None)
    with pytest.raises(DataValidationError, match="'pool_shares_before': the problem has no duty pool before"):
        solve_multisector_batch(no_pool, pool_shares_before=inputs["pool_shares_after"])
    with pytest.raises(DataValidationError, match="'memory_budget'"):
        solve_multisector_batch(problem, memory_budget=0)


def contraction(rates: np.ndarray) -> object:
    """A linear map per element with fixed point 1 and contraction ``rates`` (oscillating in x[1])."""
    def step(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gx = 1.0 + rates[:, None] * (x - 1.0) * np.array([1.0, -0.5])
        return gx, np.max(np.abs(gx - x), axis=1)

    return step


def test_solver_elements_converge_and_fall_back_on_their_own() -> None:
    """The generic solver: each batch element stops at its own iterate (as if solved alone); an
    element whose map breaks under Anderson mixing restarts alone with plain iteration."""
    rates, x0 = np.array([0.3, 0.9, 0.6]), np.zeros((3, 2))
    plain = SolverOptions(method="iterate")
    batch = solve_fixed_point(contraction(rates), x0, options=plain)
    for k in range(3):
        alone = solve_fixed_point(contraction(rates[k:k + 1]), x0[k:k + 1], options=plain)
        assert batch.element_iterations[k] == alone.iterations and batch.element_converged[k]
        np.testing.assert_array_equal(batch.x[k], alone.x[0])
    assert batch.iterations == batch.element_iterations.max() > batch.element_iterations.min()

    evaluations: list[int] = []

    def breaking(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gx, res = contraction(rates)(x)
        evaluations.append(1)
        if len(evaluations) >= 3:  # from the third evaluation on, element 1's map returns NaN
            gx[1], res[1] = np.nan, np.nan
        return gx, res

    record = solve_with_fallback(lambda rows: breaking if rows is None else contraction(rates[rows]), x0,
                                 SolverOptions(), name="test", hint="")
    assert record.converged and record.element_method.tolist() == ["anderson", "anderson+iterate", "anderson"]
    restart = solve_fixed_point(contraction(rates[1:2]), x0[1:2], options=plain)
    assert record.element_iterations[1] == 3 + restart.iterations
    np.testing.assert_array_equal(record.x[1], restart.x[0])

    def nan_map(rows: np.ndarray) -> object:
        def step(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # element 1 never has a finite value
            gx, res = contraction(rates[rows])(x)
            gx[rows == 1], res[rows == 1] = np.nan, np.nan
            return gx, res

        return step

    with pytest.raises(ConvergenceError, match=r"test did not converge.* in 1 of 3 elements \(first: #1 residual inf"):
        solve_with_fallback(lambda rows: nan_map(np.arange(3) if rows is None else rows), x0, SolverOptions(),
                            name="test", hint="")
