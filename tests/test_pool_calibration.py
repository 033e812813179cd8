"""Fiscal facts of dataset v2 and the calibrated collection efficiency (DATA.md "Fiscal facts").

The duties table's calibration rows must reproduce the published collections on the calibration
year: Armenia's own figure (January-September 2016, annualised) and the union's 2016 total for
the members without one, with the model's statutory duties recomputed here from the flows and
tariffs. A scenario without its own table runs on these factors and records them, flagged, in
``run.json`` and the report; bad settings and bad reference rows are clear errors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import blocsim
from blocsim.data import load_dataset
from blocsim.data.eaeu_v2.fiscal import POOL_FACTS_FILE, calibrate, pool_facts
from blocsim.errors import DataValidationError, ScenarioError
from blocsim.pipeline.collection_efficiency import with_collection_efficiency
from blocsim.report.html import write_report
from blocsim.scenario import load_scenario

LIBRARY = Path(blocsim.scenario.__file__).parent / "library"
TRANSIT = "russia-blocks-belarus-kazakhstan-transit"
YEAR = 2016


@pytest.fixture(scope="module")
def v2():
    return load_dataset("eaeu")


@pytest.fixture(scope="module")
def calibration(v2) -> pd.DataFrame:
    duties = v2.extra["duties"]
    return duties[duties["kind"] == "calibration"].set_index("member")


def statutory_duties(v2, year: int) -> pd.Series:
    """Sum over exporters and sectors of tariff x flow for each importer (what the model levies)."""
    flows = v2.flows[(v2.flows["year"] == year) & (v2.flows["exporter"] != v2.flows["importer"])]
    tariffs = v2.extra["tariffs"]
    tariffs = tariffs[tariffs["year"] == year].set_index(["exporter", "importer", "sector"])["tariff"]
    rate = tariffs.reindex(pd.MultiIndex.from_frame(flows[["exporter", "importer", "sector"]])).to_numpy()
    duty = np.nan_to_num(rate) * flows["trade"].to_numpy()
    return pd.Series(duty, index=flows["importer"].to_numpy()).groupby(level=0).sum()


def test_calibrated_factors_reproduce_the_published_collections(v2, calibration: pd.DataFrame) -> None:
    facts = pd.read_csv(POOL_FACTS_FILE)
    modelled = statutory_duties(v2, YEAR)
    members = ["ARM", "BLR", "KAZ", "KGZ", "RUS"]
    assert sorted(calibration.index) == members and set(calibration["year"]) == {YEAR}
    np.testing.assert_allclose(calibration.loc[members, "modelled_usd_m"], modelled[members], rtol=1e-9)
    paid = calibration.loc[members, "collection_efficiency"] * modelled[members]
    # Armenia: its own figure, 23 bn drams in January-September at 480.5 drams per dollar, annualised
    arm = facts[(facts["member"] == "ARM") & (facts["year"] == YEAR)].iloc[0]
    assert paid["ARM"] == pytest.approx(arm["collected"] / arm["lcu_per_usd"] * 12 / arm["months"], rel=1e-9)
    assert calibration.loc["ARM", "flag"] == "calibrated_member"
    # the others: one factor, the union's published 2016 total is collected in full
    union = facts[(facts["member"] == "EAEU") & (facts["year"] == YEAR)]["distributed"].iloc[0]
    assert paid.sum() == pytest.approx(union, rel=1e-9)
    others = calibration.loc[["BLR", "KAZ", "KGZ", "RUS"]]
    assert set(others["flag"]) == {"calibrated_union"} and others["collection_efficiency"].nunique() == 1
    assert ((calibration["collection_efficiency"] > 0) & (calibration["collection_efficiency"] <= 1)).all()
    np.testing.assert_allclose(calibration["collected_usd_m"], paid[calibration.index], rtol=1e-9)


def test_published_and_derived_rows_carry_their_sources(v2) -> None:
    duties = v2.extra["duties"]
    published = duties[duties["kind"] == "published"]
    union = published[published["member"] == "EAEU"].set_index("year")["distributed_usd_m"]
    facts = pool_facts()  # the reference table of the recipe, read and converted
    reference = facts[facts["member"] == "EAEU"].set_index("year")["distributed_usd_m"]
    assert sorted(union.index) == [2015, 2016, 2017, 2018, 2022] and union.to_dict() == reference.to_dict()
    assert published["source"].str.contains("http").all()
    derived = duties[(duties["kind"] == "derived") & (duties["year"] == 2017)].set_index("member")
    assert derived["distributed_usd_m"].sum() == pytest.approx(union[2017], rel=1e-12)
    assert derived.loc["ARM", "pool_share_pct"] == 1.22  # the 2017 protocol's norm
    norms = duties[duties["kind"] == "norm"]
    assert norms.groupby("start")["pool_share_pct"].sum().round(9).eq(100.0).all()


def test_without_a_union_total_the_others_are_assumed_at_one() -> None:
    facts = pool_facts()
    modelled = pd.Series({"ARM": 100.0, "BLR": 600.0, "KAZ": 900.0, "KGZ": 180.0, "RUS": 10000.0})
    table = calibrate(facts[facts["member"] == "ARM"], modelled).set_index("member")
    assert table.loc["RUS", "flag"] == "assumed" and table.loc["RUS", "collection_efficiency"] == 1.0
    assert table.loc["ARM", "flag"] == "calibrated_member"


def test_a_factor_above_one_is_rejected() -> None:
    modelled = pd.Series({"ARM": 10.0, "BLR": 600.0, "KAZ": 900.0, "KGZ": 180.0, "RUS": 10000.0})
    with pytest.raises(DataValidationError, match=r"member 'ARM': efficiency .*allowed: fractions in \(0, 1\]"):
        calibrate(pool_facts(), modelled)


@pytest.mark.parametrize(("column", "value", "field"), [("member", "UZB", "member"), ("distributed", "-5", "distributed"),
                                                        ("unit", "USD", "unit"), ("months", "13", "months")])
def test_a_bad_reference_row_names_file_field_and_value(tmp_path: Path, column: str, value: str, field: str) -> None:
    table = pd.read_csv(POOL_FACTS_FILE, dtype=str, keep_default_na=False)
    table.loc[0, column] = value
    path = tmp_path / "pool_facts.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=f"file 'pool_facts.csv', field '{field}': value .*allowed"):
        pool_facts(path)


def _transit(tmp_path: Path, lines: str) -> Path:
    """The transit scenario with ``lines`` added to its ``[model]`` table."""
    path = tmp_path / f"{TRANSIT}.toml"
    path.write_text((LIBRARY / f"{TRANSIT}.toml").read_text().replace("[model]\n", "[model]\n" + lines, 1))
    return path


def test_unknown_setting_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="collection_efficiency"):
        load_scenario(_transit(tmp_path, 'collection_efficiency = "calibrate"\n'))


def test_calibrated_needs_a_dataset_with_a_calibration(tmp_path: Path) -> None:
    scenario = load_scenario(_transit(tmp_path, 'collection_efficiency = "calibrated"\n'))
    with pytest.raises(ScenarioError, match="dataset 'mydata' has no calibrated factors"):
        with_collection_efficiency(scenario, SimpleNamespace(name="mydata", extra={}))
    unset = load_scenario(LIBRARY / f"{TRANSIT}.toml")
    resolved, calibrated = with_collection_efficiency(unset, SimpleNamespace(name="mydata", extra={}))
    assert resolved.model.collection_efficiency == {} and calibrated == {}


def test_a_dataset_calibration_outside_zero_one_is_rejected(v2) -> None:
    duties = v2.extra["duties"].copy()
    duties.loc[(duties["kind"] == "calibration") & (duties["member"] == "KAZ"), "collection_efficiency"] = 1.2
    scenario = load_scenario(LIBRARY / f"{TRANSIT}.toml")
    with pytest.raises(DataValidationError, match="table 'duties', field 'collection_efficiency': value 1.2 for member 'KAZ'"):
        with_collection_efficiency(scenario, SimpleNamespace(name="mydata", extra={"duties": duties}))


def test_library_run_uses_and_records_the_calibrated_factors(tmp_path: Path, calibration: pd.DataFrame) -> None:
    run = blocsim.run_scenario(TRANSIT, tmp_path / "run")
    rows = {a["name"]: a for a in json.loads((tmp_path / "run" / "run.json").read_text())["assumptions"]}
    countries = run.countries.set_index("country")
    for code in ("BLR", "KAZ", "RUS"):  # the pool of 2014
        row, factor = rows[f"collection_efficiency[{code}]"], float(calibration.loc[code, "collection_efficiency"])
        assert row["value"] == factor and row["flag"] == "estimated" and row["source"].startswith("calibrated_union: ")
        assert countries.loc[code, "pool_contribution_before"] == pytest.approx(
            factor * countries.loc[code, "tariff_revenue_collected_before"], rel=1e-12)
    report = write_report(tmp_path / "run").read_text()
    assert "collection_efficiency[KAZ]" in report and "calibrated_union: dataset" in report
    explicit = blocsim.run_scenario(load_scenario(_transit(tmp_path, "collection_efficiency = {}\n")))
    assert not np.allclose(explicit.countries["welfare_pct"], run.countries["welfare_pct"], rtol=0, atol=1e-9)
    shutil.rmtree(tmp_path / "run")


def test_bands_of_a_result_with_the_setting_unresolved_use_the_calibration(calibration: pd.DataFrame) -> None:
    from dataclasses import replace

    from blocsim.pipeline.bands import bands_plan

    run = blocsim.run_scenario(TRANSIT)
    stored = replace(run, scenario=load_scenario(LIBRARY / f"{TRANSIT}.toml"))  # as re-read from scenario.toml
    assert stored.scenario.model.collection_efficiency is None
    pool = {i.name: i.parameter.point for i in bands_plan(stored).inputs if i.kind == "pool"}
    assert pool["collection_efficiency[KAZ]"] == float(calibration.loc["KAZ", "collection_efficiency"])
