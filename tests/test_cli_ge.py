"""``blocsim ge CONFIG.toml --out DIR``: happy paths against published numbers, and bad configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.cli import _common
from blocsim.cli.main import app
from reference import yotov2016_estimation as ref

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "trade_without_borders.toml"
GEGRAVITY_EXAMPLE = REPO / "examples" / "gegravity_can_jpn_pta.toml"

BASE = """
[scenario]
name = "test"

[data]
sample = "yotov2016_trade_without_borders_2006"
year_column = "year"
output = "Y"
expenditure = "E"

[estimation]
cost_variables = ["ln_DIST", "CNTG", "INTL_BRDR"]

[ge]
sigma = 7
reference_importer = "DEU"

[[counterfactual.set]]
column = "INTL_BRDR"
value = 0
between = ["CAN", "USA"]
"""


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep error messages on one line so that they can be matched."""
    monkeypatch.setattr(_common.err_console, "width", 1000)
    monkeypatch.setattr(_common.console, "width", 200)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["ge", *args])
    return result.exit_code, " ".join(result.output.split())  # stdout and stderr


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def yotov_summary(shared_data: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(shared_data / "yotov2016" / "reference_results" / name)
    return frame.assign(country=frame["country"].replace("ZZZ", "DEU")).set_index("country")


def test_example_config_writes_the_run_directory(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "runs" / "twb"
    code, text = run(str(EXAMPLE), "--out", str(out))
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == [".blocsim-run", "countries.csv", "flows.csv", "run.json"]
    assert "converged=True" in text and "real GDP" in text

    meta = json.loads((out / "run.json").read_text())
    assert meta["package"] == "blocsim" and meta["version"]
    assert meta["scenario"]["name"] == "trade-without-borders"
    assert meta["dataset"]["name"] == "yotov2016_trade_without_borders_2006"
    assert meta["dataset"]["year"] == 2006 and meta["dataset"]["countries"] == 69
    assert len(meta["dataset"]["hash"]) == 64 and len(meta["config"]["sha256"]) == 64
    assert meta["diagnostics"]["converged"] is True and meta["diagnostics"]["max_residual"] < 1e-8
    assert meta["model"]["parameters"] == {
        "sigma": 7.0, "reference_importer": "DEU", "baseline_method": "estimated", "closure": "ratio", "compat": None,
    }
    assert meta["policy_changes"] == ["set INTL_BRDR = 0 for every pair (4692 pairs selected, 4692 changed)"]
    for name, (coefficient, std_error) in ref.TRADE_WITHOUT_BORDERS.items():
        assert meta["estimation"]["coefficients"][name] == pytest.approx(coefficient, abs=ref.LOG_ATOL)
        assert meta["estimation"]["std_errors"][name] == pytest.approx(std_error, abs=ref.LOG_ATOL)

    countries = pd.read_csv(out / "countries.csv").set_index("country")
    flows = pd.read_csv(out / "flows.csv")
    assert len(countries) == 69 and len(flows) == 69 * 69
    # conditional GE exports agree with the authors' Stata output for every country
    published = yotov_summary(shared_data, "ch2_app1_trade_without_border_summary.csv")
    np.testing.assert_allclose(countries["exports_cond_pct"], published["change_Xi_CDL"].reindex(countries.index), atol=1e-3)
    # the cost change is exp(-INTL_BRDR coefficient) on international pairs and 1 at home
    international = flows["exporter"] != flows["importer"]
    beta = meta["estimation"]["coefficients"]["INTL_BRDR"]
    np.testing.assert_allclose(flows.loc[international, "cost_change"], np.exp(-beta), rtol=1e-12)
    np.testing.assert_allclose(flows.loc[~international, "cost_change"], 1.0)


def test_between_selector_reproduces_can_usa_border_part_i_with_compat(tmp_path: Path, shared_data: Path) -> None:
    config = write(tmp_path, BASE.replace('reference_importer = "DEU"', 'reference_importer = "DEU"\ncompat = "yotov"'))
    out = tmp_path / "out"
    code, text = run(str(config), "--out", str(out), "--rows", "0")
    assert code == 0, text
    meta = json.loads((out / "run.json").read_text())
    assert meta["policy_changes"] == ["set INTL_BRDR = 0 for every pair between CAN, USA (2 pairs selected, 2 changed)"]
    assert meta["focus_countries"] == ["CAN", "USA"]
    countries = pd.read_csv(out / "countries.csv").set_index("country")
    published = yotov_summary(shared_data, "ch2_ex1_removing_specific_border_partA_summary.csv")
    for ours, theirs in (("exports_cond_pct", "change_Xi_CDL"), ("exports_pct", "change_Xi_FULL"),
                         ("real_gdp_pct", "change_rGDP_FULL")):
        np.testing.assert_allclose(countries[ours], published[theirs].reindex(countries.index), atol=1e-3, err_msg=ours)
    assert countries.loc["CAN", "real_gdp_pct"] == pytest.approx(48.901, abs=1e-3)


def test_coefficients_from_the_config_skip_estimation(tmp_path: Path) -> None:
    text = BASE.replace(
        '[estimation]\ncost_variables = ["ln_DIST", "CNTG", "INTL_BRDR"]',
        '[estimation]\ncost_variables = ["ln_DIST", "CNTG", "INTL_BRDR"]\n'
        "coefficients = { ln_DIST = -0.7912879, CNTG = 0.6736456, INTL_BRDR = -2.47445 }",
    ).replace('between = ["CAN", "USA"]', 'exporters = ["CAN"]\nimporters = ["USA", "MEX"]')
    out = tmp_path / "out"
    code, output = run(str(write(tmp_path, text)), "--out", str(out))
    assert code == 0, output
    meta = json.loads((out / "run.json").read_text())
    assert meta["estimation"] == {
        "source": "config (estimation.coefficients)",
        "coefficients": {"ln_DIST": -0.7912879, "CNTG": 0.6736456, "INTL_BRDR": -2.47445},
    }
    assert meta["policy_changes"][0].endswith("(2 pairs selected, 2 changed)")
    flows = pd.read_csv(out / "flows.csv")
    changed = flows.loc[~np.isclose(flows["cost_change"], 1.0), ["exporter", "importer"]]
    assert sorted(map(tuple, changed.to_numpy())) == [("CAN", "MEX"), ("CAN", "USA")]


def test_gegravity_example_reads_a_data_path(tmp_path: Path, shared_data: Path) -> None:
    example = GEGRAVITY_EXAMPLE
    relative = '"sample_data_set.csv"'  # beside the example; the data file is not bundled
    assert relative in example.read_text()
    target = shared_data / "gegravity_sample" / "sample_data_set.csv"
    example = tmp_path / example.name  # a copy pointing at the downloaded file
    example.write_text(GEGRAVITY_EXAMPLE.read_text().replace(relative, json.dumps(str(target))))
    out = tmp_path / "pta"
    code, text = run(str(example), "--out", str(out))
    assert code == 0, text
    meta = json.loads((out / "run.json").read_text())
    for name, (coefficient, _) in ref.GEGRAVITY_SAMPLE.items():
        assert meta["estimation"]["coefficients"][name] == pytest.approx(coefficient, abs=ref.LOG_ATOL)
    flows = pd.read_csv(out / "flows.csv").set_index(["exporter", "importer"])
    # gegravity's example: CAN->JPN trade-cost term rises by exp(pta) - 1 = 60.181650 %
    assert (flows.loc[("CAN", "JPN"), "cost_change"] - 1) * 100 == pytest.approx(60.181650, abs=1e-5)
    assert flows.loc[("JPN", "CAN"), "cost_change"] == pytest.approx(flows.loc[("CAN", "JPN"), "cost_change"])
    assert meta["dataset"]["path"].endswith("sample_data_set.csv")


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda t: t.replace("sigma = 7", "sigma = 7\nsigmaa = 5"),
         ["unknown field 'ge.sigmaa'", "(value 5)", "allowed fields here: ['sigma', 'reference_importer'"]),
        (lambda t: t.replace("sigma = 7", "sigma = 0.5"),
         ["field 'ge.sigma': got 0.5;", "greater than 1"]),
        (lambda t: t.replace("sigma = 7", 'sigma = "seven"'),
         ["field 'ge.sigma': got 'seven';", "valid number"]),
        (lambda t: t.replace('between = ["CAN", "USA"]', 'between = ["CAN", "XYZ"]'),
         ["field 'counterfactual.set[0].between': country 'XYZ' is not in the data", "allowed: ['ARG', 'AUS'", "69 countries"]),
        (lambda t: t.replace('reference_importer = "DEU"', 'reference_importer = "ZZZ"'),
         ["field 'ge.reference_importer': country 'ZZZ' is not in the data"]),
        (lambda t: t.replace('column = "INTL_BRDR"', 'column = "LANG"'),
         ["field 'counterfactual.set[0].column': 'LANG' is not a cost variable", "add it to estimation.cost_variables"]),
        (lambda t: t.replace('between = ["CAN", "USA"]', 'between = ["CAN", "USA"]\npairs = "all"'),
         ["field 'counterfactual.set[0]':", "exactly one of", "['pairs', 'between']"]),
        (lambda t: t.replace("yotov2016_trade_without_borders_2006", "eaeu"),
         ["field 'data.sample': got 'eaeu'; allowed: ['yotov2016_trade_without_borders_2006']"]),
        (lambda t: t.replace('sample = "yotov2016_trade_without_borders_2006"', 'path = "missing.csv"'),
         ["field 'data.path': file 'missing.csv' not found"]),
        (lambda t: t.replace('fixed_effects = ', 'x = ').replace("[estimation]", '[estimation]\nfixed_effects = "exporter+importer"'),
         ["field 'estimation.fixed_effects': got 'exporter+importer';", "'exporter-importer'"]),
        (lambda t: t.replace("[ge]", "[ge\n"), ["not valid TOML"]),
        (lambda t: t.replace("[[counterfactual.set]]", "[[counterfactual.sets]]"),
         ["unknown field 'counterfactual.sets'"]),
        (lambda t: t.replace("sigma = 7\n", ""), ["field 'ge.sigma' is required"]),
        (lambda t: t.replace('between = ["CAN", "USA"]', "between = []"),
         ["field 'counterfactual.set[0].between': got [];", "at least 1 item"]),
        (lambda t: t.replace('between = ["CAN", "USA"]', 'between = ["CAN"]'),
         ["field 'counterfactual.set[0]': set INTL_BRDR = 0 for every pair between CAN selects no pair of the data",
          "zero shock"]),
        (lambda t: t.replace('between = ["CAN", "USA"]', 'importers = []'),
         ["field 'counterfactual.set[0].importers': got [];"]),
        (lambda t: t.replace('year_column = "year"', 'year_column = "year"\nyear = "2006"'),
         ["field 'data.year': got '2006';", "valid integer"]),
        (lambda t: t.replace("sigma = 7", 'sigma = "7"'), ["field 'ge.sigma': got '7';", "valid number"]),
        (lambda t: t.replace("value = 0", "value = false"), ["field 'counterfactual.set[0].value': got False;"]),
        (lambda t: t + "deep = " + "[" * 5000 + "]" * 5000 + "\n", ["nested 5,000 levels deep; allowed: at most 16"]),
        (lambda t: t + "[" + ".".join(["a"] * 500) + "]\n", ["nested more than 16 levels deep"]),
    ],
    ids=["unknown_field", "bad_sigma", "text_sigma", "unknown_country", "unknown_reference", "not_a_cost_variable",
         "two_selectors", "unknown_sample", "missing_file", "bad_fixed_effects", "toml_syntax", "unknown_table",
         "missing_sigma", "empty_between", "between_one_country", "empty_importers", "text_year", "text_number_sigma",
         "bool_value", "deep_arrays", "deep_dotted_table"],
)
def test_bad_configs_fail_naming_file_field_value_and_write_nothing(tmp_path: Path, edit, fragments: list[str]) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path, edit(BASE), "bad.toml")
    out = tmp_path / "never"
    code, text = run(str(config), "--out", str(out))
    assert code == 1, text
    assert f"error: {config}" in text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.toml"]  # no staging directory left behind


