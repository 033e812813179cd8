"""``blocsim data import|list|show|export|runs`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from blocsim.data.store import Store
from run_records import record

FIXTURES = Path(__file__).parent / "data" / "loaders"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BLOCSIM_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["data", *args])


def test_list_json_shows_bundled_eaeu_and_imported_datasets(home: Path) -> None:
    result = run("import", "wb_trade", str(FIXTURES / "wb_trade_every4y.csv"), "--name", "penppml")
    assert result.exit_code == 0, result.output
    assert "penppml: imported, 6 rows" in result.output
    again = run("import", "wb_trade", str(FIXTURES / "wb_trade_every4y.csv"), "--name", "penppml")
    assert again.exit_code == 0 and "unchanged" in again.output
    listing = run("list", "--json")
    assert listing.exit_code == 0, listing.output
    entries = {entry["name"]: entry for entry in json.loads(listing.output)}
    assert entries["eaeu"]["origin"] == "bundled" and entries["eaeu"]["years"] == list(range(2011, 2023))
    assert entries["eaeu"]["region_count"] == 85 and entries["eaeu"]["sector_count"] == 28
    assert entries["eaeu-2016v1"]["years"] == [2008, 2012, 2016]
    assert entries["penppml"]["origin"] == "store" and entries["penppml"]["rows"] == 6
    table = run("list")
    assert table.exit_code == 0 and "eaeu" in table.output and "penppml" in table.output


def test_import_bad_file_fails_cleanly_and_stores_nothing(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("exp,imp,time,export\nRUS,KAZ,2012,-4\n")
    result = run("import", "wb_trade", str(bad), "--name", "bad")
    assert result.exit_code == 1
    assert "row 2" in result.output and "'export'" in result.output and "negative" in result.output
    assert Store(home).list().empty
    unknown = run("import", "nope", str(bad), "--name", "bad")
    assert unknown.exit_code == 1 and "allowed are cepii_dist" in unknown.output
    clash = run("import", "wb_trade", str(FIXTURES / "wb_trade_every4y.csv"), "--name", "eaeu")
    assert clash.exit_code == 1 and "bundled dataset" in clash.output


def test_import_with_loader_option_and_replace(home: Path) -> None:
    baci = str(FIXTURES / "BACI_HS12_Y2012_V202401.csv")
    assert run("import", "baci", baci, "--name", "baci12", "--option", "engine=duckdb").exit_code == 0
    assert run("import", "baci", baci, "--name", "baci12").exit_code == 1  # other options: other content
    assert run("import", "baci", baci, "--name", "baci12", "--replace").exit_code == 0
    shown = run("show", "baci12")
    assert shown.exit_code == 0 and "6 rows" in shown.output and "product (str)" in shown.output
    assert run("show", "nothing").exit_code == 1


def test_export_eaeu_writes_totals_and_tariffs(home: Path, tmp_path: Path) -> None:
    from blocsim.data.datasets import load_dataset

    out = tmp_path / "export"
    result = run("export", "eaeu-2016v1", "--out", str(out))
    assert result.exit_code == 0, result.output
    for name in ("flows.csv", "flows_sectoral.csv", "tariffs.csv", "gravity.csv", "countries.csv", "sectors.csv", "meta.json"):
        assert (out / name).is_file(), name
    flows = pd.read_csv(out / "flows.csv", keep_default_na=False)
    assert list(flows.columns[:4]) == ["exporter", "importer", "year", "trade"]
    dataset = load_dataset("eaeu-2016v1")
    expected = dataset.flows.groupby(["exporter", "importer", "year"])["trade"].sum()
    got = flows.set_index(["exporter", "importer", "year"])["trade"]
    assert len(got) == len(expected) == 18 * 18 * 3
    np.testing.assert_allclose(got.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-12)
    tariffs = pd.read_csv(out / "tariffs.csv")
    assert {"importer", "sector", "year", "regime", "rate", "source"} <= set(tariffs.columns)
    sectoral = pd.read_csv(out / "flows_sectoral.csv", keep_default_na=False)
    assert len(sectoral) == len(dataset.flows)
    show = run("show", "eaeu-2016v1", "--rows", "2")
    assert show.exit_code == 0 and "flows" in show.output and "tariffs" in show.output


def test_export_refuses_to_overwrite_existing_files(home: Path, tmp_path: Path) -> None:
    """Issue 13, finding 2: ``data export --out`` overwrote existing files."""
    out = tmp_path / "analysis"
    out.mkdir()
    (out / "flows.csv").write_text("my own flows, hand-cleaned")
    (out / "tariffs.csv").write_text("my tariffs")
    (out / "notes.txt").write_text("notes")
    result = run("export", "eaeu", "--out", str(out))
    message = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "these files already exist: flows.csv, tariffs.csv" in message and "--force" in message
    assert sorted(p.name for p in out.iterdir()) == ["flows.csv", "notes.txt", "tariffs.csv"]
    assert (out / "flows.csv").read_text() == "my own flows, hand-cleaned"


def test_export_with_force_replaces_only_the_files_it_writes(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "analysis"
    out.mkdir()
    (out / "flows.csv").write_text("old export")
    (out / "notes.txt").write_text("notes")
    (out / "sectors.csv").mkdir()  # not a file: refused even with --force
    refused = run("export", "eaeu-2016v1", "--out", str(out), "--force")
    assert refused.exit_code == 1 and "not regular files: sectors.csv" in " ".join(refused.output.split())
    assert (out / "flows.csv").read_text() == "old export"
    (out / "sectors.csv").rmdir()
    assert run("export", "eaeu-2016v1", "--out", str(out), "--force").exit_code == 0
    assert pd.read_csv(out / "flows.csv").columns[0] == "exporter"
    assert (out / "notes.txt").read_text() == "notes"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["countries.csv", "flows.csv", "flows_sectoral.csv", "gravity.csv", "meta.json", "notes.txt",
         "sectors.csv", "tariffs.csv"]
    )


def test_export_removes_temporaries_of_killed_exports_only(home: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from blocsim.results.journal import host_tag

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    out = tmp_path / "exp"
    out.mkdir()
    stale = out / f".eia.csv.tmp-{child.pid}-{host_tag()}-0badc0de"
    foreign_host = out / f".eia.csv.tmp-{child.pid}-0123abcd-0badc0de"
    for path in (stale, foreign_host):
        path.write_text("half an export")
    assert run("import", "eia", str(FIXTURES / "eia_long.csv"), "--name", "eia").exit_code == 0
    assert run("export", "eia", "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([foreign_host.name, "eia.csv"])


def test_export_store_dataset_and_runs_listing(home: Path, tmp_path: Path) -> None:
    assert run("import", "eia", str(FIXTURES / "eia_long.csv"), "--name", "eia").exit_code == 0
    out = tmp_path / "exp"
    assert run("export", "eia", "--out", str(out)).exit_code == 0
    exported = pd.read_csv(out / "eia.csv")
    assert len(exported) == 6 and exported["eia_level"].tolist() == [3, 4, 4, 0, -1, 1]
    from blocsim.results.rundir import write_run

    run_dir = write_run(
        tmp_path / "r",
        {"countries": pd.DataFrame({"country": ["RUS"], "welfare_pct": [0.1]})},
        record("s", model={"name": "onesector", "parameters": {}}, dataset={"name": "eaeu", "year": 2012, "hash": "0"}),
    )
    run_id = Store(home).add_run(run_dir)
    runs = run("runs", "--json")
    assert runs.exit_code == 0 and json.loads(runs.output)[0]["run_id"] == run_id
