"""Golden runs: every built-in scenario reproduces its stored outputs to 1e-8.

``tests/golden/NAME/`` holds, for each scenario of ``blocsim scenarios list``, the headline
columns of ``countries.csv``, flow totals per country and sector from ``flows.csv`` and the run's
diagnostics (what and why: tests/golden/goldens.py). A wrong model, a changed tariff assignment or
a lost convergence flag changes these numbers far beyond ``|now - stored| <= 1e-8 + 1e-8 * |stored|``;
the failure prints a table of (file, country [sector], column, stored, now). After an intended change,
regenerate with ``PYTHONPATH=src python tests/golden/regenerate.py`` and review ``git diff tests/golden``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from golden.goldens import (ATOL, GOLDEN_DIR, HEADLINE_COLUMNS, RTOL, Difference, agree, compare, library_names,
                            read_golden, report, run_golden)

NAMES = library_names()


def test_there_is_one_golden_run_per_library_scenario() -> None:
    listed = CliRunner().invoke(app, ["scenarios", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    names = [entry["name"] for entry in json.loads(listed.stdout)]
    assert names == NAMES
    stored = sorted(p.name for p in GOLDEN_DIR.iterdir() if p.is_dir() and (p / "diagnostics.json").is_file())
    assert stored == sorted(names), "run tests/golden/regenerate.py: the library and the golden runs differ"


@pytest.mark.parametrize("name", NAMES)
def test_library_scenario_reproduces_its_golden_run(name: str, tmp_path: Path) -> None:
    stored = read_golden(GOLDEN_DIR / name)
    assert list(stored.countries.columns) == HEADLINE_COLUMNS and len(stored.countries) == 85  # dataset v2
    assert stored.diagnostics["converged"] is True and stored.diagnostics["max_residual"] < ATOL
    now = run_golden(name, tmp_path / name)
    differences = compare(stored, now)
    if differences:
        pytest.fail(report(name, differences), pytrace=False)


def test_each_golden_file_names_the_version_and_data_that_produced_it() -> None:
    for name in NAMES:
        stored = read_golden(GOLDEN_DIR / name)
        dataset = stored.provenance["dataset"]
        assert stored.provenance["scenario"] == name and dataset["name"] == "eaeu" and len(dataset["hash"]) == 64
        assert dataset["version"] == "eaeu-2022v2"
        for file in ("countries.csv", "flows.csv"):
            header = [line for line in (GOLDEN_DIR / name / file).read_text().splitlines() if line.startswith("#")]
            assert f"library scenario {name}:" in header[0]
            assert f"blocsim {stored.provenance['blocsim']} (git {stored.provenance['git']})" in header[1]
            assert f"sha256 {dataset['hash']}" in header[1] and "regenerate.py" in header[2]


def test_the_tolerance_is_1e8_absolute_plus_relative() -> None:
    assert ATOL == RTOL == 1e-8
    assert agree(0.25, 0.25 + 0.9e-8) and not agree(0.25, 0.25 + 1.1e-8 + 0.25e-8)
    assert agree(5000.0, 5000.0 + 4e-5) and not agree(5000.0, 5000.0 + 6e-5)
    assert agree(math.nan, math.nan) and not agree(math.nan, 0.0) and not agree(0.0, math.nan)
    assert agree(math.inf, math.inf) and not agree(math.inf, 1e308)
    assert agree(True, True) and not agree(True, 1) and not agree(1, True) and not agree("a", "b")


def test_a_wrong_number_fails_with_a_readable_diff(tmp_path: Path) -> None:
    """Copy a golden run, move one welfare number by 1e-5 pp and one flow total by 1e-6 relative:
    the comparison lists exactly those (country, column, stored, now), furthest outside the tolerance first."""
    name = "kazakhstan-leaves"
    stored = read_golden(GOLDEN_DIR / name)
    now = read_golden(GOLDEN_DIR / name)
    now.countries.loc["KAZ", "welfare_pct"] += 1e-5
    flow = now.flows.loc[("RUS", "C29"), "imports_counterfactual"]
    now.flows.loc[("RUS", "C29"), "imports_counterfactual"] = flow * (1 + 1e-6)
    now.diagnostics["converged"] = False
    differences = compare(stored, now)
    assert [(d.file, d.row, d.column) for d in differences] == [
        ("countries.csv", "KAZ", "welfare_pct"), ("flows.csv", "RUS C29", "imports_counterfactual"),
        ("diagnostics.json", "diagnostics", "converged")]
    text = report(name, differences)
    lines = text.splitlines()
    assert "3 value(s) differ" in lines[0] and "regenerate.py" in lines[0]
    assert lines[1].split() == ["file", "row", "column", "stored", "now"]
    assert lines[2].split()[:3] == ["diagnostics.json", "diagnostics", "converged"]  # not a number: listed first
    kaz = lines[3].split()  # 1000 tolerances off
    assert kaz[:3] == ["countries.csv", "KAZ", "welfare_pct"]
    assert float(kaz[4]) - float(kaz[3]) == pytest.approx(1e-5, rel=1e-3)
    assert lines[4].split()[:4] == ["flows.csv", "RUS", "C29", "imports_counterfactual"]  # about 100


def test_missing_rows_columns_and_diagnostics_are_differences() -> None:
    stored = read_golden(GOLDEN_DIR / "russia-food-ban-2014")
    now = read_golden(GOLDEN_DIR / "russia-food-ban-2014")
    now.diagnostics.pop("method")
    now.diagnostics["equilibrium_residual"] = 0.0
    dropped = now.countries.drop(index="ROW").drop(columns="omr_pct")
    differences = compare(stored, type(now)(dropped, now.flows, now.diagnostics, now.provenance))
    assert set(differences) == {
        Difference("countries.csv", "*", "omr_pct", "column", "missing"),
        Difference("countries.csv", "ROW", "*", "row", "missing"),
        Difference("diagnostics.json", "diagnostics", "method", "multisector-anderson", "missing"),
        Difference("diagnostics.json", "diagnostics", "equilibrium_residual", "missing", 0.0),
    }


@pytest.mark.slow
def test_regeneration_is_one_command_and_reproduces_the_stored_files(tmp_path: Path) -> None:
    name = "russia-recession-2014-15"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(GOLDEN_DIR.parents[1] / "src"),
                                                                     os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, str(GOLDEN_DIR / "regenerate.py"), "--out", str(tmp_path), name],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["countries.csv", "diagnostics.json", "flows.csv"]
    assert compare(read_golden(GOLDEN_DIR / name), read_golden(tmp_path / name)) == []
    bad = subprocess.run([sys.executable, str(GOLDEN_DIR / "regenerate.py"), "--out", str(tmp_path), "no-such"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert bad.returncode == 2 and "not library scenarios: ['no-such']" in bad.stderr
