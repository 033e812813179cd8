"""What a scenario is checked against, and how its problems are named.

The vocabulary shared by the loader (:mod:`blocsim.scenario.loader`), the dataset checks
(:mod:`blocsim.scenario.checks`) and the state builder (:mod:`blocsim.scenario.build`): a field
location :data:`Loc`, the dataset :class:`Catalog`, one :class:`Problem`, "did you mean" hints
and the folders a scenario's ``[policy] include`` may name files in.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from blocsim.scenario.schema import Scenario

Loc = tuple[str | int, ...]


#: How many years before its first data year a scenario's policy dates may lie.
PRE_DATA_YEARS = 5


@dataclass(frozen=True)
class Catalog:
    """What a dataset offers a scenario: country codes (and names), sectors, years."""

    name: str
    countries: tuple[str, ...]
    country_names: Mapping[str, str]
    sectors: tuple[str, ...]
    years: tuple[int, ...]

    @property
    def first_date(self) -> dt.date:
        """First day of the first data year."""
        return dt.date(min(self.years), 1, 1)

    @property
    def first_policy_date(self) -> dt.date:
        """Earliest policy date a scenario may give: 1 Jan, :data:`PRE_DATA_YEARS` years before the first data year.

        An event shortly before the data (the 2010 CET on data from 2011) runs on the first
        data year with the pre-event policy as the comparison state.
        """
        return dt.date(min(self.years) - PRE_DATA_YEARS, 1, 1)

    @property
    def last_date(self) -> dt.date:
        """Last day of the last data year."""
        return dt.date(max(self.years), 12, 31)

    @classmethod
    def from_dataset(cls, dataset: Any) -> "Catalog":
        """Catalog of a loaded dataset (``.countries`` with iso3/name, ``.sectors``, ``.flows`` with year)."""
        countries = dataset.countries
        names = dict(zip(countries["iso3"].astype(str), countries.get("name", countries["iso3"]).astype(str)))
        return cls(
            name=str(getattr(dataset, "name", "dataset")),
            countries=tuple(countries["iso3"].astype(str)),
            country_names=names,
            sectors=tuple(dataset.sectors["sector"].astype(str)),
            years=tuple(sorted(int(y) for y in dataset.flows["year"].unique())),
        )


@dataclass(frozen=True)
class Problem:
    """One problem in a scenario file: where, what value, what is wrong and how to fix it."""

    loc: Loc
    value: Any
    message: str


def suggest(value: Any, allowed: Sequence[str], names: Mapping[str, str] | None = None) -> str:
    """``did you mean ...?`` text: close matches of ``value`` among ``allowed`` (and their names)."""
    text = str(value)
    close = difflib.get_close_matches(text.upper() if len(text) == 3 else text, list(allowed), n=3, cutoff=0.5)
    if names:
        by_name = {v.lower(): k for k, v in names.items()}
        close += [by_name[n] for n in difflib.get_close_matches(text.lower(), list(by_name), n=2, cutoff=0.6)]
    close = list(dict.fromkeys(close))
    return f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""


def scenario_include_dirs(scenario: Scenario) -> tuple[str, ...]:
    """Folders the scenario's ``[policy] include`` may name files in (given when it was loaded)."""
    return scenario._include_dirs
