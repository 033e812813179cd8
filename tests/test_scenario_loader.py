"""Scenario files: parsing, and errors that name the file, line, field and value and suggest a fix."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from blocsim.errors import ScenarioError
from blocsim.scenario import load_scenario, parse_scenario
from blocsim.scenario.loader import Catalog, key_lines

CATALOG = Catalog(
    name="eaeu",
    countries=("RUS", "KAZ", "BLR", "ARM", "KGZ", "UKR", "UZB", "TJK", "CHN", "EUN", "USA", "NOR", "ROW"),
    country_names={"RUS": "Russian Federation", "KAZ": "Kazakhstan", "BLR": "Belarus", "CHN": "China"},
    sectors=("agri_food", "mining_energy", "manufacturing", "other"),
    years=(2008, 2012, 2016),
)

VALID = """\
[scenario]
name = "test-ban"
title = "A test ban"
event = "a test event"
sources = ["a source"]

[data]
dataset = "eaeu-2016v1"
year = 2012

[before]
date = 2014-08-06

[after]
date = 2014-08-07
duty_pool = { RUS = 87.97, KAZ = 7.33, BLR = 4.70 }

[[after.measures]]
kind = "ban"
importer = "RUS"
origins = ["EUN", "USA"]
sectors = ["agri_food"]
covered_share = { EUN = 0.462, USA = 0.383 }
"""


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="test.toml", catalog=CATALOG)
    return str(info.value)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_valid_scenario_parses_with_defaults() -> None:
    scenario = parse_scenario(VALID, source="test.toml", catalog=CATALOG)
    assert scenario.scenario.name == "test-ban"
    assert scenario.after_date == dt.date(2014, 8, 7)
    assert scenario.model.theta == "caliendo_parro_2015_eaeu" and scenario.model.closure == "ratio"
    assert scenario.policy.include == ["eaeu", "cis_fta"]
    assert scenario.after.measures[0].covered_share == {"EUN": 0.462, "USA": 0.383}


@pytest.mark.parametrize(
    "old,new,needle,expected",
    [
        ('origins = ["EUN", "USA"]', 'origins = ["EUN", "KAZZ"]', "origins", ["field 'after.measures[0].origins[1]'",
                                                                             "not an ISO 3166-1 alpha-3 code", "'KAZZ'",
                                                                             "did you mean 'KAZ'"]),
        ('origins = ["EUN", "USA"]', 'origins = ["EUN", "KZA"]', "origins",
         ["field 'after.measures[0].origins[1]'", "not a country/region of dataset 'eaeu'", "did you mean", "'KAZ'"]),
        ('sectors = ["agri_food"]', 'sectors = ["agrifood"]', "sectors",
         ["field 'after.measures[0].sectors[0]'", "not a sector", "did you mean 'agri_food'"]),
        ("date = 2014-08-06", "date = 2021-01-01", "date = 2021", ["field 'before.date'", "date outside the data",
                                                                   "2003-01-01 to 2016-12-31"]),
        ("year = 2012", "year = 2010", "year = 2010", ["field 'data.year'", "valid: [2008, 2012, 2016]"]),
        ("KAZ = 7.33", "KAZ = 7.30", "duty_pool", ["field 'after.duty_pool'", "sum to 99.97 %, not 100 %"]),
        ('title = "A test ban"', 'titel = "A test ban"', "titel", ["field 'scenario.titel'", "unknown field",
                                                                   "did you mean 'title'"]),
        ('kind = "ban"', 'kind = "embargo"', "embargo", ["field 'after.measures[0].kind'", "unknown kind", "allowed: tariff, ban, transit"]),
        ("covered_share = { EUN = 0.462, USA = 0.383 }", "covered_share = { EUN = 1.462 }", "covered_share",
         ["field 'after.measures[0].covered_share", "less than or equal to 1"]),
        ("date = 2014-08-07", "date = 2014-08-01", "date = 2014-08-01", ["field 'after.date'", "earlier than"]),
        ('name = "test-ban"', 'name = "Test Ban"', "Test Ban", ["field 'scenario.name'", "lower-case"]),
        ('importer = "RUS"', 'importer = "Kazakhstan"', "Kazakhstan", ["field 'after.measures[0].importer'",
                                                                     "did you mean 'KAZ'"]),
    ],
)
def test_errors_name_file_line_field_value_and_a_fix(old: str, new: str, needle: str, expected: list[str]) -> None:
    text = VALID.replace(old, new)
    assert text != VALID
    message = error_of(text)
    assert f"test.toml:{line_of(text, needle)}:" in message, message
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"


def test_missing_required_table_and_bad_toml() -> None:
    message = error_of(VALID.replace('[data]\ndataset = "eaeu-2016v1"\nyear = 2012\n', ""))
    assert "field 'data'" in message and "required field missing" in message
    message = error_of(VALID.replace('name = "test-ban"', 'name = "test-ban'))
    assert message.startswith("scenario test.toml: not valid TOML") and "line 2" in message


def test_several_problems_are_listed_together() -> None:
    text = VALID.replace('importer = "RUS"', 'importer = "RUX"').replace('sectors = ["agri_food"]', 'sectors = ["x"]')
    message = error_of(text)
    assert "2 problem(s)" in message and "'RUX'" in message and "'x'" in message


def test_key_lines_maps_tables_arrays_and_inline_keys() -> None:
    lines = key_lines(VALID)
    assert lines[("after", "measures", 0, "origins")] == line_of(VALID, "origins")
    assert lines[("after", "duty_pool", "KAZ")] == line_of(VALID, "duty_pool")
    text = 'a = [\n  { x = 1 },\n  { y = 2 },\n]\n[t]\nb = """\nnot = a key\n"""\nc = 1\n'
    lines = key_lines(text)
    assert lines[("a", 1, "y")] == 3 and lines[("t", "c")] == 9 and ("t", "not") not in lines


def test_library_names_and_unknown_names() -> None:
    with pytest.raises(ScenarioError, match=re.escape("did you mean 'kazakhstan-leaves'")):
        load_scenario("kazakstan-leaves")
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario("/nonexistent/file.toml")
    with pytest.raises(ScenarioError, match="neither a .toml file nor a built-in scenario"):
        load_scenario("../library/kazakhstan-leaves")  # a name, not a path relative to the library folder


def test_bundled_catalog_checks_codes_against_the_dataset(shared_data) -> None:
    """Without an explicit catalog the scenario's own dataset decides (the bundled EAEU one)."""
    with pytest.raises(ScenarioError, match="did you mean 'BLR'"):
        parse_scenario(VALID.replace('importer = "RUS"', 'importer = "BLX"'), source="x.toml")
    assert parse_scenario(VALID, source="x.toml").data.year == 2012


