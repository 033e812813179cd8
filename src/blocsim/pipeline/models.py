"""One function per model: scenario -> (policy states ->) shock -> model -> result tables + run.json meta.

:func:`blocsim.pipeline.run_scenario` is the one entry point; it dispatches on ``[model] name``:

- ``"multisector"``: :mod:`blocsim.pipeline.scenario_run` (policy states -> shock -> ``solve_multisector``);
- ``"pe"``: :func:`run_pe` (policy states -> the same shock -> ``solve_pe`` on the dataset's sectors or
  on the tariff lines of ``[data] imports``);
- ``"onesector"``: :func:`run_onesector` (gravity table -> PPML -> cost changes -> ``solve_ge``).

Each returns a :class:`ModelRun`; the meta uses the keys of the multi-sector run (``scenario``,
``policy_changes``, ``model {name, parameters}``, ``dataset``, ``diagnostics``,
``focus_countries``, ...), so that the store, report and web read every run alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from blocsim.errors import ScenarioError
from blocsim.pipeline.run_assumptions import pe_assumptions
from blocsim.results.tariff_sources import with_tariff_sources
from blocsim.policy.model import PolicyState
from blocsim.policy.rules import RuleViolation, validate_state
from blocsim.scenario.build import build_states, describe_changes
from blocsim.scenario.loader import scenario_source
from blocsim.scenario.schema import PE_TABLES, OneSectorScenario, PEModel, Scenario
from blocsim.shock.compile import Shock, compile_shock

#: Columns of ``[data] imports``: one row per tariff line, trade in USD millions at world prices
IMPORT_COLUMNS = ("importer", "exporter", "product", "sector", "trade")
#: SMART's default substitution elasticity, used by ``solve_pe`` when ``[model] substitution`` is absent
DEFAULT_PE_SUBSTITUTION = 1.5


@dataclass(frozen=True)
class PolicyShock:
    """The policy half of a run: states, the applied-rate context, rule violations and the compiled shock."""

    before: PolicyState
    after: PolicyState
    rates: Any
    violations: list[RuleViolation]
    shock: Shock


@dataclass(frozen=True)
class ModelRun:
    """What one model produced: its result object, the tables to write, the run.json meta and the policy half."""

    model: Any
    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any]
    policy: PolicyShock | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def policy_shock(scenario: Scenario, dataset: Any, theta: Any) -> PolicyShock:
    """Build the before/after policy states, check the union's rules and compile the shock.

    ``theta``: trade elasticities (a mapping by sector, or one number) that turn AVEs into
    factors on ``kappa^(-theta)``.

    Raises
    ------
    PolicyRuleViolation
        The after state breaks the union's rules and the scenario does not allow it.
    """
    source = scenario_source(scenario)[0]
    before, after, rates = build_states(scenario, dataset)
    validate_state(before, source=f"scenario {source}, [before]")
    violations = validate_state(after, source=f"scenario {source}, [after]")
    shock = compile_shock(before, after, dataset, scenario.data.year, theta=theta)
    return PolicyShock(before, after, rates, violations, shock)


def _scenario_file(scenario: Scenario | OneSectorScenario, field_name: str) -> Path:
    """The file the scenario was read from (relative data paths start at its folder)."""
    source = scenario_source(scenario)[0]
    path = Path(source)
    if source.startswith(("<", "library/")) or not path.is_file():
        raise ScenarioError(
            f"scenario {source}: field '{field_name}' needs the scenario as a file (data files are read beside it, "
            "and the run records the file's hash); a scenario given as text or by built-in name cannot name one. "
            "Fix: save it as a .toml file and run that file"
        )
    return path


def read_imports(scenario: Scenario, dataset: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The tariff-line imports of ``[data] imports`` (CSV beside the scenario file), checked against the dataset.

    Returns the table (``importer, exporter, product, sector, trade``; product codes as text,
    leading zeros kept) and its record for run.json (file name and SHA-256).

    Raises
    ------
    ScenarioError
        No scenario file, a missing or unreadable file, missing columns, negative or missing
        trade values, countries or sectors the dataset does not have.
    """
    from blocsim.data import file_hash

    name = str(scenario.data.imports)
    path = (_scenario_file(scenario, "data.imports").parent / name).resolve()
    where = f"scenario {scenario_source(scenario)[0]}: field 'data.imports' ({name!r})"
    if path.suffix.lower() != ".csv" or not path.is_file():
        raise ScenarioError(f"{where}: not an existing .csv file (looked at {path}); fix: give a CSV file path "
                            "relative to the scenario file")
    try:
        frame = pd.read_csv(path, dtype={"importer": str, "exporter": str, "product": str, "sector": str})
    except (ValueError, OSError) as error:
        raise ScenarioError(f"{where}: cannot be read as CSV ({error}); fix: check the file's format") from None
    missing = [c for c in IMPORT_COLUMNS if c not in frame.columns]
    if missing:
        raise ScenarioError(f"{where}: columns {missing} missing; required: {list(IMPORT_COLUMNS)} (trade in USD "
                            "millions at world prices)")
    frame = frame[list(IMPORT_COLUMNS)]
    trade = pd.to_numeric(frame["trade"], errors="coerce")
    if trade.isna().any() or (trade < 0).any():
        bad = frame.loc[trade.isna() | (trade < 0), "trade"].head(3).tolist()
        raise ScenarioError(f"{where}: column 'trade' has values {bad}; allowed: numbers >= 0 (USD millions)")
    countries = set(dataset.countries["iso3"].astype(str))
    sectors = set(dataset.sectors["sector"].astype(str))
    for column, known in (("importer", countries), ("exporter", countries), ("sector", sectors)):
        unknown = sorted(set(frame[column].astype(str)) - known)
        if unknown:
            raise ScenarioError(f"{where}: column '{column}' has {unknown[:5]}, not in dataset "
                                f"'{scenario.data.dataset}'; allowed: {sorted(known)}")
    return frame.assign(trade=trade.astype(float)), {"file": name, "sha256": file_hash(path)}


