"""Invariants of the one-sector GE engine, checked with hypothesis on small random economies.

- a zero shock changes nothing (both baselines, both closures);
- market clearing and adding-up hold to 1e-10 at the solution (deficits stay fixed in units of
  world nominal output under closure="level"; the reference importer's price index is the unit
  of the reported nominal values under both closures);
- real GDP and welfare changes do not depend on the reference importer (nominal ones move by one
  common factor, the numeraire);
- a shock that is symmetric under swapping two countries, on data with the same symmetry, gives
  the two countries identical results;
- the batched array core equals one-by-one solves; frictionless costs give X = Y E / W.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocsim.equilibrium.baseline import fitted_flows
from blocsim.equilibrium.equations import country_changes, solve_counterfactual, solve_full_endowment
from blocsim.equilibrium.onesector import solve_ge
from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import ConvergenceError, DataValidationError

PCT_COLUMNS = ["exports_pct", "imports_pct", "real_gdp_pct", "welfare_pct", "factory_price_pct", "omr_pct",
               "imr_pct", "exports_cond_pct", "imports_cond_pct", "output_pct", "expenditure_pct"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def economies(draw: st.DrawFn, min_n: int = 2, max_n: int = 6) -> tuple[np.ndarray, np.ndarray, float]:
    """Flows (N, N) with strong home bias and some zero pairs, a cost shock (N, N) and sigma."""
    n = draw(st.integers(min_n, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    keep = (rng.random((n, n)) > 0.2) | (np.roll(np.eye(n), 1, axis=1) > 0)  # a trade cycle keeps all connected
    flows = rng.lognormal(0.0, 1.0, (n, n)) * keep + np.diag(rng.uniform(5.0, 20.0, n))
    shock = np.exp(rng.uniform(-0.7, 0.7, (n, n)) * (1.0 - np.eye(n)))
    sigma = draw(st.floats(1.5, 9.0))
    return flows, shock, sigma


def _frame(flows: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    n = flows.shape[0]
    names = [f"C{k:02d}" for k in range(n)]
    data = {"exporter": np.repeat(names, n), "importer": np.tile(names, n), "trade": flows.ravel()}
    for key, value in (extra or {}).items():
        data[key] = value.ravel()
    return pd.DataFrame(data)


@SETTINGS
@given(economies(), st.sampled_from(["ratio", "level"]), st.sampled_from(["observed", "estimated"]))
def test_zero_shock_changes_nothing(econ: tuple, closure: str, method: str) -> None:
    flows, shock, sigma = econ
    frame = _frame(flows, {"z": np.log(shock)})
    res = solve_ge(frame, sigma=sigma, cost_coefficients={"z": 1.0}, counterfactual=frame,
                   baseline_method=method, closure=closure if method == "observed" else "ratio",
                   reference_importer="C00")
    c = res.countries
    values = c[PCT_COLUMNS].to_numpy(dtype=float)
    assert np.nanmax(np.abs(values)) < 1e-9
    # percent changes are undefined (NaN) only where the baseline level is zero
    for pct, level in (("exports_pct", "exports_baseline"), ("imports_pct", "imports_baseline"),
                       ("exports_cond_pct", "exports_baseline"), ("imports_cond_pct", "imports_baseline")):
        assert np.array_equal(c[pct].isna().to_numpy(), (c[level] == 0).to_numpy()), pct
    assert not c[["real_gdp_pct", "welfare_pct", "factory_price_pct", "omr_pct", "imr_pct"]].isna().any().any()
    if method == "observed":
        np.testing.assert_allclose(res.flows["trade_counterfactual"], res.flows["trade_observed"], rtol=1e-10)


@SETTINGS
@given(economies(), st.sampled_from(["ratio", "level"]))
def test_market_clearing_and_adding_up(econ: tuple, closure: str) -> None:
    flows, shock, sigma = econ
    out = solve_counterfactual(flows, shock, sigma=sigma, reference=0, closure=closure)
    supply = out.flows_counterfactual.sum(axis=1)
    spending = out.flows_counterfactual.sum(axis=0)
    assert np.max(np.abs(supply / out.output_counterfactual - 1.0)) < 1e-10
    assert np.max(np.abs(spending / out.expenditure_counterfactual - 1.0)) < 1e-10
    cond = out.flows_conditional
    assert np.max(np.abs(cond.sum(axis=1) / flows.sum(axis=1) - 1.0)) < 1e-10
    assert np.max(np.abs(cond.sum(axis=0) / flows.sum(axis=0) - 1.0)) < 1e-10
    deficits = flows.sum(axis=0) - flows.sum(axis=1)
    new_deficits = spending - supply
    assert out.imr_hat[0] == pytest.approx(1.0, abs=1e-12)  # the reference's price index is the numeraire
    if closure == "level":  # fixed in units of world nominal output; reported in units of P_0
        world = out.output_counterfactual.sum() / flows.sum()
        np.testing.assert_allclose(new_deficits / world, deficits, atol=1e-9 * flows.sum())
    else:
        ratio = out.expenditure_counterfactual / out.output_counterfactual
        base = flows.sum(axis=0) / flows.sum(axis=1)
        np.testing.assert_allclose(ratio / base, (ratio / base)[0], rtol=1e-10)


@SETTINGS
@given(economies(min_n=3), st.integers(0, 10))
def test_real_changes_do_not_depend_on_the_reference(econ: tuple, pick: int) -> None:
    flows, shock, sigma = econ
    n = flows.shape[0]
    a = country_changes(solve_counterfactual(flows, shock, sigma=sigma, reference=0))
    b = country_changes(solve_counterfactual(flows, shock, sigma=sigma, reference=1 + pick % (n - 1)))
    c = country_changes(solve_counterfactual(flows, shock, sigma=sigma, reference=None))
    for key in ("real_gdp_pct", "welfare_pct", "exports_cond_pct", "imports_cond_pct"):
        np.testing.assert_allclose(a[key], b[key], atol=1e-7, rtol=1e-9, err_msg=key)
        np.testing.assert_allclose(a[key], c[key], atol=1e-7, rtol=1e-9, err_msg=key)
    # nominal values (prices, exports) differ only by one common factor: the numeraire
    ratio = (1 + a["factory_price_pct"] / 100) / (1 + b["factory_price_pct"] / 100)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    exports = (1 + a["exports_pct"] / 100) / (1 + b["exports_pct"] / 100)
    np.testing.assert_allclose(exports, ratio[0], rtol=1e-9)


@SETTINGS
@given(economies(min_n=3), st.sampled_from(["ratio", "level"]))
def test_symmetric_shock_on_symmetric_data(econ: tuple, closure: str) -> None:
    flows, shock, sigma = econ
    n = flows.shape[0]
    perm = np.arange(n)
    perm[[0, 1]] = [1, 0]
    sym_flows = (flows + flows[np.ix_(perm, perm)]) / 2.0
    sym_shock = np.sqrt(shock * shock[np.ix_(perm, perm)])
    frame = _frame(sym_flows)
    shock_df = _frame(sym_shock).rename(columns={"trade": "factor"})
    res = solve_ge(frame, sigma=sigma, shock=shock_df, baseline_method="observed", closure=closure,
                   reference_importer=f"C{n - 1:02d}")
    c = res.countries.set_index("country")
    np.testing.assert_allclose(c.loc["C00", PCT_COLUMNS].to_numpy(dtype=float),
                               c.loc["C01", PCT_COLUMNS].to_numpy(dtype=float), rtol=1e-9, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(economies(min_n=3, max_n=5), st.integers(2, 4))
def test_batch_equals_single_solves(econ: tuple, draws: int) -> None:
    flows, shock, sigma = econ
    rng = np.random.default_rng(draws)
    shocks = shock[None] ** rng.uniform(0.2, 1.5, (draws, 1, 1))
    sigmas = 1.0 + (sigma - 1.0) * rng.uniform(0.5, 1.5, (draws, 1))  # one elasticity per draw
    for closure in ("ratio", "level"):
        batch = country_changes(solve_counterfactual(flows[None], shocks, sigma=sigmas, reference=0, closure=closure))
        for d in range(draws):
            single = country_changes(solve_counterfactual(flows, shocks[d], sigma=float(sigmas[d, 0]), reference=0,
                                                          closure=closure))
            for key in ("real_gdp_pct", "exports_pct", "factory_price_pct", "exports_cond_pct", "omr_pct"):
                np.testing.assert_allclose(batch[key][d], single[key], rtol=1e-9, atol=1e-10)
    # two leading batch dimensions, elasticities of shape (2, D, 1)
    grid = solve_counterfactual(flows, np.stack([shocks, shocks]), sigma=np.stack([sigmas, sigmas]), reference=0)
    assert grid.price_hat.shape == (2, draws, flows.shape[0])
    np.testing.assert_allclose(grid.price_hat[1], batch_ratio_price(flows, shocks, sigmas), rtol=1e-9)


def batch_ratio_price(flows: np.ndarray, shocks: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Factory-gate price changes of a one-dimensional batch (ratio closure, reference 0)."""
    return solve_counterfactual(flows[None], shocks, sigma=sigmas, reference=0).price_hat


