"""``blocsim compare`` and ``blocsim.compare``: runs side by side, CSV files and the offline page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

import blocsim
from blocsim.cli.main import app
from blocsim.errors import BlocsimError
from blocsim.results import read_run
from blocsim.results.compare import HEADLINE_COLUMNS, compare_runs

TOL = 1e-12


def _scenario_run(*args: str, cwd: Path) -> None:
    """Run the CLI in a subprocess (as a user would) with this checkout's package."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(blocsim.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "blocsim", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """cet: Kazakhstan adopts the CET (2008 data); leave: Kazakhstan leaves (2016 data), with 4 Monte Carlo draws."""
    base = tmp_path_factory.mktemp("runs")
    _scenario_run("scenarios", "run", "kazakhstan-adopts-cet-2010", "--out", str(base / "cet"), "--json", cwd=base)
    _scenario_run("run", "kazakhstan-leaves", "--draws", "4", "--out", str(base / "leave"), "--json", cwd=base)
    return {"cet": base / "cet", "leave": base / "leave"}


def test_table_equals_the_runs_own_numbers(runs: dict[str, Path]) -> None:
    comparison = blocsim.compare([runs["cet"], runs["leave"]])
    table = comparison.table.set_index("country")
    cet = pd.read_csv(runs["cet"] / "countries.csv").set_index("country")
    leave = pd.read_csv(runs["leave"] / "countries.csv").set_index("country")
    bands = pd.read_csv(runs["leave"] / "bands.csv")
    assert list(comparison.variables) == list(HEADLINE_COLUMNS)
    assert sorted(table.index) == sorted(cet.index)
    for variable in HEADLINE_COLUMNS:
        np.testing.assert_allclose(table[f"{variable}[cet]"], cet.loc[table.index, variable], rtol=0, atol=TOL)
        np.testing.assert_allclose(table[f"{variable}[leave]"], leave.loc[table.index, variable], rtol=0, atol=TOL)
        np.testing.assert_allclose(table[f"{variable}[leave - cet]"],
                                   leave.loc[table.index, variable] - cet.loc[table.index, variable], rtol=0, atol=TOL)
    for variable, rows in bands.groupby("variable"):
        rows = rows.set_index("country").loc[table.index]
        for stat in ("p05", "p50", "p95"):
            np.testing.assert_allclose(table[f"{variable}_{stat}[leave]"], rows[stat], rtol=0, atol=TOL)
    assert not any(column.endswith("_p05[cet]") for column in table.columns)  # cet has no bands
    long = comparison.long
    kaz = long[(long["run"] == "leave") & (long["country"] == "KAZ") & (long["variable"] == "welfare_pct")]
    assert kaz["value"].item() == pytest.approx(leave.at["KAZ", "welfare_pct"], abs=TOL)
    assert (long.loc[long["run"] == "cet", "difference"] == 0).all()


def test_different_data_years_are_named_in_a_warning(runs: dict[str, Path]) -> None:
    comparison = compare_runs([runs["cet"], runs["leave"]])
    joined = "\n".join(comparison.warnings)
    assert "data year: cet=2011, leave=2015" in joined  # each on its event's pre-event year
    assert "tariff year: cet=2011, leave=2015" in joined
    same = compare_runs([runs["leave"], runs["leave"]])
    assert same.warnings == ()
    assert [info.label for info in same.runs] == ["leave", "leave#2"]
    assert (same.long["difference"] == 0).all()


def test_loaded_runs_and_labels(runs: dict[str, Path]) -> None:
    comparison = blocsim.compare([read_run(runs["cet"]), runs["leave"]], labels=["A", "B"])
    assert [info.label for info in comparison.runs] == ["A", "B"]
    assert comparison.runs[0].path == "" and comparison.runs[1].has_bands
    with pytest.raises(BlocsimError, match="at least two runs"):
        blocsim.compare([runs["cet"]])
    with pytest.raises(BlocsimError, match="labels: need 2 different labels"):
        blocsim.compare([runs["cet"], runs["leave"]], labels=["A", "A"])
    with pytest.raises(BlocsimError, match=r"runs\[1\]: expected a run directory"):
        blocsim.compare([runs["cet"], 42])


def _outside_urls(html: str) -> list[str]:
    """URLs in the page outside the inlined plotly.js bundle (whose source text names some, never loaded)."""
    bundle = get_plotlyjs()
    assert html.count(bundle) == 1
    return re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", html.replace(bundle, ""))


def test_cli_compare_writes_csv_and_an_offline_page(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", str(runs["cet"]), str(runs["leave"]), "--out", str(out), "--report"])
    assert result.exit_code == 0, result.output
    assert "Welfare (real income)" in result.output and "leave - cet" in result.output
    assert "warning: the runs differ in data year" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.csv", "comparison.html", "comparison_long.csv", "comparison_runs.csv"]
    written = pd.read_csv(out / "comparison.csv")
    expected = blocsim.compare([runs["cet"], runs["leave"]]).table
    pd.testing.assert_frame_equal(written, expected, check_exact=False, rtol=0, atol=TOL)
    assert set(pd.read_csv(out / "comparison_runs.csv")["label"]) == {"cet", "leave"}
    html = (out / "comparison.html").read_text(encoding="utf-8")
    assert _outside_urls(html) == []
    assert "<script src" not in html and "<link" not in html
    assert "the runs differ in data year" in html and "id=\"fig-welfare-compare\"" in html
    assert "p05 / p50 / p95" in html  # the bands of the run that has them


def test_cli_compare_never_overwrites_without_force(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "comparison.html").write_text("mine")
    args = ["compare", str(runs["cet"]), str(runs["leave"]), "--out", str(out), "--report"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1
    assert "these files already exist: comparison.html" in _flat(refused) and "Traceback" not in refused.output
    assert sorted(p.name for p in out.iterdir()) == ["comparison.html"]  # nothing else written either
    assert (out / "comparison.html").read_text() == "mine"
    forced = CliRunner().invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "comparison.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _flat(result: object) -> str:
    """CLI output with Rich's line wrapping undone."""
    return " ".join(result.output.split())  # type: ignore[attr-defined]


def test_cli_compare_errors_are_one_line(runs: dict[str, Path], tmp_path: Path) -> None:
    one = CliRunner().invoke(app, ["compare", str(runs["cet"])])
    assert one.exit_code == 1 and "at least two runs (got 1)" in _flat(one)
    (tmp_path / "plain").mkdir()
    foreign = CliRunner().invoke(app, ["compare", str(runs["cet"]), str(tmp_path / "plain")])
    assert foreign.exit_code == 1 and "not a blocsim run directory" in _flat(foreign)
    page = CliRunner().invoke(app, ["compare", str(runs["cet"]), str(runs["leave"]), "--report"])
    assert page.exit_code == 1 and "--report: needs --out" in _flat(page)
    variable = CliRunner().invoke(app, ["compare", str(runs["cet"]), str(runs["leave"]), "--variable", "gdp"])
    assert variable.exit_code == 1 and "--variable 'gdp': not compared" in _flat(variable)
    for result in (one, foreign, page, variable):
        assert "Traceback" not in result.output
