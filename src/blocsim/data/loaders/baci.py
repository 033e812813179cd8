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

Engines
-------
``engine="pandas"`` reads with :func:`pandas.read_csv` and checks with the shared helpers of
:mod:`._io`; ``engine="duckdb"`` does all of it in DuckDB (:mod:`._baci_duckdb`) and, through
:func:`baci_parquet_writer`, lets the store write Parquet without a table in Python. Both
accept exactly the same files (:mod:`._baci_rules`), give the same table and report the same
first problem with the same message (file, row, column and the cell as written).
``engine="auto"`` (default) picks DuckDB for files of at least :data:`AUTO_DUCKDB_BYTES`: on a
10M-row file (``bench/data_load.py``) the DuckDB import is about three times faster.
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from blocsim.data.countries import iso3_table, normalize_codes
from blocsim.data.loaders import _baci_duckdb
from blocsim.data.loaders._baci_rules import (
    BACI_COLUMNS,
    MISSING_MARKERS,
    PRODUCT_DIGITS,
    duplicate_key,
    not_hs6,
    unknown_code,
)
from blocsim.data.loaders._io import (
    MISSING_VALUE,
    PathLike,
    SourceFile,
    check_unique,
    existing_file,
    first_row,
    integer_column,
    numeric_column,
    read_delimited,
    sniff_header,
    tidy,
)
from blocsim.errors import DataValidationError

__all__ = ["BACI_COLUMNS", "BACI_SPECIAL_CODES", "baci_country_codes", "baci_parquet_writer", "load_baci"]
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
#: BACI ``v`` is in thousands of USD; blocsim flows are USD millions.
THOUSANDS_TO_MILLIONS = 1e-3
#: ``engine="auto"`` uses DuckDB for files at least this large (bytes; about 1.5M BACI rows).
AUTO_DUCKDB_BYTES = 50_000_000
Engine = Literal["auto", "pandas", "duckdb"]


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


def baci_engine(path: Path, engine: Engine) -> Literal["pandas", "duckdb"]:
    """The engine ``engine`` stands for on ``path``: ``"auto"`` is ``"duckdb"`` for files of at
    least :data:`AUTO_DUCKDB_BYTES`, else ``"pandas"``."""
    if engine == "auto":
        return "duckdb" if path.stat().st_size >= AUTO_DUCKDB_BYTES else "pandas"
    if engine not in ("pandas", "duckdb"):
        raise DataValidationError(f"engine={engine!r}: allowed are 'auto', 'pandas', 'duckdb'")
    return engine


