"""OECD ICIO 2023 flows and Teti tariffs (via the tariffwar package) as dense arrays.

The source file is long (``exporter, importer, sector, year, trade_usd_m, tariff``) with one
row per cell of a complete 12 x 81 x 81 x 28 grid. :func:`icio_cube` checks that the grid is
complete and unique and returns the arrays in a fixed order: years ascending, economies in
the source's order (``countries.csv`` position; ``ROW`` last), sectors in ICIO order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from blocsim.data.eaeu_v2.sectors import SERVICES_CODE, SERVICES_SOURCE_CODE
from blocsim.errors import DataValidationError

YEARS: tuple[int, ...] = tuple(range(2011, 2023))


@dataclass(frozen=True)
class IcioCube:
    """ICIO flows and tariffs on a dense grid.

    Attributes
    ----------
    economies : tuple of str
        ISO3 codes, ``ROW`` last (81).
    sectors : tuple of str
        28 sector codes (services coded ``D35T98``).
    flows : ndarray, shape (Y, N, N, K)
        USD millions at basic prices, [year, exporter, importer, sector], domestic on the diagonal.
    tariffs : ndarray, shape (Y, N, N, K)
        Teti applied tariffs (fractions), same axes.
    """

    economies: tuple[str, ...]
    sectors: tuple[str, ...]
    flows: np.ndarray
    tariffs: np.ndarray


def icio_cube(icio: pd.DataFrame, icio_countries: pd.DataFrame, sector_codes: tuple[str, ...]) -> IcioCube:
    """Arrange the long ICIO file on its grid.

    Parameters
    ----------
    icio
        ``oecd_icio_tariffwar/icio_flows_tariffs.csv.gz``.
    icio_countries
        ``oecd_icio_tariffwar/countries.csv`` (gives the economies' order).
    sector_codes
        Sector codes in ICIO order (from :func:`blocsim.data.eaeu_v2.sectors.sector_table`).

    Raises
    ------
    DataValidationError
        Years other than 2011-2022, unknown codes, duplicate or missing cells, negative flows.
    """
    name = "oecd_icio_tariffwar/icio_flows_tariffs.csv.gz"
    economies = tuple(
        icio_countries[icio_countries["dataset"] == "icio"].sort_values("position")["iso3"].astype(str)
    )
    if economies[-1] != "ROW":
        raise DataValidationError(f"build-eaeu: oecd_icio_tariffwar/countries.csv: last ICIO economy must be ROW, got {economies[-1]!r}")
    frame = icio.assign(sector=icio["sector"].replace({SERVICES_SOURCE_CODE: SERVICES_CODE}))
    axes = {"year": YEARS, "exporter": economies, "importer": economies, "sector": sector_codes}
    index = []
    for column, labels in axes.items():
        lookup = pd.Series(np.arange(len(labels)), index=list(labels))
        position = frame[column].map(lookup)
        if position.isna().any():
            bad = frame.loc[position.isna(), column].iloc[0]
            raise DataValidationError(
                f"build-eaeu: {name}: column {column!r} has value {bad!r}; allowed: {list(labels)[:5]}... "
                f"({len(labels)} values)"
            )
        index.append(position.to_numpy(dtype=np.int64))
    shape = tuple(len(labels) for labels in axes.values())
    flat = np.ravel_multi_index(tuple(index), shape)
    if len(flat) != int(np.prod(shape)) or len(np.unique(flat)) != len(flat):
        raise DataValidationError(
            f"build-eaeu: {name} has {len(flat)} rows, {len(np.unique(flat))} distinct cells; allowed: exactly "
            f"{int(np.prod(shape))} (every year x exporter x importer x sector once)"
        )
    flows = np.empty(int(np.prod(shape)))
    tariffs = np.empty(int(np.prod(shape)))
    flows[flat] = frame["trade_usd_m"].to_numpy(dtype=float)
    tariffs[flat] = frame["tariff"].to_numpy(dtype=float)
    if (flows < 0).any() or not np.isfinite(flows).all():
        raise DataValidationError(f"build-eaeu: {name}: column 'trade_usd_m' has negative or missing values")
    return IcioCube(economies, tuple(sector_codes), flows.reshape(shape), tariffs.reshape(shape))
