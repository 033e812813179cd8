"""WITS / UNCTAD TRAINS tariff exports (Advanced Query "Tariff and trade analysis" results).

Source
------
World Bank, World Integrated Trade Solution (WITS), tariff data from UNCTAD TRAINS and the
WTO IDB. A downloaded result has one row per reporter, partner, product, year and duty
type, with columns such as ``Reporter`` (ISO3 or a group code; ``EUN`` = EU), ``Partner``
(``WLD`` = all partners), ``Product``, ``Tariff Year``, ``DutyType`` (``AHS`` effectively
applied, ``MFN``, ``BND`` bound, ``PRF`` preferential), ``Simple Average``,
``Weighted Average``, ``Minimum Rate``, ``Maximum Rate`` (all in percent),
``Nbr of Total Lines`` and ``Imports Value in 1000 USD``.
"""

from __future__ import annotations

import pandas as pd

from blocsim.data.loaders._io import (
    PathLike,
    SourceFile,
    check_unique,
    country_column,
    existing_file,
    first_row,
    integer_column,
    numeric_column,
    read_delimited,
    sniff_header,
    tidy,
)
from blocsim.errors import DataValidationError

#: Accepted spellings of each column (first found wins).
_ALIASES: dict[str, tuple[str, ...]] = {
    "importer": ("Reporter", "Reporter ISO3", "Reporter Code"),
    "exporter": ("Partner", "Partner ISO3", "Partner Code"),
    "product": ("Product", "Product Code", "ProductCode"),
    "year": ("Tariff Year", "Year"),
    "duty_type": ("DutyType", "Duty Type"),
    "simple_average": ("Simple Average", "SimpleAverage"),
    "weighted_average": ("Weighted Average", "WeightedAverage"),
    "min_rate": ("Minimum Rate", "Min_Rate", "Min Rate"),
    "max_rate": ("Maximum Rate", "Max_Rate", "Max Rate"),
    "n_lines": ("Nbr of Total Lines", "TotalNoOfLines"),
    "imports": ("Imports Value in 1000 USD",),
}
DUTY_TYPES = ("AHS", "MFN", "BND", "PRF")
PERCENT_TO_FRACTION = 0.01
THOUSANDS_TO_MILLIONS = 1e-3


def _pick(columns: list[str], role: str) -> str | None:
    return next((name for name in _ALIASES[role] if name in columns), None)


def load_wits_tariffs(path: PathLike) -> pd.DataFrame:
    """Load a WITS/TRAINS tariff result CSV.

    Parameters
    ----------
    path
        Comma-separated WITS download (header names as in the module docstring).

    Returns
    -------
    DataFrame
        ``importer`` (reporter, ISO3 or ``EUN``), ``exporter`` (partner; ``WLD`` for all),
        ``product`` (code as text), ``year``, ``duty_type`` (lower case: ahs, mfn, bnd,
        prf; ``"ahs"`` if the file has no duty-type column), ``simple_average`` and, where
        present, ``weighted_average``, ``min_rate``, ``max_rate`` (ad valorem fractions,
        0.05 = 5 %), ``n_lines`` (int) and ``imports`` (USD millions).
    """
    file = existing_file(path, what="WITS tariff")
    columns = [c.strip().strip('"') for c in sniff_header(file).split(",")]
    picked = {role: _pick(columns, role) for role in _ALIASES}
    required = [picked[r] or _ALIASES[r][0] for r in ("importer", "exporter", "product", "year", "simple_average")]
    source = SourceFile(file)
    raw = read_delimited(file, sep=",", required=required, what="WITS tariff", dtype=str, na_values=())
    out = pd.DataFrame(index=raw.index)
    out["importer"] = country_column(raw, required[0], source)
    out["exporter"] = country_column(raw, required[1], source)
    out["product"] = raw[required[2]].fillna("").astype(str).str.strip()
    out["year"] = integer_column(raw, required[3], source)
    if picked["duty_type"]:
        duty = raw[picked["duty_type"]].fillna("").astype(str).str.strip().str.upper()
        pos = first_row(~duty.isin(DUTY_TYPES))
        if pos is not None:
            raise source.error(
                pos, picked["duty_type"], f"duty type {duty.loc[pos]!r}; allowed are {', '.join(DUTY_TYPES)}"
            )
        out["duty_type"] = duty.str.lower()
    else:
        out["duty_type"] = "ahs"
    for role in ("simple_average", "weighted_average", "min_rate", "max_rate"):
        if picked[role]:
            out[role] = numeric_column(raw, picked[role], source, non_negative=True) * PERCENT_TO_FRACTION
    if picked["n_lines"]:
        out["n_lines"] = numeric_column(raw, picked["n_lines"], source, non_negative=True).fillna(0).astype("int64")
    if picked["imports"]:
        out["imports"] = numeric_column(raw, picked["imports"], source, non_negative=True) * THOUSANDS_TO_MILLIONS
    pos = first_row(out["min_rate"] > out["max_rate"]) if "min_rate" in out and "max_rate" in out else None
    if pos is not None:
        raise source.error(pos, picked["min_rate"], "minimum rate exceeds maximum rate")
    pos = first_row(out["product"].eq(""))
    if pos is not None:
        raise DataValidationError(f"{file}: row {source.row(pos)}, column {required[2]!r}: empty product code")
    check_unique(out, ("importer", "exporter", "product", "year", "duty_type"), source)
    return tidy(out)
