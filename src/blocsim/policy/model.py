"""The union's rules as immutable data: blocs, memberships, CET, duty pool, preferences, measures.

A :class:`PolicyState` is a snapshot of trade policy at one date: the blocs (free trade
areas, customs unions, economic unions) with their dated memberships, common external
tariff (CET), member exemptions and duty-pool shares; other preference regimes (e.g. the
CIS free trade area); every country's MFN tariff; and the measures in force (tariff
changes, bans, transit restrictions, origin enforcement, non-tariff measures, output
shocks). Nothing here knows about solvers: :mod:`blocsim.shock` turns two states into
model inputs.

Units: tariffs and ad valorem equivalents are fractions (0.05 = 5 %); duty-pool shares are
percent (they sum to 100, as printed in Annex 5 of the Treaty on the EAEU).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Literal, Mapping, Union

from blocsim.errors import MeasureError, PolicyRuleViolation
from blocsim.policy.checks import in_range, measure_error, range_text
from blocsim.policy.macro import CapitalFlowShock, WorkPermitCost, WorldPriceShock

BlocKind = Literal["fta", "customs_union", "economic_union"]
BLOC_KINDS: tuple[str, ...] = ("fta", "customs_union", "economic_union")

#: Pool shares may differ from 100 by this much (percentage points; rounding noise only);
#: Annex 5 prints shares to two decimals.
POOL_TOLERANCE_PP = 1e-6
#: Default share of a leaking ban's products that reaches the importer through the transit
#: member (see :class:`ImportBan`; GLOBSEC 2017); sensitivity range 0.1-0.5.
REROUTE_SHARE = 0.2


@dataclass(frozen=True)
class Membership:
    """A country's membership of a bloc or preference regime from ``joined`` up to (excluding) ``left``."""

    country: str
    joined: dt.date
    left: dt.date | None = None

    def active(self, date: dt.date) -> bool:
        """True if the country is a member on ``date``."""
        return self.joined <= date and (self.left is None or date < self.left)


@dataclass(frozen=True)
class Exemption:
    """A member's exemption from the CET for one sector (a transition schedule step).

    ``rate`` is the member's own rate while the exemption lasts (a fraction); ``None``
    keeps the member's MFN rate. The exemption applies from ``start`` up to (excluding)
    ``until``; ``until=None`` means open-ended.
    """

    country: str
    sector: str
    rate: float | None = None
    start: dt.date = dt.date.min
    until: dt.date | None = None
    source: str = ""

    def active(self, date: dt.date) -> bool:
        """True if the exemption applies on ``date``."""
        return self.start <= date and (self.until is None or date < self.until)


@dataclass(frozen=True)
class PoolPeriod:
    """Duty-pool shares (percent, summing to 100) in force from ``start``."""

    start: dt.date
    shares: Mapping[str, float]
    source: str = ""


@dataclass(frozen=True)
class PairBorder:
    """The border between ``countries`` where it differs from its bloc's rule.

    ``checks_removed``: no customs checks between the two from that date on, whatever the
    bloc's memberships and ``checks_removed`` (None: the bloc's rule). ``ave``: the border
    cost of this pair (fraction) instead of the bloc's (None: the bloc's).
    """

    countries: tuple[str, str]
    checks_removed: dt.date | None = None
    ave: float | None = None
    source: str = ""

    def open_on(self, date: dt.date) -> bool:
        """True if this border's own rule removes the checks on ``date``."""
        return self.checks_removed is not None and self.checks_removed <= date


