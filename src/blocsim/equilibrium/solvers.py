"""Generic, batched fixed-point solver with Anderson acceleration.

The solver knows nothing about trade: it iterates a vectorised map ``x -> g(x)`` on arrays
of shape ``(..., n)`` (any leading batch dimensions, e.g. Monte Carlo draws), accelerates it
with Anderson mixing, and stops when the *equilibrium residual* that the map reports for
every batch element is below the tolerance. It returns a :class:`FixedPointResult` record
(``converged``, ``iterations``, ``max_residual``, ``method``, and the same per batch element)
and raises :class:`~blocsim.errors.ConvergenceError` on failure unless told otherwise.

Convergence is per batch element: an element whose residual meets the tolerance is frozen
at that iterate (its Anderson history no longer moves), and an element whose map returns
non-finite values stops there as failed, while the others go on. Every element therefore
follows exactly the iterates it would follow if it were solved alone, so a batch of draws
gives the numbers of a loop of single solves.

Other models (e.g. the multi-sector GE) reuse :func:`solve_fixed_point` with their own map.

References
----------
Walker, H. F. and Ni, P. (2011). Anderson acceleration for fixed-point iterations.
SIAM Journal on Numerical Analysis 49(4), 1715-1735.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
        Last iterate of each element, shape ``(..., n)`` (same leading shape as the start).
    converged : bool
        True when every batch element met the tolerance.
    iterations : int
        Map evaluations of the batch (the largest over its elements).
    max_residual : float
        Largest equilibrium residual over the batch at ``x``.
    method : str
        ``"anderson"`` or ``"iterate"`` (or a caller's label, e.g. ``"anderson+iterate"``).
    residuals : numpy.ndarray
        Residual of each batch element at ``x``, shape ``(...)``.
    element_converged : numpy.ndarray of bool
        Whether each element met the tolerance, shape ``(...)``.
    element_iterations : numpy.ndarray of int
        Map evaluations each element needed (until it converged, failed or hit the cap),
        shape ``(...)``.
    element_method : numpy.ndarray of str
        Method of each element, shape ``(...)``.
    """

    x: np.ndarray
    converged: bool
    iterations: int
    max_residual: float
    method: str
    residuals: np.ndarray
    element_converged: np.ndarray
    element_iterations: np.ndarray
    element_method: np.ndarray

    def select(self, index: int | np.ndarray) -> FixedPointResult:
        """The record of element ``index`` (an int) or of several elements (an index array)
        of a one-dimensional batch; the aggregates are recomputed over the selection."""
        res = self.residuals[index]
        iters = self.element_iterations[index]
        methods = self.element_method[index]
        return FixedPointResult(
            x=self.x[index],
            converged=bool(np.all(self.element_converged[index])),
            iterations=int(np.max(iters, initial=0)),
            max_residual=float(np.max(res, initial=0.0)),
            method=str(methods) if np.ndim(methods) == 0 else _common_method(methods),
            residuals=res,
            element_converged=self.element_converged[index],
            element_iterations=iters,
            element_method=methods,
        )


