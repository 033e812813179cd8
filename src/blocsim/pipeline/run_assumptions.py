"""The assumptions a multi-sector scenario run rests on, as rows of the run record.

Each row is an :class:`blocsim.data.run_record.Assumption` (name, value, unit, source,
flag) for the report: the trade elasticities, the closure, the deficits (``observed`` or
``purged``), the data and tariff years, the
border-cost AVE of each bloc (estimated by sector where the estimate passes the guard of
:func:`blocsim.data.border_costs.screen_border_aves`, else the flat cost; both guard parameters
are rows) and the assumed parameters of the measures in force (trade
deflection, re-export and detour costs, covered shares, non-tariff AVEs, output changes) and
the collection efficiency of every duty-pool member (``[model] collection_efficiency``: the
scenario's table, else the dataset's calibrated factor with its flag, else 1.0).
"""

from __future__ import annotations

from typing import Any, Mapping

from blocsim.data.border_costs import BORDER_SIGNIFICANCE
from blocsim.policy.model import Bloc, PolicyState
from blocsim.scenario.schema import Scenario

#: Assumed parameters of policy measures and preferences: attribute -> unit.
MEASURE_PARAMETERS: Mapping[str, str] = {
    "deflection_cost": "ad valorem fraction",
    "reexport_cost": "ad valorem fraction",
    "added_cost": "ad valorem fraction",
    "covered_share": "share of the flow (0-1)",
    "ave": "ad valorem fraction",
    "change": "proportional change",
}


def scenario_assumptions(
    scenario: Scenario, source: str, before: PolicyState, after: PolicyState, tariff_year: int,
    cet_year: int | None, theta: Mapping[str, float], calibration: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The run's assumptions as ``{name, value, unit, source, flag}`` rows (see the module notes).

    Parameters
    ----------
    scenario
        The validated scenario; ``source`` is its file (or library entry).
    before, after
        The two policy states of the run.
    tariff_year, cet_year
        Years of the dataset's tariff schedules used (``cet_year`` None without a CET).
    theta
        Trade elasticity by sector, as solved with.
    calibration
        Calibrated collection efficiency by member, as resolved by
        :func:`blocsim.pipeline.collection_efficiency.with_collection_efficiency` (``value``,
        ``flag``, ``source``); empty or None when the scenario gave its own table.
    """
    named = _theta_table(scenario, theta)
    theta_source = f"elasticity table {named!r} (blocsim.data.get_elasticities)" if named else f"{source} [model] theta"
    rows: list[dict[str, Any]] = [
        {"name": f"theta[{sector}]", "value": float(value), "unit": "trade elasticity (dimensionless)",
         "source": theta_source, "flag": "literature" if named else "scenario"}
        for sector, value in theta.items()
    ]
    rows.append({"name": "closure", "value": scenario.model.closure, "unit": "", "source": f"{source} [model] closure",
                 "flag": "scenario"})
    deficits = scenario.model.deficits
    rows.append({"name": "deficits", "value": deficits, "unit": "",
                 "source": (f"{source} [model] deficits: balanced-trade baseline (blocsim.purge_deficits)"
                            if deficits == "purged" else
                            f"{source} [model] deficits (default): the data's deficits, held by the closure"),
                 "flag": "scenario"})
    rows.extend(_collection_rows(scenario, source, before, after, calibration or {}))
    dataset = f"dataset {scenario.data.dataset!r}"
    rows.append({"name": "data year", "value": scenario.data.year, "unit": "year", "source": dataset, "flag": "data"})
    rows.append({"name": "tariff year", "value": tariff_year, "unit": "year",
                 "source": f"{dataset}: latest tariff schedule on or before the data year", "flag": "data"})
    if cet_year is not None:
        rows.append({"name": "CET year", "value": cet_year, "unit": "year", "source": f"{dataset}: CET schedule",
                     "flag": "data"})
    seen: set[str] = set()
    for state in (before, after):
        for bloc in state.blocs:
            name = f"border_cost[{bloc.name}]"
            if bloc.border_cost > 0 and name not in seen:
                seen.add(name)
                rows.append({"name": name, "value": float(bloc.border_cost), "unit": "ad valorem fraction",
                             "source": "; ".join(bloc.sources) or f"{source}: bloc {bloc.name}", "flag": "assumed"})
            rows.extend(_border_estimate_rows(bloc, theta, seen, source))
        for item in (*state.preferences, *state.measures):
            label = getattr(item, "name", "") or item.describe()
            for attribute, unit in MEASURE_PARAMETERS.items():
                value = getattr(item, attribute, None)
                values = value.items() if isinstance(value, Mapping) else [("", value)]
                for key, number in values:
                    name = f"{attribute}[{label}{'; ' + key if key else ''}]"
                    if not isinstance(number, (int, float)) or name in seen:
                        continue
                    seen.add(name)
                    rows.append({"name": name, "value": float(number), "unit": unit,
                                 "source": "; ".join(getattr(item, "sources", ())) or getattr(item, "note", "")
                                 or f"{source}: {state.label or 'policy'} state", "flag": "assumed"})
    return rows


def _theta_table(scenario: Scenario, theta: Mapping[str, float]) -> str | None:
    """Name of the elasticity table ``theta`` was taken from: the scenario's ``[model] theta`` name, or (no
    ``theta`` given) the default table of the run's sectors, as :func:`~blocsim.pipeline.scenario_run.resolve_theta`
    chose it; None for the scenario's own numbers."""
    if not isinstance(scenario.model.theta, str):
        return None
    if "theta" in scenario.model.model_fields_set:
        return scenario.model.theta
    from blocsim.data.elasticities import default_theta_table

    return default_theta_table(set(theta)) or scenario.model.theta


