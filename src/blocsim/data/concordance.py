"""Product and sector concordances: HS6 -> HS2 (chapter) -> HS section -> broad sector.

Broad sectors (blocsim's four-sector classification)
----------------------------------------------------
- ``agri_food``: HS sections I-IV, chapters 01-24 (live animals, vegetables, fats and oils,
  prepared food, beverages, tobacco).
- ``mining_energy``: HS section V, chapters 25-27 (salt, stone, ores, mineral fuels and
  oils: crude and refined petroleum, gas, coal, electricity).
- ``manufacturing``: HS sections VI-XX, chapters 28-96 except the reserved chapter 77
  (chemicals ... miscellaneous manufactures), including chapter 71 (pearls, precious stones
  and metals, incl. unwrought gold 7108).
- ``other``: section XXI (chapter 97, works of art and antiques), chapters 77, 98 and 99
  (reserved, special and national codes), unclassified products and services.

Caveat: the classification follows HS sections, so unwrought non-monetary gold (HS 7108),
Kyrgyzstan's largest export, counts as manufacturing, not mining; refined petroleum (2710)
counts as mining & energy. The ADB MRIO 35-sector mapping below is aligned to the same
split: food, beverages and tobacco (FBT) go to ``agri_food`` with agriculture (AHF), coke
and refined petroleum (CRP) to ``mining_energy`` with mining (MIN), utilities, construction
and services to ``other``.

Reference: World Customs Organization, Harmonized System Nomenclature (2012 and 2017
editions share the 21 sections and chapter ranges used here).
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import pandas as pd

from blocsim.errors import DataValidationError

#: HS sections: (roman numeral, first chapter, last chapter, short name).
HS_SECTIONS: tuple[tuple[str, int, int, str], ...] = (
    ("I", 1, 5, "Live animals; animal products"),
    ("II", 6, 14, "Vegetable products"),
    ("III", 15, 15, "Animal or vegetable fats and oils"),
    ("IV", 16, 24, "Prepared foodstuffs; beverages; tobacco"),
    ("V", 25, 27, "Mineral products"),
    ("VI", 28, 38, "Products of the chemical or allied industries"),
    ("VII", 39, 40, "Plastics and rubber"),
    ("VIII", 41, 43, "Raw hides, skins, leather, furskins"),
    ("IX", 44, 46, "Wood, cork, plaiting materials"),
    ("X", 47, 49, "Pulp, paper and paperboard"),
    ("XI", 50, 63, "Textiles and textile articles"),
    ("XII", 64, 67, "Footwear, headgear, umbrellas"),
    ("XIII", 68, 70, "Stone, ceramic and glass articles"),
    ("XIV", 71, 71, "Pearls, precious stones and metals"),
    ("XV", 72, 83, "Base metals and articles"),
    ("XVI", 84, 85, "Machinery and electrical equipment"),
    ("XVII", 86, 89, "Vehicles, aircraft, vessels"),
    ("XVIII", 90, 92, "Optical, medical, precision instruments; clocks; musical instruments"),
    ("XIX", 93, 93, "Arms and ammunition"),
    ("XX", 94, 96, "Miscellaneous manufactured articles"),
    ("XXI", 97, 97, "Works of art, collectors' pieces and antiques"),
)
#: Section code of chapters outside the 21 sections (77 reserved, 98-99 national/special).
UNCLASSIFIED = "unclassified"
#: Chapter reserved for future use inside section XV; never used in trade data.
RESERVED_CHAPTERS = frozenset({77})

#: Broad sector -> (name, description).
BROAD_SECTORS: dict[str, tuple[str, str]] = {
    "agri_food": ("Agriculture & food", "HS sections I-IV (chapters 01-24)"),
    "mining_energy": ("Mining & energy", "HS section V (chapters 25-27): ores, mineral fuels, oil and gas"),
    "manufacturing": ("Manufacturing", "HS sections VI-XX (chapters 28-96), incl. ch. 71 precious metals"),
    "other": ("Other", "HS section XXI (ch. 97), chapters 77/98/99, unclassified goods and services"),
}
_SECTION_TO_BROAD: dict[str, str] = {
    **dict.fromkeys(("I", "II", "III", "IV"), "agri_food"),
    "V": "mining_energy",
    **dict.fromkeys([s[0] for s in HS_SECTIONS[5:20]], "manufacturing"),
    "XXI": "other",
    UNCLASSIFIED: "other",
}

#: ADB MRIO / WIOD 35-sector abbreviations -> broad sector (see module docstring).
ADB_SECTOR_TO_BROAD: dict[str, str] = {
    "AHF": "agri_food",
    "FBT": "agri_food",
    "MIN": "mining_energy",
    "CRP": "mining_energy",
    **dict.fromkeys(("TEX", "LTH", "WDC", "PPP", "CCP", "RBP", "ONM", "MFM", "MCH", "EOE", "TRE", "MFG"), "manufacturing"),
    **dict.fromkeys(
        (
            "UTL", "CON", "MTV", "WST", "RTR", "HRS", "ITR", "WTR", "ATR", "OTR", "TEL", "FIN", "REA", "OBA",
            "PAD", "EDU", "HSW", "OSV", "PHE",
        ),
        "other",
    ),
}

Level = Literal["hs2", "section", "broad"]


@functools.lru_cache(maxsize=1)
def hs_concordance() -> pd.DataFrame:
    """Chapter-level concordance for chapters 01-99.

    Returns
    -------
    DataFrame
        99 rows: ``hs2`` (two-digit string), ``section`` (roman numeral or
        ``"unclassified"``), ``section_name``, ``sector`` (broad sector code).
    """
    rows = []
    for chapter in range(1, 100):
        section, name = UNCLASSIFIED, "Not in an HS section (reserved, special or national use)"
        for code, first, last, label in HS_SECTIONS:
            if first <= chapter <= last and chapter not in RESERVED_CHAPTERS:
                section, name = code, label
                break
        rows.append((f"{chapter:02d}", section, name, _SECTION_TO_BROAD[section]))
    return pd.DataFrame(rows, columns=["hs2", "section", "section_name", "sector"])


def sector_table() -> pd.DataFrame:
    """The four broad sectors: ``sector, name, description`` (the ``Dataset.sectors`` layout)."""
    return pd.DataFrame(
        [(code, name, description) for code, (name, description) in BROAD_SECTORS.items()],
        columns=["sector", "name", "description"],
    )


def map_products(
    products: pd.Series, to: Level, *, source: str = "products", column: str = "product"
) -> pd.Series:
    """Map HS codes (HS6, HS4 or HS2, as strings) to a coarser level.

    Parameters
    ----------
    products
        HS codes as strings of 2, 4 or 6 digits (leading zeros kept: ``"010121"``).
    to
        ``"hs2"`` (chapter), ``"section"`` (roman numeral) or ``"broad"`` (broad sector).
    source, column
        Used in error messages.

    Returns
    -------
    Series
        Target codes, same index as ``products``.

    Raises
    ------
    DataValidationError
        On a code that is not 2, 4 or 6 digits or whose chapter is 00.
    """
    if to not in ("hs2", "section", "broad"):
        raise DataValidationError(f"to={to!r}: allowed levels are 'hs2', 'section', 'broad'")
    text = products.astype(str).str.strip()
    uniques, inverse = np.unique(text.to_numpy(dtype=str), return_inverse=True)
    valid = np.array([len(u) in (2, 4, 6) and u.isdigit() and u[:2] != "00" for u in uniques], dtype=bool)
    if not valid.all():
        bad = uniques[~valid][0]
        label = text.index[np.flatnonzero(text.to_numpy(dtype=str) == bad)[0]]
        raise DataValidationError(
            f"{source}: row with index {label}, column {column!r}: product code {str(bad)!r} is not an HS code; "
            "allowed are 2, 4 or 6 digits with leading zeros (e.g. '010121', chapter 01-99)"
        )
    chapters = np.array([u[:2] for u in uniques], dtype=object)
    if to == "hs2":
        mapped = chapters
    else:
        table = hs_concordance().set_index("hs2")
        mapped = table.loc[chapters, "section" if to == "section" else "sector"].to_numpy(dtype=object)
    return pd.Series(mapped[inverse], index=products.index, dtype=str)


def map_adb_sectors(sectors: pd.Series, *, source: str = "ADB MRIO", column: str = "sector") -> pd.Series:
    """Map ADB MRIO 35-sector abbreviations (``AHF``, ``MIN``, ...) to broad sectors.

    Raises
    ------
    DataValidationError
        On an abbreviation not in :data:`ADB_SECTOR_TO_BROAD`.
    """
    mapped = sectors.map(ADB_SECTOR_TO_BROAD)
    if mapped.isna().any():
        label = mapped.index[np.flatnonzero(mapped.isna().to_numpy())[0]]
        raise DataValidationError(
            f"{source}: row with index {label}, column {column!r}: unknown ADB sector {sectors.loc[label]!r}; allowed are "
            f"{', '.join(ADB_SECTOR_TO_BROAD)}"
        )
    return mapped.astype(str)
