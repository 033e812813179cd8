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

from blocsim.equilibrium.diagnostics import (
    Part,
    finite_residual,
    nonfinite_columns,
    raise_unless_allowed,
    summarise,
    within_tolerance,
)
from blocsim.equilibrium.cp_decomposition import By, FirstOrderInputs, first_order_table
from blocsim.equilibrium.duty_pool import DutyPool
from blocsim.equilibrium.income_transfers import transfer_table
from blocsim.equilibrium.multisector_conditional import Conditional, solve_conditional
from blocsim.equilibrium.multisector_core import Calibration, Equilibrium, calibrate, solve_changes
from blocsim.equilibrium.multisector_inputs import multisector_problem, numeraire_index
from blocsim.equilibrium.multisector_tables import (
    bloc_table,
    country_table,
    first_order_inputs,
    flows_frame,
    member_mask,
    partner_table,
)
from blocsim.equilibrium.options import SolverOptions, check_choice
from blocsim.equilibrium.welfare_decomposition import WELFARE_COMPONENTS, component_column
from blocsim.errors import DataValidationError

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
        ``tariff_revenue_change`` (received after - received before),
        ``pool_contribution_before/after`` (paid into the duty pool), ``income_*``,
        ``exports_*``, ``imports_*``, ``deficit_*``; remittances (with ``remittances=``; zero
        without): ``remittances_received_before/after``, ``remittances_sent_before/after``,
        ``remittances_net_change`` (the change of net transfers received, in income) and
        ``migrants_pct`` (change of the country's migrant workers abroad, percent).
    bloc_effects : pandas.DataFrame or None
        For each member of ``bloc`` and each sector (and ``sector="all"``): intra-bloc,
        extra-bloc and domestic purchases before/after, ``income_effect``,
        ``trade_creation``, ``trade_diversion`` (definitions in
        :mod:`blocsim.equilibrium.multisector_tables`), ``intra_pct``, ``extra_pct``.
    partner_groups : pandas.DataFrame
        Exports and imports of each country by partner group, baseline/counterfactual/pct.
    diagnostics : dict
        The common keys (:mod:`blocsim.equilibrium.diagnostics`): ``converged`` (True only
        when both the full and the conditional equilibrium hold and every reported number is
        finite), ``iterations``, ``residual`` (largest equilibrium residual recomputed after
        the solve: value-added market clearing, the spending identity, goods-market and
        purchase adding-up of the full equilibrium; market clearing of the conditional one;
        ``max_residual`` is the same number), ``method``, ``parts`` (``"full"``,
        ``"conditional"``), ``failed``, ``message``; plus ``full_converged``,
        ``full_residual``, ``conditional_converged`` (when False, e.g. a ban that leaves the
        conditional problem without a solution, the ``*_cond_pct`` columns are NaN and
        ``converged`` is False; the full-equilibrium columns stay valid),
        ``conditional_iterations``, ``conditional_residual``, ``closure``, ``numeraire``,
        ``seconds``.
    country_order, sector_order : tuple of str
        Order of the arrays below.
    flows_baseline, flows_counterfactual : ndarray, shape (S, N, N)
        ``[sector, exporter, importer]`` flows before tariffs.
    first_order : FirstOrderInputs or None
        What :meth:`first_order_welfare` needs besides the flows (baseline tariffs, unit-cost
        changes, baseline income).

    Notes
    -----
    ``countries`` also holds the exact welfare decomposition, ``welfare_from_<term>_pct`` for
    every term of :data:`blocsim.equilibrium.welfare_decomposition.WELFARE_COMPONENTS` (they
    sum to ``welfare_pct``; :mod:`blocsim.equilibrium.welfare_decomposition`), and the
    first-order terms of Caliendo and Parro (2015), ``welfare_tot_pct`` and ``welfare_vot_pct``
    (not part of that sum; by partner and sector with :meth:`first_order_welfare`).
    """

    countries: pd.DataFrame
    bloc_effects: pd.DataFrame | None
    partner_groups: pd.DataFrame
    diagnostics: dict[str, Any]
    country_order: tuple[str, ...]
    sector_order: tuple[str, ...]
    flows_baseline: NDArray[np.float64] = field(repr=False)
    flows_counterfactual: NDArray[np.float64] = field(repr=False)
    first_order: FirstOrderInputs | None = field(default=None, repr=False)

    def first_order_welfare(self, by: By = "partner") -> pd.DataFrame:
        """Caliendo-Parro (2015) first-order terms ``welfare_tot_pct`` and ``welfare_vot_pct``
        (percentage points of baseline income) per country and ``by`` (``"country"``,
        ``"partner"``, ``"sector"`` or ``"partner_sector"``); the rows of a country sum to its
        columns in :attr:`countries` (:func:`blocsim.equilibrium.cp_decomposition.first_order_table`)."""
        if self.first_order is None:
            raise DataValidationError(
                "this MultiSectorResult was built without its first-order inputs; allowed: a result of "
                "solve_multisector. Fix: solve again with blocsim.solve_multisector."
            )
        return first_order_table(self.first_order, self.country_order, self.sector_order,
                                 self.flows_baseline, self.flows_counterfactual, by=by)

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
    remittances: pd.DataFrame | None = None,
    entry_costs: pd.DataFrame | None = None,
    migration_elasticity: float | None = None,
    bloc: Iterable[str] | None = None,
    partner_groups: Mapping[str, str] | None = None,
    exporter: str = "exporter",
    importer: str = "importer",
    sector: str = "sector",
    flow: str = "trade",
    numeraire: str | None = None,
    options: SolverOptions | None = None,
    income_transfers: pd.DataFrame | None = None,
    collection_efficiency: Mapping[str, float] | pd.DataFrame | None = None,
    deficit_targets: Mapping[str, float] | None = None,
    world_prices: Mapping[str, float] | None = None,
) -> MultiSectorResult:
    """Solve a multi-sector counterfactual with tariffs in changes (exact hat algebra).

    Parameters
    ----------
    baseline_df : pandas.DataFrame
        Columns ``exporter, importer, sector, trade``: baseline flows valued before tariffs
        (USD millions), domestic flows included; missing rows are zero flows.
    theta : mapping sector -> float, or float
        Trade elasticity of each sector (> 0), e.g.
        ``blocsim.data.get_elasticities("caliendo_parro_2015_eaeu")``.
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
    remittances : pandas.DataFrame, optional
        Columns ``origin, host, remittances`` (USD millions a year, >= 0) and optionally
        ``migrants`` (persons): migrant workers from ``origin`` in ``host`` and what they send
        home (:mod:`blocsim.equilibrium.labour`). Remittances are a transfer in national income
        that follows the host's wage and the migrant stock; the part of each deficit they finance
        follows the senders, the rest the ``closure``. None: no labour channel.
    entry_costs : pandas.DataFrame, optional
        Columns ``origin, host, entry_cost_before, entry_cost_after``: the cost of a work permit
        for a migrant from ``origin`` in ``host``, a fraction of earnings (0 = free movement of
        labour; pairs not listed: 0). Only with ``remittances``.
    migration_elasticity : float, optional
        Elasticity (>= 0) of migrant stocks to the host/origin real-wage ratio and to
        ``1 + entry cost`` (default :data:`blocsim.equilibrium.labour.MIGRATION_ELASTICITY`,
        0.3). Only with ``remittances``.
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
    income_transfers : pandas.DataFrame, optional
        Columns ``exporter, importer, sector, country, [share_before], share_after``: ``country``
        earns the share (fraction in [0, 1)) of the flow ``exporter -> importer`` (valued before
        tariffs) and the exporter pays it, e.g. re-export rents
        (:attr:`blocsim.shock.Shock.income_transfers`; :mod:`blocsim.equilibrium.income_transfers`).
        Reported as ``income_transfers_before``/``income_transfers_after`` (net, USD millions).
    collection_efficiency : mapping ISO3 -> float, or pandas.DataFrame, optional
        Fraction in (0, 1] of its statutory duties each pool member pays into the duty pool
        (a DataFrame: columns ``country, efficiency``; unlisted countries: 1; the same before
        and after). The uncollected share stays in the member's income (private rents of its
        importers, :mod:`blocsim.equilibrium.duty_pool`), so it matters only through the pool.
        Reported as ``pool_contribution_before/after``.
    deficit_targets : mapping ISO3 -> float, optional
        Capital-flow shocks: the counterfactual trade deficit (imports minus exports before
        tariffs) of each listed country as a fraction of its counterfactual value added
        (negative: a surplus; in [-0.5, 0.5]); the other countries take the counterpart in
        proportion to their value added (:mod:`blocsim.equilibrium.capital_flows`). The change
        shows in ``welfare_from_deficit_closure_pct``.
    world_prices : mapping sector -> float, optional
        World price shocks: sector -> fractional change of its world price (> -1). In the short
        run the quantities traded stay put, so each country gains ``change`` times its net
        exports of the sector (counterfactual flows), an income transfer from net exporters to
        net importers that sums to zero (:mod:`blocsim.equilibrium.world_prices`); unit costs
        and flows are the model's. It shows in ``welfare_from_terms_of_trade_pct``.

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
        duty_pool_after=duty_pool_after, productivity=productivity, remittances=remittances,
        entry_costs=entry_costs, migration_elasticity=migration_elasticity, names=(exporter, importer, sector, flow),
        income_transfers=income_transfers, collection_efficiency=collection_efficiency,
        deficit_targets=deficit_targets, world_prices=world_prices,
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
        unknown = sorted(set(groups) - set(countries))
        if unknown:
            raise DataValidationError(
                f"argument 'partner_groups': {unknown[:10]!r} are not countries of the baseline data, so their "
                "groups would have no effect; allowed: ISO3 codes of the baseline. Fix: drop them."
            )
    countries_table = country_table(cal, eq, cond, new_flows).merge(
        transfer_table(problem.income_transfers, flows, new_flows, countries), on="country", how="left")
    diagnostics = _diagnostics(cal, eq, cond, new_flows, countries_table, options,
                               closure=closure, numeraire=numeraire, start=start)
    if not diagnostics["full_converged"] or any(f.startswith("non-finite") for f in diagnostics["failed"]):
        raise_unless_allowed(diagnostics, options, model="solve_multisector")
    return MultiSectorResult(
        countries=countries_table,
        bloc_effects=None if members is None else bloc_table(countries, sectors, members, flows, new_flows),
        partner_groups=partner_table(countries, groups, flows, new_flows),
        diagnostics=diagnostics,
        country_order=countries,
        sector_order=sectors,
        flows_baseline=flows,
        flows_counterfactual=new_flows,
        first_order=first_order_inputs(cal, eq),
    )


