"""Aggregation that preserves totals: countries to regions, products to sectors, and the
construction of domestic flows where a source has none.

All functions are pure: they take tidy frames (see :mod:`blocsim.data.schema`) and return
new ones. Sums use ``min_count=1``, so a group whose values are all missing stays missing
instead of becoming a fake zero; otherwise the grand total of every value column is
unchanged by aggregation. Infinite values are refused on the way in, and a sum that
overflows to infinity on the way out.
"""

from __future__ import annotations

from typing import Callable, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from blocsim.data.concordance import Level, map_products
from blocsim.errors import DataValidationError

#: Flag written to ``imputed`` for domestic flows built by :func:`add_domestic_flows`.
DOMESTIC_METHOD = "domestic_output_minus_exports"
DOMESTIC_CAVEAT = (
    "Domestic flows X_ii = gross output - total exports, with output and exports from different "
    "sources or valuations (e.g. MRIO basic prices vs customs f.o.b. values); re-exports and "
    "valuation gaps can make the difference small or negative, and goods output excludes services "
    "unless the output measure includes them."
)


def _require_finite(frame: pd.DataFrame, columns: Sequence[str], *, source: str, allow_missing: bool) -> None:
    """Raise on the first infinite value (and, unless ``allow_missing``, NaN) in ``columns``."""
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = np.isinf(values) if allow_missing else ~np.isfinite(values)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"{source}: column {column!r} has a non-finite value {float(values[first])!r} in row "
                f"{frame.index[first]!r} ({int(bad.sum())} such rows); values must be finite"
                + (" (NaN marks a missing value)" if allow_missing else "")
                + "; fix: correct or drop those rows"
            )


def _group_sum(frame: pd.DataFrame, keys: list[str], values: list[str], *, source: str) -> pd.DataFrame:
    """Group sums of ``values`` by ``keys``; raises on infinite inputs or sums that overflow."""
    _require_finite(frame, values, source=source, allow_missing=True)
    with np.errstate(over="ignore"):  # an overflow is reported below, with its group
        grouped = frame.groupby(keys, sort=True, dropna=False, observed=True)[values].sum(min_count=1).reset_index()
    for column in values:
        overflow = np.isinf(grouped[column].to_numpy(dtype=float))
        if overflow.any():
            row = grouped.loc[overflow, keys].iloc[0].to_dict()
            raise DataValidationError(
                f"{source}: the sum of column {column!r} overflows double precision for {row}; values must be far "
                "below 1e308; fix: check the units of that column"
            )
    return grouped


def aggregate_countries(
    frame: pd.DataFrame,
    mapping: Mapping[str, str] | Callable[[str], str],
    *,
    columns: Sequence[str] = ("exporter", "importer"),
    value_columns: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    source: str = "table",
) -> pd.DataFrame:
    """Sum a table over countries grouped into regions (e.g. EU members -> ``EUN``).

    Parameters
    ----------
    frame
        Tidy table with the country columns in ``columns``.
    mapping
        ``code -> region`` (see :func:`blocsim.data.countries.region_mapping`) or a function
        of one code. Every code in the table must be mapped.
    columns
        Country columns to map (``("country",)`` for a country-level table).
    value_columns
        Columns to sum; by default every float column.
    keys
        Other grouping columns; by default every non-float column (text such as
        ``sector``, ``product``, integers such as ``year``). Columns that are neither keys
        nor values are dropped.
    source
        Label of the table in error messages.

    Returns
    -------
    DataFrame
        One row per distinct combination of the mapped country columns and the keys,
        sorted; the column totals equal those of ``frame``. Flows between two countries of
        one region become that region's domestic flow (``EUN -> EUN``).
    """
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            raise DataValidationError(f"{source}: column {column!r} missing; country columns are {list(columns)}")
        codes = out[column].astype(str)
        uniques = codes.unique()
        lookup = {code: (mapping(code) if callable(mapping) else mapping.get(code)) for code in uniques}
        unmapped = sorted(code for code, region in lookup.items() if region is None)
        if unmapped:
            raise DataValidationError(
                f"{source}: column {column!r}: codes {unmapped[:10]} have no region in the mapping; "
                "map every code (e.g. region_mapping(..., rest='ROW'))"
            )
        out[column] = codes.map(lookup).astype(str)
    group = _keys(out, keys, value_columns, required=columns)
    return _group_sum(out, group, _value_columns(out, value_columns, group), source=source)