@dataclass(frozen=True)
class Bloc:
    """A free trade area, customs union or economic union.

    Parameters
    ----------
    name
        Short name, e.g. ``"EAEU"``.
    kind
        ``"fta"`` (internal zero only, members keep their own external tariffs),
        ``"customs_union"`` or ``"economic_union"`` (internal zero plus a CET).
    members
        Dated memberships.
    cet
        Common external tariff by sector (fractions), applied by members from ``cet_start``.
    exemptions
        Member-specific exemption lists and transition schedules.
    checks_removed
        Date from which internal customs checks are abolished; ``None`` keeps them. Without
        internal checks a member's ban leaks through the other members unless origin is
        enforced (see :class:`OriginEnforcement`).
    border_cost
        Ad valorem equivalent (fraction) of the customs checks at the members' common
        borders, saved once the checks are removed and paid again when a member leaves.
    border_sectors
        Sectors that pass customs (goods); empty means all (with ``border_estimates``: the
        estimated sectors plus these).
    border_estimates
        Estimated border costs by sector: ``{sector: (ave, standard error)}`` (fractions; the
        shipped table of :func:`blocsim.data.border_costs.load_border_aves`). A sector listed
        here uses its estimate instead of ``border_cost``.
    border_fallbacks
        Sectors of the estimates table whose estimate the bloc does not use, with the reason
        (not significant, or above ``max_border_ave``; :func:`blocsim.data.border_costs.screen_border_aves`):
        they pass customs and take the flat ``border_cost``.
    max_border_ave
        Cap on the estimated AVEs used (fraction); ``None`` without estimates.
    pair_borders
        Borders that differ from the bloc's rule (see :class:`PairBorder`).
    duty_pool
        Pool periods (the latest period starting on or before a date applies).
    free_movement_start
        Date from which members' nationals work in other members without work permits
        (free movement of labour); ``None``: never.
    """

    name: str
    kind: BlocKind
    members: tuple[Membership, ...]
    cet: Mapping[str, float] = field(default_factory=dict)
    cet_start: dt.date | None = None
    exemptions: tuple[Exemption, ...] = ()
    checks_removed: dt.date | None = None
    border_cost: float = 0.0
    border_sectors: tuple[str, ...] = ()
    duty_pool: tuple[PoolPeriod, ...] = ()
    sources: tuple[str, ...] = ()
    border_estimates: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    pair_borders: tuple[PairBorder, ...] = ()
    border_source: str = ""
    border_fallbacks: Mapping[str, str] = field(default_factory=dict)
    max_border_ave: float | None = None
    free_movement_start: dt.date | None = None

    def __post_init__(self) -> None:
        if self.kind not in BLOC_KINDS:
            raise PolicyRuleViolation(
                f"bloc {self.name!r}: field 'kind' is {self.kind!r}; allowed: {list(BLOC_KINDS)}; "
                "use 'fta' for a free trade area without a CET, 'customs_union' or 'economic_union' for one with a CET"
            )
        unused = [name for name, given in (("cet", bool(self.cet)), ("cet_start", self.cet_start is not None),
                                           ("exemptions", bool(self.exemptions))) if given and not self.has_cet]
        if self.border_sectors and self.border_cost == 0 and not self.border_estimates:
            unused.append("border_sectors")
        if unused:
            raise PolicyRuleViolation(
                f"bloc {self.name!r}: field(s) {unused} would have no effect (an 'fta' has no CET; border_sectors need "
                "a border_cost > 0); allowed: drop them, or use kind='customs_union' / give border_cost"
            )

    @property
    def has_cet(self) -> bool:
        """True for customs and economic unions."""
        return self.kind in ("customs_union", "economic_union")

    def members_at(self, date: dt.date) -> tuple[str, ...]:
        """Members on ``date``, in the order of definition."""
        return tuple(m.country for m in self.members if m.active(date))

    def cet_in_force(self, date: dt.date) -> bool:
        """True if the bloc applies a CET on ``date``."""
        return self.has_cet and bool(self.cet) and (self.cet_start is None or self.cet_start <= date)

    def free_movement(self, date: dt.date) -> bool:
        """True if members' nationals work in the other members without permits on ``date``."""
        return self.free_movement_start is not None and self.free_movement_start <= date

    def internal_checks(self, date: dt.date) -> bool:
        """True if customs checks still stand at the borders between members on ``date``."""
        return self.checks_removed is None or date < self.checks_removed

    @property
    def has_border_cost(self) -> bool:
        """True if removing or restoring the bloc's internal checks changes trade costs."""
        return self.border_cost > 0 or bool(self.border_estimates) or any(
            b.ave is not None and b.ave != 0 for b in self.pair_borders)

    def border_ave(self, sector: str, pair: tuple[str, str] | None = None) -> tuple[float, float]:
        """(AVE, standard error) of the checks on ``sector`` at the border ``pair`` (fractions).

        A pair's own ``ave`` wins (s.e. 0), then the sector's estimate, then ``border_cost``
        (an assumption, s.e. 0).
        """
        if pair is not None:
            for border in self.pair_borders:
                if set(border.countries) == set(pair) and border.ave is not None:
                    return float(border.ave), 0.0
        if sector in self.border_estimates:
            ave, se = self.border_estimates[sector]
            return float(ave), float(se)
        return float(self.border_cost), 0.0

    def pass_customs(self, sector: str) -> bool:
        """True if goods of ``sector`` pass customs at the bloc's internal borders."""
        if not self.border_sectors and not self.border_estimates and not self.border_fallbacks:
            return True
        return sector in self.border_sectors or sector in self.border_estimates or sector in self.border_fallbacks

    def pool_at(self, date: dt.date) -> PoolPeriod | None:
        """The duty-pool period in force on ``date`` (None before the first one)."""
        current = [p for p in self.duty_pool if p.start <= date]
        return max(current, key=lambda p: p.start) if current else None

    def exemption(self, country: str, sector: str, date: dt.date) -> Exemption | None:
        """The member's exemption for ``sector`` in force on ``date``, if any (latest start wins)."""
        found = [e for e in self.exemptions if e.country == country and e.sector == sector and e.active(date)]
        return max(found, key=lambda e: e.start) if found else None


