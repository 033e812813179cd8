"""Sectoral trade elasticities by name, with their sources.

The multi-sector model (:func:`blocsim.solve_multisector`) takes ``theta`` as a mapping
sector -> trade elasticity (the Frechet shape parameter of Caliendo & Parro 2015; a flow
falls by ``theta`` percent when its trade cost rises by one percent). This module ships the
Caliendo-Parro table and its aggregation to the four broad sectors of the bundled EAEU
dataset. Users can pass their own dicts instead.

References
----------
Caliendo, L. and Parro, F. (2015). "Estimates of the Trade and Welfare Effects of NAFTA",
*Review of Economic Studies* 82(1), 1-44, Table 1 (sectoral dispersion of productivity).
The numbers below are those of the authors' replication file ``T.txt`` (in
``Data_and_Codes_CP.zip``, distributed with the article and on Lorenzo Caliendo's web site;
a public copy is in github.com/powell001/Caliendo_Parro_2015_Python,
``data/original_data/T.txt``): the 20 tradable ISIC rev.3 sectors in the order of Table 1.
That file sets auto and other transport to 8.22, and the replication code uses 8.22 for all
20 non-tradable (service) sectors.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, Mapping

import numpy as np

from blocsim.data.sector_map import ICIO_THETA
from blocsim.errors import DataValidationError

CALIENDO_PARRO_2015: Mapping[str, float] = MappingProxyType(
    {
        "agriculture": 9.11,
        "mining": 13.53,
        "food": 2.62,
        "textile": 8.10,
        "wood": 11.50,
        "paper": 16.52,
        "petroleum": 64.85,
        "chemicals": 3.13,
        "plastic": 1.67,
        "minerals": 2.41,
        "basic_metals": 3.28,
        "metal_products": 6.99,
        "machinery": 1.45,
        "office": 12.95,
        "electrical": 12.91,
        "communication": 3.95,
        "medical": 8.71,
        "auto": 8.22,
        "other_transport": 8.22,
        "other_manufacturing": 3.98,
        "services": 8.22,
    }
)
"""Caliendo & Parro (2015) trade elasticities by sector (replication file ``T.txt``).

``services`` is the value the authors' code assigns to every non-tradable sector."""

EAEU_SECTOR_MAP: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "agri_food": ("agriculture", "food"),
        "mining_energy": ("mining", "petroleum"),
        "manufacturing": (
            "textile",
            "wood",
            "paper",
            "chemicals",
            "plastic",
            "minerals",
            "basic_metals",
            "metal_products",
            "machinery",
            "office",
            "electrical",
            "communication",
            "medical",
            "auto",
            "other_transport",
            "other_manufacturing",
        ),
        "other": ("services",),
    }
)
"""Which Caliendo-Parro sectors make up each broad sector of the bundled EAEU dataset.

``mining_energy`` takes mining (ISIC 10-14) and coke and refined petroleum (ISIC 23);
``manufacturing`` all other ISIC 15-37 sectors except food (15-16); ``other`` services."""

Aggregation = Literal["harmonic", "arithmetic"]


