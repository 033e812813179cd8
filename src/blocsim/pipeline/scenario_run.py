"""Run a scenario end to end: (policy states -> shock ->) the model of ``[model] name`` -> run directory.

This is the one entry point that joins the stages (scenario -> policy -> shock -> equilibrium ->
results); each stage stays ignorant of the ones after it. The multi-sector GE runs here; the
PE and one-sector models run in :mod:`blocsim.pipeline.models`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from blocsim.data.elasticities import default_theta_table
from blocsim.data.progress import ProgressCallback
from blocsim.errors import ScenarioError
from blocsim.pipeline.channels import channel_decomposition, measure_channels
from blocsim.pipeline.collection_efficiency import CalibratedEfficiency, efficiency_table, with_collection_efficiency
from blocsim.pipeline.labour_inputs import labour_inputs
from blocsim.pipeline.models import ModelRun, policy_shock, run_onesector, run_pe
from blocsim.policy.model import PolicyState
from blocsim.policy.rules import RuleViolation
from blocsim.results.tariff_sources import with_tariff_sources
from blocsim.scenario.build import describe_changes
from blocsim.scenario.loader import load_scenario, scenario_source
from blocsim.scenario.schema import AnyScenario, OneSectorScenario, Scenario
from blocsim.shock.compile import Shock
from blocsim.shock.leakage import record_reroutes


@dataclass(frozen=True)
class ScenarioResult:
    """Everything a scenario run produced.

    Attributes
    ----------
    scenario : Scenario or OneSectorScenario
    before, after : PolicyState or None
        None for the one-sector model (it changes cost variables, not policy states).
    shock : Shock or None
        None for the one-sector model.
    model : object
        The model's result: multi-sector GE, ``PEResult`` or one-sector ``GEResult``
        (``.diagnostics`` with the common keys).
    tables : dict of DataFrame
        The tables written to the run directory (``countries``, ``flows``, ...).
    meta : dict
        The ``run.json`` content (without provenance).
    violations : list of RuleViolation
        Rule violations of the after state (non-empty only with ``allow_rule_violations``).
    run_dir : Path or None
    """

    scenario: AnyScenario
    before: PolicyState | None
    after: PolicyState | None
    shock: Shock | None
    model: Any
    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any]
    violations: list[RuleViolation] = field(default_factory=list)
    run_dir: Path | None = None

    @property
    def countries(self) -> pd.DataFrame:
        """Per-country results (percent changes; revenue in USD millions)."""
        return self.tables["countries"]

    @property
    def flows(self) -> pd.DataFrame:
        """Per (exporter, importer, sector) flows, model and as recorded (with re-exports)."""
        return self.tables["flows"]



def resolve_theta(scenario: Scenario, dataset: Any = None) -> dict[str, float]:
    """Trade elasticities of the scenario: its own, the table it names, or (no ``theta`` given) the
    first of :data:`blocsim.data.elasticities.DEFAULT_THETA_TABLES` covering every sector of ``dataset`` (default: the
    scenario's ``[data] dataset``); dimensionless, by sector."""
    if isinstance(scenario.model.theta, dict):
        return dict(scenario.model.theta)
    from blocsim.data.elasticities import get_elasticities

    if "theta" not in scenario.model.model_fields_set:
        from blocsim.scenario.loader import dataset_catalog

        sectors = (set(dataset.sectors["sector"].astype(str)) if hasattr(dataset, "sectors")
                   else set(dataset_catalog(scenario.data.dataset).sectors))
        name = default_theta_table(sectors)
        if name is not None:
            return {sector: theta for sector, theta in get_elasticities(name).items() if sector in sectors}
    return get_elasticities(scenario.model.theta)


def baseline_flows(dataset: Any, year: int) -> pd.DataFrame:
    """The dataset's flows of ``year`` as ``exporter, importer, sector, trade`` (USD millions)."""
    flows = dataset.flows
    frame = flows.loc[flows["year"] == year, ["exporter", "importer", "sector", "trade"]].reset_index(drop=True)
    if frame.empty:
        raise ScenarioError(
            f"data.year = {year}: dataset {getattr(dataset, 'name', '')!r} has no flows for that year; years: "
            f"{sorted(flows['year'].unique().tolist())}"
        )
    return frame


def deficits_baseline(scenario: Scenario, observed: pd.DataFrame, theta: Mapping[str, float],
                      shock: Shock) -> pd.DataFrame:
    """The baseline flows the scenario is solved from, by its ``[model] deficits``.

    ``"observed"``: ``observed`` itself (the data's deficits, held by the closure).
    ``"purged"``: :func:`blocsim.purge_deficits` of ``observed`` with the run's ``theta`` and the
    shock's baseline tariffs (``tariff_before``): the balanced-trade flows (USD millions, same
    rows), on which the scenario's shock is then solved.
    """
    if scenario.model.deficits == "observed":
        return observed
    from blocsim.equilibrium import purge_deficits

    return purge_deficits(observed, theta=dict(theta), tariffs=shock.tariffs)


def _focus(scenario: Scenario, shock: Shock) -> list[str]:
    if scenario.scenario.focus_countries:
        return list(scenario.scenario.focus_countries)
    return sorted(set(shock.bloc_members_before) | set(shock.bloc_members_after))


def run_scenario(
    scenario: Scenario | str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    draws: int | None = None,
    seed: int | None = None,
    dataset: Any = None,
    year: int | None = None,
    progress: ProgressCallback | None = None,
) -> ScenarioResult:
    """Run a scenario with the model its ``[model] name`` names and (optionally) write a run directory.

    ``"multisector"`` (default) solves the multi-sector GE here; ``"pe"`` and ``"onesector"``
    run through :mod:`blocsim.pipeline.models` (:func:`~blocsim.pipeline.models.run_pe`,
    :func:`~blocsim.pipeline.models.run_onesector`) and give the same result shape.

    Parameters
    ----------
    scenario
        A :class:`Scenario` or :class:`~blocsim.scenario.schema.OneSectorScenario`, a scenario file
        path or a built-in name (``"kazakhstan-leaves"``).
    out_dir
        If given, write ``countries.csv``, ``flows.csv``, ``bloc_effects.csv``, ... and
        ``run.json`` there (atomically, via :func:`blocsim.results.write_run`). An existing
        ``out_dir`` that is a previous run directory (holds ``run.json``) or is empty is
        replaced atomically, only once the new run is complete; a directory that is not a run
        directory (or a file) is refused, so user files are never deleted.
    draws
        If given, also compute Monte Carlo bands with this many draws over the scenario's
        uncertain inputs (trade elasticities, AVEs of its non-tariff measures, the parameters
        of its ``[uncertainty]`` table; :func:`blocsim.pipeline.bands.scenario_bands`) and the
        one-at-a-time sensitivity of the headline numbers
        (:func:`blocsim.pipeline.sensitivity.sensitivity_table`), written as ``bands.csv``
        and ``sensitivity.csv``: 2 to 1,000,000 draws whose result fits in 2 GiB, checked
        before anything is solved.
    seed
        Seed of the Monte Carlo draws (an integer >= 0, default 0; the same seed gives the
        same bands). Only with ``draws``.
    dataset
        An already loaded dataset (default: ``blocsim.load_dataset(scenario.data.dataset)``).
    year
        Data year to run on instead of the scenario's ``[data] year`` (its baseline flows and
        tariff schedules; overrides ``tariff_year`` too); one of the dataset's years.
    progress
        ``progress(done, total)`` (:mod:`blocsim.data.progress`), called only with ``draws``:
        after the point run, ``total`` = ``draws`` + the sensitivity's scenarios
        (:func:`~blocsim.pipeline.sensitivity.scenario_count`) + 1 (writing the run), first
        with ``done = 0``, then after each solved chunk, the last (``done == total``) once the
        run is written.

    Returns
    -------
    ScenarioResult
        ``scenario``, the ``before``/``after`` policy states, the compiled ``shock``, the GE
        result ``model``, ``tables`` (the written tables by name: ``countries`` (one row per
        country; ``*_pct`` percent changes, revenue in USD millions), ``flows`` (one row per
        exporter, importer, sector; USD millions; with ``spillover_<channel>_pct`` when the
        scenario's measures name channels, :mod:`blocsim.pipeline.channels`), and ``bloc_effects``, ``partner_groups``,
        ``tariffs``, ``reexports``, ``shock``, ``bands`` when requested and available),
        ``meta`` (the ``run.json`` content without provenance), ``violations`` (rule
        violations of the after state) and ``run_dir`` (the run directory, or None without
        ``out_dir``).

    Raises
    ------
    ScenarioError
        Bad scenario (with file, line and field).
    PolicyRuleViolation
        The counterfactual breaks the union's rules and the scenario does not set
        ``policy.allow_rule_violations = true``.
    DataValidationError
        The dataset's tables break the schema (e.g. missing tariff rows the scenario needs).
    ConvergenceError
        The multi-sector GE solver (or a Monte Carlo draw) did not converge.
    BlocsimError
        ``out_dir`` exists and is not a run directory, or cannot be written.
    """
    if not isinstance(scenario, (Scenario, OneSectorScenario)):
        scenario = load_scenario(scenario)
    if scenario.model.name != "multisector":
        _check_single_run(scenario, draws, seed, dataset, year)
    if dataset is None and isinstance(scenario, Scenario):
        from blocsim.data import load_dataset

        dataset = load_dataset(scenario.data.dataset)
    if year is not None and isinstance(scenario, Scenario):
        scenario = with_year(scenario, year, dataset)
    if scenario.model.name != "multisector":
        return _write(_run_model(scenario, dataset), out_dir)
    seed = _check_bands_request(draws, seed, dataset)
    scenario, calibration = with_collection_efficiency(scenario, dataset)
    theta = resolve_theta(scenario, dataset)
    year = scenario.data.year
    policy = policy_shock(scenario, dataset, theta)
    before, after, rates, violations, shock = policy.before, policy.after, policy.rates, policy.violations, policy.shock
    observed = baseline_flows(dataset, year)
    baseline = deficits_baseline(scenario, observed, theta, shock)
    labour = labour_inputs(scenario, dataset, before, after)
    model = _solve(scenario, dataset, baseline, shock, theta, labour)
    flows, reexports = record_reroutes(model.flows, shock.reroutes)
    tables = _tables(scenario, model, flows, reexports, shock)
    if "tariffs" in tables:  # where each rate comes from (the dataset's source and flag)
        tables["tariffs"] = with_tariff_sources(tables["tariffs"], dataset, rates.year)
    meta = _meta(scenario, observed, before, after, shock, model, violations, rates, theta, calibration)
    meta["model"]["parameters"].update(labour_parameters(scenario, labour))
    meta["dataset"].update(dataset_version(dataset, observed))
    if measure_channels(scenario):  # spill-over by channel: cumulative runs (blocsim.pipeline.channels)
        tables["countries"], meta["channels"] = channel_decomposition(
            scenario, tables["countries"], labour_on=bool(labour), focus=meta["focus_countries"],
            solve=lambda step: _step_countries(step, dataset, baseline, theta))
    result = ScenarioResult(scenario, before, after, shock, model, tables, meta, violations)
    if draws is not None:
        from blocsim.pipeline.bands import bands_plan, scenario_bands
        from blocsim.pipeline.sensitivity import HEADLINE_VARIABLES, scenario_count, sensitivity_table

        plan = bands_plan(result, seed=seed, dataset=dataset)
        total = draws + scenario_count(plan) + 1  # the draws, the sensitivity's scenarios, writing the run
        bands = scenario_bands(result, draws=draws, seed=seed, plan=plan, progress=_part(progress, 0, total))
        tables["bands"] = bands.bands
        tables["sensitivity"] = sensitivity_table(plan, tables["countries"], meta["focus_countries"],
                                                  progress=_part(progress, draws, total))
        tables["countries"] = countries_with_bands(tables["countries"], bands.bands)
        meta["uncertainty"] = {"draws": draws, "seed": seed, "varied": bands.diagnostics["varied"],
                               "not_in_model": bands.diagnostics["not_in_model"],
                               "sensitivity": {"method": "one at a time, p05 and p95 of each input",
                                               "variables": list(HEADLINE_VARIABLES)}}
        written = _write(result, out_dir)
        if progress is not None:
            progress(total, total)
        return written
    return _write(result, out_dir)


def _part(progress: ProgressCallback | None, offset: int, total: int) -> ProgressCallback | None:
    """The callback of one part of a counted run: its ``done`` reported as ``offset + done`` of ``total``
    (a later part's opening ``done = 0`` is not repeated)."""
    if progress is None:
        return None

    def report(done: int, _: int) -> None:
        if done or not offset:
            progress(offset + done, total)

    return report


def countries_with_bands(countries: pd.DataFrame, bands: pd.DataFrame) -> pd.DataFrame:
    """``countries`` with the Monte Carlo percentiles of each banded variable as columns.

    Parameters
    ----------
    countries
        One row per country (``country`` plus the point results).
    bands
        ``bands.csv``: one row per ``country`` and ``variable`` with percentile columns
        ``p05``, ``p50``, ``p95`` (in the unit of the variable).

    Returns
    -------
    pandas.DataFrame
        A new frame: ``countries`` plus ``<variable>_p05``, ``<variable>_p50``,
        ``<variable>_p95`` (:data:`blocsim.results.columns.BAND_PERCENTILES`) for every
        variable of ``bands`` (percent for ``*_pct``, USD millions for revenue), after the
        existing columns; NaN for a country without a band.
    """
    from blocsim.results.columns import BAND_PERCENTILES, band_column

    stats = [p for p in BAND_PERCENTILES if p in bands.columns]
    wide = bands.pivot_table(index="country", columns="variable", values=stats, aggfunc="first")
    variables = list(dict.fromkeys(bands["variable"]))
    columns = {band_column(variable, stat): wide[(stat, variable)] for variable in variables for stat in stats}
    added = pd.DataFrame(columns).reindex(countries["country"].to_numpy())
    return pd.concat([countries.reset_index(drop=True), added.reset_index(drop=True)], axis=1)


def _write(result: ScenarioResult, out_dir: str | os.PathLike[str] | None) -> ScenarioResult:
    """Write the run directory (tables, run.json and the scenario file's text) if ``out_dir`` is given."""
    if out_dir is None:
        return result
    from blocsim.results import write_run

    text = scenario_source(result.scenario)[2]
    run_dir = write_run(out_dir, result.tables, result.meta, extra_files={"scenario.toml": text} if text else None)
    return dataclasses.replace(result, run_dir=run_dir)


def _check_single_run(scenario: AnyScenario, draws: int | None, seed: int | None, dataset: Any,
                      year: int | None = None) -> None:
    """Arguments a PE or one-sector run does not use are errors (bands draw the multi-sector model only).

    Raises
    ------
    ScenarioError
        ``draws``/``seed`` with a model other than ``multisector``; ``dataset`` or ``year``
        with ``onesector``.
    """
    name = scenario.model.name
    for argument, value in (("draws", draws), ("seed", seed)):
        if value is not None:
            raise ScenarioError(
                f"run_scenario argument '{argument}': got {value!r}, but the Monte Carlo bands draw the multi-sector "
                f"model's elasticities and scenario {scenario.scenario.name!r} runs model '{name}'. Fix: drop "
                f"'{argument}' (--draws/--seed), or run the scenario with [model] name = \"multisector\""
            )
    if year is not None and name == "onesector":
        raise ScenarioError(
            f"run_scenario argument 'year' (--year): got {year!r}, but scenario {scenario.scenario.name!r} runs model "
            "'onesector', which reads its own gravity table ([data] sample or path) with all its years. Fix: drop "
            "'year' (--year)"
        )
    if dataset is not None and name == "onesector":
        raise ScenarioError(
            f"run_scenario argument 'dataset': scenario {scenario.scenario.name!r} runs model 'onesector', which reads "
            "its own gravity table ([data] sample or path), so a dataset would have no effect. Fix: drop 'dataset'"
        )


def _run_model(scenario: AnyScenario, dataset: Any) -> ScenarioResult:
    """Run a PE or one-sector scenario through :mod:`blocsim.pipeline.models`."""
    if isinstance(scenario, OneSectorScenario):
        run: ModelRun = run_onesector(scenario)
        return ScenarioResult(scenario, None, None, None, run.model, run.tables, run.meta)
    if dataset is None:
        from blocsim.data import load_dataset

        dataset = load_dataset(scenario.data.dataset)
    run = run_pe(scenario, dataset)
    policy = run.policy
    if policy is None:  # run_pe always compiles the policy states; typed for the checker
        raise ScenarioError(f"scenario {scenario.scenario.name!r}: the PE run returned no policy states")
    meta = {**run.meta, "policy": {
        "before": _state_summary(policy.before), "after": _state_summary(policy.after),
        "tariff_year": policy.rates.year, "cet_year": policy.rates.cet_year,
    }}
    return ScenarioResult(scenario, policy.before, policy.after, policy.shock, run.model, run.tables, meta,
                          policy.violations)


def with_year(scenario: Scenario, year: int, dataset: Any) -> Scenario:
    """``scenario`` on data year ``year`` (its ``[data] year``; ``tariff_year`` dropped, so tariffs of that year).

    Raises
    ------
    DataValidationError
        ``year`` is not an integer year of ``dataset`` (the message lists its years).
    """
    from blocsim.errors import DataValidationError

    years = sorted(int(y) for y in dataset.flows["year"].unique())
    if isinstance(year, bool) or not isinstance(year, int) or year not in years:
        raise DataValidationError(f"argument 'year' (--year): got {year!r}; allowed: a year of dataset "
                                  f"{getattr(dataset, 'name', '')!r}: {years}")
    return scenario.model_copy(update={"data": scenario.data.model_copy(update={"year": year, "tariff_year": None})})


def dataset_version(dataset: Any, baseline: pd.DataFrame) -> dict[str, Any]:
    """What ``run.json`` records of the data beyond name and year: tables version, recipe, sectors.

    Returns
    -------
    dict
        ``version`` (the versioned tables, e.g. ``eaeu-2022v2`` for ``eaeu``), ``recipe_version``
        and ``sectors`` (the sectors of the baseline flows, in the dataset's order).
    """
    version = getattr(dataset, "version", None) or {"tables": str(getattr(dataset, "name", "")), "recipe_version": ""}
    present = set(baseline["sector"].astype(str))
    order = [str(s) for s in dataset.sectors["sector"]] if hasattr(dataset, "sectors") else sorted(present)
    return {"version": version["tables"], "recipe_version": version["recipe_version"],
            "sectors": [s for s in order if s in present]}


def _check_bands_request(draws: int | None, seed: int | None, dataset: Any) -> int:
    """The seed of a Monte Carlo request, checked (with ``draws``) before the scenario is solved.

    Raises
    ------
    DataValidationError
        ``seed`` without ``draws``; ``draws`` or ``seed`` out of range (too many draws for
        the memory budget of :mod:`blocsim.pipeline.uncertainty_draws`).
    """
    from blocsim.errors import DataValidationError
    from blocsim.pipeline.uncertainty import MULTISECTOR_VARIABLES
    from blocsim.pipeline.uncertainty_draws import check_draws, check_seed

    if draws is None:
        if seed is not None:
            raise DataValidationError(f"argument 'seed': got {seed!r} without 'draws'; the seed is that of the Monte "
                                      "Carlo draws. Fix: pass draws= too, or drop seed=.")
        return 0
    check_draws(draws, variables=len(MULTISECTOR_VARIABLES), countries=len(dataset.countries),
                parameters=len(dataset.sectors))
    return check_seed(0 if seed is None else seed)




def labour_parameters(scenario: Scenario, labour: Mapping[str, Any]) -> dict[str, Any]:
    """What ``run.json`` records of the labour channel under ``model.parameters``.

    ``labour``: whether migrant workers and remittances were in the solve (``labour_inputs``
    not empty: on by default when the dataset has a remittance table); when on, also
    ``migration_elasticity`` (dimensionless), ``entry_cost`` (fraction of earnings, non-members)
    and ``remittance_corridors`` (number of origin-host pairs).
    """
    if not labour:
        return {"labour": False}
    return {"labour": True, "migration_elasticity": float(scenario.model.migration_elasticity),
            "entry_cost": float(scenario.model.entry_cost), "remittance_corridors": int(len(labour["remittances"]))}


def _step_countries(step: Scenario, dataset: Any, baseline: pd.DataFrame, theta: Mapping[str, float]) -> pd.DataFrame:
    """The ``countries`` table of one channel step (:mod:`blocsim.pipeline.channels`).

    A step is the full run's scenario with fewer after-measures (and ``[model] labour`` off), so
    what depends only on the before state and the data is the full run's: the loaded
    ``dataset``, the resolved collection efficiency (in ``step``), ``theta`` (by sector) and the
    ``baseline`` flows (USD millions; with ``deficits = "purged"`` purged once, with the before
    state's tariffs). Only the policy states, the shock and the solve are the step's own.
    """
    policy = policy_shock(step, dataset, theta)
    labour = labour_inputs(step, dataset, policy.before, policy.after)
    return _solve(step, dataset, baseline, policy.shock, theta, labour).countries


def _solve(scenario: Scenario, dataset: Any, baseline: pd.DataFrame, shock: Shock, theta: Mapping[str, float],
           labour: Mapping[str, Any] | None = None) -> Any:
    from blocsim.equilibrium import DutyPool, solve_multisector

    members = sorted(set(shock.bloc_members_before) | set(shock.bloc_members_after))
    # partner groups: the union's members in either state, else the dataset's group (a dataset
    # "member" that is not in the union on these dates counts as a partner)
    codes = dataset.countries["iso3"].astype(str)
    labels = dataset.countries["group"].astype(str) if "group" in dataset.countries.columns else codes.map(
        lambda _c: "partner")
    groups = {c: "bloc" if c in members else ("partner" if g == "member" else g) for c, g in zip(codes, labels)}
    pool_before = DutyPool(shares=shock.duty_pool_before) if shock.duty_pool_before else None
    pool_after = DutyPool(shares=shock.duty_pool_after) if shock.duty_pool_after else None
    return solve_multisector(
        baseline,
        theta=dict(theta),
        shock=shock.cost_factor if not shock.cost_factor.empty else None,
        tariffs=shock.tariffs,
        closure=scenario.model.closure,
        duty_pool=pool_before,
        duty_pool_after=pool_after,
        productivity=shock.productivity if not shock.productivity.empty else None,
        bloc=members or None,
        partner_groups=groups,
        income_transfers=shock.income_transfers if not shock.income_transfers.empty else None,
        collection_efficiency=efficiency_table(scenario),
        deficit_targets=dict(shock.deficit_targets) or None,
        world_prices=dict(shock.world_prices) or None,
        **(labour or {}),
    )


def _tables(
    scenario: Scenario, model: Any, flows: pd.DataFrame, reexports: pd.DataFrame, shock: Shock
) -> dict[str, pd.DataFrame]:
    wanted = set(scenario.outputs.tables) | {"countries", "flows"}
    available: dict[str, pd.DataFrame | None] = {
        "countries": model.countries,
        "flows": flows,
        "bloc_effects": getattr(model, "bloc_effects", None),
        "partner_groups": getattr(model, "partner_groups", None),
        "tariffs": shock.tariffs,
        "reexports": reexports if not reexports.empty else None,
        "shock": shock.cost_factor if not shock.cost_factor.empty else None,
    }
    order = ["countries", "flows", "bloc_effects", "partner_groups", "tariffs", "reexports", "shock"]
    return {name: available[name] for name in order if name in wanted and isinstance(available[name], pd.DataFrame)}


def _state_summary(state: PolicyState) -> dict[str, Any]:
    blocs = {}
    for bloc in state.blocs:
        pool = bloc.pool_at(state.date)
        blocs[bloc.name] = {
            "members": list(bloc.members_at(state.date)),
            "cet_in_force": bloc.cet_in_force(state.date),
            "internal_checks": bloc.internal_checks(state.date),
            "duty_pool_percent": dict(pool.shares) if pool else None,
        }
    return {"date": state.date.isoformat(), "blocs": blocs, "measures": [m.describe() for m in state.measures]}


def _meta(
    scenario: Scenario, baseline: pd.DataFrame, before: PolicyState, after: PolicyState, shock: Shock, model: Any,
    violations: list[RuleViolation], rates: Any, theta: Mapping[str, float],
    calibration: Mapping[str, CalibratedEfficiency],
) -> dict[str, Any]:
    from blocsim.data.run_record import run_diagnostics
    from blocsim.pipeline.run_assumptions import scenario_assumptions
    from blocsim.results import frame_hash

    meta_s = scenario.scenario
    source = scenario_source(scenario)[0]
    return {
        "scenario": {
            "name": meta_s.name, "title": meta_s.title, "event": meta_s.event,
            "sources": list(meta_s.sources), "description": meta_s.description,
            "file": source,
        },
        "policy_changes": describe_changes(before, after),
        "shock_notes": list(shock.notes),
        "rule_violations": [{"bloc": v.bloc, "rule": v.rule, "message": v.message} for v in violations],
        "policy": {"before": _state_summary(before), "after": _state_summary(after),
                   "tariff_year": rates.year, "cet_year": rates.cet_year},
        "model": {"name": scenario.model.name, "deficits": scenario.model.deficits,
                  "parameters": {"theta": dict(theta), "closure": scenario.model.closure}},
        "dataset": {"name": scenario.data.dataset, "year": scenario.data.year, "hash": frame_hash(baseline)},
        "diagnostics": run_diagnostics(model.diagnostics).model_dump(),
        "assumptions": scenario_assumptions(scenario, source, before, after, rates.year, rates.cet_year, theta,
                                            calibration),
        "focus_countries": _focus(scenario, shock),
    }
