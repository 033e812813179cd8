"""Scenario -> (before, after) policy states, using the dataset's tariff tables for CET and MFN rates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from blocsim.errors import MeasureError, ScenarioError
from blocsim.policy.build import (
    RateTables,
    bloc_from_spec,
    load_policy_file,
    preference_from_spec,
    rates_from_tariffs,
    state_at,
)
from blocsim.policy.macro import CapitalFlowShock, WorkPermitCost, WorldPriceShock
from blocsim.policy.model import (
    ImportBan,
    Measure,
    NonTariffMeasure,
    OriginEnforcement,
    PolicyState,
    ProductivityShock,
    TariffChange,
    TransitRestriction,
)
from blocsim.policy.spec import BlocSpec, ExemptionSpec, MemberSpec, PoolSpec, PreferenceSpec
from blocsim.scenario.context import Loc, Problem, scenario_include_dirs
from blocsim.scenario.loader import format_problems, scenario_source
from blocsim.scenario.schema import (
    MEASURE_KINDS,
    BanMeasure,
    CapitalFlowMeasure,
    EntryCostMeasure,
    MeasureSpec,
    NtmMeasure,
    OriginMeasure,
    ProductivityMeasure,
    Scenario,
    TariffMeasure,
    TransitMeasure,
    WorldPriceMeasure,
)


def to_measure(spec: MeasureSpec) -> Measure:
    """Turn a validated measure table of a scenario file into a policy measure."""
    if isinstance(spec, TariffMeasure):
        return TariffChange(spec.importer, tuple(spec.exporters), tuple(spec.sectors), spec.rate, spec.delta,
                            spec.bloc_wide, spec.note)
    if isinstance(spec, BanMeasure):
        shares = (
            dict(spec.covered_share) if isinstance(spec.covered_share, dict)
            else {origin: float(spec.covered_share) for origin in spec.origins}
        )
        return ImportBan(spec.importer, tuple(spec.origins), tuple(spec.sectors), shares, tuple(spec.leak_via),
                         spec.reexport_cost, spec.note, spec.reroute_share)
    if isinstance(spec, TransitMeasure):
        return TransitRestriction(spec.origin, spec.transit, tuple(spec.destinations), tuple(spec.sectors),
                                  spec.added_cost, spec.covered_share, spec.note)
    if isinstance(spec, OriginMeasure):
        return OriginEnforcement(spec.importer, tuple(spec.via), spec.note)
    if isinstance(spec, NtmMeasure):
        return NonTariffMeasure(spec.importer, tuple(spec.exporters), tuple(spec.sectors), spec.ave, spec.reciprocal,
                                spec.note)
    if isinstance(spec, ProductivityMeasure):
        return ProductivityShock(spec.country, spec.change, tuple(spec.sectors), spec.note)
    if isinstance(spec, WorldPriceMeasure):
        return WorldPriceShock(tuple(spec.sectors), spec.change, spec.note)
    if isinstance(spec, CapitalFlowMeasure):
        return CapitalFlowShock(spec.country, spec.deficit, spec.note)
    if isinstance(spec, EntryCostMeasure):
        return WorkPermitCost(tuple(spec.hosts), tuple(spec.origins), spec.cost, spec.note)
    raise ScenarioError(f"measure {type(spec).__name__}: unknown kind; allowed: a measure table of a scenario file, "
                        f"kind one of {', '.join(MEASURE_KINDS)}")


def _measures(scenario: Scenario, state: str) -> list[Measure]:
    """The policy measures of ``[before]`` or ``[after]``; a malformed one is an error at its file line."""
    measures = []
    for k, spec in enumerate(getattr(scenario, state).measures):
        try:
            measures.append(to_measure(spec))
        except MeasureError as error:
            field_name = error.field.split("[", 1)[0]
            raise _fail(scenario, (state, "measures", k, field_name), getattr(spec, field_name, None),
                        str(error)) from None
    return measures


def _fail(scenario: Scenario, loc: Loc, value: Any, message: str) -> ScenarioError:
    source, lines, _ = scenario_source(scenario)
    return ScenarioError(format_problems(source, lines, [Problem(loc, value, message)]))


def _bloc_index(scenario: Scenario, specs: list[BlocSpec], name: str, loc: Loc) -> int:
    for k, spec in enumerate(specs):
        if spec.name == name:
            return k
    raise _fail(scenario, loc, name, f"no bloc of this name in the included policies; blocs: {[s.name for s in specs]}")


def _members_on(spec: BlocSpec, when: dt.date) -> list[str]:
    return [m.country for m in spec.members if m.joined <= when and (m.left is None or when < m.left)]


def _member_exemptions(scenario: Scenario, specs: list[BlocSpec], when: dt.date) -> list[BlocSpec]:
    """Add ``[[after.exemptions]]`` (exemption lists, transition schedules) to the blocs' CET exemptions.

    Each exemption must be for a member of its customs union on the after date ``when``
    (joins and leaves of the scenario applied); a missing ``start`` is ``when``. Every
    country and sector given must have a step in force on ``when``: a schedule none of whose
    steps applies on the after date would have no effect on the run.
    """
    out = list(specs)
    in_force: dict[tuple[str, str, str], bool] = {}
    first_index: dict[tuple[str, str, str], int] = {}
    for k, given in enumerate(scenario.after.exemptions):
        b = _bloc_index(scenario, out, given.bloc, ("after", "exemptions", k, "bloc"))
        if out[b].kind == "fta":
            raise _fail(scenario, ("after", "exemptions", k, "bloc"), given.bloc,
                        f"{given.bloc} is a free trade area: it has no common external tariff to be exempted from; "
                        "name a customs union")
        members = _members_on(out[b], when)
        if given.country not in members:
            raise _fail(scenario, ("after", "exemptions", k, "country"), given.country,
                        f"not a member of {given.bloc} on {when} (members then: {members}); a non-member applies its "
                        "own tariff anyway: give a joining country's exemptions in its [[after.join]] entry "
                        "(exemptions = [...])")
        fields = given.model_dump(exclude={"bloc"})
        if given.start == dt.date(1900, 1, 1):
            fields["start"] = when
        step = ExemptionSpec(**{**fields, "source": given.source or f"scenario {scenario.scenario.name}"})
        key = (given.bloc, given.country, given.sector)
        first_index.setdefault(key, k)
        in_force[key] = in_force.get(key, False) or (step.start <= when and (step.until is None or when < step.until))
        out[b] = out[b].model_copy(update={"exemptions": [*out[b].exemptions, step]})
    for key, active in in_force.items():
        if not active:
            first = scenario.after.exemptions[first_index[key]]
            field = "start" if first.start != dt.date(1900, 1, 1) else "until"
            raise _fail(scenario, ("after", "exemptions", first_index[key], field), getattr(first, field).isoformat(),
                        f"no exemption step of {key[1]} for {key[2]} is in force on the after date {when}, so it "
                        "would have no effect on this run: let one step start on or before that date (and end after "
                        "it), or move [after] date")
    return out


def _after_blocs(scenario: Scenario, specs: list[BlocSpec], when: dt.date) -> list[BlocSpec]:
    """Apply the scenario's joins, leaves, member exemptions and new pool shares to the bloc definitions."""
    out = list(specs)
    for k, leave in enumerate(scenario.after.leave):
        b = _bloc_index(scenario, out, leave.bloc, ("after", "leave", k, "bloc"))
        members = list(out[b].members)
        active = [i for i, m in enumerate(members) if m.country == leave.country and m.joined <= when
                  and (m.left is None or when < m.left)]
        if not active:
            raise _fail(scenario, ("after", "leave", k, "country"), leave.country,
                        f"not a member of {leave.bloc} on {when}; members then: "
                        f"{[m.country for m in members if m.joined <= when and (m.left is None or when < m.left)]}")
        members[active[0]] = members[active[0]].model_copy(update={"left": when})
        out[b] = out[b].model_copy(update={"members": members})
    for k, join in enumerate(scenario.after.join):
        b = _bloc_index(scenario, out, join.bloc, ("after", "join", k, "bloc"))
        members = list(out[b].members)
        if any(m.country == join.country and (m.left is None or when < m.left) for m in members):
            raise _fail(scenario, ("after", "join", k, "country"), join.country,
                        f"already a member of {join.bloc} (or due to join) on {when}: remove this join")
        for e, exemption in enumerate(join.exemptions):
            if exemption.country != join.country:
                raise _fail(scenario, ("after", "join", k, "exemptions", e, "country"), exemption.country,
                            f"an exemption under a join is the joining country's ({join.country}); give an existing "
                            "member's exemption in [[after.exemptions]]")
        members.append(MemberSpec(country=join.country, joined=when, source=f"scenario {scenario.scenario.name}"))
        exemptions = list(out[b].exemptions) + [
            e if e.start > dt.date(1900, 1, 1) else ExemptionSpec(**{**e.model_dump(), "start": when})
            for e in join.exemptions
        ]
        out[b] = out[b].model_copy(update={"members": members, "exemptions": exemptions})
    out = _member_exemptions(scenario, out, when)
    if scenario.after.duty_pool is not None:
        b = _bloc_index(scenario, out, scenario.after.duty_pool_bloc, ("after", "duty_pool_bloc"))
        pool = PoolSpec(start=when, shares=dict(scenario.after.duty_pool), source=f"scenario {scenario.scenario.name}")
        out[b] = out[b].model_copy(update={"duty_pool": list(out[b].duty_pool) + [pool]})
    return out