def _collection_rows(scenario: Scenario, source: str, before: PolicyState, after: PolicyState,
                     calibration: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per duty-pool member (either state): the fraction of its statutory duties it pays in.

    A factor from the dataset's calibration is flagged ``estimated`` (``assumed`` where the
    calibration itself assumed 1.0), its source starting with the calibration's flag
    (``calibrated_member`` or ``calibrated_union``); a scenario's or the default value ``assumed``."""
    members = sorted({code for state in (before, after) for bloc in state.blocs
                      if (pool := bloc.pool_at(state.date)) is not None for code in pool.shares})
    given = scenario.model.collection_efficiency
    table = given if isinstance(given, dict) else {}
    rows = []
    for code in members:
        if code in calibration:  # the run record's flag: "estimated" when calibrated to published figures
            value, detail, where = calibration[code]
            flag, where = ("assumed" if detail == "assumed" else "estimated"), f"{detail}: {where}"
        elif code in table:
            value, flag, where = table[code], "assumed", f"{source} [model] collection_efficiency"
        else:
            value, flag, where = 1.0, "assumed", ("default 1.0: every statutory duty paid into the pool"
                                                  + ("" if not calibration else " (no calibrated factor for it)"))
        rows.append({"name": f"collection_efficiency[{code}]", "value": float(value),
                     "unit": "fraction of statutory duties paid into the duty pool",
                     "source": where + "; the uncollected share stays in national income (importers' rents)",
                     "flag": flag})
    return rows


def _border_estimate_rows(bloc: Bloc, theta: Mapping[str, float], seen: set[str], source: str) -> list[dict[str, Any]]:
    """Rows of a bloc's estimated border costs (DATA.md): the guard's two parameters, each sector of
    the run that uses its estimate, and each that falls back to the flat ``border_cost`` and why.
    Names already in ``seen`` are skipped (and new ones added to it)."""
    if bloc.max_border_ave is None:
        return []
    where = f"{source}: bloc {bloc.name}" if not bloc.sources else f"policy library: bloc {bloc.name}"
    rule = (f"used where beta/s.e. >= {BORDER_SIGNIFICANCE:g} and AVE <= max_border_ave "
            f"{bloc.max_border_ave:g}")
    candidates = [
        {"name": f"max_border_ave[{bloc.name}]", "value": float(bloc.max_border_ave),
         "unit": "ad valorem fraction (cap on an estimated border AVE)",
         "source": f"{where} max_border_ave: assumed upper bound for non-tariff border costs inside a customs union "
                   "(DATA.md); a larger estimate falls back to the flat border_cost", "flag": "assumed"},
        {"name": f"border_significance[{bloc.name}]", "value": BORDER_SIGNIFICANCE,
         "unit": "least beta / s.e. of an estimate used",
         "source": "blocsim.data.border_costs.BORDER_SIGNIFICANCE (5 % two-sided test); a less significant "
                   "estimate falls back to the flat border_cost", "flag": "assumed"},
    ]
    for sector, (ave, se) in bloc.border_estimates.items():
        if sector in theta:
            candidates.append({"name": f"border_cost[{bloc.name} {sector}]", "value": float(ave),
                               "unit": f"ad valorem fraction (s.e. {se:.4f})",
                               "source": f"{bloc.border_source}; {rule}", "flag": "estimated"})
    for sector, reason in bloc.border_fallbacks.items():
        if sector in theta:
            candidates.append({"name": f"border_fallback[{bloc.name} {sector}]", "value": float(bloc.border_cost),
                               "unit": "ad valorem fraction (the flat border_cost[" + bloc.name + "])",
                               "source": f"estimate not used ({reason}); the bloc's flat border_cost applies",
                               "flag": "assumed"})
    rows = [row for row in candidates if row["name"] not in seen]
    seen.update(row["name"] for row in rows)
    return rows


def pe_assumptions(parameters: Mapping[str, Any], dataset: str, year: int | None) -> list[dict[str, Any]]:
    """A PE run's assumptions: its three elasticities (with where each came from) and the data year.

    ``parameters`` is the PE result's parameter record (``import_demand``, ``substitution``,
    ``export_supply`` and their ``*_source`` entries).
    """
    rows: list[dict[str, Any]] = []
    for name, unit in (("import_demand", "import-demand elasticity (< 0)"),
                       ("substitution", "elasticity of substitution between sources"),
                       ("export_supply", "export-supply elasticity ('inf': world prices fixed)")):
        value = parameters.get(name)
        if value is None or isinstance(value, (list, dict)):
            continue
        source = str(parameters.get(f"{name}_source", "scenario [model]"))
        rows.append({"name": name, "value": value if isinstance(value, str) else float(value), "unit": unit,
                     "source": source, "flag": "scenario" if "user" in source else "assumed"})
    if year is not None:
        rows.append({"name": "data year", "value": year, "unit": "year", "source": f"dataset {dataset!r}",
                     "flag": "data"})
    return rows
