"""Shared reading and validation helpers for the source loaders.

Every check reports the file, the row (1-based line number in the file, header = line 1,
unless the format says otherwise), the column, the offending value, what is allowed and a
fix, as a :class:`~blocsim.errors.DataValidationError`. Frames handled here keep the index
they were read with (0-based data-row number in the file), so row numbers survive filtering;
helpers report a row by index label, never by position.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from blocsim.data.countries import normalize_codes
from blocsim.errors import DataValidationError

PathLike = str | os.PathLike[str]

_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class SourceFile:
    """A file being loaded: its path and how data-row positions map to reported row numbers.

    Attributes
    ----------
    path : Path
        The file.
    row_offset : int
        Added to a 0-based data-row position to give the reported row (2 for a CSV with
        one header line, 1 for Parquet where rows are records).
    """

    path: Path
    row_offset: int = 2

    @property
    def label(self) -> str:
        """The file name used in messages."""
        return str(self.path)

    def row(self, position: int) -> int:
        """Reported row number of the 0-based data-row ``position`` (a frame's index label)."""
        return int(position) + self.row_offset

    def error(self, position: int | None, column: str | None, message: str) -> DataValidationError:
        """Build an error naming this file and, when given, the row and column."""
        where = self.label
        if position is not None:
            where += f": row {self.row(position)}"
        if column is not None:
            where += f", column {column!r}" if position is not None else f": column {column!r}"
        return DataValidationError(f"{where}: {message}")


def existing_file(path: PathLike, *, what: str) -> Path:
    """Return ``path`` as a Path, or raise if it is not a readable file."""
    result = Path(path)
    if not result.is_file():
        raise DataValidationError(f"{result}: no such file; pass the path of a {what} file")
    return result


def sniff_header(path: Path, *, encoding: str = "utf-8-sig", skip: int = 0) -> str:
    """Return the first non-skipped line of a text file (for separator checks)."""
    with open(path, "r", encoding=encoding, errors="replace", newline="") as handle:
        for _ in range(skip):
            handle.readline()
        return handle.readline().rstrip("\r\n")


def header_fields(path: Path, *, sep: str, encoding: str = "utf-8-sig", skiprows: int = 0) -> list[str]:
    """Column names of a delimited file's header line (CSV quoting honoured, blanks and
    quotes stripped from each name); ``[]`` for an empty file."""
    header = sniff_header(path, encoding=encoding, skip=skiprows)
    return [field.strip().strip('"') for field in next(csv.reader([header], delimiter=sep))] if header else []


def check_header(
    path: Path,
    fields: Sequence[str],
    *,
    sep: str,
    required: Sequence[str],
    what: str,
    encoding: str = "utf-8-sig",
    skiprows: int = 0,
) -> None:
    """Raise on an empty file, a wrong separator, or a column name given twice.

    Parameters
    ----------
    path
        The file (for messages).
    fields
        Its header names, from :func:`header_fields`.
    sep, required, what, encoding, skiprows
        As in :func:`read_delimited`.
    """
    line = 1 + skiprows
    if not fields:
        problem = "the file is empty" if path.stat().st_size == 0 else "the header line is blank"
        raise DataValidationError(
            f"{path}: row {line}: {problem}; a {what} file starts with a header line naming {', '.join(required)}"
        )
    if len(fields) < 2 and len(required) > 1:
        header = sniff_header(path, encoding=encoding, skip=skiprows)
        others = [name for s, name in _SEPARATORS.items() if s != sep and header.count(s) >= len(required) - 1]
        found = f" the header looks {others[0]}-separated;" if others else ""
        raise DataValidationError(
            f"{path}: row {line}: wrong separator:{found} a {what} file is "
            f"{_SEPARATORS.get(sep, repr(sep))}-separated with columns {', '.join(required)}; "
            "re-export it with that separator or pass the matching loader option"
        )
    seen: dict[str, int] = {}
    for number, name in enumerate(fields, start=1):
        if name in seen:
            raise DataValidationError(
                f"{path}: row {line}, column {name!r}: the header names column {name!r} twice (fields "
                f"{seen[name]} and {number}), so its values are ambiguous; a {what} header names each column "
                "once; rename or remove one of them"
            )
        seen[name] = number


def too_many_fields(path: Path, line: int, expected: int, found: int, *, sep: str, what: str) -> str:
    """Message for a line with more fields than the header (shared by both BACI engines; a
    line with fewer fields reads as empty trailing cells in both)."""
    name = _SEPARATORS.get(sep, repr(sep))
    return (
        f"{path}: row {line}: cannot be read: {found} fields where the header has {expected}; a {what} line has "
        f"one {name}-separated field per header column (quote a cell that contains a {name})"
    )


def read_delimited(
    path: Path,
    *,
    sep: str,
    required: Sequence[str],
    what: str,
    dtype: Mapping[str, object] | None = None,
    na_values: Iterable[str] = ("",),
    encoding: str = "utf-8-sig",
    skiprows: int = 0,
) -> pd.DataFrame:
    """Read a delimited text file and check its header (see :func:`check_header`) and columns.

    Parameters
    ----------
    path
        File to read.
    sep
        Expected separator. A header that splits into fewer than two fields on ``sep`` but
        into several on another separator is reported as a wrong separator.
    required
        Columns that must be present (after stripping blanks and quotes from header names).
    what
        Name of the format for messages (e.g. ``"CEPII BACI"``).
    dtype
        Passed to :func:`pandas.read_csv` (per column).
    na_values
        Exact cell strings read as missing (defaults are NOT applied, so ``"NA"`` stays
        Namibia's ISO2 code).
    encoding
        Text encoding; a Latin-1 file is retried as Latin-1 when UTF-8 fails.
    skiprows
        Lines to skip before the header (metadata lines of some exports).

    Returns
    -------
    DataFrame
        All columns as read, index = 0-based data-row position.

    Raises
    ------
    DataValidationError
        Empty file, wrong separator, a column named twice, a missing required column, or a
        file pandas cannot parse.
    """
    source = SourceFile(path, row_offset=2 + skiprows)
    fields = header_fields(path, sep=sep, encoding=encoding, skiprows=skiprows)
    check_header(path, fields, sep=sep, required=required, what=what, encoding=encoding, skiprows=skiprows)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            dtype=dtype,  # type: ignore[arg-type]
            na_values=list(na_values),
            keep_default_na=False,
            encoding=encoding,
            skiprows=skiprows,
            low_memory=False,
        )
    except UnicodeDecodeError:
        frame = pd.read_csv(
            path, sep=sep, dtype=dtype, na_values=list(na_values), keep_default_na=False,  # type: ignore[arg-type]
            encoding="latin-1", skiprows=skiprows, low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as error:
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if ragged:
            expected, line, found = map(int, ragged.groups())
            raise DataValidationError(too_many_fields(path, line, expected, found, sep=sep, what=what)) from None
        raise DataValidationError(f"{path}: cannot be parsed as a {what} file: {error}") from None
    frame.columns = [str(c).strip().strip('"') for c in frame.columns]
    require_columns(frame, required, source, what=what)
    return frame


def require_columns(
    frame: pd.DataFrame, required: Sequence[str], source: SourceFile, *, what: str, optional: Sequence[str] = ()
) -> None:
    """Raise if any of ``required`` is missing, listing the columns that were found (and the
    ``optional`` ones the format also reads, if any)."""
    missing = [col for col in required if col not in frame.columns]
    if missing:
        extra = f" (optional: {', '.join(optional)})" if optional else ""
        raise source.error(
            None,
            missing[0],
            f"missing column(s) {', '.join(map(repr, missing))}; a {what} file needs "
            f"{', '.join(required)}{extra}; found {', '.join(map(str, frame.columns[:20]))}",
        )


#: Text a "not a number" value is written as (any case, optional sign): parsed as NaN.
_NAN_TEXT = r"[+-]?nan"
#: Cell state of :func:`parse_numbers`: a number (possibly non-finite), an empty or
#: missing-marker cell, or text that is not a number.
NUMBER, BLANK, TEXT = 0, 1, 2


def _advice(fix: str, allowed: str | None) -> str:
    """The end of a cell message: ``allowed: <allowed>`` when the caller states what the column
    allows (its unit, range, meaning of an empty cell), else the generic ``fix``."""
    return f"allowed: {allowed}" if allowed else fix


def not_a_number(value: object, *, allow_missing: bool, allowed: str | None = None) -> str:
    """Message for a cell that is not a number (shared by every loader and both BACI engines)."""
    fix = "write a number" + (" or leave the cell empty" if allow_missing else "")
    return f"value {value!r} is not a number; {_advice(fix, allowed)}"


def not_finite(value: object, *, allow_missing: bool, allowed: str | None = None) -> str:
    """Message for a cell that reads as NaN or +/-infinity (``nan``, ``inf``, ``1e309``)."""
    fix = "write a finite number" + (" or leave the cell empty" if allow_missing else "")
    return f"value {value!r} is not a finite number; {_advice(fix, allowed)}"


def missing_value(allowed: str | None = None) -> str:
    """Message for an empty cell in a column that must be filled."""
    return f"missing value; {_advice('this column must be filled', allowed)}"


MISSING_VALUE = missing_value()


def negative_value(value: float, allowed: str | None = None) -> str:
    """Message for a negative value where values must be >= 0."""
    return f"negative value {float(value)!r}; {_advice('values must be >= 0 (fix the sign or drop the row)', allowed)}"


def not_whole(value: float, allowed: str | None = None) -> str:
    """Message for a value that must be a whole number (years, codes)."""
    return f"value {float(value)!r} is not a whole number" + (f"; allowed: {allowed}" if allowed else "")


def out_of_range(value: float, low: float, high: float, allowed: str | None = None) -> str:
    """Message for a value outside ``[low, high]``."""
    return f"value {float(value):g} is outside [{low:g}, {high:g}]; {_advice('write a value in that range', allowed)}"


def not_allowed(value: object, allowed: str) -> str:
    """Message for a value outside a set or pattern of allowed values (codes, categories)."""
    return f"value {str(value)!r} is not allowed; allowed: {allowed}"


def parse_numbers(raw: pd.Series, *, missing: Iterable[str] = ()) -> tuple[pd.Series, pd.Series]:
    """Parse a text column as float64, keeping apart empty cells and text that is no number.

    The rules every loader applies (and the DuckDB BACI engine mirrors in SQL): surrounding
    blanks are ignored; an empty cell or one of ``missing`` is missing; ``nan``, ``inf``,
    ``infinity`` and overflowing numbers such as ``1e309`` parse to NaN / +/-inf (to be
    rejected as non-finite); anything else that :func:`pandas.to_numeric` rejects (``1,5``,
    ``1_000``, ``abc``) is not a number.

    Returns
    -------
    tuple of pandas.Series
        Values (float64; NaN for missing cells, text and ``nan``), and the cell state
        (:data:`NUMBER`, :data:`BLANK` or :data:`TEXT`), both indexed like ``raw``.
    """
    if raw.dtype.kind in "biuf":  # a typed (Parquet) column: NaN is a missing cell
        values = raw.astype("float64")
        return values, pd.Series(np.where(values.isna(), BLANK, NUMBER), index=raw.index)
    text = raw.astype("string").str.strip()
    blank = text.isna() | text.isin(list(missing)) | (text == "")
    values = pd.to_numeric(text.mask(blank), errors="coerce").astype("float64")
    unread = (values.isna() & ~blank).to_numpy()
    state = np.where(blank.to_numpy(), BLANK, NUMBER)
    if unread.any():  # "nan" reads as NaN like unreadable text; tell them apart (few cells)
        nan_text = text[unread].str.fullmatch(_NAN_TEXT, case=False).to_numpy(dtype=bool)
        state[np.flatnonzero(unread)[~nan_text]] = TEXT
    return values, pd.Series(state, index=raw.index)


def numeric_column(
    frame: pd.DataFrame,
    column: str,
    source: SourceFile,
    *,
    missing: Iterable[str] = (),
    allow_missing: bool = True,
    non_negative: bool = False,
    finite: bool = True,
    allowed: str | None = None,
) -> pd.Series:
    """Convert ``column`` to float64, reporting the first bad cell (see :func:`parse_numbers`).

    Checks, in this order, each reporting its first row: text that is not a number;
    non-finite values (``nan``, ``inf``, ``1e309``), unless ``finite=False``; missing cells,
    if not allowed; negative values, if ``non_negative``.

    Parameters
    ----------
    missing
        Cell strings that mean "missing" (e.g. ``"."`` in CEPII, ``".."`` in WDI).
    allow_missing
        If False, a missing cell is an error.
    non_negative
        If True, a negative value is an error.
    finite
        If False, non-finite values are returned as parsed (for callers with a stricter
        check of their own, such as :func:`integer_column`).
    allowed
        What the column allows (e.g. ``"a finite number >= 0 (USD millions)"``), said in
        place of the generic fix in every message.
    """
    raw = frame[column]
    values, state = parse_numbers(raw, missing=missing)
    pos = first_row(state == TEXT)
    if pos is not None:
        raise source.error(pos, column, not_a_number(raw.loc[pos], allow_missing=allow_missing, allowed=allowed))
    pos = first_row((state == NUMBER) & ~np.isfinite(values)) if finite else None
    if pos is not None:
        shown = raw.loc[pos] if isinstance(raw.loc[pos], str) else float(raw.loc[pos])
        raise source.error(pos, column, not_finite(shown, allow_missing=allow_missing, allowed=allowed))
    pos = None if allow_missing else first_row(state == BLANK)
    if pos is not None:
        raise source.error(pos, column, missing_value(allowed))
    pos = first_row(values < 0) if non_negative else None
    if pos is not None:
        raise source.error(pos, column, negative_value(values.loc[pos], allowed))
    return values


def check_range(
    values: pd.Series, column: str, source: SourceFile, low: float, high: float, *, allowed: str | None = None
) -> None:
    """Raise on the first value outside ``[low, high]`` (missing values, NaN, pass)."""
    pos = first_row((values < low) | (values > high))
    if pos is not None:
        raise source.error(pos, column, out_of_range(values.loc[pos], low, high, allowed))


def country_column(
    frame: pd.DataFrame,
    column: str,
    source: SourceFile,
    *,
    extra_fixes: Mapping[str, str] | None = None,
    allowed: Iterable[str] = (),
) -> pd.Series:
    """Normalise a country-code column (see :func:`blocsim.data.countries.normalize_codes`)."""
    return normalize_codes(
        frame[column],
        source=source.label,
        column=column,
        extra_fixes=extra_fixes,
        allowed=allowed,
        row_offset=source.row_offset,
    )


def integer_column(
    frame: pd.DataFrame, column: str, source: SourceFile, *, missing: Iterable[str] = (), allowed: str | None = None
) -> pd.Series:
    """Convert ``column`` to int64, reporting the first cell that is not a number, missing
    (empty or one of ``missing``), or not a whole finite number (``12.5``, ``inf``, ``nan``);
    ``allowed`` as in :func:`numeric_column`."""
    values = numeric_column(frame, column, source, missing=missing, allow_missing=False, finite=False, allowed=allowed)
    pos = first_row(~np.isfinite(values) | (values != np.round(values)))
    if pos is not None:
        raise source.error(pos, column, not_whole(values.loc[pos], allowed))
    return values.astype("int64")


def check_unique(frame: pd.DataFrame, keys: Sequence[str], source: SourceFile) -> None:
    """Raise on the first row whose ``keys`` repeat an earlier row."""
    pos = first_row(frame.duplicated(list(keys), keep="first"))
    if pos is not None:
        first = frame.loc[pos, list(keys)]
        earlier = frame.index[(frame[list(keys)] == first.to_numpy()).all(axis=1)][0]
        raise source.error(
            pos,
            keys[-1],
            f"duplicate key ({', '.join(f'{k}={_plain(first[k])!r}' for k in keys)}), first seen at row "
            f"{source.row(earlier)}; each ({', '.join(keys)}) must appear once "
            "(remove the repeated row or aggregate it)",
        )


def _plain(value: object) -> object:
    """A NumPy scalar as the Python value it holds (``2014``, not ``np.int64(2014)``, in messages)."""
    return value.item() if isinstance(value, np.generic) else value


def first_row(mask: pd.Series) -> int | None:
    """Index label (0-based data-row number in the file) of the first True in ``mask``, or
    ``None`` when there is none; pass it to :meth:`SourceFile.error` to report that row."""
    hits = np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False))
    return int(mask.index[hits[0]]) if len(hits) else None


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Final form of a loader's table: text columns as ``str`` dtype, fresh 0..n-1 index."""
    out = frame.reset_index(drop=True)
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].astype(str)
    return out
