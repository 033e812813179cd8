"""Macro shocks as scenario measures: world_price (blocsim.policy.macro, shock.compile) and
capital_flow (blocsim.equilibrium.capital_flows).

A world price change of a sector, at short-run fixed quantities, moves ``change`` times each
country's net exports of the sector from net exporters to net importers (a closed form on two
countries); a zero change moves nothing; when the price of oil falls the oil exporters lose real
income and the importers gain, on a synthetic economy and on the 2014 data. A capital-flow measure puts the country's counterfactual trade deficit at the
stated share of its value added, world deficits still sum to zero and income still adds up.
Bad measures are errors naming the file line, field and value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocsim.equilibrium import solve_multisector
from blocsim.equilibrium.multisector_core import calibrate, international_trade, solve_changes
from blocsim.equilibrium.multisector_inputs import multisector_problem
from blocsim.errors import DataValidationError, MeasureError, ScenarioError
from blocsim.pipeline.labour_inputs import entry_costs
from blocsim.policy.macro import CapitalFlowShock, WorkPermitCost, WorldPriceShock
from blocsim.policy.model import PolicyState
from blocsim.scenario import load_scenario
from blocsim.shock.compile import compile_shock

CODES = ["OIL", "IMP", "MIX", "ROW"]
SECTORS = ["oil", "manu", "serv"]
THETA = {"oil": 13.53, "manu": 4.0, "serv": 4.0}
MFN = {(c, s): 0.05 for c in CODES for s in SECTORS}


def tidy(arr: np.ndarray, name: str) -> pd.DataFrame:
    s, i, j = np.meshgrid(range(len(SECTORS)), range(len(CODES)), range(len(CODES)), indexing="ij")
    return pd.DataFrame({"exporter": np.array(CODES)[i.ravel()], "importer": np.array(CODES)[j.ravel()],
                         "sector": np.array(SECTORS)[s.ravel()], name: arr.ravel()})


def economy(seed: int = 3) -> dict:
    """An unbalanced 4-country, 3-sector economy with tariffs; OIL exports most of the oil."""
    rng = np.random.default_rng(seed)
    n, s = len(CODES), len(SECTORS)
    flows = rng.uniform(1, 10, size=(s, n, n))
    flows[:, range(n), range(n)] *= 20
    flows[0, 0, :] *= 30  # OIL sells oil to everyone
    flows[0, 1:, :] *= 0.05  # the others produce little of it
    tariffs = rng.uniform(0.0, 0.1, size=(s, n, n))
    tariffs[:, range(n), range(n)] = 0
    return {"baseline_df": tidy(flows, "trade"), "theta": THETA,
            "tariffs": tidy(tariffs, "tariff_before").merge(tidy(tariffs, "tariff_after"))}


def world_prices_of(before: tuple = (), after: tuple = ()) -> tuple[dict, pd.DataFrame]:
    """``(world_prices, productivity)`` that compile_shock makes of world price measures."""
    state = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, measures=before, label="before")
    then = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, measures=after, label="after")
    shock = compile_shock(state, then, None, 2014, theta=THETA, countries=CODES, sectors=SECTORS)
    return dict(shock.world_prices), shock.productivity


def test_world_price_is_a_price_change_after_relative_to_before_not_a_productivity_change() -> None:
    prices, productivity = world_prices_of(after=(WorldPriceShock(("oil",), -0.4714),))
    assert prices == {"oil": pytest.approx(-0.4714, abs=1e-15)} and productivity.empty
    both = (WorldPriceShock(("oil",), 0.25),)
    assert world_prices_of(before=both, after=(*both, WorldPriceShock(("oil", "manu"), -0.2)))[0] == pytest.approx(
        {"oil": -0.2, "manu": -0.2}, abs=1e-15)
    assert world_prices_of(before=both, after=both)[0] == {}
    assert world_prices_of(after=(WorldPriceShock(("oil",), 0.0),))[0] == {}


def two_country_economy() -> tuple[dict, dict]:
    """A (oil exporter) and B, sectors oil and manu, no IO or tariffs, every importer buying from
    the same sources in the same proportions: flows ``X_sij = share_si alpha_s I_j``."""
    share = {"oil": np.array([0.8, 0.2]), "manu": np.array([0.4, 0.6])}
    alpha = {"oil": 0.1, "manu": 0.9}
    income = np.array([100.0, 150.0])
    rows = [(("A", "B")[i], ("A", "B")[j], s, share[s][i] * alpha[s] * income[j])
            for s in share for i in range(2) for j in range(2)]
    baseline = pd.DataFrame(rows, columns=["exporter", "importer", "sector", "trade"])
    return {"baseline_df": baseline, "theta": {"oil": 13.53, "manu": 4.0}}, {
        "share_A": 0.8, "alpha_oil": 0.1, "income": income}


@pytest.mark.parametrize("change", [-0.4714, 0.3])
def test_world_price_closed_form_on_two_countries(change: float) -> None:
    """Hand-checked closed form. Demand for each country's goods does not depend on who spends, so
    wages and prices stay put and A's income is ``I_A + W_A`` with ``W_A = c alpha (s_A I'_B - s_B
    I'_A)``, ``c`` times its oil exports less its oil imports at the counterfactual spending:
    ``I'_A = (I_A + c alpha s_A (I_A + I_B)) / (1 + c alpha)``."""
    inputs, known = two_country_economy()
    result = solve_multisector(**inputs, world_prices={"oil": change}, closure="ratio")
    table = result.countries.set_index("country")
    income, alpha, share = known["income"], known["alpha_oil"], known["share_A"]
    income_a = (income[0] + change * alpha * share * income.sum()) / (1.0 + change * alpha)
    income_b = income.sum() - income_a
    assert table.loc["A", "income_counterfactual"] == pytest.approx(income_a, rel=1e-10)
    assert table.loc["A", "welfare_pct"] == pytest.approx(100.0 * (income_a / income[0] - 1.0), abs=1e-9)
    assert table.loc["B", "welfare_pct"] == pytest.approx(100.0 * (income_b / income[1] - 1.0), abs=1e-9)
    oil = result.flows[(result.flows["sector"] == "oil") & (result.flows["exporter"] != result.flows["importer"])]
    net = oil.set_index("exporter")["trade_counterfactual"]
    assert income_a - income[0] == pytest.approx(change * (net["A"] - net["B"]), rel=1e-10)  # c x net oil exports
    np.testing.assert_allclose(table["price_index_pct"], 0.0, rtol=0, atol=1e-10)
    assert np.sign(table.loc["A", "welfare_pct"]) == np.sign(change) == -np.sign(table.loc["B", "welfare_pct"])