def build_states(scenario: Scenario, dataset: Any) -> tuple[PolicyState, PolicyState, RateTables]:
    """The (before, after) policy states of ``scenario`` and the tariff tables they use.

    Both states use the rates of the scenario's tariff year (``data.tariff_year``, else
    ``data.year``), so that the counterfactual isolates the policy change from changes
    in the CET or MFN schedules over time.
    """
    bloc_specs: list[BlocSpec] = []
    pref_specs: list[PreferenceSpec] = []
    for name in scenario.policy.include:
        policy = load_policy_file(name, include_dirs=scenario_include_dirs(scenario))
        if policy.bloc is not None:
            bloc_specs.append(policy.bloc)
        if policy.preference is not None:
            pref_specs.append(policy.preference)
    year = scenario.data.tariff_year or scenario.data.year
    founders = [m.country for m in bloc_specs[0].members] if bloc_specs else []
    rates = rates_from_tariffs(dataset.tariffs, year, cet_members=founders)
    when_after = scenario.after_date
    after_specs = _after_blocs(scenario, bloc_specs, when_after)
    measures_before = _measures(scenario, "before")
    measures_after = measures_before + _measures(scenario, "after")
    allow = scenario.policy.allow_rule_violations
    before = state_at(
        scenario.before.date,
        blocs=[bloc_from_spec(s, rates) for s in bloc_specs],
        preferences=[preference_from_spec(p) for p in pref_specs],
        rates=rates, measures=measures_before, allow_rule_violations=allow, label="before",
    )
    after = state_at(
        when_after,
        blocs=[bloc_from_spec(s, rates) for s in after_specs],
        preferences=[preference_from_spec(p) for p in [*pref_specs, *scenario.after.preferences]],
        rates=rates, measures=measures_after, allow_rule_violations=allow, label="after",
    )
    return before, after, rates


