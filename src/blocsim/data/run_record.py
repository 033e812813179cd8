"""The run record on disk: ``run.json``, the file that makes a folder a blocsim run, typed.

:class:`RunRecord` describes every field of ``run.json`` (see ``docs/run-record.md`` and the
exported JSON schema ``docs/run-record.schema.json``). It is written by one function,
:func:`blocsim.results.write_run`, and read by :func:`read_run_record`, which validates it:
an unknown key or a value of the wrong type is an error naming the file and the field. The
store (:mod:`blocsim.data.store`) catalogues a run by its record; :mod:`blocsim.results.rundir`
writes and reads whole run directories (tables and record) on top of this module.

Records written by the release before the typed record carry no ``schema_version``; they
are read through :func:`upgrade_run_record` (with a :class:`RunRecordUpgraded` warning),
never silently.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from blocsim.errors import BlocsimError

#: File name of the run record inside a run directory.
RUN_RECORD = "run.json"

#: Version of the record layout this blocsim writes (records without one are version 1).
SCHEMA_VERSION = 2

#: Names of the models a run can record (the scenario's ``[model] name``).
ModelName = Literal["multisector", "onesector", "pe"]

#: Where an assumption's value comes from: the dataset, a published estimate, blocsim's own
#: estimate, the scenario file, or a modelling choice without an estimate behind it.
AssumptionFlag = Literal["data", "literature", "estimated", "scenario", "assumed"]


class _Strict(BaseModel):
    """Unknown keys are errors, so that a misspelt field cannot slip into a record."""

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class SourceLink(_Strict):
    """A cited source with a link."""

    title: str
    url: str = ""


class ScenarioInfo(_Strict):
    """What the run is (``[scenario]`` of the scenario file or ``blocsim ge`` config)."""

    name: str
    title: str = ""
    event: str = ""
    description: str = ""
    sources: list[str | SourceLink] = []
    file: str | None = Field(default=None, description="The scenario file (or library entry) the run was read from.")


class ModelInfo(_Strict):
    """The model and its parameters (theta by sector, sigma, closure, ...)."""

    name: ModelName
    parameters: dict[str, JsonValue] = {}
    deficits: Literal["observed", "purged"] | None = Field(
        default=None, description="Multi-sector scenario runs: the baseline's trade deficits, 'observed' (the "
        "data's, held by the closure) or 'purged' (solved from the balanced-trade baseline of "
        "blocsim.purge_deficits); absent in records written before the choice existed.")


class ImportsFile(_Strict):
    """The tariff-line import file a PE run read (``[data] imports``), or none (the dataset's flows)."""

    file: str | None = Field(description="The file named in the scenario, or null when the dataset's flows were used.")
    sha256: str | None = Field(default=None, description="SHA-256 of the file's bytes.")


class DatasetInfo(_Strict):
    """The baseline data: name, year, SHA-256 of the baseline flows, version if known."""

    name: str
    year: int | None = None
    hash: str = Field(description="SHA-256 of the baseline flow table (blocsim.data.frame_hash).")
    version: str | None = Field(default=None, description="Versioned tables the name loaded (e.g. eaeu-2022v2 for "
                                "eaeu), if known.")
    recipe_version: str | None = Field(default=None, description="Version of the recipe that built the tables, if "
                                       "known (empty when unknown).")
    sectors: list[str] | None = Field(default=None, description="Sectors of the baseline flows, in the dataset's order.")
    file_hash: str | None = Field(default=None, description="SHA-256 of the data file read, if one was read.")
    path: str | None = Field(default=None, description="The data file read (a user's file), if any.")
    countries: int | None = Field(default=None, ge=0, description="Number of countries in the baseline.")
    imports: ImportsFile | None = Field(default=None, description="PE runs: the tariff-line import file read.")


class DiagnosticPart(_Strict):
    """Convergence of one part of a model solve (e.g. ``full``, ``conditional``)."""

    name: str
    converged: bool
    iterations: int = Field(ge=0)
    residual: float
    method: str


class Diagnostics(_Strict):
    """Solver diagnostics: the same keys for every model (``blocsim.equilibrium.diagnostics``).

    Model-specific numbers (e.g. ``closure``, ``numeraire``, ``seconds``, ``solves``) go to
    ``extra``.
    """

    converged: bool = Field(description="The equilibrium holds: every part met its tolerance, every number finite.")
    iterations: int = Field(ge=0, description="Iterations of all parts together.")
    residual: float = Field(description="Equilibrium residual recomputed after the solve (dimensionless; "
                                        "Infinity when a result is not finite).")
    max_residual: float = Field(description="The same number as residual, under its older name.")
    method: str = Field(description="The algorithm.")
    parts: list[DiagnosticPart] = []
    failed: list[str] = Field(default=[], description="Parts that did not converge and non-finite result columns.")
    message: str = ""
    extra: dict[str, JsonValue] = Field(default={}, description="Model-specific diagnostics.")


#: The keys every model's diagnostics share (the rest of a solver's diagnostics go to ``extra``).
COMMON_DIAGNOSTICS = tuple(name for name in Diagnostics.model_fields if name != "extra")


def run_diagnostics(solver_diagnostics: Mapping[str, Any]) -> Diagnostics:
    """The record's diagnostics from a solver's ``diagnostics`` dict: common keys, the rest in ``extra``.

    Raises
    ------
    BlocsimError
        A common key is missing or of the wrong type.
    """
    values = {key: solver_diagnostics[key] for key in COMMON_DIAGNOSTICS if key in solver_diagnostics}
    if "residual" in values and "max_residual" not in values:
        values["max_residual"] = values["residual"]
    extra = {key: value for key, value in solver_diagnostics.items() if key not in COMMON_DIAGNOSTICS}
    try:
        return Diagnostics.model_validate({**values, "extra": json.loads(json.dumps(extra, default=_plain))})
    except ValidationError as error:
        raise BlocsimError(f"solver diagnostics: {run_record_problem(error, 'diagnostics')}") from None
    except TypeError as error:  # a value json cannot hold (from _plain)
        raise BlocsimError(f"solver diagnostics: {error}; allowed: numbers, strings, lists and mappings") from None


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as plain numbers and lists (``json.dumps`` default)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot record {type(value).__name__} in run.json diagnostics")


class Assumption(_Strict):
    """One assumed input of the run, as the report shows it."""

    name: str = Field(description="What is assumed, e.g. 'theta[manufacturing]' or 'border_cost[EAEU]'.")
    value: float | int | str | bool
    unit: str = Field(default="", description="Unit of the value ('' when dimensionless or a label).")
    source: str = Field(default="", description="Where the value comes from (table, file, publication).")
    flag: AssumptionFlag


class VariedInput(_Strict):
    """One input the draws vary: its name, kind, point value and distribution."""

    input: str = Field(description="Name of the input, e.g. 'theta[agri_food]' or 'border_cost[EAEU]'.")
    kind: str = Field(description="What kind of input: elasticity, an AVE of a measure kind, or a scenario parameter.")
    point: float = Field(description="The value of the point run (units of the input).")
    distribution: str = Field(description="The distribution the draws come from, in words.")


class SensitivityRecord(_Strict):
    """How the sensitivity (tornado) table of ``sensitivity.csv`` was computed."""

    method: str
    variables: list[str]


class Uncertainty(_Strict):
    """Monte Carlo bands of the run (``bands.csv``) and the sensitivity table (``sensitivity.csv``)."""

    draws: int = Field(ge=1)
    seed: int = Field(ge=0)
    varied: str | list[str] | list[VariedInput] = Field(description="What the draws vary (and how).")
    not_in_model: dict[str, str] | None = Field(
        default=None, description="Uncertain inputs the model does not have yet, with the reason.")
    sensitivity: SensitivityRecord | None = None


class RuleViolationRecord(_Strict):
    """A rule of the union the counterfactual breaks (allowed by the scenario)."""

    bloc: str
    rule: str
    message: str


class BlocSummary(_Strict):
    """A bloc on the date of a policy state."""

    members: list[str]
    cet_in_force: bool
    internal_checks: bool
    duty_pool_percent: dict[str, float] | None = None


class PolicyStateSummary(_Strict):
    """A policy state: its date, blocs and measures (one line each)."""

    date: str
    blocs: dict[str, BlocSummary] = {}
    measures: list[str] = []


class PolicySummary(_Strict):
    """The two policy states of a scenario run and the tariff schedule years used."""

    before: PolicyStateSummary
    after: PolicyStateSummary
    tariff_year: int | None = None
    cet_year: int | None = None


class Estimation(_Strict):
    """Where the one-sector run's trade-cost coefficients come from (PPML or the config)."""

    source: str
    coefficients: dict[str, float]
    formula: str | None = None
    fixed_effects: str | None = None
    vcov_type: str | None = None
    n_obs: int | None = Field(default=None, ge=0)
    converged: bool | None = None
    std_errors: dict[str, float] | None = None


class ConfigInfo(_Strict):
    """The ``blocsim ge`` config file of the run: path, SHA-256, validated content."""

    path: str
    sha256: str
    content: dict[str, JsonValue]


class RunRecord(_Strict):
    """``run.json``: what a run is, what it assumed, how the solve went, who wrote it.

    Written by :func:`blocsim.results.write_run` as ``record.model_dump_json(indent=1)``;
    read and validated by :func:`read_run_record`. Field by field: ``docs/run-record.md``.
    """

    schema_version: Literal[2] = Field(description="Version of the record layout (records without one are "
                                                   "version 1 and are upgraded on read).")
    package: Literal["blocsim"]
    version: str = Field(description="blocsim version that wrote the run.")
    created_utc: str = Field(description="When the run was written (ISO 8601, UTC).")
    scenario: ScenarioInfo
    policy_changes: list[str] = []
    shock_notes: list[str] = Field(default=[], description="What each measure did to the model's inputs.")
    rule_violations: list[RuleViolationRecord] = []
    policy: PolicySummary | None = None
    model: ModelInfo
    dataset: DatasetInfo
    diagnostics: Diagnostics
    assumptions: list[Assumption] = []
    uncertainty: Uncertainty | None = None
    channels: dict[str, JsonValue] | None = Field(default=None, description="Spill-over by channel "
                                                  "(blocsim.pipeline.channels): order, columns, method, spillover_pct.")
    focus_countries: list[str] = []
    estimation: Estimation | None = None
    config: ConfigInfo | None = None
    files: list[str] = Field(description="Every file the run directory holds (run.json included).")

    def as_dict(self) -> dict[str, Any]:
        """The record as plain Python values (the optional blocks it lacks left out)."""
        return self.model_dump(exclude_none=True)


def validate_run_record(raw: Mapping[str, Any], *, source: str) -> RunRecord:
    """``raw`` validated into a :class:`RunRecord`; a record without ``schema_version`` is upgraded first.

    Parameters
    ----------
    raw
        The record as plain values (e.g. ``json.loads`` of ``run.json``).
    source
        What ``raw`` is, for messages (the file path).

    Raises
    ------
    BlocsimError
        An unknown key, a missing field or a value of the wrong type, naming ``source``, the
        field, the value and what is allowed.
    """
    data = dict(raw)
    if "schema_version" not in data:
        data = upgrade_run_record(data)
        warnings.warn(f"{source}: written by an earlier blocsim (no schema_version); read through "
                      f"blocsim.data.run_record.upgrade_run_record as schema_version {SCHEMA_VERSION}",
                      RunRecordUpgraded, stacklevel=2)
    try:
        return RunRecord.model_validate(data)
    except ValidationError as error:
        raise BlocsimError(f"{source}: {run_record_problem(error)}") from None


class RunRecordUpgraded(UserWarning):
    """A ``run.json`` of an earlier release was read through :func:`upgrade_run_record`."""


#: Model names of the previous release's records and the model they name.
_OLD_MODEL_NAMES = {"blocsim.solve_ge (one-sector structural gravity)": "onesector"}


def upgrade_run_record(old: Mapping[str, Any]) -> dict[str, Any]:
    """A record of the release before ``schema_version`` (version 1) in the current layout.

    Version 1 differs in three ways: no ``schema_version``; the model-specific diagnostics
    sit beside the common keys (they move to ``diagnostics.extra``; a record with only
    ``max_residual`` gets it as ``residual`` too); the one-sector model was named
    ``"blocsim.solve_ge (one-sector structural gravity)"`` (now ``"onesector"``). Every
    other key is kept as it is, so an unknown key still fails validation.
    """
    new = {"schema_version": SCHEMA_VERSION, **old}
    model = new.get("model")
    if isinstance(model, dict) and model.get("name") in _OLD_MODEL_NAMES:
        new["model"] = {**model, "name": _OLD_MODEL_NAMES[model["name"]]}
    diagnostics = new.get("diagnostics")
    if isinstance(diagnostics, dict):
        common = {key: diagnostics[key] for key in COMMON_DIAGNOSTICS if key in diagnostics}
        for name, other in (("residual", "max_residual"), ("max_residual", "residual")):
            if name not in common and other in common:
                common[name] = common[other]
        extra = {key: value for key, value in diagnostics.items() if key not in COMMON_DIAGNOSTICS}
        new["diagnostics"] = {**common, "extra": extra}
    return new


def run_record_problem(error: ValidationError, prefix: str = "") -> str:
    """The first validation problem: field (dotted), value, what is wrong, how to fix it."""
    problem = error.errors()[0]
    field = ".".join(str(part) for part in ((prefix,) if prefix else ()) + tuple(problem["loc"]))
    if problem["type"] == "extra_forbidden":
        return (f"unknown field '{field}' (value {_shown(problem['input'])}); allowed here: "
                f"{', '.join(_allowed(problem['loc']))}. Fix: correct the spelling or remove it "
                "(schema: docs/run-record.md)")
    if problem["type"] == "missing":
        return f"field '{field}' is required (schema: docs/run-record.md); re-run the scenario to rewrite the record"
    return (f"field '{field}': got {_shown(problem['input'])}; {problem['msg']} "
            "(schema: docs/run-record.md); re-run the scenario to rewrite the record")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _allowed(loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed beside the unknown key at ``loc``."""
    model: Any = RunRecord
    for part in loc[:-1]:
        if model is None or part not in model.model_fields:
            continue  # a list index or a dict key
        annotation = model.model_fields[part].annotation
        model = next((t for t in _types(annotation) if isinstance(t, type) and issubclass(t, BaseModel)), None)
    return list(model.model_fields) if model is not None else []


def _types(annotation: Any) -> list[Any]:
    """``annotation`` and the types inside it (``X | None``, ``list[X]``, ``dict[str, X]``)."""
    found = [annotation]
    for inner in getattr(annotation, "__args__", ()):
        found.extend(_types(inner))
    return found


def read_run_record(run_dir: str | os.PathLike[str]) -> RunRecord:
    """The validated run record (``run.json``) of a run directory, as written by :func:`blocsim.results.write_run`.

    A record without ``schema_version`` (the previous release) is upgraded with
    :func:`upgrade_run_record` and a :class:`RunRecordUpgraded` warning.

    Raises
    ------
    BlocsimError
        ``run_dir`` holds no ``run.json`` (not a run directory); it is not a UTF-8 JSON
        object; or it is not a valid record (unknown key, missing field, wrong type),
        naming the file and the field.
    """
    path = Path(run_dir)
    meta_path = path / RUN_RECORD
    if not meta_path.is_file():
        raise BlocsimError(f"{path}: not a blocsim run directory (no run.json); run a scenario with --out {path} first")
    raw = meta_path.read_bytes()
    try:
        meta = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise BlocsimError(f"{meta_path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at line {line}, offset "
                           f"{error.start}); re-run the scenario to rewrite it") from None
    except json.JSONDecodeError as error:
        raise BlocsimError(f"{meta_path}: cannot be read as JSON ({error}); re-run the scenario to rewrite it") from None
    if not isinstance(meta, dict):
        raise BlocsimError(f"{meta_path}: must hold a JSON object (got {type(meta).__name__}); re-run the scenario")
    return validate_run_record(meta, source=str(meta_path))
