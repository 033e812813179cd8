"""CEPII BACI (HS6 bilateral trade) loader, with a pandas and a DuckDB engine.

Source
------
Gaulier, G. and Zignago, S. (2010), "BACI: International Trade Database at the
Product-Level. The 1994-2007 Version", CEPII Working Paper 2010-23. Files
``BACI_HSxx_Yyyyy_V202xxx.csv`` with columns ``t`` (year), ``i`` (exporter), ``j``
(importer), ``k`` (HS6 product), ``v`` (value, thousands of current USD), ``q`` (quantity,
metric tons; ``NA``, often space-padded, when missing). ``i`` and ``j`` are BACI numeric
country codes, mapped to ISO3 by ``country_codes_V202xxx.csv`` (columns ``country_code,
country_name, country_iso2, country_iso3``; before V202301 ``country_code,
country_name_abbreviation, country_name_full, iso_2digit_alpha, iso_3digit_alpha``).

Without a country-code file, ISO 3166-1 numeric codes are used plus BACI's own
(:data:`BACI_SPECIAL_CODES`: 58 Belgium-Luxembourg, 251 France incl. Monaco, 381 Italy incl.
San Marino, 490 Other Asia n.e.s., 579 Norway, 699 India, 757 Switzerland incl.
Liechtenstein, 842 USA incl. Puerto Rico and the US Virgin Islands).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from blocsim.data.countries import iso3_table, known_codes, normalize_codes
from blocsim.data.loaders._io import (
    PathLike,
    SourceFile,
    check_unique,
    existing_file,
    integer_column,
    numeric_column,
    read_delimited,
    sniff_header,
    tidy,
)
from blocsim.errors import DataValidationError

BACI_COLUMNS = ("t", "i", "j", "k", "v", "q")
BACI_SPECIAL_CODES: dict[int, str] = {
    58: "BLX",
    251: "FRA",
    381: "ITA",
    490: "S19",
    579: "NOR",
    699: "IND",
    757: "CHE",
    842: "USA",
}
_CODE_FIX = (
    "; allowed are the codes of the BACI country_codes file (pass country_codes=... with the file of "
    "the same BACI version)"
)
#: BACI ``v`` is in thousands of USD; blocsim flows are USD millions.
THOUSANDS_TO_MILLIONS = 1e-3


def baci_country_codes(path: PathLike | None = None) -> dict[int, str]:
    """BACI numeric country code -> ISO3 (normalised), from a ``country_codes_V*.csv`` file.

    Parameters
    ----------
    path
        BACI country-code file; ``None`` gives ISO 3166-1 numeric codes plus
        :data:`BACI_SPECIAL_CODES`.
    """
    if path is None:
        table = iso3_table()
        mapping = dict(zip(table["numeric"].astype(int), table["iso3"]))
        mapping.update(BACI_SPECIAL_CODES)
        return mapping
    source = SourceFile(existing_file(path, what="BACI country_codes"))
    header = sniff_header(source.path)
    iso_col = "iso_3digit_alpha" if "iso_3digit_alpha" in header else "country_iso3"
    raw = read_delimited(
        source.path, sep=",", required=("country_code", iso_col), what="BACI country_codes", dtype=str, na_values=()
    )
    numeric = numeric_column(raw, "country_code", source, allow_missing=False).astype(int)
    codes = normalize_codes(raw[iso_col], source=source.label, column=iso_col, row_offset=source.row_offset)
    check_unique(pd.DataFrame({"country_code": numeric}), ("country_code",), source)
    return dict(zip(numeric.to_numpy(), codes.to_numpy()))


def _find_country_codes(path: Path) -> Path | None:
    """The ``country_codes_V*.csv`` next to a BACI file, if exactly one matches its version."""
    version = re.search(r"(V\d{6}[a-z]?)", path.name)
    pattern = f"country_codes_{version.group(1)}.csv" if version else "country_codes_V*.csv"
    found = sorted(path.parent.glob(pattern))
    return found[0] if len(found) == 1 else None


def load_baci(
    path: PathLike,
    *,
    country_codes: PathLike | None | Literal["auto"] = "auto",
    engine: Literal["pandas", "duckdb"] = "pandas",
    arrow: bool = False,
) -> pd.DataFrame | pa.Table:
    """Load a BACI HS6 file into tidy flows.

    Parameters
    ----------
    path
        BACI CSV (``t,i,j,k,v,q``).
    country_codes
        BACI ``country_codes_V*.csv``; ``"auto"`` looks for the one next to ``path`` with the
        same version, else uses ISO numeric codes (see :func:`baci_country_codes`).
    engine
        ``"pandas"`` (``pandas.read_csv``) or ``"duckdb"`` (DuckDB's parallel CSV reader and
        SQL checks); both give the same table.
    arrow
        With ``engine="duckdb"``: return a :class:`pyarrow.Table` with the same columns
        instead of a DataFrame (no pandas string objects; :class:`~blocsim.data.store.Store`
        writes it to Parquet directly, which is much faster for large files).

    Returns
    -------
    DataFrame or pyarrow.Table
        ``exporter, importer`` (ISO3), ``year`` (int), ``product`` (HS6, 6-character
        string with leading zeros), ``trade`` (USD millions = ``v`` / 1000), ``quantity``
        (metric tons, NaN when missing).

    Raises
    ------
    DataValidationError
        Wrong separator, missing columns, non-numeric or negative ``v``/``q``, unknown
        country code, or a repeated (t, i, j, k).
    """
    file = existing_file(path, what="CEPII BACI")
    codes_path = _find_country_codes(file) if country_codes == "auto" else country_codes
    mapping = baci_country_codes(codes_path)
    if engine == "duckdb":
        table = _load_duckdb(file, mapping)
        return table if arrow else tidy(table.to_pandas()).astype({"year": "int64"})
    if engine != "pandas":
        raise DataValidationError(f"engine={engine!r}: allowed are 'pandas', 'duckdb'")
    if arrow:
        raise DataValidationError("arrow=True needs engine='duckdb'")
    source = SourceFile(file)
    try:
        raw = read_delimited(
            file,
            sep=",",
            required=BACI_COLUMNS,
            what="CEPII BACI",
            dtype={"t": "int64", "i": "int64", "j": "int64", "k": str, "v": "float64", "q": str},
            na_values=("NA",),
        )
    except DataValidationError as error:
        if "cannot be parsed" not in str(error):
            raise
        # locate the offending cell: re-read as text and check column by column
        text = read_delimited(file, sep=",", required=BACI_COLUMNS, what="CEPII BACI", dtype=str, na_values=())
        for column in ("t", "i", "j"):
            integer_column(text, column, source)
        numeric_column(text, "v", source, allow_missing=False)
        raise
    value = numeric_column(raw, "v", source, allow_missing=False, non_negative=True)
    quantity = numeric_column(raw, "q", source, missing=("NA",), non_negative=True)
    out = pd.DataFrame(
        {
            "exporter": _map_codes(raw["i"], mapping, source, "i"),
            "importer": _map_codes(raw["j"], mapping, source, "j"),
            "year": raw["t"].astype("int64"),
            "product": raw["k"].astype(str).str.strip().str.zfill(6),
            "trade": value * THOUSANDS_TO_MILLIONS,
            "quantity": quantity,
        }
    )
    _check_products(out["product"], source)
    check_unique(out.assign(i=raw["i"], j=raw["j"]), ("year", "i", "j", "product"), source)
    return tidy(out)


def _map_codes(numeric: pd.Series, mapping: dict[int, str], source: SourceFile, column: str) -> pd.Series:
    """Map BACI numeric codes through ``mapping`` (factorised: one lookup per distinct code)."""
    uniques, inverse = np.unique(numeric.to_numpy(), return_inverse=True)
    mapped = np.array([mapping.get(int(code), "") for code in uniques], dtype=object)
    unknown = mapped == ""
    if unknown.any():
        bad = uniques[unknown]
        pos = int(numeric.index[np.flatnonzero(np.isin(numeric.to_numpy(), bad))[0]])
        raise source.error(
            pos,
            column,
            f"unknown BACI country code {int(numeric.loc[pos])} ({len(bad)} unknown: "
            f"{', '.join(map(str, bad[:10]))}); allowed are the codes of the BACI country_codes file "
            "(pass country_codes=... with the file of the same BACI version)",
        )
    return pd.Series(mapped[inverse], index=numeric.index, dtype=object)


def _check_products(products: pd.Series, source: SourceFile) -> None:
    bad = ~products.str.fullmatch(r"\d{6}")
    if bad.any():
        pos = int(products.index[np.flatnonzero(bad.to_numpy())[0]])
        raise source.error(pos, "k", f"product code {products.loc[pos]!r} is not an HS6 code (six digits)")


def _load_duckdb(file: Path, mapping: dict[int, str]) -> pa.Table:
    """DuckDB engine: read and check in SQL, map codes in Arrow; errors cite the file row (header = row 1)."""
    import duckdb

    header = sniff_header(file)
    names = [name.strip() for name in header.split(",")]
    if len(names) < 2:
        raise DataValidationError(
            f"{file}: row 1: wrong separator: a CEPII BACI file is comma-separated with columns "
            f"{', '.join(BACI_COLUMNS)}; the header read {header[:60]!r}"
        )
    missing = [c for c in BACI_COLUMNS if c not in names]
    if missing:
        raise DataValidationError(
            f"{file}: column {missing[0]!r}: missing column(s) {', '.join(missing)}; a CEPII BACI file needs "
            f"{', '.join(BACI_COLUMNS)}; found {', '.join(names)}"
        )
    bad_codes = sorted(set(mapping.values()) - known_codes())
    if bad_codes:
        raise DataValidationError(f"{file}: country codes {bad_codes} in the code mapping are not known ISO3 codes")
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        try:  # fast path: typed read; any unreadable number falls back to the text path below
            con.execute(
                "CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, delim = ',', nullstr = ['NA', ''], "
                "columns = {'t': 'BIGINT', 'i': 'BIGINT', 'j': 'BIGINT', 'k': 'VARCHAR', 'v': 'DOUBLE', 'q': 'DOUBLE'})",
                [str(file)],
            )
            con.execute(
                "CREATE VIEW typed AS SELECT rowid AS pos, t, i, j, lpad(trim(k), 6, '0') AS k, v, "
                "CAST(v AS VARCHAR) AS v_raw, q, CAST(q AS VARCHAR) AS q_raw FROM raw"
            )
        except duckdb.Error:
            con.execute("DROP TABLE IF EXISTS raw")
            try:
                con.execute(
                    "CREATE TABLE raw AS SELECT * FROM read_csv(?, header = true, delim = ',', columns = {'t': "
                    "'BIGINT', 'i': 'BIGINT', 'j': 'BIGINT', 'k': 'VARCHAR', 'v': 'VARCHAR', 'q': 'VARCHAR'})",
                    [str(file)],
                )
            except duckdb.Error as error:  # t, i or j not integers, or a ragged line
                raise DataValidationError(
                    f"{file}: cannot be read as CEPII BACI (t, i, j must be integers): {error}"
                ) from None
            con.execute(
                "CREATE VIEW typed AS SELECT rowid AS pos, t, i, j, lpad(trim(k), 6, '0') AS k, "
                "TRY_CAST(trim(v) AS DOUBLE) AS v, trim(v) AS v_raw, "
                "TRY_CAST(NULLIF(trim(q), 'NA') AS DOUBLE) AS q, NULLIF(trim(q), 'NA') AS q_raw FROM raw"
            )
        checks = (
            ("v", "v IS NULL", "value {!r} is not a number; v must be filled", "v_raw"),
            ("q", "q IS NULL AND q_raw IS NOT NULL AND q_raw <> ''", "value {!r} is not a number or NA", "q_raw"),
            ("v", "v < 0", "negative value {!r}; values must be >= 0 (fix the sign or drop the row)", "v"),
            ("q", "q < 0", "negative value {!r}; values must be >= 0 (fix the sign or drop the row)", "q"),
        )
        firsts = con.execute(
            "SELECT " + ", ".join(f"min(pos) FILTER (WHERE {condition})" for _, condition, _, _ in checks) + " FROM typed"
        ).fetchone()
        for (column, _, message, shown), first in zip(checks, firsts or ()):
            if first is not None:
                value = con.execute(f"SELECT {shown} FROM typed WHERE pos = ?", [first]).fetchone()[0]
                raise DataValidationError(f"{file}: row {first + 2}, column {column!r}: {message.format(value)}")
        # codes and products: check the few distinct values, then locate the first bad one
        distinct = {
            column: [row[0] for row in con.execute(f"SELECT DISTINCT {column} FROM typed").fetchall()]
            for column in ("i", "j", "k")
        }
        bad = {
            "i": [code for code in distinct["i"] if code not in mapping],
            "j": [code for code in distinct["j"] if code not in mapping],
            "k": [code for code in distinct["k"] if not re.fullmatch(r"\d{6}", str(code))],
        }
        for column, message in (
            ("i", "unknown BACI country code {!r}" + _CODE_FIX),
            ("j", "unknown BACI country code {!r}" + _CODE_FIX),
            ("k", "product code {!r} is not an HS6 code (six digits)"),
        ):
            if bad[column]:
                first, value = con.execute(
                    f"SELECT pos, {column} FROM typed WHERE list_contains(?, {column}) ORDER BY pos LIMIT 1",
                    [bad[column]],
                ).fetchone()
                raise DataValidationError(f"{file}: row {first + 2}, column {column!r}: {message.format(value)}")
        # k is six digits now, so its integer value identifies the product
        repeated = con.execute(
            "SELECT t, i, j, CAST(k AS INTEGER) FROM typed GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
        ).fetchone()
        if repeated is not None:
            rows = con.execute(
                "SELECT pos, k FROM typed WHERE t = ? AND i = ? AND j = ? AND CAST(k AS INTEGER) = ? ORDER BY pos LIMIT 2",
                list(repeated),
            ).fetchall()
            raise DataValidationError(
                f"{file}: row {rows[1][0] + 2}, column 'k': duplicate key (t={repeated[0]}, i={repeated[1]}, "
                f"j={repeated[2]}, k={rows[1][1]!r}), first seen at row {rows[0][0] + 2}; each (t, i, j, k) must "
                "appear once"
            )
        table = con.sql(
            f"SELECT i, j, t AS year, k AS product, v * {THOUSANDS_TO_MILLIONS} AS trade, q AS quantity FROM typed"
        ).to_arrow_table()
    finally:
        con.close()
    numeric = pa.array([int(code) for code in mapping], type=pa.int64())
    iso3 = pa.array(list(mapping.values()), type=pa.string())
    columns = {
        target: pc.take(iso3, pc.index_in(table.column(source), value_set=numeric))
        for source, target in (("i", "exporter"), ("j", "importer"))
    }
    return pa.table(
        {**columns, **{name: table.column(name) for name in ("year", "product", "trade", "quantity")}}
    ).combine_chunks()
