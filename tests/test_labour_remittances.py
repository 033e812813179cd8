"""Labour and remittances in the multi-sector GE (docs/methods-multisector.md, "Labour and remittances")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import blocsim
from blocsim.equilibrium import multisector_problem, solve_multisector_batch
from blocsim.equilibrium.labour import MIGRATION_ELASTICITY, labour_arrays, remittance_flows
from blocsim.equilibrium.multisector_core import calibrate, log_consumer_prices, solve_changes
from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import DataValidationError

CODES = ["ARM", "BLR", "KAZ", "KGZ", "RUS", "TJK"]
TIGHT = SolverOptions(tol=1e-13, max_iter=20000)
PROPS = settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def economy(seed: int, n: int = 5, s: int = 2) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Flows with deficits, tariffs, and remittance corridors into the last country (the host) and one more."""
    rng = np.random.default_rng(seed)
    codes, sectors = CODES[:n], [f"s{k}" for k in range(s)]
    x = rng.lognormal(0.0, 1.0, size=(s, n, n))
    x[:, np.arange(n), np.arange(n)] = rng.uniform(50, 200, size=(s, n))
    s_idx, i_idx, j_idx = np.meshgrid(range(s), range(n), range(n), indexing="ij")
    flows = pd.DataFrame({"exporter": np.array(codes)[i_idx.ravel()], "importer": np.array(codes)[j_idx.ravel()],
                          "sector": np.array(sectors)[s_idx.ravel()], "trade": x.ravel()})
    tariffs = flows.loc[flows.exporter != flows.importer, ["exporter", "importer", "sector"]].copy()
    tariffs["tariff_before"] = rng.uniform(0, 0.2, len(tariffs))
    tariffs["tariff_after"] = tariffs["tariff_before"]
    host = codes[-1]
    origins = codes[:-1]
    remittances = pd.DataFrame({"origin": origins, "host": host,
                                "remittances": rng.uniform(1, 30, len(origins)),
                                "migrants": rng.uniform(1e4, 1e6, len(origins))})
    extra = pd.DataFrame({"origin": [host], "host": [codes[0]], "remittances": [2.5], "migrants": [5e3]})
    return flows, tariffs, pd.concat([remittances, extra], ignore_index=True)


def entry(remittances: pd.DataFrame, before: float, after: float) -> pd.DataFrame:
    return remittances[["origin", "host"]].assign(entry_cost_before=before, entry_cost_after=after)


def solve_core(flows: pd.DataFrame, closure: str = "ratio", **kw: object):  # type: ignore[no-untyped-def]
    problem = multisector_problem(flows, theta=4.0, **kw)  # type: ignore[arg-type]
    cal = calibrate(problem, closure=closure, numeraire=None)
    return problem, cal, solve_changes(cal, TIGHT)


# --- Must show: zero shock, calibration, elasticity, income identity ----------------------------------------


@PROPS
@given(st.integers(0, 10_000), st.sampled_from(["ratio", "level"]), st.floats(0.0, 2.0))
def test_zero_shock_moves_nothing(seed: int, closure: str, eta: float) -> None:
    flows, tariffs, rem = economy(seed)
    res = blocsim.solve_multisector(flows, theta=4.0, tariffs=tariffs, closure=closure, remittances=rem,
                                    entry_costs=entry(rem, 0.093, 0.093), migration_elasticity=eta, options=TIGHT)
    c = res.countries
    assert np.max(np.abs(c.filter(like="_pct").to_numpy())) < 1e-12 * 100
    np.testing.assert_allclose(c.remittances_received_after, c.remittances_received_before, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c.remittances_sent_after, c.remittances_sent_before, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c.remittances_net_change, 0.0, atol=1e-12)
    np.testing.assert_allclose(res.flows_counterfactual, res.flows_baseline, rtol=1e-12, atol=1e-12)


