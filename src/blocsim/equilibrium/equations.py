r"""Vectorised equilibrium equations of the one-sector structural gravity model.

Every function works on arrays with any number of leading *batch* dimensions: flows have
shape ``(..., N, N)`` (rows exporters ``i``, columns importers ``j``), country vectors
``(..., N)``. Monte Carlo code can therefore solve many draws in one call, e.g.
``solve_counterfactual(flows[None], cost_change_draws, sigma=7.0, reference=r)`` with
``cost_change_draws`` of shape ``(D, N, N)`` (the flows broadcast against the draws).

Notation (Anderson and van Wincoop 2003; Yotov et al. 2016, ch. 2). Baseline flows
:math:`X_{ij}`, output :math:`Y_i=\sum_j X_{ij}`, expenditure :math:`E_j=\sum_i X_{ij}`,
import shares :math:`\pi_{ij} = X_{ij}/E_j`, trade-cost shock
:math:`a_{ij} = (t'_{ij}/t_{ij})^{1-\sigma}`. Hats are ratios counterfactual/baseline.

*Conditional GE* (output and expenditure fixed): the multilateral resistances
:math:`\hat\Omega_i = \hat\Pi_i^{1-\sigma}` and :math:`\hat\Phi_j = \hat P_j^{1-\sigma}` solve

.. math:: X^c_{ij} = X_{ij} a_{ij} / (\hat\Omega_i \hat\Phi_j),\quad
          \sum_j X^c_{ij} = Y_i,\quad \sum_i X^c_{ij} = E_j .

*Full endowment GE* (Armington, endowments fixed, factory-gate price changes :math:`p_i`):

.. math:: \hat\Phi_j = \sum_i \pi_{ij} a_{ij} p_i^{1-\sigma},\qquad
          X'_{ij} = X_{ij} a_{ij} p_i^{1-\sigma} E'_j / (E_j \hat\Phi_j),\qquad
          p_i Y_i = \sum_j X'_{ij}

with :math:`E'_j = p_j E_j \sum_i p_i Y_i / \sum_k p_k E_k` (``closure="ratio"``: expenditure/output
ratios fixed up to the common factor that keeps world expenditure equal to world output) or
:math:`E'_j = p_j Y_j + D_j`, :math:`D_j = E_j - Y_j` (``closure="level"``: deficits fixed in
levels, Dekle, Eaton and Kortum 2007). Then :math:`\hat\Omega_i = p_i^\sigma`. The price
normalisation is :math:`\hat P_r = 1` for a reference importer ``r``, or world nominal output
unchanged, :math:`\sum_i p_i Y_i = \sum_i Y_i`, when no reference is given. Under
``closure="level"`` the deficits are fixed in units of world nominal output (as in Stata's
``ge_gravity``); with a reference importer the solution is then expressed in units of its
price index (every nominal value divided by :math:`\hat P_r`), so real outcomes never depend on
the reference and :math:`\hat P_r = 1` under both closures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blocsim.equilibrium.options import SolverOptions
from blocsim.equilibrium.solvers import FixedPointResult, solve_fixed_point
from blocsim.errors import ConvergenceError, DataValidationError


def _gauge_factor(imr: np.ndarray, reference: int | None) -> np.ndarray:
    """Factor ``c`` (shape ``(...)``) such that ``imr / c`` meets the normalisation."""
    if reference is None:
        return np.exp(np.mean(np.log(imr), axis=-1))
    return imr[..., reference]


def broadcast_problem(
    flows: np.ndarray, cost_change: np.ndarray, *, flatten: bool = False
) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """Broadcast baseline flows and cost changes to their common batch shape.

    Parameters
    ----------
    flows, cost_change : numpy.ndarray
        Shapes ``(..., N, N)`` that broadcast against each other.
    flatten : bool
        Collapse the batch dimensions into one, shapes ``(B, N, N)``.

    Returns
    -------
    batch : tuple of int
        The common leading shape.
    flows, cost_change : numpy.ndarray
        Float arrays of shape ``(*batch, N, N)`` (read-only views), or ``(B, N, N)``.
    """
    x = np.asarray(flows, dtype=float)
    a = np.asarray(cost_change, dtype=float)
    batch = np.broadcast_shapes(x.shape[:-2], a.shape[:-2])
    n = x.shape[-1]
    x = np.broadcast_to(x, (*batch, n, n))
    a = np.broadcast_to(a, (*batch, n, n))
    if flatten:
        x, a = x.reshape(-1, n, n), a.reshape(-1, n, n)
    return batch, x, a


def solve_resistances(
    kernel: np.ndarray,
    output: np.ndarray,
    expenditure: np.ndarray,
    *,
    reference: int | None,
    options: SolverOptions | None = None,
) -> tuple[np.ndarray, np.ndarray, FixedPointResult]:
    r"""Solve the multilateral-resistance system for given output and expenditure.

    Finds :math:`\Omega` (outward, :math:`\Pi^{1-\sigma}`) and :math:`\Phi` (inward,
    :math:`P^{1-\sigma}`) such that :math:`X_{ij} = K_{ij} Y_i E_j / (\Omega_i \Phi_j)` has row
    sums :math:`Y` and column sums :math:`E` (a matrix-scaling problem; Sinkhorn iteration
    with Anderson acceleration on :math:`\log\Omega`).

    Parameters
    ----------
    kernel : numpy.ndarray
        Non-negative matrix ``K``, shape ``(..., N, N)``; e.g. :math:`t_{ij}^{1-\sigma}` in levels
        or :math:`X_{ij} a_{ij} / (Y_i E_j)` in changes. Every row and column needs a positive entry.
    output, expenditure : numpy.ndarray
        Targets ``Y`` and ``E`` (same currency unit), shape ``(..., N)``, positive, with equal sums.
    reference : int or None
        Index of the reference importer whose :math:`\Phi` is 1; ``None`` sets the geometric
        mean of :math:`\Phi` to 1.
    options : SolverOptions, optional
        Solver settings.

    Returns
    -------
    omr, imr : numpy.ndarray
        :math:`\Omega` and :math:`\Phi`, shape ``(..., N)``.
    record : FixedPointResult
        Convergence record (residual = largest relative row-sum error).
    """
    kernel = np.asarray(kernel, dtype=float)
    batch = np.broadcast_shapes(kernel.shape[:-2], output.shape[:-1], expenditure.shape[:-1])
    n = kernel.shape[-1]
    kern = np.broadcast_to(kernel, (*batch, n, n)).reshape(-1, n, n)
    y = np.broadcast_to(output, (*batch, n)).reshape(-1, n)
    e = np.broadcast_to(expenditure, (*batch, n)).reshape(-1, n)

    def imr_of(log_omr: np.ndarray) -> np.ndarray:
        return np.einsum("bij,bi->bj", kern, y * np.exp(-log_omr))

    def step(log_omr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        imr = imr_of(log_omr)
        new = np.einsum("bij,bj->bi", kern, e / imr)
        residual = np.max(np.abs(new * np.exp(-log_omr) - 1.0), axis=-1)
        c = _gauge_factor(imr, reference)
        return np.log(new * c[:, None]), residual

    x0 = np.log(np.einsum("bij,bj->bi", kern, e / np.sum(e, axis=-1, keepdims=True)))
    record = solve_fixed_point(step, x0, options=options, name="multilateral resistances")
    log_omr = record.x
    imr = imr_of(log_omr)
    c = _gauge_factor(imr, reference)
    omr = np.exp(log_omr) * c[:, None]
    imr = imr / c[:, None]
    return omr.reshape(*batch, n), imr.reshape(*batch, n), record


def expenditure_closure(
    price: np.ndarray, output: np.ndarray, expenditure: np.ndarray, closure: str
) -> np.ndarray:
    """Counterfactual expenditure ``E'`` (shape ``(..., N)``) for factory-gate price changes ``p``.

    ``"ratio"``: ``E'_j = p_j E_j * sum_i p_i Y_i / sum_k p_k E_k`` -- expenditure/output ratios
    fixed relative to one another and world expenditure equal to world output (the share form
    of the resistance equations in Yotov et al. 2016 and gegravity; without the common factor
    the deficits would not add up to zero and no market-clearing equilibrium would exist).
    ``"level"``: ``E' = p Y + (E - Y)`` (deficits fixed in levels; they add up to zero).
    """
    if closure == "ratio":
        scale = np.sum(price * output, axis=-1) / np.sum(price * expenditure, axis=-1)
        return price * expenditure * scale[..., None]
    return price * output + (expenditure - output)


def _normalise_price(
    price: np.ndarray,
    flows: np.ndarray,
    cost_change: np.ndarray,
    output: np.ndarray,
    expenditure: np.ndarray,
    sigma: float | np.ndarray,
    reference: int | None,
) -> np.ndarray:
    """Rescale ``p`` to the numeraire (``P_r`` unchanged, or world nominal output unchanged)."""
    if reference is None:
        scale = np.sum(price * output, axis=-1) / np.sum(output, axis=-1)
        return price / scale[..., None]
    col = flows[..., :, reference] * cost_change[..., :, reference]
    phi_r = np.sum(col * price ** (1.0 - sigma), axis=-1, keepdims=True) / expenditure[..., reference : reference + 1]
    return price / phi_r ** (1.0 / (1.0 - sigma))


def full_flows(
    price: np.ndarray,
    flows: np.ndarray,
    cost_change: np.ndarray,
    output: np.ndarray,
    expenditure: np.ndarray,
    sigma: float | np.ndarray,
    closure: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Counterfactual flows for given price changes.

    Returns
    -------
    new_flows : numpy.ndarray
        :math:`X'_{ij}`, shape ``(..., N, N)``.
    phi_hat : numpy.ndarray
        :math:`\hat\Phi_j = \hat P_j^{1-\sigma}`, shape ``(..., N)``.
    new_expenditure : numpy.ndarray
        :math:`E'_j`, shape ``(..., N)``.
    """
    demand = flows * cost_change * (price ** (1.0 - sigma))[..., :, None]
    col = np.sum(demand, axis=-2)
    new_exp = expenditure_closure(price, output, expenditure, closure)
    new_flows = demand * (new_exp / col)[..., None, :]
    return new_flows, col / expenditure, new_exp


