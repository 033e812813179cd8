"""Assumptions on the page: the report's assumptions section, bands in the headline table and
countries.csv, duty-pool transfers before/after/change, membership as of the after state on the
map, and the "Assumptions" footer of ``blocsim run`` / ``blocsim scenarios run`` (and ``--json``).

Every expected value is read from the run's own files (``run.json``, ``bands.csv``,
``countries.csv``), never typed in: the tests check that the page shows what the run recorded.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.report import load_run, write_report
from blocsim.report.assumptions import (NO_BANDS, NO_TARIFF_SOURCES, assumptions_footer, assumptions_summary,
                                        format_value)
from blocsim.report.figures import MEMBER_TRACE, report_figures, signed_pct, welfare_map
from blocsim.report.tables import revenue_table
from blocsim.results import write_run
from run_records import record

BANDED = ("welfare_pct", "real_wage_pct", "exports_pct", "imports_pct", "tariff_revenue_change")
PERCENTILES = ("p05", "p50", "p95")


def _run(name: str, out: Path, draws: int | None = None) -> Path:
    from blocsim import run_scenario

    run_scenario(name, out, draws=draws)
    write_report(out)
    return out


@pytest.fixture(scope="module")
def leaves_drawn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``kazakhstan-leaves`` with 8 Monte Carlo draws, report written."""
    return _run("kazakhstan-leaves", tmp_path_factory.mktemp("leaves") / "run", draws=8)


@pytest.fixture(scope="module")
def reexports_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``russia-food-ban-2014-belarus-reexports`` (measures with assumed re-export costs), no draws."""
    return _run("russia-food-ban-2014-belarus-reexports", tmp_path_factory.mktemp("reexports") / "run")


def _meta(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start:page.index("</section>", start)]


def _cells(fragment: str) -> list[list[str]]:
    """Rows of an HTML table fragment as lists of cell texts (tags stripped, entities decoded)."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", fragment, flags=re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)] for row in rows]


@pytest.mark.parametrize("fixture", ["leaves_drawn", "reexports_run"])
def test_report_lists_every_assumption_row_of_the_run_record(fixture: str, request: pytest.FixtureRequest) -> None:
    run_dir: Path = request.getfixturevalue(fixture)
    meta = _meta(run_dir)
    section = _section((run_dir / "report.html").read_text(encoding="utf-8"), "assumptions")
    rows = meta["assumptions"]
    assert rows and any(r["flag"] == "assumed" for r in rows)
    listed = _cells(section[section.index('id="assumption-rows"'):])[1:]
    assert [row[0] for row in listed] == [r["name"] for r in rows]
    for cells, row in zip(listed, rows):
        assert cells == [row["name"], format_value(row["value"], row["unit"]), row["unit"], row["source"], row["flag"]]
    # every assumed AVE / parameter also in its own table, flagged
    assumed = _cells(section[section.index("Assumed AVEs"):section.index("Proxy tariffs")])[1:]
    assert [(c[0], c[-1]) for c in assumed] == [(r["name"], "assumed") for r in rows if r["flag"] == "assumed"]
    # data year and version, sectors, elasticities' source, closure
    data = _cells(section)[0][1]
    assert f"year {meta['dataset']['year']}" in data and f"version {meta['dataset']['version']}" in data
    theta = meta["model"]["parameters"]["theta"]
    text = html.unescape(re.sub(r"<[^>]+>", "", section))
    assert f"{len(theta)}: {', '.join(theta)}" in text
    for source in {r["source"] for r in rows if r["name"].startswith("theta[")}:
        assert f"source: {source}" in text
    assert meta["model"]["parameters"]["closure"] in _cells(section)[3][1]


def test_bands_cover_what_the_record_says_they_vary(leaves_drawn: Path, reexports_run: Path) -> None:
    varied = _meta(leaves_drawn)["uncertainty"]["varied"]
    section = _section((leaves_drawn / "report.html").read_text(encoding="utf-8"), "assumptions")
    table = _cells(section[section.index("What the bands vary"):section.index('id="assumption-rows"')])[1:]
    assert [(row[0], row[1], row[3]) for row in table] == [(v["input"], v["kind"], v["distribution"]) for v in varied]
    plain = (reexports_run / "report.html").read_text(encoding="utf-8")
    assert NO_BANDS in _section(plain, "assumptions") and NO_BANDS in _section(plain, "headline")


