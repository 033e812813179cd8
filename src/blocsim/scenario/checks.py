"""Checks of a structurally valid scenario against its dataset: codes, sectors, years, dates, names."""

from __future__ import annotations

import datetime as dt
from typing import Iterator

from blocsim.scenario.context import Catalog, Loc, Problem, scenario_include_dirs, suggest
from blocsim.scenario.schema import MULTISECTOR_TABLES, PE_TABLES, BanMeasure, MultisectorModel, Scenario


def _country_fields(scenario: Scenario) -> Iterator[tuple[Loc, str]]:
    for k, code in enumerate(scenario.scenario.focus_countries):
        yield ("scenario", "focus_countries", k), code
    for side in ("before", "after"):
        for m, measure in enumerate(getattr(scenario, side).measures):
            base: Loc = (side, "measures", m)
            for field in ("importer", "origin", "transit", "country"):
                value = getattr(measure, field, None)
                if value is not None:
                    yield base + (field,), value
            for field in ("exporters", "origins", "destinations", "via", "leak_via"):
                for k, code in enumerate(getattr(measure, field, ())):
                    yield base + (field, k), code
            if isinstance(measure, BanMeasure) and isinstance(measure.covered_share, dict):
                for code in measure.covered_share:
                    yield base + ("covered_share", code), code
    for field in ("join", "leave"):
        for k, change in enumerate(getattr(scenario.after, field)):
            yield ("after", field, k, "country"), change.country
            for e, exemption in enumerate(getattr(change, "exemptions", ())):
                yield ("after", field, k, "exemptions", e, "country"), exemption.country
    for k, exemption in enumerate(scenario.after.exemptions):
        yield ("after", "exemptions", k, "country"), exemption.country
    for code in scenario.after.duty_pool or {}:
        yield ("after", "duty_pool", code), code
    for p, preference in enumerate(scenario.after.preferences):
        for k, member in enumerate(preference.members):
            yield ("after", "preferences", p, "members", k, "country"), member.country


def _sector_fields(scenario: Scenario) -> Iterator[tuple[Loc, str]]:
    for side in ("before", "after"):
        for m, measure in enumerate(getattr(scenario, side).measures):
            for k, sector in enumerate(getattr(measure, "sectors", ())):
                yield (side, "measures", m, "sectors", k), sector
    for k, change in enumerate(scenario.after.join):
        for e, exemption in enumerate(change.exemptions):
            yield ("after", "join", k, "exemptions", e, "sector"), exemption.sector
    for k, exemption in enumerate(scenario.after.exemptions):
        yield ("after", "exemptions", k, "sector"), exemption.sector
    for p, preference in enumerate(scenario.after.preferences):
        for k, sector in enumerate(preference.sectors):
            yield ("after", "preferences", p, "sectors", k), sector
    if isinstance(scenario.model, MultisectorModel) and isinstance(scenario.model.theta, dict):
        for sector in scenario.model.theta:
            yield ("model", "theta", sector), sector


def _date_fields(scenario: Scenario) -> Iterator[tuple[Loc, dt.date]]:
    yield ("before", "date"), scenario.before.date
    if scenario.after.date is not None:
        yield ("after", "date"), scenario.after.date
    for p, preference in enumerate(scenario.after.preferences):
        for k, member in enumerate(preference.members):
            yield ("after", "preferences", p, "members", k, "joined"), member.joined


