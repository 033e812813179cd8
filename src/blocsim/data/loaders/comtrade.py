"""UN Comtrade loaders: bulk/legacy CSV, the current API (comtradeplus) CSV, and the API itself.

Sources
-------
United Nations, UN Comtrade Database. Two CSV layouts are read:

- legacy bulk download: ``Year, Trade Flow (Code), Reporter (Code/ISO), Partner (Code/ISO),
  2nd Partner Code, Commodity Code, Trade Value (US$), ...`` (``Partner ISO`` = ``WLD``
  for the world);
- current API/comtradeplus export: ``refYear, flowCode, reporterISO, partnerISO,
  partner2Code, cmdCode, customsCode, motCode, primaryValue, ...`` (``partnerISO`` =
  ``W00`` for the world).

:func:`fetch_comtrade` calls the API through the optional ``comtradeapicall`` package and
needs a subscription key; it is imported only when called, and nothing else here touches
the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

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

USD_TO_MILLIONS = 1e-6
#: Comtrade flow codes/labels -> blocsim flow names.
FLOWS: dict[str, str] = {
    "M": "import", "X": "export", "RM": "re-import", "RX": "re-export",
    "1": "import", "2": "export", "3": "re-export", "4": "re-import",
    "IMPORT": "import", "EXPORT": "export", "RE-IMPORT": "re-import", "RE-EXPORT": "re-export",
}
_COMTRADE_FIXES = {"W00": "WLD"}

_LAYOUTS: dict[str, dict[str, str]] = {
    "api": {
        "year": "refYear", "flow": "flowCode", "reporter": "reporterISO", "partner": "partnerISO",
        "product": "cmdCode", "value": "primaryValue",
    },
    "legacy": {
        "year": "Year", "flow": "Trade Flow", "reporter": "Reporter ISO", "partner": "Partner ISO",
        "product": "Commodity Code", "value": "Trade Value (US$)",
    },
}
#: Breakdown columns whose non-total rows are dropped (total codes listed).
_TOTALS = {"partner2Code": ("0",), "customsCode": ("C00",), "motCode": ("0",), "2nd Partner Code": ("0", "")}


def load_comtrade(path: PathLike, *, drop_world: bool = True) -> pd.DataFrame:
    """Load a UN Comtrade CSV (legacy bulk or current API layout).

    Parameters
    ----------
    path
        Comma-separated Comtrade download.
    drop_world
        Drop rows whose partner is the world (``WLD``/``W00``).

    Returns
    -------
    DataFrame
        ``reporter, partner`` (ISO3), ``flow`` (import, export, re-import, re-export),
        ``year``, ``product`` (commodity code as text, ``TOTAL`` for all), ``trade`` (USD
        millions), and ``exporter, importer`` (reporter/partner oriented by the flow:
        exports and re-exports go reporter -> partner, imports partner -> reporter).
        Breakdowns by second partner, customs procedure or transport mode are reduced to
        their totals.
    """
    file = existing_file(path, what="UN Comtrade")
    header = sniff_header(file)
    layout = "api" if "reporterISO" in header else "legacy"
    return _normalise(_read(file, layout), SourceFile(file), layout, drop_world=drop_world)


def _read(file: Any, layout: str) -> pd.DataFrame:
    names = _LAYOUTS[layout]
    required = [names[k] for k in ("year", "flow", "reporter", "partner", "product", "value")]
    raw = read_delimited(file, sep=",", required=required, what="UN Comtrade", dtype=str, na_values=())
    if layout == "legacy" and "Trade Flow Code" in raw.columns:
        raw["Trade Flow"] = raw["Trade Flow Code"]
    return raw


def _normalise(raw: pd.DataFrame, source: SourceFile, layout: str, *, drop_world: bool) -> pd.DataFrame:
    names = _LAYOUTS[layout]
    for column, totals in _TOTALS.items():
        if column in raw.columns:
            raw = raw.loc[raw[column].fillna("").astype(str).str.strip().isin(totals)]
    flow_text = raw[names["flow"]].fillna("").astype(str).str.strip().str.upper()
    flow = flow_text.map(FLOWS)
    pos = first_row(flow.isna())
    if pos is not None:
        raise source.error(
            pos, names["flow"], f"unknown trade flow {flow_text.loc[pos]!r}; allowed are M, X, RM, RX "
            "(or Import, Export, Re-Import, Re-Export)"
        )
    out = pd.DataFrame(index=raw.index)
    out["reporter"] = country_column(raw, names["reporter"], source, extra_fixes=_COMTRADE_FIXES)
    out["partner"] = country_column(raw, names["partner"], source, extra_fixes=_COMTRADE_FIXES)
    out["flow"] = flow.astype(str)
    out["year"] = integer_column(raw, names["year"], source)
    out["product"] = raw[names["product"]].fillna("").astype(str).str.strip()
    out["trade"] = (
        numeric_column(raw, names["value"], source, allow_missing=False, non_negative=True) * USD_TO_MILLIONS
    )
    if drop_world:
        out = out.loc[out["partner"] != "WLD"]
    check_unique(out, ("reporter", "partner", "flow", "year", "product"), source)
    outward = out["flow"].isin(["export", "re-export"])
    out["exporter"] = out["reporter"].where(outward, out["partner"])
    out["importer"] = out["partner"].where(outward, out["reporter"])
    return tidy(out)


def fetch_comtrade(
    *,
    years: Sequence[int],
    reporters: Sequence[int] | None = None,
    partners: Sequence[int] | None = None,
    flow: str = "M",
    commodity: str = "TOTAL",
    key: str | None = None,
    drop_world: bool = True,
) -> pd.DataFrame:
    """Download annual HS data from the UN Comtrade API (needs ``comtradeapicall`` and a key).

    Parameters
    ----------
    years
        Reference years.
    reporters, partners
        M49 numeric codes (``None`` = all).
    flow
        ``"M"`` imports, ``"X"`` exports (``"M,X"`` both).
    commodity
        HS code(s) or ``"TOTAL"``.
    key
        Comtrade subscription key; default ``$COMTRADE_API_KEY``.
    drop_world
        As in :func:`load_comtrade`.

    Returns
    -------
    DataFrame
        The :func:`load_comtrade` table.

    Raises
    ------
    DataValidationError
        Without a key, or when ``comtradeapicall`` is not installed.
    """
    key = key or os.environ.get("COMTRADE_API_KEY")
    if not key:
        raise DataValidationError(
            "fetch_comtrade: no subscription key; pass key=... or set COMTRADE_API_KEY "
            "(free keys at comtradedeveloper.un.org), or download a CSV and use load_comtrade"
        )
    try:
        import comtradeapicall  # type: ignore[import-not-found]
    except ImportError:
        raise DataValidationError(
            "fetch_comtrade: the optional package 'comtradeapicall' is not installed; "
            "pip install comtradeapicall, or download a CSV and use load_comtrade"
        ) from None
    frame = comtradeapicall.getFinalData(
        key,
        typeCode="C",
        freqCode="A",
        clCode="HS",
        period=",".join(str(y) for y in years),
        reporterCode=",".join(map(str, reporters)) if reporters else None,
        cmdCode=commodity,
        flowCode=flow,
        partnerCode=",".join(map(str, partners)) if partners else None,
        partner2Code=None,
        customsCode=None,
        motCode=None,
    )
    if frame is None or len(frame) == 0:
        raise DataValidationError(f"fetch_comtrade: the API returned no rows for years={list(years)}, flow={flow}")
    raw = frame.astype(str).reset_index(drop=True)
    return _normalise(raw, SourceFile(Path("comtrade-api")), "api", drop_world=drop_world)
