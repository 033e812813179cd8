"""Bad files: every loader names the file, row and column of the first problem.

Each case starts from a valid fixture in ``tests/data/loaders`` and breaks one thing:
the separator, a required column, a country code, a duplicated key or a negative value.
"""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from blocsim.data import loaders
from blocsim.errors import DataValidationError

FIXTURES = Path(__file__).parent / "data" / "loaders"


@dataclass(frozen=True)
class Case:
    loader: str
    fixture: str
    sep: str
    code_column: str
    value_column: str
    encoding: str = "utf-8"
    bad_code: str = "XYZ"
    duplicates: bool = True
    required_column: str = ""  # default: value_column
    negative_row: int = 2  # 0-based data row set to -5

    @property
    def missing(self) -> str:
        return self.required_column or self.value_column


CASES = [
    Case("cepii_dist", "dist_cepii.csv", ";", "iso_o", "dist"),
    Case("cepii_geo", "geo_cepii.csv", ";", "iso3", "area", encoding="latin-1", duplicates=False, required_column="lat"),
    Case("cepii_gravity", "gravity_v202211.csv", ",", "iso3_o", "gdp_o", required_column="dist", negative_row=3),
    Case("baci", "BACI_HS12_Y2012_V202401.csv", ",", "i", "v", bad_code="999"),
    Case("itpd", "ITPD_E_R02_sample.csv", ",", "exporter_iso3", "trade"),
    Case("comtrade", "comtrade_api.csv", ",", "reporterISO", "primaryValue"),
    Case("wits", "wits_tariffs.csv", ",", "Reporter", "Simple Average"),
    Case("wdi", "wdi_long.csv", ",", "iso3", "gdp_constant_2010_usd", negative_row=1),
    Case("wdi", "wdi_databank.csv", ",", "Country Code", "2012 [YR2012]"),
    Case("wb_trade", "wb_trade_every4y.csv", ",", "exp", "export"),
    Case("eia", "eia_long.csv", ",", "origin", "eia_level", required_column="eia"),
    Case("adb_mrio", "adb_mrio_summary.csv", ",", "iso3", "gross_output"),
]
IDS = [f"{c.loader}-{c.fixture.split('.')[0]}" for c in CASES]


def rewrite(case: Case, tmp_path: Path, edit: Callable[[list[list[str]]], list[list[str]]], sep: str | None = None) -> Path:
    """Copy the fixture (and BACI's code file) into tmp_path with ``edit`` applied to its rows."""
    with open(FIXTURES / case.fixture, encoding=case.encoding, newline="") as handle:
        rows = list(csv.reader(handle, delimiter=case.sep))
    if case.loader == "baci":
        shutil.copy(FIXTURES / "country_codes_V202401.csv", tmp_path)
    target = tmp_path / case.fixture
    with open(target, "w", encoding=case.encoding, newline="") as handle:
        csv.writer(handle, delimiter=sep or case.sep, lineterminator="\n").writerows(edit(rows))
    return target


def set_cell(rows: list[list[str]], data_row: int, column: str, value: str) -> list[list[str]]:
    rows[data_row + 1][rows[0].index(column)] = value
    return rows


def expect(path: Path, row: int | None, column: str | None, words: str) -> Callable[[DataValidationError], None]:
    def check(error: DataValidationError) -> None:
        message = str(error)
        assert str(path) in message, message
        if row is not None:
            assert re.search(rf"\brow {row}\b", message), message
        if column is not None:
            assert repr(column) in message or column in message, message
        assert re.search(words, message, re.IGNORECASE), message

    return check


