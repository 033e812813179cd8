"""Fuzzing the scenario loader (hypothesis): malformed files give a clear ScenarioError, never a traceback.

Each example starts from a valid scenario (every measure kind, a join, a leave, a preference, a
pool) and breaks it in a way that is invalid by construction: a required field deleted, a value
of the wrong type, an unknown field, an unknown country code or sector, a date outside the data,
pool shares that do not sum to 100, or broken TOML syntax. The loader must raise ScenarioError
naming the file, and nothing else. Files are rendered to strings and parsed in-process.
"""

from __future__ import annotations

import copy
import os
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocsim.errors import ScenarioError
from blocsim.scenario import parse_scenario
from blocsim.scenario.loader import Catalog

CATALOG = Catalog(
    name="eaeu",
    countries=("RUS", "KAZ", "BLR", "ARM", "KGZ", "UKR", "UZB", "TJK", "CHN", "EUN", "USA", "TUR", "JPN", "KOR",
               "CAN", "AUS", "NOR", "ROW"),
    country_names={"RUS": "Russian Federation", "KAZ": "Kazakhstan", "BLR": "Belarus"},
    sectors=("agri_food", "mining_energy", "manufacturing", "other"),
    years=(2008, 2012, 2016),
)

BASE: dict[str, Any] = {
    "scenario": {"name": "fuzz", "title": "Fuzz", "event": "an event", "sources": ["s"],
                 "focus_countries": ["KAZ", "RUS"]},
    "data": {"dataset": "eaeu", "year": 2016, "tariff_year": 2016},
    "policy": {"include": ["eaeu", "cis_fta"], "allow_rule_violations": True},
    "before": {"date": dt.date(2016, 6, 1), "measures": [{"kind": "ntm", "importer": "KAZ", "ave": 0.02}]},
    "after": {
        "date": dt.date(2016, 6, 2),
        "leave": [{"country": "KAZ", "bloc": "EAEU"}],
        "join": [{"country": "TJK", "bloc": "EAEU",
                  "exemptions": [{"country": "TJK", "sector": "agri_food", "until": dt.date(2020, 1, 1)}]}],
        "duty_pool": {"RUS": 91.0, "BLR": 5.0, "KGZ": 2.0, "ARM": 1.0, "TJK": 1.0},
        "preferences": [{"name": "FTA", "members": [{"country": "KAZ", "joined": dt.date(2016, 6, 2)},
                                                   {"country": "CHN", "joined": dt.date(2016, 6, 2)}]}],
        "measures": [
            {"kind": "tariff", "importer": "KAZ", "exporters": ["CHN"], "sectors": ["manufacturing"], "rate": 0.05},
            {"kind": "ban", "importer": "RUS", "origins": ["EUN", "USA"], "sectors": ["agri_food"],
             "covered_share": {"EUN": 0.46}, "leak_via": ["BLR"], "reexport_cost": 0.15},
            {"kind": "transit", "origin": "BLR", "transit": "RUS", "destinations": ["KAZ"], "added_cost": 0.3},
            {"kind": "origin_enforcement", "importer": "RUS", "via": ["BLR"]},
            {"kind": "productivity", "country": "RUS", "change": -0.02, "sectors": ["agri_food"]},
        ],
    },
    "model": {"name": "multisector", "theta": "caliendo_parro_2015_eaeu", "closure": "ratio"},
    "outputs": {"tables": ["countries", "flows"]},
}


def _leaves(node: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every value in ``node`` (tables, arrays and scalars)."""
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_leaves(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_leaves(value, (*path, index)))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def _scalar_paths(kind: type | tuple[type, ...]) -> list[tuple]:
    return [p for p in _leaves(BASE) if isinstance(_get(BASE, p), kind) and not isinstance(_get(BASE, p), bool)]


PATHS = _leaves(BASE)
TABLE_PATHS = [()] + [p for p in PATHS if isinstance(_get(BASE, p), dict)]
CODE_PATHS = [p for p in _scalar_paths(str) if _get(BASE, p) in CATALOG.countries]
SECTOR_PATHS = [p for p in _scalar_paths(str) if _get(BASE, p) in CATALOG.sectors]
DATE_PATHS = [p for p in _scalar_paths(dt.date) if p[0] in ("before", "after") and len(p) == 2]
NUMBER_PATHS = _scalar_paths((int, float))
STRING_PATHS = [p for p in _scalar_paths(str) if p not in CODE_PATHS]
REQUIRED = [("scenario",), ("scenario", "name"), ("scenario", "title"), ("scenario", "event"), ("scenario", "sources"),
            ("data",), ("data", "year"), ("before",), ("before", "date"), ("after",),
            ("after", "measures", 1, "origins"), ("after", "measures", 2, "added_cost"), ("after", "leave", 0, "country"),
            ("after", "measures", 0, "kind"), ("after", "measures", 4, "change")]


def render(node: dict[str, Any]) -> str:
    """A small TOML writer: scalars, inline arrays/tables, sub-tables and arrays of tables."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v) if v == v and v not in (float("inf"), float("-inf")) else ("nan" if v != v else
                                                                                        ("inf" if v > 0 else "-inf"))
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(type(v))

    lines: list[str] = []

    def table(prefix: str, d: dict[str, Any]) -> None:
        for k, v in d.items():
            if not isinstance(v, dict) and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v)):
                lines.append(f"{json.dumps(str(k))} = {value(v)}")
        for k, v in d.items():
            name = f"{prefix}.{json.dumps(str(k))}" if prefix else json.dumps(str(k))
            if isinstance(v, dict):
                lines.append(f"[{name}]")
                table(name, v)
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                for item in v:
                    lines.append(f"[[{name}]]")
                    table(name, item)

    table("", node)
    return "\n".join(lines) + "\n"


