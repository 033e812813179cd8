r"""Compatibility algorithms that reproduce published implementations' full-endowment step.

``compat="yotov"``
    The iterative GEPPML procedure of the Stata files of Yotov, Piermartini, Monteiro and
    Larch (2016, ch. 2; ``TradeWithoutBorder.do``, ``RTAsEffects.do``,
    ``RemovingSpecificBorder.do``). Each round scales the previous fitted flows by the latest
    *incremental* changes of factory-gate prices and resistances, re-fits exporter and
    importer fixed effects with the counterfactual costs as offset (a PPML with two-way fixed
    effects on a square table is exactly a biproportional fit), and updates output and
    expenditure (:math:`E = \phi Y`). The loop stops when the standard deviation and the
    maximum of the change in the *incremental* price changes between two rounds are both
    <= 0.01 -- a loose criterion, checked one round late -- so the published full-endowment
    numbers are those of an unconverged iterate. Final values are built from the last round
    ``S`` as in the do-files: :math:`p = ((e^{\pi}_S/e^{\pi}_0)/(E_{R,S}/E_{R,0}))^{1/(1-\sigma)}`,
    :math:`Y = pY_0`, :math:`\Pi^{1-\sigma}=Y E_{R,S}/e^{\pi}_S`,
    :math:`P^{1-\sigma}=E_S/(e^{\chi}_S E_{R,S})`.
``compat="gegravity"``
    USITC ``gegravity`` 0.3 (``OneSectorGE._full_ge``): its "full GE" system keeps baseline
    output and expenditure shares inside the resistance equations, so experiment resistances
    equal the conditional ones and factory-gate prices follow in one step,
    :math:`p_i = \Pi_i/\Pi'^{c}_i`; flows are :math:`X'_{ij}=t'_{ij}E'_j (Y'_i/\sum_k Y'_k)/(\Pi'^{1-\sigma}_i P'^{1-\sigma}_j)`.

Both return :class:`~blocsim.equilibrium.equations.CounterfactualArrays` and accept leading
batch dimensions.
"""

from __future__ import annotations

import numpy as np

from blocsim.equilibrium.equations import (
    CounterfactualArrays,
    broadcast_problem,
    solve_conditional,
    solve_resistances,
)
from blocsim.equilibrium.options import SolverOptions
from blocsim.equilibrium.solvers import FixedPointResult
from blocsim.errors import ConvergenceError, DataValidationError

YOTOV_TOLERANCE = 0.01
"""Stopping threshold of the authors' loop (``sd`` and ``max`` of the price-change differences)."""


def solve_gegravity(
    flows: np.ndarray,
    cost_change: np.ndarray,
    *,
    sigma: float,
    reference: int | None,
    options: SolverOptions | None = None,
) -> CounterfactualArrays:
    """One-step "full GE" of gegravity 0.3 (see module notes); shapes as in ``solve_counterfactual``."""
    _, x, a = broadcast_problem(flows, cost_change)
    y = np.sum(x, axis=-1)
    e = np.sum(x, axis=-2)
    cond, omega, phi, record = solve_conditional(x, a, reference=reference, options=options)
    inv = 1.0 / (1.0 - sigma)
    price = omega ** (-inv)
    mean_price = np.sum(price * y, axis=-1) / np.sum(y, axis=-1)
    new_exp = price * e
    new_flows = x * a * (price / mean_price[..., None])[..., :, None] * price[..., None, :]
    new_flows = new_flows / (omega[..., :, None] * phi[..., None, :])
    return CounterfactualArrays(
        flows_baseline=x,
        flows_conditional=cond,
        flows_counterfactual=new_flows,
        output_baseline=y,
        output_counterfactual=price * y,
        expenditure_baseline=e,
        expenditure_counterfactual=new_exp,
        price_hat=price,
        omr_hat=omega**inv,
        imr_hat=phi**inv,
        omr_cond_hat=omega**inv,
        imr_cond_hat=phi**inv,
        method="gegravity",
        records=(record,),
    )


def _stata_sd(values: np.ndarray) -> np.ndarray:
    """Sample s.d. over the N*N rows of a square table where each country value repeats N times."""
    n = values.shape[-1]
    dev = values - np.mean(values, axis=-1, keepdims=True)
    return np.sqrt(n * np.sum(dev**2, axis=-1) / (n * n - 1))


