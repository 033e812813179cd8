"""Solver settings for the equilibrium models (frozen, self-validating).

:class:`SolverOptions` is shared by the one-sector GE engine and any other model that uses
:func:`blocsim.equilibrium.solvers.solve_fixed_point`. String options are ``Literal``
aliases; a bad value raises :class:`~blocsim.errors.DataValidationError` naming the field,
the value received and the allowed values.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal, Mapping, get_args

from blocsim.errors import DataValidationError

SolverMethod = Literal["anderson", "iterate"]
"""Fixed-point methods: Anderson-accelerated iteration (default) or plain damped iteration."""

BaselineMethod = Literal["estimated", "observed"]
"""How the baseline is calibrated: fitted flows from estimated trade costs, or observed flows."""

Closure = Literal["ratio", "level"]
"""Deficit closure: expenditure/output ratio fixed (Yotov et al.) or deficits fixed in levels (DEK)."""

Compat = Literal["yotov", "gegravity"]
"""Compatibility modes that reproduce a published implementation's full-endowment step."""


THETA_RANGE: tuple[float, float] = (0.1, 500.0)
"""Allowed trade elasticities ``theta`` (multi-sector GE, shock compilation), inclusive.

Estimates run from about 0.5 (short-run macro elasticities) to 65 (refined petroleum in
Caliendo and Parro 2015); 0.1 and 500 leave room for Monte Carlo draws. Near zero every
source is essential (a partial ban sends prices to infinity); the bounds keep every
``x ** (1 / theta)`` of the model finite."""

SIGMA_RANGE: tuple[float, float] = (1.0 + THETA_RANGE[0], 1.0 + THETA_RANGE[1])
"""Allowed elasticities of substitution ``sigma`` of the one-sector GE (``theta = sigma - 1``)."""


def check_elasticity(value: object, name: str, bounds: tuple[float, float], hint: str = "") -> float:
    """Return ``value`` as a float if it is a finite number within ``bounds`` (inclusive), else raise.

    Parameters
    ----------
    value : object
        The elasticity received (booleans and strings are rejected, not coerced).
    name : str
        Argument (and key) named in the message, e.g. ``"theta['agri_food']"``.
    bounds : tuple of float
        ``(low, high)``, e.g. :data:`THETA_RANGE`.
    hint : str
        Typical values, appended to the message.
    """
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    low, high = bounds
    label = repr(name) if name.isidentifier() else name
    if not (math.isfinite(number) and low <= number <= high):
        raise DataValidationError(
            f"argument {label}: got {value!r}; allowed: a number in [{low:g}, {high:g}]. {hint}".rstrip()
        )
    return number


def check_theta_mapping(theta: Mapping[str, object] | object, name: str = "theta") -> None:
    """Check a trade elasticity (a number or a mapping sector -> number) against :data:`THETA_RANGE`."""
    hint = "Typical values: 2-15 (Caliendo and Parro 2015: 1.45-64.85 by sector)."
    if isinstance(theta, Mapping):
        for key, value in theta.items():
            check_elasticity(value, f"{name}[{key!r}]", THETA_RANGE, hint)
    else:
        check_elasticity(theta, name, THETA_RANGE, hint)


def check_choice(value: object, allowed: tuple[str, ...], name: str, fix: str = "") -> None:
    """Raise :class:`DataValidationError` unless ``value`` is one of ``allowed``.

    Parameters
    ----------
    value : object
        Value received.
    allowed : tuple of str
        Allowed values.
    name : str
        Argument name used in the message.
    fix : str, optional
        Extra hint appended to the message.
    """
    if value not in allowed:
        hint = f" {fix}" if fix else ""
        raise DataValidationError(
            f"argument {name!r}: got {value!r}; allowed values are {', '.join(map(repr, allowed))}.{hint}"
        )


@dataclass(frozen=True)
class SolverOptions:
    """Settings of the fixed-point solvers.

    Parameters
    ----------
    tol : float
        Convergence tolerance on the largest relative equilibrium residual (dimensionless;
        e.g. ``|supply_i / (p_i Y_i) - 1|`` for market clearing). Default ``1e-12``.
    max_iter : int
        Maximum number of iterations of one fixed-point solve. Default 5000.
    method : {"anderson", "iterate"}
        ``"anderson"``: Anderson (type II) acceleration of the fixed-point map with a
        safeguard that falls back to the plain step when the accelerated step does not
        reduce the residual; ``"iterate"``: plain (optionally damped) iteration.
    memory : int
        Anderson memory (number of past differences used). Default 6.
    damping : float
        Weight of the new iterate in plain steps, in (0, 1]. Default 1 (no damping).
    raise_on_failure : bool
        Raise :class:`~blocsim.errors.ConvergenceError` when a solve does not converge
        (default). When False the last iterate is returned with ``converged=False``.
    """

    tol: float = 1e-12
    max_iter: int = 5000
    method: SolverMethod = "anderson"
    memory: int = 6
    damping: float = 1.0
    raise_on_failure: bool = True

    def __post_init__(self) -> None:
        check_choice(self.method, get_args(SolverMethod), "SolverOptions.method")
        if not (isinstance(self.tol, (int, float)) and 0.0 < float(self.tol) < 1.0):
            raise DataValidationError(
                f"argument 'SolverOptions.tol': got {self.tol!r}; allowed: a float in (0, 1). "
                "Fix: use e.g. tol=1e-12."
            )
        if not (isinstance(self.max_iter, int) and self.max_iter >= 1):
            raise DataValidationError(
                f"argument 'SolverOptions.max_iter': got {self.max_iter!r}; allowed: an int >= 1."
            )
        if not (isinstance(self.memory, int) and 1 <= self.memory <= 50):
            raise DataValidationError(
                f"argument 'SolverOptions.memory': got {self.memory!r}; allowed: an int in [1, 50]."
            )
        if not (isinstance(self.damping, (int, float)) and 0.0 < float(self.damping) <= 1.0):
            raise DataValidationError(
                f"argument 'SolverOptions.damping': got {self.damping!r}; allowed: a float in (0, 1]."
            )
