"""The public API the front ends (CLI, report, web) use: top-level names and the scenario library text."""

from __future__ import annotations

import pytest

import blocsim
from blocsim import pipeline, scenario
from blocsim.errors import ScenarioError


def test_top_level_names_are_the_packages_own() -> None:
    """``blocsim.X`` is the object its package exports (one object, two addresses)."""
    assert blocsim.run_scenario is pipeline.run_scenario
    assert blocsim.monte_carlo is pipeline.monte_carlo
    assert blocsim.ScenarioResult is pipeline.ScenarioResult
    assert blocsim.load_scenario is scenario.load_scenario
    assert set(dir(blocsim)) == set(blocsim.__all__) - {"__version__"}


def test_library_text_reads_a_builtin_scenario_and_refuses_other_names() -> None:
    text = scenario.library_text("kazakhstan-leaves")
    assert scenario.parse_scenario(text, source="library/kazakhstan-leaves.toml").scenario.name == "kazakhstan-leaves"
    with pytest.raises(ScenarioError, match=r"'\.\./kazakhstan-leaves': not a built-in scenario; built-in: .*kazakhstan-leaves"):
        scenario.library_text("../kazakhstan-leaves")
