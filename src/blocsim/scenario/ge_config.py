"""The old ``blocsim ge`` file format (deprecated): read it and translate it into a scenario.

A ``blocsim ge`` file is a one-sector scenario written in the format used before scenarios
named their model. :func:`load_config` reads it (unchanged rules and messages) and
:func:`config_to_scenario` turns it into the :class:`~blocsim.scenario.schema.OneSectorScenario`
that ``blocsim run`` reads: ``[ge]`` becomes ``[model]`` with ``name = "onesector"``, the other
sections keep their fields, and the ``[scenario]`` section gets the title, event and sources a
scenario requires (the name when the title is empty; "not stated" otherwise).

The file names the data (a CSV/Parquet path or a bundled sample), its columns, the cost
variables and fixed effects of the gravity regression, the GE settings and the counterfactual
changes to cost variables. Example (``examples/trade_without_borders.toml``)::

    [scenario]
    name = "trade-without-borders"

    [data]
    sample = "yotov2016_trade_without_borders_2006"   # or: path = "flows.csv"
    output = "Y"
    expenditure = "E"

    [estimation]
    cost_variables = ["ln_DIST", "CNTG", "INTL_BRDR"]
    fixed_effects = "exporter-importer"

    [ge]
    sigma = 7
    reference_importer = "DEU"

    [[counterfactual.set]]
    column = "INTL_BRDR"
    value = 0
    pairs = "all"              # or involving = [...], between = [...], exporters/importers = [...]

Fields (all sections reject unknown keys and values of the wrong type, e.g. ``year = "2006"``;
the file is at most 1 MiB and 16 levels deep, :mod:`blocsim.scenario.tomlread`):

- ``[scenario]`` name, title, event, description, sources: copied to run.json.
- ``[data]`` exactly one of ``path`` (CSV/Parquet, relative to the config file) or ``sample``;
  column names ``exporter``, ``importer``, ``flow`` (defaults: exporter, importer, trade),
  ``year_column`` and ``year`` (the GE year, required if the data has several years), optional
  ``output``/``expenditure`` columns (default: row and column sums of the flows).
- ``[estimation]`` ``cost_variables`` (the PPML covariates and the GE trade-cost terms),
  ``fixed_effects``, ``pair``, ``domestic_pair``, ``domestic``, ``cluster``, ``years`` (as in
  ``blocsim.estimate_gravity``; panels use all years), or ``coefficients = {var = value}`` to
  skip estimation.
- ``[ge]`` ``sigma`` (> 1), ``reference_importer``, ``baseline_method`` ("estimated" or
  "observed"), ``closure`` ("ratio" or "level"), ``compat`` ("yotov", "gegravity" or absent).
- ``[[counterfactual.set]]`` (one or more) ``column``, ``value`` and one pair selector:
  ``pairs = "all"``, ``involving = [ISO3, ...]`` (exporter or importer listed),
  ``between = [...]`` (both listed) or ``exporters``/``importers`` lists (both conditions);
  domestic pairs change only with ``include_domestic = true``. Lists are not empty, and a
  selector that selects no pair of the data (``between = ["CAN"]``) is an error, never a
  zero shock.

Everything is validated before any work starts; an error names the file, the field, the value,
what is allowed and a fix, and leaves no output directory behind.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from blocsim.errors import ScenarioError
from blocsim.scenario.gravity_spec import (  # CostChange: re-exported for code that imported it from here
    CostChange, CounterfactualSection, DataSection, EstimationSection, GESection,
)
from blocsim.scenario.schema import OneSectorModel, OneSectorScenario, ScenarioMeta
from blocsim.scenario.tomlread import loads_bounded, read_bounded

# --- the configuration file ------------------------------------------------------------------


class _Strict(BaseModel):
    """Unknown fields and wrong types are errors (``year = "2016"`` is not coerced to 2016)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ScenarioSection(_Strict):
    """What the run is: written to run.json for the report."""

    name: str = "ge-run"
    title: str = ""
    event: str = ""
    description: str = ""
    sources: list[str] = []