def load_baci(
    path: PathLike,
    *,
    country_codes: PathLike | None | Literal["auto"] = "auto",
    engine: Engine = "auto",
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
        ``"pandas"`` (``pandas.read_csv``), ``"duckdb"`` (DuckDB's parallel CSV reader, a join
        against the code table and SQL checks; see :mod:`._baci_duckdb`) or ``"auto"`` (DuckDB
        for files of at least :data:`AUTO_DUCKDB_BYTES`); all give the same table.
    arrow
        With the DuckDB engine: return a :class:`pyarrow.Table` with the same columns instead
        of a DataFrame. To store a file, :meth:`~blocsim.data.store.Store.import_file` uses
        :func:`baci_to_parquet` instead, which never builds the table in Python.

    Returns
    -------
    DataFrame or pyarrow.Table
        ``exporter, importer`` (ISO3), ``year`` (int), ``product`` (HS6, 6-character
        string with leading zeros), ``trade`` (USD millions = ``v`` / 1000), ``quantity``
        (metric tons, NaN when missing), in file order.

    Raises
    ------
    DataValidationError
        Empty file, wrong separator, a column named twice, missing columns, a line with more
        fields than the header, ``t``/``i``/``j`` that are not whole numbers, ``v``/``q`` that
        are not numbers, not finite (``nan``, ``inf``, ``1e309``) or negative, a missing
        ``v``, an unknown country code, a product that is not HS6, or a repeated (t, i, j, k).
    """
    file = existing_file(path, what="CEPII BACI")
    chosen = baci_engine(file, engine)
    if arrow and chosen != "duckdb":
        raise DataValidationError(f"arrow=True needs engine='duckdb' (got engine={engine!r} on {file})")
    mapping = baci_country_codes(_find_country_codes(file) if country_codes == "auto" else country_codes)
    if chosen == "duckdb":
        table = _baci_duckdb.read_arrow(file, mapping)
        return table if arrow else tidy(table.to_pandas()).astype({"year": "int64"})
    source = SourceFile(file)
    raw = _read_pandas(file, source)
    value = numeric_column(raw, "v", source, missing=MISSING_MARKERS, allow_missing=False, non_negative=True)
    quantity = numeric_column(raw, "q", source, missing=MISSING_MARKERS, non_negative=True)
    exporter = _map_codes(raw["i"], mapping, source, "i")
    importer = _map_codes(raw["j"], mapping, source, "j")
    product = _products(raw["k"], source)
    out = pd.DataFrame(
        {
            "exporter": exporter,
            "importer": importer,
            "year": raw["t"].astype("int64"),
            "product": product,
            "trade": value * THOUSANDS_TO_MILLIONS,
            "quantity": quantity,
        }
    )
    _check_unique(out.assign(i=raw["i"], j=raw["j"]), raw["k"], source)
    return tidy(out)


def _read_pandas(file: Path, source: SourceFile) -> pd.DataFrame:
    """The file with ``t, i, j`` as int64, ``v`` as float64, ``k, q`` as text.

    The fast typed read is used when it succeeds with finite values; otherwise the file is
    re-read as text and every column checked with the shared rules, which reports the first
    bad cell as written (``1,5x``, ``inf``, ``1e309``) exactly as the DuckDB engine does.
    """
    try:
        with warnings.catch_warnings():  # pandas warns when "inf" fails as int64; the text read reports it
            warnings.filterwarnings("ignore", "invalid value encountered in cast", RuntimeWarning)
            raw = read_delimited(
                file, sep=",", required=BACI_COLUMNS, what="CEPII BACI",
                dtype={"t": "int64", "i": "int64", "j": "int64", "k": str, "v": "float64", "q": str}, na_values=(),
            )
        if np.isfinite(raw["v"].to_numpy()).all():
            return raw
    except DataValidationError as error:
        if "cannot be parsed" not in str(error):
            raise
    text = read_delimited(file, sep=",", required=BACI_COLUMNS, what="CEPII BACI", dtype=str, na_values=())
    for column in ("t", "i", "j"):
        text[column] = integer_column(text, column, source, missing=MISSING_MARKERS)
    text["v"] = numeric_column(text, "v", source, missing=MISSING_MARKERS, allow_missing=False, non_negative=True)
    return text


def _map_codes(numeric: pd.Series, mapping: dict[int, str], source: SourceFile, column: str) -> pd.Series:
    """Map BACI numeric codes through ``mapping`` (factorised: one lookup per distinct code)."""
    uniques, inverse = np.unique(numeric.to_numpy(), return_inverse=True)
    mapped = np.array([mapping.get(int(code), "") for code in uniques], dtype=object)
    unknown = mapped == ""
    pos = first_row(numeric.isin(uniques[unknown]))
    if pos is not None:
        raise source.error(pos, column, unknown_code(int(numeric.loc[pos]), [int(code) for code in uniques[unknown]]))
    return pd.Series(mapped[inverse], index=numeric.index, dtype=object)


def _products(raw: pd.Series, source: SourceFile) -> pd.Series:
    """HS6 codes as 6-character strings (``10121`` -> ``010121``; surrounding spaces ignored);
    raises on an empty cell or one that is not one to six digits."""
    text = raw.fillna("").astype(str).str.strip(" ")
    pos = first_row(text == "")
    if pos is not None:
        raise source.error(pos, "k", MISSING_VALUE)
    pos = first_row(~text.str.fullmatch(PRODUCT_DIGITS))
    if pos is not None:
        raise source.error(pos, "k", not_hs6(raw.loc[pos]))
    return text.str.zfill(6)


def _check_unique(out: pd.DataFrame, raw_products: pd.Series, source: SourceFile) -> None:
    """Raise on the first row repeating an earlier (t, i, j, k); ``010121`` and ``10121`` are
    the same product."""
    keys = ["year", "i", "j", "product"]
    pos = first_row(out.duplicated(keys, keep="first"))
    if pos is None:
        return
    same = (out[keys] == out.loc[pos, keys].to_numpy()).all(axis=1).to_numpy()
    first = int(out.index[same][0])
    row = out.loc[pos]
    message = duplicate_key(int(row["year"]), int(row["i"]), int(row["j"]), raw_products.loc[pos], source.row(first))
    raise source.error(pos, "k", message)


def baci_parquet_writer(
    path: PathLike,
    *,
    country_codes: PathLike | None | Literal["auto"] = "auto",
    engine: Engine = "auto",
    arrow: bool = False,
) -> Callable[[Path], int] | None:
    """A function writing the tidy flows of a BACI file straight to Parquet, for the store.

    The Parquet-writing counterpart of :func:`load_baci`: with the DuckDB engine the file goes
    CSV -> checks -> Parquet inside DuckDB (``COPY ... TO``), with no pandas or Arrow copy of
    the table in Python. Same options as :func:`load_baci`.

    Parameters
    ----------
    path, country_codes, engine
        As in :func:`load_baci`.
    arrow
        ``True`` asks for :func:`load_baci`'s ``pyarrow.Table``, which this writer cannot
        produce (it never holds the table in Python): it then returns ``None`` so the caller
        loads the table with ``load_baci(path, arrow=True, ...)``.

    Returns
    -------
    callable or None
        ``writer(target: Path) -> int``: validates the file and writes ``target`` (nothing is
        written when validation fails, raising :class:`DataValidationError` as
        :func:`load_baci`), returning the rows written. ``None`` when the options choose the
        pandas engine or ``arrow=True``; the caller then loads the table with :func:`load_baci`.
    """
    file = existing_file(path, what="CEPII BACI")
    if arrow or baci_engine(file, engine) != "duckdb":
        return None
    mapping = baci_country_codes(_find_country_codes(file) if country_codes == "auto" else country_codes)
    return functools.partial(_baci_duckdb.write_parquet, file, mapping)
