"""The labour channel's inputs for a scenario: remittance corridors and entry costs from the dataset and rules.

Shared by the point run (:func:`blocsim.pipeline.scenario_run.run_scenario`) and the Monte Carlo
bands (:func:`blocsim.pipeline.bands.bands_plan`), so that every draw solves the same model as
the point run.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from blocsim.errors import ScenarioError
from blocsim.policy.model import PolicyState
from blocsim.scenario.schema import Scenario


def labour_inputs(scenario: Scenario, dataset: Any, before: PolicyState, after: PolicyState) -> dict[str, Any]:
    """The labour arguments of :func:`blocsim.solve_multisector` for a scenario (empty when the channel is off).

    Corridors: the dataset's ``remittances`` table, 2017 rows (the year with both remittances and
    migrant stocks), ``sender`` = host, ``receiver`` = origin, flows inside one region dropped.
    Entry costs: 0 between members of a bloc with free movement of labour on the state's date,
    ``[model] entry_cost`` otherwise.
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
    cost = scenario.model.entry_cost
    free_before, free_after = before.free_movement_pairs(), after.free_movement_pairs()
    pairs = list(zip(corridors["origin"], corridors["host"]))
    entry = corridors[["origin", "host"]].assign(
        entry_cost_before=[0.0 if p in free_before else cost for p in pairs],
        entry_cost_after=[0.0 if p in free_after else cost for p in pairs])
    return {"remittances": corridors.reset_index(drop=True), "entry_costs": entry.reset_index(drop=True),
            "migration_elasticity": scenario.model.migration_elasticity}
