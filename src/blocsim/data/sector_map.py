"""Broad sectors of dataset 2016v1 -> the ICIO 2023 sectors of dataset v2, and v2's trade elasticities.

Dataset ``eaeu-2016v1`` has four broad sectors built from ADB MRIO sectors; dataset v2
(``eaeu-2022v2``, the default ``eaeu``) has the 28 sectors of OECD ICIO 2023. The policy
library (``blocsim/policy/library/eaeu.toml``: CET exemptions, the sectors that customs checks
stop) and older scenario files name the broad sectors; :func:`expand_sectors` turns each broad
name that a dataset does not have into the ICIO sectors it means. The table
:data:`BROAD_TO_ICIO` is the documented mapping (ADB MRIO sector -> ISIC Rev. 4 -> ICIO):

============== ============================================ ========================================
broad sector   ADB MRIO sectors (2016v1 recipe)             ICIO 2023 sectors (v2)
============== ============================================ ========================================
agri_food      1 agriculture, hunting, forestry, fishing;   A01, A02, A03, C10T12 (HS 01-24 and
               3 food, beverages, tobacco                   logs, HS 4401/4403)
mining_energy  2 mining and quarrying; 8 coke, refined      B05, B06, B07, B08, B09, C19 (HS 25-27)
               petroleum, nuclear fuel
manufacturing  4-7 and 9-16 (textiles to transport          C13T15 ... C31T33 except C19 (HS 28-97)
               equipment, excluding food and petroleum)
other          17-35 utilities, construction, services      D35T98
============== ============================================ ========================================

:data:`ICIO_THETA` holds the Caliendo and Parro (2015) trade elasticity of each ICIO sector
(the ``cp_elasticity`` column of v2's ``sectors`` table: each ICIO sector takes the elasticity
of the Caliendo-Parro sector that contains it, the mean where it spans several; services 4.0,
not estimated by Caliendo and Parro). It is the named table ``caliendo_parro_2015_icio``
(:func:`blocsim.data.elasticities.get_elasticities`), used by every library scenario.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable, Mapping

_MANUFACTURING: tuple[str, ...] = (
    "C13T15", "C16", "C17_18", "C20", "C21", "C22", "C23", "C24A", "C24B", "C25", "C26", "C27", "C28",
    "C29", "C301", "C302T309", "C31T33",
)

#: Broad sector of dataset 2016v1 -> the ICIO 2023 sectors it means (see the module docstring).
BROAD_TO_ICIO: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "agri_food": ("A01", "A02", "A03", "C10T12"),
        "mining_energy": ("B05", "B06", "B07", "B08", "B09", "C19"),
        "manufacturing": _MANUFACTURING,
        "other": ("D35T98",),
    }
)

#: Caliendo-Parro (2015) trade elasticity of each ICIO 2023 sector (= v2 ``sectors.cp_elasticity``).
ICIO_THETA: Mapping[str, float] = MappingProxyType(
    {
        "A01": 9.11, "A02": 9.11, "A03": 9.11,
        "B05": 13.53, "B06": 13.53, "B07": 13.53, "B08": 13.53, "B09": 13.53,
        "C10T12": 2.62, "C13T15": 8.1, "C16": 14.01, "C17_18": 14.01, "C19": 64.85,
        "C20": 3.13, "C21": 3.13, "C22": 2.04, "C23": 2.04, "C24A": 3.28, "C24B": 3.28,
        "C25": 6.99, "C26": 8.536666666666667, "C27": 12.91, "C28": 1.45, "C29": 1.115,
        "C301": 1.115, "C302T309": 1.115, "C31T33": 6.345, "D35T98": 4.0,
    }
)


def expand_sectors(names: Iterable[str], available: Iterable[str]) -> tuple[str, ...]:
    """Replace broad 2016v1 sector names that a dataset lacks by the ICIO sectors they mean.

    Parameters
    ----------
    names
        Sector names as written in a policy definition or scenario (e.g. ``["agri_food"]``).
    available
        The dataset's sector codes.

    Returns
    -------
    tuple of str
        ``names`` in order, each name the dataset has kept as it is, each broad name it lacks
        (:data:`BROAD_TO_ICIO`) replaced by those of its ICIO sectors the dataset has; other
        names (and broad names none of whose ICIO sectors it has) are kept so that the caller's
        check reports them as unknown. No duplicates.
    """
    have = set(available)
    out: list[str] = []
    for name in names:
        fine = [x for x in BROAD_TO_ICIO.get(name, ()) if x in have] if name not in have else []
        for code in fine or [name]:
            if code not in out:
                out.append(code)
    return tuple(out)
