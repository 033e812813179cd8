"""The HTML report: every section, offline rendering in headless chromium, tables, PNGs, CLI.

Reference checks: the report's trade creation / diversion, computed from ``flows.csv``
with pandas, must equal the multi-sector model's own ``bloc_effects.csv`` (an independent
NumPy implementation) on a real scenario run; bilateral and revenue tables are checked
against direct sums and the duty-pool identity.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.errors import BlocsimError
from run_records import record
from blocsim.report import load_run, report_figures, write_report
from blocsim.report.figures import region_geometry, signed_pct, welfare_map
from blocsim.report.html import SECTIONS
from blocsim.report.png import CHROMIUM_ARGS
from blocsim.report.tables import bilateral_changes, bloc_trade_effects, headline_table, revenue_table
from blocsim.results import write_run

REGIONS = "RUS KAZ BLR ARM KGZ UKR UZB TJK CHN EUN USA TUR JPN KOR CAN AUS NOR ROW".split()
SECTORS = ["agri_food", "mining_energy", "manufacturing", "other"]
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed")
CHARTS = ("welfare", "map", "bloc", "revenue", "bilateral")


def synthetic_run(out_dir: Path, *, seed: int = 0, description: str = "A test run.") -> Path:
    """A run directory with the contract's columns and random (but consistent) numbers."""
    rng = np.random.default_rng(seed)
    flows = pd.MultiIndex.from_product([REGIONS, REGIONS, SECTORS], names=["exporter", "importer", "sector"]).to_frame(index=False)
    flows["trade_baseline"] = rng.lognormal(5.0, 1.5, len(flows))
    flows["trade_counterfactual"] = flows["trade_baseline"] * rng.uniform(0.8, 1.2, len(flows))
    flows["trade_pct"] = (flows["trade_counterfactual"] / flows["trade_baseline"] - 1.0) * 100.0
    countries = pd.DataFrame({"country": REGIONS})
    for column in ("welfare_pct", "real_wage_pct", "price_index_pct", "exports_pct", "imports_pct"):
        countries[column] = rng.normal(0.0, 1.0, len(REGIONS))
    pool = {"RUS": 0.8532, "KAZ": 0.0711, "BLR": 0.0456, "KGZ": 0.0190, "ARM": 0.0111}
    for when in ("before", "after"):
        collected = rng.uniform(100.0, 5000.0, len(REGIONS))
        total = sum(collected[REGIONS.index(c)] for c in pool)
        countries[f"tariff_revenue_collected_{when}"] = collected
        countries[f"tariff_revenue_received_{when}"] = [total * pool[c] if c in pool else collected[i] for i, c in enumerate(REGIONS)]
    countries["tariff_revenue_change"] = countries["tariff_revenue_received_after"] - countries["tariff_revenue_received_before"]
    meta = {
        "scenario": {
            "name": "synthetic", "title": "Synthetic <test> run", "event": "none",
            "sources": ["Source one", {"title": "Source two", "url": "https://example.org/two"}],
            "description": description,
        },
        "policy_changes": ["KAZ leaves EAEU"],
        "model": {"name": "multisector", "parameters": {"theta": {"agri_food": 4.0}}},
        "dataset": {"name": "eaeu", "year": 2016, "hash": "abc123"},
        "diagnostics": {"converged": True, "iterations": 3, "residual": 1e-12, "max_residual": 1e-12, "method": "test"},
        "focus_countries": ["KAZ", "RUS"],
    }
    return write_run(out_dir, {"countries": countries, "flows": flows}, meta)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = synthetic_run(tmp_path_factory.mktemp("report") / "run")
    write_report(path)
    return path


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of the built-in ``kazakhstan-leaves`` scenario."""
    from blocsim import run_scenario

    out = tmp_path_factory.mktemp("scenario") / "kazakhstan-leaves"
    run_scenario("kazakhstan-leaves", out)
    return out


def test_report_has_every_section_and_is_self_contained(run_dir: Path) -> None:
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    for anchor, heading in SECTIONS:
        assert f'<section id="{anchor}">' in html, anchor
        assert heading in html
    for chart in CHARTS:
        assert f'id="fig-{chart}"' in html, chart
    # plotly.js inlined, nothing loaded from elsewhere (links to cited sources are fine)
    assert "Plotly" in html and len(html) > 3_000_000
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "cdn.plot.ly/plotly" not in html
    assert "Synthetic &lt;test&gt; run" in html  # escaped
    assert 'href="https://example.org/two"' in html
    assert "abc123" in html  # provenance: dataset hash
    assert "KAZ leaves EAEU" in html


def test_report_escapes_scenario_text(tmp_path: Path) -> None:
    path = synthetic_run(tmp_path / "run", description="<script>alert('x')</script>")
    html = write_report(path).read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_rule_violations_are_flagged(tmp_path: Path) -> None:
    path = synthetic_run(tmp_path / "run")
    meta = json.loads((path / "run.json").read_text())
    meta["rule_violations"] = [{"bloc": "EAEU", "rule": "own_fta", "message": "KAZ has its own FTA with CHN"}]
    meta["shock_notes"] = ["KAZ: 3 tariffs change"]
    (path / "run.json").write_text(json.dumps(meta))
    html = write_report(path).read_text(encoding="utf-8")
    assert "This scenario breaks the union's own rules (1)" in html
    assert "<li>KAZ has its own FTA with CHN</li>" in html and "<li>KAZ: 3 tariffs change</li>" in html


def test_headline_puts_focus_countries_first(run_dir: Path) -> None:
    table = headline_table(load_run(run_dir))
    assert list(table["country"][:2]) == ["KAZ", "RUS"]
    rest = table["welfare_pct"].to_numpy()[2:]
    assert np.all(np.diff(rest) <= 0)
    assert len(table) == len(REGIONS)


def test_bilateral_changes_match_direct_sums(run_dir: Path) -> None:
    run = load_run(run_dir)
    table = bilateral_changes(run)
    flows = run.flows
    for country, partner in (("KAZ", "CHN"), ("RUS", "EUN")):
        pair = flows[(flows["exporter"] == partner) & (flows["importer"] == country)]
        row = table[(table["country"] == country) & (table["partner"] == partner) & (table["direction"] == "imports")]
        before, after = pair["trade_baseline"].sum(), pair["trade_counterfactual"].sum()
        assert row["trade_baseline"].item() == pytest.approx(before, rel=1e-12)
        assert row["change_pct"].item() == pytest.approx((after / before - 1) * 100, rel=1e-9)
    assert set(table["country"]) == {"KAZ", "RUS"}
    assert not ((table["country"] == table["partner"]).any())


def test_revenue_table_transfers(run_dir: Path) -> None:
    table = revenue_table(load_run(run_dir))
    transfer = table["tariff_revenue_received_after"] - table["tariff_revenue_collected_after"]
    np.testing.assert_allclose(table["pool_transfer_after"], transfer)
    assert set(table["country"][:5]) == {"RUS", "KAZ", "BLR", "KGZ", "ARM"} and table["pooled"][:5].all()
    assert not table["pooled"][5:].any()
    pool = table[table["country"].isin(["RUS", "KAZ", "BLR", "KGZ", "ARM"])]
    # pooled revenue is redistributed, not created: transfers within the pool sum to zero
    assert pool["pool_transfer_after"].sum() == pytest.approx(0.0, abs=1e-6)


def test_bloc_effects_from_flows_match_the_model(scenario_run: Path) -> None:
    """The report's pandas decomposition equals the GE model's own bloc_effects.csv."""
    run = load_run(scenario_run)
    assert run.bloc_effects is not None
    model = run.bloc_effects[run.bloc_effects["sector"] == "all"].set_index("country")
    ours = bloc_trade_effects(dataclasses.replace(run, bloc_effects=None)).set_index("country").loc[model.index]
    for column, theirs in (
        ("trade_creation", "trade_creation"),
        ("trade_diversion", "trade_diversion"),
        ("income_effect", "income_effect"),
        ("intra_before", "intra_baseline"),
        ("extra_after", "extra_counterfactual"),
    ):
        np.testing.assert_allclose(ours[column], model[theirs], rtol=1e-9, atol=1e-6, err_msg=column)
    # identity: change in imports = income effect + trade creation
    imports_change = ours["intra_after"] + ours["extra_after"] - ours["intra_before"] - ours["extra_before"]
    np.testing.assert_allclose(imports_change, ours["income_effect"] + ours["trade_creation"], rtol=1e-9, atol=1e-6)


def test_map_colours_every_region_with_its_welfare(run_dir: Path) -> None:
    run = load_run(run_dir)
    fig = welfare_map(run)
    welfare = dict(zip(run.countries["country"], run.countries["welfare_pct"]))
    trace = fig.data[1]
    assert set(trace.locations) == set(REGIONS) - {"ROW"}
    for code, value in zip(trace.locations, trace.z):
        assert value == pytest.approx(welfare[code])
    assert trace.zmin == -trace.zmax  # symmetric around zero
    assert fig.layout.geo.visible is False and trace.locationmode == "geojson-id"


def test_geometry_is_small_and_covers_the_dataset_regions() -> None:
    from blocsim import load_dataset

    path = Path(__file__).resolve().parents[1] / "src/blocsim/report/geometry/eurasia_regions.geo.json"
    assert path.stat().st_size < 1_000_000
    ids = {feature["id"] for feature in region_geometry()["features"]}
    assert set(load_dataset("eaeu").countries["iso3"]) <= ids
    for feature in region_geometry()["features"]:
        assert feature["geometry"]["type"] == "MultiPolygon" and feature["geometry"]["coordinates"], feature["id"]


def test_percent_formatting() -> None:
    assert signed_pct(0.3456) == "+0.35"
    assert signed_pct(-0.01234) == "-0.012"
    assert signed_pct(-0.0001) == "0.000"
    assert signed_pct(float("nan")) == ""


def test_missing_inputs_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BlocsimError, match="no run.json"):
        write_report(tmp_path)
    bad = write_run(tmp_path / "bad", {"countries": pd.DataFrame({"country": ["KAZ"]})}, record())
    with pytest.raises(BlocsimError, match=r"countries.csv.*welfare_pct"):
        write_report(bad)


def test_cli_report_on_a_table_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    """Issue 13, finding 11: a Latin-1 CSV gave a UnicodeDecodeError traceback."""
    from blocsim.cli.main import app

    path = synthetic_run(tmp_path / "run")
    text = (path / "countries.csv").read_text(encoding="utf-8").replace("KAZ,", "C\u00f4te d'Ivoire,", 1)
    (path / "countries.csv").write_bytes(text.encode("latin-1"))
    result = CliRunner().invoke(app, ["report", str(path)])
    message = " ".join(result.output.split())
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path / 'countries.csv'}: not UTF-8 text (byte 0xf4 at line 3" in message
    assert not (path / "report.html").exists()


@pytest.mark.parametrize(
    ("table", "frame", "message"),
    [
        ("countries", pd.DataFrame({"country": ["KAZ", "RUS"], "welfare_pct": ["0.1", "unknown"]}),
         "countries.csv: column 'welfare_pct' must hold numbers; line 3 has 'unknown'"),
        ("flows", pd.DataFrame({"exporter": ["KAZ"], "importer": ["RUS"], "trade": [1.0]}),
         "flows.csv: missing column(s) ['trade_baseline', 'trade_counterfactual']"),
        ("flows", pd.DataFrame({"exporter": ["KAZ"], "importer": ["RUS"], "trade_baseline": ["1,5"],
                                "trade_counterfactual": [2.0]}),
         "flows.csv: column 'trade_baseline' must hold numbers; line 2 has '1,5'"),
        ("bands", pd.DataFrame({"country": ["KAZ"], "variable": ["welfare_pct"], "p05": ["low"], "p95": [1.0]}),
         "bands.csv: column 'p05' must hold numbers; line 2 has 'low'"),
    ],
)
def test_cli_report_on_malformed_tables_names_file_column_and_value(
    tmp_path: Path, table: str, frame: pd.DataFrame, message: str
) -> None:
    from blocsim.cli.main import app

    countries = pd.DataFrame({"country": ["KAZ", "RUS"], "welfare_pct": [0.1, -0.2]})
    path = write_run(tmp_path / "run", {"countries": countries, table: frame}, record())
    result = CliRunner().invoke(app, ["report", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert message in " ".join(result.output.split())


def test_one_sector_flows_get_bloc_effects(tmp_path: Path) -> None:
    """flows.csv of the one-sector GE has no ``sector`` column: read as one sector, not a KeyError."""
    path = synthetic_run(tmp_path / "run")
    flows = pd.read_csv(path / "flows.csv")
    total = flows.groupby(["exporter", "importer"], as_index=False)[["trade_baseline", "trade_counterfactual"]].sum()
    total.to_csv(path / "flows.csv", index=False)
    one_sector = bloc_trade_effects(load_run(path))
    total.assign(sector="all").to_csv(path / "flows.csv", index=False)
    pd.testing.assert_frame_equal(one_sector, bloc_trade_effects(load_run(path)))
    assert one_sector is not None and len(one_sector) == 5
    assert "Trade creation" in write_report(path).read_text(encoding="utf-8")


def test_report_is_listed_in_the_marker_and_killed_writers_temporaries_go(tmp_path: Path) -> None:
    """Issue 13, finding 3: a kill during the write left .report.html.*.tmp behind for good."""
    import subprocess
    import sys

    from blocsim.results.journal import host_tag

    path = synthetic_run(tmp_path / "run")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    stale = path / f".report.html.tmp-{child.pid}-{host_tag()}-0badc0de"
    stale.write_text("<html>half")
    write_report(path)
    assert not stale.exists()
    assert "report.html" in json.loads((path / ".blocsim-run").read_text())["files"]
    write_run(path, {"countries": pd.DataFrame({"country": ["KAZ"], "welfare_pct": [1.0]})}, record())  # still replaceable
    assert not (path / "report.html").exists()


def test_monte_carlo_bands_become_whiskers(tmp_path: Path) -> None:
    path = synthetic_run(tmp_path / "run")
    countries = pd.read_csv(path / "countries.csv")
    point = countries["welfare_pct"].to_numpy()
    bands = pd.DataFrame({
        "country": countries["country"], "variable": "welfare_pct", "point": point, "mean": point, "std": 0.1,
        "p05": point - 0.2, "p50": point, "p95": point + 0.3,
    })
    bands.to_csv(path / "bands.csv", index=False)
    fig = report_figures(load_run(path))["welfare"]
    np.testing.assert_allclose(fig.data[0].error_y.array, 0.3)
    np.testing.assert_allclose(fig.data[0].error_y.arrayminus, 0.2)
    assert "p05-p95" in fig.layout.title.text


def test_runs_without_flows_still_render(tmp_path: Path) -> None:
    countries = pd.DataFrame({"country": ["KAZ", "RUS"], "welfare_pct": [0.1, -0.2]})
    path = write_run(tmp_path / "small", {"countries": countries}, record("x"))
    html = write_report(path).read_text(encoding="utf-8")
    assert "Not available: this run wrote no bilateral flows" in html
    assert set(report_figures(load_run(path))) == {"welfare", "map"}


def test_cli_report_json(run_dir: Path, tmp_path: Path) -> None:
    from blocsim.cli.main import app

    copy = shutil.copytree(run_dir, tmp_path / "copy")
    (copy / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["report"] == str(copy / "report.html")
    assert (copy / "report.html").is_file()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no run.json" in missing.output


@needs_chromium
@pytest.mark.browser
def test_report_renders_offline_in_chromium(run_dir: Path, tmp_path: Path) -> None:
    """All charts draw (SVG present) with networking disabled; no request leaves the page."""
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})

            def guard(route) -> None:  # type: ignore[no-untyped-def]
                requests.append(route.request.url)
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((run_dir / "report.html").as_uri())
            for chart in CHARTS:
                page.wait_for_selector(f"#fig-{chart} svg.main-svg", state="attached", timeout=20_000)
            page.wait_for_selector("#fig-map path.choroplethlocation", state="attached")
            regions = page.locator("#fig-map path.choroplethlocation").count()
            bars = page.locator("#fig-welfare g.point").count()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert [url for url in requests if not url.startswith("file://")] == []
    assert errors == []
    # 17 coloured regions + ROW in grey + the outlines of the bloc members after the change
    assert regions == len(REGIONS) + len(load_run(run_dir).members_after)
    assert bars == len(REGIONS)


@needs_chromium
@pytest.mark.browser
@pytest.mark.slow
def test_png_export_from_the_cli(run_dir: Path, tmp_path: Path) -> None:
    from blocsim.cli.main import app

    copy = shutil.copytree(run_dir, tmp_path / "copy")
    result = CliRunner().invoke(app, ["report", str(copy), "--png", "--json"])
    assert result.exit_code == 0, result.output
    written = [Path(p) for p in json.loads(result.stdout)["figures"]]
    assert [p.stem for p in written] == list(CHARTS) and all(p.parent == copy / "figures" for p in written)
    for path in written:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width == 2200 and height > 400, (path.name, width, height)
    listed = json.loads((copy / ".blocsim-run").read_text())["files"]
    assert {f"figures/{chart}.png" for chart in CHARTS} <= set(listed)
    write_run(copy, {"countries": pd.DataFrame({"country": ["KAZ"], "welfare_pct": [1.0]})}, record())  # charts are blocsim's
    assert not (copy / "figures").exists()


@pytest.mark.parametrize("command", [["scenarios", "run"], ["run"]])
def test_run_commands_write_the_report(command: list[str], tmp_path: Path) -> None:
    from blocsim.cli.main import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [*command, "kazakhstan-leaves", "--out", str(out), "--report", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run_dir"] == str(out)  # stdout stays one JSON document
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<section id="map">' in html and "Kazakhstan leaves the EAEU" in html
