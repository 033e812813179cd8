"""The DuckDB/Parquet store: idempotent, all-or-nothing imports, queries, runs, concurrency."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocsim.data.store import Store, default_home
from blocsim.errors import BlocsimError, DataValidationError, StoreError
from blocsim.results.rundir import write_run

FIXTURES = Path(__file__).parent / "data" / "loaders"


def snapshot(store: Store) -> dict[str, str]:
    """Every file under the store with the SHA-256 of its bytes (the lock file excluded)."""
    return {
        str(p.relative_to(store.root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(store.root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def test_default_home_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BLOCSIM_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    assert Store().root == tmp_path / "h" / "store"


def test_import_file_is_idempotent(store: Store) -> None:
    first = store.import_file("geo", FIXTURES / "geo_cepii.csv", loader="cepii_geo")
    assert first.changed and first.rows == 4
    before = snapshot(store)
    again = store.import_file("geo", FIXTURES / "geo_cepii.csv", loader="cepii_geo")
    assert not again.changed and again.content_hash == first.content_hash
    assert snapshot(store) == before
    stored = store.table("geo")
    from blocsim.data.loaders import load_geodist_geo

    pd.testing.assert_frame_equal(stored, load_geodist_geo(FIXTURES / "geo_cepii.csv"))
    info = store.show("geo")
    assert info["rows"] == 4 and info["source"] == "cepii_geo" and ("iso3", "str") in info["columns"]
    listing = store.list()
    assert listing[["name", "source", "rows"]].values.tolist() == [["geo", "cepii_geo", 4]]


def test_custom_loader_function_and_arrow_tables(store: Store) -> None:
    from blocsim.data.loaders import load_baci

    def gdp_table(path: Path, scale: float = 1.0) -> pd.DataFrame:
        frame = pd.read_csv(path)
        return frame.assign(gdp_constant_2010_usd=frame["gdp_constant_2010_usd"] * scale)

    result = store.import_file("gdp", FIXTURES / "wdi_long.csv", loader=gdp_table, options={"scale": 1e-6})
    assert result.changed and store.show("gdp")["source"] == "gdp_table"
    assert store.table("gdp").set_index("iso3").loc["RUS", "gdp_constant_2010_usd"] == pytest.approx(1690780.0)
    baci = FIXTURES / "BACI_HS12_Y2012_V202401.csv"
    store.import_file("baci", baci, loader="baci", options={"engine": "duckdb", "arrow": True})
    pd.testing.assert_frame_equal(store.table("baci"), load_baci(baci))
    assert ("product", "string") in store.show("baci")["columns"]


def test_options_are_part_of_the_content_key(store: Store) -> None:
    store.import_file("geo", FIXTURES / "geo_cepii.csv", loader="cepii_geo")
    with pytest.raises(StoreError, match="already exists with different content"):
        store.import_file("geo", FIXTURES / "geo_cepii.csv", loader="cepii_geo", options={"city": "all"})
    result = store.import_file("geo", FIXTURES / "geo_cepii.csv", loader="cepii_geo", options={"city": "all"}, replace=True)
    assert result.changed and result.rows == 5
    assert len(list(store.tables_dir.glob("*.parquet"))) == 1  # the old version is gone


def test_failed_import_leaves_the_store_unchanged(store: Store, tmp_path: Path) -> None:
    store.import_file("eia", FIXTURES / "eia_long.csv", loader="eia")
    before, listing = snapshot(store), store.list()
    bad = tmp_path / "bad.csv"
    bad.write_text("year,origin,destination,eia\n2010,RUS,KAZ,Customs Union\n2010,RUS,KAZ,Customs Union\n")
    with pytest.raises(DataValidationError, match=r"bad\.csv: row 3"):
        store.import_file("eia2", bad, loader="eia")
    with pytest.raises(DataValidationError):
        store.import_file("eia", bad, loader="eia", replace=True)
    assert snapshot(store) == before
    pd.testing.assert_frame_equal(store.list(), listing)


def _without_pandas_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the in-memory BACI loader fail, so a passing import proves the DuckDB writer ran."""
    from blocsim.data import loaders

    def in_memory(*args: object, **kwargs: object) -> None:
        raise AssertionError("the DuckDB import path must not load the table in Python")

    monkeypatch.setitem(loaders.LOADERS, "baci", dataclasses.replace(loaders.LOADERS["baci"], function=in_memory))