def _border_words(bloc: Any) -> str:
    """The border cost of a bloc in words: estimated by sector, or the flat assumed AVE."""
    if bloc.border_estimates:
        return "ad valorem equivalents estimated by sector (DATA.md, border costs by border)"
    return f"{bloc.border_cost:.0%} ad valorem equivalent"


def describe_changes(before: PolicyState, after: PolicyState) -> list[str]:
    """Plain-language list of the policy changes between the two states (for run.json and reports)."""
    out: list[str] = []
    if before.date != after.date:
        out.append(f"policy date {before.date} -> {after.date} (dated rules of the included policies apply)")
    for b_before, b_after in zip(before.blocs, after.blocs):
        old, new = set(b_before.members_at(before.date)), set(b_after.members_at(after.date))
        if old != new:
            out.append(f"{b_after.name} members {sorted(old)} -> {sorted(new)}")
            if b_after.has_border_cost and not b_after.internal_checks(after.date):
                cost = _border_words(b_after)
                if old - new:
                    out.append(f"customs checks restored between {', '.join(sorted(old - new))} and the remaining "
                               f"{b_after.name} members ({cost})")
                if new - old:
                    out.append(f"no customs checks between {', '.join(sorted(new - old))} and the other "
                               f"{b_after.name} members (saves {cost})")
        if b_before.internal_checks(before.date) != b_after.internal_checks(after.date):
            state = "removed" if not b_after.internal_checks(after.date) else "restored"
            out.append(f"{b_after.name} internal customs checks {state} (border cost: {_border_words(b_after)})")
        pool_old, pool_new = b_before.pool_at(before.date), b_after.pool_at(after.date)
        if (pool_old and dict(pool_old.shares)) != (pool_new and dict(pool_new.shares)):
            out.append(
                f"{b_after.name} duty pool {dict(pool_old.shares) if pool_old else 'none'} -> "
                f"{dict(pool_new.shares) if pool_new else 'none'} (percent)"
            )
    for b_before, b_after in zip(before.blocs, after.blocs):
        for exemption in b_after.exemptions:
            if exemption not in b_before.exemptions and b_after.exemption(
                    exemption.country, exemption.sector, after.date) is exemption:
                rate = "its own MFN rate" if exemption.rate is None else f"{exemption.rate * 100:.4g} %"
                until = f" until {exemption.until}" if exemption.until else ""
                out.append(f"{b_after.name} CET exemption: {exemption.country} applies {rate} on {exemption.sector} "
                           f"from {exemption.start}{until} ({exemption.source})")
    for preference in after.preferences:
        if preference not in before.preferences:
            out.append(f"new preference regime {preference.name}: {list(preference.members_at(after.date))}")
    out.extend(f"measure: {m.describe()}" for m in after.measures if m not in before.measures)
    return out