class GEConfig(_Strict):
    """A ``blocsim ge`` configuration file."""

    scenario: ScenarioSection = ScenarioSection()
    data: DataSection
    estimation: EstimationSection
    ge: GESection
    counterfactual: CounterfactualSection


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at the parent of ``loc`` (for 'unknown field' messages)."""
    model: Any = GEConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        args = getattr(annotation, "__args__", ())
        model = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    return list(model.model_fields)


def _field_name(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_config(path: Path) -> GEConfig:
    """Read and validate a ``blocsim ge`` TOML file.

    Raises
    ------
    ScenarioError
        Unreadable, too large or too deeply nested file, TOML syntax error, unknown field,
        wrong type or bad value; the message names the file, the field, the value and what
        is allowed.
    """
    raw = loads_bounded(read_bounded(path, "config file"), str(path))
    try:
        return GEConfig.model_validate(raw, strict=True)  # a wrong type is an error, never coerced
    except ValidationError as error:
        # an unknown field usually explains a missing one (a misspelt name): report it first
        problem = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = tuple(problem["loc"])
        field = _field_name(loc)
        if problem["type"] == "extra_forbidden":
            allowed = _allowed_fields(loc)
            raise ScenarioError(
                f"{path}: unknown field '{field}' (value {problem['input']!r}); allowed fields here: {allowed}; "
                f"fix: correct the spelling or remove it"
            ) from None
        if problem["type"] == "missing":
            raise ScenarioError(f"{path}: field '{field}' is required; fix: add it") from None
        value = problem.get("input")
        shown = "" if isinstance(value, dict) else f" got {value!r};"
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise ScenarioError(f"{path}: field '{field}':{shown} {message}") from None


NOT_STATED = "not stated in the blocsim ge file"
CONVERT_HINT = ('the blocsim ge file format is deprecated: rename its [ge] table to [model], add name = "onesector" '
                "there (and title, event and sources under [scenario]), then run it with blocsim run FILE --out DIR")


def _slug(name: str) -> str:
    """``name`` as a scenario slug (lower case, ``[a-z0-9-]``, at most 64 characters)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:64].strip("-")
    return slug or "ge-run"


def config_to_scenario(config: GEConfig, path: Path) -> OneSectorScenario:
    """The scenario form of a ``blocsim ge`` file: ``[ge]`` -> ``[model] name = "onesector"``.

    The data, estimation and counterfactual sections carry over unchanged, so the run gives
    the same numbers. ``[scenario]`` gets what a scenario requires: a slug name, the name as
    title when none is given, and :data:`NOT_STATED` as event and source when the file states none.
    """
    meta = config.scenario
    scenario = OneSectorScenario(
        scenario=ScenarioMeta(
            name=_slug(meta.name), title=(meta.title or meta.name)[:200], event=meta.event or NOT_STATED,
            description=meta.description, sources=[s for s in meta.sources if s.strip()] or [NOT_STATED],
        ),
        data=config.data,
        estimation=config.estimation,
        model=OneSectorModel(name="onesector", **config.ge.model_dump()),
        counterfactual=config.counterfactual,
    )
    scenario._source = (str(path), "")
    scenario._include_dirs = (str(path.parent),)
    scenario._model_table = "ge"
    return scenario


def read_ge_file(path: Path) -> tuple[OneSectorScenario, bool]:
    """Read a ``blocsim ge`` file: the old format (translated) or a one-sector scenario file.

    Returns the scenario and whether the file was in the old format (no ``[model]`` table),
    for which ``blocsim ge`` prints :data:`CONVERT_HINT`.

    Raises
    ------
    ScenarioError
        Anything :func:`load_config` or :func:`blocsim.scenario.load_scenario` refuses, or a
        scenario file of another model (``blocsim ge`` runs the one-sector model only).
    """
    from blocsim.scenario.loader import load_scenario

    raw = loads_bounded(read_bounded(path, "config file"), str(path))
    if "model" not in raw:
        return config_to_scenario(load_config(path), path), True
    scenario = load_scenario(path)
    if not isinstance(scenario, OneSectorScenario):
        raise ScenarioError(
            f"{path}: field 'model.name': got {scenario.model.name!r}; blocsim ge runs the one-sector model only "
            "(name = \"onesector\"). Fix: run this file with blocsim run FILE --out DIR"
        )
    return scenario, False