def _common_method(methods: np.ndarray) -> str:
    """The one method of all elements, or the distinct ones joined by ``"|"``."""
    return "|".join(sorted(set(np.ravel(methods).tolist()))) or "none"


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
    restrict: Callable[[np.ndarray], StepFunction] | None = None,
) -> FixedPointResult:
    """Iterate ``x <- g(x)`` until the reported equilibrium residual is below ``options.tol``.

    Parameters
    ----------
    step : callable
        ``step(x) -> (gx, residual)``; ``x`` and ``gx`` have shape ``(B, n)`` (the leading
        dimensions of ``x0`` flattened into ``B``), ``residual`` has shape ``(B,)`` and is the
        largest relative equilibrium residual of each problem evaluated *at x*. Rows of
        elements that are already done are still passed (frozen); their output is ignored.
    x0 : numpy.ndarray
        Starting point, shape ``(..., n)``.
    options : SolverOptions, optional
        Tolerance, iteration cap, method, Anderson memory, damping.
    name : str
        Name of the problem, used in the error message.
    restrict : callable, optional
        ``restrict(rows) -> step`` of the elements ``rows`` (indices into the flattened batch)
        alone. When given, the elements that are done are dropped from the evaluations each
        time a quarter of the evaluated ones have stopped (the map of the rest is rebuilt
        once); every element still follows exactly its own iterates.

    Returns
    -------
    FixedPointResult
        Last iterate and diagnostics, overall and per element.

    Raises
    ------
    ConvergenceError
        When an element's residual is still above the tolerance after ``max_iter``
        evaluations, or its map returned non-finite values (unless
        ``options.raise_on_failure`` is False).
    """
    opts = options or SolverOptions()
    x0 = np.asarray(x0, dtype=float)
    batch_shape, n = x0.shape[:-1], x0.shape[-1]
    x_all = x0.reshape(-1, n).copy()
    nb = x_all.shape[0]
    res_all = np.full(nb, np.inf)
    used_all = np.zeros(nb, dtype=int)
    live = np.arange(nb)  # the elements evaluated; arrays below are for them
    x, res, used = x_all.copy(), res_all.copy(), used_all.copy()
    dx_hist = np.zeros((nb, opts.memory, n))
    df_hist = np.zeros((nb, opts.memory, n))
    prev_x = prev_f = None
    prev_res = np.full(nb, np.inf)
    running = np.ones(nb, dtype=bool)  # not yet converged, failed or capped
    slot = 0
    iterations = 0
    for iterations in range(1, opts.max_iter + 1):
        gx, step_res = step(x)
        step_res = np.asarray(step_res, dtype=float).reshape(len(live))
        finite = np.isfinite(step_res) & np.isfinite(gx).all(axis=1)
        if running.all() and finite.all():  # the common case, without masks
            res, used[:] = step_res, iterations
            running = res > opts.tol
        else:
            res = np.where(running, np.where(finite, step_res, np.inf), res)  # done elements keep theirs
            used[running] = iterations
            running &= finite & (res > opts.tol)
        if not running.any():
            break
        f = gx - x if running.all() else np.where(running[:, None], gx - x, 0.0)  # done: no move, finite history
        if opts.method == "iterate" or prev_x is None or prev_f is None:
            new_x = x + opts.damping * f
        else:
            np.subtract(x, prev_x, out=dx_hist[:, slot, :])
            np.subtract(f, prev_f, out=df_hist[:, slot, :])
            worse = res > prev_res
            dx_hist[worse] = 0.0
            df_hist[worse] = 0.0
            slot = (slot + 1) % opts.memory
            new_x = x + _anderson_direction(dx_hist, df_hist, f, opts.damping)
            if not np.all(np.isfinite(new_x)):
                new_x = np.where(np.isfinite(new_x), new_x, x + opts.damping * f)
        prev_x, prev_f, prev_res = x, f, res
        x = new_x if running.all() else np.where(running[:, None], new_x, x)
        if restrict is not None and running.sum() <= 0.75 * len(live):
            x_all[live], res_all[live], used_all[live] = x, res, used
            keep = np.flatnonzero(running)
            live, running = live[keep], running[keep]
            x, res, used = x[keep], res[keep], used[keep]
            prev_x, prev_f, prev_res = prev_x[keep], prev_f[keep], prev_res[keep]
            dx_hist, df_hist = dx_hist[keep], df_hist[keep]
            del step  # release the old map (and the arrays it holds) before building the smaller one
            step = restrict(live)
    x_all[live], res_all[live], used_all[live] = x, res, used
    converged_each = res_all <= opts.tol
    converged = bool(np.all(converged_each))
    max_res = float(np.max(res_all)) if res_all.size else 0.0
    if not converged and opts.raise_on_failure:
        raise ConvergenceError(
            f"{name} did not converge to tol={opts.tol:g}; try SolverOptions(max_iter=...) larger, "
            "method='iterate' with damping<1, or check the data for isolated countries",
            residual=max_res,
            iterations=iterations,
            method=opts.method,
        )
    return FixedPointResult(
        x=x_all.reshape(*batch_shape, n),
        converged=converged,
        iterations=iterations,
        max_residual=max_res,
        method=opts.method,
        residuals=res_all.reshape(batch_shape),
        element_converged=converged_each.reshape(batch_shape),
        element_iterations=used_all.reshape(batch_shape),
        element_method=np.full(batch_shape, opts.method),
    )


