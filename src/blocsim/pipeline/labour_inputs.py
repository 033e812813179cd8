"""The labour channel's inputs for a scenario: remittance corridors and entry costs from the dataset and rules.

Shared by the point run (:func:`blocsim.pipeline.scenario_run.run_scenario`) and the Monte Carlo
bands (:func:`blocsim.pipeline.bands.bands_plan`), so that every draw solves the same model as
the point run.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from blocsim.errors import ScenarioError
from blocsim.policy.macro import WorkPermitCost
from blocsim.policy.model import PolicyState
from blocsim.scenario.schema import Scenario


def labour_inputs(scenario: Scenario, dataset: Any, before: PolicyState, after: PolicyState) -> dict[str, Any]:
    """The labour arguments of :func:`blocsim.solve_multisector` for a scenario (empty when the channel is off).

    Corridors: the dataset's ``remittances`` table, 2017 rows (the year with both remittances and
    migrant stocks), ``sender`` = host, ``receiver`` = origin, flows inside one region dropped.
    Entry costs: :func:`entry_costs` of each state.
    """
    table = getattr(dataset, "extra", {}).get("remittances")
    wanted = scenario.model.labour
    if wanted is False or (wanted is None and table is None):
        return {}
    if table is None:
        raise ScenarioError(
            f"[model] labour = true, but dataset {getattr(dataset, 'name', '?')!r} has no remittance table; allowed: "
            "a dataset with one (e.g. 'eaeu-2022v2'). Fix: set labour = false or choose that dataset."
        )
    rows = table[(table["year"] == 2017) & (table["sender"] != table["receiver"])]
    corridors = pd.DataFrame({"origin": rows["receiver"].astype(str), "host": rows["sender"].astype(str),
                              "remittances": rows["remittances_usd_m"].fillna(0.0).astype(float),
                              "migrants": rows["migrants"].astype("Float64").fillna(0.0).astype(float)})
    pairs = list(zip(corridors["origin"], corridors["host"]))
    entry = corridors[["origin", "host"]].assign(
        entry_cost_before=entry_costs(before, pairs, scenario.model.entry_cost),
        entry_cost_after=entry_costs(after, pairs, scenario.model.entry_cost))
    return {"remittances": corridors.reset_index(drop=True), "entry_costs": entry.reset_index(drop=True),
            "migration_elasticity": scenario.model.migration_elasticity}


def entry_costs(state: PolicyState, pairs: list[tuple[str, str]], default: float) -> list[float]:
    """Work-permit cost (fraction of earnings) of each ``(origin, host)`` pair in ``state``.

    0 between members of a bloc with free movement of labour on the state's date; else the
    cost of the last ``entry_cost`` measure (:class:`blocsim.policy.macro.WorkPermitCost`) in
    force that covers the pair; else ``default`` (``[model] entry_cost``).

    Raises
    ------
    ScenarioError
        An ``entry_cost`` measure charges workers of a fellow member under free movement.
    """
    free = state.free_movement_pairs()
    permits = [m for m in state.measures if isinstance(m, WorkPermitCost)]
    for measure in permits:
        charged = sorted(f"{o}->{h}" for o in measure.origins for h in measure.hosts if (o, h) in free)
        if charged and measure.cost > 0:
            raise ScenarioError(
                f"measure '{measure.describe()}' ({state.label}): {charged} have free movement of labour on "
                f"{state.date} (members of one union), so no permit cost applies; allowed: origins and hosts outside "
                "a common labour market. Fix: drop those countries from the measure"
            )
    out = []
    for pair in pairs:
        covering = [m.cost for m in permits if m.covers(*pair)]
        out.append(0.0 if pair in free else (covering[-1] if covering else float(default)))
    return out
