"""blocsim: a customs union as software.

The top-level public API, one name per step of the data path (imported lazily so that
``import blocsim`` stays fast); each name is also public in its own package:

- data (``blocsim.data``): :func:`load_dataset`, :class:`GravityData`, :class:`Store`,
  :func:`get_elasticities` (named trade-elasticity tables), :class:`RunRecord` (``run.json``, typed)
- scenario files (``blocsim.scenario``, parse and validate): :func:`load_scenario`,
  :func:`parse_scenario`, :class:`Scenario`, :func:`library_names`
- shock (``blocsim.shock``): :func:`compile_shock`
- models: :func:`estimate_gravity` (PPML, ``blocsim.estimation``); :func:`solve_ge`,
  :func:`solve_multisector`, :func:`solve_pe`, :class:`DutyPool`,
  :func:`purge_deficits` (balanced-trade baseline) (``blocsim.equilibrium``)
- results (``blocsim.results``): :func:`write_run`, :func:`read_run` (run directories),
  :func:`export_run` (Excel workbook, Stata files or locale-aware CSV)
- pipeline (``blocsim.pipeline``): :func:`run_scenario` / :class:`ScenarioResult` (a scenario
  end to end), :func:`monte_carlo` and :func:`scenario_bands` (uncertainty bands)
- report (``blocsim.report``): :func:`compare` (runs side by side, tables and an offline HTML page)
"""

from __future__ import annotations

from blocsim._lazy import lazy_exports
from blocsim._version import __version__

_PUBLIC = {
    "GravityData": "blocsim.data",
    "load_dataset": "blocsim.data",
    "Store": "blocsim.data",
    "get_elasticities": "blocsim.data",
    "RunRecord": "blocsim.data",
    "load_scenario": "blocsim.scenario",
    "parse_scenario": "blocsim.scenario",
    "Scenario": "blocsim.scenario",
    "library_names": "blocsim.scenario",
    "compile_shock": "blocsim.shock",
    "estimate_gravity": "blocsim.estimation",
    "solve_ge": "blocsim.equilibrium",
    "solve_multisector": "blocsim.equilibrium",
    "solve_pe": "blocsim.equilibrium",
    "DutyPool": "blocsim.equilibrium",
    "purge_deficits": "blocsim.equilibrium",
    "write_run": "blocsim.results",
    "read_run": "blocsim.results",
    "export_run": "blocsim.results",
    "run_scenario": "blocsim.pipeline",
    "ScenarioResult": "blocsim.pipeline",
    "monte_carlo": "blocsim.pipeline",
    "scenario_bands": "blocsim.pipeline",
    "compare": "blocsim.report",
}

__all__ = ["__version__", *_PUBLIC]
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
