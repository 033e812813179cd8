"""The typed run record (issue 15, item 3): run.json is a blocsim.RunRecord, written once, validated on read."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import blocsim
from blocsim.data import RunRecord, Store, read_run_record
from blocsim.data.run_record import RunRecordUpgraded, upgrade_run_record
from blocsim.errors import BlocsimError
from blocsim.report import load_run
from blocsim.results import read_run, write_run
from run_records import record

ROOT = Path(__file__).resolve().parents[1]
GE_EXAMPLE = ROOT / "examples" / "trade_without_borders.toml"
COMMON = {"converged", "iterations", "residual", "max_residual", "method", "parts", "failed", "message", "extra"}


@pytest.fixture(scope="module")
def library_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every library scenario run into a run directory."""
    root = tmp_path_factory.mktemp("library")
    return {name: blocsim.run_scenario(name, root / name).run_dir for name in blocsim.library_names()}


@pytest.fixture(scope="module")
def onesector_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`blocsim ge` on the Yotov et al. example, through the CLI."""
    from typer.testing import CliRunner

    from blocsim.cli.main import app

    out = tmp_path_factory.mktemp("ge") / "run"
    result = CliRunner().invoke(app, ["ge", str(GE_EXAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_record_is_public() -> None:
    assert blocsim.RunRecord is RunRecord


def test_every_library_scenario_writes_a_valid_record(library_runs: dict[str, Path]) -> None:
    for name, run_dir in library_runs.items():
        raw = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        rec = RunRecord.model_validate(raw)  # strict: no upgrade, no unknown key
        assert rec.schema_version == 2 and rec.scenario.name == name and rec.model.name == "multisector"
        assert rec == read_run_record(run_dir)
        names = {a.name for a in rec.assumptions}
        assert {"closure", "data year", "tariff year"} <= names
        assert {f"theta[{s}]" for s in rec.model.parameters["theta"]} <= names  # type: ignore[union-attr]
        assert rec.files == sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))


def test_border_cost_and_measure_parameters_are_assumptions(library_runs: dict[str, Path]) -> None:
    leaves = {a.name: a for a in read_run_record(library_runs["kazakhstan-leaves"]).assumptions}
    assert leaves["border_cost[EAEU]"].value == 0.02 and leaves["border_cost[EAEU]"].flag == "assumed"
    ban = read_run_record(library_runs["russia-food-ban-2014-belarus-reexports"]).assumptions
    assert any(a.name.startswith("reexport_cost[") and a.value == 0.15 for a in ban)


def test_onesector_ge_run_writes_a_valid_record(onesector_run: Path) -> None:
    raw = json.loads((onesector_run / "run.json").read_text(encoding="utf-8"))
    rec = RunRecord.model_validate(raw)
    assert rec.model.name == "onesector" and rec.estimation is not None and rec.config is not None
    assert rec.dataset.year == 2006 and rec.dataset.file_hash


def test_diagnostics_have_the_same_keys_for_every_model(library_runs: dict[str, Path], onesector_run: Path) -> None:
    multi = json.loads((library_runs["kazakhstan-leaves"] / "run.json").read_text())["diagnostics"]
    one = json.loads((onesector_run / "run.json").read_text())["diagnostics"]
    assert set(multi) == set(one) == COMMON
    assert "closure" in multi["extra"] and "solves" in one["extra"]


def test_pe_is_an_allowed_model_name() -> None:
    rec = RunRecord.model_validate({"schema_version": 2, "package": "blocsim", "version": "0", "created_utc": "",
                                    "files": ["run.json"], **record(model={"name": "pe", "parameters": {}})})
    assert rec.model.name == "pe"


def _run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run", {"countries": pd.DataFrame({"country": ["KAZ"], "welfare_pct": [0.1]})},
                     record())


def _edit(run_dir: Path, change) -> None:
    raw = json.loads((run_dir / "run.json").read_text())
    change(raw)
    (run_dir / "run.json").write_text(json.dumps(raw))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["diagnostics"].update(convergd=True), r"unknown field 'diagnostics.convergd'.*allowed here: "
                                                            r"converged, iterations"),
        (lambda r: r.update(focus_country=["KAZ"]), r"unknown field 'focus_country'"),
        (lambda r: r["diagnostics"].update(iterations="many"), r"field 'diagnostics.iterations': got 'many'"),
        (lambda r: r["model"].update(name="gravity"), r"field 'model.name': got 'gravity'.*'multisector', "
                                                      r"'onesector' or 'pe'"),
        (lambda r: r.pop("dataset"), r"field 'dataset' is required"),
    ],
)
def test_a_bad_record_is_a_clear_error_from_every_reader(tmp_path: Path, change, message: str) -> None:
    run_dir = _run(tmp_path)
    _edit(run_dir, change)
    where = str(run_dir / "run.json")
    readers = [read_run_record, read_run, load_run, Store(tmp_path / "home").add_run]
    for reader in readers:
        with pytest.raises(BlocsimError, match=message) as caught:
            reader(run_dir)
        assert where in str(caught.value), reader
    assert Store(tmp_path / "home").runs().empty  # nothing stored


def test_web_results_refuse_a_bad_record(tmp_path: Path) -> None:
    if importlib.util.find_spec("fastapi") is None:
        pytest.fail("fastapi is a dependency of blocsim's dashboard")
    from blocsim.web.service import Dashboard, Settings

    run_dir = _run(tmp_path)
    service = Dashboard(Settings.from_env(home=tmp_path / "home", workers=1))
    run_id = service._store.add_run(run_dir)
    _edit(service.run_dir(run_id), lambda r: r.update(typo=1))
    with pytest.raises(BlocsimError, match=r"run.json: unknown field 'typo'"):
        service.results(run_id)
    service.close()


def test_write_run_refuses_a_bad_record_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(BlocsimError, match=r"run.json to write: unknown field 'n'"):
        write_run(tmp_path / "run", {"countries": pd.DataFrame({"country": ["KAZ"]})}, {**record(), "n": 1})
    assert list(tmp_path.iterdir()) == []


def test_write_run_takes_a_record(tmp_path: Path) -> None:
    first = read_run_record(_run(tmp_path))
    again = write_run(tmp_path / "again", {"countries": pd.DataFrame({"country": ["KAZ"]})}, first)
    assert read_run_record(again) == first.model_copy(update={"files": ["countries.csv", "run.json"]})


OLD_ONESECTOR = {  # run.json of `blocsim ge` as the release before the typed record wrote it (abridged)
    "package": "blocsim", "version": "0.1.0", "created_utc": "2026-01-01T00:00:00+00:00",
    "scenario": {"name": "trade-without-borders", "title": "t", "event": "", "description": "", "sources": []},
    "policy_changes": ["set INTL_BRDR = 0"],
    "model": {"name": "blocsim.solve_ge (one-sector structural gravity)", "parameters": {"sigma": 7.0}},
    "dataset": {"name": "yotov", "file_hash": "f", "year": 2006, "countries": 69, "hash": "h"},
    "diagnostics": {"converged": True, "iterations": 27, "max_residual": 5e-13, "method": "textbook-anderson",
                    "inner_converged": True, "solves": [{"iterations": 13, "converged": True}]},
    "focus_countries": [],
    "files": ["countries.csv", "flows.csv", "run.json"],
}


def test_an_old_record_is_upgraded_with_a_warning(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    (run_dir / "run.json").write_text(json.dumps(OLD_ONESECTOR))
    with pytest.warns(RunRecordUpgraded, match=r"run.json: written by an earlier blocsim \(no schema_version\)"):
        rec = read_run_record(run_dir)
    assert rec.model.name == "onesector" and rec.schema_version == 2
    assert rec.diagnostics.residual == 5e-13 and rec.diagnostics.extra == {
        "inner_converged": True, "solves": [{"iterations": 13, "converged": True}]}
    assert upgrade_run_record(OLD_ONESECTOR)["diagnostics"]["extra"]["inner_converged"] is True


def test_an_old_record_with_an_unknown_key_is_still_an_error(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    (run_dir / "run.json").write_text(json.dumps({**OLD_ONESECTOR, "n": 1}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RunRecordUpgraded)
        with pytest.raises(BlocsimError, match=r"unknown field 'n'"):
            read_run_record(run_dir)


def test_the_committed_schema_is_current() -> None:
    spec = importlib.util.spec_from_file_location("run_record_schema", ROOT / "docs" / "run_record_schema.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    committed = (ROOT / "docs" / "run-record.schema.json").read_text(encoding="utf-8")
    assert json.loads(committed) == RunRecord.model_json_schema(), (
        "docs/run-record.schema.json is stale: run `PYTHONPATH=src python docs/run_record_schema.py`")
    assert committed == module.schema_text()


def test_every_record_field_is_documented() -> None:
    text = (ROOT / "docs" / "run-record.md").read_text(encoding="utf-8")
    missing = [name for name in RunRecord.model_fields if f"`{name}`" not in text]
    assert not missing, f"docs/run-record.md does not describe {missing}"
