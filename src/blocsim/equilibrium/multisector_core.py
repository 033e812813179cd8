r"""Array core of the multi-sector GE with tariffs (Caliendo & Parro 2015) in changes.

Arrays are indexed ``[sector s, exporter i, importer j]`` (shape (S, N, N)) and
``[sector, country]`` (shape (S, N)). Hats (ratios counterfactual/baseline) of wages
``w_i``, sectoral price indices ``P_js``, unit costs ``c_is``; primes are counterfactual
levels. With baseline import shares :math:`\pi_{ijs}` of spending *including* tariffs,
tariff factors :math:`\hat\kappa^{-\theta}_{ijs} = ((1+\tau'_{ijs})/(1+\tau_{ijs}))^{-\theta_s}
f_{ijs}` (``f`` = non-tariff cost factor on :math:`\kappa^{-\theta}`) and productivity
factors :math:`A_{is}`:

.. math::
    \hat c_{is} = \hat w_i^{\gamma_{is}} \prod_k \hat P_{ik}^{\gamma_{iks}} / A_{is},\qquad
    \hat P_{js}^{-\theta_s} = \sum_i \pi_{ijs}\hat\kappa^{-\theta}_{ijs}\hat c_{is}^{-\theta_s},\qquad
    \pi'_{ijs} = \pi_{ijs}\hat\kappa^{-\theta}_{ijs}(\hat c_{is}/\hat P_{js})^{-\theta_s}

    Y'_{is} = \sum_j \pi'_{ijs} X'_{js} / (1+\tau'_{ijs}),\qquad
    R'_j = \sum_{s,i} \tau'_{ijs}\pi'_{ijs} X'_{js}/(1+\tau'_{ijs}),\qquad
    X'_{js} = \alpha_{js} I'_j + \sum_k \gamma_{jsk} Y'_{jk}

    I'_j = \hat w_j VA_j + \tilde R'_j + \tilde D'_j,\qquad
    \hat w_i VA_i = \sum_s \gamma_{is} Y'_{is}

``X`` is spending including tariffs, ``Y`` gross output valued before tariffs, ``VA`` value
added, :math:`\tilde R` duty revenue *received* (after pooling) and :math:`\tilde D` the part
of the trade deficit not financed by pool transfers. The unknowns ``(log w, log P, X'/X)``
are iterated jointly (three passes over the (S, N, N) arrays per evaluation) with Anderson
acceleration (:func:`blocsim.equilibrium.solvers.solve_fixed_point`, shared with the
one-sector engine). The wage update is the tatonnement
:math:`\log w \mathrel{+}= \lambda_i \log(\text{VA demand}/\text{VA supply})` with
:math:`\lambda_i = 1/(1+\sum_s v_{is}\theta_s)`, ``v`` the sectoral value-added shares (the
one-sector rule :math:`p \leftarrow p (S/pY)^{1/\sigma}` when S = 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from blocsim.equilibrium.duty_pool import redistribute
from blocsim.equilibrium.multisector_inputs import MultiSectorProblem, PoolArrays
from blocsim.equilibrium.options import SolverOptions
from blocsim.equilibrium.solvers import FixedPointResult, StepFunction, solve_fixed_point
from blocsim.errors import ConvergenceError, DataValidationError

FloatArray = NDArray[np.float64]


def _rowvec_matmul(vec: FloatArray, cube: FloatArray) -> FloatArray:
    """``out[s, j] = sum_i vec[s, i] cube[s, i, j]`` for vec (S, N), cube (S, N, N)."""
    return np.matmul(vec[:, None, :], cube)[:, 0, :]


def _matmul_colvec(cube: FloatArray, vec: FloatArray) -> FloatArray:
    """``out[s, i] = sum_j cube[s, i, j] vec[s, j]``."""
    return np.matmul(cube, vec[:, :, None])[:, :, 0]


@dataclass(frozen=True)
class Calibration:
    """Baseline quantities and shock kernels of one counterfactual (see module notes).

    Shapes: (S, N, N) for ``kernel`` (:math:`\\pi\\hat\\kappa^{-\\theta}`) and
    ``kernel_pre`` (the same divided by :math:`1+\\tau'`); (S, N) for ``spending`` (X, incl.
    tariffs), ``output`` (Y), ``alpha``, ``log_prod`` and the masks; (N,) for the rest.
    """

    problem: MultiSectorProblem
    kernel: FloatArray
    kernel_pre: FloatArray
    has_tariff_after: bool
    spending: FloatArray
    output: FloatArray
    alpha: FloatArray
    value_added: FloatArray
    va_share: FloatArray
    deficit_other: FloatArray
    deficit: FloatArray
    revenue_collected: FloatArray
    revenue_received: FloatArray
    income: FloatArray
    log_prod: FloatArray
    step: FloatArray
    spend_mask: NDArray[np.bool_]
    closure: str
    numeraire: int | None


def calibrate(problem: MultiSectorProblem, *, closure: str, numeraire: int | None) -> Calibration:
    """Baseline accounting and shock kernels from a validated problem.

    Raises
    ------
    DataValidationError
        Final demand implied by the IO shares is negative, or a market (importer, sector)
        with positive spending loses every source (e.g. all its suppliers banned).
    """
    p = problem
    x0 = p.flows
    theta = p.theta[:, None, None]
    tau0 = p.tariff_before
    tau1 = p.tariff_after
    # (S, N, N) work in place: one temporary cube besides the two kernels
    kernel = x0 * (1.0 + tau0) if tau0 is not None else x0.copy()  # spending incl. tariffs
    spending = kernel.sum(axis=1)  # (S, N_j)
    output = x0.sum(axis=2)  # (S, N_i)
    with np.errstate(divide="ignore"):
        kernel *= np.where(spending > 0, 1.0 / spending, 0.0)[:, None, :]  # import shares pi
    if tau0 is not None or tau1 is not None:
        ratio = np.add(1.0, tau1) if tau1 is not None else np.ones_like(kernel)
        if tau0 is not None:
            ratio /= 1.0 + tau0
        kernel *= np.power(ratio, -theta, out=ratio)
        del ratio
    if p.cost_factor is not None:
        kernel *= p.cost_factor
    kernel_pre = kernel if tau1 is None else kernel / (1.0 + tau1)
    lost = (spending > 0) & (kernel.sum(axis=1) <= 0)
    if lost.any():
        s, j = np.argwhere(lost)[0]
        raise DataValidationError(
            f"arguments 'shock'/'tariffs': importer {p.countries[j]!r} loses every supplier of "
            f"sector {p.sectors[s]!r} (cost factors 0 or prohibitive tariffs on all of them), so its "
            "price index is infinite. "
            "Fix: keep at least one source (usually the domestic flow) open."
        )
    va_share = p.va_share.T  # (S, N)
    value_added = np.sum(va_share * output, axis=0)
    collected = np.zeros(len(p.countries)) if tau0 is None else np.einsum("sij,sij->j", tau0, x0)
    received = redistribute(collected, *_pool(p.pool_before))
    deficit = x0.sum(axis=(0, 1)) - x0.sum(axis=(0, 2))
    deficit_other = deficit - (received - collected)
    income = value_added + received + deficit_other
    intermediate = (
        np.zeros_like(spending)
        if p.input_share is None
        else np.einsum("jsk,kj->sj", p.input_share, output)
    )
    final = spending - intermediate
    scale = np.maximum(spending.sum(axis=0), 1e-300)
    if np.any(final < -1e-9 * scale) or np.any(income <= 0):
        s, j = np.unravel_index(np.argmin(final / scale), final.shape)
        raise DataValidationError(
            f"argument 'io': intermediate demand of {p.countries[j]!r} for sector {p.sectors[s]!r} "
            f"({intermediate[s, j]:.6g}) exceeds its spending ({spending[s, j]:.6g}), so final demand "
            "would be negative; allowed: input shares consistent with the flows. Fix: lower the "
            "input shares or check the baseline flows."
        )
    alpha = np.maximum(final, 0.0) / income[None, :]
    v = va_share * output / value_added[None, :]
    step = 1.0 / (1.0 + np.sum(v * p.theta[:, None], axis=0))
    log_prod = np.zeros_like(spending) if p.productivity is None else np.log(p.productivity.T)
    return Calibration(
        problem=p,
        kernel=kernel,
        kernel_pre=kernel_pre,
        has_tariff_after=tau1 is not None,
        spending=spending,
        output=output,
        alpha=alpha,
        value_added=value_added,
        va_share=va_share,
        deficit_other=deficit_other,
        deficit=deficit,
        revenue_collected=collected,
        revenue_received=received,
        income=income,
        log_prod=log_prod,
        step=step,
        spend_mask=spending > 0,
        closure=closure,
        numeraire=numeraire,
    )


def _pool(pool: PoolArrays) -> tuple[NDArray[np.bool_] | None, FloatArray | None]:
    return (None, None) if pool is None else pool


@dataclass(frozen=True)
class Equilibrium:
    """Counterfactual equilibrium in changes and levels (baseline currency unit).

    Shapes: (N,) for ``wage_hat``, ``income``, ``revenue_collected``, ``revenue_received``,
    ``deficit_other``; (S, N) for ``log_price_hat`` (sectoral price indices, by importer),
    ``scaled_cost`` (:math:`\\hat c^{-\\theta}` up to a per-sector factor that cancels),
    ``price_term`` (:math:`\\sum_i` kernel x scaled_cost), ``spending`` (X'), ``output`` (Y'),
    ``log_cost_hat`` (:math:`\\log \\hat c`).
    """

    wage_hat: FloatArray
    log_price_hat: FloatArray
    log_cost_hat: FloatArray
    scaled_cost: FloatArray
    price_term: FloatArray
    spending: FloatArray
    output: FloatArray
    income: FloatArray
    revenue_collected: FloatArray
    revenue_received: FloatArray
    deficit_other: FloatArray
    record: FixedPointResult

    def flows(self, cal: Calibration) -> FloatArray:
        """Counterfactual flows before tariffs, shape (S, N, N) (USD millions)."""
        z = np.where(cal.spend_mask, self.spending / self.price_term, 0.0)
        return cal.kernel_pre * self.scaled_cost[:, :, None] * z[:, None, :]


def _evaluate(cal: Calibration, lw: FloatArray, lp: FloatArray | None, xh: FloatArray) -> dict[str, FloatArray]:
    """One evaluation of the equilibrium map at ``(log w, log P, X'/X)``."""
    p = cal.problem
    theta = p.theta[:, None]
    lc = cal.va_share * lw[None, :] - cal.log_prod
    if p.input_share is not None and lp is not None:
        lc = lc + np.matmul(lp.T[:, None, :], p.input_share)[:, 0, :].T  # sum_k G[i,k,s] lp[k,i]
    u = -theta * lc
    shift = u.max(axis=1, keepdims=True)
    cm = np.exp(u - shift)
    term = _rowvec_matmul(cm, cal.kernel)
    term = np.where(cal.spend_mask, term, 1.0)
    lp_new = np.where(cal.spend_mask, -(np.log(term) + shift) / theta, 0.0)
    spend = np.maximum(xh, 0.0) * cal.spending  # accelerated iterates may overshoot below 0
    z = spend / term
    output = cm * _matmul_colvec(cal.kernel_pre, z)
    if cal.has_tariff_after:
        pre = _rowvec_matmul(cm, cal.kernel_pre)
        collected = np.sum(spend * (1.0 - pre / term), axis=0)
    else:
        collected = np.zeros_like(lw)
    received = redistribute(collected, *_pool(p.pool_after))
    wage = np.exp(lw)
    va_new = wage * cal.value_added
    if cal.closure == "ratio":
        scaled = cal.deficit_other * wage
        d_new = scaled - va_new / va_new.sum() * scaled.sum()
    else:  # fixed in units of the numeraire (world value added, or a country's CPI basket)
        d_new = cal.deficit_other * np.exp(_log_reference_cpi(cal, lp_new))
    income = va_new + received + d_new
    spend_new = cal.alpha * income[None, :]
    if p.input_share is not None:
        spend_new = spend_new + np.matmul(p.input_share, output.T[:, :, None])[:, :, 0].T  # G[j,s,k] Y[k,j]
    xh_new = np.where(cal.spend_mask, spend_new / np.where(cal.spend_mask, cal.spending, 1.0), 0.0)
    demand = np.sum(cal.va_share * output, axis=0)
    excess = np.log(np.maximum(demand, 1e-300 * va_new) / va_new)
    return {
        "lc": lc, "cm": cm, "term": term, "lp_new": lp_new, "spend": spend, "output": output,
        "collected": collected, "received": received, "income": income, "deficit": d_new,
        "xh_new": xh_new, "excess": excess,
    }


def _log_world_va(cal: Calibration, lw: FloatArray) -> float:
    """Log change of world value added (the internal numeraire is world value added)."""
    return float(np.log(np.sum(cal.value_added * np.exp(lw)) / np.sum(cal.value_added)))


def _log_reference_cpi(cal: Calibration, lp: FloatArray) -> float:
    """Log change of the numeraire country's consumer price index (0 without one)."""
    if cal.numeraire is None:
        return 0.0
    r = cal.numeraire
    return float(np.sum(cal.alpha[:, r] * lp[:, r]) / np.sum(cal.alpha[:, r]))


def _solve_with_fallback(
    step: StepFunction, x0: FloatArray, options: SolverOptions | None, name: str = "multi-sector GE"
) -> FixedPointResult:
    """Anderson first; if it stalls, plain iteration from the start.

    Both maps solved this way are stable without acceleration: the wage tatonnement of the
    full equilibrium and the matrix-scaling (Sinkhorn-type) update of the conditional one.

    Anderson gets ``max(200, max_iter // 10)`` iterations (it needs ~50-150 when it works),
    plain iteration the rest of ``max_iter``. The record counts both attempts; the error,
    when both fail, carries the residual of the last one.
    """
    opts = options or SolverOptions()
    if opts.method == "iterate":
        return solve_fixed_point(step, x0[None, :], options=opts, name=name)
    budget = min(opts.max_iter, max(200, opts.max_iter // 10))
    first = solve_fixed_point(
        step, x0[None, :], options=replace(opts, max_iter=budget, raise_on_failure=False), name=name
    )
    remaining = opts.max_iter - first.iterations
    if first.converged or remaining < 1:
        last = first
    else:
        plain = replace(opts, method="iterate", max_iter=remaining, raise_on_failure=False)
        second = solve_fixed_point(step, x0[None, :], options=plain, name=name)
        last = replace(second, iterations=first.iterations + second.iterations, method="anderson+iterate")
    if not last.converged and opts.raise_on_failure:
        raise ConvergenceError(
            f"{name} did not converge to tol={opts.tol:g} (Anderson, then plain iteration); "
            "try SolverOptions(max_iter=...) larger, or check the data for countries that barely trade",
            residual=last.max_residual,
            iterations=last.iterations,
            method=last.method,
        )
    return last


def solve_changes(cal: Calibration, options: SolverOptions | None = None) -> Equilibrium:
    """Solve the counterfactual equilibrium in changes.

    Parameters
    ----------
    cal : Calibration
        From :func:`calibrate`.
    options : SolverOptions, optional
        Tolerance (on the largest of: log value-added market-clearing error, change of
        log P, change of X'/X, world value-added gauge error), iteration cap, Anderson memory.

    Notes
    -----
    The iteration always uses world value added as its gauge (robust); with a country
    numeraire, deficits under ``closure="level"`` are measured in that country's consumer
    price index inside the map, and all nominal values are divided by that index at the end.

    Returns
    -------
    Equilibrium

    Raises
    ------
    ConvergenceError
        With the residual and the iteration count, when the tolerance is not met.
    """
    s_count, n = cal.spending.shape
    io = cal.problem.input_share is not None
    n_lp = s_count * n if io else 0

    def unpack(x: FloatArray) -> tuple[FloatArray, FloatArray | None, FloatArray]:
        lw = x[:n]
        lp = x[n : n + n_lp].reshape(s_count, n) if io else None
        xh = x[n + n_lp :].reshape(s_count, n)
        return lw, lp, xh

    def step(xb: FloatArray) -> tuple[FloatArray, FloatArray]:
        lw, lp, xh = unpack(xb[0])
        ev = _evaluate(cal, lw, lp, xh)
        lw_new = lw + cal.step * ev["excess"]
        k = _log_world_va(cal, lw_new)
        lp_new = np.where(cal.spend_mask, ev["lp_new"] - k, 0.0)
        xh_new = ev["xh_new"] * np.exp(-k)
        residual = max(
            float(np.max(np.abs(ev["excess"]))),
            float(np.max(np.abs(ev["xh_new"] - xh))),
            float(np.max(np.abs(ev["lp_new"] - lp))) if lp is not None else 0.0,
            abs(_log_world_va(cal, lw)),
        )
        parts = [lw_new - k, lp_new.ravel()] if io else [lw_new - k]
        return np.concatenate([*parts, xh_new.ravel()])[None, :], np.array([residual])

    x0 = np.concatenate([np.zeros(n), np.zeros(n_lp), cal.spend_mask.astype(float).ravel()])
    record = _solve_with_fallback(step, x0, options)
    lw, lp, xh = unpack(record.x[0])
    ev = _evaluate(cal, lw, lp, xh)
    # express nominal values in the numeraire: divide by the reference CPI (exact, since the
    # solution is homogeneous of degree one in nominal values once deficits are so measured)
    shift = _log_reference_cpi(cal, ev["lp_new"])
    scale = np.exp(-shift)
    return Equilibrium(
        wage_hat=np.exp(lw) * scale,
        log_price_hat=np.where(cal.spend_mask, ev["lp_new"] - shift, 0.0),
        log_cost_hat=ev["lc"] - shift,
        scaled_cost=ev["cm"],
        price_term=ev["term"],
        spending=ev["spend"] * scale,
        output=ev["output"] * scale,
        income=ev["income"] * scale,
        revenue_collected=ev["collected"] * scale,
        revenue_received=ev["received"] * scale,
        deficit_other=ev["deficit"] * scale,
        record=record,
    )


@dataclass(frozen=True)
class Conditional:
    """Conditional equilibrium: output and spending fixed, resistances adjust.

    ``exports`` and ``imports`` (N,) are international flows before tariffs (USD millions);
    ``record`` the convergence record.
    """

    exports: FloatArray
    imports: FloatArray
    record: FixedPointResult


def solve_conditional(cal: Calibration, options: SolverOptions | None = None) -> Conditional:
    r"""Conditional GE (Yotov et al. 2016, ch. 2, sector by sector).

    Sectoral output :math:`Y_{is}` and purchases :math:`E_{js}` (both before tariffs) stay at
    baseline; outward resistances :math:`g_{is}` solve the matrix-scaling problem
    :math:`Y_{is} = g_{is}\sum_j K_{ijs} E_{js} / \sum_k K_{kjs} g_{ks}` with
    :math:`K` = ``kernel_pre`` (so that purchases before tariffs add up to :math:`E_{js}`).
    Producers that lose every market keep :math:`g = 1` (their output is lost). With a
    ban this problem can have no solution (a market that must keep buying from sources that
    are closed); then the record says ``converged=False`` and the caller reports NaN instead
    of raising: the conditional effects are a by-product, the full equilibrium is the result.
    Anderson mixing can stall on this map (near-zero shares); the plain iteration then takes
    over, as in :func:`solve_changes`.
    """
    s_count, n = cal.output.shape
    y = cal.output
    purchases = cal.problem.flows.sum(axis=1)
    buy_mask = purchases > 0
    reach = _matmul_colvec(cal.kernel_pre, purchases)
    active = (y > 0) & (reach > 0)
    log_y = np.log(np.where(active, y, 1.0))

    def scaled(lg: FloatArray) -> FloatArray:
        # g is defined up to a factor per sector: scale the largest to 1 (no overflow)
        top = np.max(np.where(active, lg, -np.inf), axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        return np.where(active, np.exp(np.clip(lg - top, -700.0, 0.0)), 0.0)

    def sales(lg: FloatArray) -> tuple[FloatArray, FloatArray]:
        g = scaled(lg)
        term = _rowvec_matmul(g, cal.kernel_pre)
        z = np.where(buy_mask & (term > 0), purchases / np.where(term > 0, term, 1.0), 0.0)
        return g * _matmul_colvec(cal.kernel_pre, z), z

    def step(xb: FloatArray) -> tuple[FloatArray, FloatArray]:
        lg = xb[0].reshape(s_count, n)
        sold, _ = sales(lg)
        gap = np.where(active, log_y - np.log(np.where(active, sold, 1.0)), 0.0)
        new = lg + gap
        centre = np.sum(np.where(active, new, 0.0), axis=1, keepdims=True) / np.maximum(
            active.sum(axis=1, keepdims=True), 1
        )
        return np.where(active, new - centre, 0.0).ravel()[None, :], np.array([float(np.max(np.abs(gap)))])

    base = options or SolverOptions()
    # a by-product: cap its budget so that an unsolvable case (see above) stays cheap
    opts = replace(base, raise_on_failure=False, max_iter=min(base.max_iter, max(2000, base.max_iter // 4)))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # non-finite -> not converged
        record = _solve_with_fallback(step, np.zeros(s_count * n), opts, name="conditional GE")
        lg = record.x[0].reshape(s_count, n)
        _, z = sales(lg)
        flows = (cal.kernel_pre * scaled(lg)[:, :, None] * z[:, None, :]).sum(axis=0)
    np.fill_diagonal(flows, 0.0)  # international flows only, summed without cancellation
    return Conditional(exports=flows.sum(axis=1), imports=flows.sum(axis=0), record=record)