def test_baseline_remittances_equal_the_calibration_data_per_corridor() -> None:
    flows, _, rem = economy(1)
    problem, cal, eq = solve_core(flows, remittances=rem)
    idx = {c: k for k, c in enumerate(problem.countries)}
    for row in rem.itertuples():
        o, h = idx[row.origin], idx[row.host]
        assert problem.labour.remittances[o, h] == row.remittances  # exactly the data
        assert eq.remittances[o, h] == pytest.approx(row.remittances, rel=1e-12)  # zero shock: unchanged
    assert np.count_nonzero(problem.labour.remittances) == len(rem)
    res = blocsim.solve_multisector(flows, theta=4.0, remittances=rem)
    by_origin = rem.groupby("origin").remittances.sum()
    by_host = rem.groupby("host").remittances.sum()
    c = res.countries.set_index("country")
    np.testing.assert_array_equal(c.remittances_received_before.reindex(by_origin.index), by_origin)
    np.testing.assert_array_equal(c.remittances_sent_before.reindex(by_host.index), by_host)


@pytest.mark.parametrize("eta", [0.0, MIGRATION_ELASTICITY, 1.0])
def test_one_percent_fall_in_host_labour_income_lowers_remittances_by_the_elasticity(eta: float) -> None:
    """At given prices the elasticity of remittances to the host's wage is 1 + eta (documented)."""
    countries = ("AAA", "BBB", "CCC")
    rem = pd.DataFrame({"origin": ["AAA", "BBB"], "host": ["CCC", "CCC"], "remittances": [10.0, 4.0]})
    labour = labour_arrays(rem, countries, migration_elasticity=eta)
    log_wage = np.log([[1.0, 1.0, 0.99]])
    flows, moved = remittance_flows(labour, log_wage, np.zeros((1, 3)))
    np.testing.assert_allclose(flows[0, 0, 2] / 10.0, 0.99 ** (1.0 + eta), rtol=1e-14)
    np.testing.assert_allclose(np.log(flows[0, :2, 2] / [10.0, 4.0]) / np.log(0.99), 1.0 + eta, rtol=1e-12)
    np.testing.assert_allclose(moved[0, :2, 2], 0.99 ** eta, rtol=1e-14)


def test_equilibrium_remittances_follow_the_host_wage_and_migrant_stocks() -> None:
    """A recession in the host (productivity -5 %): every corridor moves by w_h^ * M^ of the solution."""
    flows, tariffs, rem = economy(2)
    host = rem.host.iloc[0]
    _, cal, eq = solve_core(flows, tariffs=tariffs, remittances=rem, migration_elasticity=0.5,
                            productivity=pd.DataFrame({"country": [host], "factor": [0.95]}))
    cpi = np.exp(log_consumer_prices(cal, eq.log_price_hat))
    real = np.log(eq.wage_hat / cpi)
    expected_moved = np.exp(0.5 * (real[None, :] - real[:, None]))
    base = cal.problem.labour.remittances
    np.testing.assert_allclose(eq.migrants_hat[base > 0], expected_moved[base > 0], rtol=1e-12)
    np.testing.assert_allclose(eq.remittances, base * eq.wage_hat[None, :] * expected_moved, rtol=1e-12)
    h = cal.problem.countries.index(host)
    assert eq.wage_hat[h] < 1 and np.all(eq.remittances[:, h].sum() < base[:, h].sum())


@pytest.mark.parametrize("closure", ["ratio", "level"])
def test_income_identity_holds_with_transfers(closure: str) -> None:
    flows, tariffs, rem = economy(3)
    tariffs["tariff_after"] = tariffs.tariff_before * 0.5
    _, cal, eq = solve_core(flows, closure=closure, tariffs=tariffs, remittances=rem,
                            productivity=pd.DataFrame({"country": ["KAZ"], "factor": [1.1]}))
    transfers = eq.remittances.sum(axis=1) - eq.remittances.sum(axis=0)
    np.testing.assert_allclose(eq.transfers, transfers, rtol=1e-15)
    assert abs(transfers.sum()) < 1e-12 * np.abs(transfers).sum()  # world transfers net to zero
    identity = eq.wage_hat * cal.value_added + eq.revenue_received + eq.deficit_other + transfers
    np.testing.assert_allclose(eq.income, identity, rtol=1e-13)
    world_va = (eq.wage_hat * cal.value_added).sum() + eq.revenue_collected.sum()
    np.testing.assert_allclose(eq.income.sum(), world_va, rtol=1e-12)
    # the baseline is the same with and without the channel: remittances split the observed deficit
    _, plain, _ = solve_core(flows, closure=closure, tariffs=tariffs)
    np.testing.assert_allclose(cal.income, plain.income, rtol=1e-14)
    np.testing.assert_allclose(cal.deficit_other + cal.transfers, plain.deficit_other, rtol=1e-13, atol=1e-12)