def semantic_problems(scenario: Scenario, catalog: Catalog) -> list[Problem]:
    """Problems of ``scenario`` that only its dataset reveals (unknown codes, sectors, years, dates, names)."""
    problems: list[Problem] = []
    countries = set(catalog.countries)
    for loc, code in _country_fields(scenario):
        if code not in countries:
            problems.append(
                Problem(
                    loc, code,
                    f"not a country/region of dataset '{catalog.name}'; "
                    f"{suggest(code, catalog.countries, catalog.country_names)}valid: {', '.join(catalog.countries)}",
                )
            )
    for loc, sector in _sector_fields(scenario):
        if sector not in catalog.sectors:
            problems.append(
                Problem(
                    loc, sector,
                    f"not a sector of dataset '{catalog.name}'; {suggest(sector, catalog.sectors)}"
                    f"valid: {', '.join(catalog.sectors)}",
                )
            )
    if isinstance(scenario.model, MultisectorModel) and isinstance(scenario.model.theta, dict):
        missing = [s for s in catalog.sectors if s not in scenario.model.theta]
        if missing:
            problems.append(
                Problem(("model", "theta"), None, f"no trade elasticity for sector(s) {missing}; give one for every "
                                                  f"sector: {', '.join(catalog.sectors)}")
            )
    for loc, year in (("data", "year"), scenario.data.year), (("data", "tariff_year"), scenario.data.tariff_year):
        if year is not None and year not in catalog.years:
            nearest = min(catalog.years, key=lambda y: abs(y - year))
            problems.append(
                Problem(loc, year, f"no data for this year in '{catalog.name}'; valid: {list(catalog.years)} "
                                   f"(nearest: {nearest})")
            )
    for loc, date in _date_fields(scenario):
        if loc[-1] == "joined":
            continue
        if not catalog.first_policy_date <= date <= catalog.last_date:
            problems.append(
                Problem(loc, date.isoformat(), f"date outside the data of '{catalog.name}': use a date from "
                                               f"{catalog.first_policy_date} to {catalog.last_date}")
            )
    if scenario.after.date is not None and scenario.after.date < scenario.before.date:
        problems.append(
            Problem(("after", "date"), scenario.after.date.isoformat(),
                    f"earlier than before.date {scenario.before.date}; the counterfactual date must not precede the "
                    "baseline date")
        )
    for side in ("before", "after"):
        for m, measure in enumerate(getattr(scenario, side).measures):
            if isinstance(measure, BanMeasure) and isinstance(measure.covered_share, dict):
                for code in measure.covered_share:
                    if code not in measure.origins:
                        problems.append(
                            Problem((side, "measures", m, "covered_share", code), code,
                                    f"covered_share names an origin the ban does not list; origins: {measure.origins}")
                        )
    problems.extend(_name_problems(scenario))
    problems.extend(_model_problems(scenario))
    return problems


#: Measure kinds only the multi-sector general equilibrium carries (the PE model has no incomes, factor
#: prices or migrants to move).
GE_ONLY_MEASURES = frozenset({"productivity", "world_price", "capital_flow", "entry_cost"})


def _model_problems(scenario: Scenario) -> list[Problem]:
    """Fields the chosen model does not use: ``data.imports`` (pe only), measures only the GE carries, and
    tables it does not produce."""
    problems = []
    name = scenario.model.name
    if scenario.data.imports is not None and name != "pe":
        problems.append(Problem(("data", "imports"), scenario.data.imports,
                                f"tariff-line imports are used only by model 'pe' (this scenario runs '{name}'); "
                                "remove data.imports or set [model] name = \"pe\""))
    if name == "pe":
        for side in ("before", "after"):
            for m, measure in enumerate(getattr(scenario, side).measures):
                if measure.kind in GE_ONLY_MEASURES:
                    problems.append(Problem(
                        (side, "measures", m, "kind"), measure.kind,
                        f"a {measure.kind} measure moves incomes, prices of factors or migrants, which the "
                        "partial-equilibrium model does not carry (it would be ignored); remove it or set "
                        "[model] name = \"multisector\""))
    if "tables" in scenario.outputs.model_fields_set:
        produced = PE_TABLES if name == "pe" else MULTISECTOR_TABLES
        for k, table in enumerate(scenario.outputs.tables):
            if table not in produced:
                problems.append(Problem(("outputs", "tables", k), table, f"model '{name}' does not produce this "
                                                                         f"table; it writes: {', '.join(produced)}"))
    return problems


def _name_problems(scenario: Scenario) -> list[Problem]:
    from blocsim.errors import DataValidationError
    from blocsim.policy.build import is_policy_path, policy_library_names, resolve_policy_include

    problems = []
    known = policy_library_names()
    for k, name in enumerate(scenario.policy.include):
        if not is_policy_path(name) and name.replace("-", "_").lower() not in known:
            problems.append(
                Problem(("policy", "include", k), name, f"no built-in policy of this name; {suggest(name, known)}"
                                                        f"built-in: {', '.join(known)} (or a policy .toml file in "
                                                        "an allowed folder)")
            )
            continue
        try:  # a file only inside the folders the loader was given; outside ones are refused unread
            resolve_policy_include(name, scenario_include_dirs(scenario))
        except DataValidationError as error:
            problems.append(Problem(("policy", "include", k), name, str(error)))
    if isinstance(scenario.model, MultisectorModel) and isinstance(scenario.model.theta, str):
        from blocsim.data.elasticities import ELASTICITY_TABLES, get_elasticities
        from blocsim.errors import DataValidationError

        known_tables = sorted(ELASTICITY_TABLES)
        try:
            get_elasticities(scenario.model.theta)
        except DataValidationError:
            problems.append(
                Problem(("model", "theta"), scenario.model.theta,
                        f"unknown elasticity table; {suggest(scenario.model.theta, known_tables)}"
                        f"known: {', '.join(known_tables)}, or a table {{sector = theta, ...}}")
            )
    return problems