@dataclass(frozen=True)
class Preference:
    """A preference regime outside the blocs, e.g. the CIS free trade area or a bilateral FTA.

    Trade between two members in force gets ``rate`` (default zero) on ``sectors`` (all
    sectors when empty), unless the external rate is already lower. ``deflection_cost``
    (ad valorem) is the cost of moving a partner's goods on from a customs-union member
    that has this preference to fellow members that do not (trade deflection; used only
    where that breaks the union's rules and no internal checks stop it).
    """

    name: str
    members: tuple[Membership, ...]
    rate: float = 0.0
    sectors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    deflection_cost: float = 0.05

    def members_at(self, date: dt.date) -> tuple[str, ...]:
        """Members on ``date``."""
        return tuple(m.country for m in self.members if m.active(date))

    def covers(self, sector: str) -> bool:
        """True if the preference applies to ``sector``."""
        return not self.sectors or sector in self.sectors


# ---------------------------------------------------------------------------- measures


def _invalid(measure: object, field_name: str, value: object, allowed: str, fix: str) -> MeasureError:
    """The error for a malformed measure: which measure, field, value, what is allowed and a fix."""
    kind = getattr(measure, "kind", type(measure).__name__)
    where = getattr(measure, "importer", None) or getattr(measure, "origin", None) or getattr(measure, "country", "")
    return measure_error(kind, where, field_name, value, allowed, fix)


def _number(measure: object, field_name: str, value: object, low: float, high: float = math.inf, *,
            open_low: bool = False) -> None:
    """Raise unless ``value`` is a finite number in [low, high] (``(low, high]`` with ``open_low``)."""
    if not in_range(value, low, high, open_low=open_low):
        raise _invalid(measure, field_name, value, f"a finite number in {range_text(low, high, open_low=open_low)}",
                       "give a fraction (0.05 = 5 %)")


def _not_domestic(measure: object, field_name: str, codes: tuple[str, ...], own: str) -> None:
    """Raise when a measure of ``own`` names ``own`` itself among its partners (a domestic pair)."""
    if own in codes:
        raise _invalid(measure, field_name, list(codes), f"partner countries other than {own}",
                       f"drop {own}: a measure on a country's trade with itself (its domestic flow) is not a trade "
                       "measure; model a domestic shock with kind='productivity'")