def test_zero_world_price_and_baseline_deficit_move_nothing() -> None:
    """change = 0 and a capital flow to the baseline deficit ratio: nothing moves (1e-12)."""
    inputs = economy()
    base = solve_multisector(**inputs)
    problem = multisector_problem(**inputs)
    cal = calibrate(problem, closure="ratio", numeraire=None)
    oil = problem.countries.index("OIL")
    ratio = float(cal.deficit[oil] / cal.value_added[oil])
    result = solve_multisector(**inputs, deficit_targets={"OIL": ratio}, world_prices={"oil": 0.0})
    for column in ("welfare_pct", "real_wage_pct", "price_index_pct", "exports_pct", "imports_pct"):
        np.testing.assert_allclose(result.countries[column], 0.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(base.countries[column], 0.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("closure", ["ratio", "level"])
def test_oil_price_fall_moves_income_from_the_exporter_and_keeps_the_accounts(closure: str) -> None:
    """A fall: the oil exporter's real income falls, the importers' rises; a rise: the opposite.
    Income identity ``I' = wVA + duties received + D~' + W`` with ``W = c x net oil exports`` from
    the counterfactual flows, W sums to zero, and the exact decomposition adds up (its terms of
    trade, which hold W, equal their direct formula)."""
    from blocsim.equilibrium.welfare_decomposition import exact_decomposition

    inputs = economy()
    down = solve_multisector(**inputs, closure=closure, world_prices={"oil": -0.4714}).countries.set_index("country")
    up = solve_multisector(**inputs, closure=closure, world_prices={"oil": 0.3}).countries.set_index("country")
    assert down.loc["OIL", "welfare_pct"] < 0 < up.loc["OIL", "welfare_pct"]
    assert (down.loc[["IMP", "MIX", "ROW"], "welfare_pct"] > 0).all()
    assert (up.loc[["IMP", "MIX", "ROW"], "welfare_pct"] < 0).all()
    problem = multisector_problem(**inputs, world_prices={"oil": -0.4714})
    cal = calibrate(problem, closure=closure, numeraire=None)
    eq = solve_changes(cal)
    flows = eq.flows(cal)
    exports, imports = international_trade(flows[problem.sectors.index("oil")])
    np.testing.assert_allclose(eq.world_price_income, -0.4714 * (exports - imports), rtol=1e-12, atol=1e-9)
    assert abs(eq.world_price_income.sum()) < 1e-9 * eq.income.sum()
    np.testing.assert_allclose(eq.income, eq.wage_hat * cal.value_added + eq.revenue_received + eq.deficit_other
                               + eq.world_price_income, rtol=1e-12)
    parts = exact_decomposition(cal, eq, flows)
    np.testing.assert_allclose(parts.terms["terms_of_trade"], parts.terms_of_trade_direct, rtol=0, atol=1e-11)
    table = down[[c for c in down if c.startswith("welfare_from_")]]
    np.testing.assert_allclose(table.sum(axis=1), down["welfare_pct"], rtol=0, atol=1e-10)


def test_oil_price_collapse_hits_exporters_and_helps_importers_on_the_data() -> None:
    """oil-price-collapse-2014-15 on the 2014 ICIO data: the net oil exporters lose real income, as
    in Baffes et al. (2015); large net importers gain; the income moved sums to zero in USD."""
    import blocsim

    table = blocsim.run_scenario("oil-price-collapse-2014-15").countries.set_index("country")
    for exporter in ("RUS", "KAZ", "NOR", "SAU"):
        assert table.loc[exporter, "welfare_pct"] < 0, exporter
        assert table.loc[exporter, "welfare_from_terms_of_trade_pct"] < 0, exporter
    for importer in ("DEU", "JPN", "KOR", "CHN"):
        assert table.loc[importer, "welfare_pct"] > 0, importer
    assert table.loc["SAU", "welfare_pct"] < table.loc["RUS", "welfare_pct"]  # oil is a larger share of its income


@pytest.mark.parametrize("closure", ["ratio", "level"])
@pytest.mark.parametrize("prices", [None, {"oil": -0.3}])
def test_capital_flow_sets_the_deficit_and_keeps_the_accounts(closure: str, prices: dict | None) -> None:
    """The targets hold on the trade deficits of the counterfactual flows, also with a world price
    measure (whose income W is part of each trade deficit)."""
    inputs = economy()
    if prices is not None:
        inputs["world_prices"] = prices
    problem = multisector_problem(**inputs, deficit_targets={"MIX": -0.08, "IMP": 0.03})
    cal = calibrate(problem, closure=closure, numeraire=None)
    eq = solve_changes(cal)
    flows = eq.flows(cal)
    exports, imports = international_trade(flows.sum(axis=0))
    deficit = imports - exports
    va = eq.wage_hat * cal.value_added
    k = {c: problem.countries.index(c) for c in CODES}
    assert deficit[k["MIX"]] / va[k["MIX"]] == pytest.approx(-0.08, abs=1e-10)
    assert deficit[k["IMP"]] / va[k["IMP"]] == pytest.approx(0.03, abs=1e-10)
    assert abs(deficit.sum()) < 1e-9 * va.sum()
    # income identity: income = value added + duties collected + trade deficit
    np.testing.assert_allclose(eq.income, va + eq.revenue_collected + deficit, rtol=1e-10)
    # the solver's table reports the same deficit; the surplus country loses real income
    result = solve_multisector(**inputs, closure=closure, deficit_targets={"MIX": -0.08, "IMP": 0.03})
    table = result.countries.set_index("country")
    np.testing.assert_allclose(table.loc[list(problem.countries), "deficit_counterfactual"], deficit, rtol=1e-9)
    before = calibrate(problem, closure=closure, numeraire=None)
    for country, target in (("MIX", -0.08), ("IMP", 0.03)):  # less spending than before -> lower real income
        baseline_ratio = before.deficit[k[country]] / before.value_added[k[country]]
        assert np.sign(table.loc[country, "welfare_pct"]) == np.sign(target - baseline_ratio)
    total = table[[c for c in table if c.startswith("welfare_from_")]].sum(axis=1)
    np.testing.assert_allclose(total, table["welfare_pct"], rtol=0, atol=1e-10)


@pytest.mark.parametrize(("targets", "words"), [
    ({"XXX": 0.1}, "not a country"), ({"OIL": 0.9}, "allowed"), ({c: 0.0 for c in CODES}, "every country"),
    ([("MIX", 0.1)], r"expected a mapping ISO3 -> fraction of value added, got list"),
])
def test_bad_deficit_targets_are_errors(targets: dict, words: str) -> None:
    with pytest.raises(DataValidationError, match=words):
        solve_multisector(**economy(), deficit_targets=targets)


@pytest.mark.parametrize(("prices", "words"), [({"B06": -0.4}, "not a sector"), ({"oil": -1.0}, "> -1"),
                                               ({"oil": float("nan")}, "finite"),
                                               ([("oil", -0.4)], r"expected a mapping sector -> fractional price")])
def test_bad_world_prices_are_errors(prices: dict, words: str) -> None:
    with pytest.raises(DataValidationError, match=words):
        solve_multisector(**economy(), world_prices=prices)


def test_policy_measures_check_their_fields() -> None:
    with pytest.raises(MeasureError, match="'change'"):
        WorldPriceShock(("oil",), -1.0)
    with pytest.raises(MeasureError, match="'sectors'"):
        WorldPriceShock((), -0.2)
    with pytest.raises(MeasureError, match="'deficit'"):
        CapitalFlowShock("RUS", float("nan"))


SCENARIO = """[scenario]
name = "macro-test"
title = "macro test"
event = "test"
sources = ["test"]

[data]
dataset = "eaeu"
year = 2014

[before]
date = 2014-12-31

[[after.measures]]
kind = "{kind}"
{fields}
"""


@pytest.mark.parametrize(("kind", "fields", "line", "field"), [
    ("capital_flow", 'country = "RUS"\ndeficit = 0.9', 17, "deficit"),
    ("world_price", 'sectors = []\nchange = -0.4', 16, "sectors"),
    ("world_price", 'sectors = ["B06"]\nchange = -1.5', 17, "change"),
    ("world_price", 'sectors = ["B06"]\nchange = -0.4\nchannel = "Oil price"', 18, "channel"),
])
def test_bad_macro_measures_name_line_and_field(tmp_path: Path, kind: str, fields: str, line: int,
                                                field: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO.format(kind=kind, fields=fields), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"{path.name}:{line}" in message or f"line {line}" in message, message
    assert field in message


def test_capital_flow_in_before_state_is_an_error() -> None:
    before = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, measures=(CapitalFlowShock("OIL", -0.1),), label="before")
    after = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, measures=(CapitalFlowShock("OIL", -0.1),), label="after")
    with pytest.raises(ScenarioError, match="before"):
        compile_shock(before, after, None, 2014, theta=THETA, countries=CODES, sectors=SECTORS)


def test_unknown_world_price_sector_is_an_error() -> None:
    before = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, label="before")
    after = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, measures=(WorldPriceShock(("B06",), -0.4),), label="after")
    with pytest.raises(ScenarioError, match="B06"):
        compile_shock(before, after, None, 2014, theta=THETA, countries=CODES, sectors=SECTORS)


