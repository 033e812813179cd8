"""Deficit purge: the balanced-trade baseline of a multi-sector flow table.

Observed trade is not balanced, and a counterfactual that holds deficits fixed mixes their
effect with the shock's (Dekle, Eaton and Kortum 2008). Caliendo and Parro (2015) therefore
first compute the equilibrium of their model with every country's deficit set to zero and no
other change, and measure their experiment from that balanced baseline.
:func:`purge_deficits` is that first step: the multi-sector model of
:func:`blocsim.solve_multisector` (same calibration: import shares, value added, IO shares,
final-demand shares ``alpha`` from the flows, tariffs held at their baseline) solved with
``D'_j = 0`` for every country. World value added is the numeraire (unchanged), so the
purged flows are in the unit of the input.

Shocking the purged table is the same as solving the model from the observed data with
``D' = 0`` and the shock (exact hat algebra composes), which is how the authors' code runs
the NAFTA experiment (both the baseline and the counterfactual with zero deficits).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np
import pandas as pd

from blocsim.equilibrium.input_checks import numeric_column, require_columns
from blocsim.equilibrium.multisector_core import Calibration, Equilibrium, calibrate, solve_changes
from blocsim.equilibrium.multisector_inputs import MultiSectorProblem, _codes, _no_duplicates, multisector_problem
from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import ConvergenceError, DataValidationError

#: Largest gap allowed between 1 and a country's final-demand shares in ``final_demand``.
SHARE_SUM_TOLERANCE = 1e-6


def baseline_tariffs(tariffs: pd.DataFrame | None, keys: tuple[str, str, str]) -> pd.DataFrame | None:
    """The baseline tariffs of ``tariffs`` as a no-change table (``tariff_before = tariff_after``).

    ``tariffs`` has the key columns and ``tariff_before`` (the table of
    :func:`blocsim.solve_multisector`; ``tariff_after`` is ignored) or ``tariff``.
    """
    if tariffs is None:
        return None
    column = "tariff_before" if isinstance(tariffs, pd.DataFrame) and "tariff_before" in tariffs.columns else "tariff"
    df = require_columns(tariffs, [*keys, column], "tariffs")
    out = df[list(keys)].copy()
    out["tariff_before"] = df[column].to_numpy()
    out["tariff_after"] = df[column].to_numpy()
    return out


def parse_final_demand(final_demand: pd.DataFrame, problem: MultiSectorProblem) -> np.ndarray:
    """Final-demand shares ``alpha`` (S, N) from a ``country, sector, share`` table.

    Shares must be in [0, 1] and sum to one per country (within :data:`SHARE_SUM_TOLERANCE`;
    they are then rescaled to sum to one exactly); missing rows are zero.
    """
    argument = "final_demand"
    df = require_columns(final_demand, ["country", "sector", "share"], argument)
    values = numeric_column(df, "share", argument, low=0.0, high=1.0, allowed="final-demand shares in [0, 1]")
    c = _codes(df["country"], problem.countries, argument, "country")
    s = _codes(df["sector"], problem.sectors, argument, "sector")
    _no_duplicates(df, ["country", "sector"], argument, (c, s), (len(problem.countries), len(problem.sectors)))
    alpha = np.zeros((len(problem.sectors), len(problem.countries)))
    alpha[s, c] = values
    total = alpha.sum(axis=0)
    bad = np.abs(total - 1.0) > SHARE_SUM_TOLERANCE
    if bad.any():
        k = int(np.argmax(bad))
        raise DataValidationError(
            f"argument {argument!r}: the shares of {problem.countries[k]!r} sum to {float(total[k]):.10g}; allowed: 1 "
            f"(within {SHARE_SUM_TOLERANCE}). Fix: rescale that country's shares."
        )
    return alpha / total[None, :]


def balanced_calibration(problem: MultiSectorProblem, final_demand: pd.DataFrame | None) -> Calibration:
    """Calibration of ``problem`` with every deficit set to zero (``closure="level"``, world VA numeraire).

    With ``final_demand`` the shares ``alpha`` are taken from it instead of from the flows
    (the spending identity of the baseline is then not required to hold: the data of
    Caliendo and Parro (2015), whose IO shares imply negative final demand in some cells).
    """
    if final_demand is None:
        cal = calibrate(problem, closure="level", numeraire=None)
    else:  # calibrate without IO links (no final-demand check), then restore them with the given alpha
        cal = replace(calibrate(replace(problem, input_share=None), closure="level", numeraire=None),
                      problem=problem, alpha=parse_final_demand(final_demand, problem))
    return replace(cal, deficit_other=np.zeros_like(cal.deficit_other))


def balanced_residual(cal: Calibration, eq: Equilibrium, new_flows: np.ndarray) -> float:
    """Largest relative error of the balanced equilibrium, recomputed from its levels.

    Value-added market clearing (relative to value added), the spending identity
    ``X'_js = alpha_js I'_j + sum_k gamma_jsk Y'_jk`` (relative to the larger of baseline and
    purged spending: a purge with given ``alpha`` may create spending where the data had almost
    none) and trade balance (exports - imports relative to gross output). ``inf`` if not finite.
    """
    p = cal.problem
    va_supply = eq.wage_hat * cal.value_added
    va_gap = np.abs(np.sum(cal.va_share * eq.output, axis=0) - va_supply) / va_supply
    intermediate = 0.0 if p.input_share is None else np.einsum("jsk,kj->sj", p.input_share, eq.output)
    target = cal.alpha * eq.income[None, :] + intermediate
    scale = np.maximum(np.maximum(cal.spending, eq.spending), 1e-300)
    spend_gap = np.where(cal.spend_mask, np.abs(eq.spending - target) / scale, 0.0)
    balance = np.abs(new_flows.sum(axis=(0, 2)) - new_flows.sum(axis=(0, 1))) / new_flows.sum(axis=(0, 2))
    worst = max(float(va_gap.max()), float(spend_gap.max()), float(balance.max()))
    return worst if np.isfinite(worst) else float("inf")


def purge_deficits(
    flows: pd.DataFrame,
    *,
    theta: Mapping[str, float] | float,
    tariffs: pd.DataFrame | None = None,
    io: pd.DataFrame | None = None,
    final_demand: pd.DataFrame | None = None,
    exporter: str = "exporter",
    importer: str = "importer",
    sector: str = "sector",
    flow: str = "trade",
    options: SolverOptions | None = None,
) -> pd.DataFrame:
    """The balanced-trade baseline: the multi-sector equilibrium with every trade deficit set to zero.

    Parameters
    ----------
    flows : pandas.DataFrame
        ``exporter, importer, sector, trade``: flows before tariffs (USD millions), domestic
        flows included, as for :func:`blocsim.solve_multisector`.
    theta : mapping sector -> float, or float
        Trade elasticities (> 0).
    tariffs : pandas.DataFrame, optional
        ``exporter, importer, sector`` and ``tariff_before`` (the solver's table; a
        ``tariff_after`` column is ignored) or ``tariff``: the baseline tariffs (fractions),
        unchanged by the purge.
    io : pandas.DataFrame, optional
        ``[country], sector, input_sector, share`` input cost shares, as for the solver.
    final_demand : pandas.DataFrame, optional
        ``country, sector, share``: final-demand shares to use instead of those implied by the
        flows (e.g. :attr:`blocsim.data.caliendo_parro_2015` ``.final_demand``); each country's
        shares sum to one.
    exporter, importer, sector, flow : str
        Column names.
    options : SolverOptions, optional
        Solver tolerance (default 1e-12) and iteration cap.

    Returns
    -------
    pandas.DataFrame
        A copy of ``flows`` (same rows, columns and order) whose ``flow`` column holds the
        purged flows: every country's exports equal its imports (before tariffs), world value
        added is unchanged, and the shares ``alpha``, IO shares, tariffs and ``theta`` are those
        of the input. Balanced input comes back unchanged (to the solver tolerance).

    Raises
    ------
    DataValidationError
        Bad input (as :func:`blocsim.solve_multisector`; ``final_demand`` shares outside [0, 1]
        or not summing to one).
    ConvergenceError
        No balanced equilibrium found (residual and iterations in the message).
    """
    keys = (exporter, importer, sector)
    problem = multisector_problem(flows, theta=theta, tariffs=baseline_tariffs(tariffs, keys), io=io,
                                  names=(exporter, importer, sector, flow))
    cal = balanced_calibration(problem, final_demand)
    eq = solve_changes(cal, options)
    new_flows = eq.flows(cal)
    residual = balanced_residual(cal, eq, new_flows)
    tol = (options or SolverOptions()).tol
    if not np.isfinite(residual) or residual > max(100 * tol, 1e-9):
        raise ConvergenceError(
            "purge_deficits: the balanced-trade equilibrium was not found (recomputed residual above "
            f"{max(100 * tol, 1e-9):.0e}). Fix: check the data for countries that barely trade, or raise "
            "SolverOptions(max_iter=...)",
            residual=float(residual), iterations=int(eq.record.iterations), method=str(eq.record.method),
        )
    s = _codes(flows[sector], problem.sectors, "flows", sector)
    i = _codes(flows[exporter], problem.countries, "flows", exporter)
    j = _codes(flows[importer], problem.countries, "flows", importer)
    out = flows.copy()
    out[flow] = new_flows[s, i, j]
    return out
