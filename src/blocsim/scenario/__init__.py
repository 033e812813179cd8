"""Scenario files (TOML) -> validated (before, after) policy states; the built-in scenario library.

Public names (imported lazily): :func:`load_scenario`, :func:`parse_scenario`,
:func:`run_scenario`, :class:`Scenario`, :class:`ScenarioResult`, :func:`library_names`,
:func:`library_entries`, :func:`build_states`.
"""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "Scenario": "blocsim.scenario.schema",
    "load_scenario": "blocsim.scenario.loader",
    "parse_scenario": "blocsim.scenario.loader",
    "library_names": "blocsim.scenario.loader",
    "library_entries": "blocsim.scenario.library",
    "build_states": "blocsim.scenario.build",
    "load_config": "blocsim.scenario.ge_config",
    "GEConfig": "blocsim.scenario.ge_config",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
