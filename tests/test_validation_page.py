"""docs/validation.md covers the whole scenario library and its literature table is well formed.

The page's blocsim numbers are written by docs/validation_numbers.py between markers; these tests
check the page's structure, the literature CSV, and the script's measures on a real run.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import sys
from pathlib import Path

import pytest

from blocsim.scenario import library_names

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGE = REPO_ROOT / "docs" / "validation.md"
LITERATURE = REPO_ROOT / "docs" / "validation_literature.csv"


def _load_script():
    spec = importlib.util.spec_from_file_location("validation_numbers", REPO_ROOT / "docs" / "validation_numbers.py")
    if spec is None or spec.loader is None:
        raise ImportError("docs/validation_numbers.py cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


vn = _load_script()


@pytest.mark.parametrize("name", library_names())
def test_every_library_scenario_has_a_section_and_a_generated_block(name: str) -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert f"\n## {name}\n" in page, f"docs/validation.md has no section '## {name}'"
    begin = f"<!-- blocsim-numbers:{name}:begin -->"
    end = f"<!-- blocsim-numbers:{name}:end -->"
    assert page.count(begin) == 1 and page.count(end) == 1, f"markers of {name} missing or repeated"
    block = page[page.index(begin):page.index(end)]
    assert "| country | real income %" in block, f"the generated block of {name} is empty: run docs/validation_numbers.py"
    assert f"[{name}](#{name})" in page.split("<!-- blocsim-numbers:overview:end -->")[0], f"{name} not in the overview"


def test_every_literature_row_names_its_source_and_where_in_it() -> None:
    with LITERATURE.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ())[:8] == ("scenario", "source", "quantity", "value", "unit",
                                                       "definition", "where_in_source", "url")
        rows = list(reader)
    assert rows, "docs/validation_literature.csv has no rows"
    names = set(library_names())
    for number, row in enumerate(rows, start=2):
        assert row["source"].strip(), f"line {number}: empty source"
        assert row["where_in_source"].strip(), f"line {number}: empty where_in_source"
        assert row["scenario"] in names, f"line {number}: {row['scenario']!r} is not a library scenario"
        assert math.isfinite(float(row["value"])), f"line {number}: value {row['value']!r}"
    assert len(vn.read_literature()) == len(rows)  # the script's own checks (columns, measures) pass


def test_literature_row_without_a_source_is_refused(tmp_path: Path) -> None:
    text = LITERATURE.read_text(encoding="utf-8").splitlines()
    header, first = text[0], next(csv.reader([text[1]]))
    first[1] = ""  # source
    bad = tmp_path / "lit.csv"
    with bad.open("w", newline="", encoding="utf-8") as handle:
        handle.write(header + "\n")
        csv.writer(handle).writerow(first)
    with pytest.raises(vn.ValidationPageError, match="empty source"):
        vn.read_literature(bad)


@pytest.mark.parametrize("spec", ["", "KAZ", "kaz.welfare_pct", "flow:CHN-KAZ", "flow:CH>KAZ", "KAZ.Welfare"])
def test_bad_measure_specs_are_refused(spec: str) -> None:
    with pytest.raises(vn.ValidationPageError):
        vn.parse_measure(spec)


@pytest.mark.parametrize(("published", "unit", "blocsim", "blocsim_unit", "verdict"), [
    (-0.2, "%", 0.58, "%", "differs in sign"),
    (3.1, "%", 2.2, "%", "agrees in sign and size (blocsim x0.71)"),
    (-1.88, "%", -0.12, "%", "same sign, size differs (blocsim x0.064)"),
    (1.0, "sign", -0.02, "%", "opposite sign"),
    (-3.4, "EUR bn", -2.4, "USD bn", "same sign (units differ: EUR bn vs USD bn)"),
    (0.5, "ratio", math.nan, "ratio", "not in this run"),
])
def test_automatic_verdict(published, unit, blocsim, blocsim_unit, verdict) -> None:
    assert vn.compare(published, unit, blocsim, blocsim_unit) == verdict


def test_markers_missing_is_an_error() -> None:
    with pytest.raises(vn.ValidationPageError, match="markers"):
        vn.replace_block("no markers here", "overview", "x")


@pytest.fixture(scope="module")
def food_ban_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty BLOCSIM_HOME for the script's run (so the test can see whether it stored anything)."""
    return tmp_path_factory.mktemp("validation-home")


@pytest.fixture(scope="module")
def food_ban_run(tmp_path_factory: pytest.TempPathFactory, food_ban_home: Path):
    out = tmp_path_factory.mktemp("validation") / "russia-food-ban-2014"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BLOCSIM_HOME", str(food_ban_home))
        return vn.run_scenario(sys.executable, "russia-food-ban-2014", out)


def test_script_runs_are_not_stored_in_the_run_store(food_ban_run, food_ban_home: Path) -> None:
    # a documentation run is scratch: it must not fill the user's run store (the dashboard's list)
    assert food_ban_run.countries and list(food_ban_home.iterdir()) == []


def test_measures_of_the_literature_evaluate_on_a_real_run(food_ban_run) -> None:
    rows = [r for r in vn.read_literature() if r["scenario"] == "russia-food-ban-2014" and r["blocsim_measure"]]
    assert rows
    for row in rows:
        value = vn.evaluate(vn.parse_measure(row["blocsim_measure"]), food_ban_run)
        assert math.isfinite(value), f"{row['blocsim_measure']} is not finite on the run"
    russia = food_ban_run.countries["RUS"]
    ev = vn.evaluate(vn.parse_measure("RUS.ev_usd_bn"), food_ban_run)
    assert ev == pytest.approx(russia["welfare_pct"] / 100 * russia["income_baseline"] / 1000)
    assert vn.evaluate(vn.parse_measure("-RUS.welfare_pct"), food_ban_run) == -russia["welfare_pct"]
    ratio = vn.evaluate(vn.parse_measure("BLR.welfare_pct/RUS.welfare_pct"), food_ban_run)
    assert ratio == pytest.approx(food_ban_run.countries["BLR"]["welfare_pct"] / russia["welfare_pct"])


def test_banned_share_is_the_covered_value_over_russian_goods_imports(food_ban_run) -> None:
    flows = [r for r in food_ban_run.flows if r["importer"] == "RUS" and r["exporter"] != "RUS"]
    total = sum(float(r["trade_baseline"]) for r in flows)
    (ban,) = [m for m in food_ban_run.scenario["after"]["measures"] if m["kind"] == "ban"]
    share = vn.evaluate(vn.parse_measure("RUS.banned_import_share_pct"), food_ban_run)
    # between the smallest and the largest covered share of the banned origins' food flows
    banned_food = sum(float(r["trade_baseline"]) for r in flows
                      if r["exporter"] in ban["origins"] and r["sector"] in ban["sectors"])
    low, high = min(ban["covered_share"].values()), max(ban["covered_share"].values())
    assert low < high and 100 * low * banned_food / total < share < 100 * high * banned_food / total


def test_rendered_block_shows_the_run_and_every_compared_row(food_ban_run) -> None:
    rows = [r for r in vn.read_literature() if r["scenario"] == "russia-food-ban-2014"]
    block = vn.render_scenario(food_ban_run, rows)
    assert f"flows {food_ban_run.dataset['year']}" in block
    for row in rows:
        if row["blocsim_measure"]:
            assert f"`{row['blocsim_measure']}`" in block


def test_script_lists_the_same_library_as_the_package() -> None:
    assert vn.library_names(sys.executable) == library_names()
