"""blocsim: a customs union as software.

Public entry points (imported lazily so that ``import blocsim`` stays fast):

- :func:`estimate_gravity` -- PPML with high-dimensional fixed effects (``blocsim.estimation``)
- :func:`solve_ge` -- one-sector structural-gravity general equilibrium (``blocsim.equilibrium``)
- :func:`solve_multisector` -- multi-sector GE with tariffs, duty pool and IO links
- :func:`solve_pe` -- tariff-line partial equilibrium
- :func:`monte_carlo` -- uncertainty bands (``blocsim.results``)
- :func:`load_dataset` -- bundled and imported datasets (``blocsim.data``)
- :func:`load_scenario`, :func:`run_scenario` -- scenario files (``blocsim.scenario``)
"""

from __future__ import annotations

from blocsim._lazy import lazy_exports
from blocsim._version import __version__

_PUBLIC = {
    "GravityData": "blocsim.data",
    "load_dataset": "blocsim.data",
    "estimate_gravity": "blocsim.estimation",
    "solve_ge": "blocsim.equilibrium",
    "solve_multisector": "blocsim.equilibrium",
    "solve_pe": "blocsim.equilibrium",
    "DutyPool": "blocsim.equilibrium",
    "monte_carlo": "blocsim.pipeline",
    "load_scenario": "blocsim.scenario",
    "run_scenario": "blocsim.pipeline",
}

__all__ = ["__version__", *_PUBLIC]
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