def test_frictionless_costs_give_the_closed_form() -> None:
    """t = 1 everywhere: X_ij = Y_i E_j / W (Anderson and van Wincoop 2003)."""
    y = np.array([10.0, 20.0, 30.0, 40.0])
    e = np.array([25.0, 25.0, 30.0, 20.0])
    fit = fitted_flows(np.ones((4, 4)), y, e, reference=2)
    np.testing.assert_allclose(fit.flows, np.outer(y, e) / y.sum(), rtol=1e-12)
    assert fit.imr[2] == 1.0


def test_bad_inputs_name_the_argument() -> None:
    frame = _frame(np.array([[5.0, 1.0], [2.0, 6.0]]))
    with pytest.raises(DataValidationError, match="sigma"):
        solve_ge(frame, sigma=0.5, baseline_method="observed")
    with pytest.raises(DataValidationError, match="closure"):
        solve_ge(frame, sigma=5, baseline_method="observed", closure="fixed")
    with pytest.raises(DataValidationError, match="reference_importer"):
        solve_ge(frame, sigma=5, baseline_method="observed", reference_importer="XXX")
    with pytest.raises(DataValidationError, match="cost_coefficients"):
        solve_ge(frame, sigma=5)
    with pytest.raises(DataValidationError, match="missing"):
        solve_ge(frame.iloc[:3], sigma=5, baseline_method="observed")
    with pytest.raises(DataValidationError, match="duplicate"):
        solve_ge(pd.concat([frame, frame.iloc[:1]]), sigma=5, baseline_method="observed")
    with pytest.raises(DataValidationError, match="negative"):
        solve_ge(frame.assign(trade=[5.0, -1.0, 2.0, 6.0]), sigma=5, baseline_method="observed")
    with pytest.raises(DataValidationError, match="neither export nor import"):
        solve_ge(frame.assign(trade=[5.0, 0.0, 0.0, 6.0]), sigma=5, baseline_method="observed")
    with pytest.raises(DataValidationError, match="compat"):
        solve_ge(frame, sigma=5, baseline_method="observed", compat="stata")


