"""One scenario language for every model: ``[model] name = "multisector" | "onesector" | "pe"``.

Each model is reached from TOML (``blocsim run``), its CLI (``blocsim ge`` alias, ``blocsim pe``),
Python (``blocsim.run_scenario``) and the dashboard (which refuses non-multisector models with a 422).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import blocsim
from blocsim.cli import _common
from blocsim.cli.main import app
from blocsim.errors import ScenarioError

REPO = Path(__file__).resolve().parents[1]
TWB = REPO / "examples" / "trade_without_borders.toml"
HS4 = REPO / "examples" / "russia_food_ban_hs4.toml"
BANNED = {"EUN", "USA", "CAN", "AUS", "NOR"}


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_common.err_console, "width", 1000)
    monkeypatch.setattr(_common.console, "width", 200)


def new_form(text: str) -> str:
    """An old ``blocsim ge`` file converted as the deprecation note says: [ge] -> [model] name = "onesector"."""
    return text.replace("[ge]\n", '[model]\nname = "onesector"\n')


def library_with_model(tmp_path: Path, model: str, name: str = "food-ban-variant") -> Path:
    """The food-ban library scenario with its own [model] table (the ICIO theta) replaced by ``model``."""
    text = (REPO / "src" / "blocsim" / "scenario" / "library" / "russia-food-ban-2014.toml").read_text()
    text, replaced = re.subn(r"^\[model\]\n(?:#.*\n|theta = .*\n)*", "", text, flags=re.M)
    assert replaced == 1, "the library scenario's [model] table changed: update this helper"
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace('name = "russia-food-ban-2014"', f'name = "{name}"') + "\n" + model)
    return path


def test_old_ge_file_and_its_scenario_form_give_identical_countries(tmp_path: Path) -> None:
    old_out, new_out = tmp_path / "old", tmp_path / "new"
    old = CliRunner().invoke(app, ["ge", str(TWB), "--out", str(old_out)])
    assert old.exit_code == 0, old.output
    assert "deprecated" in old.stderr and "blocsim run" in old.stderr and len(old.stderr.strip().splitlines()) == 1
    scenario_file = tmp_path / "twb.toml"
    scenario_file.write_text(new_form(TWB.read_text()))
    new = CliRunner().invoke(app, ["run", str(scenario_file), "--out", str(new_out)])
    assert new.exit_code == 0, new.output
    assert (old_out / "countries.csv").read_bytes() == (new_out / "countries.csv").read_bytes()
    assert (old_out / "flows.csv").read_bytes() == (new_out / "flows.csv").read_bytes()
    # the alias also takes the new form, without the note
    again = CliRunner().invoke(app, ["ge", str(scenario_file), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0 and "deprecated" not in again.stderr
    assert (tmp_path / "again" / "countries.csv").read_bytes() == (new_out / "countries.csv").read_bytes()
    meta = json.loads((new_out / "run.json").read_text())
    assert meta["model"]["parameters"]["sigma"] == 7.0 and meta["diagnostics"]["converged"] is True


def test_python_run_scenario_dispatches_onesector(tmp_path: Path) -> None:
    scenario_file = tmp_path / "twb.toml"
    scenario_file.write_text(new_form(TWB.read_text()))
    scenario = blocsim.load_scenario(scenario_file)
    assert scenario.model.name == "onesector"
    result = blocsim.run_scenario(scenario_file)
    assert result.before is None and result.shock is None
    assert set(result.countries["country"]) == set(result.flows["exporter"])
    with pytest.raises(ScenarioError, match="argument 'draws'"):
        blocsim.run_scenario(scenario_file, draws=10)


def test_pe_scenario_on_hs4_lines_equals_a_direct_solve_pe(tmp_path: Path) -> None:
    result = blocsim.run_scenario(HS4, tmp_path / "run")
    imports = pd.read_csv(REPO / "examples" / "russia_food_ban_hs4_imports.csv", dtype={"product": str})
    lines = result.flows.set_index(["exporter", "product"])
    banned = lines.index.get_level_values("exporter").isin(BANNED)
    assert (lines.loc[banned, "trade_after"] == 0).all()
    assert (lines.loc[~banned, "trade_after"] > lines.loc[~banned, "trade_before"]).all()
    # independent path: the same lines, the rates of the compiled shock, the ban as cost factor 0
    tariffs = result.shock.tariffs
    rates = tariffs[(tariffs["importer"] == "RUS") & (tariffs["sector"] == "agri_food")].set_index("exporter")
    table = imports.assign(tariff_before=imports["exporter"].map(rates["tariff_before"]),
                           tariff_after=imports["exporter"].map(rates["tariff_after"]))
    factor = pd.DataFrame({"exporter": sorted(BANNED), "importer": "RUS", "sector": "agri_food", "factor": 0.0})
    direct = blocsim.solve_pe(table.drop(columns="sector"), substitution=4.0, import_demand=-1.0,
                              cost_factor=factor.merge(imports[["product", "sector"]].drop_duplicates())
                              .drop(columns="sector"))
    key = ["importer", "exporter", "product"]
    ours = result.flows.set_index(key).sort_index()
    theirs = direct.by_partner.set_index(key).sort_index()
    np.testing.assert_allclose(ours["trade_after"], theirs["trade_after"], rtol=1e-12)
    np.testing.assert_allclose(ours["consumer_surplus_change"], theirs["consumer_surplus_change"], rtol=1e-12)
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert {"countries.csv", "flows.csv", "products.csv", "tariffs.csv", "run.json", "scenario.toml"} <= set(files)


def test_pe_meta_has_the_keys_of_a_multisector_run(tmp_path: Path) -> None:
    pe = blocsim.run_scenario(library_with_model(tmp_path, '[model]\nname = "pe"\n'))
    multi = blocsim.run_scenario("russia-food-ban-2014")
    assert set(multi.meta) <= set(pe.meta)
    common = {"converged", "iterations", "residual", "method", "max_residual"}
    assert common <= set(multi.meta["diagnostics"]) and common <= set(pe.meta["diagnostics"])
    assert pe.meta["model"]["name"] == "pe" and pe.meta["policy"]["after"]["date"] == "2014-08-07"
    assert json.dumps(pe.meta, default=str)  # writable as run.json


@pytest.mark.parametrize(("model", "expected"), [
    ('[model]\nsigma = 5\n', ["field 'model.sigma'", "'sigma' is a parameter of model 'onesector'"]),
    ('[model]\nname = "pe"\ntheta = "caliendo_parro_2015"\n', ["field 'model.theta'", "of model 'multisector'"]),
    ('[model]\nname = "pe"\nclosure = "level"\n', ["field 'model.closure'", "allowed here: domestic, export_supply"]),
    ('[model]\nname = "gegravity"\n', ["field 'model.name'", "unknown model", "allowed: multisector, onesector, pe"]),
    ('[model]\nname = "onesector"\nsigma = 5\n', ["field 'before'", "not used by model 'onesector'"]),
    ('[model]\nname = "pe"\n[outputs]\ntables = ["countries", "bloc_effects"]\n',
     ["field 'outputs.tables[1]'", "model 'pe' does not produce this table"]),
])
def test_parameters_a_model_does_not_use_are_errors(tmp_path: Path, model: str, expected: list[str]) -> None:
    with pytest.raises(ScenarioError) as error:
        blocsim.load_scenario(library_with_model(tmp_path, model))
    for text in expected:
        assert text in str(error.value)


def test_data_imports_only_with_pe_and_gravity_sections_only_with_onesector(tmp_path: Path) -> None:
    text = HS4.read_text()
    path = tmp_path / "x.toml"
    model = text[text.index("[model]"):text.index("[outputs]")]
    path.write_text(text.replace(model, '[model]\nname = "multisector"\n\n').replace('"products", ', ""))
    with pytest.raises(ScenarioError, match=r"field 'data.imports'.*used only by model 'pe'"):
        blocsim.load_scenario(path)
    path.write_text(text + '\n[estimation]\ncost_variables = ["x"]\n')
    with pytest.raises(ScenarioError, match=r"field 'estimation'.*not used by model 'pe'"):
        blocsim.load_scenario(path)


@pytest.mark.parametrize("measure", [
    'kind = "productivity"\ncountry = "RUS"\nchange = -0.02',
    'kind = "world_price"\nsectors = ["B05"]\nchange = -0.47',
    'kind = "capital_flow"\ncountry = "RUS"\ndeficit = -0.07',
    'kind = "entry_cost"\nhosts = ["RUS"]\norigins = ["TJK"]\ncost = 0.2',
])
def test_pe_refuses_measures_only_the_general_equilibrium_carries(tmp_path: Path, measure: str) -> None:
    """The PE model has no incomes, factor prices or migrants: such a measure would be ignored silently."""
    path = tmp_path / "x.toml"
    text = HS4.read_text()
    path.write_text(text.replace("[outputs]", f"[[after.measures]]\n{measure}\n\n[outputs]", 1))
    kind = measure.split('"')[1]
    with pytest.raises(ScenarioError, match=rf"field 'after.measures\[\d+\].kind'.*{kind} measure.*partial-equilibrium"):
        blocsim.load_scenario(path)


def test_pe_imports_file_needs_a_scenario_file() -> None:
    scenario = blocsim.scenario.parse_scenario(HS4.read_text(), source="<submitted scenario>")
    with pytest.raises(ScenarioError, match="field 'data.imports' needs the scenario as a file"):
        blocsim.run_scenario(scenario)


def test_cli_pe_runs_the_hs4_example_and_refuses_other_models(tmp_path: Path) -> None:
    out = tmp_path / "hs4"
    result = CliRunner().invoke(app, ["pe", str(HS4), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == "pe" and summary["countries"][0]["country"] == "RUS"
    assert (out / "products.csv").is_file()
    other = CliRunner().invoke(app, ["pe", str(library_with_model(tmp_path, "")), "--out", str(tmp_path / "x")])
    assert other.exit_code == 1 and "blocsim pe runs scenarios with [model] name = \"pe\"" in other.stderr
    assert "Traceback" not in other.output and not (tmp_path / "x").exists()


def test_dashboard_refuses_a_pe_scenario_naming_an_imports_file(tmp_path: Path) -> None:
    """PE runs from the dashboard on the dataset's flows (tests/test_web.py); a file path from the
    browser is never opened: a scenario naming one is refused with a 422 naming the field."""
    from blocsim.web.app import create_app

    text = library_with_model(tmp_path, '[model]\nname = "pe"\n').read_text()
    text = text.replace("[data]\n", '[data]\nimports = "lines.csv"\n', 1)
    with TestClient(create_app(tmp_path / "home", workers=1), base_url="http://localhost") as client:
        response = client.post("/api/runs", json={"toml": text})
    assert response.status_code == 422
    assert "data.imports" in response.text and "blocsim run FILE" in response.text
