"""Scenario files that ask for the balanced-trade baseline: ``[model] deficits = "purged"``.

The pipeline replaces the data year's flows by :func:`blocsim.purge_deficits` of them (the run's
theta, the shock's baseline tariffs) and solves the scenario from there: the same numbers as
purging and solving by hand; a scenario that changes nothing changes nothing on the purged
baseline; a bad value or another model is a ScenarioError naming the field; ``run.json`` records
the choice, validates, and the report's assumptions and the CLI footer show it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.data import read_run_record
from blocsim.equilibrium import DutyPool
from blocsim.pipeline.collection_efficiency import efficiency_table
from blocsim.errors import ScenarioError
from blocsim.pipeline.bands import bands_plan, solve_values
from blocsim.report import assumptions_footer, assumptions_summary
from blocsim.scenario import load_scenario

LIBRARY = Path(blocsim.scenario.__file__).parent / "library"
JOIN = "armenia-kyrgyzstan-join-2015"
THETA_LINE = 'theta = "caliendo_parro_2015_icio"\n'
COMPARED = ["welfare_pct", "real_wage_pct", "price_index_pct", "exports_pct", "imports_pct",
            "tariff_revenue_received_after", "welfare_from_pool_transfer_pct"]


def _join_with(tmp_path: Path, lines: str) -> Path:
    """The accession scenario with ``lines`` added to its ``[model]`` table."""
    text = (LIBRARY / f"{JOIN}.toml").read_text(encoding="utf-8")
    if THETA_LINE not in text:
        raise RuntimeError(f"{JOIN}.toml no longer names its theta table as expected")
    path = tmp_path / f"{JOIN}.toml"
    path.write_text(text.replace(THETA_LINE, THETA_LINE + lines), encoding="utf-8")
    return path


def _balance(flows: pd.DataFrame, column: str) -> pd.Series:
    """(exports - imports) / exports per country of a flows table (domestic flows cancel)."""
    exports = flows.groupby("exporter")[column].sum()
    imports = flows.groupby("importer")[column].sum()
    return (exports - imports) / exports


def test_purged_scenario_equals_purging_then_solving_by_hand(tmp_path: Path) -> None:
    run = blocsim.run_scenario(load_scenario(_join_with(tmp_path, 'deficits = "purged"\nlabour = false\n')))
    dataset = blocsim.load_dataset("eaeu")
    observed = dataset.flows.loc[dataset.flows["year"] == 2014, ["exporter", "importer", "sector", "trade"]]
    observed = observed.reset_index(drop=True)
    theta = run.meta["model"]["parameters"]["theta"]
    shock = run.shock
    purged = blocsim.purge_deficits(observed, theta=theta, tariffs=shock.tariffs)
    assert _balance(observed, "trade").abs().max() > 0.05  # the data are far from balanced
    hand = blocsim.solve_multisector(
        purged, theta=theta, tariffs=shock.tariffs, closure="ratio",
        shock=None if shock.cost_factor.empty else shock.cost_factor,
        duty_pool=DutyPool(shares=shock.duty_pool_before), duty_pool_after=DutyPool(shares=shock.duty_pool_after),
        productivity=None if shock.productivity.empty else shock.productivity,
        income_transfers=None if shock.income_transfers.empty else shock.income_transfers,
        collection_efficiency=efficiency_table(run.scenario),  # the dataset's calibrated factors
    )
    got = run.countries.set_index("country")[COMPARED]
    want = hand.countries.set_index("country").loc[got.index, COMPARED]
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-10, atol=1e-10)
    keys = ["exporter", "importer", "sector"]
    flows = run.model.flows.merge(hand.flows, on=keys, suffixes=("", "_hand"))
    assert len(flows) == len(hand.flows)
    for column in ("trade_baseline", "trade_counterfactual"):
        np.testing.assert_allclose(flows[column], flows[f"{column}_hand"], rtol=1e-10, atol=1e-10)
    assert _balance(run.model.flows, "trade_baseline").abs().max() < 1e-9  # solved from balanced trade
    # the observed default is a different baseline, so the choice reaches the solver
    default = blocsim.run_scenario(load_scenario(_join_with(tmp_path, "labour = false\n")))
    assert default.meta["model"]["deficits"] == "observed"
    assert not np.allclose(default.countries["welfare_pct"], run.countries["welfare_pct"], atol=1e-6)
    # the dataset hash stays that of the data read (the purge is recorded as the model's choice)
    assert run.meta["dataset"]["hash"] == default.meta["dataset"]["hash"]


def test_a_scenario_that_changes_nothing_changes_nothing_on_the_purged_baseline(tmp_path: Path) -> None:
    path = tmp_path / "nothing.toml"
    path.write_text("""
