"""Whole pipeline properties: a no-change scenario changes nothing; random scenarios either run to a
converged, finite result that keeps the model's accounting, or are refused with one of the two
expected errors: a ScenarioError naming the offending field, or (only when the scenario does not
allow rule violations) a PolicyRuleViolation naming the broken rule. Any other exception, including
any other BlocsimError (a ConvergenceError, a DataValidationError from inside the model), fails."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocsim.data import load_dataset
from blocsim.errors import PolicyRuleViolation, ScenarioError
from blocsim.pipeline import run_scenario
from blocsim.scenario import parse_scenario

DATA = load_dataset("eaeu")
CODES = list(DATA.countries["iso3"])
GOODS = ["agri_food", "mining_energy", "manufacturing"]

HEAD = """\
[scenario]
name = "pipeline"
title = "pipeline property"
event = "none"
sources = ["test"]

[data]
dataset = "eaeu-2016v1"
year = {year}

[policy]
allow_rule_violations = {allow}

[before]
date = {date}

[after]
"""


def test_a_scenario_without_changes_changes_nothing() -> None:
    text = HEAD.format(year=2016, allow="false", date="2016-06-01")
    result = run_scenario(parse_scenario(text, source="same.toml"))
    assert result.shock.cost_factor.empty and result.meta["policy_changes"] == []
    numbers = result.countries.filter(like="_pct").to_numpy()
    assert np.abs(numbers[np.isfinite(numbers)]).max() < 1e-8


codes = st.sampled_from(CODES)
sectors = st.lists(st.sampled_from(GOODS), min_size=1, max_size=3, unique=True)


@st.composite
def measure(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["tariff", "ban", "transit", "ntm", "productivity", "origin_enforcement"]))
    sect = ", ".join(f'"{s}"' for s in draw(sectors))
    a, b = draw(codes), draw(codes)
    if kind == "tariff":
        return f'kind = "tariff"\nimporter = "{a}"\nexporters = ["{b}"]\nsectors = [{sect}]\nrate = {draw(st.floats(0, 0.5)):.4f}'
    if kind == "ban":
        return (f'kind = "ban"\nimporter = "{a}"\norigins = ["{b}"]\nsectors = [{sect}]\n'
                f'covered_share = {draw(st.floats(0, 1)):.4f}\nleak_via = ["BLR"]')
    if kind == "transit":
        return (f'kind = "transit"\norigin = "{a}"\ntransit = "RUS"\ndestinations = ["{b}"]\nsectors = [{sect}]\n'
                f'added_cost = {draw(st.floats(0, 2)):.4f}')
    if kind == "ntm":
        return f'kind = "ntm"\nimporter = "{a}"\nexporters = ["{b}"]\nave = {draw(st.floats(0, 1)):.4f}\nreciprocal = true'
    if kind == "productivity":
        return f'kind = "productivity"\ncountry = "{a}"\nchange = {draw(st.floats(-0.2, 0.2)):.4f}'
    return f'kind = "origin_enforcement"\nimporter = "{a}"\nvia = ["{b}"]'


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    year=st.sampled_from([2012, 2016]),
    date=st.sampled_from(["2009-06-01", "2012-06-01", "2016-06-01"]),
    allow=st.booleans(),
    measures=st.lists(measure(), max_size=3),
    leave=st.sampled_from(["", 'leave = [{ country = "KAZ" }]\n']),
)
def test_random_scenarios_run_or_are_refused_with_the_expected_error(year, date, allow, measures, leave) -> None:
    text = HEAD.format(year=year, allow=str(allow).lower(), date=date) + leave
    text += "".join(f"\n[[after.measures]]\n{m}\n" for m in measures)
    try:
        result = run_scenario(parse_scenario(text, source="random.toml"), dataset=DATA)
    except ScenarioError as error:
        assert_names_a_field(str(error))
        return
    except PolicyRuleViolation as error:
        assert not allow, f"allow_rule_violations = true, yet the run stopped: {error}"
        assert_names_a_rule(str(error))
        return
    diagnostics = result.meta["diagnostics"]
    assert diagnostics["converged"] is True and diagnostics.get("conditional_converged", True) is True, diagnostics
    assert np.isfinite(result.countries.filter(like="_pct").to_numpy()).all(), "a converged run with non-finite results"
    assert np.isfinite(result.flows["trade_counterfactual"]).all() and (result.flows["trade_counterfactual"] >= 0).all()
    flows = result.flows
    # re-export accounting moves recorded value between routes, never creates or loses the model's flows
    if "trade_recorded" in flows:
        rerouted = result.tables.get("reexports")
        extra = 0.0 if rerouted is None else float(rerouted["value_at_via"].sum())
        assert flows["trade_recorded"].sum() == pytest.approx(flows["trade_counterfactual"].sum() + extra, rel=1e-9)
    assert np.isfinite(result.countries["welfare_pct"]).all()


def assert_names_a_field(message: str) -> None:
    """A ScenarioError from the loader: ``scenario random.toml: ... random.toml:LINE: field 'a.b': ...``."""
    assert message.startswith("scenario random.toml"), message
    assert re.search(r"field '[a-z_]+(\.|\[|')", message), f"the error names no field: {message}"


def assert_names_a_rule(message: str) -> None:
    """A PolicyRuleViolation: ``scenario random.toml, [after] ... breaks the union's rules: - [BLOC/rule] ...``."""
    assert message.startswith("scenario random.toml, [after]"), message
    assert re.search(r"\[[A-Za-z_ -]+/[a-z_]+\]", message), f"the error names no rule: {message}"


@pytest.mark.parametrize("message,names_field", [
    ("scenario random.toml: 1 problem(s)\n  random.toml:17: field 'after.leave[0].country': not a member", True),
    ("scenario random.toml: something failed", False),
    ("data.year = 2016: no flows", False),
])
def test_the_field_check_accepts_only_messages_naming_a_field(message: str, names_field: bool) -> None:
    if names_field:
        assert_names_a_field(message)
    else:
        with pytest.raises(AssertionError):
            assert_names_a_field(message)


def test_an_unexpected_blocsim_error_is_not_a_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only ScenarioError and PolicyRuleViolation count as a refusal: the property run on a dataset with
    negative flows gets a DataValidationError from inside the model (a BlocsimError that the old
    property counted as a pass), which propagates and fails the example."""
    import dataclasses

    from blocsim.errors import DataValidationError

    flows = DATA.flows.copy()
    flows.loc[(flows["exporter"] == "RUS") & (flows["importer"] == "RUS"), "trade"] = -5.0
    monkeypatch.setattr(f"{__name__}.DATA", dataclasses.replace(DATA, flows=flows))
    with pytest.raises(DataValidationError, match="column 'trade'"):
        test_random_scenarios_run_or_are_refused_with_the_expected_error.hypothesis.inner_test(
            year=2016, date="2016-06-01", allow=True, measures=[], leave="")
