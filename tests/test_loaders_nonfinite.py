"""Non-finite values never enter a table (issue 13, finding 8), and the two BACI engines treat
every hostile file alike.

``nan``, ``inf``, ``Infinity`` and ``1e309`` (which parses to inf) are rejected by every loader
with the file, row, column and the cell as written; the pandas and DuckDB BACI engines give the
same table or the same error, word for word, on a set of hostile CSVs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from test_loaders_errors import CASES, FIXTURES, IDS, Case, expect, rewrite, set_cell

from blocsim.data import loaders
from blocsim.data.loaders import baci_parquet_writer
from blocsim.errors import DataValidationError

NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e309"]


@pytest.mark.parametrize("text", NON_FINITE)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_loader_rejects_non_finite_values(case: Case, text: str, tmp_path: Path) -> None:
    path = rewrite(case, tmp_path, lambda rows: set_cell(rows, case.negative_row, case.value_column, text))
    with pytest.raises(DataValidationError) as info:
        loaders.load(case.loader, path)
    # eia_level is a whole number: inf and nan are "not a whole number" there
    words = rf"value '?{text.lower() if case.loader == 'eia' else text}'? is not a (finite|whole) number"
    if case.loader == "eia":
        words = r"value (-?inf|nan) is not a whole number"
    expect(path, case.negative_row + 2, case.value_column, words)(info.value)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize(("column", "text"), [("v", "1e309"), ("q", "inf"), ("v", "NaN"), ("q", "nan")])
def test_baci_non_finite_cells_are_quoted_as_written(engine: str, column: str, text: str, tmp_path: Path) -> None:
    path = rewrite(CASES[3], tmp_path, lambda rows: set_cell(rows, 2, column, text))
    allowed = " or leave the cell empty" if column == "q" else ""
    with pytest.raises(DataValidationError) as info:
        loaders.load_baci(path, engine=engine)
    assert str(info.value) == (
        f"{path}: row 4, column '{column}': value '{text}' is not a finite number; write a finite number{allowed}"
    )


def test_typed_parquet_inputs_reject_infinity(tmp_path: Path) -> None:
    frame = pd.read_csv(FIXTURES / "adb_mrio_summary.csv")
    frame.loc[1, "gross_output"] = np.inf
    path = tmp_path / "adb.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataValidationError) as info:
        loaders.load_adb_mrio(path)
    assert str(info.value) == (
        f"{path}: row 2, column 'gross_output': value inf is not a finite number; write a finite number"
    )


# -- the two BACI engines on hostile files ---------------------------------------------------

HEADER = "t,i,j,k,v,q"
GOOD = ["2012,643,398,010121,1234.567,   12.5", "2012,398,643,270900,99.1,           NA", "2012,112,51,10121,0.5,1"]


def lines(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def replace(row: int, column: str, text: str) -> str:
    """The good rows with one cell replaced."""
    rows = [line.split(",") for line in GOOD]
    rows[row][HEADER.split(",").index(column)] = text
    return lines(*(",".join(r) for r in rows))


HOSTILE: dict[str, str] = {
    "valid": lines(*GOOD),
    "empty file": "",
    "header only": lines(),
    "blank first line": "\n" + lines(*GOOD),
    "duplicated header v": lines("2012,643,398,010121,1,2,3", header="t,i,j,k,v,q,v"),
    "duplicated header after blanks": lines("2012,643,398,010121,1,2,3", header="t,i,j,k, v,q,v"),
    "quoted header": lines(*GOOD, header='"t","i","j","k","v","q"'),
    "extra column with a space": lines(*(g + ",x" for g in GOOD), header=HEADER + ",my note"),
    "missing column": lines("2012,643,398,010121,1", header="t,i,j,k,v"),
    "semicolons": lines(*(g.replace(",", ";") for g in GOOD), header=HEADER.replace(",", ";")),
    **{f"v {text}": replace(1, "v", text) for text in ["nan", "NaN", "-nan", "inf", "+inf", "-inf", "Infinity",
                                                      "1e309", "-1e309", "NA", "", "  ", "-1", "-0.0", " 12.5 ",
                                                      "1_000", "1,5x", "nan(1)", "0x1A", "1e-400", "+5", ".5"]},
    **{f"q {text}": replace(2, "q", text) for text in ["nan", "inf", "1e309", "-2", "abc", "1_0", "  NA  ", ""]},
    **{f"t {text}": replace(0, "t", text) for text in ["inf", "nan", "NA", "", "2012.5", "2_012", "2012.0", " 2012 "]},
    **{f"i {text}": replace(0, "i", text) for text in ["nan", "1e309", "999", "abc", "643.0"]},
    **{f"k {text}": replace(1, "k", text) for text in ["NA", "", "1234567", "12345A", "  270900 ", "-12345"]},
    "v tab-padded": replace(1, "v", "\t12.5"),
    "q tab only": replace(1, "q", "\t"),
    "k tab-padded": replace(1, "k", "\t270900"),
    "quoted numbers": lines('"2012","643","398","010121","1.5","2"'),
    "CRLF line ends": lines(*GOOD).replace("\n", "\r\n"),
    "byte order mark": "\ufeff" + lines(*GOOD),
    "short line": lines(*GOOD, "2012,643,51,270900,4"),
    "long line": lines(*GOOD, "2012,643,51,270900,4,1,9"),
    "duplicate after zero-padding": lines(*GOOD, "2012,643,398,10121,1,NA"),
    "two problems": lines("2012,643,398,010121,inf,-1", "2012,643,398,010121,1,1"),
}


def outcome(path: Path, engine: str) -> tuple[str, object]:
    try:
        return "table", loaders.load_baci(path, engine=engine)
    except DataValidationError as error:
        return "error", str(error)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_baci_engines_agree_on_hostile_files(name: str, tmp_path: Path) -> None:
    path = tmp_path / "BACI_HS12_Y2012_V202401.csv"
    path.write_text(HOSTILE[name])
    (tmp_path / "country_codes_V202401.csv").write_bytes((FIXTURES / "country_codes_V202401.csv").read_bytes())
    kind_pandas, pandas_result = outcome(path, "pandas")
    kind_duckdb, duckdb_result = outcome(path, "duckdb")
    assert kind_pandas == kind_duckdb, (pandas_result, duckdb_result)
    if kind_pandas == "error":
        assert pandas_result == duckdb_result
        assert str(path) in str(pandas_result)
        writer = baci_parquet_writer(path, engine="duckdb")  # the store's path: same error, nothing written
        assert writer is not None
        with pytest.raises(DataValidationError) as info:
            writer(tmp_path / "out.parquet")
        assert str(info.value) == pandas_result and not (tmp_path / "out.parquet").exists()
        return
    assert isinstance(pandas_result, pd.DataFrame) and isinstance(duckdb_result, pd.DataFrame)
    pd.testing.assert_frame_equal(pandas_result, duckdb_result, check_exact=True)
    numbers = pandas_result[["trade", "quantity"]].to_numpy(dtype=float)
    assert not np.isinf(numbers).any() and not np.isnan(numbers[:, 0]).any()


EXPECTED_ERRORS: dict[str, Callable[[Path], str]] = {  # the decisions, spelled out
    "v NaN": lambda p: f"{p}: row 3, column 'v': value 'NaN' is not a finite number; write a finite number",
    "v 1e309": lambda p: f"{p}: row 3, column 'v': value '1e309' is not a finite number; write a finite number",
    "empty file": lambda p: (f"{p}: row 1: the file is empty; a CEPII BACI file starts with a header line naming "
                             "t, i, j, k, v, q"),
    "duplicated header v": lambda p: (
        f"{p}: row 1, column 'v': the header names column 'v' twice (fields 5 and 7), so its values are ambiguous; "
        "a CEPII BACI header names each column once; rename or remove one of them"),
    "v -1": lambda p: f"{p}: row 3, column 'v': negative value -1.0; values must be >= 0 (fix the sign or drop the row)",
    "v 1_000": lambda p: f"{p}: row 3, column 'v': value '1_000' is not a number; write a number",
    "k 1234567": lambda p: f"{p}: row 3, column 'k': product code '1234567' is not an HS6 code (six digits)",
}


@pytest.mark.parametrize("name", list(EXPECTED_ERRORS))
@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_baci_hostile_file_errors(name: str, engine: str, tmp_path: Path) -> None:
    path = tmp_path / "BACI_HS12_Y2012_V202401.csv"
    path.write_text(HOSTILE[name])
    (tmp_path / "country_codes_V202401.csv").write_bytes((FIXTURES / "country_codes_V202401.csv").read_bytes())
    assert outcome(path, engine) == ("error", EXPECTED_ERRORS[name](path))


def test_baci_underflow_and_signed_zero_are_finite(tmp_path: Path) -> None:
    """``1e-400`` underflows to 0 and ``-0.0`` is zero: finite, accepted by both engines."""
    for name in ("v 1e-400", "v -0.0"):
        path = tmp_path / "BACI_HS12_Y2012_V202401.csv"
        path.write_text(HOSTILE[name])
        (tmp_path / "country_codes_V202401.csv").write_bytes((FIXTURES / "country_codes_V202401.csv").read_bytes())
        for engine in ("pandas", "duckdb"):
            table = loaders.load_baci(path, engine=engine)
            assert table.loc[1, "trade"] == 0.0 and math.isfinite(table.loc[1, "trade"])


# -- through the store: nothing non-finite is stored -------------------------------------------

@pytest.mark.parametrize(
    ("source", "case", "column", "text", "options"),
    [
        ("itpd", CASES[4], "trade", "inf", []),
        ("baci", CASES[3], "v", "NaN", ["--option", "engine=duckdb"]),
        ("baci", CASES[3], "v", "1e309", ["--option", "engine=pandas"]),
    ],
    ids=["itpd-inf", "baci-duckdb-nan", "baci-pandas-1e309"],
)
def test_store_import_of_non_finite_values_fails_and_stores_nothing(
    source: str, case: Case, column: str, text: str, options: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from blocsim.cli import _common
    from blocsim.cli.main import app
    from blocsim.data.store import Store

    monkeypatch.setenv("BLOCSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(_common.err_console, "width", 1000)
    path = rewrite(case, tmp_path, lambda rows: set_cell(rows, 1, column, text))
    result = CliRunner().invoke(app, ["data", "import", source, str(path), "--name", "hostile", *options])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert f"row 3, column '{column}': value '{text}' is not a finite number" in output
    assert "Traceback" not in output
    assert "hostile" not in set(Store(tmp_path / "home").list()["name"])