@dataclass(frozen=True)
class TariffChange:
    """Set (``rate``) or raise/lower (``delta``) the tariff of ``importer``.

    Exactly one of ``rate`` (a fraction >= 0) and ``delta`` (a finite fraction) is given.
    Empty ``sectors`` mean all sectors. Which exporters it reaches:

    - ``exporters`` empty: a change of the importer's *external* tariff (its MFN rate, or the
      CET/exemption rate of a union member). It reaches every exporter outside the
      importer's blocs; fellow members keep duty-free trade, and preference partners keep
      their preferential rate where that is lower. A union member's own change is the rule
      violation ``own_external_tariff``.
    - ``exporters`` listed: a bilateral rate on exactly those exporters, overriding
      preferences and internal zero (taxing a fellow union member is the violation
      ``internal_tariff``).
    - ``bloc_wide=True``: a CET change decided by the union: every member applies it to
      non-members (all of them, or the listed ones). Naming a fellow member, or an importer in
      no customs union, is an error.

    ``importer`` in ``exporters`` (its own goods) is an error.
    """

    importer: str
    exporters: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    rate: float | None = None
    delta: float | None = None
    bloc_wide: bool = False
    note: str = ""
    kind: str = field(default="tariff", init=False)

    def __post_init__(self) -> None:
        if (self.rate is None) == (self.delta is None):
            raise _invalid(self, "rate/delta", (self.rate, self.delta), "exactly one of rate and delta",
                           "give rate (the new tariff) or delta (the change), not both or neither")
        if self.rate is not None:
            _number(self, "rate", self.rate, 0.0)
        if self.delta is not None:
            _number(self, "delta", self.delta, -math.inf)
        _not_domestic(self, "exporters", self.exporters, self.importer)

    @property
    def targeted(self) -> bool:
        """True when the measure lists its exporters (a bilateral rate), False for an external-tariff change."""
        return bool(self.exporters)

    def describe(self) -> str:
        """One-line description for reports."""
        what = f"to {self.rate:.1%}" if self.rate is not None else f"by {self.delta:+.1%}"
        sectors = _names(self.sectors, "all sectors")
        if self.bloc_wide:
            return (f"{self.importer}'s customs union changes the CET on {_names(self.exporters, 'all non-members')} "
                    f"({sectors}) {what}")
        if not self.exporters:
            return (f"{self.importer} changes its own external tariff on all non-members (fellow bloc members stay "
                    f"duty-free, preference partners keep a lower preferential rate) ({sectors}) {what}")
        return f"{self.importer} changes its tariff on {_names(self.exporters, '')} ({sectors}) {what}"


@dataclass(frozen=True)
class ImportBan:
    """An import ban or embargo: a prohibitive cost on the listed products and origins.

    ``covered_share`` gives, per origin, the share (0-1] of the sector's baseline flow that
    the banned products make up (1 = the whole sector); a sector-level model removes that
    share of the flow. Without origin enforcement and with no internal customs checks, the
    banned products can reach ``importer`` through a fellow bloc member ``leak_via`` at the
    ad valorem ``reexport_cost``; only the part ``reroute_share`` of the banned products
    can take that route (perishables, volumes the transit member's traders cannot relabel,
    spot checks: the rest is lost to the importer), and the re-export margin
    ``reexport_cost / (1 + reexport_cost)`` of the rerouted value is income of the transit
    member (:attr:`blocsim.shock.Shock.income_transfers`).

    ``reroute_share`` default :data:`REROUTE_SHARE` (0.2), sensitivity range 0.1-0.5: Yeliseyeu
    (GLOBSEC Policy Institute, 2017, 'Belarusian shrimps anyone?') puts the embargoed products
    that reached Russia through Belarus from August 2014 to 2017 at USD 2.7 bn, about
    USD 0.9 bn a year, some 13 % of the USD 7.1 bn of banned flows in the ``eaeu`` dataset's
    2012 baseline; at the default 15 % re-export cost and the agri-food elasticity 4.07 a
    rerouted product keeps ``1.15^-4.07 = 0.57`` of its sales, so about 0.13 / 0.57 = 0.23 of
    the banned products took the route (rounded down to 0.2: the GLOBSEC figure includes
    goods of other origins relabelled in Belarus).
    """

    importer: str
    origins: tuple[str, ...]
    sectors: tuple[str, ...]
    covered_share: Mapping[str, float] = field(default_factory=dict)
    leak_via: tuple[str, ...] = ()
    reexport_cost: float = 0.15
    note: str = ""
    reroute_share: float = REROUTE_SHARE
    kind: str = field(default="ban", init=False)

    def __post_init__(self) -> None:
        if not self.origins:
            raise _invalid(self, "origins", list(self.origins), "at least one origin", "list the banned origins")
        _not_domestic(self, "origins", self.origins, self.importer)
        unknown = sorted(set(self.covered_share) - set(self.origins))
        if unknown:
            raise _invalid(self, "covered_share", dict(self.covered_share),
                           f"shares for the origins {list(self.origins)}",
                           f"drop {unknown} (not banned origins: their share would have no effect) or add them "
                           "to origins")
        for origin, share in self.covered_share.items():
            _number(self, f"covered_share[{origin!r}]", share, 0.0, 1.0, open_low=True)
        bad_routes = sorted(set(self.leak_via) & ({self.importer} | set(self.origins)))
        if bad_routes:
            raise _invalid(self, "leak_via", list(self.leak_via),
                           "fellow members other than the importer and the origins", f"drop {bad_routes}")
        _number(self, "reexport_cost", self.reexport_cost, 0.0)
        _number(self, "reroute_share", self.reroute_share, 0.0, 1.0)

    def share(self, origin: str) -> float:
        """Covered share of ``origin``'s flow (1 if not listed)."""
        return float(self.covered_share.get(origin, 1.0))

    def describe(self) -> str:
        """One-line description for reports."""
        return f"{self.importer} bans imports of {_names(self.sectors, 'all sectors')} from {_names(self.origins, '')}"


