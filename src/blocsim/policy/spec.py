"""Pydantic schemas of policy definitions (blocs, preference regimes) as written in TOML.

Used by the built-in policy library (``blocsim/policy/library/*.toml``) and by scenario
files, which may define extra blocs or preference regimes inline. Every model forbids
unknown fields so that a typo is an error, not a silently ignored setting.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from blocsim.data.border_costs import MAX_BORDER_AVE

ISO3 = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Fraction = Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class MemberSpec(_Strict):
    """A dated membership: ``country`` from ``joined`` up to (excluding) ``left``."""

    country: ISO3
    joined: dt.date
    left: dt.date | None = None
    source: str = ""

    @model_validator(mode="after")
    def _dates_in_order(self) -> "MemberSpec":
        if self.left is not None and self.left <= self.joined:
            raise ValueError(f"left ({self.left}) must come after joined ({self.joined})")
        return self


class ExemptionSpec(_Strict):
    """A member's CET exemption for one sector.

    ``rate``: a fraction; ``None`` keeps the member's own MFN rate; ``"applied"`` takes the
    member's applied rate from the dataset's tariffs table (regime ``applied``).
    """

    country: ISO3
    sector: Name
    rate: Fraction | Literal["applied"] | None = None
    start: dt.date = dt.date(1900, 1, 1)
    until: dt.date | None = None
    source: str = ""


class MemberExemptionSpec(ExemptionSpec):
    """A CET exemption for a country that is a member of ``bloc`` on a scenario's after date.

    Written as ``[[after.exemptions]]`` in a scenario file: an exemption list or one step of
    a transition schedule (several entries for one country and sector with successive
    ``start`` dates; on a date the step with the latest ``start`` in force applies), e.g. the
    lower-than-CET rates a member applies under its WTO commitments. ``start`` defaults to
    the scenario's after date. The union's rules accept an exemption as legal; a tariff
    measure that changes a member's own external rate is a rule violation instead.
    """

    bloc: Name = "EAEU"


class PoolSpec(_Strict):
    """Duty-pool shares (percent, must sum to 100) in force from ``start``."""

    start: dt.date
    shares: dict[ISO3, Percent]
    source: str = ""


class BorderSpec(_Strict):
    """The border between two countries, where it differs from the bloc's rule.

    ``checks_removed``: customs checks between the two are gone from that date, whatever the
    bloc's own ``checks_removed`` and memberships (e.g. Russia-Belarus since their 1995
    customs union agreement). ``ave``: the AVE of the checks at this border (fraction),
    instead of the bloc's estimates or flat ``border_cost``.
    """

    countries: list[ISO3] = Field(min_length=2, max_length=2)
    checks_removed: dt.date | None = None
    ave: Annotated[float, Field(gt=-1.0, le=10.0, allow_inf_nan=False)] | None = None
    source: str = ""

    @model_validator(mode="after")
    def _says_something(self) -> "BorderSpec":
        if self.countries[0] == self.countries[1]:
            raise ValueError(f"countries {self.countries}: a border lies between two different countries")
        if self.checks_removed is None and self.ave is None:
            raise ValueError("give checks_removed and/or ave; a border entry with neither would have no effect")
        return self


class BlocSpec(_Strict):
    """A bloc definition: kind, dated members, CET (``"dataset"`` or rates by sector), pool."""

    name: Name
    title: str = ""
    kind: Literal["fta", "customs_union", "economic_union"]
    members: list[MemberSpec] = Field(min_length=1)
    cet: Literal["dataset"] | dict[Name, Fraction] = "dataset"
    cet_start: dt.date | None = None
    checks_removed: dt.date | None = None
    free_movement_start: dt.date | None = None
    border_cost: Fraction = 0.0
    border_sectors: list[Name] = []
    border_estimates: Literal["eaeu"] | None = None
    max_border_ave: Fraction = MAX_BORDER_AVE
    borders: list[BorderSpec] = []
    exemptions: list[ExemptionSpec] = []
    duty_pool: list[PoolSpec] = []
    sources: list[str] = []

    @model_validator(mode="after")
    def _no_field_without_effect(self) -> "BlocSpec":
        if self.kind == "fta":
            given = (("cet", self.cet != "dataset"), ("cet_start", self.cet_start is not None),
                     ("exemptions", bool(self.exemptions)))
            unused = [name for name, present in given if present]
            if unused:
                raise ValueError(f"{', '.join(unused)} given for kind = 'fta', which has no common external tariff, so "
                                 "they would have no effect: drop them or use kind = 'customs_union'")
        if "max_border_ave" in self.model_fields_set and self.border_estimates is None:
            raise ValueError("max_border_ave given without border_estimates, so it would have no effect: it caps the "
                             "estimated border AVEs; give border_estimates or drop max_border_ave")
        if self.border_sectors and self.border_cost == 0 and self.border_estimates is None:
            raise ValueError("border_sectors given with border_cost = 0, so they would have no effect: give the "
                             "border_cost of the customs checks or drop border_sectors")
        return self

    @model_validator(mode="after")
    def _unique_members(self) -> "BlocSpec":
        seen: set[str] = set()
        for member in self.members:
            if member.country in seen:
                raise ValueError(f"country {member.country} listed twice in members; give one membership per country")
            seen.add(member.country)
        return self


class PreferenceSpec(_Strict):
    """A preference regime (FTA outside the blocs): ``rate`` between members on ``sectors`` (all if empty)."""

    name: Name
    title: str = ""
    rate: Fraction = 0.0
    sectors: list[Name] = []
    members: list[MemberSpec] = Field(min_length=2)
    sources: list[str] = []
    deflection_cost: Fraction = 0.05


class PolicyFile(_Strict):
    """One policy-library file: a bloc or a preference regime."""

    bloc: BlocSpec | None = None
    preference: PreferenceSpec | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> "PolicyFile":
        if (self.bloc is None) == (self.preference is None):
            raise ValueError("a policy file defines exactly one [bloc] or one [preference] table")
        return self
