"""Checks of the solvers' tabular and keyed inputs, shared by their parsers.

One message style everywhere: the argument, the column or key, the value, what is allowed and
how to fix it (:class:`blocsim.errors.DataValidationError`).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.errors import DataValidationError

FloatArray = NDArray[np.float64]


def require_columns(df: object, columns: Sequence[str], argument: str) -> pd.DataFrame:
    """``df`` itself if it is a DataFrame with ``columns``; else a DataValidationError naming ``argument``."""
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            f"argument {argument!r}: expected a pandas DataFrame with columns {list(columns)!r}, "
            f"got {type(df).__name__}."
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"argument {argument!r}: missing column(s) {missing!r} (has {list(df.columns)!r}). "
            f"Fix: rename your columns to {list(columns)!r}."
        )
    return df


def numeric_column(df: pd.DataFrame, column: str, argument: str, *, low: float, high: float = np.inf,
                   allowed: str) -> FloatArray:
    """Column ``column`` as floats, every value finite and in [low, high] (``allowed`` says so in words)."""
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < low) | (values > high)
    if bad.any():
        rows = df.loc[bad].head(5)
        raise DataValidationError(
            f"argument {argument!r}, column {column!r}: {int(bad.sum())} value(s) not allowed "
            f"(allowed: {allowed}); first rows:\n{rows.to_string()}\nFix: correct or drop these rows."
        )
    return values


def keyed_vector(values: Mapping[str, float], keys: Sequence[str], argument: str, *, fill: float, kind: str,
                 valid: Callable[[float], bool], allowed: str, meaning: str, example: str) -> FloatArray:
    """``values`` (key -> number) as a vector in the order of ``keys``, ``fill`` where a key is not given.

    Parameters
    ----------
    kind : str
        What the keys are, for messages: ``"country"`` (ISO3 codes) or ``"sector"`` (sector codes).
    valid : callable float -> bool
        The value rule beyond being a finite number; ``allowed`` states it (with its fix).
    meaning, example : str
        What a value is and an example mapping, for the message when ``values`` is no mapping.
    """
    codes = "ISO3 codes" if kind == "country" else f"{kind} codes"
    if not isinstance(values, Mapping):
        key = "ISO3" if kind == "country" else kind
        raise DataValidationError(f"argument {argument!r}: expected a mapping {key} -> {meaning}, got "
                                  f"{type(values).__name__}. Fix: pass e.g. {example}.")
    index = {key: k for k, key in enumerate(keys)}
    out = np.full(len(keys), fill, dtype=float)
    for code, value in values.items():
        if code not in index:
            raise DataValidationError(f"argument {argument!r}: {code!r} is not a {kind} of the baseline data; "
                                      f"allowed: its {codes}. Fix: drop it or correct the code.")
        number = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
        if not number or not np.isfinite(value) or not valid(float(value)):
            raise DataValidationError(f"argument {argument!r}: {code!r} -> {value!r}; allowed: {allowed}")
        out[index[code]] = float(value)
    return out
