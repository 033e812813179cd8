"""Standard column names and units of blocsim's tidy trade tables, and boundary checks.

Every stage after :mod:`blocsim.data` sees the same column names, so loaders rename source
columns to these once, at the boundary.

========== ========= ===========================================================
column     dtype     meaning
========== ========= ===========================================================
exporter   str       ISO 3166-1 alpha-3 code (or a declared region, e.g. ``EUN``)
importer   str       ISO 3166-1 alpha-3 code of the destination
year       int       calendar year
sector     str       sector code of a declared classification
trade      float     flow from exporter to importer, current USD millions, valued
                     before tariffs; domestic flows (exporter == importer) included
========== ========= ===========================================================

Cost covariates (distance in logs, contiguity, RTA dummies, ...) keep their own names; they
must be numeric and finite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from blocsim.errors import DataValidationError

EXPORTER = "exporter"
IMPORTER = "importer"
YEAR = "year"
SECTOR = "sector"
FLOW = "trade"

#: Unit of every flow column (exporter -> importer trade, domestic flows included).
FLOW_UNIT = "current USD millions"

#: Largest flow accepted anywhere, in any unit. No currency unit comes near it (world trade
#: is about 3e7 USD millions); beyond it sums, squares and PPML weights of flows overflow
#: double precision (1.8e308), so a larger value is a corrupt or mis-scaled cell.
MAX_FLOW = 1e100

#: How many offending rows an error message quotes.
MAX_ROWS_SHOWN = 5


def format_rows(frame: pd.DataFrame, mask: np.ndarray | pd.Series, columns: Sequence[str]) -> str:
    """Describe the first few rows of ``frame`` where ``mask`` holds, for an error message.

    Parameters
    ----------
    frame
        The table being validated.
    mask
        Boolean array of length ``len(frame)`` marking offending rows.
    columns
        Columns to quote for each offending row (key columns and the bad column).

    Returns
    -------
    str
        E.g. ``"3 rows, first: row 12 (exporter='USA', importer='CAN', trade=-1.0)"``.
    """
    selected = frame.loc[np.asarray(mask, dtype=bool), list(dict.fromkeys(columns))]
    quoted = [
        f"row {index} (" + ", ".join(f"{name}={value!r}" for name, value in row.items()) + ")"
        for index, row in selected.head(MAX_ROWS_SHOWN).iterrows()
    ]
    more = "" if len(selected) <= MAX_ROWS_SHOWN else ", ..."
    return f"{len(selected)} row{'s' if len(selected) != 1 else ''}, first: " + "; ".join(quoted) + more


def require_columns(frame: pd.DataFrame, columns: dict[str, str], *, source: str) -> None:
    """Raise :class:`DataValidationError` if a named column is missing from ``frame``.

    Parameters
    ----------
    frame
        Input table.
    columns
        Mapping of argument name (e.g. ``"flow"``) to the column it names.
    source
        Name of the table in messages (argument or file name).
    """
    available = ", ".join(map(repr, frame.columns))
    for argument, column in columns.items():
        if not isinstance(column, str):
            raise DataValidationError(
                f"{source}: argument {argument}={column!r} must be a column name (str); "
                f"available columns: {available}"
            )
        if column not in frame.columns:
            raise DataValidationError(
                f"{source}: column {column!r} (argument {argument}=) not found; available columns: "
                f"{available}; fix: pass {argument}='<column name>' naming one of them"
            )


def require_numeric(frame: pd.DataFrame, column: str, *, source: str, keys: Sequence[str]) -> None:
    """Raise if ``column`` is not numeric or holds NaN / infinite values.

    Parameters
    ----------
    frame
        Input table.
    column
        Column to check.
    source
        Name of the table in messages.
    keys
        Key columns quoted for offending rows.
    """
    values = frame[column]
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        converted = pd.to_numeric(values, errors="coerce")
        bad = (converted.isna() & values.notna()).to_numpy()
        where = (
            f"non-numeric values in {format_rows(frame, bad, [*keys, column])}"
            if bad.any()
            else "its values are stored as text"
        )
        raise DataValidationError(
            f"{source}: column {column!r} must be numeric but has dtype {values.dtype}; {where}; fix: "
            f"convert the column with pandas.to_numeric or correct those rows"
        )
    array = values.to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(array)
    if missing.any():
        raise DataValidationError(
            f"{source}: column {column!r} has missing (NaN) values in "
            f"{format_rows(frame, missing, [*keys, column])}; fix: fill them (e.g. 0 for a dummy) or "
            f"drop the rows before building the table"
        )
    infinite = np.isinf(array)
    if infinite.any():
        raise DataValidationError(
            f"{source}: column {column!r} has infinite values in "
            f"{format_rows(frame, infinite, [*keys, column])}; fix: a log of zero gives -inf, so "
            f"replace zeros before taking logs"
        )


def require_country_codes(frame: pd.DataFrame, column: str, *, source: str) -> None:
    """Raise if a country column holds missing or non-string codes."""
    values = frame[column]
    bad = values.isna().to_numpy() | ~values.map(lambda code: isinstance(code, str) and code != "").to_numpy()
    if bad.any():
        raise DataValidationError(
            f"{source}: column {column!r} must hold country codes (non-empty str, ISO3) but has "
            f"missing or non-string values in {format_rows(frame, bad, [column])}; fix: fill or "
            f"drop those rows"
        )


def unknown_names(names: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """Names not in ``allowed``, in input order without repeats."""
    allowed_set = set(allowed)
    return [name for name in dict.fromkeys(names) if name not in allowed_set]
