"""The built-in scenario library: names, titles, events and sources of every scenario."""

from __future__ import annotations

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
