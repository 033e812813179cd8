"""Regions, years, sectors and agreement vocabularies of the bundled EAEU dataset.

Everything here is a declared constant of the dataset (not data read from a file): the 18
regions, the three years, the four broad sectors and their ADB MRIO (ISIC Rev. 3, 35-sector)
concordance, and which World Bank DTA agreement labels denote customs unions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from blocsim.data.countries import region_mapping

#: Members of the Eurasian customs union / EAEU (2016 composition).
MEMBERS: tuple[str, ...] = ("RUS", "KAZ", "BLR", "ARM", "KGZ")
#: Main partners kept as their own region (CAN/AUS/NOR: targets of the 2014 food ban).
PARTNERS: tuple[str, ...] = (
    "UKR",
    "UZB",
    "TJK",
    "CHN",
    "EUN",
    "USA",
    "TUR",
    "JPN",
    "KOR",
    "CAN",
    "AUS",
    "NOR",
)
#: All 18 regions in the dataset's canonical order.
REGIONS: tuple[str, ...] = (*MEMBERS, *PARTNERS, "ROW")
#: Countries kept as single-country regions (everything but EUN and ROW).
SINGLE_COUNTRIES: tuple[str, ...] = tuple(r for r in REGIONS if r not in ("EUN", "ROW"))
#: Years of the panel (the source has every fourth year only).
YEARS: tuple[int, ...] = (2008, 2012, 2016)

#: Exporters with no ADB MRIO row: their sector shares come from the CIS proxy below.
NON_MRIO: tuple[str, ...] = ("BLR", "ARM", "UKR", "UZB", "TJK")
#: MRIO economies whose simple-average shares are the proxy for :data:`NON_MRIO`.
CIS_PROXY: tuple[str, ...] = ("RUS", "KAZ", "KGZ")

#: Broad sectors: code -> (name, description).
SECTORS: Mapping[str, tuple[str, str]] = {
    "agri_food": (
        "Agriculture and food",
        "ADB MRIO sectors 1 (agriculture, hunting, forestry, fishing) and 3 (food, beverages, "
        "tobacco); roughly HS chapters 01-24.",
    ),
    "mining_energy": (
        "Mining and energy",
        "ADB MRIO sectors 2 (mining and quarrying) and 8 (coke, refined petroleum, nuclear fuel); "
        "roughly HS chapters 25-27.",
    ),
    "manufacturing": (
        "Manufacturing",
        "ADB MRIO sectors 4-7 and 9-16 (textiles to transport equipment, excluding food and "
        "refined petroleum); roughly HS chapters 28-97.",
    ),
    "other": (
        "Utilities, construction and services",
        "ADB MRIO sectors 17-35. Not traded in this dataset: the bilateral source covers "
        "merchandise only, so international flows of this sector are zero.",
    ),
}
SECTOR_CODES: tuple[str, ...] = tuple(SECTORS)
GOODS_SECTORS: tuple[str, ...] = ("agri_food", "mining_energy", "manufacturing")

#: ADB MRIO sector id (1-35) -> broad sector.
MRIO_SECTOR: Mapping[int, str] = {
    **{i: "manufacturing" for i in range(4, 17)},
    1: "agri_food",
    3: "agri_food",
    2: "mining_energy",
    8: "mining_energy",
    **{i: "other" for i in range(17, 36)},
}

#: World Bank DTA labels (as spelled in the penppml trade file) that are customs unions.
CU_LABELS: frozenset[str] = frozenset(
    {
        "Russian Federation - Belarus - Kazakhstan",
        "Eurasian Economic Union (EAEU)",
        "Eurasian Economic Union (EAEU) - Accession of Armenia",
        "Eurasian Economic Union (EAEU) - Accession of the Kyrgyz Republic",
        "EC/EU",
        "EU - Turkey",
        "EU - Andorra",
        "EU - San Marino",
        "Southern African Customs Union (SACU)",
        "Southern Common Market (MERCOSUR)",
        "Economic and Monetary Community of Central Africa (CEMAC)",
        "East African Community (EAC)",
        "East African Community (EAC) - Accession of Burundi and Rwanda",
        "Gulf Cooperation Council (GCC)",
        "Caribbean Community and Common Market (CARICOM)",
    }
)
#: NSF-Kellogg EIA level from which a pair counts as having an agreement (3 = FTA).
EIA_FTA_LEVEL = 3


def region_of(codes: pd.Series, years: pd.Series) -> pd.Series:
    """Map ISO3 codes to the dataset's regions, EU membership by year.

    Parameters
    ----------
    codes
        Normalised ISO3 (or historic/special) codes, e.g. ``BLX``, ``UNS``.
    years
        Calendar year of each row (same index as ``codes``).

    Returns
    -------
    Series
        Region code of each row (one of :data:`REGIONS`): kept countries map to themselves,
        EU members of that year (incl. ``BLX``) to ``EUN``, everything else (incl.
        non-geographic partner codes such as ``UNS``) to ``ROW``.
    """
    out = pd.Series(index=codes.index, dtype=object)
    for year in np.unique(years.to_numpy()):
        mask = (years == year).to_numpy()
        mapping = region_mapping(codes[mask].unique(), keep=SINGLE_COUNTRIES, year=int(year))
        out[mask] = codes[mask].map(mapping).to_numpy()
    return out.astype(str)
