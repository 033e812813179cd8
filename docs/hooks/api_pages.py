"""MkDocs hook: one API reference page per public package, generated from its ``_PUBLIC`` table.

Every package's ``__init__.py`` lists its public names lazily (``_PUBLIC``: name -> module, see
``blocsim/_lazy.py``), which a static reader cannot resolve; this hook reads the tables, follows a
name re-exported from another package to the module that defines it, and writes
``api/<package>.md`` with the package docstring and one ``::: module.name`` entry per public name,
so the reference always lists exactly the public API (``__all__``).
"""

from __future__ import annotations

import importlib
from typing import Any

from mkdocs.structure.files import File, Files

#: The public packages, in the order of the data path (docs/architecture.md).
PACKAGES: tuple[str, ...] = (
    "blocsim", "blocsim.data", "blocsim.policy", "blocsim.scenario", "blocsim.shock", "blocsim.estimation",
    "blocsim.equilibrium", "blocsim.results", "blocsim.pipeline", "blocsim.report", "blocsim.web",
)


def defining_module(module_name: str, name: str) -> str:
    """The module that defines ``name``, following re-exports through packages' ``_PUBLIC`` tables."""
    seen = set()
    while module_name not in seen:
        seen.add(module_name)
        table = getattr(importlib.import_module(module_name), "_PUBLIC", None)
        if not table or name not in table or table[name] == module_name:
            return module_name
        module_name = table[name]
    return module_name


def home_package(module_name: str) -> str:
    """The public package whose page documents objects of ``module_name`` (the longest prefix)."""
    owners = [p for p in PACKAGES if module_name == p or module_name.startswith(p + ".")]
    return max(owners, key=len)


def own_inherited_methods(obj: Any) -> list[str]:
    """Public methods a class inherits from blocsim's own base classes (e.g. ``Store``'s parts), so
    that its entry documents them as before the class was split into parts; ``[]`` for the rest."""
    if not isinstance(obj, type):
        return []
    return sorted({name for base in obj.__mro__[1:] if base.__module__.startswith("blocsim.")
                   for name, member in vars(base).items() if not name.startswith("_") and callable(member)})


def api_page(package: str) -> str:
    """The Markdown of the reference page of ``package``.

    A name defined in the package is documented here in full; a name re-exported from another
    package (every name of the top-level ``blocsim``) links to its entry on that package's page,
    so each object has exactly one entry (one anchor) in the reference.
    """
    module = importlib.import_module(package)
    public = [n for n in getattr(module, "__all__", []) if not n.startswith("_")]
    table: dict[str, str] = getattr(module, "_PUBLIC", {})
    lines = [f"# `{package}`", "", f"::: {package}", "    options:", "      members: false",
             "      show_root_heading: false", "      show_root_toc_entry: false", ""]
    links = []
    for name in public:
        target = defining_module(table.get(name, package), name)
        if home_package(target) != package:
            links.append(f"- [`{name}`][{target}.{name}] (`{home_package(target)}`)")
            continue
        inherited = own_inherited_methods(getattr(importlib.import_module(target), name))
        lines += [f"::: {target}.{name}", "    options:", "      heading_level: 2",
                  "      show_root_full_path: false", *([f"      inherited_members: {inherited}"] if inherited else []), ""]
    if links:
        lines += ["## Also public here", "", "Re-exported from the package that defines them:", "", *links, ""]
    return "\n".join(lines)


def on_files(files: Files, config: Any) -> Files:
    """Add ``api/<package>.md`` for every public package."""
    for package in PACKAGES:
        files.append(File.generated(config, f"api/{package}.md", content=api_page(package)))
    return files
