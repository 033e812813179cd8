"""Scenario authoring: ``scenarios show --toml`` (verbatim copy), ``scenarios new`` (templates), and
``[[after.exemptions]]`` (an existing member's CET exemption list or transition schedule, legal under
the union's rules)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from blocsim.cli.main import app
from blocsim.errors import PolicyRuleViolation, ScenarioError
from blocsim.pipeline import run_scenario
from blocsim.data import load_dataset
from blocsim.policy import check_rules
from blocsim.scenario import build_states, library_names, library_path, parse_scenario, scenario_template
from blocsim.scenario.loader import library_dir

DATA = load_dataset("eaeu")

HEAD = """\
[scenario]
name = "kazakhstan-wto"
title = "Kazakhstan applies its WTO commitments"
event = "30 Nov 2015: Kazakhstan becomes a WTO member"
sources = ["test"]

[data]
year = 2016

[before]
date = 2016-06-01

[after]
"""

WTO_EXEMPTION = HEAD + """
[[after.exemptions]]
country = "KAZ"
sector = "manufacturing"
rate = 0.061
"""

SAME_AS_OWN_TARIFF = HEAD + """
[[after.measures]]
kind = "tariff"
importer = "KAZ"
sectors = ["manufacturing"]
rate = 0.061
"""


def external_rates(result, importer: str, sector: str) -> pd.Series:
    """The importer's tariff_after on every exporter outside the EAEU, for one sector."""
    tariffs = result.shock.tariffs
    rows = tariffs[(tariffs["importer"] == importer) & (tariffs["sector"] == sector)
                   & ~tariffs["exporter"].isin(["RUS", "KAZ", "BLR", "ARM", "KGZ", "UKR", "UZB", "TJK"])]
    return rows.set_index("exporter")["tariff_after"]


def test_a_member_exemption_in_after_runs_without_a_violation_and_sets_the_rate() -> None:
    scenario = parse_scenario(WTO_EXEMPTION, source="wto.toml")
    _, after, _ = build_states(scenario, DATA)
    assert check_rules(after) == []
    result = run_scenario(scenario)
    assert not result.meta.get("rule_violations")
    rates = external_rates(result, "KAZ", "manufacturing")
    assert len(rates) == 10 and list(rates) == pytest.approx([0.061] * 10)
    assert any("CET exemption: KAZ applies 6.1 % on manufacturing" in c for c in result.meta["policy_changes"])


def test_the_same_rate_as_a_members_own_tariff_is_a_violation() -> None:
    with pytest.raises(PolicyRuleViolation, match=r"own_external_tariff.*\[\[after.exemptions\]\]"):
        run_scenario(parse_scenario(SAME_AS_OWN_TARIFF, source="own.toml"))


def test_a_transition_schedule_applies_the_step_in_force_on_the_after_date() -> None:
    text = HEAD + """
[[after.exemptions]]
country = "KAZ"
sector = "manufacturing"
rate = 0.09
start = 2015-01-01
until = 2016-01-01

[[after.exemptions]]
country = "KAZ"
sector = "manufacturing"
rate = 0.08
start = 2016-01-01
until = 2018-01-01

[[after.exemptions]]
country = "KAZ"
sector = "manufacturing"
rate = 0.061
start = 2018-01-01
"""
    scenario = parse_scenario(text, source="schedule.toml")
    _, after, _ = build_states(scenario, DATA)
    assert check_rules(after) == []
    bloc = after.bloc("EAEU")
    assert bloc.exemption("KAZ", "manufacturing", after.date).rate == pytest.approx(0.08)
    assert bloc.exemption("KAZ", "manufacturing", dt.date(2019, 1, 1)).rate == pytest.approx(0.061)


def test_an_exemption_for_a_non_member_names_the_line_and_the_members() -> None:
    text = WTO_EXEMPTION.replace('country = "KAZ"', 'country = "UZB"')
    with pytest.raises(ScenarioError, match=r"exemption.toml:\d+: .*after\.exemptions\[0\]\.country.*not a member of "
                                            r"EAEU on 2016-06-01.*\[\[after\.join\]\]"):
        build_states(parse_scenario(text, source="exemption.toml"), DATA)


def test_a_schedule_with_no_step_in_force_is_refused() -> None:
    text = WTO_EXEMPTION + "start = 2018-01-01\n"
    with pytest.raises(ScenarioError, match=r"no exemption step of KAZ for manufacturing is in force"):
        build_states(parse_scenario(text, source="late.toml"), DATA)


def test_an_exemption_sector_and_bloc_are_checked() -> None:
    with pytest.raises(ScenarioError, match=r"typo.toml:17: field 'after\.exemptions\[0\]\.sector'.*"
                                            r"did you mean 'manufacturing'.*got 'manufactring'"):
        parse_scenario(WTO_EXEMPTION.replace('"manufacturing"', '"manufactring"'), source="typo.toml")
    text = WTO_EXEMPTION.replace('country = "KAZ"', 'country = "KAZ"\nbloc = "CIS_FTA"')
    with pytest.raises(ScenarioError, match=r"after\.exemptions\[0\]\.bloc"):
        build_states(parse_scenario(text, source="bloc.toml"), DATA)


