"""DuckDB engine of the BACI loader: CSV -> validated flows table -> Parquet or Arrow, in SQL.

The whole file is read once by DuckDB's parallel CSV reader with explicit column types
(``t, i, j, v`` DOUBLE, ``k`` VARCHAR, ``q`` VARCHAR because BACI pads ``NA`` with blanks);
cells that do not parse are collected with ``store_rejects`` instead of aborting, so the
first one is reported with its line and column. Country codes are mapped through the code
table (an SQL macro over a list indexed by code), and every check is an SQL query that
finds the first offending row. No pandas DataFrame of the data is built:
:func:`write_parquet` ends in ``COPY ... TO``.

Errors are :class:`~blocsim.errors.DataValidationError` with the same wording as the pandas
engine: ``<file>: row <line>, column '<name>': <problem>; <what is allowed / fix>``, where
``<line>`` is the 1-based line in the file (header = line 1).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Mapping

import duckdb
import pyarrow as pa

from blocsim.data.countries import known_codes
from blocsim.data.loaders._io import sniff_header
from blocsim.errors import DataValidationError

#: Read types. ``t, i, j`` are read as DOUBLE and checked to be whole numbers, because
#: DuckDB's BIGINT cast would round ``12.5`` silently.
BACI_TYPES = {"t": "DOUBLE", "i": "DOUBLE", "j": "DOUBLE", "k": "VARCHAR", "v": "DOUBLE", "q": "VARCHAR"}
#: Output columns, in order (same as the pandas engine).
OUTPUT_COLUMNS = ("exporter", "importer", "year", "product", "trade", "quantity")
CODE_FIX = (
    "; allowed are the codes of the BACI country_codes file (pass country_codes=... with the file of "
    "the same BACI version)"
)
_MAX_CODE = 10_000
_NEGATIVE = "negative value {!r}; values must be >= 0 (fix the sign or drop the row)"
#: (column, SQL condition on view ``flows``, message template, SQL of the value shown)
_ROW_CHECKS = (
    *(
        check
        for column in ("t", "i", "j")
        for check in (
            (column, f"{column} IS NULL", "missing value; this column must be filled", column),
            (column, f"NOT isfinite({column}) OR {column} <> round({column})", "value {!r} is not a whole number",
             column),
        )
    ),
    ("v", "v IS NULL", "missing value; this column must be filled", "v"),
    ("q", "quantity IS NULL AND q_raw IS NOT NULL", "value {!r} is not a number or NA", "q_raw"),
    ("v", "v < 0", _NEGATIVE, "v"),
    ("q", "quantity < 0", _NEGATIVE, "quantity"),
)
#: Checks on the few distinct values of a column: (column, SQL test of a bad value ``x``, message, shown)
_VALUE_CHECKS = (
    ("i", "iso3(x) IS NULL", "unknown BACI country code {!r}", "TRY_CAST(i AS BIGINT)"),
    ("j", "iso3(x) IS NULL", "unknown BACI country code {!r}", "TRY_CAST(j AS BIGINT)"),
    (
        "k",
        "NOT regexp_full_match(lpad(trim(x), 6, '0'), '[0-9]{6}')",
        "product code {!r} is not an HS6 code (six digits)",
        "k",
    ),
)


def _sql_literal(value: float | str) -> str:
    """A DOUBLE or VARCHAR value as an SQL literal (``inf`` and ``nan`` included)."""
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"
    return "'" + value.replace("'", "''") + "'"


def _value_checks(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """Row checks for codes and products: the distinct values are tested (a few hundred
    codes, a few thousand products instead of every row), and the row condition is
    ``FALSE`` unless a bad value exists."""
    checks: list[tuple[str, str, str, str]] = []
    for column, test, message, shown in _VALUE_CHECKS:
        bad = [
            row[0]
            for row in con.execute(
                f"SELECT x FROM (SELECT DISTINCT {column} AS x FROM raw) WHERE x IS NULL OR {test}"
            ).fetchall()
        ]
        condition = "FALSE"
        if bad:
            condition = f"{column} IN ({', '.join(_sql_literal(x) for x in bad if x is not None) or 'NULL'})"
            if None in bad:
                condition = f"({column} IS NULL OR {condition})"
        checks.append((column, condition, message, shown))
    return checks


def _columns(file: Path) -> dict[str, str]:
    """Header names -> DuckDB types; raises on a wrong separator or missing columns."""
    header = sniff_header(file)
    names = [name.strip().strip('"') for name in header.split(",")]
    if len(names) < 2:
        raise DataValidationError(
            f"{file}: row 1: wrong separator: a CEPII BACI file is comma-separated with columns "
            f"{', '.join(BACI_TYPES)}; the header read {header[:60]!r}"
        )
    missing = [c for c in BACI_TYPES if c not in names]
    if missing:
        raise DataValidationError(
            f"{file}: column {missing[0]!r}: missing column(s) {', '.join(missing)}; a CEPII BACI file needs "
            f"{', '.join(BACI_TYPES)}; found {', '.join(names)}"
        )
    if len(set(names)) != len(names) or not all(re.fullmatch(r"\w+", name) for name in names):
        raise DataValidationError(
            f"{file}: row 1: header {header[:80]!r} has repeated or non-word column names; a CEPII BACI "
            f"header is {','.join(BACI_TYPES)}"
        )
    return {name: BACI_TYPES.get(name, "VARCHAR") for name in names}


def _raise_rejected(con: duckdb.DuckDBPyConnection, file: Path) -> None:
    """Raise on the first line DuckDB's CSV reader could not read (if any)."""
    first = con.execute(
        "SELECT line, column_idx, column_name, error_type, csv_line, error_message FROM reject_errors "
        "ORDER BY line, column_idx LIMIT 1"
    ).fetchone()
    if first is None:
        return
    line, index, column, kind, text, message = first
    if str(kind) != "CAST":
        raise DataValidationError(
            f"{file}: row {line}: cannot be read ({message}); a CEPII BACI line has the comma-separated "
            f"fields {', '.join(BACI_TYPES)}"
        )
    fields = next(csv.reader([text or ""]), [])
    value = fields[index - 1] if 0 < index <= len(fields) else text
    allowed = "a whole number" if column in ("t", "i", "j") else "a number"
    raise DataValidationError(
        f"{file}: row {line}, column {column!r}: value {value!r} is not a number; {column} must be {allowed}"
    )