def solve_with_fallback(
    make_step: Callable[[np.ndarray | None], StepFunction],
    x0: np.ndarray,
    options: SolverOptions | None,
    *,
    name: str,
    hint: str,
) -> FixedPointResult:
    """Anderson first; every element that stalls is restarted with plain iteration from ``x0``.

    For maps that are stable without acceleration (e.g. a wage tatonnement, a Sinkhorn-type
    matrix scaling) on which Anderson mixing can stall. ``make_step(rows)`` builds the map of
    the elements ``rows`` of the batch (None: all of them); ``x0`` has shape ``(B, n)``.

    Anderson gets ``max(1000, max_iter // 10)`` evaluations (at most ``max_iter``; it needs
    ~50-150 when it works on 18 regions x 4 sectors and 250-700 on the 85 x 28 tables of
    dataset v2), plain iteration the rest of ``max_iter`` of that element. An element's record counts
    both attempts (method ``"anderson+iterate"``); elements that converge stay frozen at their
    own iterate, so each follows exactly the iterates it would follow alone. With
    ``options.method == "iterate"`` only the plain iteration runs.

    Raises
    ------
    ConvergenceError
        Once every element has run, when some did not converge and
        ``options.raise_on_failure`` (the message names them and ends with ``hint``).
    """
    opts = options or SolverOptions()
    quiet = replace(opts, raise_on_failure=False)
    if opts.method == "iterate":
        record = solve_fixed_point(make_step(None), x0, options=quiet, name=name, restrict=make_step)
    else:
        budget = min(opts.max_iter, max(1000, opts.max_iter // 10))
        record = solve_fixed_point(make_step(None), x0, options=replace(quiet, max_iter=budget), name=name,
                                   restrict=make_step)
        remaining = opts.max_iter - record.element_iterations
        stalled = ~record.element_converged & (remaining >= 1)
        for left in np.unique(remaining[stalled]):  # one plain run per remaining budget
            rows = np.flatnonzero(stalled & (remaining == left))
            plain = replace(quiet, method="iterate", max_iter=int(left))
            again = solve_fixed_point(make_step(rows), x0[rows], options=plain, name=name,
                                      restrict=lambda local, rows=rows: make_step(rows[local]))
            record = _restarted(record, rows, again)
    if not record.converged and opts.raise_on_failure:
        bad = np.flatnonzero(~record.element_converged)
        which = "" if record.residuals.size == 1 else (
            f" in {bad.size} of {record.residuals.size} elements (first: "
            + ", ".join(f"#{k} residual {record.residuals[k]:.2e}" for k in bad[:5]) + ")"
        )
        raise ConvergenceError(
            f"{name} did not converge to tol={opts.tol:g}{which} (Anderson, then plain iteration); {hint}",
            residual=record.max_residual,
            iterations=record.iterations,
            method=record.method,
        )
    return record


def _restarted(first: FixedPointResult, rows: np.ndarray, second: FixedPointResult) -> FixedPointResult:
    """``first`` (a flat batch) with the elements ``rows`` replaced by their restart ``second``."""
    x, res = first.x.copy(), first.residuals.copy()
    conv, iters = first.element_converged.copy(), first.element_iterations.copy()
    methods = first.element_method.astype(object)
    x[rows], res[rows], conv[rows] = second.x, second.residuals, second.element_converged
    iters[rows] += second.element_iterations
    methods[rows] = [f"{m}+{second.method}" for m in methods[rows]]
    merged = replace(first, x=x, residuals=res, element_converged=conv, element_iterations=iters,
                     element_method=methods.astype(str))
    return merged.select(np.arange(len(res)))