@dataclass(frozen=True)
class TransitRestriction:
    """Goods from ``origin`` to ``destinations`` may no longer cross ``transit``.

    ``added_cost`` is the ad valorem cost of the detour or of the only alternative route
    (a fraction of the goods' value); ``covered_share`` is the share of the flow that used
    the closed route.
    """

    origin: str
    transit: str
    destinations: tuple[str, ...]
    sectors: tuple[str, ...] = ()
    added_cost: float = 0.0
    covered_share: float = 1.0
    note: str = ""
    kind: str = field(default="transit", init=False)

    def __post_init__(self) -> None:
        if not self.destinations:
            raise _invalid(self, "destinations", [], "at least one destination", "list the destinations")
        _not_domestic(self, "destinations", self.destinations, self.origin)
        if self.transit == self.origin or self.transit in self.destinations:
            raise _invalid(self, "transit", self.transit, "a third country (not the origin or a destination)",
                           "name the country whose territory the goods can no longer cross")
        _number(self, "added_cost", self.added_cost, 0.0)
        _number(self, "covered_share", self.covered_share, 0.0, 1.0, open_low=True)

    def describe(self) -> str:
        """One-line description for reports."""
        return (
            f"transit of {_names(self.sectors, 'all sectors')} from {self.origin} through {self.transit} to "
            f"{_names(self.destinations, '')} closed: detour adds {self.added_cost:.0%} on "
            f"{self.covered_share:.0%} of the flow"
        )


@dataclass(frozen=True)
class OriginEnforcement:
    """``importer`` checks the origin of goods re-exported to it by ``via`` members.

    With enforcement a ban cannot leak through a fellow member; without it (the default
    in a union without internal customs checks) it can.
    """

    importer: str
    via: tuple[str, ...] = ()
    note: str = ""
    kind: str = field(default="origin_enforcement", init=False)

    def __post_init__(self) -> None:
        _not_domestic(self, "via", self.via, self.importer)

    def covers(self, importer: str, via: str) -> bool:
        """True if re-exports from ``via`` to ``importer`` are checked for origin."""
        return importer == self.importer and (not self.via or via in self.via)

    def describe(self) -> str:
        """One-line description for reports."""
        return f"{self.importer} enforces origin on re-exports from {_names(self.via, 'all fellow members')}"


