"""The floors of blocsim: the data path as an import contract.

Every module of ``src/blocsim`` is read with :mod:`ast` (nothing is imported to find the
edges). A module imports another when it names it in an ``import`` or ``from ... import``
statement anywhere in the file (function-level imports count), or, in a package's
``__init__.py``, in the lazy re-export table ``_PUBLIC`` (module path strings).

The contract, for future work as much as for today's code:

1. :data:`FLOORS` lists the packages from the ground up. A module may import modules of its
   own package and of packages on lower floors only; packages sharing a floor (siblings)
   know nothing of each other. A new package must be given a floor here.
2. No circle: no two modules import each other, directly or through others.
3. The front ends (:data:`FRONT_ENDS`) use only the public API: besides their own package,
   they import from ``blocsim.errors`` or from a package's curated namespace (an
   ``__init__.py`` with ``__all__``), and only names listed in that ``__all__`` (their own
   ``__init__.py`` may use ``blocsim._lazy`` to build theirs).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import blocsim

SOURCE = Path(blocsim.__file__).resolve().parent

#: The data path, ground floor first: (package, ...) per floor; "" is ``blocsim/__init__.py``
#: (the top-level public API), the others are the first name after ``blocsim.``.
FLOORS: list[tuple[str, ...]] = [
    ("errors", "_lazy", "_version"),  # exceptions, the lazy re-export helper, the version
    ("data",),  # tables, loaders, bundled datasets, elasticity tables, the store, the run record
    ("policy",),  # the union's rules as data
    ("scenario",),  # scenario files: parse and validate only
    ("shock",),  # policy states -> tariffs, cost factors, pools per model
    ("estimation", "equilibrium"),  # the models
    ("results",),  # run directories, result tables
    ("pipeline",),  # scenario -> shock -> model -> results: one run, a batch of draws, a sweep
    ("report",),
    ("",),  # blocsim: the top-level public API (lazy re-exports, the report's ``compare`` too)
    ("web",),
    ("cli",),
    ("__main__",),
]
#: Packages that may use the public API only.
FRONT_ENDS = ("report", "web", "cli")
#: Modules public as a whole (every name not starting with "_").
PUBLIC_MODULES = ("blocsim.errors",)
#: Plumbing any ``__init__.py`` may use to build its namespace.
PLUMBING = ("blocsim._lazy",)


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = ["blocsim", *path.relative_to(SOURCE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _unit(module: str) -> str:
    """The package a module belongs to for the floor order ("" for ``blocsim`` itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _floor(unit: str) -> int:
    for level, units in enumerate(FLOORS):
        if unit in units:
            return level
    raise AssertionError(f"package blocsim.{unit} has no floor: add it to FLOORS in {Path(__file__).name}")


def _target(base: str, name: str | None) -> str:
    """``from base import name``: the submodule ``base.name`` if there is one, else ``base``."""
    if name is not None and f"{base}.{name}" in MODULES:
        return f"{base}.{name}"
    return base


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every blocsim import of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names if alias.name.split(".")[0] == "blocsim"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] == "blocsim":
                found += [(_target(base, alias.name), alias.name, node.lineno) for alias in node.names]
        elif (
            path.name == "__init__.py"
            and isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_PUBLIC" for t in node.targets)
        ):
            for item in ast.walk(node.value):
                if isinstance(item, ast.Constant) and isinstance(item.value, str) and item.value.startswith("blocsim"):
                    found.append((item.value, None, item.lineno))
    return found


def _edges() -> dict[str, set[str]]:
    return {module: {target for target, _, _ in _imports(module) if target in MODULES} for module in MODULES}


def test_every_package_has_a_floor() -> None:
    for module in MODULES:
        _floor(_unit(module))


def test_no_import_runs_back_up_a_floor() -> None:
    wrong = []
    for module in MODULES:
        here = _unit(module)
        for target, name, line in _imports(module):
            there = _unit(target)
            if there == here:
                continue
            if _floor(there) >= _floor(here):
                kind = "a sibling on its floor" if _floor(there) == _floor(here) else "a higher floor"
                what = f"{target}.{name}" if name and target.rpartition(".")[2] != name else target
                wrong.append(f"{MODULES[module].relative_to(SOURCE)}:{line}: {module} imports {what} ({kind})")
    assert not wrong, "imports against the floor order:\n" + "\n".join(wrong)


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_no_two_modules_import_each_other() -> None:
    circles = _circles(_edges())
    assert not circles, "modules that import each other (directly or through others):\n" + "\n".join(
        " <-> ".join(circle) for circle in circles
    )


def test_the_circle_finder_sees_a_circle() -> None:
    """The check above can fail: a two-module and a three-module loop are both found."""
    edges = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(_circles(edges)) == [["a", "b"], ["c", "d", "e"]]


def _public_names(namespace: str) -> set[str] | None:
    """Names a front end may import from ``namespace`` (None: not a public namespace)."""
    if namespace in PUBLIC_MODULES:
        return {name for name in vars(importlib.import_module(namespace)) if not name.startswith("_")}
    if not MODULES[namespace].name == "__init__.py":
        return None
    exported = getattr(importlib.import_module(namespace), "__all__", None)
    return set(exported) if exported is not None else None


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_front_ends_use_only_the_public_api(front_end: str) -> None:
    wrong = []
    for module in (m for m in MODULES if _unit(m) == front_end):
        for target, name, line in _imports(module):
            if _unit(target) == front_end or (target in PLUMBING and MODULES[module].name == "__init__.py"):
                continue
            where = f"{MODULES[module].relative_to(SOURCE)}:{line}"
            namespace = target if name is None or not target.endswith(f".{name}") else target.rpartition(".")[0]
            public = _public_names(namespace) if namespace in MODULES else None
            if public is None:
                wrong.append(f"{where}: imports from {target}, not a public namespace")
            elif name is not None and name not in public:
                wrong.append(f"{where}: imports {name} from {namespace}, which does not list it in __all__")
    assert not wrong, f"blocsim.{front_end} reaches past the public API:\n" + "\n".join(wrong)


def test_public_namespaces_resolve_every_name() -> None:
    """Each curated ``__all__`` name resolves (a lazy table pointing at a moved module fails here)."""
    broken = []
    for module, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        namespace = importlib.import_module(module)
        for name in getattr(namespace, "__all__", ()):
            try:
                getattr(namespace, name)
            except (AttributeError, ImportError) as error:
                broken.append(f"{module}.{name}: {error}")
    assert not broken, "public names that do not resolve:\n" + "\n".join(broken)
