"""Estimation: PPML structural gravity with high-dimensional fixed effects (pyfixest).

Public names: :func:`estimate_gravity` and its result :class:`GravityResults`.
"""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "estimate_gravity": "blocsim.estimation.ppml",
    "GravityResults": "blocsim.estimation.results",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
