"""The public API the front ends (CLI, report, web) use: top-level names and the scenario library text."""

from __future__ import annotations

import importlib

import pytest

import blocsim
from blocsim import pipeline, scenario
from blocsim.errors import ScenarioError


def test_top_level_names_are_the_packages_own() -> None:
    """``blocsim.X`` is the object its package lists in ``__all__`` (one object, two addresses)."""
    for name, package in blocsim._PUBLIC.items():
        namespace = importlib.import_module(package)
        assert name in namespace.__all__, f"blocsim.{name}: {package} does not list it"
        assert getattr(blocsim, name) is getattr(namespace, name)
    assert blocsim.run_scenario is pipeline.run_scenario and blocsim.monte_carlo is pipeline.monte_carlo


def test_library_text_reads_a_builtin_scenario_and_refuses_other_names() -> None:
    text = scenario.library_text("kazakhstan-leaves")
    assert scenario.parse_scenario(text, source="library/kazakhstan-leaves.toml").scenario.name == "kazakhstan-leaves"
    with pytest.raises(ScenarioError, match=r"'\.\./kazakhstan-leaves': not a built-in scenario; built-in: .*kazakhstan-leaves"):
        scenario.library_text("../kazakhstan-leaves")