_FINITE_COLUMNS = ("welfare_pct", "real_gdp_pct", "real_wage_pct", "price_index_pct", "factory_price_pct", "omr_pct",
                   "imr_pct", "tariff_revenue_collected_after", "tariff_revenue_received_after",
                   "tariff_revenue_change", "income_counterfactual", "exports_counterfactual",
                   "imports_counterfactual", "deficit_counterfactual", "welfare_tot_pct", "welfare_vot_pct",
                   "remittances_received_after", "remittances_sent_after", "migrants_pct",
                   *(component_column(name) for name in WELFARE_COMPONENTS))
"""Country columns that are finite in every sound result (percent changes of trade are NaN where
the baseline is zero, the conditional ones also when the conditional part failed)."""


def _relative(gap: np.ndarray, scale: np.ndarray, mask: np.ndarray) -> float:
    """Largest ``|gap| / scale`` over ``mask`` (0 when the mask is empty)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(gap) / scale
    return finite_residual(ratio[mask]) if mask.any() else 0.0


def full_residual(cal: Calibration, eq: Equilibrium, new_flows: np.ndarray) -> float:
    """Equilibrium residual of the full solution, recomputed from its levels (dimensionless).

    The largest relative error of: value-added market clearing
    (``sum_s v_is Y'_is = w_i VA_i``), the spending identity
    (``X'_js = alpha_js I'_j + sum_k gamma_jsk Y'_jk``, relative to baseline spending),
    goods-market adding-up (``Y'_is = sum_j X'_ijs / (1 + tau'_ijs)``) and purchases
    (``sum_i X'_ijs = X'_js``). ``inf`` when a value is not finite.
    """
    p = cal.problem
    va_supply = eq.wage_hat * cal.value_added
    va_demand = np.sum(cal.va_share * eq.output, axis=0)
    intermediate = 0.0 if p.input_share is None else np.einsum("jsk,kj->sj", p.input_share, eq.output)
    spend_target = cal.alpha * eq.income[None, :] + intermediate
    gross = new_flows if p.tariff_after is None else new_flows * (1.0 + p.tariff_after)
    sold = new_flows.sum(axis=2)
    return max(
        _relative(va_demand - va_supply, va_supply, np.ones(va_supply.shape, dtype=bool)),
        _relative(eq.spending - spend_target, cal.spending, cal.spend_mask),
        _relative(sold - eq.output, eq.output, cal.output > 0),
        _relative(gross.sum(axis=1) - eq.spending, eq.spending, cal.spend_mask),
    )


def _nonfinite(table: pd.DataFrame, conditional_ok: bool) -> list[str]:
    found = nonfinite_columns(table, _FINITE_COLUMNS)
    traded = {"exports_pct": "exports_baseline", "imports_pct": "imports_baseline"}
    if conditional_ok:
        traded.update({"exports_cond_pct": "exports_baseline", "imports_cond_pct": "imports_baseline"})
    for column, base in traded.items():
        found += nonfinite_columns(table[table[base] > 0], [column])
    return found


def _diagnostics(cal: Calibration, eq: Equilibrium, cond: Conditional, new_flows: np.ndarray,
                 table: pd.DataFrame, options: SolverOptions | None, *, closure: str, numeraire: str | None,
                 start: float) -> dict[str, Any]:
    """Common diagnostics of a multi-sector solve (see :class:`MultiSectorResult`)."""
    full_res = full_residual(cal, eq, new_flows)
    cond_res = finite_residual(cond.record.max_residual)
    full = Part("full", bool(eq.record.converged) and within_tolerance(full_res, options),
                int(eq.record.iterations), full_res, eq.record.method)
    conditional = Part("conditional", bool(cond.record.converged) and within_tolerance(cond_res, options),
                       int(cond.record.iterations), cond_res, cond.record.method)
    note = ("The conditional problem (sectoral output and purchases at baseline) has no solution under this "
            "shock or did not converge: exports_cond_pct and imports_cond_pct are NaN; the full-equilibrium "
            "columns are valid" if not conditional.converged else "")
    return summarise(
        [full, conditional], method=f"multisector-{eq.record.method}",
        nonfinite=_nonfinite(table, conditional.converged), note=note,
        full_converged=full.converged, full_residual=full_res,
        conditional_converged=conditional.converged, conditional_iterations=conditional.iterations,
        conditional_residual=cond_res, conditional_max_residual=cond_res,
        closure=closure, numeraire=numeraire if numeraire is not None else "world value added",
        seconds=time.perf_counter() - start,
    )
