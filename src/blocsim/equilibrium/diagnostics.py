"""Diagnostics shared by every equilibrium model: one record, the same keys everywhere.

Every model (:func:`blocsim.solve_ge` in all modes, :func:`blocsim.solve_multisector`,
:func:`blocsim.solve_pe`) returns ``diagnostics`` with

``converged`` : bool
    The *equilibrium* holds: every part the model reports (e.g. the conditional and the
    full-endowment solve) meets its tolerance after the solve, and every reported number
    is finite. A compatibility algorithm that stops before the equilibrium by design
    reports False here (its ``method`` says why).
``iterations`` : int
    Iterations of all parts together.
``residual`` : float
    The equilibrium residual recomputed from the returned solution: the largest relative
    error of the model's market-clearing and income/expenditure identities over all parts
    (dimensionless, e.g. ``|sum_j X'_ij / Y'_i - 1|``); ``inf`` when a result is not finite.
``max_residual`` : float
    The same number under its older name.
``method`` : str
    The algorithm (and, for a compatibility mode, why it stops early).
``parts`` : list of dict
    One entry per part: ``name``, ``converged``, ``iterations``, ``residual``, ``method``.
``failed`` : list of str
    Names of the parts that did not converge and of the non-finite result columns
    (empty when ``converged``).
``message`` : str
    One line: what converged, what did not and what that means for the reported numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from blocsim.equilibrium.options import SolverOptions
from blocsim.errors import ConvergenceError

RESIDUAL_ALLOWANCE = 100.0
"""How far (a factor, dimensionless) the residual recomputed after a solve may exceed the
solver's tolerance: the solvers stop on the change of their iterates, which understates the
equilibrium residual by about ``1 / (1 - contraction rate)`` (hypothesis found a symmetric
case stopping at 1e-12 with a recomputed residual of 1.3e-12). A part converges when its
solver stopped on its own criterion and the recomputed residual is at most
``RESIDUAL_ALLOWANCE * tol``; the gegravity one-step mode (residual 6e-3) and real failures
stay far outside."""


@dataclass(frozen=True)
class Part:
    """Convergence of one part of a model solve (e.g. ``"full"`` or ``"conditional"``).

    Attributes
    ----------
    name : str
        Part name used in ``failed`` and in messages.
    converged : bool
        The part met its tolerance.
    iterations : int
        Iterations spent on it.
    residual : float
        Its equilibrium residual after the solve (dimensionless; ``inf`` if not finite).
    method : str
        Algorithm of the part.
    """

    name: str
    converged: bool
    iterations: int
    residual: float
    method: str

    def as_dict(self) -> dict[str, Any]:
        """The part as a JSON-friendly dict."""
        return {"name": self.name, "converged": self.converged, "iterations": self.iterations,
                "residual": self.residual, "method": self.method}


def finite_residual(value: object) -> float:
    """``float(value)``, or ``inf`` when it is NaN or infinite (a residual that is not a number)."""
    number = float(np.max(value)) if np.size(value) else 0.0  # type: ignore[arg-type]
    return number if math.isfinite(number) else math.inf


def within_tolerance(residual: float, options: SolverOptions | None) -> bool:
    """True when a recomputed residual meets ``options.tol`` (times :data:`RESIDUAL_ALLOWANCE`)."""
    tol = (options or SolverOptions()).tol
    return math.isfinite(residual) and residual <= RESIDUAL_ALLOWANCE * tol


def nonfinite_columns(frame: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """The columns of ``frame`` (among ``columns``) holding NaN or infinite values, with countries.

    Returns entries such as ``"omr_pct (RUS, KAZ)"``.
    """
    found = []
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            where = frame["country"].to_numpy()[bad][:5] if "country" in frame.columns else np.flatnonzero(bad)[:5]
            found.append(f"{column} ({', '.join(map(str, where))})")
    return found


def summarise(parts: Sequence[Part], *, method: str, nonfinite: Sequence[str] = (),
              note: str = "", **extra: Any) -> dict[str, Any]:
    """Build the common diagnostics dict (see the module notes) from the parts of a solve.

    Parameters
    ----------
    parts : sequence of Part
        Every part whose result is reported.
    method : str
        Algorithm name for ``method``.
    nonfinite : sequence of str
        Reported columns with non-finite values (from :func:`nonfinite_columns`); any makes
        ``converged`` False and ``residual`` infinite.
    note : str
        Extra sentence for ``message`` (e.g. what a failed part means for the tables).
    **extra
        Model-specific keys added after the common ones.
    """
    failed = [p.name for p in parts if not p.converged] + [f"non-finite {c}" for c in nonfinite]
    residual = max((p.residual for p in parts), default=0.0)
    if nonfinite:
        residual = math.inf
    converged = not failed
    if converged:
        message = f"converged: {', '.join(f'{p.name} residual {p.residual:.1e}' for p in parts) or 'closed form'}"
    else:
        parts_text = "; ".join(
            f"{p.name} {'converged' if p.converged else 'did NOT converge'} (residual {p.residual:.3e} after "
            f"{p.iterations} iterations, {p.method})" for p in parts
        )
        message = f"not converged: {parts_text}"
        if nonfinite:
            message += f"; non-finite results in {', '.join(nonfinite)}"
    if note:
        message += f". {note}"
    return {
        "converged": converged,
        "iterations": int(sum(p.iterations for p in parts)),
        "residual": residual,
        "max_residual": residual,
        "method": method,
        "parts": [p.as_dict() for p in parts],
        "failed": failed,
        "message": message,
        **extra,
    }


def raise_unless_allowed(diagnostics: dict[str, Any], options: SolverOptions | None, *, model: str) -> None:
    """Raise :class:`ConvergenceError` for a failed solve unless ``options.raise_on_failure`` is False.

    Parameters
    ----------
    diagnostics : dict
        From :func:`summarise`.
    options : SolverOptions or None
        ``raise_on_failure=False`` returns the partial result (``converged=False``) instead.
    model : str
        Model name for the message.
    """
    if diagnostics["converged"] or not (options or SolverOptions()).raise_on_failure:
        return
    raise ConvergenceError(
        f"{model}: {diagnostics['message']}. Fix: check the inputs (elasticities, prohibitive shocks), "
        "raise SolverOptions(max_iter=...), or pass SolverOptions(raise_on_failure=False) to get the partial "
        "result with converged=False",
        residual=float(diagnostics["residual"]),
        iterations=int(diagnostics["iterations"]),
        method=str(diagnostics["method"]),
    )
