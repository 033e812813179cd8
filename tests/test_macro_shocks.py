"""Macro shocks as scenario measures: world_price (blocsim.policy.macro, shock.compile) and
capital_flow (blocsim.equilibrium.capital_flows).

A world price change of a sector is a productivity change of every producer, so that at
unchanged input costs every buyer's price index of the sector moves by exactly ``change``; a zero
change moves nothing; when the price of oil falls, the oil exporter's terms of trade fall and the
importers' rise. A capital-flow measure puts the country's counterfactual trade deficit at the
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
from blocsim.equilibrium.multisector_core import _evaluate, calibrate, international_trade, solve_changes
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


def world_price_table(change: float) -> pd.DataFrame:
    """The productivity table compile_shock makes of a world price change of ``oil``."""
    state = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, label="before")
    after = PolicyState(date=dt.date(2015, 1, 1), mfn=MFN, measures=(WorldPriceShock(("oil",), change),), label="after")
    return compile_shock(state, after, None, 2014, theta=THETA, countries=CODES, sectors=SECTORS).productivity


def test_world_price_is_productivity_of_every_producer() -> None:
    table = world_price_table(-0.4714)
    assert sorted(table["country"]) == sorted(CODES) and set(table["sector"]) == {"oil"}
    np.testing.assert_allclose(table["factor"], 1.0 / (1.0 - 0.4714), rtol=0, atol=1e-15)


@pytest.mark.parametrize("change", [-0.4714, 0.25])
def test_world_price_moves_sector_prices_by_change_at_unchanged_input_costs(change: float) -> None:
    """The closed-form piece: wages and input prices at baseline -> every oil price index moves by ``change``."""
    problem = multisector_problem(**economy(), productivity=world_price_table(change))
    cal = calibrate(problem, closure="ratio", numeraire=None).as_batch()
    n, s = len(CODES), len(SECTORS)
    ev = _evaluate(cal, np.zeros((1, n)), None, np.ones((1, s, n)))
    oil = problem.sectors.index("oil")
    np.testing.assert_allclose(np.exp(ev["lp_new"][0, oil]), 1.0 + change, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.delete(ev["lp_new"][0], oil, axis=0), 0.0, rtol=0, atol=1e-12)


def test_zero_world_price_and_baseline_deficit_move_nothing() -> None:
    """change = 0 and a capital flow to the baseline deficit ratio: nothing moves (1e-12)."""
    inputs = economy()
    base = solve_multisector(**inputs)
    problem = multisector_problem(**inputs)
    cal = calibrate(problem, closure="ratio", numeraire=None)
    oil = problem.countries.index("OIL")
    ratio = float(cal.deficit[oil] / cal.value_added[oil])
    table = world_price_table(0.0)
    assert table.empty
    result = solve_multisector(**inputs, deficit_targets={"OIL": ratio})
    for column in ("welfare_pct", "real_wage_pct", "price_index_pct", "exports_pct", "imports_pct"):
        np.testing.assert_allclose(result.countries[column], 0.0, rtol=0, atol=1e-12)
        np.testing.assert_allclose(base.countries[column], 0.0, rtol=0, atol=1e-12)


def test_oil_exporter_terms_of_trade_fall_when_the_price_falls() -> None:
    inputs = economy()
    down = solve_multisector(**inputs, productivity=world_price_table(-0.4714)).countries.set_index("country")
    up = solve_multisector(**inputs, productivity=world_price_table(0.3)).countries.set_index("country")
    assert down.loc["OIL", "welfare_tot_pct"] < 0 < up.loc["OIL", "welfare_tot_pct"]
    assert (down.loc[["IMP", "MIX", "ROW"], "welfare_tot_pct"] > 0).all()
    assert (down["price_index_pct"] < 0).all()  # cheaper oil lowers every consumer price index


@pytest.mark.parametrize("closure", ["ratio", "level"])
def test_capital_flow_sets_the_deficit_and_keeps_the_accounts(closure: str) -> None:
    inputs = economy()
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
    np.testing.assert_allclose(total, table["welfare_pct"], rtol=0, atol=1e-9)


@pytest.mark.parametrize(("targets", "words"), [
    ({"XXX": 0.1}, "not a country"), ({"OIL": 0.9}, "allowed"), ({c: 0.0 for c in CODES}, "every country"),
])
def test_bad_deficit_targets_are_errors(targets: dict, words: str) -> None:
    with pytest.raises(DataValidationError, match=words):
        solve_multisector(**economy(), deficit_targets=targets)


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