def test_draws_put_p05_p50_p95_in_countries_csv_and_the_headline_table(leaves_drawn: Path,
                                                                      reexports_run: Path) -> None:
    countries = pd.read_csv(leaves_drawn / "countries.csv").set_index("country")
    bands = pd.read_csv(leaves_drawn / "bands.csv")
    for variable in BANDED:
        part = bands[bands["variable"] == variable].set_index("country").reindex(countries.index)
        for stat in PERCENTILES:
            np.testing.assert_array_equal(countries[f"{variable}_{stat}"].to_numpy(), part[stat].to_numpy())
        assert (countries[f"{variable}_p05"] <= countries[f"{variable}_p95"]).all()
    assert not [c for c in pd.read_csv(reexports_run / "countries.csv").columns if c.endswith(PERCENTILES)]

    headline = _section((leaves_drawn / "report.html").read_text(encoding="utf-8"), "headline")
    rows = {cells[0].split()[0]: cells for cells in _cells(headline)[1:]}
    for country in ("KAZ", "RUS"):
        welfare_cell = rows[country][1]
        for stat in PERCENTILES:
            assert f"{stat} {signed_pct(countries.loc[country, f'welfare_pct_{stat}'])}" in welfare_cell
        revenue_cell = rows[country][-1]
        assert f"p95 {countries.loc[country, 'tariff_revenue_change_p95']:,.1f}" in revenue_cell


def test_pool_transfer_before_after_and_change(leaves_drawn: Path) -> None:
    run = load_run(leaves_drawn)
    table = revenue_table(run).set_index("country")
    np.testing.assert_allclose(table["pool_transfer_before"],
                               table["tariff_revenue_received_before"] - table["tariff_revenue_collected_before"])
    np.testing.assert_allclose(table["pool_transfer_change"],
                               table["pool_transfer_after"] - table["pool_transfer_before"])
    before = _meta(leaves_drawn)["policy"]["before"]["blocs"]["EAEU"]["members"]
    assert table.loc[before, "pool_transfer_before"].sum() == pytest.approx(0.0, abs=1e-6)  # the pool re-shares
    assert table.loc["KAZ", "pool_transfer_after"] == pytest.approx(0.0, abs=1e-9)  # out of the pool after leaving
    section = _section((leaves_drawn / "report.html").read_text(encoding="utf-8"), "revenue")
    cells = _cells(section)
    assert cells[0][-3:] == ["Pool transfer, before", "Pool transfer, after", "Pool transfer, change"]
    kaz = next(row for row in cells if row[0] == "KAZ")
    assert kaz[-3:] == [f"{table.loc['KAZ', c]:,.1f}" for c in
                        ("pool_transfer_before", "pool_transfer_after", "pool_transfer_change")]


def test_map_draws_membership_as_of_the_after_state(leaves_drawn: Path) -> None:
    run = load_run(leaves_drawn)
    policy = run.meta["policy"]
    assert "KAZ" in policy["before"]["blocs"]["EAEU"]["members"]
    after = set(policy["after"]["blocs"]["EAEU"]["members"])
    assert "KAZ" not in after and "KAZ" in run.members  # KAZ is in the bloc's trade accounts, not a member after
    fig = welfare_map(run)
    outline = [trace for trace in fig.data if trace.name == MEMBER_TRACE]
    assert len(outline) == 1 and set(outline[0].locations) == after
    assert {f["id"] for f in outline[0].geojson["features"]} == after
    bar = report_figures(run)["welfare"].data[0]
    outlined = {c for c, colour in zip(bar.x, bar.marker.line.color) if colour != "rgba(0,0,0,0)"}
    assert outlined == after


def _write_with_tariffs(out: Path, tariffs: pd.DataFrame) -> Path:
    countries = pd.DataFrame({"country": ["UKR", "RUS"], "welfare_pct": [0.1, -0.2]})
    path = write_run(out, {"countries": countries, "tariffs": tariffs}, record("proxies"))
    write_report(path)
    return path


