"""Collection efficiency of a duty pool's members (blocsim.equilibrium.duty_pool).

A member ``j`` pays ``e_j`` times its statutory duties into the pool and keeps the rest in its
income (importers' rents), so ``e_j`` acts only through the pool: ``e = 1`` is the model without
it bit for bit, a non-member's ``e`` changes nothing, a member that collects less leaves less for
the others, national income still adds up, the batch solves each draw like a single run, the
exact welfare decomposition still closes, and the scenario pipeline and its bands pass it through.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.equilibrium import DutyPool, solve_multisector_batch
from blocsim.equilibrium.multisector_core import calibrate, log_consumer_prices, solve_changes
from blocsim.equilibrium.multisector_inputs import multisector_problem
from blocsim.equilibrium.welfare_decomposition import exact_decomposition
from blocsim.errors import DataValidationError, ScenarioError
from blocsim.pipeline.bands import bands_plan, solve_values
from blocsim.scenario import load_scenario

CODES = ["ARM", "BLR", "CHN", "KAZ", "RUS"]
SECTORS = ["agri", "manu"]
THETA = {"agri": 9.11, "manu": 4.0}
POOL = DutyPool({"ARM": 0.1, "BLR": 0.3, "KAZ": 0.6})
POOL_AFTER = DutyPool({"ARM": 0.05, "BLR": 0.05, "KAZ": 0.3, "RUS": 0.6})
LIBRARY = Path(blocsim.scenario.__file__).parent / "library"
TRANSIT = "russia-blocks-belarus-kazakhstan-transit"


def tidy(arr: np.ndarray, name: str) -> pd.DataFrame:
    s, i, j = np.meshgrid(range(len(SECTORS)), range(len(CODES)), range(len(CODES)), indexing="ij")
    return pd.DataFrame({"exporter": np.array(CODES)[i.ravel()], "importer": np.array(CODES)[j.ravel()],
                         "sector": np.array(SECTORS)[s.ravel()], name: arr.ravel()})


def economy(seed: int = 4) -> dict:
    """Tidy inputs of an unbalanced 5-country, 2-sector economy with tariffs that change."""
    rng = np.random.default_rng(seed)
    n, s = len(CODES), len(SECTORS)
    flows = rng.uniform(1, 10, size=(s, n, n))
    flows[:, range(n), range(n)] *= 20
    t0 = rng.uniform(0.02, 0.2, size=(s, n, n))
    t1 = t0 * rng.uniform(0.3, 1.7, size=t0.shape)
    t0[:, range(n), range(n)] = t1[:, range(n), range(n)] = 0
    return {"baseline_df": tidy(flows, "trade"), "theta": THETA,
            "tariffs": tidy(t0, "tariff_before").merge(tidy(t1, "tariff_after"))}


def solved(**kwargs):  # type: ignore[no-untyped-def]
    problem = multisector_problem(**economy(), **kwargs)
    cal = calibrate(problem, closure="ratio", numeraire=None)
    return problem, cal, solve_changes(cal)


def test_full_collection_is_todays_model_bit_for_bit() -> None:
    base = blocsim.solve_multisector(**economy(), duty_pool=POOL, duty_pool_after=POOL_AFTER).countries
    ones = blocsim.solve_multisector(**economy(), duty_pool=POOL, duty_pool_after=POOL_AFTER,
                                     collection_efficiency={"KAZ": 1.0, "RUS": 1}).countries
    pd.testing.assert_frame_equal(base, ones, check_exact=True)
    # the explicit array path (every member multiplied by 1.0) too
    problem = multisector_problem(**economy(), duty_pool=POOL, duty_pool_after=POOL_AFTER)
    point = solve_multisector_batch(problem)
    explicit = solve_multisector_batch(problem, collection_efficiency=np.ones(len(CODES)))
    for name in ("income", "revenue_received", "wage_hat", "real_income_hat", "revenue_received_baseline"):
        assert np.array_equal(getattr(point, name), getattr(explicit, name)), name
    c = base.set_index("country")
    members = list(POOL_AFTER.members)
    np.testing.assert_array_equal(c.loc[members, "pool_contribution_after"], c.loc[members,
                                                                                   "tariff_revenue_collected_after"])
    assert c.loc["CHN", "pool_contribution_after"] == 0.0 and c.loc["RUS", "pool_contribution_before"] == 0.0


def test_a_member_that_collects_less_leaves_less_for_the_others_and_income_adds_up() -> None:
    _, cal1, eq1 = solved(duty_pool=POOL, duty_pool_after=POOL)
    problem, cal, eq = solved(duty_pool=POOL, duty_pool_after=POOL, collection_efficiency={"KAZ": 0.7})
    kaz, member = CODES.index("KAZ"), problem.pool_after[0]
    share = problem.pool_after[1]
    # baseline: statutory duties unchanged, KAZ pays in 70 %, the others lose their share of the rest
    np.testing.assert_array_equal(cal.revenue_collected, cal1.revenue_collected)
    lost = 0.3 * cal.revenue_collected[kaz]
    assert cal.pool_contribution[kaz] == pytest.approx(0.7 * cal.revenue_collected[kaz], rel=1e-14)
    for k in np.flatnonzero(member):
        expected = cal1.revenue_received[k] - share[k] * lost + (lost if k == kaz else 0.0)
        assert cal.revenue_received[k] == pytest.approx(expected, rel=1e-12)
    assert cal.revenue_received[CODES.index("CHN")] == cal1.revenue_received[CODES.index("CHN")]
    # counterfactual: the pool balances (receipts = contributions), others' receipts are share x the smaller pool
    receipts = eq.revenue_received - (eq.revenue_collected - eq.pool_contribution)
    assert receipts[member].sum() == pytest.approx(eq.pool_contribution.sum(), rel=1e-12)
    np.testing.assert_allclose(receipts[member], share[member] * eq.pool_contribution.sum(), rtol=1e-12)
    receipts1 = eq1.revenue_received
    others = member & (np.arange(len(CODES)) != kaz)
    assert np.all(receipts[others] < receipts1[others])
    # national income identity: value added + duty income + deficit not financed by the pool
    identity = eq.wage_hat * cal.value_added + eq.revenue_received + eq.deficit_other
    np.testing.assert_allclose(eq.income, identity, rtol=1e-12)
    # total duty income of the members is their statutory duties: the uncollected share is not lost
    assert eq.revenue_received[member].sum() == pytest.approx(eq.revenue_collected[member].sum(), rel=1e-12)
    # the efficiency reaches welfare (through the change of the pool's transfers)
    welfare = eq.income / cal.income * np.exp(-log_consumer_prices(cal, eq.log_price_hat))
    welfare1 = eq1.income / cal1.income * np.exp(-log_consumer_prices(cal1, eq1.log_price_hat))
    assert welfare[kaz] != welfare1[kaz]


@pytest.mark.parametrize("pool", [None, POOL])
def test_outside_a_pool_efficiency_changes_nothing(pool: DutyPool | None) -> None:
    without = blocsim.solve_multisector(**economy(), duty_pool=pool).countries
    with_e = blocsim.solve_multisector(**economy(), duty_pool=pool,
                                       collection_efficiency=pd.DataFrame({"country": ["RUS", "CHN"],
                                                                           "efficiency": [0.5, 0.8]})).countries
    pd.testing.assert_frame_equal(without, with_e, check_exact=True)


def test_batch_solves_each_draw_like_a_single_run() -> None:
    problem = multisector_problem(**economy(), duty_pool=POOL, duty_pool_after=POOL_AFTER)
    draws = np.ones((3, len(CODES)))
    draws[0, CODES.index("KAZ")] = 0.6
    draws[1, [CODES.index("RUS"), CODES.index("ARM")]] = [0.8, 0.5]
    batch = solve_multisector_batch(problem, collection_efficiency=draws)
    for d in range(3):
        efficiency = {c: float(e) for c, e in zip(CODES, draws[d])}
        c = blocsim.solve_multisector(**economy(), duty_pool=POOL, duty_pool_after=POOL_AFTER,
                                      collection_efficiency=efficiency).countries
        np.testing.assert_allclose(batch.pool_contribution[d], c["pool_contribution_after"], rtol=1e-10)
        np.testing.assert_allclose(batch.pool_contribution_baseline[d], c["pool_contribution_before"], rtol=1e-12)
        np.testing.assert_allclose(batch.revenue_received[d], c["tariff_revenue_received_after"], rtol=1e-10)
        np.testing.assert_allclose((batch.real_income_hat[d] - 1) * 100, c["welfare_pct"], rtol=0, atol=1e-9)
    assert not np.allclose(batch.real_income_hat[0], batch.real_income_hat[2])


def test_decomposition_adds_up_and_the_pool_term_is_received_minus_paid_in() -> None:
    _, cal, eq = solved(duty_pool=POOL, duty_pool_after=POOL_AFTER,
                        collection_efficiency={"KAZ": 0.7, "ARM": 0.5, "RUS": 0.9})
    result = exact_decomposition(cal, eq, eq.flows(cal))
    welfare = (eq.income / cal.income * np.exp(-log_consumer_prices(cal, eq.log_price_hat)) - 1.0) * 100.0
    assert np.abs(sum(result.terms.values()) - welfare).max() <= 1e-10
    member0, share0 = cal.problem.pool_before
    member1, share1 = cal.problem.pool_after
    net0 = np.where(member0, share0 * cal.pool_contribution.sum(), 0.0) - cal.pool_contribution
    net1 = np.where(member1, share1 * eq.pool_contribution.sum(), 0.0) - eq.pool_contribution
    np.testing.assert_allclose(result.terms["pool_transfer"], 100 * (net1 - net0) / cal.income, rtol=0, atol=1e-12)
    assert np.abs(result.terms["terms_of_trade"] - result.terms_of_trade_direct).max() <= 1e-9


@pytest.mark.parametrize("value,message", [({"KAZ": 0.0}, "efficiency of KAZ is 0.0"), ({"KAZ": 1.2}, r"\(0, 1\]"),
                                           ({"XXX": 0.9}, "'XXX' is not a country"), ([0.9], "expected a mapping")])
def test_bad_efficiency_is_named(value: object, message: str) -> None:
    with pytest.raises(DataValidationError, match=message):
        blocsim.solve_multisector(**economy(), duty_pool=POOL, collection_efficiency=value)  # type: ignore[arg-type]
    problem = multisector_problem(**economy(), duty_pool=POOL)
    with pytest.raises(DataValidationError, match="collection_efficiency.*allowed: fractions in \\(0, 1\\]"):
        solve_multisector_batch(problem, collection_efficiency=np.full((2, len(CODES)), 1.5))


def _transit_with(tmp_path: Path, lines: str) -> Path:
    """The transit scenario with ``lines`` added to its ``[model]`` table."""
    path = tmp_path / f"{TRANSIT}.toml"
    path.write_text((LIBRARY / f"{TRANSIT}.toml").read_text().replace("[model]\n", "[model]\n" + lines, 1))
    return path


def test_scenario_bands_draw_the_efficiency_and_reproduce_the_point_run(tmp_path: Path) -> None:
    path = _transit_with(tmp_path, "collection_efficiency = { KAZ = 0.9 }\n")
    run = blocsim.run_scenario(load_scenario(path), tmp_path / "run")
    plain = blocsim.run_scenario(TRANSIT).countries.set_index("country")
    c = run.countries.set_index("country")
    assert c.loc["KAZ", "pool_contribution_after"] == pytest.approx(0.9 * c.loc["KAZ", "tariff_revenue_collected_after"])
    assert not np.allclose(c["welfare_pct"], plain["welfare_pct"], rtol=0, atol=1e-9)  # the pipeline passes it
    rows = {a["name"]: a for a in json.loads((tmp_path / "run" / "run.json").read_text())["assumptions"]}
    assert rows["collection_efficiency[KAZ]"]["value"] == 0.9 and rows["collection_efficiency[KAZ]"]["flag"] == "assumed"
    assert rows["collection_efficiency[RUS]"]["value"] == 1.0 and "default 1.0" in rows["collection_efficiency[RUS]"]["source"]
    plan = bands_plan(run)
    pool = {i.name: i for i in plan.inputs if i.kind == "pool"}
    assert set(pool) == {"collection_efficiency[BLR]", "collection_efficiency[KAZ]", "collection_efficiency[RUS]"}
    assert pool["collection_efficiency[KAZ]"].parameter.point == 0.9
    point = solve_values(plan, plan.point[None])[0]
    reference = c.loc[list(plan.problem.countries), list(plan.variables)]
    assert np.array_equal(point, reference.to_numpy().T, equal_nan=True)
    samples = np.array([p.parameter.draw(np.random.default_rng(k)) for k in range(200) for p in pool.values()])
    assert samples.min() > 0 and samples.max() <= 1.0
    lower = plan.point.copy()
    lower[[k for k, i in enumerate(plan.inputs) if i.name == "collection_efficiency[RUS]"]] = 0.8
    assert not np.array_equal(solve_values(plan, lower[None])[0], point)  # a drawn value reaches the solver


def test_scenario_efficiency_out_of_range_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="collection_efficiency"):
        load_scenario(_transit_with(tmp_path, "collection_efficiency = { KAZ = 1.5 }\n"))
