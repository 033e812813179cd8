"""Public-source loaders: each reads one published file format into a validated tidy table.

Every loader takes a path (plus format options) and returns a DataFrame with ISO3 codes
(old codes fixed), blocsim column names and units (flows in USD millions, tariffs as
fractions), or raises :class:`~blocsim.errors.DataValidationError` naming the file, row
and column. :data:`LOADERS` maps a source name (as used by ``blocsim data import SOURCE``)
to its loader; :func:`load` dispatches on it.

========================== ============================================ ====================
source                     format                                       table
========================== ============================================ ====================
``cepii_dist``             CEPII GeoDist dist_cepii (; or ,)            gravity covariates
``cepii_geo``              CEPII GeoDist geo_cepii                      countries
``cepii_gravity``          CEPII Gravity V202211                        gravity panel
``baci``                   CEPII BACI HS6 (t,i,j,k,v,q)                 HS6 flows
``itpd``                   USITC ITPD-E                                 industry flows
``comtrade``               UN Comtrade bulk/API CSV                     reporter flows
``wits``                   WITS/TRAINS tariff export                    tariffs
``wdi``                    World Bank WDI (DataBank, bulk, long)        indicators
``wb_trade``               World Bank trade every 4 years + DTA (penppml) flows + agreements
``eia``                    NSF-Kellogg EIA (long)                       agreements
``adb_mrio``               ADB MRIO country-sector summaries            output by sector
========================== ============================================ ====================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from blocsim.data.loaders._io import PathLike
from blocsim.data.loaders.adb_mrio import load_adb_mrio
from blocsim.data.loaders.baci import baci_parquet_writer, load_baci
from blocsim.data.loaders.cepii import load_cepii_gravity, load_geodist_dist, load_geodist_geo
from blocsim.data.loaders.comtrade import fetch_comtrade, load_comtrade
from blocsim.data.loaders.eia import load_eia
from blocsim.data.loaders.itpd import load_itpd
from blocsim.data.loaders.wits import load_wits_tariffs
from blocsim.data.loaders.worldbank import load_wb_trade_every4y, load_wdi
from blocsim.errors import DataValidationError


@dataclass(frozen=True)
class LoaderSpec:
    """A registered loader: source name, function, one-line description, table kind.

    ``parquet_writer``, when set, is ``(path, **options) -> writer | None``: ``writer(target)``
    validates ``path`` and writes the loader's table straight to the Parquet file ``target``,
    returning the row count; ``None`` means ``options`` choose an in-memory engine.
    :meth:`~blocsim.data.store.Store.import_file` uses the writer when there is one, else
    ``function``.
    """

    name: str
    function: Callable[..., pd.DataFrame]
    description: str
    kind: str
    parquet_writer: Callable[..., Callable[[Path], int] | None] | None = None


LOADERS: dict[str, LoaderSpec] = {
    spec.name: spec
    for spec in (
        LoaderSpec("cepii_dist", load_geodist_dist, "CEPII GeoDist dist_cepii (distances, contiguity, language)", "gravity"),
        LoaderSpec("cepii_geo", load_geodist_geo, "CEPII GeoDist geo_cepii (country attributes)", "countries"),
        LoaderSpec("cepii_gravity", load_cepii_gravity, "CEPII Gravity V202211 panel", "gravity"),
        LoaderSpec("baci", load_baci, "CEPII BACI HS6 bilateral trade", "flows", parquet_writer=baci_parquet_writer),
        LoaderSpec("itpd", load_itpd, "USITC ITPD-E (with domestic trade)", "flows"),
        LoaderSpec("comtrade", load_comtrade, "UN Comtrade bulk/API CSV", "flows"),
        LoaderSpec("wits", load_wits_tariffs, "WITS/TRAINS tariff export", "tariffs"),
        LoaderSpec("wdi", load_wdi, "World Bank WDI indicators (DataBank, bulk or long CSV)", "macro"),
        LoaderSpec("wb_trade", load_wb_trade_every4y, "World Bank trade every 4 years with DTA agreements", "flows"),
        LoaderSpec("eia", load_eia, "NSF-Kellogg economic integration agreements", "agreements"),
        LoaderSpec("adb_mrio", load_adb_mrio, "ADB MRIO country-sector output summaries", "production"),
    )
}


def load(source: str, path: PathLike, **options: Any) -> pd.DataFrame:
    """Load ``path`` with the loader registered as ``source`` (see :data:`LOADERS`)."""
    spec = LOADERS.get(source)
    if spec is None:
        raise DataValidationError(f"source {source!r}: unknown; allowed are {', '.join(LOADERS)}")
    return spec.function(path, **options)


__all__ = [
    "LOADERS",
    "LoaderSpec",
    "fetch_comtrade",
    "load",
    "load_adb_mrio",
    "load_baci",
    "load_cepii_gravity",
    "load_comtrade",
    "load_eia",
    "load_geodist_dist",
    "load_geodist_geo",
    "load_itpd",
    "load_wb_trade_every4y",
    "load_wdi",
    "load_wits_tariffs",
]
