"""Run a one-sector scenario: read its gravity table, estimate gravity by PPML, solve the one-sector GE.

The scenario (``[model] name = "onesector"``) is a :class:`~blocsim.scenario.schema.OneSectorScenario`;
an old ``blocsim ge`` file is translated into one first (:func:`blocsim.scenario.ge_config.config_to_scenario`).
This module does the work the scenario describes and returns the tables and the ``run.json``
content for :func:`blocsim.results.write_run`; :func:`blocsim.pipeline.run_scenario` calls it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from blocsim.errors import ScenarioError
from blocsim.scenario.ge_config import GEConfig, config_to_scenario
from blocsim.scenario.loader import scenario_source
from blocsim.scenario.schema import OneSectorScenario


def _load_table(config: OneSectorScenario, config_path: Path) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """Read the data source; returns the frame, its display name and dataset metadata."""
    from blocsim.data.samples import list_samples, load_sample, sample_path
    from blocsim.data import file_hash

    data = config.data
    if data.sample is not None:
        if data.sample not in list_samples():
            raise ScenarioError(
                f"{config_path}: field 'data.sample': got {data.sample!r}; allowed: {sorted(list_samples())}; "
                f"fix: use one of them or data.path = \"file.csv\""
            )
        path = sample_path(data.sample)
        return load_sample(data.sample), str(path), {"name": data.sample, "file_hash": file_hash(path)}
    path = (config_path.parent / str(data.path)).resolve()
    if not path.is_file():
        raise ScenarioError(
            f"{config_path}: field 'data.path': file {data.path!r} not found (looked at {path}); fix: give a "
            f"path relative to the config file"
        )
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".csv", ".txt", ".dlm"}:
        raise ScenarioError(
            f"{config_path}: field 'data.path': {data.path!r} has suffix {path.suffix!r}; allowed: .csv, .parquet"
        )
    try:
        frame = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    except (ValueError, OSError) as error:  # pandas' ParserError/EmptyDataError and pyarrow's errors
        raise ScenarioError(
            f"{config_path}: field 'data.path': {data.path!r} cannot be parsed as {suffix[1:]} ({error}); "
            "fix: check the file's format"
        ) from None
    return frame, str(path), {"name": path.stem, "path": str(path), "file_hash": file_hash(path)}


def _source_hash(config: OneSectorScenario, config_path: Path) -> str:
    """SHA-256 of the scenario file's bytes, or of its text when it was given as text (a bundled sample)."""
    from blocsim.data import file_hash

    if config_path.is_file():
        return file_hash(config_path)
    return hashlib.sha256(scenario_source(config)[2].encode("utf-8")).hexdigest()


def _check_names(config: OneSectorScenario, config_path: Path, countries: tuple[str, ...], cost_columns: set[str]) -> None:
    """Countries and columns named in the config must exist in the data."""

    def unknown_country(field: str, value: object) -> ScenarioError:
        return ScenarioError(
            f"{config_path}: field '{field}': country {value!r} is not in the data; allowed: "
            f"{list(countries)[:15]}{' ...' if len(countries) > 15 else ''} ({len(countries)} countries); "
            f"fix: use an ISO3 code of the data"
        )

    if config.model.reference_importer is not None and config.model.reference_importer not in countries:
        raise unknown_country(f"{config.model_table}.reference_importer", config.model.reference_importer)
    for k, change in enumerate(config.counterfactual.set):
        for name in ("involving", "between", "exporters", "importers"):
            for code in getattr(change, name) or []:
                if code not in countries:
                    raise unknown_country(f"counterfactual.set[{k}].{name}", code)
        if change.column not in cost_columns:
            raise ScenarioError(
                f"{config_path}: field 'counterfactual.set[{k}].column': {change.column!r} is not a cost "
                f"variable; allowed: {sorted(cost_columns)}; fix: add it to estimation.cost_variables"
            )
    if config.estimation.coefficients is not None:
        missing = [v for v in config.estimation.cost_variables if v not in config.estimation.coefficients]
        if missing:
            raise ScenarioError(
                f"{config_path}: field 'estimation.coefficients': no value for {missing}; fix: give a "
                f"coefficient for every cost variable or remove estimation.coefficients to estimate them"
            )
    if config.estimation.fixed_effects.endswith("+pair") and config.model.baseline_method == "estimated":
        raise ScenarioError(
            f"{config_path}: field '{config.model_table}.baseline_method': 'estimated' with estimation.fixed_effects = "
            f"{config.estimation.fixed_effects!r}: the cost variables alone do not describe trade costs when "
            f"pair effects absorb the rest; fix: use baseline_method = \"observed\""
        )


