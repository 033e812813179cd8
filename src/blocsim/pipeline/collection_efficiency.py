"""The collection efficiency a multi-sector run uses: the scenario's table or the dataset's calibration.

``[model] collection_efficiency`` (:class:`blocsim.scenario.schema.MultisectorModel`) is a table
ISO3 -> fraction, ``"calibrated"`` or unset. The calibrated factors are the ``calibration`` rows
of the dataset's ``duties`` table (built by :mod:`blocsim.data.eaeu_v2.fiscal`, rule in DATA.md
"Fiscal facts"): ``member, year, collection_efficiency, flag, source``. :func:`with_collection_efficiency`
replaces the setting by the factors it resolves to, so the solve and the bands read one table, and
returns where each came from for the run's assumptions (:mod:`blocsim.pipeline.run_assumptions`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from blocsim.errors import DataValidationError, ScenarioError
from blocsim.scenario.schema import Scenario


class CalibratedEfficiency(NamedTuple):
    """One member's calibrated factor: ``value`` (fraction in (0, 1]), ``flag``
    (``calibrated_member``, ``calibrated_union`` or ``assumed``) and ``source`` (the rule, with year and URL)."""

    value: float
    flag: str
    source: str


def calibrated_efficiency(dataset: Any) -> dict[str, CalibratedEfficiency]:
    """The dataset's calibrated collection efficiencies (empty without a calibration).

    Raises
    ------
    DataValidationError
        A calibration row with an efficiency outside (0, 1] or a member listed twice.
    """
    duties = getattr(dataset, "extra", {}).get("duties")
    if duties is None or "kind" not in duties.columns:
        return {}
    rows = duties[duties["kind"] == "calibration"]
    name = getattr(dataset, "name", "")
    values = rows["collection_efficiency"].to_numpy(dtype=float)
    bad = ~((values > 0.0) & (values <= 1.0))
    if bad.any():
        row = rows[bad].iloc[0]
        raise DataValidationError(
            f"dataset {name!r}, table 'duties', field 'collection_efficiency': value {float(row['collection_efficiency'])!r} "
            f"for member {row['member']!r}; allowed: fractions in (0, 1]. Fix: rebuild the dataset's duties table"
        )
    members = rows["member"].astype(str).tolist()
    twice = sorted({m for m in members if members.count(m) > 1})
    if twice:
        raise DataValidationError(f"dataset {name!r}, table 'duties': calibration rows listed twice for {twice!r}. "
                                  "Fix: one calibration row per member")
    return {
        str(r["member"]): CalibratedEfficiency(float(r["collection_efficiency"]), str(r["flag"]),
                                               f"dataset {name!r} duties table, calibration {int(r['year'])}: "
                                               f"{r['source']}")
        for _, r in rows.iterrows()
    }


def with_collection_efficiency(scenario: Scenario, dataset: Any) -> tuple[Scenario, dict[str, CalibratedEfficiency]]:
    """``scenario`` with ``[model] collection_efficiency`` resolved to a table, and the calibrated entries.

    A table stays as given (no calibrated entries); ``"calibrated"`` and unset take the dataset's
    factors (unset: 1 for everyone when the dataset has none).

    Raises
    ------
    ScenarioError
        ``"calibrated"`` on a dataset without a calibration (the message names the dataset).
    """
    given = scenario.model.collection_efficiency
    if isinstance(given, dict):
        return scenario, {}
    calibration = calibrated_efficiency(dataset)
    if given == "calibrated" and not calibration:
        raise ScenarioError(
            f"scenario {scenario.scenario.name!r}, [model] collection_efficiency: got 'calibrated', but dataset "
            f"{getattr(dataset, 'name', '')!r} has no calibrated factors (no 'calibration' rows in a 'duties' table). "
            "Fix: give a table ISO3 -> fraction in (0, 1], or leave it unset (1 for every member)"
        )
    values = {code: entry.value for code, entry in calibration.items()}
    model = scenario.model.model_copy(update={"collection_efficiency": values})
    return scenario.model_copy(update={"model": model}), calibration


def efficiency_table(scenario: Scenario) -> dict[str, float] | None:
    """The resolved ``[model] collection_efficiency`` as the solver takes it (None: 1 everywhere).

    ``scenario`` must have gone through :func:`with_collection_efficiency` (else ``"calibrated"``
    or unset is still a setting, not a table).

    Raises
    ------
    ScenarioError
        The setting is not resolved to a table.
    """
    given = scenario.model.collection_efficiency
    if not isinstance(given, dict):
        raise ScenarioError(f"scenario {scenario.scenario.name!r}, [model] collection_efficiency: {given!r} is not "
                            "resolved to a table. Fix: pass the scenario through with_collection_efficiency first")
    return dict(given) or None
