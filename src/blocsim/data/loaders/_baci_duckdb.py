"""DuckDB engine of the BACI loader: CSV -> validated flows table -> Parquet or Arrow, in SQL.

The whole file is read once by DuckDB's parallel CSV reader, every column as text; numbers
are parsed in SQL by the rules of :func:`blocsim.data.loaders._io.parse_numbers` (blanks
ignored, empty or ``NA`` missing, ``nan``/``inf``/``1e309`` non-finite, other text not a
number), so this engine accepts exactly the files the pandas engine accepts. The table keeps
the parsed value and a state per numeric cell, not the text; the text of a bad cell is read
again only to quote it in the error. Country codes are mapped through the code table (an SQL
macro over a list indexed by code), and every check is an SQL query that finds the first
offending row. No pandas DataFrame of the data is built: :func:`write_parquet` ends in
``COPY ... TO``.

Errors are :class:`~blocsim.errors.DataValidationError` with the same wording as the pandas
engine (the messages come from :mod:`._io` and :mod:`._baci_rules`):
``<file>: row <line>, column '<name>': <problem>; <what is allowed / fix>``, where ``<line>``
is the 1-based line in the file (header = line 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from blocsim.data.countries import known_codes
from blocsim.data.loaders._baci_rules import BACI_COLUMNS, PRODUCT_DIGITS, duplicate_key, not_hs6, unknown_code
from blocsim.data.loaders._io import (
    BLANK,
    MISSING_VALUE,
    NUMBER,
    TEXT,
    SourceFile,
    check_header,
    header_fields,
    negative_value,
    not_a_number,
    not_finite,
    not_whole,
    require_columns,
    too_many_fields,
)
from blocsim.errors import DataValidationError

#: Output columns, in order (same as the pandas engine).
OUTPUT_COLUMNS = ("exporter", "importer", "year", "product", "trade", "quantity")
_MAX_CODE = 10_000
_WHAT = "CEPII BACI"

#: Whitespace that ``str.strip`` removes and DuckDB's ``trim`` needs listed.
_BLANKS = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"


def _parsed(column: str, alias: str) -> tuple[str, str]:
    """SQL parsing a numeric cell by the rules of ``_io.parse_numbers``.

    Returns the select items of an inner query over the CSV (``<alias>_num``: DOUBLE, NULL
    unless a number; ``<alias>_text``: the cell) and of the outer query (``<alias>`` and
    ``<alias>_state``: NUMBER / BLANK / TEXT as in ``_io``). ``TRY_CAST`` ignores surrounding
    blanks and reads ``nan``, ``inf`` and ``1e309`` as pandas does; it also reads digit
    separators (``1_000``) and ``nan(...)``, which pandas does not, so cells with ``_`` or
    ``(`` are refused. The costly blank test runs only on cells that are no number (``CASE``
    evaluates a branch only for the rows that reach it).
    """
    inner = (
        f"CASE WHEN contains({column}, '_') OR contains({column}, '(') THEN NULL "
        f"ELSE TRY_CAST({column} AS DOUBLE) END AS {alias}_num, {column} AS {alias}_text"
    )
    state = (
        f"CASE WHEN {alias}_num IS NOT NULL THEN {NUMBER} "
        f"WHEN {alias}_text IS NULL OR trim({alias}_text, {_BLANKS}) IN ('', 'NA') THEN {BLANK} ELSE {TEXT} END"
    )
    return inner, f"{alias}_num AS {alias}, CAST({state} AS UTINYINT) AS {alias}_state"


#: A row check: (column, SQL condition on view ``flows``, message from the shown value, SQL of
#: the shown value or ``None`` to quote the cell as written in the file).
Check = tuple[str, str, Callable[[object], str], str | None]


def _row_checks() -> list[Check]:
    """The checks of the pandas engine, in its order: ``t, i, j`` (whole numbers), ``v``
    (a finite number >= 0), ``q`` (a finite number >= 0 or missing)."""
    checks: list[Check] = []
    for column in ("t", "i", "j"):
        checks += [
            (column, f"{column}_state = {TEXT}", lambda x: not_a_number(x, allow_missing=False), None),
            (column, f"{column}_state = {BLANK}", lambda _: MISSING_VALUE, column),
            (column, f"{column}_state = {NUMBER} AND (NOT isfinite({column}) OR {column} <> round({column}))",
             lambda x: not_whole(float(x)), column),  # type: ignore[arg-type]
        ]
    for column, value, allow_missing in (("v", "v", False), ("q", "quantity", True)):
        checks += [
            (column, f"{column}_state = {TEXT}", lambda x, m=allow_missing: not_a_number(x, allow_missing=m), None),
            (column, f"{column}_state = {NUMBER} AND NOT isfinite({value})",
             lambda x, m=allow_missing: not_finite(x, allow_missing=m), None),
        ]
        if not allow_missing:
            checks.append((column, f"{column}_state = {BLANK}", lambda _: MISSING_VALUE, column))
        checks.append((column, f"{value} < 0", lambda x: negative_value(float(x)), value))  # type: ignore[arg-type]
    return checks


def _sql_literal(value: float | str) -> str:
    """A DOUBLE or VARCHAR value as an SQL literal (``inf`` and ``nan`` included)."""
    if isinstance(value, float):
        return f"CAST('{value!r}' AS DOUBLE)"
    return "'" + value.replace("'", "''") + "'"


def _value_checks(con: duckdb.DuckDBPyConnection) -> list[Check]:
    """Checks of codes and products: the distinct values are tested (a few hundred codes, a
    few thousand products instead of every row); the row condition is ``FALSE`` unless a
    bad value exists."""
    checks: list[Check] = []
    for column in ("i", "j"):
        bad = [row[0] for row in con.execute(
            f"SELECT x FROM (SELECT DISTINCT {column} AS x FROM raw) WHERE isfinite(x) AND x = round(x) "
            "AND iso3(x) IS NULL ORDER BY x"
        ).fetchall()]
        unknown = [int(code) for code in bad]
        condition = f"{column} IN ({', '.join(_sql_literal(float(x)) for x in bad)})" if bad else "FALSE"
        checks.append(
            (column, condition, lambda x, u=unknown: unknown_code(int(x), u), column)  # type: ignore[call-overload]
        )
    bad_products = [row[0] for row in con.execute(
        f"SELECT x FROM (SELECT DISTINCT k AS x FROM raw) WHERE trim(x) <> '' AND NOT regexp_full_match(trim(x), "
        f"'{PRODUCT_DIGITS}')"
    ).fetchall()]
    checks.append(("k", "k IS NULL OR trim(k) = ''", lambda _: MISSING_VALUE, "k"))
    condition = f"k IN ({', '.join(_sql_literal(x) for x in bad_products)})" if bad_products else "FALSE"
    checks.append(("k", condition, not_hs6, None))
    return checks


def _columns(file: Path) -> dict[str, str]:
    """Header names -> DuckDB types (all VARCHAR); raises as the pandas engine on an empty
    file, a wrong separator, a column named twice or a missing column."""
    fields = header_fields(file, sep=",")
    check_header(file, fields, sep=",", required=BACI_COLUMNS, what=_WHAT)
    require_columns(pd.DataFrame(columns=fields), BACI_COLUMNS, SourceFile(file), what=_WHAT)
    return dict.fromkeys(fields, "VARCHAR")


def _read_csv_sql(columns: Mapping[str, str]) -> str:
    """The ``read_csv(?, ...)`` call for this file (its path is the query parameter)."""
    struct = ", ".join("'" + name.replace("'", "''") + f"': '{kind}'" for name, kind in columns.items())
    return (
        "read_csv(?, header = true, delim = ',', quote = '\"', nullstr = '', auto_detect = false, "
        f"null_padding = true, store_rejects = true, columns = {{{struct}}})"
    )


def _raise_rejected(con: duckdb.DuckDBPyConnection, file: Path) -> None:
    """Raise on the first line DuckDB's CSV reader could not split into the header's fields
    (short lines are padded with empty cells, as pandas reads them)."""
    first = con.execute(
        "SELECT line, error_message FROM reject_errors ORDER BY line, column_idx LIMIT 1"
    ).fetchone()
    if first is None:
        return
    line, message = first
    ragged = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", str(message))
    if ragged:
        expected, found = map(int, ragged.groups())
        raise DataValidationError(too_many_fields(file, int(line), expected, found, sep=",", what=_WHAT))
    raise DataValidationError(
        f"{file}: row {line}: cannot be read ({message}); a CEPII BACI line has the comma-separated "
        f"fields {', '.join(BACI_COLUMNS)}"
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
        A fresh DuckDB connection (table ``raw``, macros and view ``flows`` are created).
    file
        BACI CSV (``t,i,j,k,v,q``).
    mapping
        BACI numeric country code -> ISO3 (from :func:`~blocsim.data.loaders.baci.baci_country_codes`).

    Returns
    -------
    int
        Rows of ``flows``: ``pos`` (0-based data row), :data:`OUTPUT_COLUMNS` (trade in USD
        millions = ``v`` / 1000, quantity in metric tons) and the parsed ``t, i, j, v, k``;
        in file order.

    Raises
    ------
    DataValidationError
        Empty file, bad header, first unreadable line, a cell that is not a number, not
        finite, missing or negative, an unknown code, a bad HS6 code or a repeated
        (t, i, j, k), naming the file, row and column, exactly as the pandas engine.
    """
    columns = _columns(file)
    bad_codes = sorted(set(mapping.values()) - known_codes())
    if bad_codes:
        raise DataValidationError(f"{file}: country codes {bad_codes} in the code mapping are not known ISO3 codes")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    parsed = [_parsed(column, alias) for column, alias in (("t", "t"), ("i", "i"), ("j", "j"), ("v", "v"), ("q", "q"))]
    try:
        con.execute(
            f"CREATE TABLE raw AS SELECT {', '.join(outer for _, outer in parsed)}, k, "
            f"lpad(trim(k), 6, '0') AS product FROM (SELECT {', '.join(inner for inner, _ in parsed)}, k "
            f"FROM {_read_csv_sql(columns)})",
            [str(file)],
        )
    except duckdb.Error as error:
        raise DataValidationError(f"{file}: cannot be read as a CEPII BACI file: {error}") from None
    _raise_rejected(con, file)
    _code_lookup(con, mapping, file)
    con.execute(
        "CREATE VIEW flows AS SELECT rowid AS pos, iso3(i) AS exporter, iso3(j) AS importer, "
        "TRY_CAST(t AS BIGINT) AS year, product, v * CAST(0.001 AS DOUBLE) AS trade, q AS quantity, "
        "t, i, j, v, k, t_state, i_state, j_state, v_state, q_state FROM raw"
    )
    checks = [*_row_checks(), *_value_checks(con)]
    firsts = con.execute(
        "SELECT " + ", ".join(f"min(pos) FILTER (WHERE {condition})" for _, condition, _, _ in checks)
        + ", count(*) FROM flows"
    ).fetchone()
    if firsts is None:  # an aggregate without GROUP BY always returns one row
        raise DataValidationError(f"{file}: cannot be read as a CEPII BACI file: no result from DuckDB")
    source = SourceFile(file)
    for (column, _, message, shown), first in zip(checks, firsts[:-1]):
        if first is None:
            continue
        if shown is None:
            value = _cell_text(con, file, columns, int(first), column)
        else:
            row = con.execute(f"SELECT {shown} FROM flows WHERE pos = ?", [first]).fetchone()
            value = row[0] if row is not None else None
        raise source.error(int(first), column, message(value))
    _check_unique(con, file, columns)
    return int(firsts[-1])


def _cell_text(con: duckdb.DuckDBPyConnection, file: Path, columns: Mapping[str, str], pos: int, column: str) -> str:
    """The cell of data row ``pos`` (0-based) and ``column`` as written in the file."""
    name = '"' + column.replace('"', '""') + '"'
    row = con.execute(
        f"SELECT {name} FROM {_read_csv_sql(columns)} LIMIT 1 OFFSET {int(pos)}", [str(file)]
    ).fetchone()
    return "" if row is None or row[0] is None else str(row[0])


def _check_unique(con: duckdb.DuckDBPyConnection, file: Path, columns: Mapping[str, str]) -> None:
    """Raise on the first row repeating an earlier (t, i, j, product); ``product`` is six
    digits here, so ``10121`` and ``010121`` are the same product. The cheap grouped test
    runs always; the ordered search for the first repeat only when there is one."""
    repeated = con.execute(
        "SELECT 1 FROM flows GROUP BY t, i, j, product HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if repeated is None:
        return
    first = con.execute(
        "SELECT pos, first, t, i, j FROM (SELECT pos, t, i, j, row_number() OVER w AS n, min(pos) OVER w AS first "
        "FROM flows WINDOW w AS (PARTITION BY t, i, j, product ORDER BY pos)) WHERE n = 2 ORDER BY pos LIMIT 1"
    ).fetchone()
    if first is None:  # the grouped test found a repeat, so the search does too
        raise DataValidationError(f"{file}: repeated (t, i, j, k) found but not located")
    pos, earlier, t, i, j = first
    k = _cell_text(con, file, columns, int(pos), "k")
    source = SourceFile(file)
    raise source.error(int(pos), "k", duplicate_key(int(t), int(i), int(j), k, source.row(int(earlier))))


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