def test_remittance_financed_deficit_follows_the_senders_not_the_home_wage() -> None:
    """Deliverable 3: the old ratio closure scaled the whole deficit (incl. remittances) with the home wage."""
    flows, _, rem = economy(4)
    home = "KGZ"
    prod = pd.DataFrame({"country": [home], "factor": [1.2]})
    _, cal, eq = solve_core(flows, remittances=rem, migration_elasticity=0.0, productivity=prod)
    k = cal.problem.countries.index(home)
    received = rem.loc[rem.origin == home, "remittances"].sum()
    host = cal.problem.countries.index(rem.loc[rem.origin == home, "host"].iloc[0])
    assert eq.wage_hat[k] > 1.05  # the home wage rises ...
    np.testing.assert_allclose(eq.transfers[k], received * eq.wage_hat[host], rtol=1e-12)  # ... transfers follow RUS
    assert abs(eq.transfers[k] - received * eq.wage_hat[k]) > 0.04 * received


def test_free_movement_raises_migrant_stocks_by_the_entry_cost() -> None:
    flows, _, rem = economy(5)
    res = blocsim.solve_multisector(flows, theta=4.0, remittances=rem, entry_costs=entry(rem, 0.093, 0.0),
                                    migration_elasticity=0.3)
    c = res.countries.set_index("country")
    origins = rem.origin.iloc[:-1]
    np.testing.assert_allclose(c.loc[origins, "migrants_pct"], (1.093 ** 0.3 - 1) * 100, rtol=2e-2)
    assert (c.loc[origins, "remittances_net_change"] > 0).all()


# --- Properties as for the solver ----------------------------------------------------------------------------


@PROPS
@given(st.integers(0, 10_000), st.sampled_from(CODES[:5]))
def test_numeraire_invariance(seed: int, reference: str) -> None:
    flows, tariffs, rem = economy(seed)
    rng = np.random.default_rng(seed)
    tariffs["tariff_after"] = tariffs.tariff_before * rng.uniform(0, 2, len(tariffs))
    kw = dict(theta=4.0, tariffs=tariffs, remittances=rem, entry_costs=entry(rem, 0.1, 0.0), options=TIGHT)
    a = blocsim.solve_multisector(flows, **kw).countries  # type: ignore[arg-type]
    b = blocsim.solve_multisector(flows, numeraire=reference, **kw).countries  # type: ignore[arg-type]
    for column in ("welfare_pct", "real_wage_pct", "migrants_pct"):
        np.testing.assert_allclose(a[column], b[column], atol=1e-9)
    ratio = b.remittances_received_after.sum() / a.remittances_received_after.sum()
    np.testing.assert_allclose(b.income_counterfactual / a.income_counterfactual, ratio, rtol=1e-9)


@PROPS
@given(st.integers(0, 10_000), st.sampled_from(["ratio", "level"]))
def test_batch_equals_single(seed: int, closure: str) -> None:
    flows, tariffs, rem = economy(seed)
    host = rem.host.iloc[0]
    prod = pd.DataFrame({"country": [host], "factor": [0.9]})
    problem = multisector_problem(flows, theta=4.0, tariffs=tariffs, remittances=rem, productivity=prod,
                                  entry_costs=entry(rem, 0.093, 0.0))
    etas = [0.0, 0.3, 1.5]
    batch = solve_multisector_batch(problem, migration_elasticity=etas, closure=closure, options=TIGHT)
    for d, eta in enumerate(etas):
        single = blocsim.solve_multisector(flows, theta=4.0, tariffs=tariffs, remittances=rem, productivity=prod,
                                           entry_costs=entry(rem, 0.093, 0.0), migration_elasticity=eta,
                                           closure=closure, options=TIGHT).countries
        np.testing.assert_allclose((batch.real_income_hat[d] - 1) * 100, single.welfare_pct, atol=1e-10)
        np.testing.assert_allclose(batch.remittances_received[d], single.remittances_received_after, rtol=1e-10)
        np.testing.assert_allclose(batch.remittances_sent[d], single.remittances_sent_after, rtol=1e-10)


