"""Read and validate scenario files: TOML -> :class:`~blocsim.scenario.schema.Scenario` (multisector and pe
models) or :class:`~blocsim.scenario.schema.OneSectorScenario` (``[model] name = "onesector"``).

Errors are :class:`~blocsim.errors.ScenarioError` whose message lists every problem as
``FILE:LINE: field 'a.b[0].c': what is wrong (got VALUE); what is allowed / did you mean``.
TOML itself carries no line numbers for values, so :func:`key_lines` scans the text for
table headers and keys to map a field path to its line.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from pydantic import BaseModel, ValidationError

from blocsim.errors import BlocsimError, ScenarioError
from blocsim.scenario.checks import semantic_problems
from blocsim.scenario.context import Catalog, Loc, Problem, suggest
from blocsim.scenario.schema import (
    MEASURE_KINDS, MODEL_NAMES, AnyScenario, MultisectorModel, OneSectorModel, OneSectorScenario, PEModel, Scenario,
    with_default_model_name,
)
from blocsim.scenario.tomlread import loads_bounded, read_bounded

MAX_LISTED_ERRORS = 12


def dataset_catalog(name: str) -> Catalog:
    """Catalog of a dataset by name (loaded once per process and version of a built dataset).

    A dataset rebuilt into the store (``blocsim data build NAME --force``) has a new
    :func:`blocsim.data.built_stamp`, so a scenario validated afterwards sees the new tables.
    """
    from blocsim.data import built_stamp

    return _catalog(name, built_stamp(name))


@functools.lru_cache(maxsize=8)
def _catalog(name: str, stamp: tuple[str, int] | None) -> Catalog:
    from blocsim.data import load_dataset

    return Catalog.from_dataset(load_dataset(name))


# ------------------------------------------------------------------------------ lines

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*=")
_INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_-]+)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", text))


def key_lines(text: str) -> dict[Loc, int]:
    """Map field paths (tuples of keys and array indices) to 1-based line numbers in TOML ``text``."""
    lines: dict[Loc, int] = {}
    table: Loc = ()
    counters: dict[Loc, int] = {}
    array_key: Loc | None = None
    array_index = -1
    in_string = False
    for number, line in enumerate(text.splitlines(), 1):
        if in_string:
            in_string = line.count('"""') % 2 == 0 and line.count("'''") % 2 == 0
            continue
        if array_key is not None:
            stripped = line.strip()
            if stripped.startswith("{"):
                array_index += 1
                lines.setdefault(array_key + (array_index,), number)
                for sub in _INLINE_KEY.finditer(line):
                    lines.setdefault(array_key + (array_index, sub.group(1)), number)
            if stripped.startswith("]") or stripped.endswith("]"):
                array_key = None
            continue
        header = _HEADER.match(line)
        if header:
            parts = _split_key(header.group(2))
            if header.group(1) == "[[":
                index = counters.get(parts, -1) + 1
                counters[parts] = index
                table = parts + (index,)
            else:
                table = parts
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            path = table + _split_key(key.group(1))
            lines.setdefault(path, number)
            rest = line[key.end():]
            for sub in _INLINE_KEY.finditer(rest):
                lines.setdefault(path + (sub.group(1),), number)
            if rest.count('"""') % 2 == 1 or rest.count("'''") % 2 == 1:
                in_string = True
            elif rest.strip().startswith("[") and rest.count("[") > rest.count("]"):
                array_key, array_index = path, -1
    return lines