def test_proxy_tariffs_come_from_the_tariffs_table(tmp_path: Path) -> None:
    tariffs = pd.DataFrame({
        "exporter": ["CHN", "CHN", "CHN", "CHN"], "importer": ["UKR", "UKR", "RUS", "RUS"],
        "sector": ["agri_food", "manufacturing", "agri_food", "manufacturing"],
        "tariff_before": [0.051, 0.051, 0.12, 0.08], "tariff_after": [0.051, 0.051, 0.12, 0.08],
        "source": ["assumption: KAZ's 2008 MFN tariff used as a CIS proxy"] * 2 + ["WTO tariff profile"] * 2,
    })
    by_source = assumptions_summary(load_run(_write_with_tariffs(tmp_path / "by-source", tariffs)).meta,
                                    tariffs)["proxy_tariffs"]
    assert by_source == [{"importer": "UKR", "sectors": ["agri_food", "manufacturing"], "rates": [0.051],
                          "source": "assumption: KAZ's 2008 MFN tariff used as a CIS proxy"}]
    flagged = tariffs.assign(flag=["data", "data", "proxy", "data"])
    run_dir = _write_with_tariffs(tmp_path / "by-flag", flagged)
    assert [(p["importer"], p["sectors"]) for p in assumptions_summary({}, flagged)["proxy_tariffs"]] == [
        ("RUS", ["agri_food"])]
    section = _section((run_dir / "report.html").read_text(encoding="utf-8"), "assumptions")
    rows = _cells(section[section.index("Proxy tariffs"):section.index('id="assumption-rows"')])
    assert ["RUS", "agri_food", "0.12 (12 %)", "WTO tariff profile", "proxy"] in rows
    # sources without a proxy, and no sources at all, say so (never an empty "no proxies" claim)
    published = _write_with_tariffs(tmp_path / "published", tariffs.assign(source="WTO tariff profile"))
    assert "No proxy tariffs: the run's tariffs table flags none as assumed." in (published / "report.html").read_text()
    unsourced = _write_with_tariffs(tmp_path / "unsourced", tariffs.drop(columns="source"))
    assert f"Proxy tariffs {NO_TARIFF_SOURCES}" in html.unescape((unsourced / "report.html").read_text())


def _cli(*args: str) -> Any:
    from blocsim.cli.main import app

    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", [["run"], ["scenarios", "run"]])
def test_cli_footer_names_data_year_and_theta_source(command: list[str], tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _cli(*command, "kazakhstan-leaves", "--out", str(out), "--no-store")  # the footer ends the output
    assert result.exit_code == 0, result.output
    meta = _meta(out)
    footer = result.stdout[result.stdout.index("Assumptions"):]
    sources = {r["source"] for r in meta["assumptions"] if r["name"].startswith("theta[")}
    assert len(sources) == 1
    assert f"year {meta['dataset']['year']}" in footer and f"version {meta['dataset']['version']}" in footer
    assert f"source: {sources.pop()}" in footer
    assert f"sectors ({len(meta['model']['parameters']['theta'])})" in footer
    assert f"closure: {meta['model']['parameters']['closure']}" in footer
    for row in meta["assumptions"]:
        if row["flag"] == "assumed":
            assert f"{row['name']} = {format_value(row['value'], row['unit'])}" in footer
    assert f"bands: {NO_BANDS}" in footer
    summary = assumptions_summary(meta, pd.read_csv(out / "tariffs.csv"))
    assert [line.strip() for line in footer.splitlines()[1:]] == assumptions_footer(summary)


def test_cli_json_carries_the_same_assumptions(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _cli("run", "kazakhstan-leaves", "--out", str(out), "--draws", "4", "--json")
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)["assumptions"]
    meta = _meta(out)
    assert block == json.loads(json.dumps(assumptions_summary(meta, pd.read_csv(out / "tariffs.csv"))))
    assert block["dataset"]["year"] == meta["dataset"]["year"]
    assert [v["input"] for v in block["bands"]["varied"]] == [v["input"] for v in meta["uncertainty"]["varied"]]
    assert block["bands_text"].startswith("4 draws")