def test_channel_off_gives_the_old_results_bit_for_bit() -> None:
    flows, tariffs, _ = economy(6)
    tariffs["tariff_after"] = 0.0
    old = blocsim.solve_multisector(flows, theta=4.0, tariffs=tariffs).countries
    assert (old.filter(like="remittances").to_numpy() == 0).all() and (old.migrants_pct == 0).all()
    with_zero = blocsim.solve_multisector(flows, theta=4.0, tariffs=tariffs,
                                          remittances=pd.DataFrame(columns=["origin", "host", "remittances"]))
    np.testing.assert_allclose(with_zero.countries.welfare_pct, old.welfare_pct, atol=1e-12)


# --- Bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "message"), [
    (pd.DataFrame({"origin": ["XXX"], "host": ["RUS"], "remittances": [1.0]}), "unknown value"),
    (pd.DataFrame({"origin": ["RUS"], "host": ["RUS"], "remittances": [1.0]}), "origin == host"),
    (pd.DataFrame({"origin": ["KGZ"], "host": ["RUS"], "remittances": [-1.0]}), "finite numbers >= 0"),
    (pd.DataFrame({"origin": ["KGZ", "KGZ"], "host": ["RUS", "RUS"], "remittances": [1.0, 2.0]}), "duplicate"),
    (pd.DataFrame({"from": ["KGZ"], "host": ["RUS"], "remittances": [1.0]}), "missing column"),
])
def test_bad_remittance_tables_are_clear_errors(table: pd.DataFrame, message: str) -> None:
    flows, _, _ = economy(7)
    with pytest.raises(DataValidationError, match=message):
        blocsim.solve_multisector(flows, theta=4.0, remittances=table)


def test_labour_options_without_remittances_are_errors() -> None:
    flows, _, rem = economy(8)
    with pytest.raises(DataValidationError, match="without 'remittances'"):
        blocsim.solve_multisector(flows, theta=4.0, migration_elasticity=0.5)
    with pytest.raises(DataValidationError, match="migration_elasticity"):
        blocsim.solve_multisector(flows, theta=4.0, remittances=rem, migration_elasticity=-1.0)
    problem = multisector_problem(flows, theta=4.0)
    with pytest.raises(DataValidationError, match="without remittances"):
        solve_multisector_batch(problem, migration_elasticity=[0.1, 0.2])


# --- Scenario pipeline ------------------------------------------------------------------------------------------


def test_scenario_run_uses_the_dataset_corridors_and_free_movement_on_accession() -> None:
    from blocsim.pipeline.scenario_run import run_scenario

    v2 = blocsim.load_dataset("eaeu")  # the library's dataset (v2) has the corridor table: channel on
    table = v2.extra["remittances"]
    res = run_scenario("armenia-kyrgyzstan-join-2015", dataset=v2)
    assert res.meta["model"]["parameters"]["labour"] is True  # run.json records the channel
    c = res.countries.set_index("country")
    rows = table[(table.year == 2017) & (table.sender != table.receiver)]
    np.testing.assert_allclose(c.remittances_received_before.loc[["KGZ", "ARM", "TJK"]],
                               rows.groupby("receiver").remittances_usd_m.sum().loc[["KGZ", "ARM", "TJK"]], rtol=1e-12)
    # Kyrgyz and Armenian workers no longer need Russia's patent: more of them, more remittances
    # (fewer than with a flat 2 % border cost: the estimated border AVEs raise Kyrgyz real wages
    # at home by about 4 %, which damps the move; 0.8 % against 2.0 %)
    assert c.loc["KGZ", "migrants_pct"] > 0.5 and c.loc["KGZ", "remittances_net_change"] > 0
    assert c.loc["ARM", "migrants_pct"] > 1.0
    assert abs(c.loc["TJK", "migrants_pct"]) < 0.5  # Tajikistan stays outside
    without = dataclasses.replace(v2, extra={k: v for k, v in v2.extra.items() if k != "remittances"})
    plain = run_scenario("armenia-kyrgyzstan-join-2015", dataset=without)
    assert (plain.countries.remittances_received_before == 0).all()
    assert plain.meta["model"]["parameters"]["labour"] is False