def solve_yotov(
    flows: np.ndarray,
    cost_change: np.ndarray,
    *,
    sigma: float,
    reference: int | None,
    options: SolverOptions | None = None,
    max_rounds: int = 500,
    tolerance: float = YOTOV_TOLERANCE,
) -> CounterfactualArrays:
    """The authors' GEPPML loop (see module notes); shapes as in ``solve_counterfactual``.

    Raises
    ------
    DataValidationError
        When ``reference`` is None (the procedure normalises on a reference importer).
    ConvergenceError
        When the loop's own stopping rule is not met within ``max_rounds`` rounds.
    """
    if reference is None:
        raise DataValidationError(
            "argument 'reference_importer': got None; compat='yotov' needs a reference importer "
            "(the authors use DEU). Fix: pass reference_importer='DEU' or another country."
        )
    batch, x, a = broadcast_problem(flows, cost_change, flatten=True)
    n = x.shape[-1]
    kernel = x * a
    y0 = np.sum(x, axis=-1)
    e0 = np.sum(x, axis=-2)
    phi = e0 / y0
    inv = 1.0 / (1.0 - sigma)
    records: list[FixedPointResult] = []

    def fit(kern: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exporter and importer fixed effects (exp scale) of a PPML with offset log(kern)."""
        scaled = kern / (rows[:, :, None] * cols[:, None, :])
        omr, imr, rec = solve_resistances(scaled, rows, cols, reference=reference, options=options)
        records.append(rec)
        return 1.0 / omr, 1.0 / imr

    exp_pi0, exp_chi0 = fit(x, y0, e0)
    er0 = e0[:, reference]
    omr0 = y0 * er0[:, None] / exp_pi0
    imr0 = e0 / (exp_chi0 * er0[:, None])
    exp_pi, exp_chi = fit(kernel, y0, e0)
    fitted = exp_pi[:, :, None] * kernel * exp_chi[:, None, :]
    cond = fitted.copy()
    out, exp, er = y0.copy(), e0.copy(), er0.copy()
    dp = ((exp_pi / exp_pi0) / 1.0) ** inv
    dp_prev = np.zeros_like(dp)
    omr = out * er[:, None] / exp_pi
    imr = exp / (exp_chi * er[:, None])
    omr_cond, imr_cond = omr.copy(), imr.copy()
    d_omr = np.ones_like(dp)
    d_imr = np.ones_like(dp)
    active = np.ones(x.shape[0], dtype=bool)
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        trade = fitted * (dp / d_omr)[:, :, None] * (dp / d_imr)[:, None, :]
        new_pi, new_chi = fit(kernel, np.sum(trade, axis=-1), np.sum(trade, axis=-2))
        new_fitted = new_pi[:, :, None] * kernel * new_chi[:, None, :]
        new_out = np.sum(new_fitted, axis=-1)
        new_exp = phi * new_out
        new_er = new_exp[:, reference]
        new_dp = ((new_pi / exp_pi) / (new_er / er)[:, None]) ** inv
        new_omr = new_out * new_er[:, None] / new_pi
        new_imr = new_exp / (new_chi * new_er[:, None])
        diff = dp - dp_prev
        stop = (_stata_sd(diff) <= tolerance) & (np.abs(np.max(diff, axis=-1)) <= tolerance)
        m2, m1 = active[:, None, None], active[:, None]
        fitted = np.where(m2, new_fitted, fitted)
        d_omr = np.where(m1, new_omr / omr, d_omr)
        d_imr = np.where(m1, new_imr / imr, d_imr)
        exp_pi, exp_chi = np.where(m1, new_pi, exp_pi), np.where(m1, new_chi, exp_chi)
        out, exp = np.where(m1, new_out, out), np.where(m1, new_exp, exp)
        er = np.where(active, new_er, er)
        omr, imr = np.where(m1, new_omr, omr), np.where(m1, new_imr, imr)
        dp_prev, dp = np.where(m1, dp, dp_prev), np.where(m1, new_dp, dp)
        active &= ~stop
        if not active.any():
            break
    opts = options or SolverOptions()
    if active.any() and opts.raise_on_failure:
        raise ConvergenceError(
            f"compat='yotov': the authors' stopping rule (sd and max of price-change differences <= "
            f"{tolerance}) was not met in {max_rounds} rounds",
            residual=float(np.max(np.abs(dp - dp_prev))),
            iterations=rounds,
            method="yotov-geppml",
        )
    price = ((exp_pi / exp_pi0) / (er / er0)[:, None]) ** inv
    out_full = price * y0
    exp_full = phi * out_full
    omr_full = out_full * er[:, None] / exp_pi
    imr_full = exp / (exp_chi * er[:, None])
    flows_full = out_full[:, :, None] * exp_full[:, None, :] * kernel / (omr_full[:, :, None] * imr_full[:, None, :])

    def shape(v: np.ndarray) -> np.ndarray:
        return v.reshape(*batch, *v.shape[1:])

    return CounterfactualArrays(
        flows_baseline=shape(x),
        flows_conditional=shape(cond),
        flows_counterfactual=shape(flows_full),
        output_baseline=shape(y0),
        output_counterfactual=shape(out_full),
        expenditure_baseline=shape(e0),
        expenditure_counterfactual=shape(exp_full),
        price_hat=shape(price),
        omr_hat=shape((omr_full / omr0) ** inv),
        imr_hat=shape((imr_full / imr0) ** inv),
        omr_cond_hat=shape((omr_cond / omr0) ** inv),
        imr_cond_hat=shape((imr_cond / imr0) ** inv),
        method="yotov",
        records=tuple(records[:2] + records[-1:]),
        iterations=rounds,
    )
