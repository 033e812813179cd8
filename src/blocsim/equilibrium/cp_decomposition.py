r"""Caliendo-Parro (2015) first-order welfare decomposition: terms of trade and volume of trade.

Caliendo and Parro (2015, section 4) split the welfare change of country ``n`` (real income
``I_n / P_n`` with fixed deficits) into

.. math::
    d\ln W_n = \frac{1}{I_n}\sum_{s}\sum_{i}\big(E_{nis}\,d\ln c_{ns} - M_{nis}\,d\ln c_{is}\big)
             + \frac{1}{I_n}\sum_{s}\sum_{i}\tau_{nis} M_{nis}\,\big(d\ln M_{nis} - d\ln c_{is}\big)

the *terms of trade* (export prices against import prices, by partner ``i`` and sector ``s``)
and the *volume of trade* (tariff-weighted change of import quantities), with ``E_nis`` the
exports of ``n`` to ``i`` and ``M_nis`` its imports from ``i`` (before tariffs), ``tau_nis``
its tariffs, ``c`` unit costs and ``I_n`` income, all at the baseline. Their code evaluates it
for the discrete change as blocsim does here: ``d ln c`` is ``c^ - 1`` and ``d ln M`` is
``M'/M - 1`` (so the volume term is ``tau M (M'/M - c^)``), with world value added as the
numeraire. The two terms are a first-order (differential) split: their sum
(``welfare_first_order_pct``) is what the paper's tables report as welfare, and for large
tariff changes it differs from the exact change of real income (``welfare_pct`` of
:func:`blocsim.solve_multisector`), which is also reported.

The terms are computed for tariff changes with input-output links (the paper's experiment);
non-tariff cost shocks and productivity change ``c`` through other channels and are not
part of this decomposition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.equilibrium.multisector_core import calibrate, log_consumer_prices, solve_changes
from blocsim.equilibrium.multisector_inputs import multisector_problem
from blocsim.equilibrium.options import SolverOptions, check_choice

By = Literal["country", "partner", "sector", "partner_sector"]
_BY = ("country", "partner", "sector", "partner_sector")


def caliendo_parro_decomposition(
    baseline_df: pd.DataFrame,
    *,
    theta: Mapping[str, float] | float,
    tariffs: pd.DataFrame,
    io: pd.DataFrame | None = None,
    by: By = "country",
    exporter: str = "exporter",
    importer: str = "importer",
    sector: str = "sector",
    flow: str = "trade",
    options: SolverOptions | None = None,
) -> pd.DataFrame:
    """Solve a tariff counterfactual and split each country's welfare change as Caliendo and Parro (2015).

    Parameters
    ----------
    baseline_df, theta, tariffs, io, exporter, importer, sector, flow, options
        As for :func:`blocsim.solve_multisector` (deficits held fixed in value, world value
        added the numeraire; pass a purged baseline, :func:`blocsim.purge_deficits`, for the
        paper's setting).
    by : {"country", "partner", "sector", "partner_sector"}
        ``"country"``: one row per country with ``welfare_tot_pct``, ``welfare_vot_pct``,
        ``welfare_first_order_pct`` (their sum), ``welfare_pct`` (exact change of real income)
        and ``real_wage_pct``; otherwise one row per country and ``partner``, ``sector`` or
        both, with ``welfare_tot_pct`` and ``welfare_vot_pct`` (summing to the country's).

    Returns
    -------
    pandas.DataFrame
        Percentage points of baseline income (first-order terms) and percent changes.
    """
    check_choice(by, _BY, "by")
    problem = multisector_problem(baseline_df, theta=theta, tariffs=tariffs, io=io,
                                  names=(exporter, importer, sector, flow))
    cal = calibrate(problem, closure="level", numeraire=None)
    eq = solve_changes(cal, options)
    terms = FirstOrderInputs(
        tariff_before=problem.tariff_before, log_cost_hat=eq.log_cost_hat, income=cal.income,
    )
    after = eq.flows(cal)
    if by == "country":
        cpi = np.exp(log_consumer_prices(cal, eq.log_price_hat))
        table = first_order_table(terms, problem.countries, problem.sectors, problem.flows, after, by="country")
        table["welfare_pct"] = (eq.income / cal.income / cpi - 1.0) * 100.0
        table["real_wage_pct"] = (eq.wage_hat / cpi - 1.0) * 100.0
        return table
    return first_order_table(terms, problem.countries, problem.sectors, problem.flows, after, by=by)


@dataclass(frozen=True)
class FirstOrderInputs:
    """What the first-order terms need besides the flows (one solved counterfactual).

    Attributes
    ----------
    tariff_before : ndarray (S, N, N) or None
        Baseline tariffs ``[sector, exporter, importer]`` (fractions; None = all zero).
    log_cost_hat : ndarray (S, N)
        ``log c^_is`` of every exporter (numeraire units).
    income : ndarray (N,)
        Baseline income ``I_n`` (USD millions).
    """

    tariff_before: NDArray[np.float64] | None
    log_cost_hat: NDArray[np.float64]
    income: NDArray[np.float64]


def first_order_terms(
    terms: FirstOrderInputs, before: NDArray[np.float64], after: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Terms of trade and volume of trade of every (sector, country n, partner i), percent of ``I_n``.

    ``before``, ``after``: flows ``[sector, exporter, importer]`` before tariffs (S, N, N).
    Returns two (S, N, N) arrays indexed ``[s, n, i]`` whose sums over ``s`` and ``i`` are
    ``welfare_tot_pct`` and ``welfare_vot_pct`` of country ``n`` (formulas in the module notes).
    """
    tau = np.zeros_like(before) if terms.tariff_before is None else terms.tariff_before
    cost = np.exp(terms.log_cost_hat) - 1.0  # (S, N): d ln c_is as c^ - 1
    # tot[s, n, i]: exports of n to i valued at n's cost change, minus imports of n from i at i's
    tot = before * cost[:, :, None] - before.transpose(0, 2, 1) * cost[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(before > 0, after / before, 0.0)
    # vot[s, n, i]: tariff of n on i times n's imports from i, times (M'/M - c^_i)
    imports = before.transpose(0, 2, 1)
    vot = tau.transpose(0, 2, 1) * imports * (ratio.transpose(0, 2, 1) - 1.0 - cost[:, None, :])
    return 100.0 * tot / terms.income[None, :, None], 100.0 * vot / terms.income[None, :, None]


def first_order_table(
    terms: FirstOrderInputs, countries: tuple[str, ...], sectors: tuple[str, ...],
    before: NDArray[np.float64], after: NDArray[np.float64], *, by: By = "country",
) -> pd.DataFrame:
    """The first-order terms as a table: per country (``welfare_tot_pct``, ``welfare_vot_pct``,
    ``welfare_first_order_pct``) or per country and ``partner``/``sector``/both (the two terms,
    summing to the country's); percentage points of baseline income."""
    check_choice(by, _BY, "by")
    tot_pct, vot_pct = first_order_terms(terms, before, after)
    if by == "country":
        t, v = tot_pct.sum(axis=(0, 2)), vot_pct.sum(axis=(0, 2))
        return pd.DataFrame({"country": list(countries), "welfare_tot_pct": t, "welfare_vot_pct": v,
                             "welfare_first_order_pct": t + v})
    s, n, i = np.meshgrid(np.arange(len(sectors)), np.arange(len(countries)), np.arange(len(countries)),
                          indexing="ij")
    table = pd.DataFrame({
        "country": np.array(countries)[n.ravel()], "partner": np.array(countries)[i.ravel()],
        "sector": np.array(sectors)[s.ravel()], "welfare_tot_pct": tot_pct.ravel(),
        "welfare_vot_pct": vot_pct.ravel(),
    })
    keys = {"partner": ["country", "partner"], "sector": ["country", "sector"],
            "partner_sector": ["country", "partner", "sector"]}[by]
    return table.groupby(keys, sort=False, as_index=False)[["welfare_tot_pct", "welfare_vot_pct"]].sum()
