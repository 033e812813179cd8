"""GravityData: a validated square trade table; bad tables fail naming column, rows and a fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blocsim.data import GravityData
from blocsim.errors import DataValidationError

COUNTRIES = ("AAA", "BBB", "CCC")


def square(countries: tuple[str, ...] = COUNTRIES, years: tuple[int, ...] = (2010,)) -> pd.DataFrame:
    """A complete table: trade = 100*i + 10*j + (year - 2010), dist = i + j."""
    rows = [
        {"orig": e, "dest": i, "yr": y, "value": 100.0 * a + 10.0 * b + (y - 2010), "dist": float(a + b), "note": "x"}
        for y in years
        for a, e in enumerate(countries)
        for b, i in enumerate(countries)
    ]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def build(frame: pd.DataFrame, **kwargs: object) -> GravityData:
    options: dict[str, object] = {
        "exporter": "orig", "importer": "dest", "flow": "value", "year": "yr", "covariates": ["dist"], "extra": "drop",
    }
    options.update(kwargs)
    return GravityData.from_frame(frame, **options)  # type: ignore[arg-type]


def test_standard_columns_order_and_matrix() -> None:
    data = build(square(years=(2010, 2011)))
    assert list(data.frame.columns) == ["exporter", "importer", "year", "trade", "dist"]
    assert data.countries == COUNTRIES and data.years == (2010, 2011) and data.covariates == ("dist",)
    matrix = data.matrix(year=2011)
    assert matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix, 100.0 * np.arange(3)[:, None] + 10.0 * np.arange(3)[None, :] + 1)
    np.testing.assert_array_equal(data.matrix(year=2010, column="dist"), np.add.outer(np.arange(3), np.arange(3)))
    np.testing.assert_array_equal(data.output(2010), matrix.sum(axis=1) - 3)
    np.testing.assert_array_equal(data.expenditure(2010), matrix.sum(axis=0) - 3)


def test_frame_is_a_copy() -> None:
    data = build(square())
    frame = data.frame
    frame.loc[0, "trade"] = -1.0
    assert (data.frame["trade"] >= 0).all()


def test_sector_dimension() -> None:
    frame = pd.concat([square().assign(sec=s) for s in ("agri", "manu")], ignore_index=True)
    data = build(frame, sector="sec")
    assert data.sectors == ("agri", "manu")
    assert list(data.frame.columns)[:4] == ["exporter", "importer", "year", "sector"]
    assert data.matrix(sector="manu").shape == (3, 3)
    with pytest.raises(DataValidationError, match=r"2 values of sector; fix: pass matrix\(sector=\.\.\.\)"):
        data.matrix()


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda f: f.assign(value=np.where((f.orig == "BBB") & (f.dest == "CCC"), -2.0, f.value)),
         r"column 'value' \(flows, current USD millions\) must be >= 0 but is negative in 1 row, first: "
         r"row \d+ \(yr=2010, orig='BBB', dest='CCC', value=-2.0\); fix: "),
        (lambda f: f.assign(value=np.where(f.index == 4, np.nan, f.value)),
         r"column 'value' has missing \(NaN\) values in 1 row, first: row 4 .*fix: fill them"),
        (lambda f: f.assign(value=np.where(f.index == 2, np.inf, f.value)),
         r"column 'value' has infinite values in 1 row, first: row 2"),
        (lambda f: f.assign(value=np.where(f.index == 6, 1e308, f.value)),
         r"column 'value' \(flows, current USD millions\) has values above 1e\+100 in 1 row, first: row 6 .*"
         r"value=1e\+308\)"),
        (lambda f: f.assign(dist=np.where(f.index == 3, -np.inf, f.dist)),
         r"column 'dist' has infinite values in 1 row, first: row 3"),
        (lambda f: f.assign(dist=np.where(f.index == 5, np.nan, f.dist)),
         r"column 'dist' has missing \(NaN\) values in 1 row, first: row 5"),
        (lambda f: f.assign(value=f.value.astype(str)),
         r"column 'value' must be numeric but has dtype .*fix: convert the column"),
        (lambda f: pd.concat([f, f.iloc[[3]]], ignore_index=True),
         r"duplicate pairs \(same yr, orig, dest\) in 2 rows, first: row 3 .* row 9 .*fix: aggregate them"),
        (lambda f: f[~((f.orig == "BBB") & (f.dest == "BBB"))],
         r"missing domestic flows \(exporter == importer\) for 1 country/slice combinations, first: "
         r"\(yr=2010, orig='BBB', dest='BBB'\).*fix: add rows with trade = output minus exports"),
        (lambda f: f[~((f.orig == "AAA") & (f.dest == "CCC"))],
         r"table is not square: 1 of 9 exporter-importer pairs over 3 countries are missing, first: "
         r"\(yr=2010, orig='AAA', dest='CCC'\); fix: add the missing pairs with trade = 0"),
        (lambda f: pd.concat([f, pd.DataFrame([{"orig": "DDD", "dest": "AAA", "yr": 2010, "value": 1.0, "dist": 1.0}])]),
         r"missing domestic flows .*exporter only: \['DDD'\]; importer only: \[\]"),
        (lambda f: f.assign(orig=np.where(f.index == 1, None, f.orig)),
         r"column 'orig' must hold country codes .* row 1 "),
        (lambda f: f.assign(yr=np.where(f.index == 0, 2010.5, f.yr)),
         r"column 'yr' \(year\) must hold whole years .* row 0 "),
    ],
    ids=["negative", "nan", "inf", "flow_1e308", "inf_covariate", "nan_covariate", "text_flow", "duplicate", "no_domestic", "non_square",
         "exporter_only", "missing_code", "fractional_year"],
)
def test_bad_tables_name_the_column_rows_and_fix(mutate, pattern: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataValidationError, match=pattern):
        build(mutate(square()))


def test_non_square_across_years() -> None:
    frame = square(years=(2010, 2011))
    frame = frame[~((frame.yr == 2011) & (frame.orig == "CCC") & (frame.dest == "AAA"))]
    with pytest.raises(DataValidationError, match=r"1 of 18 .*\(yr=2011, orig='CCC', dest='AAA'\)"):
        build(frame)


def test_unknown_and_missing_columns() -> None:
    with pytest.raises(DataValidationError, match=r"unknown columns \['note'\].*covariates=\[\.\.\.\] or pass extra='drop'"):
        build(square(), extra="error")
    with pytest.raises(DataValidationError, match=r"column 'trade' \(argument flow=\) not found; available columns: .*'value'"):
        build(square(), flow="trade")
    with pytest.raises(DataValidationError, match=r"column 'orig' is named by both exporter= and importer="):
        build(square(), importer="orig")
    with pytest.raises(DataValidationError, match=r"extra='keep' is not allowed; allowed values: \['error', 'drop'\]"):
        build(square(), extra="keep")


def test_matrix_argument_errors() -> None:
    data = build(square(years=(2010, 2011)))
    with pytest.raises(DataValidationError, match=r"has 2 values of year; fix: pass matrix\(year=\.\.\.\) with one of \[2010, 2011\]"):
        data.matrix()
    with pytest.raises(DataValidationError, match=r"matrix\(year=1999\) not in the table; allowed: \[2010, 2011\]"):
        data.matrix(year=1999)
    with pytest.raises(DataValidationError, match=r"matrix\(column='tariff'\) is not a column .*allowed: \['trade', 'dist'\]"):
        data.matrix(year=2010, column="tariff")
    with pytest.raises(DataValidationError, match=r"matrix\(sector='x'\) but the table has no sector column"):
        data.matrix(year=2010, sector="x")


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_matrix_round_trips_any_row_order(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    codes = [f"C{k:02d}" for k in range(n)]
    flows = rng.exponential(size=(n, n)) * (rng.random((n, n)) > 0.3)
    frame = pd.DataFrame({
        "exporter": np.repeat(codes, n), "importer": np.tile(codes, n), "trade": flows.ravel(),
    }).sample(frac=1.0, random_state=seed % 1000)
    data = GravityData.from_frame(frame)
    np.testing.assert_array_equal(data.matrix(), flows)
    assert data.countries == tuple(codes)