def _code_lookup(con: duckdb.DuckDBPyConnection, mapping: Mapping[int, str], file: Path) -> None:
    """Create the macro ``iso3(code)``: BACI numeric code (DOUBLE) -> ISO3, NULL if unknown.

    A lookup in a dense list indexed by code (the code table as an SQL value) rather than a
    join: DuckDB's hash join does not keep the scan order (on 10M rows a third of them moved),
    so a join needs an ``ORDER BY`` over all rows afterwards; a projection keeps file order.
    """
    codes = sorted(mapping)
    if codes and not 0 <= codes[0] <= codes[-1] < _MAX_CODE:
        bad = codes[0] if codes[0] < 0 else codes[-1]
        raise DataValidationError(
            f"{file}: BACI country code {bad} in the code mapping: allowed are 0 to {_MAX_CODE - 1} (BACI codes "
            "have at most three digits); pass the country_codes file of the same BACI release"
        )
    dense = [mapping.get(code) for code in range(codes[-1] + 1 if codes else 0)]
    items = ", ".join("NULL" if iso is None else "'" + iso.replace("'", "''") + "'" for iso in dense)
    con.execute(
        f"CREATE MACRO iso3(code) AS CASE WHEN code >= 0 AND code < {len(dense)} AND code = round(code) "
        f"THEN (CAST([{items}] AS VARCHAR[]))[CAST(code AS BIGINT) + 1] END"
    )