def _line_of(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


# ------------------------------------------------------------------------------ errors


def _is_tag(part: Any) -> bool:
    """A pydantic union-branch tag in an error location (``'float'``, ``'constrained-str'``, ``'dict[...]'``)."""
    return isinstance(part, str) and (
        any(ch in part for ch in "[]()") or part in {"str", "int", "float", "bool", "date", "list", "dict", "none"}
        or part.startswith(("constrained-", "function-", "lax-or-strict", "json-or-python"))
    )


def clean_loc(raw: Any, loc: Iterable[Any]) -> tuple[Loc, Any]:
    """Drop pydantic's union/discriminator tags from ``loc``; return (path, raw value there or None)."""
    out: list[str | int] = []
    current: Any = raw
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            out.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            out.append(part)
            current = current[part]
        elif isinstance(current, dict) and part in (current.get("kind"), current.get("name")):
            continue  # a discriminator tag: the measure kind or the model name
        elif _is_tag(part) or not isinstance(current, (dict, list)):
            continue
        else:
            out.append(part)
            current = None
    return tuple(out), current


def dotted(loc: Loc) -> str:
    """``('after', 'measures', 0, 'origins')`` -> ``after.measures[0].origins``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _allowed_fields(raw: Any, loc: Loc, root: type[BaseModel] = Scenario) -> list[str]:
    """Field names allowed in the table at ``loc`` of a ``root`` document (for unknown-field errors)."""
    annotation: Any = root
    current: Any = raw
    for part in loc:
        annotation = _pick_model(annotation, current)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(part))
            if field is None:
                return sorted(annotation.model_fields)
            annotation = field.annotation
        else:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[-1] if args else None
        current = current[part] if isinstance(current, (dict, list)) and _has(current, part) else None
    annotation = _pick_model(annotation, current)
    return sorted(annotation.model_fields) if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(part, int) and 0 <= part < len(container)


def _pick_model(annotation: Any, raw: Any) -> Any:
    """Unwrap Annotated/Optional/Union to the model that fits ``raw`` (by its ``kind`` if any)."""
    for _ in range(6):
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
            for tag in ("kind", "name"):  # discriminators: a measure's kind, a model's name
                value = raw.get(tag) if isinstance(raw, dict) else None
                for model in models:
                    field = model.model_fields.get(tag)
                    if value is not None and field is not None and value in typing.get_args(field.annotation):
                        return model
            if models:
                return models[0]
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if args else None
        else:
            return annotation
    return annotation


def format_problems(source: str, lines: Mapping[Loc, int], problems: Sequence[Problem]) -> str:
    """One message listing ``problems`` as ``FILE:LINE: field ...`` lines."""
    out = [f"scenario {source}: {len(problems)} problem(s)"]
    for problem in problems[:MAX_LISTED_ERRORS]:
        line = _line_of(lines, problem.loc)
        where = f"{source}:{line}" if line is not None else source
        got = "" if problem.value is None else f" (got {_short(problem.value)})"
        out.append(f"  {where}: field '{dotted(problem.loc)}': {problem.message}{got}")
    if len(problems) > MAX_LISTED_ERRORS:
        out.append(f"  ... and {len(problems) - MAX_LISTED_ERRORS} more")
    return "\n".join(out)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_EXPECTED = {
    "int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
    "date_type": "a TOML date such as 2016-06-01", "string_type": "a string in quotes",
    "list_type": "a list [...]", "dict_type": "a table { ... }",
}
_UNQUOTED = ("int_type", "float_type", "bool_type", "date_type")


def _wrong_type(kind: str, value: Any) -> str:
    """Message for a value of the wrong type (strict mode: nothing is coerced)."""
    hint = "; write it without quotes" if kind in _UNQUOTED and isinstance(value, str) else ""
    return f"wrong type: expected {_EXPECTED[kind]}{hint}"


_MODEL_CLASSES: dict[str, type[BaseModel]] = {
    "multisector": MultisectorModel, "onesector": OneSectorModel, "pe": PEModel,
}


def _owner_hint(loc: Loc) -> str:
    """`` 'sigma' is a parameter of model 'onesector'; `` for a ``[model]`` field of another model."""
    if len(loc) != 2 or loc[0] != "model":
        return ""
    owners = [name for name, model in _MODEL_CLASSES.items() if loc[1] in model.model_fields]
    return f"'{loc[1]}' is a parameter of model {' or '.join(repr(o) for o in owners)}; " if owners else ""


def _pydantic_problems(
    raw: Any, error: ValidationError, catalog: Catalog | None, root: type[BaseModel] = Scenario
) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc, value = clean_loc(raw, item["loc"])
        message = str(item["msg"]).replace("Value error, ", "")
        if item["type"] == "union_tag_invalid":
            field = str(item.get("ctx", {}).get("discriminator", "kind")).strip("'")
            loc = (*loc, field)
            value = item.get("ctx", {}).get("tag")
            message = f"unknown {field}; {suggest(value, MEASURE_KINDS)}allowed: {', '.join(MEASURE_KINDS)}"
        elif item["type"] == "extra_forbidden":
            allowed = _allowed_fields(raw, loc[:-1], root)
            hint = suggest(loc[-1] if loc else "", allowed)
            message = f"unknown field; {_owner_hint(loc)}{hint}allowed here: {', '.join(allowed)}"
            value = None
        elif item["type"] == "missing":
            message = f"required field missing: add '{loc[-1] if loc else ''} = ...'"
            value = None
        elif item["type"] == "string_pattern_mismatch" and "A-Z" in str(item.get("ctx", {}).get("pattern", "")):
            hint = suggest(value, catalog.countries, catalog.country_names) if catalog is not None else ""
            message = f"not an ISO 3166-1 alpha-3 code (three upper-case letters, e.g. 'KAZ'); {hint}".rstrip("; ")
        elif item["type"] == "string_pattern_mismatch":
            message = "not a valid name: use lower-case letters, digits and '-' (e.g. 'kazakhstan-leaves')"
        elif item["type"] in _EXPECTED:
            message = _wrong_type(item["type"], value)
        problems.append(Problem(loc, value, message))
    return problems


# ------------------------------------------------------------------------------ parsing


def parse_scenario(
    text: str, *, source: str = "<string>", catalog: Catalog | None = None, include_dirs: Sequence[str | Path] = ()
) -> AnyScenario:
    """Parse and validate scenario TOML ``text``.

    Parameters
    ----------
    text
        The TOML document.
    source
        Name used in error messages (a file path or ``<string>``).
    catalog
        Countries, sectors and years to check codes against; default: the catalog of the
        dataset the scenario names (loaded once per process).
    include_dirs
        Folders its ``[policy] include`` may name files in; default none (built-in policy
        names only). See :func:`blocsim.policy.build.resolve_policy_include`.

    Raises
    ------
    ScenarioError
        Anything wrong, each problem with its line, field, value and a fix: text over
        1 MiB or nested over 16 levels (:mod:`blocsim.scenario.tomlread`), TOML syntax, unknown
        fields, wrong types (strict: ``year = "2016"`` is an error, not 2016), values,
        codes unknown to the dataset.
    """
    raw = with_default_model_name(loads_bounded(text, f"scenario {source}"))
    root = _scenario_class(raw, source, text)
    try:
        scenario = root.model_validate(raw, strict=True)  # a wrong type is an error, never coerced
    except ValidationError as error:
        hints = catalog if catalog is not None or root is OneSectorScenario else _catalog_for_hints(raw)
        raise ScenarioError(
            format_problems(source, key_lines(text), _pydantic_problems(raw, error, hints, root))
        ) from None
    scenario._include_dirs = tuple(str(folder) for folder in include_dirs)
    scenario._source = (source, text)
    if isinstance(scenario, OneSectorScenario):  # its own data table: names are checked against it when run
        return scenario
    if catalog is None:
        try:
            catalog = dataset_catalog(scenario.data.dataset)
        except BlocsimError as error:
            problem = Problem(("data", "dataset"), scenario.data.dataset, f"cannot load this dataset ({error})")
            raise ScenarioError(format_problems(source, key_lines(text), [problem])) from None
    problems = semantic_problems(scenario, catalog)
    if problems:
        raise ScenarioError(format_problems(source, key_lines(text), problems))
    return scenario


_POLICY_SECTIONS = ("policy", "before", "after", "outputs")
_GRAVITY_SECTIONS = ("estimation", "counterfactual")


def _scenario_class(raw: dict[str, Any], source: str, text: str) -> type[Scenario] | type[OneSectorScenario]:
    """The document class for ``[model] name``; sections of the other family are errors naming the model.

    Raises
    ------
    ScenarioError
        Unknown model name, or sections the chosen model does not use.
    """
    model = raw.get("model")
    name = model.get("name") if isinstance(model, dict) else "multisector"
    if not isinstance(name, str) or name not in MODEL_NAMES:
        problem = Problem(("model", "name"), name, f"unknown model; {suggest(name, MODEL_NAMES)}allowed: "
                                                   f"{', '.join(MODEL_NAMES)}")
        raise ScenarioError(format_problems(source, key_lines(text), [problem]))
    unused, why = (_POLICY_SECTIONS, "takes cost changes ([estimation], [[counterfactual.set]]), not policy states; "
                   "use model 'multisector' or 'pe' for [before]/[after]") if name == "onesector" else (
        _GRAVITY_SECTIONS, "takes policy states ([before]/[after]); [estimation] and [[counterfactual.set]] belong "
        "to model 'onesector'")
    problems = [Problem((section,), None, f"not used by model '{name}': it {why}") for section in unused
                if section in raw]
    if problems:
        raise ScenarioError(format_problems(source, key_lines(text), problems))
    return OneSectorScenario if name == "onesector" else Scenario


def _catalog_for_hints(raw: dict[str, Any]) -> Catalog | None:
    """The catalog of the dataset a (possibly invalid) scenario names, if it can be loaded; for suggestions."""
    data = raw.get("data")
    name = data.get("dataset", "eaeu") if isinstance(data, dict) else "eaeu"
    if not isinstance(name, str):
        return None
    try:
        return dataset_catalog(name)
    except BlocsimError:
        return None


def scenario_source(scenario: AnyScenario) -> tuple[str, dict[Loc, int], str]:
    """(source name, line map, text) of a parsed scenario (``("<object>", {}, "")`` if built in code)."""
    source, text = scenario._source
    return source, key_lines(text), text


def library_dir() -> Any:
    """The built-in scenario library folder (``blocsim/scenario/library``)."""
    return resources.files("blocsim.scenario") / "library"


def library_names() -> list[str]:
    """Names of the built-in scenarios."""
    return sorted(p.name[:-5] for p in library_dir().iterdir() if p.name.endswith(".toml"))


def load_scenario(
    path_or_name: str | Path, *, catalog: Catalog | None = None, include_dirs: Sequence[str | Path] = ()
) -> AnyScenario:
    """Load a scenario from a TOML file path or a built-in library name (e.g. ``"kazakhstan-leaves"``).

    ``[policy] include`` may name policy files in the scenario file's own folder and in
    ``include_dirs``; a built-in scenario may name files in ``include_dirs`` only.
    """
    name = str(path_or_name)
    path = Path(name)
    if path.suffix == ".toml" or path.is_file():
        return parse_scenario(read_bounded(path, "scenario file"), source=str(path), catalog=catalog,
                              include_dirs=(path.parent, *include_dirs))
    if name not in library_names():  # a name, never a path into or out of the library folder
        raise ScenarioError(
            f"scenario {name!r}: neither a .toml file nor a built-in scenario; {suggest(name, library_names())}"
            f"built-in: {', '.join(library_names())}"
        )
    text = (library_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return parse_scenario(text, source=f"library/{name}.toml", catalog=catalog, include_dirs=include_dirs)