def _keys(
    frame: pd.DataFrame, keys: Sequence[str] | None, value_columns: Sequence[str] | None, *, required: Sequence[str]
) -> list[str]:
    """Grouping columns: ``required`` plus ``keys`` or, by default, every non-float column."""
    if keys is None:
        auto = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c].dtype)]
        keys = [c for c in auto if c not in (value_columns or ())]
    missing = [c for c in keys if c not in frame.columns]
    if missing:
        raise DataValidationError(f"keys: {missing} not in the table (columns: {list(frame.columns)})")
    return list(dict.fromkeys([*required, *keys]))


def _value_columns(frame: pd.DataFrame, value_columns: Sequence[str] | None, keys: Iterable[str]) -> list[str]:
    if value_columns is not None:
        missing = [c for c in value_columns if c not in frame.columns]
        if missing:
            raise DataValidationError(f"value_columns: {missing} not in the table (columns: {list(frame.columns)})")
        return list(value_columns)
    key_set = set(keys)
    return [c for c in frame.columns if c not in key_set and pd.api.types.is_float_dtype(frame[c].dtype)]


def aggregate_products(
    frame: pd.DataFrame,
    to: Level,
    *,
    product: str = "product",
    value_columns: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    out_column: str | None = None,
    source: str = "table",
) -> pd.DataFrame:
    """Sum a product-level table (HS6/HS4/HS2) to chapters, HS sections or broad sectors.

    Parameters
    ----------
    frame
        Tidy table with an HS code column ``product`` (strings with leading zeros).
    to
        ``"hs2"``, ``"section"`` or ``"broad"`` (see :mod:`blocsim.data.concordance`).
    product
        Name of the product column.
    value_columns
        Columns to sum (default: float columns, e.g. ``trade``, ``quantity``).
    keys
        Other grouping columns (default: every non-float column except ``product``).
    out_column
        Name of the new classification column; default ``"hs2"``, ``"section"`` or
        ``"sector"``.
    source
        Label of the table in error messages.

    Returns
    -------
    DataFrame
        The other key columns, the new classification column and the summed values; totals
        equal those of ``frame``.
    """
    if product not in frame.columns:
        raise DataValidationError(f"{source}: column {product!r} missing; pass product=<HS code column>")
    target = out_column or {"hs2": "hs2", "section": "section", "broad": "sector"}[to]
    mapped = map_products(frame[product], to, source=source, column=product)
    out = frame.drop(columns=[product]).assign(**{target: mapped})
    group = _keys(out, [k for k in keys if k != product] if keys is not None else None, value_columns, required=())
    group = list(dict.fromkeys([*group, target]))
    return _group_sum(out, group, _value_columns(out, value_columns, group), source=source)


