"""The 28 sectors of dataset v2: the ICIO goods sectors plus one services aggregate.

Codes are ICIO's, except the services aggregate, which the source stores as
``"Services (aggregate)"`` and which is coded ``D35T98`` here (ICIO sectors D35 to T98 summed;
this renaming is the only change of sector labels). :data:`HS_CHAPTER_SECTOR` maps HS
2-digit chapters (and, in chapters 27, 84, 85 and 87, a few 4-digit headings) to ICIO goods
sectors; it is an approximate concordance built from the ISIC Rev.4 divisions in ICIO's sector
list (documented in DATA.md) and is used to split small economies' exports by sector
(``hs4_exports_2017``) and to list each sector's HS chapters in ``sectors`` (column ``hs_chapters``).
``cp_elasticity`` is the Caliendo-Parro (2015) trade elasticity of the sector as mapped by the
tariffwar package (set ``CP`` of ``elasticities.csv``; services get its fallback value 4).
"""

from __future__ import annotations

import pandas as pd

from blocsim.errors import DataValidationError

SERVICES_SOURCE_CODE = "Services (aggregate)"
SERVICES_CODE = "D35T98"


#: ICIO goods sectors without HS products: B09 (mining support services) is an activity.
NO_HS: tuple[str, ...] = ("B09",)


def _chapters(first: int, last: int, sector: str) -> dict[str, str]:
    return {f"{c:02d}": sector for c in range(first, last + 1)}


#: HS chapter (or heading) -> ICIO goods sector. Headings override their chapter.
HS_CHAPTER_SECTOR: dict[str, str] = {
    **_chapters(1, 1, "A01"),
    **_chapters(2, 2, "C10T12"),
    **_chapters(3, 3, "A03"),
    **_chapters(4, 4, "C10T12"),
    **_chapters(5, 10, "A01"),
    **_chapters(11, 11, "C10T12"),
    **_chapters(12, 14, "A01"),
    **_chapters(15, 24, "C10T12"),
    **_chapters(25, 25, "B08"),
    **_chapters(26, 26, "B07"),
    **_chapters(27, 27, "C19"),
    **{h: "B05" for h in ("2701", "2702", "2703", "2704")},
    **{h: "B06" for h in ("2709", "2711")},
    **_chapters(28, 29, "C20"),
    **_chapters(30, 30, "C21"),
    **_chapters(31, 38, "C20"),
    **_chapters(39, 40, "C22"),
    **_chapters(41, 43, "C13T15"),
    **_chapters(44, 46, "C16"),
    **{h: "A02" for h in ("4401", "4403")},
    **_chapters(47, 49, "C17_18"),
    **_chapters(50, 67, "C13T15"),
    **_chapters(68, 70, "C23"),
    **_chapters(71, 71, "C24B"),
    **_chapters(72, 72, "C24A"),
    **_chapters(73, 73, "C25"),
    **_chapters(74, 81, "C24B"),
    **_chapters(82, 83, "C25"),
    **_chapters(84, 84, "C28"),
    "8471": "C26",
    **_chapters(85, 85, "C27"),
    **{h: "C26" for h in ("8517", "8525", "8526", "8527", "8528", "8529", "8541", "8542")},
    **_chapters(86, 86, "C302T309"),
    **_chapters(87, 87, "C29"),
    **{h: "C302T309" for h in ("8711", "8712", "8713", "8714")},
    **_chapters(88, 88, "C302T309"),
    **_chapters(89, 89, "C301"),
    **_chapters(90, 92, "C26"),
    **_chapters(93, 93, "C25"),
    **_chapters(94, 99, "C31T33"),
}


def hs4_sector(hs4: str) -> str | None:
    """ICIO goods sector of a 4-digit HS code (``None`` for 2716 electricity, a service in ICIO)."""
    if hs4 == "2716":
        return None
    return HS_CHAPTER_SECTOR.get(hs4, HS_CHAPTER_SECTOR.get(hs4[:2]))


def _chapter_list(sector: str) -> str:
    chapters = sorted({code[:2] for code, s in HS_CHAPTER_SECTOR.items() if s == sector})
    headings = sorted(code for code, s in HS_CHAPTER_SECTOR.items() if s == sector and len(code) == 4)
    text = ";".join(chapters)
    return text + (f" (headings {';'.join(headings)})" if headings else "")


def sector_table(icio_sectors: pd.DataFrame, elasticities: pd.DataFrame) -> pd.DataFrame:
    """``sector, name, description, goods, isic_rev4, hs_chapters, cp_elasticity`` for the 28 sectors.

    Parameters
    ----------
    icio_sectors
        ``oecd_icio_tariffwar/sectors.csv``.
    elasticities
        ``oecd_icio_tariffwar/elasticities.csv``.

    Raises
    ------
    DataValidationError
        The sector list is not the 28 ICIO sectors, or a sector has no CP elasticity.
    """
    icio = icio_sectors[icio_sectors["dataset"] == "icio"].sort_values("position")
    if len(icio) != 28:
        raise DataValidationError(
            f"build-eaeu: oecd_icio_tariffwar/sectors.csv has {len(icio)} ICIO sectors; allowed: 28"
        )
    cp = elasticities[(elasticities["dataset"] == "icio") & (elasticities["set"] == "CP")]
    cp = cp.set_index("sector")["trade_elasticity"]
    rows = []
    for row in icio.itertuples(index=False):
        code = SERVICES_CODE if row.code == SERVICES_SOURCE_CODE else row.code
        if row.code not in cp.index:
            raise DataValidationError(
                f"build-eaeu: oecd_icio_tariffwar/elasticities.csv has no CP elasticity for sector {row.code!r}"
            )
        goods = bool(int(row.goods))
        rows.append(
            {
                "sector": code,
                "name": row.name,
                "description": f"ICIO 2023 sector {code} (ISIC Rev.4 {row.isic_rev4})",
                "goods": goods,
                "isic_rev4": str(row.isic_rev4),
                "hs_chapters": _chapter_list(code) if goods else "",
                "cp_elasticity": round(float(cp[row.code]), 6),
            }
        )
    table = pd.DataFrame(rows)
    unmapped = [s for s in table.loc[table["goods"], "sector"] if s not in NO_HS and not _chapter_list(s)]
    if unmapped:
        raise DataValidationError(f"build-eaeu: goods sectors {unmapped} have no HS chapter in the concordance")
    return table
