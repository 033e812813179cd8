"""GE run files: PPML estimation + one-sector GE described by a small TOML file (``blocsim ge``).

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

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from blocsim.errors import ScenarioError
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


class DataSection(_Strict):
    """Where the baseline table comes from and what its columns are called."""

    path: str | None = None
    sample: str | None = None
    exporter: str = "exporter"
    importer: str = "importer"
    flow: str = "trade"
    year_column: str | None = None
    year: int | None = None
    output: str | None = None
    expenditure: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DataSection:
        if (self.path is None) == (self.sample is None):
            raise ValueError("give exactly one of 'path' (a CSV or Parquet file) or 'sample' (a bundled dataset)")
        if self.year is not None and self.year_column is None:
            raise ValueError("'year' selects a year of 'year_column'; set year_column too")
        return self


class EstimationSection(_Strict):
    """The PPML regression that supplies the cost coefficients (``blocsim.estimate_gravity``)."""

    cost_variables: list[str] = Field(min_length=1)
    fixed_effects: Literal[
        "exporter-importer", "exporter_year-importer_year", "exporter_year-importer_year+pair"
    ] = "exporter-importer"
    pair: Literal["directed", "symmetric"] = "directed"
    domestic_pair: Literal["separate", "shared"] = "separate"
    domestic: Literal["keep", "drop"] = "keep"
    cluster: str | None = None
    years: list[int] | None = None
    coefficients: dict[str, float] | None = None


class GESection(_Strict):
    """Settings passed to ``blocsim.solve_ge``."""

    sigma: float = Field(gt=1.0, allow_inf_nan=False)
    reference_importer: str | None = None
    baseline_method: Literal["estimated", "observed"] = "estimated"
    closure: Literal["ratio", "level"] = "ratio"
    compat: Literal["yotov", "gegravity"] | None = None


class CostChange(_Strict):
    """Set ``column`` to ``value`` for the selected pairs (domestic pairs only if asked)."""

    column: str
    value: float = Field(allow_inf_nan=False)
    pairs: Literal["all"] | None = None
    involving: list[str] | None = Field(default=None, min_length=1)
    between: list[str] | None = Field(default=None, min_length=1)
    exporters: list[str] | None = Field(default=None, min_length=1)
    importers: list[str] | None = Field(default=None, min_length=1)
    include_domestic: bool = False

    @model_validator(mode="after")
    def _one_selector(self) -> CostChange:
        chosen = [
            name
            for name, value in (("pairs", self.pairs), ("involving", self.involving), ("between", self.between))
            if value is not None
        ]
        if self.exporters is not None or self.importers is not None:
            chosen.append("exporters/importers")
        if len(chosen) != 1:
            raise ValueError(
                f"select pairs with exactly one of pairs = \"all\", involving = [...], between = [...] or "
                f"exporters/importers = [...]; got {chosen or 'none'}"
            )
        return self

    def countries(self) -> list[str]:
        """Country codes this change names."""
        lists = (self.involving, self.between, self.exporters, self.importers)
        return [code for codes in lists if codes for code in codes]

    def mask(self, exporter: np.ndarray, importer: np.ndarray) -> np.ndarray:
        """Boolean mask of the selected pairs for arrays of exporter / importer codes."""
        if self.pairs == "all":
            selected = np.ones(len(exporter), dtype=bool)
        elif self.involving is not None:
            selected = np.isin(exporter, self.involving) | np.isin(importer, self.involving)
        elif self.between is not None:
            selected = np.isin(exporter, self.between) & np.isin(importer, self.between)
        else:
            selected = np.ones(len(exporter), dtype=bool)
            if self.exporters is not None:
                selected &= np.isin(exporter, self.exporters)
            if self.importers is not None:
                selected &= np.isin(importer, self.importers)
        if not self.include_domestic:
            selected &= exporter != importer
        return selected

    def describe(self) -> str:
        """One line for run.json's ``policy_changes``."""
        if self.pairs == "all":
            where = "every pair"
        elif self.involving is not None:
            where = f"every pair involving {', '.join(self.involving)}"
        elif self.between is not None:
            where = f"every pair between {', '.join(self.between)}"
        else:
            where = "pairs with exporter in {} and importer in {}".format(
                ", ".join(self.exporters) if self.exporters else "any", ", ".join(self.importers) if self.importers else "any"
            )
        domestic = " (domestic pairs included)" if self.include_domestic else ""
        return f"set {self.column} = {self.value:g} for {where}{domestic}"


class CounterfactualSection(_Strict):
    """Changes to cost variables that define the counterfactual."""

    set: list[CostChange] = Field(min_length=1)


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
