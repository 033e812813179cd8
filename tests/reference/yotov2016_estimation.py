"""Published PPML estimates that blocsim.estimate_gravity must reproduce.

Each constant maps a covariate to ``(coefficient, standard error)`` and states its source and
the tolerance used. Source files are those named in ``../shared/data/yotov2016/REFERENCE_NUMBERS.md``
(authors' Stata logs and output in the copy of the guide's ``AdvancedGuideFiles.zip`` committed in
GitHub ``pachadotdev/tradepolicy``, commit 342a6553) and
``../shared/data/gegravity_sample/PROVENANCE.md``.

Guide: Yotov, Piermartini, Monteiro and Larch (2016), *An Advanced Guide to Trade Policy
Analysis: The Structural Gravity Model*, WTO and UNCTAD.
"""

from __future__ import annotations

# Tolerances --------------------------------------------------------------------------------
#: Stata logs print 7 significant digits: absolute tolerance for coefficients and s.e.
LOG_ATOL = 2e-6
#: Tables printed with 3 decimals (esttab b(3) se(3), R replication): half a unit in the last digit.
TABLE_ATOL = 5e-4 + 1e-9

# A. Chapter 2, application 1 "Trade without borders" (2006, 69 countries, 4,761 obs) -----------
# Source: Chapter2/Applications/1_TradeWithoutBorder/Results/TradeWithoutBorder.log, lines ~340-350
# (ppml with exporter and importer dummies, robust s.e.). Tolerance LOG_ATOL.
TRADE_WITHOUT_BORDERS = {
    "ln_DIST": (-0.7912879, 0.0501494),
    "CNTG": (0.6736456, 0.1073719),
    "INTL_BRDR": (-2.47445, 0.1193816),
}
TRADE_WITHOUT_BORDERS_N = 4761

# B. Chapter 2, application 2 "Impact of RTAs: NAFTA" -------------------------------------------
# Source: Chapter2/Applications/2_RTAsEffects/Results/RTAsEffects.log, line ~3347. Step 1: ppml with
# symmetric pair dummies (domestic pairs share one), exporter-year and importer-year dummies,
# years 1986..2006 step 4, 28,482 obs, robust ("semirobust") s.e. Tolerance LOG_ATOL.
NAFTA_STEP1 = {"RTA": (0.5571853, 0.055771)}
NAFTA_STEP1_N = 28482
# Step 2: ppml of exp(pair FE) on gravity variables with exporter and importer dummies, 1994,
# international pairs with an estimated pair FE, s.e. clustered by pair_id, 4,678 obs.
# Tolerance LOG_ATOL (needs step-1 pair effects solved to 1e-10; pyfixest's default 1e-6 moves the
# step-2 estimates by up to 1.3e-5).
NAFTA_STEP2 = {
    "ln_DIST": (-0.8475027, 0.0346902),
    "CNTG": (0.2940831, 0.0948405),
    "LANG": (0.3632659, 0.0826225),
    "CLNY": (0.2394163, 0.114736),
}
NAFTA_STEP2_N = 4678

# C. Chapter 2, exercise 1 "Removing a specific border", part (ii) ------------------------------
# Source: Chapter2/Exercises/1_RemovingSpecificBorder/Results/RemovingSpecificBorder.log; the do-file
# sets INTL_BRDR = 0 where INTL_BRDR_AB == 1 before the ppml. Robust s.e. Tolerance LOG_ATOL.
CAN_USA_BORDER = {
    "ln_DIST": (-0.7672372, 0.0496717),
    "CNTG": (0.6284654, 0.1115665),
    "INTL_BRDR": (-2.533003, 0.1207792),
    "INTL_BRDR_AB": (-1.987681, 0.1586384),
}

# D. Chapter 1, exercise 2 "Unilateral policy" (MFN tariffs), N = 18,886 ------------------------
# Source: Chapter1/Exercises/2_UnilateralPolicyImpact/Results/UnilateralPolicyImpact.csv (esttab,
# 3 decimals): ppml_panel_sg (exporter-year, importer-year and directed pair effects), s.e. clustered
# by pair; ln_MFN = ln(1 + MFN_TARIFF), 0 for domestic pairs. Tolerance TABLE_ATOL.
MFN_RTAS = {
    "RTA": (0.392, 0.064),
    "RTA_LAG3": (0.248, 0.040),
    "RTA_LAG6": (0.246, 0.043),
    "RTA_LAG9": (0.083, 0.034),
}
MFN_TARIFFS = {
    "RTA": (-0.217, 0.056),
    "RTA_LAG3": (0.256, 0.037),
    "RTA_LAG6": (0.265, 0.036),
    "RTA_LAG9": (0.101, 0.035),
    "ln_MFN": (-7.604, 0.516),
}
MFN_N = 18886

# E. Chapter 1 tables (R replication, pachadotdev/tradepolicy _freeze/01-traditional-gravity/
# execute-results/html.json; its author states they match the book). Years 1986..2006 step 4,
# s.e. clustered by pair_id. Tolerance TABLE_ATOL.
# Table 1, PPML column: international flows, exporter-year + importer-year effects, 28,152 obs.
TABLE1_PPML = {
    "ln_DIST": (-0.841, 0.032),
    "CNTG": (0.437, 0.083),
    "LANG": (0.247, 0.077),
    "CLNY": (-0.222, 0.116),
}
TABLE1_PPML_N = 28152
# Table 3 (RTA effects). Column "PPML": Table 1 covariates plus RTA, international flows.
TABLE3_PPML = {"RTA": (0.191, 0.066)}
# Columns with domestic flows and symmetric pair effects (domestic pairs share one effect).
TABLE3_ENDOGENEITY = {"RTA": (0.557, 0.102)}
TABLE3_LEAD = {"RTA": (0.520, 0.086), "RTA_LEAD4": (0.077, 0.092)}
TABLE3_PHASING = {
    "RTA": (0.291, 0.089),
    "RTA_LAG4": (0.414, 0.067),
    "RTA_LAG8": (0.169, 0.043),
    "RTA_LAG12": (0.119, 0.030),
}
TABLE3_PHASING_TOTAL = (0.993, 0.094)  # lincom of the four coefficients
# Globalization column: the R output gives only the coefficients of the border-by-year dummies.
TABLE3_GLOBALIZATION = {
    "RTA": (0.116, 0.087),
    "RTA_LAG4": (0.288, 0.062),
    "RTA_LAG8": (0.069, 0.048),
    "RTA_LAG12": (0.002, 0.029),
}
TABLE3_GLOBALIZATION_BORDERS = {
    "INTL_BRDR_1986": -0.706,
    "INTL_BRDR_1990": -0.480,
    "INTL_BRDR_1994": -0.367,
    "INTL_BRDR_1998": -0.158,
    "INTL_BRDR_2002": -0.141,
}
TABLE3_PAIR_N = 28482

# gegravity sample (USITC, peter-herman/gegravity examples/examples_OneSectorGE.py, commit 358cba1e,
# quoting Stata ppmlhdfe with exporter and importer effects, robust s.e.), 900 obs. Tolerance LOG_ATOL.
GEGRAVITY_SAMPLE = {
    "lndist": (-0.3898623, 0.0729915),
    "contiguity": (0.891577, 0.1327354),
    "common_language": (0.0326249, 0.0840702),
    "pta": (0.4711383, 0.1076578),
    "international": (-3.412584, 0.2151235),
}
