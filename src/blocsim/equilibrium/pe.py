"""Tariff-line partial equilibrium in the style of WITS-SMART (Jammes & Olarreaga 2005).

One market per (importer, HS6 product). Imports from different sources are imperfect
substitutes (Armington, substitution elasticity ``sigma``); the CES composite import faces a
constant-elasticity import demand (elasticity ``epsilon < 0``); each source supplies with
export-supply elasticity ``eta`` (infinite by default: world prices fixed). Quasi-linear
utility, so no income effects: consumer surplus is exact.

Two solution methods share one input path and one result layout:

``method="exact"`` (default)
    Solves the CES model exactly for any size of change, including bans (prohibitive
    tariffs or a cost factor of 0). In changes (hats: after / before), with domestic-price
    expenditure shares ``w_c = (1 + t_c) M_c / sum_k (1 + t_k) M_k`` and the source's price
    power ``z_c = f_c (tau_c p*_c)^(1 - sigma)`` (``tau_c = (1 + t'_c) / (1 + t_c)``, ``f_c`` the
    cost factor, ``p*_c`` the world-price change)::

        P^(1 - sigma) = sum_c w_c z_c                      (CES import price index)
        m_c          = P^(epsilon + sigma) z_c^(sigma / (sigma - 1))   (quantity change)
        p*_c         = m_c^(1 / eta)                       (export supply)
        dCS          = -E (P^(1 + epsilon) - 1) / (1 + epsilon)    (E = sum (1 + t) M)

    With finite ``eta`` the world prices are a fixed point, found by a Newton
    iteration (exact Jacobian by
    Sherman-Morrison, backtracking line search) on all rows at once. Consumer surplus is split by partner along the straight
    path in ``z`` (Roy's identity), which gives each source the share ``w_c dz_c / dz`` of
    the total; trade creation is the change in the market's imports split by the same
    shares, trade diversion the rest (it sums to zero over partners, as in SMART).

``method="smart"``
    The first-order SMART / Laird-Yeats (1986) formulas, with ``dp_c = tau_c f_c^(1/(1-sigma)) - 1``
    and world-price import shares ``s_c``::

        TC_c = epsilon M_c dp_c / (1 - epsilon / eta)
        TD_c = -sigma M_c (dp_c - sum_k s_k dp_k) / (1 + sigma / eta)
        price effect_c = (TC_c + TD_c) / eta
        dCS_c = -(p'_c - p_c) (M_c + (TC_c + TD_c) / 2)    (rectangle + triangle)

    SMART credits all creation to the source whose tariff changed; the exact CES model
    spreads it over all sources through the composite quantity, so per-partner diversion
    differs at first order by the factor ``(sigma + epsilon) / sigma`` when tariffs differ
    across sources (totals per market agree to first order). Bans cannot be linearised.

References
----------
Jammes, O. and Olarreaga, M. (2005), "Explaining SMART and GSIM", World Bank.
Laird, S. and Yeats, A. (1986), "The UNCTAD Trade Policy Simulation Model", UNCTAD DP 19.
Kee, H. L., Nicita, A. and Olarreaga, M. (2008), "Import Demand Elasticities and Trade
Distortions", Review of Economics and Statistics 90(4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd

from blocsim.equilibrium.diagnostics import Part, finite_residual, nonfinite_columns, summarise
from blocsim.equilibrium.pe_inputs import ElasticityInput, PELines, build_lines
from blocsim.errors import ConvergenceError, DataValidationError

PEMethod = Literal["exact", "smart"]
_SUM_COLUMNS = [
    "trade_before", "trade_after", "trade_creation", "trade_diversion", "price_effect", "trade_total_effect",
    "tariff_revenue_before", "tariff_revenue_after", "tariff_revenue_change", "consumer_surplus_change",
    "welfare_change", "exporter_surplus_change",
]


@dataclass(frozen=True)
class PEResult:
    """Result of :func:`solve_pe`; all money columns in USD millions, imports at world prices.

    Attributes
    ----------
    by_partner : DataFrame
        One row per (importer, exporter, product): ``importer, exporter, product, trade_before,
        trade_after, trade_pct, tariff_before, tariff_after, cost_factor, trade_creation,
        trade_diversion, price_effect, trade_total_effect, tariff_revenue_before,
        tariff_revenue_after, tariff_revenue_change, consumer_surplus_change, welfare_change,
        exporter_surplus_change, world_price_pct``.
    by_product : DataFrame
        One row per (importer, product): sums of the money columns, ``trade_pct``,
        ``price_index_pct`` (CES import price, exact method) and the elasticities used.
    summary : DataFrame
        One row per importer: sums over products.
    parameters : dict
        Method and where each elasticity came from.
    diagnostics : dict
        The common keys (:mod:`blocsim.equilibrium.diagnostics`): ``converged``,
        ``iterations``, ``residual`` (the world-price fixed-point residual
        ``max |log p*_c - log m_c / eta_c|`` recomputed at the solution; 0 when world prices are
        fixed or the method is ``"smart"``, whose formulas are closed form; ``max_residual`` is
        the same number), ``method``, ``parts``, ``failed``, ``message``.
    """

    by_partner: pd.DataFrame
    by_product: pd.DataFrame
    summary: pd.DataFrame
    parameters: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The per-partner table (a copy)."""
        return self.by_partner.copy()