[scenario]
name = "nothing-changes"
title = "the pre-event state against itself, on balanced trade"
event = "none"
sources = ["test"]

[data]
dataset = "eaeu"
year = 2014

[model]
deficits = "purged"

[before]
date = 2014-12-31

[after]
date = 2014-12-31
""", encoding="utf-8")
    run = blocsim.run_scenario(load_scenario(path))
    c = run.countries
    for column in ("welfare_pct", "real_wage_pct", "price_index_pct", "exports_pct", "imports_pct"):
        assert np.abs(c[column].to_numpy()).max() < 1e-10, column
    flows = run.model.flows
    np.testing.assert_allclose(flows["trade_counterfactual"], flows["trade_baseline"], rtol=1e-10, atol=1e-9)
    assert _balance(flows, "trade_baseline").abs().max() < 1e-9


def test_a_bad_deficits_value_is_a_scenario_error_naming_field_and_choices(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"model\.deficits.*'observed' or 'purged'.*'balanced'") as error:
        load_scenario(_join_with(tmp_path, 'deficits = "balanced"\n'))
    assert f"{JOIN}.toml:" in str(error.value)  # file and line
    with pytest.raises(ScenarioError, match=r"model\.deficits.*'observed' or 'purged' \(got True\)"):
        load_scenario(_join_with(tmp_path, "deficits = true\n"))


def test_another_model_with_deficits_is_an_error_naming_the_model_that_has_it(tmp_path: Path) -> None:
    path = tmp_path / "pe.toml"
    path.write_text("""
[scenario]
name = "pe-deficits"
title = "PE with a purge"
event = "none"
sources = ["test"]

[data]
year = 2014

[model]
name = "pe"
deficits = "purged"

[before]
date = 2014-12-31

[after]
date = 2015-08-12
""", encoding="utf-8")
    owner = r"field 'model\.deficits'.*'deficits' is a parameter of model 'multisector'"
    with pytest.raises(ScenarioError, match=owner):
        load_scenario(path)


def test_run_json_records_the_choice_the_bands_keep_it_and_the_report_and_footer_show_it(tmp_path: Path) -> None:
    run = blocsim.run_scenario(load_scenario(_join_with(tmp_path, 'deficits = "purged"\n')), tmp_path / "run")
    record = read_run_record(tmp_path / "run")
    assert record.model.deficits == "purged"
    rows = {a.name: a for a in record.assumptions}
    assert rows["deficits"].value == "purged" and rows["deficits"].flag == "scenario"
    summary = assumptions_summary(run.meta)
    assert summary["deficits"] == "purged"
    assert any(line.startswith("deficits: purged (balanced-trade") for line in assumptions_footer(summary))
    # Monte Carlo draws start from the same purged baseline: the point draw is the point run
    plan = bands_plan(run)
    point = solve_values(plan, plan.point[None])[0]
    reference = run.countries.set_index("country").loc[list(plan.problem.countries), list(plan.variables)]
    assert np.array_equal(point, reference.to_numpy().T, equal_nan=True)
    from blocsim.report.html import render_report
    from blocsim.report import load_run

    html = render_report(load_run(tmp_path / "run"))
    assert "<th>Trade deficits</th><td>purged: solved from the balanced-trade baseline" in html
    # a record written before the choice existed (no model.deficits) still loads, and shows none
    raw = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    del raw["model"]["deficits"]
    raw["assumptions"] = [a for a in raw["assumptions"] if a["name"] != "deficits"]
    (tmp_path / "run" / "run.json").write_text(json.dumps(raw), encoding="utf-8")
    old = read_run_record(tmp_path / "run")
    assert old.model.deficits is None
    summary = assumptions_summary(raw)
    assert summary["deficits"] is None
    assert not any(line.startswith("deficits:") for line in assumptions_footer(summary))