def test_labour_true_without_a_remittance_table_is_a_scenario_error() -> None:
    from blocsim.errors import ScenarioError
    from blocsim.pipeline.scenario_run import run_scenario
    from blocsim.scenario.loader import load_scenario

    scenario = load_scenario("russia-recession-2014-15")
    data = scenario.model_dump()
    wanted = type(scenario).model_validate({**data, "model": {**data["model"], "labour": True}})
    v2 = blocsim.load_dataset("eaeu")
    without = dataclasses.replace(v2, extra={k: v for k, v in v2.extra.items() if k != "remittances"})
    with pytest.raises(ScenarioError, match="no remittance table"):
        run_scenario(wanted, dataset=without)


def test_welfare_decomposition_carries_the_remittance_change() -> None:
    """With the labour channel on, the exact decomposition still adds up, and its remittance term is the
    change of remittances received minus sent over baseline income."""
    flows, tariffs, rem = economy(3)
    res = blocsim.solve_multisector(flows, theta=4.0, tariffs=tariffs, remittances=rem, migration_elasticity=0.3,
                                    entry_costs=entry(rem, 0.093, 0.0))
    c = res.countries.set_index("country")
    terms = c.filter(regex=r"^welfare_from_.*_pct$")
    np.testing.assert_allclose(terms.sum(axis=1), c["welfare_pct"], rtol=0, atol=1e-10)
    expected = 100 * c["remittances_net_change"] / c["income_baseline"]
    np.testing.assert_allclose(c["welfare_from_remittances_pct"], expected, rtol=1e-12, atol=1e-14)
    assert (c["welfare_from_remittances_pct"].abs() > 1e-9).any()


def test_a_band_draw_at_the_point_values_solves_the_point_runs_labour_model() -> None:
    """The bands solve the same model as the point run: with the labour channel on, a draw at the
    point values reproduces the point run bit for bit (it used to drop the remittance corridors)."""
    from blocsim.pipeline.bands import bands_plan, solve_values
    from blocsim.pipeline.scenario_run import run_scenario

    dataset = blocsim.load_dataset("eaeu")  # v2: the library dataset, with its corridor table
    run = run_scenario("armenia-kyrgyzstan-join-2015", dataset=dataset)
    assert run.countries["remittances_received_before"].sum() > 0
    plan = bands_plan(run, dataset=dataset)
    assert plan.problem.labour is not None
    point = solve_values(plan, plan.point[None])[0]
    reference = run.countries.set_index("country").loc[list(plan.problem.countries), list(plan.variables)]
    assert np.array_equal(point, reference.to_numpy().T, equal_nan=True)


def test_bands_draw_the_migration_elasticity_when_the_channel_is_on() -> None:
    from blocsim.pipeline.bands import bands_plan, draw_values, solve_values
    from blocsim.pipeline.scenario_run import run_scenario

    dataset = blocsim.load_dataset("eaeu")  # v2: the library dataset, with its corridor table
    run = run_scenario("armenia-kyrgyzstan-join-2015", dataset=dataset)
    plan = bands_plan(run, dataset=dataset, seed=3)
    names = [i.name for i in plan.inputs]
    k = names.index("migration_elasticity")
    assert plan.inputs[k].kind == "labour" and plan.point[k] == run.scenario.model.migration_elasticity
    values = draw_values(plan, 0, 40)[:, k]
    assert values.min() > 0.0 and 0.1 < np.median(values) < 0.6 and values.std() > 0.05
    only_eta = np.repeat(plan.point[None], 2, axis=0)
    only_eta[:, k] = [0.0, 1.0]  # no migration response vs a unit elasticity, all else at the point
    low, high = solve_values(plan, only_eta)
    kgz = list(plan.problem.countries).index("KGZ")
    assert not np.array_equal(low[:, kgz], high[:, kgz])
    fixed = bands_plan(run, dataset=dataset, vary=("theta", "ave", "parameters"))
    assert fixed.inputs[k].parameter.dist is None  # held at the point when labour is not varied
