"""Scenario bands through the pipeline: drawn inputs -> rebuilt shock -> batched GE; sensitivity table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import blocsim.scenario
from blocsim.data import load_dataset
from blocsim.errors import ScenarioError
from blocsim.pipeline import run_scenario
from blocsim.pipeline.bands import bands_plan, draw_values, scenario_bands, solve_values, with_values
from blocsim.pipeline.sensitivity import HEADLINE_VARIABLES, sensitivity_table
from blocsim.scenario.build import build_states
from blocsim.scenario.loader import load_scenario
from blocsim.shock.compile import compile_shock
from blocsim.shock.terms import cost_factor_cube, reorder_terms

TRANSIT = "russia-blocks-belarus-kazakhstan-transit"
LIBRARY = Path(blocsim.scenario.__file__).parent / "library"


def _with_uncertainty(tmp_path: Path, name: str, table: str) -> blocsim.scenario.Scenario:
    path = tmp_path / f"{name}.toml"
    path.write_text((LIBRARY / f"{name}.toml").read_text() + "\n" + table)
    return load_scenario(path)


@pytest.fixture(scope="module")
def transit():
    return run_scenario(TRANSIT)


@pytest.mark.parametrize("name", [TRANSIT, "kazakhstan-adopts-cet-2010", "russia-food-ban-2014-belarus-reexports"])
def test_a_draw_at_the_point_values_is_the_point_run_bit_for_bit(name: str) -> None:
    run = run_scenario(name)
    plan = bands_plan(run)
    assert any(i.kind in ("transit", "border", "reexport") for i in plan.inputs)  # an AVE-based measure is drawn
    point = solve_values(plan, plan.point[None])[0]
    reference = run.countries.set_index("country").loc[list(plan.problem.countries), list(plan.variables)]
    assert np.array_equal(point, reference.to_numpy().T, equal_nan=True)


def test_each_draw_rebuilds_the_shock_from_its_theta_and_ave(transit) -> None:
    plan = bands_plan(transit, seed=4)
    values = draw_values(plan, 7, 8)[0]
    names = [i.name for i in plan.inputs]
    detour = values[names.index("added_cost[transit BLR->KAZ via RUS]")]
    assert detour != pytest.approx(0.30)
    dataset = load_dataset(transit.scenario.data.dataset)
    scenario = with_values(transit.scenario, ["after.measures[0].added_cost"], [detour])
    n = len(plan.problem.sectors)  # the first inputs are the sectors' theta draws
    theta = dict(zip(plan.problem.sectors, values[:n]))
    shock = compile_shock(*build_states(scenario, dataset)[:2], dataset, transit.scenario.data.year, theta=theta)
    terms = reorder_terms(shock.cost_terms, shock.countries, shock.sectors, plan.problem.countries,
                          plan.problem.sectors)
    compiled = cost_factor_cube(terms, plan.problem.flows.shape, values[None, :n])
    drawn = cost_factor_cube(plan.terms, plan.problem.flows.shape, values[None, :n],
                             {names[n]: np.array([detour])})
    assert np.array_equal(compiled, drawn) and not np.array_equal(drawn, cost_factor_cube(
        plan.terms, plan.problem.flows.shape, values[None, :n]))


def test_bands_widen_when_ave_uncertainty_is_added(transit) -> None:
    only_theta = scenario_bands(transit, draws=120, seed=3, vary=("theta",))
    with_ave = scenario_bands(transit, draws=120, seed=3)
    thetas = [c for c in only_theta.parameters.columns if c.startswith("theta[")]
    assert list(only_theta.parameters.columns) == ["draw", *thetas]
    pd.testing.assert_frame_equal(only_theta.parameters, with_ave.parameters[["draw", *thetas]])  # same theta draws
    assert with_ave.parameters["added_cost[transit BLR->KAZ via RUS]"].std() > 0
    for mc in (only_theta, with_ave):
        mc.bands["width"] = mc.bands["p95"] - mc.bands["p05"]
    narrow = only_theta.bands.set_index(["country", "variable"])["width"]
    wide = with_ave.bands.set_index(["country", "variable"])["width"]
    for key in [("BLR", "welfare_pct"), ("KAZ", "tariff_revenue_change"), ("BLR", "exports_pct")]:
        assert wide[key] > 1.05 * narrow[key], key
    pd.testing.assert_frame_equal(only_theta.point, with_ave.point)


def test_serial_and_dask_give_the_same_bits(transit) -> None:
    serial = scenario_bands(transit, draws=24, seed=9, chunk_size=5)
    dask = scenario_bands(transit, draws=24, seed=9, chunk_size=5, scheduler="local")
    one_chunk = scenario_bands(transit, draws=24, seed=9, chunk_size=24)
    assert np.array_equal(serial.samples, dask.samples) and np.array_equal(serial.samples, one_chunk.samples)
    pd.testing.assert_frame_equal(serial.bands, dask.bands)


def test_tornado_ranks_an_input_with_zero_spread_last(tmp_path: Path) -> None:
    scenario = _with_uncertainty(tmp_path, TRANSIT, "[uncertainty]\ntheta_spread = 0.2\n"
                                 "[uncertainty.ave_spread]\ntransit = 0.0\n")
    run = run_scenario(scenario)
    plan = bands_plan(run)
    table = sensitivity_table(plan, run.countries, ["BLR", "KAZ"])
    assert set(table["variable"]) == set(HEADLINE_VARIABLES) and set(table["country"]) == {"BLR", "KAZ"}
    detour = table[table["input"] == "added_cost[transit BLR->KAZ via RUS]"]
    assert (detour["rank"] == len(plan.inputs)).all() and (detour["swing"] == 0).all()
    assert detour["distribution"].iloc[0] == "fixed at 0.3 (spread 0)"
    moving = table[table["input"] != "added_cost[transit BLR->KAZ via RUS]"]
    assert (moving.groupby(["country", "variable"])["swing"].max() > 0).all()
    default_run = run_scenario(TRANSIT)
    default = sensitivity_table(bands_plan(default_run), default_run.countries, ["BLR"])
    detour = default[default["input"] == "added_cost[transit BLR->KAZ via RUS]"]
    assert (detour["swing"] > 0).all() and (detour["rank"] < len(plan.inputs)).all()
    assert (detour["input_low"] < 0.30).all() and (detour["input_high"] > 0.30).all()


def test_tornado_solves_only_the_one_at_a_time_scenarios(transit, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The point column is the point run's (not solved again): 2P scenarios solved, two per input, each
    one input off its point value; the point column is what a solve at the point gives, bit for bit."""
    from blocsim.pipeline import sensitivity as sensitivity_module

    plan = bands_plan(transit)
    at_point = solve_values(plan, plan.point[None], HEADLINE_VARIABLES)[0]  # (V, N)
    solved: list[np.ndarray] = []

    def counted(plan_, values, variables=None):  # type: ignore[no-untyped-def]
        solved.append(values.copy())
        return solve_values(plan_, values, variables)

    monkeypatch.setattr(sensitivity_module, "solve_values", counted)
    table = sensitivity_table(plan, transit.countries, ["BLR", "KAZ"])
    rows = np.concatenate(solved)
    assert len(rows) == 2 * len(plan.inputs)
    assert ((rows != plan.point).sum(axis=1) <= 1).all()  # one input at a time
    countries = list(plan.problem.countries)
    for (country, variable), group in table.groupby(["country", "variable"]):
        expected = at_point[HEADLINE_VARIABLES.index(variable), countries.index(country)]
        assert (group["point"] == expected).all(), (country, variable)