def _pe_imports(scenario: Scenario, dataset: Any) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any] | None]:
    """PE baseline imports, the product -> sector concordance (None: products are sectors) and the
    record of the imports file (None: the dataset's flows, no file read)."""
    if scenario.data.imports is not None:
        frame, record = read_imports(scenario, dataset)
        concordance = frame[["product", "sector"]].drop_duplicates()
        return frame.drop(columns="sector"), concordance, record
    flows = dataset.flows
    year = scenario.data.year
    frame = flows.loc[flows["year"] == year, ["importer", "exporter", "sector", "trade"]]
    return frame.rename(columns={"sector": "product"}).reset_index(drop=True), None, None


def run_pe(scenario: Scenario, dataset: Any) -> ModelRun:
    """Tariff-line partial equilibrium of a policy scenario (``[model] name = "pe"``).

    The policy states compile into the same shock as for the multi-sector GE, with
    ``theta = substitution - 1`` (the PE's cost factors act on ``p^(1 - sigma)``); the shock's
    sector-level tariffs and cost factors reach every line of a sector. Markets are the
    dataset's (importer, sector) pairs of ``data.year``, or the lines of ``[data] imports``.

    Returns
    -------
    ModelRun
        ``model``: the :class:`~blocsim.equilibrium.pe.PEResult`; ``tables``: ``countries``
        (one row per importer: ``country``, trade before/after, creation, diversion, tariff
        revenue, consumer surplus and welfare change, USD millions; ``trade_pct`` percent),
        ``flows`` (one row per importer, exporter, product), ``products`` (per market),
        ``tariffs`` and ``shock`` (the shock's rows) as requested; ``meta`` without the policy summary.
    """
    from blocsim.data import frame_hash
    from blocsim.equilibrium import solve_pe

    spec = scenario.model
    if not isinstance(spec, PEModel):
        raise ScenarioError(f"run_pe: scenario {scenario.scenario.name!r} runs model {spec.name!r}, not 'pe'")
    substitution = DEFAULT_PE_SUBSTITUTION if spec.substitution is None else spec.substitution
    policy = policy_shock(scenario, dataset, substitution - 1.0)
    imports, concordance, imports_record = _pe_imports(scenario, dataset)
    result = solve_pe(
        imports, shock=policy.shock, concordance=concordance, import_demand=spec.import_demand,
        substitution=spec.substitution, export_supply=spec.export_supply, method=spec.method, domestic=spec.domestic,
    )
    shock = policy.shock
    available = {
        "countries": result.summary.rename(columns={"importer": "country"}),
        "flows": result.by_partner,
        "products": result.by_product,
        "tariffs": with_tariff_sources(shock.tariffs, dataset, policy.rates.year),
        "shock": shock.cost_factor if not shock.cost_factor.empty else None,
    }
    wanted = set(scenario.outputs.tables) | {"countries", "flows"} if "tables" in scenario.outputs.model_fields_set \
        else set(PE_TABLES)
    tables = {name: table for name, table in available.items() if name in wanted and table is not None}
    parameters = {**spec.model_dump(exclude={"name"}), **result.parameters}
    if parameters.get("export_supply") is not None and math.isinf(parameters["export_supply"]):
        parameters["export_supply"] = "inf"  # JSON has no infinity
    meta_s = scenario.scenario
    focus = list(meta_s.focus_countries) or sorted(imports.loc[imports["importer"] != imports["exporter"],
                                                               "importer"].unique().tolist())
    meta = {
        "scenario": {
            "name": meta_s.name, "title": meta_s.title, "event": meta_s.event, "sources": list(meta_s.sources),
            "description": meta_s.description, "file": scenario_source(scenario)[0],
        },
        "policy_changes": describe_changes(policy.before, policy.after),
        "shock_notes": list(shock.notes),
        "rule_violations": [{"bloc": v.bloc, "rule": v.rule, "message": v.message} for v in policy.violations],
        "model": {"name": "pe", "parameters": parameters},
        "dataset": {"name": scenario.data.dataset, "year": scenario.data.year, "hash": frame_hash(imports),
                    "imports": imports_record},
        "diagnostics": dict(result.diagnostics),
        "focus_countries": focus,
        "assumptions": pe_assumptions(parameters, scenario.data.dataset, scenario.data.year),
    }
    return ModelRun(result, tables, meta, policy)


def run_onesector(scenario: OneSectorScenario) -> ModelRun:
    """PPML + one-sector GE of a scenario with ``[model] name = "onesector"`` (read from a file).

    Returns
    -------
    ModelRun
        ``model``: the :class:`~blocsim.equilibrium.results.GEResult`; ``tables``: ``countries``
        and ``flows`` (see :func:`blocsim.solve_ge`); ``meta``: the run.json content.
    """
    from blocsim.pipeline.ge_run import run_config

    # a bundled sample needs no file beside the scenario: a scenario given as text runs too
    source = _scenario_file(scenario, "data.path") if scenario.data.path is not None else Path(
        scenario_source(scenario)[0])
    result, tables, meta = run_config(scenario, source)
    return ModelRun(result, tables, meta)
