"""A run's ``tariffs.csv`` says where every rate comes from (``source``, ``flag``), and the report and the
CLI footer count and list the proxy tariffs the scenario's focus countries rely on.

Expected values are read from the dataset's own tariff tables and the run's files, never typed in.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from blocsim.data import load_dataset
from blocsim.results.tariff_sources import DOMESTIC, PROXY, SERVICES


def cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def leaves(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``kazakhstan-leaves`` on the bundled v2 data, through the CLI with a report: (run dir, stdout)."""
    out = tmp_path_factory.mktemp("leaves") / "run"
    result = cli("scenarios", "run", "kazakhstan-leaves", "--out", str(out), "--report", "--no-store")
    assert result.exit_code == 0, result.output
    return out, result.stdout


def _proxy_focus_rows(run_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    focus = meta["focus_countries"]
    tariffs = pd.read_csv(run_dir / "tariffs.csv", keep_default_na=False)
    rows = tariffs[(tariffs["flag"] == PROXY) & (tariffs["importer"].isin(focus) | tariffs["exporter"].isin(focus))]
    return rows, focus


def test_every_row_of_the_run_tariffs_carries_the_dataset_source_and_flag(leaves: tuple[Path, str]) -> None:
    run_dir, _ = leaves
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    tariffs = pd.read_csv(run_dir / "tariffs.csv", keep_default_na=False)
    assert {"source", "flag"} <= set(tariffs.columns)
    assert (tariffs["source"] != "").all() and (tariffs["flag"] != "").all()
    dataset = load_dataset(meta["dataset"]["name"])
    bilateral = dataset.extra["tariffs"]
    year = meta["policy"]["tariff_year"]
    keys = ["importer", "exporter", "sector"]
    expected = bilateral[bilateral["year"] == year].set_index(keys)
    joined = tariffs.join(expected[["source", "flag"]].rename(columns=lambda c: f"data_{c}"), on=keys, how="inner")
    assert len(joined) == len(expected) > 0  # every bilateral row of the data year is in the run's table
    proxy_flags = set(dataset.meta["tariff_proxy_flags"])
    assert proxy_flags and (joined["source"] == joined["data_source"]).all()
    is_proxy = joined["data_flag"].isin(proxy_flags)
    assert (joined.loc[is_proxy, "flag"] == PROXY).all()
    assert (joined.loc[~is_proxy, "flag"] == joined.loc[~is_proxy, "data_flag"]).all()
    services = set(dataset.sectors.loc[~dataset.sectors["goods"], "sector"])
    rest = tariffs.drop(index=joined.index)
    assert set(rest.loc[rest["sector"].isin(services) & (rest["exporter"] != rest["importer"]), "flag"]) == {SERVICES}
    assert set(rest.loc[rest["exporter"] == rest["importer"], "flag"]) <= {DOMESTIC}


def test_footer_and_report_count_the_focus_countries_proxy_tariffs(leaves: tuple[Path, str]) -> None:
    run_dir, stdout = leaves
    rows, focus = _proxy_focus_rows(run_dir)
    assert len(rows) > 0
    by_importer = rows["importer"].value_counts()
    footer = " ".join(stdout[stdout.index("Assumptions"):].split())
    assert f"proxy tariffs: {len(rows):,} rows of the focus countries' trade ({', '.join(focus)}) flagged proxy" in footer
    top = by_importer.sort_index().sort_values(ascending=False, kind="stable")
    assert f"rows by importer: {top.index[0]} {top.iloc[0]:,}" in footer
    page = html.unescape((run_dir / "report.html").read_text(encoding="utf-8"))
    section = page[page.index('<section id="assumptions">'):]
    count = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", section[section.index('id="proxy-tariff-count"'):]))
    assert f"{len(rows):,} rows of the run's tariffs table on the trade of the focus countries ({', '.join(focus)}) " \
           "are proxies" in count
    for importer in by_importer.index:
        assert f"<tr><td>{importer}</td>" in section


def test_a_built_dataset_s_missing_tariffs_show_as_proxies_of_the_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLOCSIM_HOME", str(tmp_path / "home"))
    from test_data_build import SCENARIO, _flows, _tariffs

    _flows().to_csv(tmp_path / "flows.csv", index=False)
    given = _tariffs()
    given.to_csv(tmp_path / "tariffs.csv", index=False)
    assert cli("data", "build", "mydata", "--flows", str(tmp_path / "flows.csv"), "--tariffs",
               str(tmp_path / "tariffs.csv")).exit_code == 0
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    result = cli("run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "run"), "--no-store")
    assert result.exit_code == 0, result.output
    tariffs = pd.read_csv(tmp_path / "run" / "tariffs.csv", keep_default_na=False)
    international = tariffs[tariffs["exporter"] != tariffs["importer"]]
    year_given = given[given["year"] == 2015].set_index(["importer", "exporter", "sector"]).index
    listed = international.set_index(["importer", "exporter", "sector"]).index.isin(year_given)
    assert (international.loc[listed, "flag"] == "given").all()
    services = {"D35T98"}
    assumed = international[~listed & ~international["sector"].isin(services)]
    assert len(assumed) > 0 and (assumed["flag"] == PROXY).all()
    assert assumed["source"].str.startswith("assumption: no tariff given").all()
    rows, focus = _proxy_focus_rows(tmp_path / "run")
    footer = " ".join(result.stdout[result.stdout.index("Assumptions"):].split())
    assert f"proxy tariffs: {len(rows):,} rows of the focus countries' trade ({', '.join(focus)})" in footer
