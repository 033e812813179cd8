"""Scenario documents between the browser (JSON) and the scenario loader (TOML text).

The dashboard edits a scenario as a nested JSON document whose leaves are strings,
numbers, booleans and lists. TOML has dates that JSON lacks: a string of the form
``YYYY-MM-DD`` (or an ISO date-time) is written back as a TOML date, which is how the
scenario files write them. :func:`to_jsonable` goes the other way.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, Mapping

from blocsim.errors import ScenarioError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
MAX_DEPTH = 12
#: Caps on a scenario document from the browser (built-in scenarios use a small fraction of each).
MAX_DOCUMENT_DEPTH = 16
MAX_DOCUMENT_ITEMS = 5_000
MAX_TEXT_CHARS = 10_000
MAX_KEY_CHARS = 100


def to_jsonable(value: Any) -> Any:
    """Turn a parsed TOML document into JSON-compatible values (dates become ISO strings)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def check_document(document: Any) -> None:
    """Refuse a scenario document beyond the caps: depth, number of values, key and text length.

    Walks the document without recursion, so that no nesting depth can exhaust the stack.

    Raises
    ------
    ValueError
        Naming the dotted path of the first value over a cap, the cap and what to do.
    """
    pending: list[tuple[Any, str, int]] = [(document, "document", 1)]
    seen = 0
    while pending:
        value, where, depth = pending.pop()
        seen += 1
        if seen > MAX_DOCUMENT_ITEMS:
            raise ValueError(f"more than {MAX_DOCUMENT_ITEMS} values; a scenario needs far fewer, remove entries")
        if depth > MAX_DOCUMENT_DEPTH:
            raise ValueError(f"{where}: nested deeper than {MAX_DOCUMENT_DEPTH} levels; flatten the tables")
        if isinstance(value, Mapping):
            for key, item in value.items():
                if len(str(key)) > MAX_KEY_CHARS:
                    raise ValueError(f"{where}: a key of {len(str(key))} characters (at most {MAX_KEY_CHARS})")
                pending.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{where}[{k}]", depth + 1) for k, item in enumerate(value))
        elif isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"{where}: text of {len(value)} characters (at most {MAX_TEXT_CHARS}); shorten it")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ScenarioError(f"scenario field {where}: value {value!r} is not a finite number; enter a number")
        return repr(value)
    if isinstance(value, str):
        if _DATE.match(value) or _DATETIME.match(value):
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(str(k))} = {_scalar(v, f'{where}.{k}')}" for k, v in value.items()) + "}"
    if value is None:
        raise ScenarioError(f"scenario field {where}: empty value; fill it in or remove the field")
    raise ScenarioError(f"scenario field {where}: unsupported value type {type(value).__name__}")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _emit(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    if len(path) > MAX_DEPTH:
        raise ScenarioError(f"scenario document nested deeper than {MAX_DEPTH} levels at {'.'.join(path)}")
    for key, value in table.items():
        if not isinstance(value, Mapping) and not _is_table_array(value):
            lines.append(f"{_key(str(key))} = {_scalar(value, '.'.join([*path, str(key)]))}")
    for key, value in table.items():
        inner = [*path, str(key)]
        header = ".".join(_key(p) for p in inner)
        if isinstance(value, Mapping):
            lines.extend(["", f"[{header}]"])
            _emit(value, inner, lines)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{header}]]"])
                _emit(item, inner, lines)


def dumps(document: Mapping[str, Any]) -> str:
    """Serialise a scenario document (nested mappings, lists and scalars) to TOML text.

    Raises
    ------
    ScenarioError
        On ``None`` leaves, non-finite numbers, unsupported types or excessive nesting,
        naming the dotted field path.
    """
    if not isinstance(document, Mapping):
        raise ScenarioError(f"scenario document must be a table (JSON object), got {type(document).__name__}")
    lines: list[str] = []
    _emit(document, [], lines)
    return "\n".join(lines).strip() + "\n"
