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
    """Read a delimited text file and check its separator and columns.

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
    """
    source = SourceFile(path, row_offset=2 + skiprows)
    header = sniff_header(path, encoding=encoding, skip=skiprows)
    fields = next(csv.reader([header], delimiter=sep)) if header else []
    if len(fields) < 2 and len(required) > 1:
        others = [name for s, name in _SEPARATORS.items() if s != sep and header.count(s) >= len(required) - 1]
        found = f" the header looks {others[0]}-separated;" if others else ""
        raise DataValidationError(
            f"{path}: row {1 + skiprows}: wrong separator:{found} a {what} file is "
            f"{_SEPARATORS.get(sep, repr(sep))}-separated with columns {', '.join(required)}; "
            "re-export it with that separator or pass the matching loader option"
        )
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
        raise DataValidationError(f"{path}: cannot be parsed as a {what} file: {error}") from None
    frame.columns = [str(c).strip().strip('"') for c in frame.columns]
    require_columns(frame, required, source, what=what)
    return frame


def require_columns(frame: pd.DataFrame, required: Sequence[str], source: SourceFile, *, what: str) -> None:
    """Raise if any of ``required`` is missing, listing the columns that were found."""
    missing = [col for col in required if col not in frame.columns]
    if missing:
        raise source.error(
            None,
            missing[0],
            f"missing column(s) {', '.join(map(repr, missing))}; a {what} file needs "
            f"{', '.join(required)}; found {', '.join(map(str, frame.columns[:20]))}",
        )


def numeric_column(
    frame: pd.DataFrame,
    column: str,
    source: SourceFile,
    *,
    missing: Iterable[str] = (),
    allow_missing: bool = True,
    non_negative: bool = False,
) -> pd.Series:
    """Convert ``column`` to float64, reporting the first non-numeric or negative cell.

    Parameters
    ----------
    missing
        Cell strings that mean "missing" (e.g. ``"."`` in CEPII, ``".."`` in WDI).
    allow_missing
        If False, a missing cell is an error.
    non_negative
        If True, a negative value is an error.
    """
    raw = frame[column]
    if raw.dtype.kind in "biuf":
        values = raw.astype("float64")
        bad_text = pd.Series(False, index=raw.index)
    else:
        text = raw.astype("string").str.strip()
        text = text.mask(text.isin(list(missing)) | (text == ""))
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        bad_text = text.notna() & values.isna()
    pos = first_row(bad_text)
    if pos is not None:
        raise source.error(
            pos, column, f"value {raw.loc[pos]!r} is not a number; write a number or leave the cell empty"
        )
    pos = None if allow_missing else first_row(values.isna())
    if pos is not None:
        raise source.error(pos, column, "missing value; this column must be filled")
    pos = first_row(values < 0) if non_negative else None
    if pos is not None:
        raise source.error(
            pos,
            column,
            f"negative value {float(values.loc[pos])!r}; values must be >= 0 (fix the sign or drop the row)",
        )
    return values


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


def integer_column(frame: pd.DataFrame, column: str, source: SourceFile) -> pd.Series:
    """Convert ``column`` to int64, reporting the first missing or non-integer cell."""
    values = numeric_column(frame, column, source, allow_missing=False)
    pos = first_row(~np.isfinite(values) | (values != np.round(values)))
    if pos is not None:
        raise source.error(pos, column, f"value {float(values.loc[pos])!r} is not a whole number")
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
            f"duplicate key ({', '.join(f'{k}={first[k]!r}' for k in keys)}), first seen at row "
            f"{source.row(earlier)}; each ({', '.join(keys)}) must appear once "
            "(remove the repeated row or aggregate it)",
        )


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