# ---- CLI: show --toml, show's file location, new -------------------------------------------------

def invoke(*args: str, columns: int = 30):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns), "NO_COLOR": "1"})


@pytest.mark.parametrize("name", library_names())
def test_show_toml_prints_the_library_file_verbatim_at_any_width(name: str) -> None:
    result = invoke("scenarios", "show", name, "--toml", columns=20)
    assert result.exit_code == 0, result.output
    assert result.stdout == (library_dir() / f"{name}.toml").read_text(encoding="utf-8")


def test_a_copy_made_with_show_toml_runs_unchanged(tmp_path) -> None:
    result = invoke("scenarios", "show", "kazakhstan-leaves", "--toml")
    copy = tmp_path / "my.toml"
    copy.write_text(result.stdout, encoding="utf-8")
    run = invoke("run", str(copy), "--out", str(tmp_path / "copy"), "--json")
    assert run.exit_code == 0, run.output
    library = invoke("scenarios", "run", "kazakhstan-leaves", "--out", str(tmp_path / "library"), "--json")
    assert library.exit_code == 0, library.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "copy" / "countries.csv"),
                                  pd.read_csv(tmp_path / "library" / "countries.csv"))


def test_show_says_where_the_library_file_lives() -> None:
    result = invoke("scenarios", "show", "tajikistan-joins", columns=200)
    assert result.exit_code == 0, result.output
    assert f"file: {library_path('tajikistan-joins')}" in result.stdout
    assert f"library folder: {library_dir()}" in result.stdout


def test_new_writes_a_commented_template_that_runs_and_is_never_overwritten(tmp_path) -> None:
    result = invoke("scenarios", "new", "kazakhstan-wto", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    written = tmp_path / "kazakhstan-wto.toml"
    text = written.read_text(encoding="utf-8")
    assert 'name = "kazakhstan-wto"' in text and text.count("\n#") > 20
    for kind in ("tariff", "ban", "transit", "origin_enforcement", "ntm", "productivity"):
        assert f'# kind = "{kind}"' in text
    run = invoke("run", str(written), "--out", str(tmp_path / "run"), "--json")
    assert run.exit_code == 0, run.output
    written.write_text("my edits\n", encoding="utf-8")
    again = invoke("scenarios", "new", "kazakhstan-wto", "--out", str(tmp_path), columns=300)
    assert again.exit_code == 1 and "already exist" in again.output and "Traceback" not in again.output
    assert written.read_text(encoding="utf-8") == "my edits\n"
    forced = invoke("scenarios", "new", "kazakhstan-wto", "--out", str(tmp_path), "--force")
    assert forced.exit_code == 0 and written.read_text(encoding="utf-8") == text


def test_new_from_a_library_scenario_runs_to_the_same_numbers(tmp_path) -> None:
    result = invoke("scenarios", "new", "my-food-ban", "--from", "russia-food-ban-2014", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    written = tmp_path / "my-food-ban.toml"
    assert 'name = "my-food-ban"' in written.read_text(encoding="utf-8")
    mine = run_scenario(str(written))
    library = run_scenario("russia-food-ban-2014")
    assert mine.meta["scenario"]["name"] == "my-food-ban"
    pd.testing.assert_frame_equal(mine.countries, library.countries)


@pytest.mark.parametrize("args, message", [
    (["Bad_Name"], "scenario name 'Bad_Name': not allowed"),
    (["ok-name", "--from", "kazakstan-leaves"], "not a built-in scenario"),
])
def test_new_refuses_bad_names_in_one_line(tmp_path, args, message) -> None:
    result = invoke("scenarios", "new", *args, "--out", str(tmp_path), columns=400)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_blank_template_loads_for_any_valid_name() -> None:
    for name in ("a", "x-1", "k" * 64):
        assert parse_scenario(scenario_template(name), source="t.toml").scenario.name == name


def test_a_step_that_ended_before_the_after_date_points_at_its_until() -> None:
    text = WTO_EXEMPTION + "until = 2016-01-01\n"
    with pytest.raises(ScenarioError, match=r"ended.toml:\d+: field 'after\.exemptions\[0\]\.until'.*"
                                            r"\(got '2016-01-01'\)"):
        build_states(parse_scenario(text, source="ended.toml"), DATA)


def test_a_join_exemption_for_another_country_is_refused() -> None:
    text = HEAD + 'join = [{ country = "TJK", exemptions = [{ country = "KAZ", sector = "agri_food" }] }]\n'
    with pytest.raises(ScenarioError, match=r"after\.join\[0\]\.exemptions\[0\]\.country.*joining country's \(TJK\)"
                                            r".*\[\[after\.exemptions\]\]"):
        build_states(parse_scenario(text, source="join.toml"), DATA)
    own = HEAD + 'join = [{ country = "TJK", exemptions = [{ country = "TJK", sector = "agri_food" }] }]\n'
    _, after, _ = build_states(parse_scenario(own, source="join.toml"), DATA)
    assert after.bloc("EAEU").exemption("TJK", "agri_food", after.date) is not None
