"""Recipe: the EAEU's effect on internal trade costs by sector, estimated by PPML (the border-AVE table).

The estimating equation, one regression per goods sector ``s`` on the dataset's panel
(``blocsim.load_dataset("eaeu-2022v2")``: 85 regions, 2011-2021 (:data:`LAST_YEAR`), domestic
flows included;
Yotov et al. 2016, ch. 1 and ch. 3 on the effects of trade agreements):

.. math::

    X_{ij,t} = \\exp\\big(\\pi_{i,t} + \\chi_{j,t} + \\mu_{ij} + \\beta_s\\, EAEU_{ij,t}
               + \\delta_s\\, FTA_{ij,t}\\big)\\,\\varepsilon_{ij,t}

with exporter-year, importer-year and (directed) pair fixed effects, standard errors
clustered by pair. ``EAEU_ij,t`` is 1 when ``i != j`` are both EAEU members in year ``t``
(a member counts from the first year it is a member on 1 July: Armenia from 2015, Kyrgyzstan
from 2016, having joined on 12 Aug 2015); ``FTA`` is the dataset's EAEU free-trade-agreement
flag (a control). Russia, Belarus and Kazakhstan are members in every year of the panel, so
their pair effects absorb their union: ``beta_s`` is identified by Armenia's and Kyrgyzstan's
accessions alone (their trade with the members before and after, against every other pair).
Armenia and Kyrgyzstan already traded duty-free with the members (CIS FTA), so ``beta_s``
measures what joining did beyond tariffs: the end of customs checks, common technical and
sanitary rules, and everything else that changed with membership in those years.

Conversion to an ad valorem equivalent with the sector's trade elasticity ``theta_s``
(``cp_elasticity`` of the dataset's sectors table, Caliendo and Parro 2015), since
``X ~ t^(-theta)``:

- the union's effect on internal trade costs: ``exp(-beta_s / theta_s) - 1`` (a fall when
  ``beta_s > 0``);
- the cost of the border the union removed, as the library uses it (the AVE of the checks
  while they stand, relative to no checks): ``ave = exp(beta_s / theta_s) - 1``, with the
  delta-method standard error ``ave_se = exp(beta_s / theta_s) * se(beta_s) / theta_s``.

The same regressions run on the panel aggregated to the four broad sectors of the ``eaeu``
dataset (:data:`BROAD_SECTORS`), converted with the library's broad-sector elasticities
(:data:`blocsim.data.elasticities.EAEU_THETA`), so scenarios on either dataset find their
sectors in the table.

:func:`border_effects_table` runs the regressions and returns the table shipped as
``blocsim/data/border_costs/eaeu_border_aves.csv`` (read with
:func:`blocsim.data.border_costs.load_border_aves`); ``bench/estimate_border_aves.py``
regenerates it (several minutes: one PPML with ~7,000 pair effects per sector).

References
----------
Yotov, Y., Piermartini, R., Monteiro, J.-A. and Larch, M. (2016). An Advanced Guide to Trade
Policy Analysis: The Structural Gravity Model. WTO/UNCTAD.
Caliendo, L. and Parro, F. (2015). Estimates of the Trade and Welfare Effects of NAFTA.
Review of Economic Studies 82(1), 1-44.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from blocsim.data.border_costs import BORDER_AVE_COLUMNS
from blocsim.data.elasticities import EAEU_THETA
from blocsim.errors import ConvergenceError, DataValidationError
from blocsim.estimation.ppml import estimate_gravity

#: EAEU members and the date each joined (the union of Russia, Belarus and Kazakhstan dates
#: from 2010; Treaty on the EAEU and the accession treaties, as in the policy library).
MEMBER_JOINED: Mapping[str, dt.date] = {
    "RUS": dt.date(2010, 1, 1), "BLR": dt.date(2010, 1, 1), "KAZ": dt.date(2010, 1, 1),
    "ARM": dt.date(2015, 1, 2), "KGZ": dt.date(2015, 8, 12),
}
#: Fine sectors (``eaeu-2022v2``) of each broad sector of the ``eaeu`` dataset (goods only).
BROAD_SECTORS: Mapping[str, tuple[str, ...]] = {
    "agri_food": ("A01", "A02", "A03", "C10T12"),
    "mining_energy": ("B05", "B06", "B07", "B08", "B09", "C19"),
    "manufacturing": ("C13T15", "C16", "C17_18", "C20", "C21", "C22", "C23", "C24A", "C24B", "C25", "C26", "C27",
                      "C28", "C29", "C301", "C302T309", "C31T33"),
}
DATASET = "eaeu-2022v2"
LAST_YEAR = 2021
"""Last panel year used: 2022, the year of the sanctions on Russia, is left out: trade between
Russia and the two acceding members moved that year for reasons other than the union, which a
membership term on their pairs would read as a union effect."""


def member_in_year(joined: dt.date, year: int) -> bool:
    """True if a country that joined on ``joined`` is a member on 1 July of ``year``."""
    return joined <= dt.date(year, 7, 1)


def union_panel(flows: pd.DataFrame, gravity: pd.DataFrame, sectors: Sequence[str]) -> pd.DataFrame:
    """The estimation panel of one (fine or aggregated) sector: flows summed over ``sectors``.

    Parameters
    ----------
    flows
        ``exporter, importer, sector, year, trade`` (USD millions).
    gravity
        ``exporter, importer, year, fta`` (the dataset's covariates).
    sectors
        Fine sectors summed into the panel.

    Returns
    -------
    DataFrame
        ``exporter, importer, year, trade, eaeu, fta`` (``eaeu``, ``fta`` in {0, 1}).
    """
    picked = flows[flows["sector"].isin(list(sectors))]
    if picked.empty:
        raise DataValidationError(f"union_panel: no flows for sector(s) {list(sectors)}")
    panel = picked.groupby(["exporter", "importer", "year"], as_index=False)["trade"].sum()
    panel = panel.merge(gravity[["exporter", "importer", "year", "fta"]], on=["exporter", "importer", "year"],
                        how="left")
    panel["fta"] = panel["fta"].fillna(0).astype(float)
    years = panel["year"].astype(int).to_numpy()
    member = {c: np.array([member_in_year(d, int(y)) for y in years]) for c, d in MEMBER_JOINED.items()}
    both = np.zeros(len(panel), dtype=bool)
    exporters, importers = panel["exporter"].to_numpy(), panel["importer"].to_numpy()
    for a, in_a in member.items():
        for b, in_b in member.items():
            if a != b:
                both |= (exporters == a) & (importers == b) & in_a & in_b
    panel["eaeu"] = both.astype(float)
    return panel


FIXEF_TOL = 1e-8
"""Tolerance of the fixed-effect projections: with ~7,000 pair effects the default 1e-10 does
not converge for some sectors; 1e-8 moves ``beta`` by far less than its standard error."""


def estimate_sector(panel: pd.DataFrame) -> tuple[float, float, int]:
    """PPML of one sector's panel: (beta, clustered s.e. of beta, observations used).

    Raises
    ------
    ConvergenceError
        The PPML did not converge (the sector is then left out of the table).
    """
    result = estimate_gravity(
        panel, covariates=["eaeu", "fta"], year="year", fixed_effects="exporter_year-importer_year+pair",
        cluster="pair", fixef_tol=FIXEF_TOL,
    )
    return float(result.coefficients["eaeu"]), float(result.std_errors["eaeu"]), int(result.n_obs)


def to_ave(beta: float, se: float, theta: float) -> tuple[float, float]:
    """Border-cost AVE ``exp(beta/theta) - 1`` and its delta-method s.e. (fractions)."""
    if not np.isfinite(theta) or theta <= 0:
        raise DataValidationError(f"to_ave: theta = {theta!r}; allowed: a positive finite trade elasticity")
    level = float(np.exp(beta / theta))
    return level - 1.0, level * se / theta


def border_effects_table(dataset: Any, *, sectors: Sequence[str] | None = None) -> pd.DataFrame:
    """Estimate the union's border effect per sector and convert it to AVEs (see module notes).

    Parameters
    ----------
    dataset
        ``blocsim.load_dataset("eaeu-2022v2")`` (flows, gravity and a sectors table with
        ``goods`` and ``cp_elasticity``).
    sectors
        Sectors to estimate (fine sector codes and/or broad names of :data:`BROAD_SECTORS`);
        default: every goods sector and every broad sector.

    Returns
    -------
    DataFrame
        Columns :data:`blocsim.data.border_costs.BORDER_AVE_COLUMNS`, one row per estimated
        sector; ``.attrs["failed"]`` maps the sectors whose PPML did not converge to the reason
        (they are left out: the policy falls back to the bloc's flat ``border_cost`` there).
    """
    table = dataset.sectors.set_index("sector")
    goods = [str(s) for s in table.index if bool(table.loc[s, "goods"])]
    wanted = list(sectors) if sectors is not None else [*goods, *BROAD_SECTORS]
    unknown = [s for s in wanted if s not in goods and s not in BROAD_SECTORS]
    if unknown:
        raise DataValidationError(f"argument 'sectors': {unknown} are not goods sectors of {DATASET}; allowed: "
                                  f"{goods + list(BROAD_SECTORS)}")
    flows = dataset.flows[dataset.flows["year"] <= LAST_YEAR]
    years = sorted(int(y) for y in flows["year"].unique())
    rows = []
    failed: dict[str, str] = {}
    for sector in wanted:
        fine = BROAD_SECTORS.get(sector, (sector,))
        theta = float(EAEU_THETA[sector]) if sector in BROAD_SECTORS else float(table.loc[sector, "cp_elasticity"])
        panel = union_panel(flows, dataset.gravity, fine)
        try:
            beta, se, n_obs = estimate_sector(panel)
        except ConvergenceError as error:
            failed[sector] = str(error).split(";")[0]
            continue
        ave, ave_se = to_ave(beta, se, theta)
        rows.append({"bloc": "EAEU", "sector": sector, "level": "broad" if sector in BROAD_SECTORS else "fine",
                     "beta": beta, "beta_se": se, "theta": theta, "ave": ave, "ave_se": ave_se,
                     "cost_change": float(np.exp(-beta / theta) - 1.0), "n_obs": n_obs,
                     "years": f"{years[0]}-{years[-1]}", "dataset": DATASET,
                     "identified_by": "ARM accession 2015, KGZ accession 2015 (member from 2016)"})
    out = pd.DataFrame(rows, columns=list(BORDER_AVE_COLUMNS))
    out.attrs["failed"] = failed
    return out