@dataclass(frozen=True)
class NonTariffMeasure:
    """A non-tariff measure as an ad valorem equivalent (AVE, fraction) on ``importer``'s imports.

    ``reciprocal=True`` applies the same AVE in both directions (e.g. customs checks
    restored at a border).
    """

    importer: str
    exporters: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    ave: float = 0.0
    reciprocal: bool = False
    note: str = ""
    kind: str = field(default="ntm", init=False)

    def __post_init__(self) -> None:
        _not_domestic(self, "exporters", self.exporters, self.importer)
        _number(self, "ave", self.ave, -1.0, open_low=True)

    def describe(self) -> str:
        """One-line description for reports."""
        both = " (both directions)" if self.reciprocal else ""
        return (
            f"non-tariff measure of {self.ave:.1%} AVE on {self.importer}'s imports from "
            f"{_names(self.exporters, 'all partners')} ({_names(self.sectors, 'all sectors')}){both}"
        )


@dataclass(frozen=True)
class ProductivityShock:
    """A country-level output/productivity change: unit costs scale by ``1 / factor``.

    ``change`` is the proportional change (e.g. -0.023 for a 2.3 % fall); empty
    ``sectors`` means all sectors.
    """

    country: str
    change: float
    sectors: tuple[str, ...] = ()
    note: str = ""
    kind: str = field(default="productivity", init=False)

    def __post_init__(self) -> None:
        _number(self, "change", self.change, -1.0, open_low=True)

    @property
    def factor(self) -> float:
        """Productivity factor ``1 + change``."""
        return 1.0 + self.change

    def describe(self) -> str:
        """One-line description for reports."""
        return f"productivity/output shock of {self.change:+.2%} to {self.country} ({_names(self.sectors, 'all sectors')})"


Measure = Union[TariffChange, ImportBan, TransitRestriction, OriginEnforcement, NonTariffMeasure, ProductivityShock,
                WorldPriceShock, CapitalFlowShock, WorkPermitCost]


@dataclass(frozen=True)
class PolicyState:
    """Trade policy on one date.

    Parameters
    ----------
    date
        The date the state describes.
    blocs, preferences
        Blocs and preference regimes (dated; their membership on ``date`` counts).
    mfn
        MFN tariff by (country, sector) (fractions).
    measures
        Measures in force.
    allow_rule_violations
        Let a state that breaks a bloc's rules run (the violations are still reported).
    label
        Name for reports, e.g. ``"before"``.
    """

    date: dt.date
    blocs: tuple[Bloc, ...] = ()
    preferences: tuple[Preference, ...] = ()
    mfn: Mapping[tuple[str, str], float] = field(default_factory=dict)
    measures: tuple[Measure, ...] = ()
    allow_rule_violations: bool = False
    label: str = ""

    def bloc(self, name: str) -> Bloc:
        """The bloc called ``name``."""
        for bloc in self.blocs:
            if bloc.name == name:
                return bloc
        raise PolicyRuleViolation(
            f"policy state {self.label or self.date}: no bloc named {name!r}; defined: {[b.name for b in self.blocs]}"
        )

    def measures_of(self, kind: str) -> tuple[Measure, ...]:
        """Measures of one kind (``"tariff"``, ``"ban"``, ``"transit"``, ...)."""
        return tuple(m for m in self.measures if m.kind == kind)

    def free_movement_pairs(self) -> frozenset[tuple[str, str]]:
        """Ordered pairs (origin, host) of different countries whose workers need no permit on this date
        (members of one bloc with free movement of labour in force)."""
        pairs: set[tuple[str, str]] = set()
        for bloc in self.blocs:
            if bloc.free_movement(self.date):
                members = bloc.members_at(self.date)
                pairs.update((o, h) for o in members for h in members if o != h)
        return frozenset(pairs)

    def customs_union_of(self, country: str, date: dt.date | None = None) -> Bloc | None:
        """The customs/economic union ``country`` belongs to on ``date`` (None if none)."""
        when = self.date if date is None else date
        for bloc in self.blocs:
            if bloc.has_cet and country in bloc.members_at(when):
                return bloc
        return None


def _names(codes: tuple[str, ...], empty: str) -> str:
    return ", ".join(codes) if codes else empty