@pytest.mark.parametrize(
    "change,needle,expected",
    [
        ('[after]\nleave = [{ country = "ARM", bloc = "EAEU" }]\n', "leave", "not a member of EAEU on 2014-08-07"),
        ('[after]\njoin = [{ country = "KAZ", bloc = "EAEU" }]\n', "join", "already a member of EAEU"),
        ('[after]\njoin = [{ country = "TJK", bloc = "EEU" }]\n', "join", "no bloc of this name"),
    ],
)
def test_membership_changes_are_checked_against_the_policy(change: str, needle: str, expected: str) -> None:
    from blocsim.data import load_dataset
    from blocsim.scenario import build_states

    text = VALID.replace("[after]\n", change).replace('duty_pool = { RUS = 87.97, KAZ = 7.33, BLR = 4.70 }\n', "")
    scenario = parse_scenario(text, source="member.toml")
    with pytest.raises(ScenarioError) as info:
        build_states(scenario, load_dataset("eaeu-2016v1"))
    assert f"member.toml:{line_of(text, needle)}:" in str(info.value) and expected in str(info.value)


# --- wrong types are errors, never coerced (issue 13, finding 9) ----------------------------------------------


@pytest.mark.parametrize(
    "old,new,needle,expected",
    [
        ("year = 2012", 'year = "2012"', "year =", ["field 'data.year'", "expected an integer; write it without quotes",
                                                    "(got '2012')"]),
        ("year = 2012", "year = true", "year =", ["field 'data.year'", "expected an integer (got True)"]),
        ("year = 2012", "year = 2012.0", "year =", ["field 'data.year'", "expected an integer (got 2012.0)"]),
        ("KAZ = 7.33", 'KAZ = "7.33"', "duty_pool", ["field 'after.duty_pool.KAZ'", "expected a number; write it "
                                                     "without quotes", "(got '7.33')"]),
        ("date = 2014-08-06", 'date = "2014-08-06"', "date = ", ["field 'before.date'", "expected a TOML date"]),
        ('sectors = ["agri_food"]', "sectors = [1]", "sectors", ["field 'after.measures[0].sectors[0]'",
                                                                 "expected a string in quotes (got 1)"]),
        ("[after]\n", "[policy]\nallow_rule_violations = 1\n\n[after]\n", "allow_rule_violations",
         ["field 'policy.allow_rule_violations'", "expected true or false (got 1)"]),
    ],
)
def test_wrong_types_are_errors_not_coerced(old: str, new: str, needle: str, expected: list[str]) -> None:
    text = VALID.replace(old, new, 1)
    assert text != VALID
    message = error_of(text)
    assert f"test.toml:{line_of(text, needle)}:" in message, message
    for part in expected:
        assert part in message, f"{part!r} not in:\n{message}"


