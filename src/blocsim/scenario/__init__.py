"""Scenario files (TOML) -> validated (before, after) policy states; the built-in scenario library.

This floor parses and validates; running a scenario is :func:`blocsim.pipeline.run_scenario`.

Public names (imported lazily): :class:`Scenario`, :func:`load_scenario`, :func:`parse_scenario`,
:func:`scenario_source` (file name, line map, text); the built-in library
(:func:`library_names`, :func:`library_entries`, :func:`library_text`, :func:`library_path`)
and templates for new scenarios (:func:`scenario_template`); :func:`build_states`
and :func:`describe_changes` (the before/after policy states); :class:`OneSectorScenario` (``[model] name =
"onesector"``); :data:`MODEL_NAMES`; the deprecated ``blocsim ge`` format (:func:`load_config`,
:class:`GEConfig`, :func:`config_to_scenario`, :func:`read_ge_file`, :data:`CONVERT_HINT`).
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
    "library_path": "blocsim.scenario.library",
    "scenario_template": "blocsim.scenario.library",
    "build_states": "blocsim.scenario.build",
    "describe_changes": "blocsim.scenario.build",
    "load_config": "blocsim.scenario.ge_config",
    "GEConfig": "blocsim.scenario.ge_config",
    "config_to_scenario": "blocsim.scenario.ge_config",
    "read_ge_file": "blocsim.scenario.ge_config",
    "CONVERT_HINT": "blocsim.scenario.ge_config",
    "OneSectorScenario": "blocsim.scenario.schema",
    "MODEL_NAMES": "blocsim.scenario.schema",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
