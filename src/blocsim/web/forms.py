"""Blank entries for the scenario editor, derived from the scenario schema (pydantic models).

The editor shows the fields a scenario file has. To let the user *add* a member, a leaving
country or a measure, each list of tables gets templates: one blank entry per model (per
measure kind), with the model's defaults filled in and required fields left empty.
Deriving them from :mod:`blocsim.scenario.schema` keeps the form in step with the loader.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

#: Marker for an empty input of a given type (``{"__empty__": "number"}``) in a template.
EMPTY = "__empty__"


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of an annotation with Annotated/Optional/Union removed."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [alt for arg in typing.get_args(annotation) if arg is not type(None) for alt in _unwrap(arg)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_model_list(annotation: Any) -> bool:
    return any(
        typing.get_origin(alt) is list and any(_is_model(a) for arg in typing.get_args(alt) for a in _unwrap(arg))
        for alt in _unwrap(annotation)
    )


def _placeholder(annotation: Any) -> Any:
    """Empty value of the right input type for a required field."""
    first = _unwrap(annotation)[0]
    if typing.get_origin(first) is typing.Literal:
        return typing.get_args(first)[0]
    if typing.get_origin(first) is list:
        return []
    if first in (int, float):
        return {EMPTY: "number"}
    if first is dt.date:
        return {EMPTY: "date"}
    return {EMPTY: "str"}


def blank(model: type[BaseModel]) -> dict[str, Any]:
    """One blank entry of ``model``: defaults where the schema has them, empty inputs elsewhere.

    Nested lists of tables (e.g. a joining member's exemptions) are left out; the TOML tab
    edits those.
    """
    entry: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if _is_model_list(field.annotation):
            continue
        default = field.default
        if default is PydanticUndefined or default is None:
            entry[name] = _placeholder(field.annotation)
        elif isinstance(default, (dt.date, dt.datetime)):
            entry[name] = default.isoformat()
        elif isinstance(default, BaseModel):
            continue
        else:
            entry[name] = default
    return entry


def _list_item_models(model: type[BaseModel], field: str) -> list[type[BaseModel]]:
    annotation = model.model_fields[field].annotation
    for alt in _unwrap(annotation):
        if typing.get_origin(alt) is list:
            return [m for arg in typing.get_args(alt) for m in _unwrap(arg) if _is_model(m)]
    return []


def _label(model: type[BaseModel]) -> str:
    kind = model.model_fields.get("kind")
    if kind is not None:
        return str(typing.get_args(_unwrap(kind.annotation)[0])[0])
    return model.__name__.removesuffix("Spec").lower()


def list_templates() -> dict[str, list[dict[str, Any]]]:
    """Templates per dotted path of every list of tables under ``[before]`` and ``[after]``.

    Returns
    -------
    dict
        ``{"after.measures": [{"label": "tariff", "item": {...}}, ...], "after.join": [...], ...}``.
    """
    from blocsim.scenario import Scenario

    templates: dict[str, list[dict[str, Any]]] = {}
    for section in ("before", "after"):
        model = _unwrap(Scenario.model_fields[section].annotation)[0]
        for name in model.model_fields:
            items = _list_item_models(model, name)
            if items:
                templates[f"{section}.{name}"] = [{"label": _label(m), "item": blank(m)} for m in items]
    return templates
