"""Multi-sector general equilibrium with tariffs, a duty pool and input-output links.

Public entry: :func:`solve_multisector` (re-exported as ``blocsim.solve_multisector``), which
validates tidy tables, calibrates the model to the observed baseline (exact hat algebra),
solves the counterfactual in changes and returns a :class:`MultiSectorResult`.

The model is Caliendo & Parro (2015) with Cobb-Douglas final demand and optional
input-output linkages (Costinot & Rodriguez-Clare 2014, sec. 4), tariff revenue in national
income, a customs union's duty pool and two deficit closures. Equations and definitions are
in ``docs/methods-multisector.md`` and :mod:`blocsim.equilibrium.multisector_core`.

References
----------
Caliendo, L. and Parro, F. (2015). Estimates of the Trade and Welfare Effects of NAFTA.
Review of Economic Studies 82(1), 1-44.
Costinot, A. and Rodriguez-Clare, A. (2014). Trade Theory with Numbers: Quantifying the
Consequences of Globalization. Handbook of International Economics, vol. 4, ch. 4.
Dekle, R., Eaton, J. and Kortum, S. (2007). Unbalanced Trade. AER P&P 97(2), 351-355.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Literal, Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from blocsim.equilibrium.duty_pool import DutyPool
from blocsim.equilibrium.multisector_core import calibrate, solve_changes, solve_conditional
from blocsim.equilibrium.multisector_inputs import multisector_problem, numeraire_index
from blocsim.equilibrium.multisector_tables import (
    bloc_table,
    country_table,
    flows_frame,
    member_mask,
    partner_table,
)
from blocsim.equilibrium.options import SolverOptions, check_choice

ClosureName = Literal["ratio", "level"]


@dataclass(frozen=True)
class MultiSectorResult:
    """Outcome of :func:`solve_multisector`.

    Attributes
    ----------
    countries : pandas.DataFrame
        One row per country. Percent changes ``(CFL - BLN) / BLN * 100``:

        - ``welfare_pct``: real income (value added + duty revenue received + deficit not
          financed by the pool) deflated by the consumer price index;
        - ``real_gdp_pct``: GDP at market prices (value added + duties collected) deflated by
          the consumer price index; ``real_wage_pct``: wage / consumer price index;
        - ``price_index_pct``: consumer price index (final-demand weights);
          ``imr_pct``: absorption-weighted index of sectoral price indices (inward
          resistance, all buyers incl. firms); ``omr_pct``: output-weighted index of sectoral
          outward resistances (Anderson-van Wincoop :math:`\\Pi`); ``factory_price_pct``: wage;
        - ``exports_pct``, ``imports_pct``: international trade before tariffs;
          ``exports_cond_pct``, ``imports_cond_pct``: the same in the conditional
          equilibrium (sectoral output and spending held at baseline, resistances adjust);

        and levels in the baseline currency (USD millions; counterfactual levels are in units
        of the numeraire): ``tariff_revenue_collected_before/after``,
        ``tariff_revenue_received_before/after`` (after pooling),
        ``tariff_revenue_change`` (received after - received before), ``income_*``,
        ``exports_*``, ``imports_*``, ``deficit_*``.
    bloc_effects : pandas.DataFrame or None
        For each member of ``bloc`` and each sector (and ``sector="all"``): intra-bloc,
        extra-bloc and domestic purchases before/after, ``income_effect``,
        ``trade_creation``, ``trade_diversion`` (definitions in
        :mod:`blocsim.equilibrium.multisector_tables`), ``intra_pct``, ``extra_pct``.
    partner_groups : pandas.DataFrame
        Exports and imports of each country by partner group, baseline/counterfactual/pct.
    diagnostics : dict
        ``converged``, ``iterations``, ``max_residual``, ``method`` of the full solve, plus
        ``conditional_converged`` (when False, e.g. a ban that leaves the conditional problem
        without a solution, the ``*_cond_pct`` columns are NaN), ``conditional_iterations``,
        ``conditional_max_residual``, ``closure``,
        ``numeraire``, ``seconds``.
    country_order, sector_order : tuple of str
        Order of the arrays below.
    flows_baseline, flows_counterfactual : ndarray, shape (S, N, N)
        ``[sector, exporter, importer]`` flows before tariffs.
    """

    countries: pd.DataFrame
    bloc_effects: pd.DataFrame | None
    partner_groups: pd.DataFrame
    diagnostics: dict[str, Any]
    country_order: tuple[str, ...]
    sector_order: tuple[str, ...]
    flows_baseline: NDArray[np.float64] = field(repr=False)
    flows_counterfactual: NDArray[np.float64] = field(repr=False)

    @cached_property
    def flows(self) -> pd.DataFrame:
        """Per (exporter, importer, sector): ``trade_baseline``, ``trade_counterfactual``,
        ``trade_pct`` (before tariffs; built on first access)."""
        return flows_frame(self.country_order, self.sector_order, self.flows_baseline, self.flows_counterfactual)

    def to_frame(self) -> pd.DataFrame:
        """The per-country table (a copy), the tidy summary of the run."""
        return self.countries.copy()


def solve_multisector(
    baseline_df: pd.DataFrame,
    *,
    theta: Mapping[str, float] | float,
    shock: pd.DataFrame | None = None,
    tariffs: pd.DataFrame | None = None,
    closure: ClosureName = "ratio",
    io: pd.DataFrame | None = None,
    duty_pool: DutyPool | None = None,
    duty_pool_after: DutyPool | None = None,
    productivity: pd.DataFrame | None = None,
    bloc: Iterable[str] | None = None,
    partner_groups: Mapping[str, str] | None = None,
    exporter: str = "exporter",
    importer: str = "importer",
    sector: str = "sector",
    flow: str = "trade",
    numeraire: str | None = None,
    options: SolverOptions | None = None,
) -> MultiSectorResult:
    """Solve a multi-sector counterfactual with tariffs in changes (exact hat algebra).

    Parameters
    ----------
    baseline_df : pandas.DataFrame
        Columns ``exporter, importer, sector, trade``: baseline flows valued before tariffs
        (USD millions), domestic flows included; missing rows are zero flows.
    theta : mapping sector -> float, or float
        Trade elasticity of each sector (> 0), e.g.
        ``blocsim.equilibrium.elasticities.get_elasticities("caliendo_parro_2015_eaeu")``.
    shock : pandas.DataFrame, optional
        Columns ``exporter, importer, sector, factor``: factor (>= 0) on the non-tariff cost
        term :math:`\\kappa^{-\\theta}`; 0 is a ban. Missing rows mean 1.
    tariffs : pandas.DataFrame, optional
        Columns ``exporter, importer, sector, tariff_before, tariff_after`` (ad valorem
        fractions >= 0; missing rows mean 0 before and after). Baseline spending including
        tariffs is ``trade * (1 + tariff_before)``.
    closure : {"ratio", "level"}
        ``"ratio"``: the part of each deficit not financed by the duty pool stays a fixed
        ratio of value added (with a common world adjustment, proportional to value added,
        that keeps world deficits summing to zero); ``"level"``: it stays fixed in units of
        the numeraire (Dekle, Eaton and Kortum 2007).
    io : pandas.DataFrame, optional
        Columns ``[country], sector, input_sector, share``: cost share of ``input_sector`` in
        the gross output of ``sector`` (without ``country``: the same for all countries).
        Value-added shares are ``1 - sum of input shares``. None: no input-output links.
    duty_pool, duty_pool_after : DutyPool, optional
        Duty pool in the baseline and in the counterfactual (``duty_pool_after`` defaults to
        ``duty_pool``).
    productivity : pandas.DataFrame, optional
        Columns ``country, [sector], factor`` (> 0): unit costs scale by ``1 / factor``
        (without ``sector``: all sectors of the country), e.g. a recession.
    bloc : iterable of str, optional
        Members (ISO3) for the trade creation / diversion table.
    partner_groups : mapping ISO3 -> label, optional
        Groups for exports/imports by partner; unlisted countries are ``"other"``. Default:
        ``"bloc"``/``"non-bloc"`` when ``bloc`` is given, else ``"world"``.
    exporter, importer, sector, flow : str
        Column names in ``baseline_df`` (and in ``shock``/``tariffs``).
    numeraire : str, optional
        None (default): world value added is unchanged; an ISO3 code: that country's
        consumer price index is unchanged (the reference importer of Yotov et al. 2016).
        Real outcomes do not depend on it under ``closure="ratio"``.
    options : SolverOptions, optional
        Tolerance (default 1e-12), iteration cap, Anderson memory.

    Returns
    -------
    MultiSectorResult
        ``.countries``: one row per country, ``*_pct`` percent changes ``(CFL - BLN) / BLN * 100``
        and levels (tariff revenue, income, exports, imports, deficit) in USD millions;
        ``.flows``: one row per (exporter, importer, sector), ``trade_baseline`` and
        ``trade_counterfactual`` in USD millions (before tariffs) and ``trade_pct`` in percent;
        also ``.bloc_effects``, ``.partner_groups``, ``.diagnostics`` (see the class).

    Raises
    ------
    DataValidationError
        Bad input (the message names the argument, column, values and a fix).
    ConvergenceError
        The solver did not reach the tolerance (with residual and iteration count).
    """
    start = time.perf_counter()
    check_choice(closure, ("ratio", "level"), "closure")
    problem = multisector_problem(
        baseline_df, theta=theta, shock=shock, tariffs=tariffs, io=io, duty_pool=duty_pool,
        duty_pool_after=duty_pool_after, productivity=productivity, names=(exporter, importer, sector, flow),
    )
    countries, sectors, flows = problem.countries, problem.sectors, problem.flows
    ref = numeraire_index(numeraire, countries)
    members = None if bloc is None else member_mask(bloc, countries, "bloc")
    cal = calibrate(problem, closure=closure, numeraire=ref)
    eq = solve_changes(cal, options)
    cond = solve_conditional(cal, options)
    new_flows = eq.flows(cal)
    if partner_groups is None:
        groups = (
            {c: ("bloc" if m else "non-bloc") for c, m in zip(countries, members)}
            if members is not None
            else {c: "world" for c in countries}
        )
    else:
        groups = {str(k): str(v) for k, v in partner_groups.items()}
    diagnostics = {
        "converged": bool(eq.record.converged),
        "iterations": int(eq.record.iterations),
        "max_residual": float(eq.record.max_residual),
        "method": f"multisector-{eq.record.method}",
        "conditional_converged": bool(cond.record.converged),
        "conditional_iterations": int(cond.record.iterations),
        "conditional_max_residual": float(cond.record.max_residual),
        "closure": closure,
        "numeraire": numeraire if numeraire is not None else "world value added",
        "seconds": time.perf_counter() - start,
    }
    return MultiSectorResult(
        countries=country_table(cal, eq, cond, new_flows),
        bloc_effects=None if members is None else bloc_table(countries, sectors, members, flows, new_flows),
        partner_groups=partner_table(countries, groups, flows, new_flows),
        diagnostics=diagnostics,
        country_order=countries,
        sector_order=sectors,
        flows_baseline=flows,
        flows_counterfactual=new_flows,
    )