def _counterfactual(config: OneSectorScenario, config_path: Path, baseline: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The baseline table with the ``[[counterfactual.set]]`` changes applied, and one line per change.

    Raises
    ------
    ScenarioError
        A change selects no pair of the data (it would run as a zero shock).
    """
    counterfactual = baseline.copy()
    exporters = baseline["exporter"].to_numpy().astype(str)
    importers = baseline["importer"].to_numpy().astype(str)
    changes = []
    for k, change in enumerate(config.counterfactual.set):
        selected = change.mask(exporters, importers)
        if not selected.any():
            raise ScenarioError(
                f"{config_path}: field 'counterfactual.set[{k}]': {change.describe()} selects no pair of the data "
                f"(domestic pairs count only with include_domestic = true); the change would be a zero shock. "
                f"Fix: name at least two countries in 'between', or use another selector"
            )
        counterfactual[change.column] = counterfactual[change.column].astype(float)
        counterfactual.loc[selected, change.column] = change.value
        changed = int((counterfactual[change.column] != baseline[change.column]).to_numpy()[selected].sum())
        changes.append(f"{change.describe()} ({int(selected.sum())} pairs selected, {changed} changed)")
    return counterfactual, changes


def run_config(
    config: OneSectorScenario | GEConfig, config_path: Path
) -> tuple[Any, dict[str, pd.DataFrame], dict[str, Any]]:
    """Validate data against a one-sector scenario, estimate, solve; returns (GE result, tables, run.json meta).

    Parameters
    ----------
    config
        A one-sector scenario, or an old ``blocsim ge`` file's :class:`GEConfig` (translated first).
    config_path
        The file it was read from: relative data paths start there; run.json records its hash.
    """
    if isinstance(config, GEConfig):
        config = config_to_scenario(config, config_path)
    from blocsim.data import GravityData, file_hash, frame_hash
    from blocsim.equilibrium import solve_ge
    from blocsim.estimation import estimate_gravity

    data = config.data
    raw, source, dataset = _load_table(config, config_path)
    extra_columns = [c for c in (data.output, data.expenditure) if c is not None]
    cost = list(config.estimation.cost_variables)
    gravity = GravityData.from_frame(
        raw, exporter=data.exporter, importer=data.importer, flow=data.flow, year=data.year_column,
        covariates=list(dict.fromkeys([*cost, *extra_columns])), extra="drop", source=source,
    )
    frame = gravity.frame
    _check_names(config, config_path, gravity.countries, set(cost))
    year = data.year
    if gravity.years:
        if year is None and len(gravity.years) > 1:
            raise ScenarioError(
                f"{config_path}: field 'data.year' is required: the data has years {list(gravity.years)}; "
                f"fix: set data.year to the baseline year of the GE"
            )
        year = gravity.years[0] if year is None else year
        if year not in gravity.years:
            raise ScenarioError(
                f"{config_path}: field 'data.year': got {year}; allowed: {list(gravity.years)}"
            )
    baseline = frame[frame["year"] == year].reset_index(drop=True) if gravity.years else frame
    counterfactual, changes = _counterfactual(config, config_path, baseline)  # checked before the estimation

    estimation = config.estimation
    if estimation.coefficients is not None:
        coefficients = {name: float(estimation.coefficients[name]) for name in cost}
        estimation_meta: dict[str, Any] = {"source": "config (estimation.coefficients)", "coefficients": coefficients}
    else:
        cross_section = estimation.fixed_effects == "exporter-importer"
        fit = estimate_gravity(
            baseline if cross_section else frame,
            covariates=cost,
            year=None if cross_section or not gravity.years else "year",
            fixed_effects=estimation.fixed_effects,
            pair=estimation.pair,
            domestic_pair=estimation.domestic_pair,
            domestic=estimation.domestic,
            cluster=estimation.cluster,
            years=None if cross_section else estimation.years,
        )
        coefficients = fit.cost_coefficients(cost)
        estimation_meta = {
            "source": "blocsim.estimate_gravity (PPML)",
            "formula": fit.formula,
            "fixed_effects": fit.fixed_effects,
            "vcov_type": fit.vcov_type,
            "n_obs": fit.n_obs,
            "converged": fit.converged,
            "coefficients": coefficients,
            "std_errors": {name: float(fit.std_errors[name]) for name in cost},
        }

    ge = config.model.ge_section()
    result = solve_ge(
        baseline,
        sigma=ge.sigma,
        cost_coefficients=coefficients,
        counterfactual=counterfactual,
        baseline_method=ge.baseline_method,
        closure=ge.closure,
        reference_importer=ge.reference_importer,
        compat=ge.compat,
        output=data.output,
        expenditure=data.expenditure,
    )
    described = config.scenario.model_dump()
    focus = list(described.pop("focus_countries", None) or []) or list(
        dict.fromkeys(code for change in config.counterfactual.set for code in change.countries()))
    from blocsim.data.run_record import run_diagnostics

    meta = {
        "scenario": described,
        "policy_changes": changes,
        "model": {"name": "onesector", "parameters": ge.model_dump()},
        "dataset": {**dataset, "year": year, "countries": len(gravity.countries), "hash": frame_hash(baseline)},
        "estimation": estimation_meta,
        "diagnostics": run_diagnostics(result.diagnostics).model_dump(),
        "focus_countries": focus,
        "config": {"path": str(config_path), "sha256": _source_hash(config, config_path), "content": config.model_dump()},
    }
    return result, {"countries": result.countries, "flows": result.flows}, meta