def test_the_base_scenario_is_valid() -> None:
    scenario = parse_scenario(render(BASE), source="fuzz.toml", catalog=CATALOG)
    assert len(scenario.after.measures) == 5


WRONG = st.one_of(st.lists(st.integers(), min_size=1, max_size=2), st.dictionaries(st.sampled_from("xyz"),
                                                                                     st.integers(), min_size=1,
                                                                                     max_size=2))


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, str]:
    """(TOML text, what was broken) -- invalid by construction."""
    doc = copy.deepcopy(BASE)
    how = draw(st.sampled_from(["delete", "wrong_type", "unknown_field", "bad_code", "bad_sector", "bad_date",
                                "bad_number", "pool_sum", "syntax", "bad_year", "empty_string", "bad_kind"]))
    if how == "delete":
        path = draw(st.sampled_from(REQUIRED))
        del _get(doc, path[:-1])[path[-1]]
    elif how == "wrong_type":
        path = draw(st.sampled_from(NUMBER_PATHS + STRING_PATHS + DATE_PATHS + CODE_PATHS))
        _get(doc, path[:-1])[path[-1]] = draw(WRONG)
    elif how == "unknown_field":
        path = draw(st.sampled_from(TABLE_PATHS))
        key = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
        target = _get(doc, path)
        if key in target or (path and path[-1] in ("duty_pool", "covered_share")):
            key = "zz_" + key  # an unknown field, or a code that is not ISO3 in a share table
        target[key] = draw(st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
    elif how == "bad_code":
        path = draw(st.sampled_from(CODE_PATHS))
        code = draw(st.one_of(st.text(max_size=6), st.from_regex(r"[A-Z]{3}", fullmatch=True)).filter(
            lambda c: c.strip() not in CATALOG.countries))
        _get(doc, path[:-1])[path[-1]] = code
    elif how == "bad_sector":
        path = draw(st.sampled_from(SECTOR_PATHS))
        _get(doc, path[:-1])[path[-1]] = draw(st.text(max_size=12).filter(lambda s: s.strip() not in CATALOG.sectors))
    elif how == "bad_date":
        path = draw(st.sampled_from(DATE_PATHS))
        _get(doc, path[:-1])[path[-1]] = draw(st.dates().filter(  # policy dates may precede the data (2010 CET)
            lambda d: not CATALOG.first_policy_date <= d <= CATALOG.last_date))
    elif how == "bad_number":
        path = draw(st.sampled_from(NUMBER_PATHS))
        bad = st.sampled_from([float("nan"), float("inf"), -1e9, 1e12]) if path[-1] != "year" else st.integers(
            3000, 9999)
        _get(doc, path[:-1])[path[-1]] = draw(bad)
    elif how == "pool_sum":
        code = draw(st.sampled_from(list(doc["after"]["duty_pool"])))
        doc["after"]["duty_pool"][code] += draw(st.floats(0.01, 5.0))
    elif how == "bad_year":
        doc["data"]["year"] = draw(st.integers(1900, 2100).filter(lambda y: y not in CATALOG.years))
    elif how == "empty_string":
        doc["scenario"]["title"] = ""
    elif how == "bad_kind":
        doc["after"]["measures"][draw(st.integers(0, 4))]["kind"] = draw(st.text(max_size=10).filter(
            lambda k: k not in ("tariff", "ban", "transit", "origin_enforcement", "ntm", "productivity")))
    text = render(doc)
    if how == "syntax":
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines)))
        broken = draw(st.sampled_from(["x = ", "[scenario", "= 1", 'a = "open', "a = [1,", "[[]]", "a = 1 = 2",
                                       "name = 'dup'\nname = 'dup'"]))
        text = "\n".join([*lines[:at], broken, *lines[at:]]) + "\n"
    return text, how


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("BLOCSIM_FUZZ_EXAMPLES", "10000")), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(case=malformed())
def test_malformed_scenarios_give_a_clear_scenario_error(case: tuple[str, str]) -> None:
    text, how = case
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="fuzz.toml", catalog=CATALOG)
    message = str(info.value)
    assert message.startswith("scenario fuzz.toml"), (how, message)
    assert "fuzz.toml:" in message or "not valid TOML" in message, (how, message)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    try:
        parse_scenario(text, source="fuzz.toml", catalog=CATALOG)
    except ScenarioError as error:
        assert str(error).startswith("scenario fuzz.toml")