def test_bad_data_file_names_the_file_column_and_rows(tmp_path: Path) -> None:
    from blocsim.data.samples import load_sample

    frame = load_sample("yotov2016_trade_without_borders_2006")
    frame.loc[10, "trade"] = -5.0
    frame.to_csv(tmp_path / "flows.csv", index=False)
    config = write(tmp_path, BASE.replace('sample = "yotov2016_trade_without_borders_2006"', 'path = "flows.csv"'))
    out = tmp_path / "never"
    code, text = run(str(config), "--out", str(out))
    assert code == 1
    assert f"{tmp_path / 'flows.csv'}: column 'trade'" in text and "row 10 (" in text and "trade=-5.0" in text
    assert not out.exists()


def test_missing_config_file(tmp_path: Path) -> None:
    code, text = run(str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o"))
    assert code == 1 and "nope.toml: config file not found" in text


def test_involving_selector_sets_pta_to_zero_for_every_gbr_pair(tmp_path: Path, shared_data: Path) -> None:
    data = shared_data / "gegravity_sample" / "sample_data_set.csv"
    config = write(tmp_path, f"""
[data]
path = "{data}"
year_column = "year"

[estimation]
cost_variables = ["lndist", "contiguity", "common_language", "pta", "international"]

[ge]
sigma = 5
reference_importer = "DEU"
baseline_method = "observed"
closure = "level"

[[counterfactual.set]]
column = "pta"
value = 0
involving = ["GBR"]
""")
    out = tmp_path / "brexit"
    code, text = run(str(config), "--out", str(out))
    assert code == 0, text
    source = pd.read_csv(data)
    gbr = ((source["exporter"] == "GBR") | (source["importer"] == "GBR")) & (source["exporter"] != source["importer"])
    expected_changed = int((gbr & (source["pta"] == 1)).sum())
    meta = json.loads((out / "run.json").read_text())
    assert meta["policy_changes"] == [
        f"set pta = 0 for every pair involving GBR (58 pairs selected, {expected_changed} changed)"
    ]
    assert meta["model"]["parameters"]["baseline_method"] == "observed"
    beta = meta["estimation"]["coefficients"]["pta"]
    flows = pd.read_csv(out / "flows.csv").merge(source, on=["exporter", "importer"])
    hit = (flows["pta"] == 1) & ((flows["exporter"] == "GBR") | (flows["importer"] == "GBR"))
    np.testing.assert_allclose(flows.loc[hit, "cost_change"], np.exp(-beta), rtol=1e-12)
    np.testing.assert_allclose(flows.loc[~hit, "cost_change"], 1.0)
    countries = pd.read_csv(out / "countries.csv").set_index("country")
    assert countries.loc["GBR", "real_gdp_pct"] < 0  # losing its agreements makes GBR poorer


def test_pair_selectors() -> None:
    from blocsim.scenario.ge_config import CostChange

    exporter = np.array(["A", "A", "A", "B", "B", "B", "C", "C", "C"])
    importer = np.array(["A", "B", "C"] * 3)

    def pairs(**selector: object) -> list[str]:
        mask = CostChange(column="x", value=0, **selector).mask(exporter, importer)  # type: ignore[arg-type]
        return [e + i for e, i in zip(exporter[mask], importer[mask], strict=True)]

    assert pairs(pairs="all") == ["AB", "AC", "BA", "BC", "CA", "CB"]
    assert pairs(pairs="all", include_domestic=True) == ["AA", "AB", "AC", "BA", "BB", "BC", "CA", "CB", "CC"]
    assert pairs(involving=["A"]) == ["AB", "AC", "BA", "CA"]
    assert pairs(between=["A", "B"]) == ["AB", "BA"]
    assert pairs(exporters=["C"]) == ["CA", "CB"]
    assert pairs(importers=["C"], include_domestic=True) == ["AC", "BC", "CC"]
    assert pairs(exporters=["A", "B"], importers=["B", "C"]) == ["AB", "AC", "BC"]