def load(case: Case, path: Path) -> None:
    loaders.load(case.loader, path)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_separator(case: Case, tmp_path: Path) -> None:
    path = rewrite(case, tmp_path, lambda rows: rows, sep="\t" if case.sep == ";" else ";")
    with pytest.raises(DataValidationError) as info:
        load(case, path)
    expect(path, 1, None, "separator")(info.value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_missing_column(case: Case, tmp_path: Path) -> None:
    def drop(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index(case.missing)
        return [row[:index] + row[index + 1 :] if len(row) > index else row for row in rows]

    path = rewrite(case, tmp_path, drop)
    if case.loader == "wdi" and case.missing.startswith("2012"):
        loaders.load("wdi", path)  # a DataBank export may hold any set of years
        return
    with pytest.raises(DataValidationError) as info:
        load(case, path)
    expect(path, None, case.missing, "missing column|no value column")(info.value)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unknown_country_code(case: Case, tmp_path: Path) -> None:
    path = rewrite(case, tmp_path, lambda rows: set_cell(rows, 1, case.code_column, case.bad_code))
    with pytest.raises(DataValidationError) as info:
        load(case, path)
    expect(path, 3, case.code_column, f"unknown .*{case.bad_code}")(info.value)


@pytest.mark.parametrize("case", [c for c in CASES if c.duplicates], ids=[i for c, i in zip(CASES, IDS) if c.duplicates])
def test_duplicate_key(case: Case, tmp_path: Path) -> None:
    path = rewrite(case, tmp_path, lambda rows: [rows[0], rows[1], rows[1], *rows[2:]])
    with pytest.raises(DataValidationError) as info:
        load(case, path)
    expect(path, 3, None, r"duplicate key .*first seen at row 2")(info.value)


@pytest.mark.parametrize("case", [c for c in CASES if c.loader != "eia"], ids=[i for c, i in zip(CASES, IDS) if c.loader != "eia"])
def test_negative_value(case: Case, tmp_path: Path) -> None:
    path = rewrite(case, tmp_path, lambda rows: set_cell(rows, case.negative_row, case.value_column, "-5"))
    with pytest.raises(DataValidationError) as info:
        load(case, path)
    expect(path, case.negative_row + 2, case.value_column, "negative")(info.value)


def test_non_numeric_value_and_eia_level_mismatch(tmp_path: Path) -> None:
    case = CASES[-3]  # wb_trade
    path = rewrite(case, tmp_path, lambda rows: set_cell(rows, 0, "export", "12,5"))
    with pytest.raises(DataValidationError) as info:
        load(case, path)
    expect(path, 2, "export", "not a number")(info.value)
    eia = CASES[-2]
    path = rewrite(eia, tmp_path, lambda rows: set_cell(rows, 1, "eia_level", "2"))
    with pytest.raises(DataValidationError) as info:
        load(eia, path)
    expect(path, 3, "eia_level", "does not match label 'Customs Union'")(info.value)


def test_baci_duckdb_engine_reports_the_same_rows(tmp_path: Path) -> None:
    case = CASES[3]
    negative = rewrite(case, tmp_path, lambda rows: set_cell(rows, 2, "v", "-5"))
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(negative, engine="duckdb")
    expect(negative, 4, "v", "negative")(info.value)
    duplicate = rewrite(case, tmp_path, lambda rows: [rows[0], rows[1], rows[1], *rows[2:]])
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(duplicate, engine="duckdb")
    expect(duplicate, 3, "k", "duplicate key .*first seen at row 2")(info.value)
    unknown = rewrite(case, tmp_path, lambda rows: set_cell(rows, 1, "j", "999"))
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(unknown, engine="duckdb")
    expect(unknown, 3, "j", "unknown BACI country code 999")(info.value)


def test_missing_file_and_wdi_gap_inside_data(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no such file"):
        loaders.load_baci(tmp_path / "absent.csv")
    case = CASES[8]  # DataBank wide
    path = rewrite(case, tmp_path, lambda rows: set_cell(rows, 1, "Country Code", ""))
    with pytest.raises(DataValidationError) as info:
        load(case, path)
    expect(path, 3, "Country Code", "empty country code inside the data")(info.value)


def test_baci_non_integer_code_is_located_by_both_engines(tmp_path: Path) -> None:
    case = CASES[3]
    path = rewrite(case, tmp_path, lambda rows: set_cell(rows, 1, "i", "abc"))
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(path)
    expect(path, 3, "i", "'abc' is not a number")(info.value)
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(path, engine="duckdb")
    expect(path, 3, "i", "'abc' is not a number")(info.value)


BACI_EDITS = {  # edit of the BACI fixture -> (row, column, words) both engines must report
    "fractional code": (lambda rows: set_cell(rows, 1, "i", "12.5"), 3, "i", "12.5 is not a whole number"),
    "empty year": (lambda rows: set_cell(rows, 2, "t", ""), 4, "t", "missing value"),
    "infinite code": (lambda rows: set_cell(rows, 0, "j", "inf"), 2, "j", "inf is not a whole number"),
    "text value": (lambda rows: set_cell(rows, 0, "v", "1,5x"), 2, "v", "is not a number"),
    "empty value": (lambda rows: set_cell(rows, 3, "v", ""), 5, "v", "missing value"),
    "text quantity": (lambda rows: set_cell(rows, 4, "q", "abc"), 6, "q", "'abc' is not a number"),
    "negative quantity": (lambda rows: set_cell(rows, 4, "q", "-1"), 6, "q", "negative value -1.0;"),
    "non-HS6 product": (lambda rows: set_cell(rows, 2, "k", "12345A"), 4, "k", "'12345A' is not an HS6 code"),
    "unknown importer": (lambda rows: set_cell(rows, 3, "j", "998"), 5, "j", "unknown BACI country code 998"),
    # 10121 and 010121 are the same HS6 product
    "duplicate after zero-padding": (
        lambda rows: [*rows, ["2012", "643", "398", "10121", "1", "NA"]], 8, "k", "duplicate key .*first seen at row 2"
    ),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # pandas reading "inf"
@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("edit", list(BACI_EDITS))
def test_baci_engines_report_the_same_row_and_column(edit: str, engine: str, tmp_path: Path) -> None:
    change, row, column, words = BACI_EDITS[edit]
    path = rewrite(CASES[3], tmp_path, change)
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(path, engine=engine)
    expect(path, row, column, words)(info.value)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_baci_ragged_line_is_reported_alike_and_padded_na(engine: str, tmp_path: Path) -> None:
    path = rewrite(CASES[3], tmp_path, lambda rows: [*rows[:3], [*rows[3], "7"], *rows[4:]])
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(path, engine=engine)
    expect(path, 4, None, "cannot be read: 7 fields where the header has 6")(info.value)
    padded = rewrite(CASES[3], tmp_path, lambda rows: set_cell(rows, 0, "q", "  NA  "))
    assert loaders.load_baci(padded, engine=engine)["quantity"].isna().sum() == 3


def test_baci_engine_option_is_checked(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="engine='polars': allowed are 'auto', 'pandas', 'duckdb'"):
        loaders.load_baci(FIXTURES / CASES[3].fixture, engine="polars")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="arrow=True needs engine='duckdb'"):
        loaders.load_baci(FIXTURES / CASES[3].fixture, engine="pandas", arrow=True)