def test_scenario_parameters_are_drawn_from_their_path(tmp_path: Path) -> None:
    scenario = _with_uncertainty(tmp_path, TRANSIT, "[[uncertainty.parameters]]\npath = "
                                 "\"after.measures[0].covered_share\"\ndist = \"uniform\"\nlow = 0.5\nhigh = 1.0\n")
    run = run_scenario(scenario)
    mc = scenario_bands(run, draws=6, seed=1, chunk_size=3)
    shares = mc.parameters["after.measures[0].covered_share"]
    assert shares.between(0.5, 1.0).all() and shares.std() > 0
    point = mc.point.set_index("country")
    own = run.countries.set_index("country").loc[point.index, point.columns]
    assert np.array_equal(point.to_numpy(), own.to_numpy(), equal_nan=True)
    # a lower covered share leaves more Belarus -> Kazakhstan trade: Belarus loses less
    blr = mc.samples[:, list(mc.variables).index("welfare_pct"), list(mc.countries).index("BLR")]
    assert np.corrcoef(shares, blr)[0, 1] < 0


@pytest.mark.parametrize("table, message", [
    ("[[uncertainty.parameters]]\npath = \"after.measures[3].added_cost\"\ndist = \"uniform\"\nlow = 0.1\n"
     "high = 0.2\n", r"after\.measures\.3 is not in the scenario"),
    ("[[uncertainty.parameters]]\npath = \"after.measures[0].origin\"\ndist = \"uniform\"\nlow = 0.1\nhigh = 0.2\n",
     "allowed: a path to a number"),
    ("[uncertainty.ave.\"border_cost[EAEU]\"]\ndist = \"normal\"\nmean = 0.02\nsd = 0.01\n",
     r"\['border_cost\[EAEU\]'\] are not AVE inputs of this scenario"),
])
def test_bad_uncertainty_tables_are_named(tmp_path: Path, table: str, message: str) -> None:
    run = run_scenario(_with_uncertainty(tmp_path, TRANSIT, table))
    with pytest.raises(ScenarioError, match=message):
        bands_plan(run)