def solve_full_endowment(
    flows: np.ndarray,
    cost_change: np.ndarray,
    *,
    sigma: float | np.ndarray,
    reference: int | None,
    closure: str = "ratio",
    options: SolverOptions | None = None,
) -> tuple[np.ndarray, FixedPointResult]:
    r"""Solve the full-endowment equilibrium for factory-gate price changes ``p``.

    The map is the market-clearing update :math:`p_i \leftarrow p_i\,(S_i/(p_i Y_i))^{1/\sigma}`
    (supply :math:`S_i=\sum_j X'_{ij}(p)`) followed by the normalisation, iterated on
    :math:`\log p` with Anderson acceleration; the residual is
    :math:`\max_i |S_i/(p_i Y_i) - 1|`.

    Parameters
    ----------
    flows : numpy.ndarray
        Baseline flows ``X``, shape ``(..., N, N)`` (USD millions), non-negative, positive
        row and column sums.
    cost_change : numpy.ndarray
        :math:`a_{ij}=(t'_{ij}/t_{ij})^{1-\sigma}`, shape ``(..., N, N)``, positive.
    sigma : float or numpy.ndarray
        Elasticity of substitution (> 1); an array of shape ``(..., 1)`` gives one value per
        problem of the batch (e.g. Monte Carlo draws of sigma).
    reference : int or None
        Reference importer index (its price index is the numeraire) under ``closure="ratio"``;
        must be None under ``"level"``, whose numeraire inside the solve is world nominal output
        (:func:`solve_counterfactual` re-expresses the solution in a reference's units).
    closure : {"ratio", "level"}
        Deficit closure.
    options : SolverOptions, optional
        Solver settings.

    Returns
    -------
    price : numpy.ndarray
        Factory-gate price changes ``p``, shape ``(..., N)``.
    record : FixedPointResult
        Convergence record.

    Raises
    ------
    DataValidationError
        ``reference`` given with ``closure="level"``.
    """
    if closure == "level" and reference is not None:
        raise DataValidationError(
            "argument 'reference': got an index with closure='level'; allowed: None (deficits are fixed in units "
            "of world nominal output). Fix: pass reference=None and rescale, or call solve_counterfactual."
        )
    batch, x, a = broadcast_problem(flows, cost_change, flatten=True)
    n = x.shape[-1]
    y = np.sum(x, axis=-1)
    e = np.sum(x, axis=-2)
    if np.ndim(sigma) > 0:  # one elasticity per problem: shape (..., 1)
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (*batch, 1)).reshape(-1, 1)

    def step(log_p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.exp(log_p)
        new_flows, _, new_exp = full_flows(p, x, a, y, e, sigma, closure)
        if np.any(new_exp <= 0):
            raise ConvergenceError(
                "full-endowment GE: counterfactual expenditure p*Y + D became non-positive under "
                "closure='level' (a deficit larger than output); use closure='ratio'",
                residual=float("inf"),
                iterations=0,
                method="market clearing",
            )
        excess = np.sum(new_flows, axis=-1) / (p * y)
        residual = np.max(np.abs(excess - 1.0), axis=-1)
        p_new = p * excess ** (1.0 / sigma)
        p_new = _normalise_price(p_new, x, a, y, e, sigma, reference)
        return np.log(p_new), residual

    record = solve_fixed_point(step, np.zeros((x.shape[0], n)), options=options, name="full-endowment GE")
    price = _normalise_price(np.exp(record.x), x, a, y, e, sigma, reference)
    return price.reshape(*batch, n), record


@dataclass(frozen=True)
class CounterfactualArrays:
    """Baseline, conditional and full-endowment outcome of one or many counterfactuals.

    All arrays carry the leading batch dimensions of the inputs. Flows in USD millions;
    ``*_hat`` are ratios counterfactual/baseline of the *levels* (``omr_hat`` is
    :math:`\\hat\\Pi`, ``imr_hat`` is :math:`\\hat P`, not their ``1-sigma`` powers).

    Attributes
    ----------
    flows_baseline, flows_conditional, flows_counterfactual : numpy.ndarray
        ``(..., N, N)``.
    output_baseline, output_counterfactual : numpy.ndarray
        ``(..., N)``.
    expenditure_baseline, expenditure_counterfactual : numpy.ndarray
        ``(..., N)``.
    price_hat, omr_hat, imr_hat, omr_cond_hat, imr_cond_hat : numpy.ndarray
        ``(..., N)``.
    method : str
        ``"textbook"``, ``"yotov"`` or ``"gegravity"``.
    records : tuple of FixedPointResult
        Convergence records of the conditional and full solves.
    iterations : int
        Outer iterations of compatibility algorithms (0 for the textbook solver).
    """

    flows_baseline: np.ndarray
    flows_conditional: np.ndarray
    flows_counterfactual: np.ndarray
    output_baseline: np.ndarray
    output_counterfactual: np.ndarray
    expenditure_baseline: np.ndarray
    expenditure_counterfactual: np.ndarray
    price_hat: np.ndarray
    omr_hat: np.ndarray
    imr_hat: np.ndarray
    omr_cond_hat: np.ndarray
    imr_cond_hat: np.ndarray
    method: str
    records: tuple[FixedPointResult, ...]
    iterations: int = 0


def solve_conditional(
    flows: np.ndarray,
    cost_change: np.ndarray,
    *,
    reference: int | None,
    options: SolverOptions | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, FixedPointResult]:
    """Conditional GE: flows and resistance changes with output and expenditure fixed.

    Returns ``(flows_conditional (..., N, N), omega_hat (..., N), phi_hat (..., N), record)``
    with ``omega_hat`` = change of :math:`\\Pi^{1-\\sigma}`, ``phi_hat`` = change of :math:`P^{1-\\sigma}`.
    """
    y = np.sum(flows, axis=-1)
    e = np.sum(flows, axis=-2)
    base = flows * cost_change
    kernel = base / (y[..., :, None] * e[..., None, :])
    omega, phi, record = solve_resistances(kernel, y, e, reference=reference, options=options)
    cond = base / (omega[..., :, None] * phi[..., None, :])
    return cond, omega, phi, record


def solve_counterfactual(
    flows: np.ndarray,
    cost_change: np.ndarray,
    *,
    sigma: float | np.ndarray,
    reference: int | None,
    closure: str = "ratio",
    options: SolverOptions | None = None,
) -> CounterfactualArrays:
    """Conditional and full-endowment counterfactual in changes (exact hat algebra).

    This is the batched array core behind :func:`blocsim.solve_ge`; Monte Carlo code calls
    it directly.

    Parameters
    ----------
    flows : numpy.ndarray
        Baseline flows, shape ``(..., N, N)`` (observed, or fitted from estimated costs by
        :func:`blocsim.equilibrium.baseline.fitted_flows`).
    cost_change : numpy.ndarray
        :math:`(t'/t)^{1-\\sigma}`, shape ``(..., N, N)``; broadcasts against ``flows``.
    sigma : float or numpy.ndarray
        Elasticity of substitution (> 1), or an array of shape ``(..., 1)`` with one value per
        problem of the batch.
    reference : int or None
        Index of the reference importer (its price index is the numeraire under both
        closures; see the module notes).
    closure : {"ratio", "level"}
        Deficit closure.
    options : SolverOptions, optional
        Solver settings.

    Returns
    -------
    CounterfactualArrays
    """
    _, x, a = broadcast_problem(flows, cost_change)
    y = np.sum(x, axis=-1)
    e = np.sum(x, axis=-2)
    cond, omega_c, phi_c, rec_c = solve_conditional(x, a, reference=reference, options=options)
    level = closure == "level"
    price, rec_f = solve_full_endowment(x, a, sigma=sigma, reference=None if level else reference, closure=closure,
                                        options=options)
    new_flows, phi_hat, new_exp = full_flows(price, x, a, y, e, sigma, closure)
    inv = 1.0 / (1.0 - sigma)
    if level and reference is not None:  # express the solution in units of the reference's price index
        unit = phi_hat[..., reference : reference + 1] ** inv  # P_r hat, shape (..., 1)
        price, new_exp, phi_hat = price / unit, new_exp / unit, phi_hat * unit ** (sigma - 1.0)
        new_flows = new_flows / unit[..., None]
    return CounterfactualArrays(
        flows_baseline=x,
        flows_conditional=cond,
        flows_counterfactual=new_flows,
        output_baseline=y,
        output_counterfactual=price * y,
        expenditure_baseline=e,
        expenditure_counterfactual=new_exp,
        price_hat=price,
        omr_hat=price ** (sigma * inv),
        imr_hat=phi_hat**inv,
        omr_cond_hat=omega_c**inv,
        imr_cond_hat=phi_c**inv,
        method="textbook",
        records=(rec_c, rec_f),
    )


def _relative_gap(total: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``max |total / target - 1|`` over the last axis; ``inf`` where anything is not finite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.max(np.abs(total / target - 1.0), axis=-1)
    return np.where(np.isfinite(gap), gap, np.inf)


def equilibrium_residuals(result: CounterfactualArrays) -> tuple[np.ndarray, np.ndarray]:
    r"""Equilibrium residuals of a solved counterfactual, recomputed from its arrays.

    Conditional GE: :math:`\max(\max_i |\sum_j X^c_{ij}/Y_i - 1|, \max_j |\sum_i X^c_{ij}/E_j - 1|)`
    (output and expenditure held at baseline). Full endowment:
    :math:`\max(\max_i |\sum_j X'_{ij}/Y'_i - 1|, \max_j |\sum_i X'_{ij}/E'_j - 1|)` (market
    clearing at the new factory-gate prices, :math:`Y'_i = p_i Y_i`, and the expenditure
    identity). A compatibility algorithm that stops before the equilibrium shows it here.

    Returns
    -------
    conditional, full : numpy.ndarray
        Dimensionless residuals, shape of the batch dimensions (``()`` for one problem);
        ``inf`` where a value is not finite.
    """
    cond = np.maximum(
        _relative_gap(np.sum(result.flows_conditional, axis=-1), result.output_baseline),
        _relative_gap(np.sum(result.flows_conditional, axis=-2), result.expenditure_baseline),
    )
    full = np.maximum(
        _relative_gap(np.sum(result.flows_counterfactual, axis=-1), result.output_counterfactual),
        _relative_gap(np.sum(result.flows_counterfactual, axis=-2), result.expenditure_counterfactual),
    )
    return cond, full


def _pct(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return (new - old) / old * 100.0


def country_changes(result: CounterfactualArrays) -> dict[str, np.ndarray]:
    """Per-country percent changes ``(CFL - BLN) / BLN * 100``, each of shape ``(..., N)``.

    Keys: ``exports_pct, imports_pct`` (international flows, full endowment),
    ``exports_cond_pct, imports_cond_pct`` (conditional), ``real_gdp_pct`` (:math:`Y/P`),
    ``welfare_pct`` (real expenditure :math:`E/P`), ``factory_price_pct``, ``omr_pct``,
    ``imr_pct``, ``omr_cond_pct``, ``imr_cond_pct``, ``output_pct``, ``expenditure_pct``,
    ``intranational_pct`` and the levels ``exports_baseline``, ``exports_counterfactual``,
    ``imports_baseline``, ``imports_counterfactual``, ``output_baseline``,
    ``output_counterfactual``, ``expenditure_baseline``, ``expenditure_counterfactual``.
    """
    n = result.flows_baseline.shape[-1]
    off = 1.0 - np.eye(n)

    def exports(f: np.ndarray) -> np.ndarray:
        return np.sum(f * off, axis=-1)

    def imports(f: np.ndarray) -> np.ndarray:
        return np.sum(f * off, axis=-2)

    def domestic(f: np.ndarray) -> np.ndarray:
        return np.diagonal(f, axis1=-2, axis2=-1)

    xb, xc, xf = result.flows_baseline, result.flows_conditional, result.flows_counterfactual
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "exports_pct": _pct(exports(xf), exports(xb)),
            "imports_pct": _pct(imports(xf), imports(xb)),
            "real_gdp_pct": (result.price_hat / result.imr_hat - 1.0) * 100.0,
            "welfare_pct": (result.expenditure_counterfactual / result.expenditure_baseline / result.imr_hat - 1.0)
            * 100.0,
            "factory_price_pct": (result.price_hat - 1.0) * 100.0,
            "omr_pct": (result.omr_hat - 1.0) * 100.0,
            "imr_pct": (result.imr_hat - 1.0) * 100.0,
            "exports_cond_pct": _pct(exports(xc), exports(xb)),
            "imports_cond_pct": _pct(imports(xc), imports(xb)),
            "omr_cond_pct": (result.omr_cond_hat - 1.0) * 100.0,
            "imr_cond_pct": (result.imr_cond_hat - 1.0) * 100.0,
            "output_pct": _pct(result.output_counterfactual, result.output_baseline),
            "expenditure_pct": _pct(result.expenditure_counterfactual, result.expenditure_baseline),
            "intranational_pct": _pct(domestic(xf), domestic(xb)),
            "exports_baseline": exports(xb),
            "exports_counterfactual": exports(xf),
            "imports_baseline": imports(xb),
            "imports_counterfactual": imports(xf),
            "output_baseline": result.output_baseline,
            "output_counterfactual": result.output_counterfactual,
            "expenditure_baseline": result.expenditure_baseline,
            "expenditure_counterfactual": result.expenditure_counterfactual,
        }
