"""The union's own rules, checked on a policy state.

A customs union has one external tariff, one trade policy and one duty pool. A state that
breaks these rules is reported, never silently run:

- a member applies its own external tariff (a unilateral tariff change on non-members:
  a tariff measure without listed exporters, which changes its external rate, or one
  that lists non-members);
- a member has its own FTA (a preference regime with non-members that not every member
  of the union has joined): in a union without internal borders the partner's goods
  would enter the whole union duty-free through that member (trade deflection);
- a tariff on trade between members (internal trade must be duty-free): a tariff measure
  that lists a fellow member among its exporters (a measure without listed exporters never
  reaches fellow members);
- a country belongs to two customs unions at once;
- the duty-pool shares in force do not sum to 100 %, or name non-members, or leave out a
  member.

Sources: Treaty on the Eurasian Economic Union (29 May 2014), Art. 25 (single customs
territory, CET, no internal duties), Art. 35 (trade regime with third countries conducted
by the Union) and Annex 5 (duty-pool shares).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from blocsim.errors import PolicyRuleViolation
from blocsim.policy.model import POOL_TOLERANCE_PP, PolicyState
from blocsim.policy.tariffs import measure_importers, tariff_measures


_KIND_NAMES = {"fta": "free trade area", "customs_union": "customs union", "economic_union": "customs and economic union"}


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule: which bloc, which rule, and a message naming the countries and a fix."""

    bloc: str
    rule: str
    message: str


def check_rules(state: PolicyState, date: dt.date | None = None) -> list[RuleViolation]:
    """All rule violations of ``state`` on ``date`` (default ``state.date``); empty when the state is sound."""
    when = state.date if date is None else date
    found: list[RuleViolation] = []
    unions = [b for b in state.blocs if b.has_cet]
    for bloc in unions:
        members = bloc.members_at(when)
        member_set = set(members)
        for other in unions:
            if other.name < bloc.name:
                for country in member_set & set(other.members_at(when)):
                    found.append(
                        RuleViolation(
                            bloc.name,
                            "two_unions",
                            f"{country} is a member of two customs unions ({other.name} and {bloc.name}) on {when}; "
                            "a country can apply only one common external tariff: end one membership",
                        )
                    )
        for preference in state.preferences:
            parties = set(preference.members_at(when))
            inside, outside = parties & member_set, parties - member_set
            if inside and outside and not member_set <= parties:
                missing = sorted(member_set - parties)
                found.append(
                    RuleViolation(
                        bloc.name,
                        "own_fta",
                        f"{', '.join(sorted(inside))} ({bloc.name} member) has its own preference regime "
                        f"{preference.name!r} with non-member(s) {', '.join(sorted(outside))} on {when}, which "
                        f"{', '.join(missing)} have not joined; a {_KIND_NAMES[bloc.kind]} conducts trade policy "
                        "with third countries jointly (Treaty on the EAEU, Art. 35): let every member join the "
                        "agreement, leave the union, or set allow_rule_violations = true to study the economics",
                    )
                )
        for measure in tariff_measures(state):
            if measure.importer not in member_set or measure.bloc_wide:
                measure_importers(state, measure, when)  # a malformed CET change is an error, not a violation
                continue
            partners = set(measure.exporters)
            outsiders = sorted(partners - member_set)
            insiders = sorted(partners & member_set)
            if not measure.targeted or outsiders:
                whom = (", ".join(outsiders) if outsiders
                        else f"every exporter outside {bloc.name} (its external tariff; fellow members stay duty-free)")
                found.append(
                    RuleViolation(
                        bloc.name,
                        "own_external_tariff",
                        f"{measure.importer} ({bloc.name} member) changes its own tariff on {whom} on {when}; "
                        "members apply the common external tariff: mark the change bloc_wide = true "
                        "(a CET change), make it a CET exemption (in a scenario: [[after.exemptions]] with country, "
                        "sector and rate; legal, e.g. a member's WTO commitments), or set allow_rule_violations = true",
                    )
                )
            if insiders:
                found.append(
                    RuleViolation(
                        bloc.name,
                        "internal_tariff",
                        f"{measure.importer} puts a tariff on fellow member(s) {', '.join(insiders)} on {when}; trade "
                        f"inside {bloc.name} is duty-free (Treaty on the EAEU, Art. 25): drop the measure, or set "
                        "allow_rule_violations = true to study it (the tariff is then applied)",
                    )
                )
        found.extend(_pool_violations(state, bloc.name, members, when))
    return found


def _pool_violations(state: PolicyState, name: str, members: tuple[str, ...], when: dt.date) -> list[RuleViolation]:
    bloc = state.bloc(name)
    period = bloc.pool_at(when)
    if period is None or not members:
        return []
    out: list[RuleViolation] = []
    total = float(sum(period.shares.values()))
    if abs(total - 100.0) > POOL_TOLERANCE_PP:
        listed = ", ".join(f"{c} {v:g}" for c, v in period.shares.items())
        out.append(
            RuleViolation(
                name,
                "pool_sum",
                f"{name} duty-pool shares in force on {when} (from {period.start}: {listed}) sum to {total:.4g} %, "
                "not 100 %: correct the shares (Treaty on the EAEU, Annex 5 prints them to two decimals)",
            )
        )
    extra = sorted(set(period.shares) - set(members))
    missing = sorted(set(members) - set(period.shares))
    if extra or missing:
        out.append(
            RuleViolation(
                name,
                "pool_members",
                f"{name} duty-pool shares in force on {when} do not match its members {list(members)}: "
                f"non-members with a share {extra}, members without a share {missing}; "
                "give a new pool period that starts with the membership change",
            )
        )
    return out


def validate_state(state: PolicyState, *, source: str = "policy state") -> list[RuleViolation]:
    """Check ``state``; raise :class:`~blocsim.errors.PolicyRuleViolation` unless it allows violations.

    Returns the violations found (empty for a sound state, the reported list when
    ``state.allow_rule_violations`` is set).
    """
    found = check_rules(state)
    if found and not state.allow_rule_violations:
        lines = "\n".join(f"  - [{v.bloc}/{v.rule}] {v.message}" for v in found)
        raise PolicyRuleViolation(f"{source} ({state.label or state.date}) breaks the union's rules:\n{lines}")
    return found