def _gsum(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum ``values`` (R,) within groups -> (G,)."""
    return np.bincount(group, weights=values, minlength=n_groups)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with 0 where ``den`` is 0."""
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _path_integral(d: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``((1 + d)^b - 1) / (b d)`` with its limits at ``d -> 0`` (1) and ``b -> 0`` (log1p(d) / d)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log1p = np.log1p(d)
        small_b = np.abs(b) < 1e-12
        num = np.where(small_b, log1p, np.expm1(b * log1p))
        den = np.where(small_b, d, b * d)
        out = np.where(np.abs(d) < 1e-14, 1.0, num / den)
    return out


@dataclass(frozen=True)
class _Solution:
    """Per-row changes shared by both methods (arrays of shape (R,))."""

    quantity_change: np.ndarray  # M (m - 1): change at baseline world prices
    creation: np.ndarray
    world_price: np.ndarray  # p*' / p*
    consumer_surplus: np.ndarray
    price_index: np.ndarray  # (G,) CES price-index change (nan for smart)
    iterations: int
    residual: float


def _exact(lines: PELines, tol: float, max_iter: int) -> _Solution:
    """Exact CES solution for all markets at once (module notes); Newton on world prices."""
    g, n = lines.group, lines.n_groups
    m0, sigma, eps, eta = lines.trade, lines.substitution, lines.import_demand, lines.export_supply
    spend0 = (1.0 + lines.tariff_before) * m0
    total0 = _gsum(spend0, g, n)
    w = _ratio(spend0, total0[g])
    with np.errstate(divide="ignore", over="ignore"):
        tau_pow = np.where(np.isinf(lines.tariff_after), 0.0,
                           ((1.0 + lines.tariff_after) / (1.0 + lines.tariff_before)) ** (1.0 - sigma))
    base_z = lines.cost_factor * tau_pow  # z at fixed world prices
    banned = base_z == 0.0
    free = (~banned) & (m0 > 0) & np.isfinite(eta)
    log_pstar = np.zeros_like(m0)

    def evaluate(log_ps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = base_z * np.exp((1.0 - sigma) * log_ps)
        agg = np.where(total0 > 0, _gsum(w * z, g, n), 1.0)  # P^(1-sigma) per market (1 if no trade)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            m_hat = np.where(banned, 0.0, agg[g] ** ((eps + sigma) / (1.0 - sigma)) * z ** (sigma / (sigma - 1.0)))
        return z, agg, m_hat

    def supply_gap(log_ps: np.ndarray, m_hat: np.ndarray) -> np.ndarray:
        """Export-supply residual ``log p* - log(m) / eta`` on the free rows (R_free,)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return log_ps[free] - np.log(m_hat[free]) / eta[free]

    z, agg, m_hat = evaluate(log_pstar)
    iterations, residual = 0, 0.0
    if free.any():
        diag = 1.0 + sigma[free] / eta[free]  # own-price slope of the residual
        cross = (eps[free] + sigma[free]) / eta[free]  # slope through the market's price index
        gap = supply_gap(log_pstar, m_hat)
        for iterations in range(1, max_iter + 1):
            residual = float(np.max(np.abs(gap)))
            if residual < tol:
                break
            step = _newton_step(gap, diag, cross, _ratio(w * z, agg[g])[free], g[free], n)
            merit = float(np.sum(gap**2))
            for _ in range(60):  # backtracking line search on the sum of squared residuals
                trial = log_pstar.copy()
                trial[free] -= step
                trial_z, trial_agg, trial_m = evaluate(trial)
                trial_gap = supply_gap(trial, trial_m)
                trial_merit = float(np.sum(trial_gap**2))
                if np.isfinite(trial_merit) and trial_merit <= merit:
                    break
                step = step / 2.0
            log_pstar, z, agg, m_hat, gap = trial, trial_z, trial_agg, trial_m, trial_gap
        else:
            raise ConvergenceError("solve_pe: world prices with finite export supply did not converge",
                                   residual=residual, iterations=max_iter, method="newton")
    if free.any():  # the residual at the returned world prices
        residual = float(np.max(np.abs(supply_gap(log_pstar, m_hat))))
    pstar = np.exp(log_pstar)
    dq = m0 * (m_hat - 1.0)
    d = agg - 1.0
    share = _ratio(w * (z - 1.0), d[g])
    creation = _gsum(dq, g, n)[g] * share
    b = (1.0 + eps) / (1.0 - sigma)
    cs = -spend0 * (z - 1.0) / (1.0 - sigma) * _path_integral(d[g], b)
    with np.errstate(divide="ignore"):
        price_index = np.where(agg > 0, agg ** (1.0 / (1.0 - _first(sigma, g, n))), np.inf)
    return _Solution(dq, creation, pstar, cs, price_index, iterations, residual)


def _newton_step(gap: np.ndarray, diag: np.ndarray, cross: np.ndarray, share: np.ndarray,
                 group: np.ndarray, n_groups: int) -> np.ndarray:
    """Newton step ``J^-1 gap`` for the world-price residuals of all markets at once.

    Within a market the Jacobian of ``log p*_r - log(m_r) / eta_r`` is ``diag(D) - u s'``
    (``D_r = 1 + sigma / eta_r``, ``u_r = (epsilon + sigma) / eta_r``, ``s_k`` the source's share
    of the CES price index), so Sherman-Morrison inverts it in O(R). The denominator
    ``1 - sum_k s_k u_k / D_k`` is positive because ``epsilon < 0`` makes each ``u_k / D_k < 1``.
    All arrays are over the free rows (R_free,); ``group`` maps them to their market.
    """
    scaled_gap = gap / diag
    scaled_cross = cross / diag
    along = _gsum(share * scaled_gap, group, n_groups)
    denom = 1.0 - _gsum(share * scaled_cross, group, n_groups)
    return scaled_gap + scaled_cross * (along / denom)[group]


def _first(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """One value per group (the values are constant within groups)."""
    out = np.full(n_groups, np.nan)
    out[group] = values
    return out


def _smart(lines: PELines) -> _Solution:
    """SMART / Laird-Yeats first-order formulas (module notes)."""
    g, n = lines.group, lines.n_groups
    m0, sigma, eps, eta = lines.trade, lines.substitution, lines.import_demand, lines.export_supply
    if np.isinf(lines.tariff_after).any() or (lines.cost_factor == 0).any():
        raise DataValidationError(
            "solve_pe argument 'method', field 'method': got 'smart' with a ban (tariff_after=inf or "
            "cost factor 0); allowed: 'exact' for bans. Fix: use method='exact' (the SMART formulas are "
            "first-order and cannot represent a prohibitive barrier)"
        )
    kappa = lines.cost_factor ** (1.0 / (1.0 - sigma))
    dp = (1.0 + lines.tariff_after) / (1.0 + lines.tariff_before) * kappa - 1.0
    s = _ratio(m0, _gsum(m0, g, n)[g])
    avg = _gsum(s * dp, g, n)[g]
    inv_eta = np.where(np.isinf(eta), 0.0, 1.0 / eta)
    creation = eps * m0 * dp / (1.0 - eps * inv_eta)
    diversion = -sigma * m0 * (dp - avg) / (1.0 + sigma * inv_eta)
    dq = creation + diversion
    dlog_pstar = _ratio(dq, m0) * inv_eta
    price_before = 1.0 + lines.tariff_before
    price_after = (1.0 + lines.tariff_after) * kappa * (1.0 + dlog_pstar)
    cs = -(price_after - price_before) * (m0 + 0.5 * dq)
    return _Solution(dq, creation, 1.0 + dlog_pstar, cs, np.full(n, np.nan), 0, 0.0)


def solve_pe(
    imports: pd.DataFrame,
    *,
    tariffs: pd.DataFrame | None = None,
    shock: Any = None,
    cost_factor: pd.DataFrame | None = None,
    import_demand: ElasticityInput = None,
    substitution: ElasticityInput = None,
    export_supply: ElasticityInput = None,
    method: PEMethod = "exact",
    concordance: pd.DataFrame | Mapping[str, str] | None = None,
    domestic: Literal["drop", "source"] = "drop",
    importer: str = "importer",
    exporter: str = "exporter",
    product: str = "product",
    flow: str = "trade",
    tol: float | None = None,
    max_iter: int | None = None,
) -> PEResult:
    """Tariff-line partial equilibrium (WITS-SMART style) for every (importer, product) market.

    Parameters
    ----------
    imports : DataFrame
        Baseline imports, one row per (importer, exporter, product), value at world prices
        (before tariffs) in USD millions in column ``flow``. May carry ``tariff_before`` and
        ``tariff_after`` (fractions) instead of ``tariffs=``/``shock=``.
    tariffs : DataFrame, optional
        ``exporter, importer, product|sector, tariff_before, tariff_after`` (fractions;
        ``tariff_after = inf`` is prohibitive). Lines without a row keep a zero tariff.
    shock : Shock, optional
        A policy-layer shock (``blocsim.shock.compile_shock``): its ``.tariffs`` and
        ``.cost_factor`` drive the model, exactly as they drive the GE models.
    cost_factor : DataFrame, optional
        ``exporter, importer, sector|product, factor``: factor on the source's CES price term
        ``p^(1 - sigma)`` (the GE shock convention with theta = sigma - 1); 0 is a ban.
    import_demand, substitution, export_supply : float, mapping/Series by product, or DataFrame
        Elasticities: scalar, per product, or a table with ``[importer,] product, <name>``.
        Defaults: import demand -1.0 (fallback; see :mod:`blocsim.equilibrium.pe_inputs`),
        substitution 1.5 and export supply infinite (SMART defaults).
    method : {"exact", "smart"}
        Exact CES solution, or SMART's first-order formulas (see the module notes).
    concordance : DataFrame or mapping, optional
        ``product -> sector`` used when tariffs/shock are given by sector (e.g. HS6 lines
        under the broad sectors of the bundled dataset).
    domestic : {"drop", "source"}
        Drop domestic rows (exporter == importer, SMART's imports-only market) or keep the
        domestic variety as one more source in the Armington nest.
    importer, exporter, product, flow : str
        Column names in ``imports``.
    tol, max_iter : float, int, optional
        Convergence tolerance (max |log world-price residual|, default 1e-12) and iteration cap
        (default 500) of the world-price iteration, which runs only with ``method="exact"`` and
        a finite ``export_supply``; passing either otherwise is an error (it would have no effect).

    Returns
    -------
    PEResult
        ``by_partner``, ``by_product``, ``summary`` tables, ``parameters``, ``diagnostics``.

    Raises
    ------
    DataValidationError
        Bad columns, negative flows or tariffs, elasticities of the wrong sign, a ban with
        ``method="smart"``, a market that loses every source, an argument without effect.
    ConvergenceError
        World prices with finite export supply did not converge, or a result is not finite.
    """
    if method not in ("exact", "smart"):
        raise DataValidationError(
            f"solve_pe argument 'method', field 'method': got {method!r}; allowed: 'exact', 'smart'. "
            "Fix: use method='exact'"
        )
    lines = build_lines(
        imports, tariffs=tariffs, shock=shock, cost_factor=cost_factor, import_demand=import_demand,
        substitution=substitution, export_supply=export_supply, concordance=concordance, domestic=domestic,
        importer=importer, exporter=exporter, product=product, flow=flow,
    )
    iterates = method == "exact" and bool(np.any(np.isfinite(lines.export_supply)))
    for name, value in (("tol", tol), ("max_iter", max_iter)):
        if value is not None and not iterates:
            raise DataValidationError(
                f"solve_pe argument {name!r}: got {value!r}, but nothing iterates (method={method!r}, export supply "
                "infinite everywhere), so it would have no effect. Fix: drop it, or give a finite export_supply "
                "with method='exact'"
            )
    tolerance = 1e-12 if tol is None else tol
    if not (isinstance(tolerance, (int, float)) and 0.0 < float(tolerance) < 1.0):
        raise DataValidationError(f"solve_pe argument 'tol': got {tol!r}; allowed: a number in (0, 1), e.g. 1e-12")
    cap = 500 if max_iter is None else max_iter
    if not (isinstance(cap, int) and not isinstance(cap, bool) and cap >= 1):
        raise DataValidationError(f"solve_pe argument 'max_iter': got {max_iter!r}; allowed: an int >= 1")
    _check_markets_keep_a_source(lines)
    sol = _exact(lines, float(tolerance), cap) if method == "exact" else _smart(lines)
    return _assemble(lines, sol, method, float(tolerance))


def _check_markets_keep_a_source(lines: PELines) -> None:
    """Every (importer, product) market with imports must keep one source open (else its price is infinite)."""
    open_source = (lines.cost_factor > 0) & np.isfinite(lines.tariff_after) & (lines.trade > 0)
    traded = _gsum(lines.trade, lines.group, lines.n_groups) > 0
    closed = traded & (_gsum(open_source.astype(float), lines.group, lines.n_groups) == 0)
    if closed.any():
        rows = lines.frame.groupby(lines.group).first().loc[np.flatnonzero(closed)[:5], ["importer", "product"]]
        raise DataValidationError(
            "solve_pe arguments 'tariffs'/'cost_factor': markets lose every source (all banned: tariff_after = inf "
            f"or cost factor 0), so their import price is infinite: {rows.to_dict('records')}. Fix: keep one "
            "source open, or use domestic='source' with domestic rows so home supply remains"
        )


def _assemble(lines: PELines, sol: _Solution, method: str, tol: float) -> PEResult:
    g, n, m0 = lines.group, lines.n_groups, lines.trade
    if method == "exact":
        trade_after = (m0 + sol.quantity_change) * sol.world_price
    else:  # first order: price effect = M dlog p* = (TC + TD) / eta
        trade_after = m0 + sol.quantity_change + m0 * (sol.world_price - 1.0)
    price_effect = trade_after - m0 - sol.quantity_change
    with np.errstate(invalid="ignore"):
        revenue_after = np.where(trade_after > 0, lines.tariff_after * trade_after, 0.0)
    revenue_before = lines.tariff_before * m0
    eta = lines.export_supply
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "exact":
            exporter_surplus = np.where(np.isinf(eta), 0.0, m0 * (sol.world_price ** (1.0 + eta) - 1.0) / (1.0 + eta))
        else:
            exporter_surplus = (sol.world_price - 1.0) * (m0 + 0.5 * sol.quantity_change)
    frame = lines.frame.copy()
    frame["trade_before"] = m0
    frame["trade_after"] = trade_after
    frame["trade_pct"] = _pct(trade_after, m0)
    frame["tariff_before"] = lines.tariff_before
    frame["tariff_after"] = lines.tariff_after
    frame["cost_factor"] = lines.cost_factor
    frame["trade_creation"] = sol.creation
    frame["trade_diversion"] = sol.quantity_change - sol.creation
    frame["price_effect"] = price_effect
    frame["trade_total_effect"] = trade_after - m0
    frame["tariff_revenue_before"] = revenue_before
    frame["tariff_revenue_after"] = revenue_after
    frame["tariff_revenue_change"] = revenue_after - revenue_before
    frame["consumer_surplus_change"] = sol.consumer_surplus
    frame["welfare_change"] = sol.consumer_surplus + (revenue_after - revenue_before)
    frame["exporter_surplus_change"] = exporter_surplus
    frame["world_price_pct"] = (sol.world_price - 1.0) * 100.0

    order = pd.factorize(lines.frame["importer"] + "\x1f" + lines.frame["product"], sort=True)[1]
    by_product = pd.DataFrame({
        "importer": [k.split("\x1f")[0] for k in order],
        "product": [k.split("\x1f")[1] for k in order],
    })
    for col in _SUM_COLUMNS:
        by_product[col] = _gsum(frame[col].to_numpy(float), g, n)
    by_product["trade_pct"] = _pct(by_product["trade_after"].to_numpy(), by_product["trade_before"].to_numpy())
    by_product["price_index_pct"] = (sol.price_index - 1.0) * 100.0
    by_product["import_demand"] = _first(lines.import_demand, g, n)
    by_product["substitution"] = _first(lines.substitution, g, n)
    summary = by_product.groupby("importer", as_index=False, sort=True)[_SUM_COLUMNS].sum()
    summary["trade_pct"] = _pct(summary["trade_after"].to_numpy(), summary["trade_before"].to_numpy())
    residual = finite_residual(sol.residual)
    part = Part("world prices" if method == "exact" else "closed form", residual <= tol, sol.iterations, residual,
                "newton" if method == "exact" else "smart")
    labelled = frame.assign(country=frame["exporter"] + "->" + frame["importer"] + " " + frame["product"])
    nonfinite = nonfinite_columns(labelled, _SUM_COLUMNS)
    diagnostics = summarise([part], method=f"pe-{method}", nonfinite=nonfinite)
    if not diagnostics["converged"]:
        raise ConvergenceError(f"solve_pe: {diagnostics['message']}", residual=float(diagnostics["residual"]),
                               iterations=int(diagnostics["iterations"]), method=str(diagnostics["method"]))
    return PEResult(frame, by_product, summary, {"method": method, **lines.parameters}, diagnostics)


def _pct(after: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Percent change, NaN where the baseline is zero."""
    out = np.full(np.shape(before), np.nan)
    np.divide((after - before) * 100.0, before, out=out, where=before != 0)
    return out
