"""Published chapter-2 GE results of Yotov et al. (2016) that blocsim.solve_ge must reproduce.

Source: the authors' Stata output in the copy of the guide's ``AdvancedGuideFiles.zip`` that is
committed in GitHub ``pachadotdev/tradepolicy`` (commit 342a6553), folder
``00-application-files/Chapter2``; converted to CSV in ``../shared/data/yotov2016/reference_results``
(see that folder's PROVENANCE.md and REFERENCE_NUMBERS.md). The ``*_prod.csv`` and ``*_cons.csv``
files hold the *levels* the do-files computed (outward/inward resistances ``OMR_*``/``IMR_*`` as
``Pi^(1-sigma)``/``P^(1-sigma)``, international exports ``Xi_*``, output ``Y_*``, factory-gate price
ratio ``change_pricei_FULL``); the ``*_summary.csv`` files hold the published percent changes.

Sign conventions: "trade without borders" and the CAN-USA exercise report
``(CFL - BLN) / BLN * 100``; the NAFTA log reports the effect of *having* NAFTA,
``(BLN - CFL) / CFL * 100`` (and ``(1 - p) * 100`` for prices). :func:`percent_changes` rebuilds
every column in blocsim's convention ``(CFL - BLN) / BLN * 100`` from the levels, so one comparison
serves all exercises; :func:`nafta_published` converts blocsim's numbers to the NAFTA log's sign for a
second check against the summary file itself.

Guide: Yotov, Piermartini, Monteiro and Larch (2016), *An Advanced Guide to Trade Policy
Analysis: The Structural Gravity Model*, WTO and UNCTAD, ch. 2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: sigma used in every chapter-2 GE exercise (``scalar sigma = 7`` in the logs).
SIGMA = 7.0
#: Reference importer (the do-files recode DEU as ``ZZZ`` so its importer dummy is dropped).
REFERENCE = "DEU"
#: Issue 2 tolerance, in percentage points, for every country and column.
PP_ATOL = 1e-3

#: Files per exercise: (prod/cons/summary stem).
EXERCISES = {
    "trade_without_borders": "ch2_app1_trade_without_border",
    "nafta": "ch2_app2_nafta",
    "can_usa_part_i": "ch2_ex1_removing_specific_border_partA",
    "can_usa_part_iii": "ch2_ex1_removing_specific_border_partBC",
}

#: Published examples quoted in REFERENCE_NUMBERS.md (sign as published), for a direct spot check.
SPOT_CHECKS = {
    "trade_without_borders": {("USA", "change_Xi_FULL"): 438.31, ("USA", "change_Xi_CDL"): 359.98,
                              ("USA", "change_rGDP_FULL"): 10.65, ("CAN", "change_rGDP_FULL"): 54.36,
                              ("CHN", "change_rGDP_FULL"): 14.35, ("DEU", "change_price_FULL"): 24.31},
    "nafta": {("CAN", "change_Xi_FULL"): 37.455, ("MEX", "change_Xi_FULL"): 43.508,
              ("USA", "change_Xi_FULL"): 14.876, ("CAN", "change_rGDP_FULL"): 3.403,
              ("MEX", "change_rGDP_FULL"): 3.810, ("USA", "change_rGDP_FULL"): 0.335},
    "can_usa_part_i": {("CAN", "change_Xi_FULL"): 120.714, ("USA", "change_Xi_FULL"): 71.531,
                       ("CAN", "change_rGDP_FULL"): 48.901, ("USA", "change_rGDP_FULL"): 1.468},
    "can_usa_part_iii": {("CAN", "change_Xi_FULL"): 83.893, ("CAN", "change_rGDP_FULL"): 42.696,
                         ("USA", "change_Xi_FULL"): 54.085, ("USA", "change_rGDP_FULL"): 1.211},
}


def percent_changes(results_dir: Path, exercise: str, sigma: float = SIGMA) -> pd.DataFrame:
    """Authors' results in blocsim's columns and sign convention, indexed by country.

    Columns: ``exports_cond_pct, exports_pct, factory_price_pct, omr_cond_pct, omr_pct,
    imr_cond_pct, imr_pct, real_gdp_pct`` (all ``(CFL - BLN) / BLN * 100``, resistances as
    ``Pi`` and ``P``, i.e. the ``1/(1-sigma)`` power of the stored levels, as the do-files do).
    """
    stem = EXERCISES[exercise]
    prod = pd.read_csv(results_dir / f"{stem}_prod.csv").set_index("country")
    cons = pd.read_csv(results_dir / f"{stem}_cons.csv").set_index("country")
    inv = 1.0 / (1.0 - sigma)
    imr_full = (cons["IMR_FULL"] / cons["IMR_BLN"]) ** inv
    out = pd.DataFrame(
        {
            "exports_cond_pct": (prod["Xi_CDL"] / prod["Xi_BLN"] - 1.0) * 100.0,
            "exports_pct": (prod["Xi_FULL"] / prod["Xi_BLN"] - 1.0) * 100.0,
            "factory_price_pct": (prod["change_pricei_FULL"] - 1.0) * 100.0,
            "omr_cond_pct": ((prod["OMR_CDL"] / prod["OMR_BLN"]) ** inv - 1.0) * 100.0,
            "omr_pct": ((prod["OMR_FULL"] / prod["OMR_BLN"]) ** inv - 1.0) * 100.0,
            "imr_cond_pct": ((cons["IMR_CDL"] / cons["IMR_BLN"]) ** inv - 1.0) * 100.0,
            "imr_pct": (imr_full - 1.0) * 100.0,
            "real_gdp_pct": (prod["Y_FULL"] / prod["Y_BLN"] / imr_full - 1.0) * 100.0,
        }
    )
    return out.sort_index()


def summary(results_dir: Path, exercise: str) -> pd.DataFrame:
    """The published summary table (authors' sign convention), indexed by country."""
    return pd.read_csv(results_dir / f"{EXERCISES[exercise]}_summary.csv").set_index("country").sort_index()


def in_summary_convention(exercise: str, countries: pd.DataFrame) -> pd.DataFrame:
    """blocsim's country results (``(CFL-BLN)/BLN``) in the columns and sign of ``exercise``'s summary file."""
    if exercise == "nafta":
        return nafta_published(countries)
    c = countries.set_index("country")
    return pd.DataFrame(
        {
            "change_Xi_CDL": c["exports_cond_pct"],
            "change_Xi_FULL": c["exports_pct"],
            "change_price_FULL": c["factory_price_pct"],
            "change_rGDP_FULL": c["real_gdp_pct"],
        }
    ).sort_index()


def nafta_published(countries: pd.DataFrame) -> pd.DataFrame:
    """blocsim results (``(CFL-BLN)/BLN``) in the NAFTA log's convention (effect of having NAFTA).

    ``change = (BLN - CFL) / CFL * 100 = (1 / (1 + x/100) - 1) * 100`` for exports, real GDP and
    IMR; ``change_price_FULL = (1 - p) * 100 = -x`` for the factory-gate price.
    """
    c = countries.set_index("country")

    def flip(x: pd.Series) -> pd.Series:
        return (1.0 / (1.0 + x / 100.0) - 1.0) * 100.0

    return pd.DataFrame(
        {
            "change_Xi_CDL": flip(c["exports_cond_pct"]),
            "change_Xi_FULL": flip(c["exports_pct"]),
            "change_price_FULL": -c["factory_price_pct"],
            "change_IMR_FULL": flip(c["imr_pct"]),
            "change_rGDP_FULL": flip(c["real_gdp_pct"]),
        }
    ).sort_index()