def test_work_permit_measures_set_entry_costs_and_free_movement_wins() -> None:
    """An entry_cost measure prices its corridors, others keep the default, the last measure counts,
    and charging a fellow member's workers under free movement is an error."""
    from blocsim.policy.build import bloc_from_spec, load_policy_file, rates_from_tariffs, state_at
    import blocsim

    pairs = [("UZB", "RUS"), ("TJK", "RUS"), ("KGZ", "RUS"), ("UZB", "KAZ")]
    permits = (WorkPermitCost(("RUS",), ("UZB", "TJK"), 0.3), WorkPermitCost(("RUS",), ("TJK",), 0.2))
    assert entry_costs(PolicyState(date=dt.date(2018, 1, 1), measures=permits), pairs, 0.093) == [
        0.3, 0.2, 0.093, 0.093]
    spec = load_policy_file("eaeu").bloc
    rates = rates_from_tariffs(blocsim.load_dataset("eaeu").tariffs, 2017, cet_members=["RUS", "KAZ", "BLR"])
    union = state_at(dt.date(2018, 1, 1), blocs=[bloc_from_spec(spec, rates)], preferences=[], rates=rates,
                     measures=[WorkPermitCost(("RUS",), ("UZB",), 0.3)], label="after")
    assert entry_costs(union, pairs, 0.093) == [0.3, 0.093, 0.0, 0.093]
    charged = state_at(dt.date(2018, 1, 1), blocs=[bloc_from_spec(spec, rates)], preferences=[], rates=rates,
                       measures=[WorkPermitCost(("RUS",), ("KGZ",), 0.3)], label="after")
    with pytest.raises(ScenarioError, match="free movement"):
        entry_costs(charged, pairs, 0.093)
    with pytest.raises(MeasureError, match="'origins'"):
        WorkPermitCost(("RUS",), ("RUS",), 0.1)
