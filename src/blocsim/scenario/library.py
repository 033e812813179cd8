"""The built-in scenario library (names, titles, events, sources, files) and templates for new scenarios."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from blocsim.errors import ScenarioError
from blocsim.scenario.loader import library_dir, library_names
from blocsim.scenario.tomlread import loads_bounded


def library_entries() -> list[dict[str, Any]]:
    """``[{name, title, event, sources}]`` of every built-in scenario (read without loading datasets)."""
    out = []
    for name in library_names():
        text = (library_dir() / f"{name}.toml").read_text(encoding="utf-8")
        meta = loads_bounded(text, f"built-in scenario library/{name}.toml").get("scenario")
        if not isinstance(meta, dict):
            raise ScenarioError(f"built-in scenario library/{name}.toml: no [scenario] table")
        out.append({"name": name, "title": meta.get("title", ""), "event": meta.get("event", ""),
                    "sources": list(meta.get("sources", []))})
    return out


def library_text(name: str) -> str:
    """The TOML text of the built-in scenario ``name`` (see :func:`library_names`).

    Raises
    ------
    ScenarioError
        ``name`` is not a built-in scenario (the message lists them).
    """
    if name not in library_names():  # a name, never a path into or out of the library folder
        raise ScenarioError(f"scenario {name!r}: not a built-in scenario; built-in: {', '.join(library_names())}")
    return (library_dir() / f"{name}.toml").read_text(encoding="utf-8")


def library_path(name: str) -> str:
    """Where the file of the built-in scenario ``name`` lives (an absolute path inside the installed package).

    Raises
    ------
    ScenarioError
        ``name`` is not a built-in scenario (the message lists them).
    """
    library_text(name)  # the same check of the name
    return str(library_dir() / f"{name}.toml")


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_NAME_LINE = re.compile(r'^name\s*=\s*"[^"\n]*"[^\n]*$', re.MULTILINE)
_SCENARIO_TABLE = re.compile(r"^\[scenario\]\s*$", re.MULTILINE)


def scenario_template(name: str, base: str | None = None) -> str:
    """A commented scenario file named ``name``, to edit and run (``blocsim scenarios new``).

    Parameters
    ----------
    name
        The new scenario's ``[scenario] name``: lower-case letters, digits and ``-``
        (at most 64 characters, starting with a letter or digit).
    base
        A built-in scenario to start from (its file with the name changed and a header
        saying where it came from); ``None``: the blank template, which documents every
        table and measure in comments and runs as it is (Kazakhstan's WTO exemption on
        manufactured goods).

    Returns
    -------
    str
        The TOML text (it loads with :func:`blocsim.load_scenario` unchanged).

    Raises
    ------
    ScenarioError
        ``name`` is not a valid scenario name, or ``base`` is not a built-in scenario.
    """
    if not _SLUG.match(name):
        raise ScenarioError(f"scenario name {name!r}: not allowed; use lower-case letters, digits and '-' "
                            "(1-64 characters, starting with a letter or digit), e.g. 'kazakhstan-wto-2016'")
    if base is None:
        text = (resources.files("blocsim.scenario") / "templates" / "blank.toml").read_text(encoding="utf-8")
        origin = "blocsim's blank scenario template"
    else:
        text = library_text(base)
        origin = f"built-in scenario {base!r}"
        text = (f"# Scenario {name!r}, started from the {origin} (blocsim scenarios new {name} --from {base}).\n"
                "# Every field: docs/scenarios.md. Run it: blocsim run THIS_FILE.toml --out runs/" + name + "\n" + text)
    table = _SCENARIO_TABLE.search(text)
    line = _NAME_LINE.search(text, table.end()) if table is not None else None
    if line is None:
        raise ScenarioError(f"{origin}: no 'name = \"...\"' line in its [scenario] table; "
                            "give the name by hand in a copy (blocsim scenarios show NAME --toml)")
    return text[:line.start()] + f'name = "{name}"' + text[line.end():]