def add_domestic_flows(
    flows: pd.DataFrame,
    output: pd.DataFrame,
    *,
    exporter: str = "exporter",
    importer: str = "importer",
    flow: str = "trade",
    country: str = "country",
    output_column: str = "output",
    keys: Sequence[str] = ("year",),
    on_negative: Literal["raise", "clip"] = "raise",
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Construct domestic flows X_ii = output_i - sum_{j != i} X_ij for a source without them.

    Parameters
    ----------
    flows
        Bilateral flows without domestic rows (``exporter != importer``), USD millions.
        May carry an ``imputed`` flag column; it is kept.
    output
        Gross output (same unit, same valuation as far as possible) with columns
        ``country``, ``keys`` and ``output_column``; one row per country and key.
    exporter, importer, flow, country, output_column
        Column names.
    keys
        Further key columns shared by both tables (``("year",)``, ``("year", "sector")``).
    on_negative
        What to do where exports exceed output: ``"raise"`` (default) or ``"clip"`` to
        zero (listed in the returned metadata).

    Returns
    -------
    flows : DataFrame
        ``flows`` plus one domestic row per country (and key) that exports or has output,
        with ``imputed = "domestic_output_minus_exports"`` (others keep their flag, ``""``
        if there was none).
    meta : dict
        ``method``, ``caveat``, ``countries`` (with a constructed flow) and ``clipped``
        (rows set to zero: country and keys).

    Raises
    ------
    DataValidationError
        If ``flows`` already has domestic rows, a flow is missing or not finite, an output is
        infinite, a country has no output, an output row is repeated, or exports exceed
        output with ``on_negative="raise"``.
    """
    keys = list(keys)
    if flow not in flows.columns:
        raise DataValidationError(f"flows: missing column {flow!r}; pass flow=<flow column>")
    _require_finite(flows, [flow], source="flows", allow_missing=False)  # a NaN flow would count as 0
    domestic = flows[exporter] == flows[importer]
    if domestic.any():
        first = flows.loc[domestic].iloc[0]
        raise DataValidationError(
            f"flows: already has domestic flows (e.g. {first[exporter]} -> {first[importer]}); "
            "add_domestic_flows builds them only for sources that have none"
        )
    need = [country, output_column, *keys]
    missing = [c for c in need if c not in output.columns]
    if missing:
        raise DataValidationError(f"output: missing column(s) {missing}; needs {need}")
    _require_finite(output, [output_column], source="output", allow_missing=True)  # NaN: no output, below
    if output.duplicated([country, *keys]).any():
        row = output.loc[output.duplicated([country, *keys])].iloc[0]
        raise DataValidationError(f"output: repeated row for {row[[country, *keys]].to_dict()}; one row per country")
    exports = flows.groupby([exporter, *keys], sort=False)[flow].sum().rename("exports").reset_index()
    exports = exports.rename(columns={exporter: country})
    table = output[need].merge(exports, on=[country, *keys], how="outer")
    no_output = table[output_column].isna()
    if no_output.any():
        row = table.loc[no_output].iloc[0]
        raise DataValidationError(
            f"output: no {output_column!r} for {row[[country, *keys]].to_dict()}, which exports "
            f"{row['exports']:.6g}; give output for every exporter or aggregate it into a region"
        )
    table["exports"] = table["exports"].fillna(0.0)
    value = table[output_column].to_numpy(dtype=float) - table["exports"].to_numpy(dtype=float)
    negative = value < 0
    clipped: list[dict[str, object]] = []
    if negative.any():
        if on_negative != "clip":
            row = table.loc[negative].iloc[0]
            raise DataValidationError(
                f"output: exports {row['exports']:.6g} exceed {output_column} {row[output_column]:.6g} for "
                f"{row[[country, *keys]].to_dict()}; fix the output figure or pass on_negative='clip'"
            )
        clipped = table.loc[negative, [country, *keys]].to_dict(orient="records")
        value = np.where(negative, 0.0, value)
    built = pd.DataFrame({exporter: table[country], importer: table[country], **{k: table[k] for k in keys}, flow: value})
    built["imputed"] = DOMESTIC_METHOD
    base = flows.copy()
    if "imputed" not in base.columns:
        base["imputed"] = ""
    result = pd.concat([base, built], ignore_index=True)
    result = result.sort_values([*keys, exporter, importer], kind="stable", ignore_index=True)
    meta: dict[str, object] = {
        "method": DOMESTIC_METHOD,
        "formula": "X_ii = output_i - sum_{j != i} X_ij",
        "caveat": DOMESTIC_CAVEAT,
        "countries": sorted(set(built[exporter])),
        "clipped": clipped,
    }
    return result, meta
