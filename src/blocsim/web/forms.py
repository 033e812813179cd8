"""Blank entries and model options for the scenario editor, derived from the scenario schema (pydantic models).

The editor shows the fields a scenario file has. To let the user *add* a member, a leaving
country or a measure, each list of tables gets templates: one blank entry per model (per
measure kind), with the model's defaults filled in and required fields left empty. The
``[model]`` options that are choices (a ``Literal``, a ``bool``, either optionally ``None``)
are shown as selects whether the file sets them or not (:func:`add_model_choices`).
Deriving them from :mod:`blocsim.scenario.schema` keeps the form in step with the loader.
"""

from __future__ import annotations

import datetime as dt
import json
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

#: Marker for an empty input of a given type (``{"__empty__": "number"}``) in a template.
EMPTY = "__empty__"
#: Marker for a select of allowed values (``{"__choice__": {"options": [...], "omit": ...}}``), see :func:`choice_leaf`.
CHOICE = "__choice__"


def _unwrap(annotation: Any, keep_none: bool = False) -> list[Any]:
    """The alternatives of an annotation with Annotated/Optional/Union removed (``None`` kept if asked)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], keep_none)
    if origin in (typing.Union, types.UnionType):
        return [alt for arg in typing.get_args(annotation) if keep_none or arg is not type(None)
                for alt in _unwrap(arg, keep_none)]
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


# ---------------------------------------------------------------- [model] options that are choices


@dataclass(frozen=True)
class Choice:
    """A field whose values can be listed: every alternative of its type is a ``Literal``, ``bool`` or ``None``.

    Attributes
    ----------
    values
        The allowed values: ``None`` first when allowed, then the schema's order (``True, False`` for a ``bool``).
    default
        The schema's default (one of ``values``).
    """

    values: tuple[Any, ...]
    default: Any


def _choice(annotation: Any, default: Any) -> Choice | None:
    """The :class:`Choice` of a field's annotation, or ``None`` if it is not one with two or more values."""
    alternatives = _unwrap(annotation, keep_none=True)
    values: list[Any] = [None] if type(None) in alternatives else []
    for alt in alternatives:
        if typing.get_origin(alt) is typing.Literal:
            values.extend(typing.get_args(alt))
        elif alt is bool:
            values.extend((True, False))
        elif alt is not type(None):
            return None
    unique = tuple(dict.fromkeys(values))
    if len(unique) < 2 or default is PydanticUndefined:
        return None
    return Choice(unique, default)


def choice_fields(model: type[BaseModel]) -> dict[str, Choice]:
    """The fields of ``model`` that are choices (e.g. ``deficits``, ``labour``, ``closure`` of the multi-sector model).

    A field with one allowed value (the ``name`` discriminator) or no default is not a choice.
    """
    found = {name: _choice(field.annotation, field.default) for name, field in model.model_fields.items()}
    return {name: choice for name, choice in found.items() if choice is not None}


def _same(a: Any, b: Any) -> bool:
    """Equal and of one type (``True`` is not ``1``, ``"1"`` is not ``1``)."""
    return type(a) is type(b) and a == b


def _option_label(value: Any, choice: Choice) -> str:
    if not any(_same(value, allowed) for allowed in choice.values):
        return f"{value} (not allowed)"
    if value is None:
        return "dataset default" if any(_same(True, allowed) for allowed in choice.values) else "not set"
    text = ("on" if value else "off") if isinstance(value, bool) else str(value)
    return f"{text} (default)" if _same(value, choice.default) else text


def _encoded(value: Any) -> str:
    """An option's value attribute: the JSON of the value; ``""`` for ``None`` (left out of the document)."""
    return "" if value is None else json.dumps(value)


def choice_leaf(choice: Choice, current: Any = PydanticUndefined) -> dict[str, Any]:
    """The editor's select for ``choice``: ``{CHOICE: {"options": [...], "omit": ...}}``.

    ``current``: the file's value (not given: the file does not set the field). The option
    selected is the file's value, else the schema default. ``omit`` is the encoded default when
    the file does not set the field (the form then leaves it out of the document unless another
    value is chosen), else ``None``. A file value the schema does not allow is kept as an extra
    option, so that "Check" shows the loader's message for it.

    Returns
    -------
    dict
        ``{"__choice__": {"options": [{"value": '"purged"', "label": "purged", "selected": False}, ...],
        "omit": '"observed"'}}``; an option's ``value`` is the JSON of the value (``""``: ``None``).
    """
    is_set = current is not PydanticUndefined
    selected = current if is_set else choice.default
    values = list(choice.values)
    if not any(_same(selected, value) for value in values):
        values.append(selected)
    options = [{"value": _encoded(value), "label": _option_label(value, choice), "selected": _same(value, selected)}
               for value in values]
    omit = None if is_set or choice.default is None else _encoded(choice.default)
    return {CHOICE: {"options": options, "omit": omit}}


def model_classes() -> dict[str, type[BaseModel]]:
    """The ``[model]`` table's class per model name (``multisector``, ``pe``, ``onesector``), from the schema."""
    from blocsim.scenario import OneSectorScenario, Scenario

    classes = [cls for root in (Scenario, OneSectorScenario) for cls in _unwrap(root.model_fields["model"].annotation)]
    return {str(typing.get_args(_unwrap(cls.model_fields["name"].annotation)[0])[0]): cls
            for cls in classes if _is_model(cls)}


def add_model_choices(document: dict[str, Any], model: str) -> None:
    """Show every choice of ``document["model"]`` as a select (:func:`choice_leaf`), set in the file or not.

    ``model``: the scenario's model name. A document without a ``[model]`` table (one the
    editor could not read) is left as it is.
    """
    table = document.get("model")
    cls = model_classes().get(model)
    if not isinstance(table, dict) or cls is None:
        return
    for name, choice in choice_fields(cls).items():
        table[name] = choice_leaf(choice, table[name]) if name in table else choice_leaf(choice)
