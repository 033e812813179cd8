"""``blocsim export``: Excel workbook with README, Stata files with labels, locale-aware CSV."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import blocsim
from blocsim.cli.main import app
from blocsim.errors import BlocsimError
from blocsim.results import export_run
from blocsim.results.columns import describe_column
from blocsim.results.export import stata_label, stata_names

TOL = 1e-12


def _flat(result: object) -> str:
    """CLI output with Rich's line wrapping undone."""
    return " ".join(result.output.split())  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library scenario run with Monte Carlo bands, made by the CLI in a subprocess."""
    base = tmp_path_factory.mktemp("export")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(blocsim.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "blocsim", "run", "kazakhstan-leaves", "--draws", "4",
                           "--out", str(base / "leave"), "--json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return base / "leave"


def _tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    return {path.stem: pd.read_csv(path) for path in sorted(run_dir.glob("*.csv"))}


def test_every_run_column_has_a_definition(run_dir: Path) -> None:
    undocumented = [f"{name}.{column}" for name, frame in _tables(run_dir).items() for column in frame.columns
                    if describe_column(column).definition == "not documented"]
    assert undocumented == []
    assert describe_column("welfare_pct_p95").unit == "percent"
    assert describe_column("p05").label.startswith("5th percentile")


def test_xlsx_has_one_sheet_per_table_and_a_readme(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "leave.xlsx"
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "xlsx", "--out", str(target)])
    assert result.exit_code == 0, result.output
    tables = _tables(run_dir)
    book = openpyxl.load_workbook(target, read_only=True)
    assert book.sheetnames == ["README", "countries", "bands", "bloc_effects", "partner_groups", "flows", "tariffs",
                               "sensitivity"]
    assert set(book.sheetnames[1:]) == set(tables)
    readme = list(book["README"].iter_rows(values_only=True))
    keys = {(row[0], row[1]): row[2] for row in readme if row[0] in ("run", "provenance", "assumptions", "units")}
    assert keys[("run", "scenario")] == "kazakhstan-leaves"
    assert keys[("provenance", "dataset.year")] == "2015"  # the pre-event year of the 2016 exit
    assert float(keys[("assumptions", "model.parameters.theta.A01")]) > 0
    assert "(counterfactual - baseline) / baseline * 100" in keys[("units", "conventions")]
    documented = {(row[1], row[2]): row[3:6] for row in readme if row[0] == "column"}
    for name, frame in tables.items():
        for column in frame.columns:
            definition = describe_column(column)
            assert documented[(name, column)] == (definition.label, definition.unit, definition.definition)
    book.close()
    sheet = pd.read_excel(target, sheet_name="countries")  # cells keep 16 significant digits
    # Excel has one number type: a column of whole numbers (welfare_from_remittances_pct, all 0.0) reads back as int
    pd.testing.assert_frame_equal(sheet, tables["countries"], check_exact=False, rtol=1e-15, atol=TOL,
                                  check_dtype=False)


def test_dta_reads_back_with_labels(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dta"
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "dta", "--out", str(out)])
    assert result.exit_code == 0, result.output
    tables = _tables(run_dir)
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{name}.dta" for name in tables] + ["README.txt"])
    for name, frame in tables.items():
        with pd.io.stata.StataReader(out / f"{name}.dta") as reader:
            data = reader.read()
            labels = reader.variable_labels()
            assert reader.data_label == f"blocsim kazakhstan-leaves: {name}"
        assert list(data.columns) == list(frame.columns)  # the run's names are valid Stata names
        assert labels == {column: stata_label(column, renamed=False) for column in frame.columns}
        for column in frame.columns:
            if pd.api.types.is_numeric_dtype(frame[column]):
                np.testing.assert_allclose(data[column].astype(float), frame[column].astype(float), rtol=0, atol=TOL)
            else:
                assert data[column].tolist() == frame[column].fillna("").astype(str).tolist()
    assert labels_of(out / "countries.dta")["welfare_pct"] == "Welfare (real income), % change"
    assert pd.read_stata(out / "countries.dta").shape == tables["countries"].shape


def labels_of(path: Path) -> dict[str, str]:
    with pd.io.stata.StataReader(path) as reader:
        return reader.variable_labels()


def test_stata_names_follow_stata_rules_and_labels_keep_the_original() -> None:
    long = "x" * 40
    names = stata_names(["welfare_pct", "1st", "a b", "if", "str10", long, long + "y", "p05"])
    assert names == {"welfare_pct": "welfare_pct", "1st": "_1st", "a b": "a_b", "if": "_if", "str10": "_str10",
                     long: "x" * 32, long + "y": "x" * 30 + "_2", "p05": "p05"}
    assert stata_label("a b", renamed=True).startswith("a b: ")
    assert stata_label("tariff_revenue_change", renamed=False) == "Tariff revenue received, change (USD millions)"
    assert all(len(stata_label(name, renamed=True)) <= 80 for name in names)


@pytest.mark.parametrize("locale", ["ru", "kk"])
def test_ru_kk_csv_parses_back_with_semicolon_and_decimal_comma(run_dir: Path, tmp_path: Path, locale: str) -> None:
    out = tmp_path / locale
    result = CliRunner().invoke(app, ["export", str(run_dir), "--format", "csv", "--locale", locale, "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name, frame in _tables(run_dir).items():
        raw = (out / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark for Excel
        header = raw[3:].split(b"\n", 1)[0].decode()
        assert header == ";".join(frame.columns)
        back = pd.read_csv(out / f"{name}.csv", sep=";", decimal=",", encoding="utf-8-sig")
        pd.testing.assert_frame_equal(back, frame, check_exact=False, rtol=0, atol=TOL)
    countries = (out / "countries.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert "," in countries and "." not in countries  # decimal commas, no decimal points


def test_en_csv_uses_comma_and_point(run_dir: Path, tmp_path: Path) -> None:
    written = export_run(run_dir, "csv", out=tmp_path / "en")
    assert {p.name for p in written} >= {"countries.csv", "README.txt"}
    back = pd.read_csv(tmp_path / "en" / "countries.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back, _tables(run_dir)["countries"], check_exact=False, rtol=0, atol=TOL)
    assert "sep=','" in (tmp_path / "en" / "README.txt").read_text(encoding="utf-8")


def test_default_paths_sit_beside_the_run(run_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(run_dir, copy)
    assert export_run(copy, "xlsx") == [tmp_path / "copy.xlsx"]
    assert (tmp_path / "copy-dta" / "countries.dta").is_file() is False
    export_run(copy, "dta")
    export_run(copy, "csv", locale="ru")
    assert (tmp_path / "copy-dta" / "countries.dta").is_file()
    assert (tmp_path / "copy-csv-ru" / "countries.csv").is_file()
    assert sorted(p.name for p in copy.iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in run_dir.iterdir() if not p.name.startswith("."))  # nothing written into the run


def test_existing_files_are_never_overwritten_without_force(run_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "mine.xlsx"
    target.write_bytes(b"my workbook")
    refused = CliRunner().invoke(app, ["export", str(run_dir), "--format", "xlsx", "--out", str(target)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "these files already exist: mine.xlsx" in _flat(refused)
    assert target.read_bytes() == b"my workbook"
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "flows.csv").write_text("mine")
    refused = CliRunner().invoke(app, ["export", str(run_dir), "--format", "csv", "--out", str(folder)])
    assert refused.exit_code == 1 and "flows.csv" in _flat(refused)
    assert sorted(p.name for p in folder.iterdir()) == ["flows.csv"]  # nothing half-written
    forced = CliRunner().invoke(app, ["export", str(run_dir), "--format", "xlsx", "--out", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert openpyxl.load_workbook(target).sheetnames[0] == "README"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_bad_options_are_one_line_errors(run_dir: Path, tmp_path: Path) -> None:
    cases = {
        ("--format", "pdf"): "--format 'pdf': unknown; allowed are xlsx, dta, csv",
        ("--format", "csv", "--locale", "de"): "--locale 'de': unknown; allowed are en, ru, kk",
        ("--format", "xlsx", "--locale", "ru"): "--locale ru: applies to --format csv only",
    }
    for args, message in cases.items():
        result = CliRunner().invoke(app, ["export", str(run_dir), *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 1 and message in _flat(result) and "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["export", str(tmp_path / "nope"), "--format", "csv"])
    assert missing.exit_code == 1 and "not a blocsim run directory" in _flat(missing)
    with pytest.raises(BlocsimError, match="unknown; allowed are xlsx"):
        export_run(run_dir, "json")  # type: ignore[arg-type]
