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

    I'_j = \hat w_j VA_j + \tilde R'_j + \tilde D'_j + T'_j + (Q'_j - Q_j) + W'_j,\qquad
    \hat w_i VA_i = \sum_s \gamma_{is} Y'_{is}

``X`` is spending including tariffs, ``Y`` gross output valued before tariffs, ``VA`` value
added, :math:`\tilde R` duty revenue *received* (after pooling: a member's pool receipt plus the
uncollected share :math:`(1-e_j) R_j` of its statutory duties, :mod:`blocsim.equilibrium.duty_pool`) and :math:`\tilde D` the part
of the trade deficit not financed by pool transfers or remittances; :math:`T_j` are the
remittances received minus sent (:mod:`blocsim.equilibrium.labour`; zero without that
channel), which follow the senders' wages and migrant stocks; :math:`Q_j` are the income
transfers tied to trade flows (re-export rents earned minus paid,
:mod:`blocsim.equilibrium.income_transfers`; zero without them), whose baseline value stays in
:math:`\tilde D` and whose change enters income. The two transfers are separate terms and each
sums to zero over countries. A capital-flow measure sets a country's whole trade deficit to a
share of its value added through :math:`\tilde D'` (:mod:`blocsim.equilibrium.capital_flows`); a world
price measure adds the transfer :math:`W_j` to income (:mod:`blocsim.equilibrium.world_prices`). The unknowns ``(log w, log P, X'/X)``
are iterated jointly (three passes over the (S, N, N) arrays per evaluation) with Anderson
acceleration (:func:`blocsim.equilibrium.solvers.solve_fixed_point`, shared with the
one-sector engine). The wage update is the tatonnement
:math:`\log w \mathrel{+}= \lambda_i \log(\text{VA demand}/\text{VA supply})` with
:math:`\lambda_i = 1/(1+\sum_s v_{is}\theta_s)`, ``v`` the sectoral value-added shares (the
one-sector rule :math:`p \leftarrow p (S/pY)^{1/\sigma}` when S = 1).

Batches. Every equation is written once, for a batch of D counterfactuals on one baseline
(:class:`~blocsim.equilibrium.multisector_inputs.MultiSectorBatch`): the arrays below carry a
leading draw axis (length D, or 1 where the draws share the value), and each draw has its own
convergence record. :func:`calibrate_batch` and :func:`solve_changes_batch` are the equations
(the conditional equilibrium on the same calibration is in
:mod:`blocsim.equilibrium.multisector_conditional`); :func:`calibrate` and :func:`solve_changes`
solve one counterfactual as the batch of size 1 and return its draw view
(:meth:`Calibration.draw`, same field names without the draw axis).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from blocsim.equilibrium.capital_flows import target_deficits
from blocsim.equilibrium.duty_pool import pool_contribution, redistribute
from blocsim.equilibrium.income_transfers import transfer_change
from blocsim.equilibrium.labour import net_transfers, remittance_flows
from blocsim.equilibrium.multisector_inputs import MultiSectorBatch, MultiSectorProblem, PoolArrays, pick_draws
from blocsim.equilibrium.options import SolverOptions
from blocsim.equilibrium.solvers import FixedPointResult, StepFunction, solve_with_fallback
from blocsim.equilibrium.world_prices import world_price_income
from blocsim.errors import DataValidationError

FloatArray = NDArray[np.float64]
Index = int | NDArray[np.intp]
CONVERGENCE_HINT = "try SolverOptions(max_iter=...) larger, or check the data for countries that barely trade"


def rowvec_matmul(vec: FloatArray, cube: FloatArray) -> FloatArray:
    """``out[..., s, j] = sum_i vec[..., s, i] cube[..., s, i, j]`` (batched vector-matrix products)."""
    return np.matmul(vec[..., None, :], cube)[..., 0, :]


def matmul_colvec(cube: FloatArray, vec: FloatArray) -> FloatArray:
    """``out[..., s, i] = sum_j cube[..., s, i, j] vec[..., s, j]``."""
    return np.matmul(cube, vec[..., None])[..., 0]


class DrawAxis:
    """Mixin of the batch records: select draws along the leading axis of every array field."""

    def _select(self, index: Index, **special: Any) -> Any:
        values = {f.name: pick_draws(getattr(self, f.name), index) for f in fields(self)  # type: ignore[arg-type]
                  if f.name not in special}
        return type(self)(**values, **special)


@dataclass(frozen=True)
class Calibration(DrawAxis):
    """Baseline quantities and shock kernels (see module notes).

    Shapes of one draw: (S, N, N) for ``kernel`` (:math:`\\pi\\hat\\kappa^{-\\theta}`) and
    ``kernel_pre`` (the same divided by :math:`1+\\tau'`); (S, N) for ``spending`` (X, incl.
    tariffs), ``output`` (Y), ``alpha``, ``va_share``, ``log_prod`` and ``spend_mask``; (N,)
    for the rest (``transfers``: baseline remittances received minus sent, in ``income``
    and not in ``deficit_other``; ``revenue_collected``: statutory duties;
    ``pool_contribution``: the part paid into the duty pool; ``revenue_received``: duty
    revenue in income, pool receipts plus the uncollected share for members). Money in the baseline's unit (USD millions). In a batch (``problem`` is a
    :class:`MultiSectorBatch`) every array has a leading draw axis of length D, or 1 where
    all draws share it; :meth:`draw` gives one draw (``problem`` then its
    :class:`MultiSectorProblem`).
    """

    problem: MultiSectorBatch | MultiSectorProblem
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
    pool_contribution: FloatArray
    income: FloatArray
    transfers: FloatArray
    log_prod: FloatArray
    step: FloatArray
    spend_mask: NDArray[np.bool_]
    closure: str
    numeraire: int | None

    @property
    def batch(self) -> MultiSectorBatch:
        """The batch problem (raises on a draw view)."""
        if not isinstance(self.problem, MultiSectorBatch):
            raise TypeError("a draw view of a calibration has no batch; use calibrate_batch")
        return self.problem

    @property
    def size(self) -> int:
        """Number of draws D of a batch calibration."""
        return self.batch.size

    def draw(self, index: int) -> Calibration:
        """Draw ``index`` of a batch (arrays without the draw axis)."""
        return self._select(index, problem=self.batch.problem(index))

    def iteration_rows(self, rows: NDArray[np.intp]) -> Calibration:
        """Draws ``rows`` as a smaller batch for the iteration only: the kernels already carry
        the tariffs and cost factors, so the problem's (S, N, N) inputs are left out (not copied);
        not for :meth:`draw` or result tables."""
        light = replace(self.batch, tariff_before=None, tariff_after=None, cost_factor=None)
        return self._select(rows, problem=light.take(rows))

    def as_batch(self) -> Calibration:
        """A draw view as the batch of size 1 (a leading axis of length 1 on every array; views)."""
        if isinstance(self.problem, MultiSectorBatch):
            return self
        lifted = {f.name: getattr(self, f.name)[None] for f in fields(self)
                  if isinstance(getattr(self, f.name), np.ndarray)}
        return replace(self, problem=MultiSectorBatch.from_problem(self.problem), **lifted)


def calibrate(problem: MultiSectorProblem, *, closure: str, numeraire: int | None) -> Calibration:
    """Baseline accounting and shock kernels of one counterfactual (the batch of size 1).

    Raises as :func:`calibrate_batch`.
    """
    return calibrate_batch(MultiSectorBatch.from_problem(problem), closure=closure, numeraire=numeraire).draw(0)


def _draw_note(batch: MultiSectorBatch, draw: int) -> str:
    return f" (draw {batch.first_draw + int(draw)})" if batch.size > 1 or batch.first_draw else ""


def calibrate_batch(batch: MultiSectorBatch, *, closure: str, numeraire: int | None) -> Calibration:
    """Baseline accounting and shock kernels of D counterfactuals on one baseline.

    Memory: two (D, S, N, N) kernels (one when there are no tariffs after) and one transient
    (D|1, S, N, N) array.

    Raises
    ------
    DataValidationError
        Final demand implied by the IO shares is negative, or a market (importer, sector)
        with positive spending loses every source (e.g. all its suppliers banned).
    """
    p = batch.base
    x0 = p.flows
    theta = batch.theta[:, :, None, None]
    tau0, tau1 = batch.tariff_before, batch.tariff_after
    shares = x0 * (1.0 + tau0) if tau0 is not None else x0[None]  # spending incl. tariffs, (D|1, S, N, N)
    spending = shares.sum(axis=-2)  # (D|1, S, N_j)
    output = x0.sum(axis=-1)[None]  # (1, S, N_i)
    with np.errstate(divide="ignore"):
        shares = shares * np.where(spending > 0, 1.0 / spending, 0.0)[..., None, :]  # import shares pi
    if tau0 is not None or tau1 is not None:
        ratio = np.add(1.0, tau1) if tau1 is not None else np.ones_like(shares)
        if tau0 is not None:
            ratio /= 1.0 + tau0
        kernel = np.power(ratio, -theta)  # (D, S, N, N)
        del ratio
        kernel *= shares
    else:
        kernel = shares  # (D|1, S, N, N), owned: computed above
    del shares
    if batch.cost_factor is not None:
        kernel = _times(kernel, batch.cost_factor)
    kernel_pre = kernel if tau1 is None else kernel / (1.0 + tau1)
    lost = (spending > 0) & (kernel.sum(axis=-2) <= 0)
    if lost.any():
        d, s, j = np.argwhere(lost)[0]
        raise DataValidationError(
            f"arguments 'shock'/'tariffs'{_draw_note(batch, d)}: importer {p.countries[j]!r} loses "
            f"every supplier of sector {p.sectors[s]!r} (cost factors 0 or prohibitive tariffs on all of them), "
            "so its price index is infinite. Fix: keep at least one source (usually the domestic flow) open."
        )
    va_share = p.va_share.T[None]  # (1, S, N)
    value_added = np.sum(va_share * output, axis=-2)  # (1, N)
    collected = np.zeros((1, len(p.countries))) if tau0 is None else np.einsum("dsij,sij->dj", tau0, x0)
    received = redistribute(collected, *_pool(batch.pool_before), batch.collection_efficiency)
    paid_in = pool_contribution(collected, _pool(batch.pool_before)[0], batch.collection_efficiency)
    deficit = (x0.sum(axis=(0, 1)) - x0.sum(axis=(0, 2)))[None]
    # the part of the deficit remittances finance follows the senders, not the closure
    transfers = np.zeros_like(deficit) if batch.labour is None else net_transfers(batch.labour.remittances)
    deficit_other = deficit - (received - collected) - transfers
    income = value_added + received + deficit_other + transfers  # (D|1, N)
    intermediate = (
        np.zeros_like(spending)
        if p.input_share is None
        else np.einsum("jsk,kj->sj", p.input_share, output[0])[None]
    )
    final = spending - intermediate
    scale = np.maximum(spending.sum(axis=-2, keepdims=True), 1e-300)
    if np.any(final < -1e-9 * scale) or np.any(income <= 0):
        d, s, j = np.unravel_index(np.argmin(final / scale), final.shape)
        raise DataValidationError(
            f"argument 'io'{_draw_note(batch, d)}: intermediate demand of {p.countries[j]!r} for sector "
            f"{p.sectors[s]!r} ({intermediate[0, s, j]:.6g}) exceeds its spending ({spending[d, s, j]:.6g}), so final "
            "demand would be negative; allowed: input shares consistent with the flows. Fix: lower the "
            "input shares or check the baseline flows."
        )
    alpha = np.maximum(final, 0.0) / income[..., None, :]
    v = va_share * output / value_added[..., None, :]
    step = 1.0 / (1.0 + np.sum(v * batch.theta[:, :, None], axis=-2))  # (D, N)
    log_prod = np.zeros((1, *spending.shape[1:])) if batch.productivity is None else np.log(
        batch.productivity.transpose(0, 2, 1))
    return Calibration(
        problem=batch, kernel=kernel, kernel_pre=kernel_pre, has_tariff_after=tau1 is not None,
        spending=spending, output=output, alpha=alpha, value_added=value_added, va_share=va_share,
        deficit_other=deficit_other, deficit=deficit, revenue_collected=collected, revenue_received=received,
        pool_contribution=paid_in, income=income, transfers=transfers, log_prod=log_prod, step=step, spend_mask=spending > 0, closure=closure, numeraire=numeraire,
    )


def _times(owned: FloatArray, factor: FloatArray) -> FloatArray:
    """``owned * factor``, in place when the product has the shape of ``owned``."""
    if np.broadcast_shapes(owned.shape, factor.shape) == owned.shape:
        owned *= factor
        return owned
    return owned * factor


def _pool(pool: PoolArrays) -> tuple[NDArray[np.bool_] | None, FloatArray | None]:
    return (None, None) if pool is None else pool


@dataclass(frozen=True)
class Equilibrium(DrawAxis):
    """Counterfactual equilibrium in changes and levels (baseline currency unit).

    Shapes of one draw: (N,) for ``wage_hat``, ``income``, ``revenue_collected`` (statutory
    duties), ``revenue_received`` (duty revenue in income), ``pool_contribution`` (paid into
    the pool), ``deficit_other``; (S, N) for ``log_price_hat`` (sectoral price
    indices, by importer), ``scaled_cost`` (:math:`\\hat c^{-\\theta}` up to a per-sector
    factor that cancels), ``price_term`` (:math:`\\sum_i` kernel x scaled_cost), ``spending``
    (X'), ``output`` (Y'), ``log_cost_hat`` (:math:`\\log \\hat c`); (N, N) ``[origin, host]``
    for ``remittances`` (:math:`R'`, USD millions in units of the numeraire; zeros without the
    labour channel) and ``migrants_hat`` (:math:`\\hat M`; ones without it); (N,) for
    ``rents_change`` (:math:`Q' - Q`, the change of income transfers tied to flows, i.e.
    re-export rents, in units of the numeraire; zeros without them) and ``world_price_income``
    (:math:`W`, world price changes at fixed quantities, :mod:`blocsim.equilibrium.world_prices`;
    numeraire units; zeros without them). A batch adds a leading
    draw axis (length D) and ``record`` holds one entry per draw; :meth:`draw` selects one.
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
    pool_contribution: FloatArray
    deficit_other: FloatArray
    remittances: FloatArray
    migrants_hat: FloatArray
    rents_change: FloatArray
    world_price_income: FloatArray
    record: FixedPointResult

    @property
    def transfers(self) -> FloatArray:
        """Remittances received minus sent per country, ([D,] N) (USD millions, numeraire units)."""
        return net_transfers(self.remittances)

    def flows(self, cal: Calibration) -> FloatArray:
        """Counterfactual flows before tariffs, shape ([D,] S, N, N) (USD millions)."""
        z = np.where(cal.spend_mask, self.spending / self.price_term, 0.0)
        return cal.kernel_pre * self.scaled_cost[..., :, None] * z[..., None, :]

    def draw(self, index: int) -> Equilibrium:
        """Draw ``index`` of a batch (arrays without the draw axis, its own record)."""
        return self._select(index, record=self.record.select(index))


def _evaluate(cal: Calibration, lw: FloatArray, lp: FloatArray | None, xh: FloatArray) -> dict[str, Any]:
    """One evaluation of the equilibrium map at ``(log w, log P, X'/X)``, shapes (D, N), (D, S, N)."""
    b = cal.batch
    io_share = b.base.input_share
    theta = b.theta[:, :, None]
    lc = cal.va_share * lw[:, None, :] - cal.log_prod
    if io_share is not None and lp is not None:  # sum_k G[i,k,s] lp[d,k,i], one (1, S) x (S, S) product per (d, i)
        lc = lc + np.matmul(lp.transpose(0, 2, 1)[:, :, None, :], io_share)[:, :, 0, :].transpose(0, 2, 1)
    u = -theta * lc
    shift = u.max(axis=-1, keepdims=True)
    cm = np.exp(u - shift)
    term = rowvec_matmul(cm, cal.kernel)
    term = np.where(cal.spend_mask, term, 1.0)
    lp_new = np.where(cal.spend_mask, -(np.log(term) + shift) / theta, 0.0)
    spend = np.maximum(xh, 0.0) * cal.spending  # accelerated iterates may overshoot below 0
    z = spend / term
    output = cm * matmul_colvec(cal.kernel_pre, z)
    if cal.has_tariff_after:
        pre = rowvec_matmul(cm, cal.kernel_pre)
        collected = np.sum(spend * (1.0 - pre / term), axis=-2)
    else:
        collected = np.zeros_like(lw)
    received = redistribute(collected, *_pool(b.pool_after), b.collection_efficiency)
    wage = np.exp(lw)
    va_new = wage * cal.value_added
    if cal.closure == "ratio":
        scaled = cal.deficit_other * wage
        d_new = scaled - va_new / va_new.sum(axis=-1, keepdims=True) * scaled.sum(axis=-1, keepdims=True)
    else:  # fixed in units of the numeraire (world value added, or a country's CPI basket)
        d_new = cal.deficit_other * np.exp(_log_reference_cpi(cal, lp_new))[:, None]
    rents = None
    if b.base.income_transfers is not None:  # re-export rents: T' - T (blocsim.equilibrium.income_transfers)
        rents = transfer_change(b.base.income_transfers, b.base.flows, cal.kernel_pre, cm, z)
    price_income = None
    if b.base.world_price is not None:  # world prices at fixed quantities (blocsim.equilibrium.world_prices)
        price_income = world_price_income(b.base.world_price, cal.kernel_pre, cm, z)
    remittances = moved = None
    if b.labour is not None:
        remittances, moved = remittance_flows(b.labour, lw, log_consumer_prices(cal, lp_new))
    # transfers in income, added in this order: rents, world price income, remittances (net)
    parts = [x for x in (rents, price_income, None if remittances is None else net_transfers(remittances))
             if x is not None]
    if b.base.deficit_target is not None:  # capital-flow measures (blocsim.equilibrium.capital_flows)
        other_parts = received - collected  # the rest of each trade deficit: pool and the transfers
        for part in parts:
            other_parts = other_parts + part
        d_new = target_deficits(b.base.deficit_target, d_new, va_new, other_parts)
    income = va_new + received + d_new
    for part in parts:
        income = income + part
    spend_new = cal.alpha * income[:, None, :]
    if io_share is not None:  # + sum_k G[j,s,k] Y[d,k,j]
        spend_new = spend_new + np.matmul(io_share, output.transpose(0, 2, 1)[..., None])[..., 0].transpose(0, 2, 1)
    xh_new = np.where(cal.spend_mask, spend_new / np.where(cal.spend_mask, cal.spending, 1.0), 0.0)
    demand = np.sum(cal.va_share * output, axis=-2)
    excess = np.log(np.maximum(demand, 1e-300 * va_new) / va_new)
    return {
        "lc": lc, "cm": cm, "term": term, "lp_new": lp_new, "spend": spend, "output": output,
        "collected": collected, "received": received, "income": income, "deficit": d_new,
        "xh_new": xh_new, "excess": excess, "remittances": remittances, "migrants_hat": moved,
        "rents_change": rents, "world_price_income": price_income,
    }


def _log_world_va(cal: Calibration, lw: FloatArray) -> FloatArray:
    """Log change of world value added per draw, (D,) (the internal numeraire)."""
    va = cal.value_added  # (1, N): baseline value added, the same for every draw
    return np.log((np.exp(lw) * va).sum(axis=-1) / va.sum())  # row by row: no dependence on the batch


def log_consumer_prices(cal: Calibration, log_price_hat: FloatArray) -> FloatArray:
    """Log change of every country's consumer price index (final-demand weights), ([D,] N)."""
    total = cal.alpha.sum(axis=-2)
    return np.sum(cal.alpha * log_price_hat, axis=-2) / np.where(total > 0, total, 1.0)


def _log_reference_cpi(cal: Calibration, lp: FloatArray) -> FloatArray:
    """Log change of the numeraire country's consumer price index per draw, (D,) (0 without one)."""
    if cal.numeraire is None:
        return np.zeros(lp.shape[0])
    return log_consumer_prices(cal, lp)[:, cal.numeraire]


def solve_changes(cal: Calibration, options: SolverOptions | None = None) -> Equilibrium:
    """Solve one counterfactual (a draw view from :func:`calibrate`) as the batch of size 1.

    See :func:`solve_changes_batch`.
    """
    return solve_changes_batch(cal.as_batch(), options).draw(0)


def solve_changes_batch(cal: Calibration, options: SolverOptions | None = None) -> Equilibrium:
    """Solve the counterfactual equilibria in changes of a batch (one record per draw).

    Parameters
    ----------
    cal : Calibration
        From :func:`calibrate_batch`.
    options : SolverOptions, optional
        Tolerance (on the largest of: log value-added market-clearing error, change of
        log P, change of X'/X, world value-added gauge error), iteration cap, Anderson memory.

    Notes
    -----
    The iteration always uses world value added as its gauge (robust); with a country
    numeraire, deficits under ``closure="level"`` are measured in that country's consumer
    price index inside the map, and all nominal values are divided by that index at the end.
    Each draw converges on its own: once its residual meets the tolerance it is frozen, and
    the batch iterates until every draw has converged or failed; a draw on which Anderson
    mixing stalls restarts alone with the plain iteration
    (:func:`blocsim.equilibrium.solvers.solve_with_fallback`).

    Returns
    -------
    Equilibrium
        Arrays with a leading draw axis (length D).

    Raises
    ------
    ConvergenceError
        With the residual and the iteration count (and the failed draws), when the tolerance
        is not met and ``options.raise_on_failure`` (the default).
    """
    draws = cal.size
    s_count, n = cal.spending.shape[-2:]
    io = cal.batch.base.input_share is not None
    n_lp = s_count * n if io else 0

    def unpack(x: FloatArray) -> tuple[FloatArray, FloatArray | None, FloatArray]:
        lw = x[:, :n]
        lp = x[:, n : n + n_lp].reshape(-1, s_count, n) if io else None
        xh = x[:, n + n_lp :].reshape(-1, s_count, n)
        return lw, lp, xh

    def make_step(rows: NDArray[np.intp] | None) -> StepFunction:
        part = cal if rows is None else cal.iteration_rows(rows)

        def step(x: FloatArray) -> tuple[FloatArray, FloatArray]:
            lw, lp, xh = unpack(x)
            ev = _evaluate(part, lw, lp, xh)
            lw_new = lw + part.step * ev["excess"]
            k = _log_world_va(part, lw_new)[:, None]
            lp_new = np.where(part.spend_mask, ev["lp_new"] - k[..., None], 0.0)
            xh_new = ev["xh_new"] * np.exp(-k)[..., None]
            residual = np.abs(ev["excess"]).max(axis=1)
            np.maximum(residual, np.abs(ev["xh_new"] - xh).max(axis=(1, 2)), out=residual)
            np.maximum(residual, np.abs(_log_world_va(part, lw)), out=residual)
            if lp is not None:
                np.maximum(residual, np.abs(ev["lp_new"] - lp).max(axis=(1, 2)), out=residual)
            parts = [lw_new - k, lp_new.reshape(len(x), -1)] if io else [lw_new - k]
            return np.concatenate([*parts, xh_new.reshape(len(x), -1)], axis=1), residual

        return step

    start = np.broadcast_to(cal.spend_mask, (draws, s_count, n)).reshape(draws, -1).astype(float)
    x0 = np.concatenate([np.zeros((draws, n + n_lp)), start], axis=1)
    record = solve_with_fallback(make_step, x0, options, name="multi-sector GE", hint=CONVERGENCE_HINT)
    lw, lp, xh = unpack(record.x)
    ev = _evaluate(cal, lw, lp, xh)
    # express nominal values in the numeraire: divide by the reference CPI (exact, since the
    # solution is homogeneous of degree one in nominal values once deficits are so measured)
    shift = _log_reference_cpi(cal, ev["lp_new"])[:, None]
    scale = np.exp(-shift)
    if ev["remittances"] is None:
        remittances, moved = np.zeros((draws, n, n)), np.ones((draws, n, n))
    else:
        remittances, moved = ev["remittances"] * scale[..., None], ev["migrants_hat"]
    rents_change = np.zeros((draws, n)) if ev["rents_change"] is None else ev["rents_change"] * scale
    price_income = np.zeros((draws, n)) if ev["world_price_income"] is None else ev["world_price_income"] * scale
    return Equilibrium(
        wage_hat=np.exp(lw) * scale,
        log_price_hat=np.where(cal.spend_mask, ev["lp_new"] - shift[..., None], 0.0),
        log_cost_hat=ev["lc"] - shift[..., None],
        scaled_cost=ev["cm"],
        price_term=ev["term"],
        spending=ev["spend"] * scale[..., None],
        output=ev["output"] * scale[..., None],
        income=ev["income"] * scale,
        revenue_collected=ev["collected"] * scale,
        revenue_received=ev["received"] * scale,
        pool_contribution=pool_contribution(ev["collected"], _pool(cal.batch.pool_after)[0],
                                            cal.batch.collection_efficiency) * scale,
        deficit_other=ev["deficit"] * scale,
        remittances=remittances,
        migrants_hat=moved,
        rents_change=rents_change,
        world_price_income=price_income,
        record=record,
    )


def international_trade(flows: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Exports (by exporter) and imports (by importer) of ``([D,] N, N)`` flows, domestic excluded."""
    total = flows.copy()
    n = total.shape[-1]
    total[..., np.arange(n), np.arange(n)] = 0.0  # drop domestic flows before summing (no cancellation)
    return total.sum(axis=-1), total.sum(axis=-2)