def test_duckdb_import_writes_the_pandas_table_straight_to_parquet(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    baci = FIXTURES / "BACI_HS12_Y2012_V202401.csv"
    store.import_file("baci_pandas", baci, loader="baci", options={"engine": "pandas"})
    _without_pandas_loader(monkeypatch)
    result = store.import_file("baci_duckdb", baci, loader="baci", options={"engine": "duckdb"})
    assert result.changed and result.rows == 6
    pd.testing.assert_frame_equal(store.table("baci_duckdb"), store.table("baci_pandas"))
    info = store.show("baci_duckdb")
    assert info["rows"] == 6 and ("product", "string") in info["columns"] and ("year", "int64") in info["columns"]
    before = snapshot(store)
    again = store.import_file("baci_duckdb", baci, loader="baci", options={"engine": "duckdb"})
    assert not again.changed and again.content_hash == result.content_hash and snapshot(store) == before
    with pytest.raises(AssertionError, match="must not load"):  # the pandas engine does use the loader
        store.import_file("baci_other", baci, loader="baci", options={"engine": "pandas"})


def test_auto_engine_uses_duckdb_for_large_files(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from blocsim.data.loaders import baci as baci_module

    baci = FIXTURES / "BACI_HS12_Y2012_V202401.csv"
    assert baci_module.baci_parquet_writer(baci) is None  # a small file: pandas
    monkeypatch.setattr(baci_module, "AUTO_DUCKDB_BYTES", baci.stat().st_size)
    assert baci_module.baci_engine(baci, "auto") == "duckdb"
    _without_pandas_loader(monkeypatch)
    assert store.import_file("baci", baci, loader="baci").rows == 6


def test_failed_duckdb_import_names_the_cell_and_leaves_the_store_unchanged(store: Store, tmp_path: Path) -> None:
    good = FIXTURES / "BACI_HS12_Y2012_V202401.csv"
    store.import_file("baci", good, loader="baci", options={"engine": "duckdb"})
    before, listing = snapshot(store), store.list()
    bad = tmp_path / good.name
    (tmp_path / "country_codes_V202401.csv").write_bytes((FIXTURES / "country_codes_V202401.csv").read_bytes())
    lines = good.read_text().splitlines()
    lines[3] = lines[3].replace(",0.5,", ",-0.5,")  # file line 4
    bad.write_text("\n".join(lines) + "\n")
    for name, replace in (("baci", True), ("baci_new", False)):
        with pytest.raises(DataValidationError) as info:
            store.import_file(name, bad, loader="baci", options={"engine": "duckdb"}, replace=replace)
        assert str(info.value).startswith(f"{bad}: row 4, column 'v': negative value -0.5")
    lines[3] = lines[3].replace(",-0.5,", ",0.5x,")
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=r"row 4, column 'v': value '0.5x' is not a number"):
        store.import_file("baci", bad, loader="baci", options={"engine": "duckdb"}, replace=True)
    assert snapshot(store) == before
    pd.testing.assert_frame_equal(store.list(), listing)


def test_failure_while_writing_rolls_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.import_table("kept", pd.DataFrame({"a": [1.0, 2.0]}))
    before = snapshot(store)

    def broken_catalog(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Store, "_write_catalog", broken_catalog)
    with pytest.raises(StoreError, match="store unchanged: disk full"):
        store.import_table("new", pd.DataFrame({"a": [3.0]}))
    with pytest.raises(StoreError, match="store unchanged"):
        store.import_table("kept", pd.DataFrame({"a": [9.0]}), replace=True)
    monkeypatch.undo()

    def broken_parquet(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError("interrupted")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken_parquet)
    with pytest.raises(StoreError, match="interrupted"):
        store.import_table("other", pd.DataFrame({"a": [4.0]}))
    monkeypatch.undo()
    assert snapshot(store) == before
    assert store.list()["name"].tolist() == ["kept"]
    assert store.table("kept")["a"].tolist() == [1.0, 2.0]


def test_leftovers_of_a_killed_import_are_swept(store: Store) -> None:
    store.import_table("kept", pd.DataFrame({"a": [1.0]}))
    before = snapshot(store)
    (store.tables_dir / ".tmp-deadbeef.parquet").write_bytes(b"PAR1")
    (store.tables_dir / "orphan-0123456789abcdef.parquet").write_bytes(b"PAR1")
    (store.runs_dir / ".tmp-run").mkdir()
    reopened = Store(store.home)
    assert snapshot(reopened) == before
    assert reopened.table("kept")["a"].tolist() == [1.0]


def test_query_joins_datasets_and_reports_bad_sql(store: Store) -> None:
    store.import_file("dist", FIXTURES / "dist_cepii.csv", loader="cepii_dist")
    store.import_file("eia", FIXTURES / "eia_long.csv", loader="eia")
    joined = store.query(
        "SELECT d.exporter, d.importer, d.distw, e.eia_level FROM dist d JOIN eia e "
        "ON d.exporter = e.importer AND d.importer = e.exporter WHERE e.year = 2010"
    )
    assert joined.values.tolist() == [["KAZ", "RUS", 2152.753, 4]]
    assert store.query("SELECT count(*) AS n FROM dist")["n"].item() == 5
    with pytest.raises(StoreError, match="query failed"):
        store.query("SELECT * FROM nowhere")
    with pytest.raises(StoreError, match="not in the store"):
        store.table("nowhere")
    with pytest.raises(StoreError, match="not a valid dataset name"):
        store.import_table("Bad Name", pd.DataFrame({"a": [1]}))
    store.remove("eia")
    assert store.list()["name"].tolist() == ["dist"]


def make_run(folder: Path, welfare: float) -> Path:
    countries = pd.DataFrame({"country": ["RUS", "KAZ"], "welfare_pct": [welfare, -welfare]})
    flows = pd.DataFrame({"exporter": ["RUS"], "importer": ["KAZ"], "trade_baseline": [1.0], "trade_counterfactual": [1.1]})
    meta = {
        "scenario": {"name": "cet_2010", "title": "CET 2010", "event": "CU", "sources": [], "description": ""},
        "model": {"name": "multisector", "parameters": {}},
        "dataset": {"name": "eaeu", "year": 2012, "hash": "x"},
        "diagnostics": {"converged": True, "iterations": 3, "residual": 1e-10, "max_residual": 1e-10, "method": "fp"},
    }
    return write_run(folder, {"countries": countries, "flows": flows}, meta)


def test_runs_are_stored_listed_and_idempotent(store: Store, tmp_path: Path) -> None:
    run_dir = make_run(tmp_path / "run1", 0.5)
    run_id = store.add_run(run_dir)
    assert store.add_run(run_dir) == run_id and len(store.runs()) == 1
    other = store.add_run(make_run(tmp_path / "run2", 0.7))
    runs = store.runs()
    assert set(runs["run_id"]) == {run_id, other}
    row = runs.set_index("run_id").loc[run_id]
    assert (row["scenario"], row["model"], row["dataset"], row["year"], bool(row["converged"])) == (
        "cet_2010", "multisector", "eaeu", 2012, True,
    )
    path = store.run_path(run_id[:6])
    assert (path / "countries.csv").read_bytes() == (run_dir / "countries.csv").read_bytes()
    assert store.run_meta(run_id)["scenario"]["title"] == "CET 2010"
    with pytest.raises(StoreError, match="is not a stored run"):
        store.run_path("zzzz")
    with pytest.raises(BlocsimError, match="not a blocsim run directory"):
        store.add_run(tmp_path)


def test_run_limit_refuses_new_runs_and_delete_frees_a_slot(store: Store, tmp_path: Path) -> None:
    """Issue 13, finding 12: the store grew without bound and runs could not be deleted."""
    first_dir = make_run(tmp_path / "run1", 0.5)
    first = store.add_run(first_dir, max_runs=1)
    assert store.add_run(first_dir, max_runs=1) == first  # the same run again is not a new one
    before = snapshot(store)
    with pytest.raises(StoreError, match=r"holds 1 runs, its limit \(1\)"):
        store.add_run(make_run(tmp_path / "run2", 0.7), max_runs=1)
    assert snapshot(store) == before  # refused: nothing written
    with pytest.raises(StoreError, match="not a stored run"):
        store.delete_run(first[:6])  # a prefix never deletes
    store.delete_run(first)
    assert store.runs().empty and not (store.runs_dir / first).exists()
    assert (first_dir / "run.json").is_file() and (first_dir / "countries.csv").is_file()  # the source is untouched
    with pytest.raises(StoreError, match="not a stored run"):
        store.delete_run(first)
    assert store.add_run(make_run(tmp_path / "run2", 0.7), max_runs=1) in set(store.runs()["run_id"])


def _job(job_id: str, owner: str, state: str, created: str) -> dict[str, object]:
    return {"id": job_id, "owner": owner, "scenario": "s", "state": state, "stage": state, "progress": 0.0,
            "created_utc": created, "started_utc": None, "finished_utc": None, "run_id": None, "error": None}


def test_job_records_persist_are_interrupted_and_pruned(store: Store) -> None:
    store.save_job(_job("a" * 32, "o1", "queued", "2026-01-01T00:00:01"))
    store.save_job(_job("a" * 32, "o1", "running", "2026-01-01T00:00:01"))  # replaces, never duplicates
    store.save_job(_job("b" * 32, "o1", "queued", "2026-01-01T00:00:02"))
    store.save_job(_job("c" * 32, "o2", "running", "2026-01-01T00:00:03"))
    reopened = Store(store.home)
    assert [job["id"] for job in reopened.jobs()] == ["c" * 32, "b" * 32, "a" * 32]
    assert reopened.jobs("a" * 32)[0]["state"] == "running" and reopened.jobs("a" * 32)[0]["error"] is None
    assert reopened.unfinished_job_owners() == {"o1", "o2"}
    assert sorted(reopened.interrupt_jobs("o1", "server died")) == ["a" * 32, "b" * 32]
    marked = reopened.jobs("b" * 32)[0]
    assert (marked["state"], marked["stage"], marked["error"]) == ("failed", "interrupted", "server died")
    assert marked["finished_utc"] and reopened.jobs("c" * 32)[0]["state"] == "running"
    assert reopened.unfinished_job_owners() == {"o2"}
    for k in range(5):
        reopened.save_job(_job(f"{k:032d}", "o3", "succeeded", f"2026-02-01T00:00:0{k}"), keep=3)
    finished = [job["id"] for job in reopened.jobs() if job["state"] != "running"]
    assert finished == [f"{k:032d}" for k in (4, 3, 2)]  # the oldest finished ones are dropped
    assert reopened.jobs("c" * 32)  # unfinished jobs are never dropped


def test_threads_share_one_store(store: Store) -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            mine = Store(store.home)
            frame = pd.DataFrame({"k": np.full(50, k), "v": np.arange(50.0)})
            mine.import_table(f"t{k}", frame)
            assert mine.table(f"t{k}")["k"].eq(k).all()
            mine.list()
            mine.query(f"SELECT sum(v) FROM t{k}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.list()["name"].tolist() == [f"t{k}" for k in range(8)]


def _process_worker(home: str, k: int) -> int:
    store = Store(home)
    for j in range(3):
        store.import_table(f"p{k}_{j}", pd.DataFrame({"v": np.arange(20.0) * k}))
        store.list()
    return int(store.query(f"SELECT count(*) AS n FROM p{k}_0")["n"].item())


def test_processes_share_one_store(store: Store) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        counts = list(pool.map(_process_worker, [str(store.home)] * 2, range(1, 3)))
    assert counts == [20, 20]
    assert len(store.list()) == 6