def aggregate_theta(
    table: Mapping[str, float],
    mapping: Mapping[str, tuple[str, ...]],
    *,
    weights: Mapping[str, float] | None = None,
    method: Aggregation = "harmonic",
) -> dict[str, float]:
    """Aggregate fine-sector elasticities to broad sectors.

    Parameters
    ----------
    table : mapping str -> float
        Elasticity of each fine sector (e.g. :data:`CALIENDO_PARRO_2015`).
    mapping : mapping str -> tuple of str
        Broad sector -> fine sectors it contains (e.g. :data:`EAEU_SECTOR_MAP`).
    weights : mapping str -> float, optional
        Weight of each fine sector (e.g. its world trade in USD); equal weights when None.
    method : {"harmonic", "arithmetic"}
        ``"harmonic"`` (default): ``1 / sum_k w_k / theta_k`` with normalised weights. It
        weights low elasticities more, so a single very high value (petroleum 64.85) does
        not dominate the broad sector; this is a modelling choice, not an estimate.
        ``"arithmetic"``: ``sum_k w_k theta_k``.

    Returns
    -------
    dict str -> float
        Elasticity of each broad sector.

    Raises
    ------
    DataValidationError
        A fine sector is missing from ``table`` or ``weights``, or a value is not positive.
    """
    if method not in ("harmonic", "arithmetic"):
        raise DataValidationError(
            f"argument 'method': got {method!r}; allowed: 'harmonic', 'arithmetic'."
        )
    out: dict[str, float] = {}
    for broad, fine in mapping.items():
        missing = [k for k in fine if k not in table]
        if missing or not fine:
            raise DataValidationError(
                f"argument 'table': broad sector {broad!r} needs fine sectors {missing or fine!r} "
                f"that are not in the table (has {sorted(table)!r}). Fix: add them or change 'mapping'."
            )
        vals = np.array([float(table[k]) for k in fine])
        if weights is None:
            w = np.ones(len(fine))
        else:
            absent = [k for k in fine if k not in weights]
            if absent:
                raise DataValidationError(
                    f"argument 'weights': no weight for fine sectors {absent!r} of {broad!r}. "
                    "Fix: give a weight for every fine sector, or weights=None for equal weights."
                )
            w = np.array([float(weights[k]) for k in fine])
        if np.any(~np.isfinite(vals)) or np.any(vals <= 0) or np.any(w < 0) or w.sum() <= 0:
            raise DataValidationError(
                f"broad sector {broad!r}: elasticities {vals.tolist()} must be finite and > 0 and "
                f"weights {w.tolist()} >= 0 with a positive sum."
            )
        w = w / w.sum()
        out[broad] = float(1.0 / np.sum(w / vals)) if method == "harmonic" else float(np.sum(w * vals))
    return out


EAEU_THETA: Mapping[str, float] = MappingProxyType(
    aggregate_theta(CALIENDO_PARRO_2015, EAEU_SECTOR_MAP)
)
"""Equal-weight harmonic means of :data:`CALIENDO_PARRO_2015` over :data:`EAEU_SECTOR_MAP`
(agri_food 4.07, mining_energy 22.39, manufacturing 4.26, other 8.22)."""

#: The named elasticity tables of :func:`get_elasticities`: name -> (sector -> theta).
ELASTICITY_TABLES: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {"caliendo_parro_2015": CALIENDO_PARRO_2015, "caliendo_parro_2015_eaeu": EAEU_THETA,
     "caliendo_parro_2015_icio": ICIO_THETA}
)

#: Elasticity tables tried, in order, when a scenario names none: the first that has a theta for
#: every sector of the scenario's dataset is used (eaeu-2016v1: the broad sectors; v2: ICIO).
DEFAULT_THETA_TABLES: tuple[str, ...] = ("caliendo_parro_2015_eaeu", "caliendo_parro_2015_icio")


def default_theta_table(sectors: set[str]) -> str | None:
    """The first of :data:`DEFAULT_THETA_TABLES` with a theta for every one of ``sectors``, or None."""
    return next((name for name in DEFAULT_THETA_TABLES if sectors <= set(ELASTICITY_TABLES[name])), None)


def get_elasticities(name: str) -> dict[str, float]:
    """Return a named elasticity table as a new dict (sector -> theta).

    Parameters
    ----------
    name : {"caliendo_parro_2015", "caliendo_parro_2015_eaeu", "caliendo_parro_2015_icio"}
        ``"caliendo_parro_2015"``: the 21-entry table :data:`CALIENDO_PARRO_2015`;
        ``"caliendo_parro_2015_eaeu"``: its aggregation to the broad sectors of dataset
        ``eaeu-2016v1``, :data:`EAEU_THETA`; ``"caliendo_parro_2015_icio"``: the 28 ICIO
        sectors of dataset v2 (``eaeu``), :data:`blocsim.data.sector_map.ICIO_THETA`.

    Raises
    ------
    DataValidationError
        Unknown name (the message lists the known ones).
    """
    if name not in ELASTICITY_TABLES:
        raise DataValidationError(
            f"argument 'name': unknown elasticity table {name!r}; known tables: {sorted(ELASTICITY_TABLES)!r}. "
            "Fix: use one of them or pass your own dict sector -> theta."
        )
    return dict(ELASTICITY_TABLES[name])
