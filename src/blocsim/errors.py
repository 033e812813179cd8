"""Exceptions raised by blocsim.

Every error a user can trigger with bad input is a :class:`BlocsimError`. Messages name
the file or argument, the field, the offending value, what is allowed, and a fix. The CLI
turns any ``BlocsimError`` into a one-line message and a non-zero exit code.
"""

from __future__ import annotations


class BlocsimError(Exception):
    """Base class of every error blocsim raises on purpose."""


class DataValidationError(BlocsimError, ValueError):
    """A data table breaks the schema: missing column, negative flow, non-square panel, ..."""


class ConvergenceError(BlocsimError, RuntimeError):
    """A solver stopped before the equilibrium residual fell below its tolerance.

    Attributes
    ----------
    residual : float
        Largest absolute equilibrium residual at the last iterate.
    iterations : int
        Iterations performed.
    method : str
        Name of the solver.
    """

    def __init__(self, message: str, *, residual: float, iterations: int, method: str) -> None:
        super().__init__(
            f"{message} (method={method}, iterations={iterations}, max residual={residual:.3e})"
        )
        self.residual = residual
        self.iterations = iterations
        self.method = method


class ScenarioError(BlocsimError, ValueError):
    """A scenario file is malformed: unknown field, country, product, date or bad value."""


class PolicyRuleViolation(BlocsimError, ValueError):
    """A policy state breaks the union's own rules (e.g. a member's own FTA, pool shares != 100)."""


class MeasureError(BlocsimError, ValueError):
    """A policy measure is malformed (a field with a value it cannot take), whatever the union's rules.

    Attributes
    ----------
    field : str
        The measure's field at fault (``"leak_via"``, ``"covered_share['KAZ']"``, ...).
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class StoreError(BlocsimError, RuntimeError):
    """The DuckDB/Parquet store could not complete an import or a query."""
