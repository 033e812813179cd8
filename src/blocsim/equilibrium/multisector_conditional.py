r"""Conditional GE of the multi-sector model: sectoral output and purchases at baseline, resistances adjust.

The by-product ``exports_cond_pct`` / ``imports_cond_pct`` of :func:`blocsim.solve_multisector`
(and of the batched solve): on the calibration of the full model
(:func:`blocsim.equilibrium.multisector_core.calibrate_batch`), each sector's outward
resistances solve a matrix-scaling problem (Yotov et al. 2016, ch. 2). Arrays are indexed as in
:mod:`blocsim.equilibrium.multisector_core` (``[sector, exporter, importer]``), with a leading
draw axis in a batch.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from blocsim.equilibrium.multisector_core import (
    CONVERGENCE_HINT,
    Calibration,
    DrawAxis,
    international_trade,
    matmul_colvec,
    rowvec_matmul,
)
from blocsim.equilibrium.multisector_inputs import pick_draws
from blocsim.equilibrium.options import SolverOptions
from blocsim.equilibrium.solvers import FixedPointResult, StepFunction, solve_with_fallback

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Conditional(DrawAxis):
    """Conditional equilibrium: output and spending fixed, resistances adjust.

    ``exports`` and ``imports`` (N,) per draw are international flows before tariffs (USD
    millions); ``record`` the convergence record. A batch adds a leading draw axis.
    """

    exports: FloatArray
    imports: FloatArray
    record: FixedPointResult

    def draw(self, index: int) -> Conditional:
        """Draw ``index`` of a batch."""
        return self._select(index, record=self.record.select(index))


def solve_conditional(cal: Calibration, options: SolverOptions | None = None) -> Conditional:
    """Conditional GE of one counterfactual (the batch of size 1); see :func:`solve_conditional_batch`."""
    return solve_conditional_batch(cal.as_batch(), options).draw(0)


def solve_conditional_batch(cal: Calibration, options: SolverOptions | None = None) -> Conditional:
    r"""Conditional GE (Yotov et al. 2016, ch. 2, sector by sector) of every draw of a batch.

    Sectoral output :math:`Y_{is}` and purchases :math:`E_{js}` (both before tariffs) stay at
    baseline; outward resistances :math:`g_{is}` solve the matrix-scaling problem
    :math:`Y_{is} = g_{is}\sum_j K_{ijs} E_{js} / \sum_k K_{kjs} g_{ks}` with
    :math:`K` = ``kernel_pre`` (so that purchases before tariffs add up to :math:`E_{js}`).
    Producers that lose every market keep :math:`g = 1` (their output is lost). With a
    ban this problem can have no solution (a market that must keep buying from sources that
    are closed); then the draw's record says ``converged=False`` and the caller reports NaN
    instead of raising: the conditional effects are a by-product, the full equilibrium is the
    result. Anderson mixing can stall on this map (near-zero shares); the plain iteration then
    takes over, as in :func:`solve_changes_batch`.
    """
    draws = cal.size
    s_count, n = cal.output.shape[-2:]
    y = cal.output
    purchases = cal.batch.base.flows.sum(axis=-2)[None]
    buy_mask = purchases > 0
    log_y = np.log(np.where(y > 0, y, 1.0))

    def make_step(rows: NDArray[np.intp] | None) -> StepFunction:
        kernel = cal.kernel_pre if rows is None else pick_draws(cal.kernel_pre, rows)
        active = (y > 0) & (matmul_colvec(kernel, purchases) > 0)

        def step(x: FloatArray) -> tuple[FloatArray, FloatArray]:
            lg = x.reshape(-1, s_count, n)
            sold, _ = _conditional_sales(kernel, purchases, buy_mask, active, lg)
            gap = np.where(active, log_y - np.log(np.where(active, sold, 1.0)), 0.0)
            new = lg + gap
            centre = np.sum(np.where(active, new, 0.0), axis=-1, keepdims=True) / np.maximum(
                active.sum(axis=-1, keepdims=True), 1
            )
            out = np.where(active, new - centre, 0.0)
            return out.reshape(len(x), -1), np.max(np.abs(gap), axis=(-2, -1))

        return step

    base = options or SolverOptions()
    # a by-product: cap its budget so that an unsolvable case (see above) stays cheap
    opts = replace(base, raise_on_failure=False, max_iter=min(base.max_iter, max(2000, base.max_iter // 4)))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # non-finite -> not converged
        record = solve_with_fallback(make_step, np.zeros((draws, s_count * n)), opts, name="conditional GE", hint=CONVERGENCE_HINT)
        active = (y > 0) & (matmul_colvec(cal.kernel_pre, purchases) > 0)
        lg = record.x.reshape(draws, s_count, n)
        _, z = _conditional_sales(cal.kernel_pre, purchases, buy_mask, active, lg)
        flows = (cal.kernel_pre * _scaled_resistance(active, lg)[..., None] * z[..., None, :]).sum(axis=-3)
    exports, imports = international_trade(flows)
    return Conditional(exports=exports, imports=imports, record=record)


def _scaled_resistance(active: NDArray[np.bool_], lg: FloatArray) -> FloatArray:
    """``g`` from its log; defined up to a factor per sector: the largest is scaled to 1 (no overflow)."""
    top = np.max(np.where(active, lg, -np.inf), axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.where(active, np.exp(np.clip(lg - top, -700.0, 0.0)), 0.0)


def _conditional_sales(
    kernel: FloatArray, purchases: FloatArray, buy_mask: NDArray[np.bool_], active: NDArray[np.bool_], lg: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Sales of every producer (D, S, N) and the market terms ``z`` at log resistances ``lg``."""
    g = _scaled_resistance(active, lg)
    term = rowvec_matmul(g, kernel)
    z = np.where(buy_mask & (term > 0), purchases / np.where(term > 0, term, 1.0), 0.0)
    return g * matmul_colvec(kernel, z), z
