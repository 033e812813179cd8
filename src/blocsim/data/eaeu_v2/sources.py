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

_ICIO = {
    "author": "OECD; tariffs: Teti, F.; arrays: Lashkaripour, A. (tariffwar package)",
    "title": "Inter-Country Input-Output (ICIO) Tables, 2023 edition (2011-2022), with Teti's Global Tariff Database "
             "('30+ Years of Trade Policy: Evidence from 160 Countries', ECARES Working Paper 2024-04), as arrays of "
             "the tariffwar MATLAB package (commit 9863698, 11 Mar 2026)",
    "date": "2023 (ICIO); 2024 (tariffs)",
    "url": "https://www.oecd.org/en/data/datasets/inter-country-input-output-tables.html",
    "via": "https://github.com/ahmadlp/tariffwar",
    "licence": "OECD data CC BY 4.0; Teti database: its author's terms; tariffwar: none stated",
}
#: role -> the publication each input cites (author or organisation, title, date, URL; ``via``: the
#: public repository the file was taken from; ``licence`` as stated by the publisher).
CITATIONS: dict[str, dict[str, str]] = {
    "icio": _ICIO,
    "icio_sectors": _ICIO,
    "icio_countries": _ICIO,
    "elasticities": {
        "author": "Caliendo, L. and Parro, F.",
        "title": "Estimates of the Trade and Welfare Effects of NAFTA, Review of Economic Studies 82(1), 1-44 "
                 "(sector elasticities as mapped to ICIO sectors by the tariffwar package, set CP)",
        "date": "2015",
        "url": "https://doi.org/10.1093/restud/rdu035",
        "via": "https://github.com/ahmadlp/tariffwar",
        "licence": "published article; the mapped table: tariffwar, none stated",
    },
    "comtrade": {
        "author": "World Bank (UN Comtrade data); agreements: Mattoo, A., Rocha, N. and Ruta, M. (eds.)",
        "title": "Total trade, every 4 years (merchandise exports, exporter-reported), as distributed with the R "
                 "package penppml; agreement labels from the Handbook of Deep Trade Agreements",
        "date": "2020",
        "url": "https://comtradeplus.un.org/",
        "via": "https://github.com/tomzylkin/penppml",
        "licence": "penppml: MIT; UN Comtrade terms apply to the data",
    },
    "hs4": {
        "author": "Open Trade Statistics (built from UN Comtrade)",
        "title": "Exports by reporter and HS4 product, 2017, as the data set world_trade_2017 of the R package "
                 "economiccomplexity",
        "date": "2019",
        "url": "https://tradestatistics.io",
        "via": "https://github.com/pachadotdev/economiccomplexity",
        "licence": "economiccomplexity: GPL-3; UN Comtrade / Open Trade Statistics terms apply to the data",
    },
    "gdp_ppp": {
        "author": "World Bank",
        "title": "World Development Indicators: GDP, PPP (current international $), NY.GDP.MKTP.PP.CD",
        "date": "2023-05-10",
        "url": "https://data.worldbank.org/indicator/NY.GDP.MKTP.PP.CD",
        "via": "https://github.com/julianhinz/sanctions-coalitions",
        "licence": "CC BY 4.0",
    },
    "dist": {
        "author": "Mayer, T. and Zignago, S.",
        "title": "Notes on CEPII's distances measures: the GeoDist Database, CEPII Working Paper 2011-25 "
                 "(dist_cepii)",
        "date": "2011",
        "url": "http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=6",
        "via": "https://github.com/chrisssch/world-trade",
        "licence": "Etalab Open Licence 2.0 (per CEPII)",
    },
    "geo": {
        "author": "Mayer, T. and Zignago, S.",
        "title": "Notes on CEPII's distances measures: the GeoDist Database, CEPII Working Paper 2011-25 "
                 "(geo_cepii)",
        "date": "2011",
        "url": "http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=6",
        "via": "https://github.com/chrisssch/world-trade",
        "licence": "Etalab Open Licence 2.0 (per CEPII)",
    },
    "services": {
        "author": "OECD",
        "title": "International trade in services by partner economy (total services, USD millions), 2000-2019",
        "date": "2024 (extraction in the replication files of Hinz et al.)",
        "url": "https://data-explorer.oecd.org/",
        "via": "https://github.com/julianhinz/sanctions-coalitions",
        "licence": "OECD data CC BY 4.0",
    },
    "remittances": {
        "author": "World Bank / KNOMAD",
        "title": "Bilateral Remittance Estimates for 2017 (April 2018 version) and Bilateral Remittance Matrix 2018 "
                 "(October 2019 version)",
        "date": "2018; 2019",
        "url": "https://www.worldbank.org/en/topic/migrationremittancesdiasporaissues/brief/migration-remittances-data",
        "via": "https://github.com/hbenveniste/mig-scenarios; https://github.com/hannahkates/nigeria-remittances",
        "licence": "CC BY 4.0",
    },
    "migrants": {
        "author": "World Bank / KNOMAD",
        "title": "Bilateral Estimates of Migrant Stocks in 2017",
        "date": "2018",
        "url": "https://www.worldbank.org/en/topic/migrationremittancesdiasporaissues/brief/migration-remittances-data",
        "via": "https://github.com/hbenveniste/mig-scenarios",
        "licence": "CC BY 4.0",
    },
    "wits": {
        "author": "World Bank, WITS (UNCTAD TRAINS / WTO data)",
        "title": "Effectively applied (AHS) tariffs by importer, exporter and ISIC Rev.3 group, 2014-2023, as "
                 "aggregated in the replication files of DeGlobEnvCost",
        "date": "2025",
        "url": "https://wits.worldbank.org/",
        "via": "https://github.com/tsupohwaran/DeGlobEnvCost",
        "licence": "WITS / UNCTAD TRAINS terms",
    },
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
            "folder with one sub-folder per source as listed in DATA.md (EAEU dataset v2, sources)"
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
