"""Read the original public files the v2 recipe uses (one sub-folder per source, the ``--from DIR``).

Every reader checks the columns it needs and raises :class:`DataValidationError` naming the
file and the missing column; nothing else in the recipe touches the file system for input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from blocsim.errors import DataValidationError

#: role -> (path relative to the source folder, required columns).
FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "icio": (
        "oecd_icio_tariffwar/icio_flows_tariffs.csv.gz",
        ("exporter", "importer", "sector", "year", "trade_usd_m", "tariff"),
    ),
    "icio_sectors": (
        "oecd_icio_tariffwar/sectors.csv",
        ("dataset", "position", "code", "name", "isic_rev4", "goods"),
    ),
    "icio_countries": ("oecd_icio_tariffwar/countries.csv", ("dataset", "position", "iso3", "name")),
    "elasticities": (
        "oecd_icio_tariffwar/elasticities.csv",
        ("dataset", "set", "sector", "trade_elasticity"),
    ),
    "comtrade": (
        "wb_trade_agreements_penppml/trade_2000_2016_every4y.csv",
        ("exp", "imp", "time", "export"),
    ),
    "hs4": ("hs4_exports_2017/world_trade_2017.csv.gz", ("reporter_iso3", "hs4", "export_value_usd")),
    "gdp_ppp": ("wdi_gdp_ppp/gdp_ppp_long.csv", ("iso3", "year", "gdp_ppp_current_intl_dollar")),
    "dist": ("cepii_geodist/dist_cepii.csv", ("iso_o", "iso_d", "contig", "comlang_off", "colony", "distw")),
    "geo": ("cepii_geodist/geo_cepii.csv", ("iso3", "country", "lat", "lon")),
    "services": (
        "oecd_services_trade/services_bilateral.csv.gz",
        ("reporter", "partner", "partner_is_aggregate", "flow", "year", "value_usd_m"),
    ),
    "remittances": ("remittances_migration/remittances_bilateral.csv", ("sender_iso3", "receiver_iso3", "year", "usd_m")),
    "migrants": ("remittances_migration/migrant_stocks_2017.csv", ("origin_iso3", "destination_iso3", "migrants")),
    "wits": (
        "wits_tariffs_44/wits_ahs_tariffs.csv.gz",
        ("importer_iso3", "exporter_iso3", "isic_group", "year", "tariff_pct", "fill_status"),
    ),
}

_DTYPES: dict[str, dict[str, object]] = {
    "icio": {"exporter": str, "importer": str, "sector": str, "year": "int64"},
    "hs4": {"reporter_iso3": str, "hs4": str},
    "dist": {"iso_o": str, "iso_d": str},
    "geo": {"iso3": str},
    "comtrade": {"exp": str, "imp": str},
}


def read(source_dir: Path, role: str) -> pd.DataFrame:
    """Read one source file and check its columns.

    Parameters
    ----------
    source_dir
        Folder with one sub-folder per source (the recipe's ``--from DIR``).
    role
        Key of :data:`FILES`.

    Raises
    ------
    DataValidationError
        The file is missing, unreadable or lacks a required column.
    """
    relative, required = FILES[role]
    path = Path(source_dir) / relative
    if not path.is_file():
        raise DataValidationError(
            f"build-eaeu: source file {relative} not found under --from {source_dir}; fix: point --from at a "
            "folder laid out like the shared data folder (see DATA.md, EAEU dataset v2)"
        )
    try:
        frame = pd.read_csv(path, dtype=_DTYPES.get(role), keep_default_na=False, na_values=[""])
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"build-eaeu: cannot read source file {relative}: {exc}") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"build-eaeu: source file {relative} lacks columns {missing}; allowed: a file with columns "
            f"{list(required)}"
        )
    return frame


@dataclass(frozen=True)
class Sources:
    """All source tables of the v2 recipe, as read by :func:`read_all`."""

    icio: pd.DataFrame
    icio_sectors: pd.DataFrame
    icio_countries: pd.DataFrame
    elasticities: pd.DataFrame
    comtrade: pd.DataFrame
    hs4: pd.DataFrame
    gdp_ppp: pd.DataFrame
    dist: pd.DataFrame
    geo: pd.DataFrame
    services: pd.DataFrame
    remittances: pd.DataFrame
    migrants: pd.DataFrame
    wits: pd.DataFrame


def read_all(source_dir: Path) -> Sources:
    """Read every source file of the recipe (see :data:`FILES`)."""
    roles = [name for name in Sources.__dataclass_fields__]
    return Sources(**{role: read(source_dir, role) for role in roles})