# --- size and nesting are bounded before parsing (issue 13, finding 11) --------------------------------------


@pytest.mark.parametrize(
    "extra,expected",
    [
        ("deep = " + "[" * 100_000 + "]" * 100_000, "nested 100,000 levels deep; allowed: at most 16"),
        ("deep = " + "{ a = " * 3000 + "1" + " }" * 3000, "nested 3,000 levels deep; allowed: at most 16"),
        ("[" + ".".join(["a"] * 3000) + "]\nx = 1", "nested more than 16 levels deep"),
        ("deep = " + "[" * 17 + "]" * 17, "nested 17 levels deep"),
        ("s = '" + "x" * (1024 * 1024) + "'", "bytes; allowed: at most 1,048,576 bytes"),
    ],
    ids=["arrays", "inline_tables", "dotted_keys", "just_over", "oversize"],
)
def test_hostile_nesting_and_size_are_scenario_errors(extra: str, expected: str) -> None:
    message = error_of(VALID + extra + "\n")
    assert message.startswith("scenario test.toml: ") and expected in message, message[:300]


def test_brackets_in_strings_and_comments_do_not_count_as_nesting() -> None:
    from blocsim.scenario.tomlread import bracket_depth

    text = VALID.replace('title = "A test ban"', 'title = "' + "[" * 40 + '"  # ' + "{" * 40)
    assert bracket_depth(text) <= 3
    assert parse_scenario(text, source="test.toml", catalog=CATALOG).scenario.title == "[" * 40
    multi = 'description = """\n' + "[" * 40 + '\n"""\n'
    assert bracket_depth(multi) == 0


def test_oversize_scenario_file_is_refused_before_reading(tmp_path) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.toml"
    with big.open("wb") as handle:  # sparse: 2 GiB of zeros on disk costs nothing
        handle.truncate(2 * 1024**3)
    with pytest.raises(ScenarioError, match=r"big.toml: scenario file of more than 1,048,576 bytes"):
        load_scenario(big)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(ScenarioError, match=r"folder.toml: scenario file is not a regular file"):
        load_scenario(folder)
