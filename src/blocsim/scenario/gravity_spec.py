"""The one-sector (gravity-data) parts of a scenario: data table, PPML estimation, cost changes.

A scenario with ``[model] name = "onesector"`` reads a gravity table (a bundled sample or a
CSV/Parquet file), estimates the cost coefficients by PPML (``[estimation]``) and changes cost
variables for selected pairs (``[[counterfactual.set]]``); the model settings live under
``[model]`` (:class:`blocsim.scenario.schema.OneSectorModel`). The same sections made up the
``blocsim ge`` configuration files (:mod:`blocsim.scenario.ge_config`). Every field is
documented in docs/scenarios.md.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    """Unknown fields and wrong types are errors (``year = "2006"`` is not coerced to 2006)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


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
