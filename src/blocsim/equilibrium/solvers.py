"""Generic, batched fixed-point solver with Anderson acceleration.

The solver knows nothing about trade: it iterates a vectorised map ``x -> g(x)`` on arrays
of shape ``(..., n)`` (any leading batch dimensions, e.g. Monte Carlo draws), accelerates it
with Anderson mixing, and stops when the *equilibrium residual* that the map reports for
every batch element is below the tolerance. It returns a :class:`FixedPointResult` record
(``converged``, ``iterations``, ``max_residual``, ``method``) and raises
:class:`~blocsim.errors.ConvergenceError` on failure unless told otherwise.

Other models (e.g. the multi-sector GE) reuse :func:`solve_fixed_point` with their own map.

References
----------
Walker, H. F. and Ni, P. (2011). Anderson acceleration for fixed-point iterations.
SIAM Journal on Numerical Analysis 49(4), 1715-1735.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import ConvergenceError

StepFunction = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``step(x) -> (g(x), residual(x))`` with ``x, g(x)`` of shape ``(B, n)`` and residual ``(B,)``."""


@dataclass(frozen=True)
class FixedPointResult:
    """Outcome of :func:`solve_fixed_point`.

    Attributes
    ----------
    x : numpy.ndarray
        Last iterate, shape ``(..., n)`` (same leading shape as the starting point).
    converged : bool
        True when every batch element met the tolerance.
    iterations : int
        Number of map evaluations performed.
    max_residual : float
        Largest equilibrium residual over the batch at ``x``.
    method : str
        ``"anderson"`` or ``"iterate"``.
    residuals : numpy.ndarray
        Residual of each batch element at ``x``, shape ``(...)``.
    """

    x: np.ndarray
    converged: bool
    iterations: int
    max_residual: float
    method: str
    residuals: np.ndarray


def _anderson_direction(dx: np.ndarray, df: np.ndarray, f: np.ndarray, beta: float) -> np.ndarray:
    """Anderson type-II update ``beta*f - gamma @ (dX + beta*dF)`` for a batch.

    ``dx, df`` have shape ``(B, m, n)`` (history rows, C-contiguous so that every product
    below is a BLAS matrix product), ``f`` has shape ``(B, n)``; gamma solves the
    regularised normal equations ``(dF dF' + lam I) gamma = dF f`` (zero history rows give
    zero weights, which is how per-element restarts are encoded).
    """
    gram = np.matmul(df, df.transpose(0, 2, 1))
    rhs = np.matmul(df, f[:, :, None])
    scale = np.max(np.abs(np.diagonal(gram, axis1=1, axis2=2)), axis=1)
    idx = np.arange(gram.shape[-1])
    gram[:, idx, idx] += (1e-10 * scale + 1e-300)[:, None]
    gamma = np.linalg.solve(gram, rhs).transpose(0, 2, 1)  # (B, 1, m)
    return beta * (f - np.matmul(gamma, df)[:, 0, :]) - np.matmul(gamma, dx)[:, 0, :]


def solve_fixed_point(
    step: StepFunction,
    x0: np.ndarray,
    *,
    options: SolverOptions | None = None,
    name: str = "fixed point",
) -> FixedPointResult:
    """Iterate ``x <- g(x)`` until the reported equilibrium residual is below ``options.tol``.

    Parameters
    ----------
    step : callable
        ``step(x) -> (gx, residual)``; ``x`` and ``gx`` have shape ``(B, n)`` (the leading
        dimensions of ``x0`` flattened into ``B``), ``residual`` has shape ``(B,)`` and is the
        largest relative equilibrium residual of each problem evaluated *at x*.
    x0 : numpy.ndarray
        Starting point, shape ``(..., n)``.
    options : SolverOptions, optional
        Tolerance, iteration cap, method, Anderson memory, damping.
    name : str
        Name of the problem, used in the error message.

    Returns
    -------
    FixedPointResult
        Last iterate and diagnostics.

    Raises
    ------
    ConvergenceError
        When the residual is still above the tolerance after ``max_iter`` evaluations, or the
        map returns non-finite values (unless ``options.raise_on_failure`` is False).
    """
    opts = options or SolverOptions()
    x0 = np.asarray(x0, dtype=float)
    batch_shape, n = x0.shape[:-1], x0.shape[-1]
    x = x0.reshape(-1, n).copy()
    nb = x.shape[0]
    m = opts.memory
    dx_hist = np.zeros((nb, m, n))
    df_hist = np.zeros((nb, m, n))
    prev_x: np.ndarray | None = None
    prev_f: np.ndarray | None = None
    prev_res = np.full(nb, np.inf)
    res = np.full(nb, np.inf)
    slot = 0
    iterations = 0
    for iterations in range(1, opts.max_iter + 1):
        gx, res = step(x)
        res = np.asarray(res, dtype=float).reshape(nb)
        if not (np.all(np.isfinite(gx)) and np.all(np.isfinite(res))):
            res = np.where(np.isfinite(res), res, np.inf)
            break
        active = res > opts.tol
        if not active.any():
            break
        f = gx - x
        if opts.method == "iterate" or prev_x is None:
            new_x = x + opts.damping * f
        else:
            np.subtract(x, prev_x, out=dx_hist[:, slot, :])
            np.subtract(f, prev_f, out=df_hist[:, slot, :])
            worse = res > prev_res
            dx_hist[worse] = 0.0
            df_hist[worse] = 0.0
            slot = (slot + 1) % m
            new_x = x + _anderson_direction(dx_hist, df_hist, f, opts.damping)
            if not np.all(np.isfinite(new_x)):
                new_x = np.where(np.isfinite(new_x), new_x, x + opts.damping * f)
        prev_x, prev_f, prev_res = x, f, res
        x = np.where(active[:, None], new_x, x)
    converged = bool(np.all(res <= opts.tol))
    max_res = float(np.max(res)) if res.size else 0.0
    if not converged and opts.raise_on_failure:
        raise ConvergenceError(
            f"{name} did not converge to tol={opts.tol:g}; try SolverOptions(max_iter=...) larger, "
            "method='iterate' with damping<1, or check the data for isolated countries",
            residual=max_res,
            iterations=iterations,
            method=opts.method,
        )
    return FixedPointResult(
        x=x.reshape(*batch_shape, n),
        converged=converged,
        iterations=iterations,
        max_residual=max_res,
        method=opts.method,
        residuals=res.reshape(batch_shape),
    )
