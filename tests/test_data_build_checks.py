"""``blocsim data build`` checks its inputs with the loaders' shared checks (:mod:`blocsim.data.loaders._io`).

One implementation of each check: a bad cell of a user's flows, tariffs or sectors table fails
with the same message the loaders give for it (naming the file, row, column and value), plus
what the column allows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from blocsim.data import user_build, user_datasets
from blocsim.data.loaders._io import SourceFile, check_unique, numeric_column
from blocsim.errors import DataValidationError

REGIONS = ("KAZ", "RUS")


def _flows(trade: str = "5") -> pd.DataFrame:
    """Flows as :func:`~blocsim.data.user_build.read_input` reads a CSV (text); the cell KAZ -> RUS is ``trade``."""
    rows = [(e, i, "2015", "100" if e == i else trade) for e in REGIONS for i in REGIONS]
    return pd.DataFrame(rows, columns=["exporter", "importer", "year", "trade"])


@pytest.mark.parametrize(("cell", "problem"), [("abc", "is not a number"), ("inf", "is not a finite number"),
                                               ("1e309", "is not a finite number"), ("", "missing value"),
                                               ("-2", "negative value -2.0")])
def test_a_bad_flow_is_reported_as_the_loaders_report_it(cell: str, problem: str) -> None:
    raw = _flows(cell)
    with pytest.raises(DataValidationError) as built:
        user_build.clean_flows(raw, "flows.csv", 2)
    source = SourceFile(Path("flows.csv"), row_offset=2)
    with pytest.raises(DataValidationError) as loaded:
        numeric_column(raw, "trade", source, allow_missing=False, non_negative=True,
                       allowed="a finite number >= 0 (USD millions)")
    assert str(built.value) == str(loaded.value)
    assert str(built.value).startswith("flows.csv: row 3, column 'trade': ") and problem in str(built.value)
    assert str(built.value).endswith("; allowed: a finite number >= 0 (USD millions)")


def test_a_nan_tariff_is_not_read_as_an_empty_cell() -> None:
    flows, _ = user_build.clean_flows(_flows(), "flows.csv", 2)
    tariffs = pd.DataFrame({"importer": ["KAZ"], "exporter": ["RUS"], "year": ["2015"], "tariff": ["nan"]})
    with pytest.raises(DataValidationError, match=r"^tariffs.csv: row 2, column 'tariff': value 'nan' is not a "
                                                  r"finite number; allowed: empty \(no tariff known"):
        user_build.clean_tariffs(tariffs, "tariffs.csv", 2, flows)


def test_a_year_outside_the_range_names_the_range() -> None:
    raw = _flows().assign(year=["2015", "2015", "1850", "2015"])
    with pytest.raises(DataValidationError, match=r"^flows.csv: row 4, column 'year': value 1850 is outside "
                                                  r"\[1900, 2100\]; allowed: a whole year from 1900 to 2100$"):
        user_build.clean_flows(raw, "flows.csv", 2)


def test_a_sector_given_twice_in_the_sectors_file_is_an_error() -> None:
    reference = pd.DataFrame({"sector": ["A01"], "name": ["Agriculture"], "description": [""], "goods": [True]})
    given = pd.DataFrame({"sector": ["A01", "B05", "A01"], "name": ["farming", "mining", "agriculture"]})
    with pytest.raises(DataValidationError, match=r"^sectors.csv: row 4, column 'sector': duplicate key "
                                                  r"\(sector='A01'\), first seen at row 2"):
        user_datasets.sectors_table(["A01", "B05"], (given, "sectors.csv", 2), reference)


def test_a_duplicate_key_shows_plain_values() -> None:
    frame = pd.DataFrame({"importer": ["KAZ", "KAZ"], "year": pd.Series([2014, 2014], dtype="int64")})
    with pytest.raises(DataValidationError, match=r"duplicate key \(importer='KAZ', year=2014\), first seen at row 2"):
        check_unique(frame, ["importer", "year"], SourceFile(Path("t.csv")))


def test_the_build_has_no_number_or_column_checks_of_its_own() -> None:
    """Parsing numbers, testing finiteness and finding duplicates is the loaders' helpers' work."""
    offenders = []
    for module in (user_build, user_datasets):
        path = Path(str(module.__file__))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("to_numeric", "isinf", "isfinite", "duplicated", "between"):
                    offenders.append(f"{path.name}:{node.lineno} {node.func.attr}")
    assert offenders == []