@SETTINGS
@given(economies())
def test_balanced_trade_makes_the_closures_coincide(econ: tuple) -> None:
    """With E = Y for every country (symmetric flows) fixed ratios and fixed deficits are the same model."""
    flows, shock, sigma = econ
    balanced = (flows + flows.T) / 2.0
    ratio = country_changes(solve_counterfactual(balanced, shock, sigma=sigma, reference=None, closure="ratio"))
    level = country_changes(solve_counterfactual(balanced, shock, sigma=sigma, reference=None, closure="level"))
    for key in ("real_gdp_pct", "welfare_pct", "exports_pct", "factory_price_pct"):
        np.testing.assert_allclose(ratio[key], level[key], rtol=1e-9, atol=1e-9, err_msg=key)


def test_non_convergence_raises_with_residual_and_iterations() -> None:
    rng = np.random.default_rng(3)
    flows = rng.lognormal(0.0, 1.0, (6, 6)) + np.diag(np.full(6, 10.0))
    shock = np.exp(rng.uniform(-1.0, 1.0, (6, 6)))
    with pytest.raises(ConvergenceError) as info:
        solve_full_endowment(flows, shock, sigma=5.0, reference=0, options=SolverOptions(max_iter=3))
    assert info.value.iterations == 3 and info.value.residual > 1e-12
    assert "full-endowment GE" in str(info.value)
    _, record = solve_full_endowment(flows, shock, sigma=5.0, reference=0,
                                     options=SolverOptions(max_iter=3, raise_on_failure=False))
    assert not record.converged and record.iterations == 3
    _, record = solve_full_endowment(flows, shock, sigma=5.0, reference=0,
                                     options=SolverOptions(method="iterate", damping=0.8))
    assert record.converged and record.max_residual <= 1e-12


@pytest.mark.parametrize("bad", [{"tol": 0.0}, {"max_iter": 0}, {"method": "newton"}, {"memory": 0},
                                 {"damping": 1.5}])
def test_solver_options_validate(bad: dict) -> None:
    with pytest.raises(DataValidationError, match="SolverOptions"):
        SolverOptions(**bad)
