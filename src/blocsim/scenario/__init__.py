"""Scenario files (TOML) -> validated (before, after) policy states; the built-in scenario library.

This floor parses and validates; running a scenario is :func:`blocsim.pipeline.run_scenario`.

Public names (imported lazily): :class:`Scenario`, :func:`load_scenario`, :func:`parse_scenario`,
:func:`scenario_source` (file name, line map, text); the built-in library
(:func:`library_names`, :func:`library_entries`, :func:`library_text`); :func:`build_states`
and :func:`describe_changes` (the before/after policy states); :func:`load_config` and
:class:`GEConfig` (``blocsim ge`` files).
"""

from blocsim._lazy import lazy_exports

_PUBLIC = {
    "Scenario": "blocsim.scenario.schema",
    "load_scenario": "blocsim.scenario.loader",
    "parse_scenario": "blocsim.scenario.loader",
    "scenario_source": "blocsim.scenario.loader",
    "library_names": "blocsim.scenario.loader",
    "library_entries": "blocsim.scenario.library",
    "library_text": "blocsim.scenario.library",
    "build_states": "blocsim.scenario.build",
    "describe_changes": "blocsim.scenario.build",
    "load_config": "blocsim.scenario.ge_config",
    "GEConfig": "blocsim.scenario.ge_config",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