def validated_flows(con: duckdb.DuckDBPyConnection, file: Path, mapping: Mapping[int, str]) -> int:
    """Read and check a BACI file into the view ``flows`` of ``con``.

    Parameters
    ----------
    con
        A fresh DuckDB connection (table ``raw``, macro ``iso3`` and view ``flows`` are created).
    file
        BACI CSV (``t,i,j,k,v,q``).
    mapping
        BACI numeric country code -> ISO3 (from :func:`~blocsim.data.loaders.baci.baci_country_codes`).

    Returns
    -------
    int
        Rows of ``flows``: ``pos`` (0-based data row), :data:`OUTPUT_COLUMNS` (trade in USD
        millions = ``v`` / 1000, quantity in metric tons) and the raw ``t, i, j, v, k, q_raw``;
        in file order.

    Raises
    ------
    DataValidationError
        First unreadable cell, missing or negative value, unknown code, bad HS6 code or
        repeated (t, i, j, k), naming the file, row and column.
    """
    columns = _columns(file)
    bad_codes = sorted(set(mapping.values()) - known_codes())
    if bad_codes:
        raise DataValidationError(f"{file}: country codes {bad_codes} in the code mapping are not known ISO3 codes")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    struct = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    try:
        con.execute(
            "CREATE TABLE raw AS SELECT t, i, j, k, v, q FROM read_csv(?, header = true, delim = ',', "
            f"quote = '\"', nullstr = ['', 'NA'], auto_detect = false, store_rejects = true, columns = {{{struct}}})",
            [str(file)],
        )
    except duckdb.Error as error:
        raise DataValidationError(f"{file}: cannot be read as a CEPII BACI file: {error}") from None
    _raise_rejected(con, file)
    _code_lookup(con, mapping, file)
    con.execute(
        "CREATE VIEW flows AS SELECT rowid AS pos, iso3(i) AS exporter, iso3(j) AS importer, "
        "TRY_CAST(t AS BIGINT) AS year, lpad(trim(k), 6, '0') AS product, v * CAST(0.001 AS DOUBLE) AS trade, "
        "TRY_CAST(NULLIF(trim(q), 'NA') AS DOUBLE) AS quantity, "
        "t, i, j, v, k, NULLIF(NULLIF(trim(q), 'NA'), '') AS q_raw FROM raw"
    )
    checks = [*_ROW_CHECKS, *_value_checks(con)]
    firsts = con.execute(
        "SELECT " + ", ".join(f"min(pos) FILTER (WHERE {condition})" for _, condition, _, _ in checks)
        + ", count(*) FROM flows"
    ).fetchone()
    assert firsts is not None
    for (column, condition, message, shown), first in zip(checks, firsts[:-1]):
        if first is None:
            continue
        value = con.execute(f"SELECT {shown} FROM flows WHERE pos = ?", [first]).fetchone()[0]  # type: ignore[index]
        text = message.format(value)
        if column in ("i", "j"):
            unknown = [row[0] for row in con.execute(
                f"SELECT DISTINCT TRY_CAST({column} AS BIGINT) FROM flows WHERE {condition} ORDER BY 1 LIMIT 10"
            ).fetchall()]
            text += f" (unknown: {', '.join(map(str, unknown))})" + CODE_FIX
        raise DataValidationError(f"{file}: row {first + 2}, column {column!r}: {text}")
    _check_unique(con, file)
    return int(firsts[-1])


def _check_unique(con: duckdb.DuckDBPyConnection, file: Path) -> None:
    """Raise on the first repeated (t, i, j, k); ``product`` is six digits here, so its integer
    value identifies it (``10121`` and ``010121`` are the same product)."""
    repeated = con.execute(  # t, i, j are whole numbers here and k six digits (blanks allowed)
        "SELECT t, i, j, CAST(k AS INTEGER) FROM raw GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if repeated is None:
        return
    rows = con.execute(
        "SELECT rowid, k FROM raw WHERE t = ? AND i = ? AND j = ? AND CAST(k AS INTEGER) = ? "
        "ORDER BY rowid LIMIT 2",
        list(repeated),
    ).fetchall()
    raise DataValidationError(
        f"{file}: row {rows[1][0] + 2}, column 'k': duplicate key (t={int(repeated[0])}, i={int(repeated[1])}, "
        f"j={int(repeated[2])}, k={rows[1][1]!r}), first seen at row {rows[0][0] + 2}; each (t, i, j, k) must "
        "appear once"
    )


#: The output, in file order (a projection of the scan, which keeps insertion order).
_SELECT = f"SELECT {', '.join(OUTPUT_COLUMNS)} FROM flows"


def write_parquet(file: Path, mapping: Mapping[int, str], target: Path) -> int:
    """Validate ``file`` and write its tidy flows to the Parquet file ``target`` (DuckDB only).

    Returns
    -------
    int
        Rows written. Nothing is written when validation fails.
    """
    con = duckdb.connect()
    try:
        rows = validated_flows(con, file, mapping)
        target_sql = str(target).replace("'", "''")
        con.execute(f"COPY ({_SELECT}) TO '{target_sql}' (FORMAT parquet)")
        return rows
    finally:
        con.close()


def read_arrow(file: Path, mapping: Mapping[int, str]) -> pa.Table:
    """Validate ``file`` and return its tidy flows as a :class:`pyarrow.Table`."""
    con = duckdb.connect()
    try:
        validated_flows(con, file, mapping)
        return con.sql(_SELECT).to_arrow_table().combine_chunks()
    finally:
        con.close()