def test_run_with_draws_writes_bands_sensitivity_and_what_was_varied(tmp_path: Path) -> None:
    run_scenario(TRANSIT, tmp_path / "run", draws=10, seed=2)
    bands = pd.read_csv(tmp_path / "run" / "bands.csv")
    assert list(bands.columns) == ["country", "variable", "point", "mean", "std", "p05", "p50", "p95"]
    sensitivity = pd.read_csv(tmp_path / "run" / "sensitivity.csv")
    assert set(sensitivity["country"]) == {"BLR", "KAZ", "RUS"}
    meta = json.loads((tmp_path / "run" / "run.json").read_text())["uncertainty"]
    sectors = json.loads((tmp_path / "run" / "run.json").read_text())["dataset"]["sectors"]
    n = len(sectors)
    assert [v["input"] for v in meta["varied"]] == [*(f"theta[{s}]" for s in sectors),
                                                     "added_cost[transit BLR->KAZ via RUS]",
                                                     "migration_elasticity",  # the labour channel is on (v2)
                                                     *(f"collection_efficiency[{c}]" for c in ("BLR", "KAZ", "RUS"))]
    assert meta["varied"][n]["distribution"] == "lognormal(median 0.3, sd of log 0.4)"
    assert {v["kind"] for v in meta["varied"][n + 2:]} == {"pool"}
    assert re.fullmatch(r"uniform\[0\.\d+, 0\.\d+\) \(collection at most the point value\)",
                        meta["varied"][-1]["distribution"]), meta["varied"][-1]  # below the calibrated factor
    assert not meta["not_in_model"]  # the migration elasticity and the pool's collection efficiency are drawn


def test_report_shows_the_tornado_only_when_the_run_has_sensitivity(tmp_path: Path) -> None:
    from blocsim.report import write_report

    run_scenario(TRANSIT, tmp_path / "mc", draws=6)
    run_scenario(TRANSIT, tmp_path / "plain")
    with_bands = write_report(tmp_path / "mc").read_text()
    assert 'id="sensitivity"' in with_bands and "added_cost[transit BLR-" in with_bands
    assert 'id="sensitivity"' not in write_report(tmp_path / "plain").read_text()
