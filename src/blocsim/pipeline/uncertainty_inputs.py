"""Inputs of :func:`blocsim.pipeline.uncertainty.monte_carlo`: validation and the packed problem.

Every argument of ``monte_carlo`` is either used by the chosen model or rejected: the
one-sector model (``model="ge"``) takes ``sigma``, ``baseline_method``,
``reference_importer``, ``method`` and the :func:`blocsim.solve_ge` keywords
:data:`ONE_SECTOR_KEYWORDS`; the multi-sector model takes ``theta``, ``tariffs``,
``cost_table`` and the :func:`blocsim.solve_multisector` keywords
:data:`MULTISECTOR_KEYWORDS`. A keyword of the other model, or one that neither solver
knows, raises :class:`~blocsim.errors.DataValidationError` naming it, so that nothing the
caller asked for is silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

import numpy as np
import pandas as pd

from blocsim.equilibrium.baseline import check_flows, pair_codes
from blocsim.equilibrium.options import Compat, SolverOptions, check_choice
from blocsim.errors import DataValidationError
from blocsim.pipeline.uncertainty_draws import Parameter, parameter

ONE_SECTOR_VARIABLES = ("real_gdp_pct", "welfare_pct", "exports_pct", "imports_pct", "factory_price_pct")
MULTISECTOR_VARIABLES = ("welfare_pct", "real_wage_pct", "exports_pct", "imports_pct", "tariff_revenue_change")
ONE_SECTOR_KEYS = frozenset({
    "exports_pct", "imports_pct", "real_gdp_pct", "welfare_pct", "factory_price_pct", "omr_pct", "imr_pct",
    "exports_cond_pct", "imports_cond_pct", "omr_cond_pct", "imr_cond_pct", "output_pct", "expenditure_pct",
    "intranational_pct",
})

ONE_SECTOR_KEYWORDS = ("compat", "output", "expenditure")
"""Keywords of :func:`blocsim.solve_ge` that ``monte_carlo(model="ge", **model_kwargs)`` passes on."""
MULTISECTOR_KEYWORDS = ("io", "duty_pool", "duty_pool_after", "productivity", "bloc", "partner_groups", "sector",
                        "numeraire", "remittances", "entry_costs", "migration_elasticity", "income_transfers",
                        "collection_efficiency", "deficit_targets", "world_prices")
"""Keywords of :func:`blocsim.solve_multisector` that ``monte_carlo(model="multisector", **model_kwargs)`` passes on."""
MODEL_ONLY = {
    "ge": ("sigma", "baseline_method", "reference_importer", "method"),
    "multisector": ("theta", "tariffs", "cost_table"),
}
"""``monte_carlo`` arguments that only one model uses."""


@dataclass(frozen=True)
class MonteCarloProblem:
    """Everything a chunk task needs (picklable; sent to Dask workers once).

    Arrays: ``flows`` (N, N) observed one-sector flows (USD millions), ``z_base`` (K, N, N)
    baseline cost covariates (set iff the baseline is estimated), ``z_delta`` (K, N, N)
    counterfactual minus baseline covariates, ``shock`` (N, N) fixed factor on
    :math:`t^{1-\\sigma}`, ``output``/``expenditure`` (N,) ``Y`` and ``E`` of the estimated
    baseline (USD millions).
    """

    model: str
    countries: tuple[str, ...]
    variables: tuple[str, ...]
    seed: int
    elasticities: tuple[Parameter, ...]  # sigma, or theta per sector (sorted)
    coef_names: tuple[str, ...]
    coef_mean: np.ndarray  # (K,)
    coef_root: np.ndarray | None  # (K, K) or None (coefficients fixed)
    flows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    z_base: np.ndarray | None = None
    z_delta: np.ndarray | None = None
    shock: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    output: np.ndarray = field(default_factory=lambda: np.zeros(0))
    expenditure: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reference: int | None = None
    baseline_method: str = "estimated"
    closure: str = "ratio"
    compat: str | None = None
    options: SolverOptions | None = None
    sectors: tuple[str, ...] = ()  # multi-sector: order of the theta parameters
    frames: dict[str, Any] = field(default_factory=dict)  # DataFrames for the per-draw solves
    kwargs: dict[str, Any] = field(default_factory=dict)  # keywords of the model's single-run solve


def reject_unused(model: str, given: Mapping[str, Any], model_kwargs: Mapping[str, Any]) -> None:
    """Raise if an argument of the other model was given, or a keyword neither solver takes.

    Parameters
    ----------
    model : {"ge", "multisector"}
        The chosen model.
    given : mapping
        ``monte_carlo``'s model-specific arguments by name (``None`` = not given).
    model_kwargs : mapping
        The extra keywords for the model's solver.
    """
    other = "multisector" if model == "ge" else "ge"
    for name in MODEL_ONLY[other]:
        if given.get(name) is not None:
            raise DataValidationError(
                f"argument {name!r}: not used by model={model!r} (it belongs to model={other!r}); allowed for "
                f"{model!r}: {', '.join(MODEL_ONLY[model])}. Fix: drop {name}= or use model={other!r}."
            )
    solver, keywords = (("blocsim.solve_ge", ONE_SECTOR_KEYWORDS) if model == "ge"
                        else ("blocsim.solve_multisector", MULTISECTOR_KEYWORDS))
    unknown = sorted(k for k in model_kwargs if k not in keywords)
    if unknown:
        raise DataValidationError(
            f"argument(s) {unknown}: unknown for model={model!r}; allowed extra keywords (passed to {solver}): "
            f"{', '.join(keywords)}. Fix: correct the name or drop it."
        )


def percentile_array(percentiles: Sequence[float]) -> np.ndarray:
    """Distinct finite percentiles in [0, 100] as a float array, or a clear error."""
    try:
        pct = np.asarray(percentiles, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        pct = np.array([np.nan])
    if pct.size == 0 or not np.all(np.isfinite(pct)) or np.any((pct < 0) | (pct > 100)) \
            or len(np.unique(pct)) != pct.size:
        raise DataValidationError(f"argument 'percentiles': got {percentiles!r}; allowed: distinct numbers in "
                                  "[0, 100], e.g. (5, 50, 95).")
    return pct


def chosen_variables(variables: Sequence[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """The variables to band: ``default`` when None, else a non-empty sequence of distinct names."""
    if variables is None:
        return default
    if isinstance(variables, str) or not len(variables) or len(set(variables)) != len(variables):
        raise DataValidationError(f"argument 'variables': got {variables!r}; allowed: a non-empty list of distinct "
                                  f"country columns, e.g. {list(default)}.")
    return tuple(str(v) for v in variables)


def pair_array(
    frame: pd.DataFrame, column: str, countries: Sequence[str], *, exporter: str, importer: str, argument: str,
    fill: float | None = None,
) -> np.ndarray:
    """Pivot ``column`` of a pair table to an (N, N) array (rows exporters); missing pairs -> ``fill``."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"argument {argument!r}: got {type(frame).__name__}; allowed: a DataFrame.")
    missing = [c for c in (exporter, importer, column) if c not in frame.columns]
    if missing:
        raise DataValidationError(f"argument {argument!r}: missing columns {missing}; available: "
                                  f"{list(frame.columns)}. Fix: add them or pass exporter=/importer=.")
    pos = pd.Series(np.arange(len(countries)), index=list(countries))
    i = frame[exporter].astype(str).map(pos)
    j = frame[importer].astype(str).map(pos)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = i.isna() | j.isna() | ~np.isfinite(values) | frame[[exporter, importer]].duplicated(keep=False).to_numpy()
    if bad.any():
        rows = frame.loc[bad, [exporter, importer, column]].head(3).to_dict("records")
        raise DataValidationError(f"argument {argument!r}, column {column!r}: unknown country, duplicate pair or "
                                  f"non-finite value in rows {rows}. Fix: one finite value per known pair.")
    out = np.full((len(countries),) * 2, np.nan if fill is None else fill)
    out[i.to_numpy(dtype=int), j.to_numpy(dtype=int)] = values
    if np.isnan(out).any():
        raise DataValidationError(f"argument {argument!r}, column {column!r}: {int(np.isnan(out).sum())} pairs "
                                  "missing. Fix: give every (exporter, importer) pair, domestic ones included.")
    return out


def cost_arrays(
    frame: pd.DataFrame, names: Sequence[str], countries: Sequence[str], exporter: str, importer: str, argument: str
) -> np.ndarray:
    """Cost covariates as a (K, N, N) array."""
    if not names:
        return np.zeros((0, len(countries), len(countries)))
    return np.stack([pair_array(frame, n, countries, exporter=exporter, importer=importer, argument=argument)
                     for n in names])


def _country_totals(
    baseline_df: pd.DataFrame, flows: np.ndarray, countries: tuple[str, ...], kwargs: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """``Y`` and ``E`` (N,) of the estimated baseline: the ``output``/``expenditure`` columns, else flow sums."""
    from blocsim.equilibrium.onesector import _country_output  # the very check solve_ge applies

    codes = None
    totals = []
    for name, axis in (("output", 1), ("expenditure", 0)):
        column = kwargs.get(name)
        if column is None:
            totals.append(flows.sum(axis=axis))
            continue
        if codes is None:
            codes = pair_codes(baseline_df, countries, exporter=kwargs["exporter"], importer=kwargs["importer"],
                               argument="baseline_df")
        totals.append(_country_output(baseline_df, column, codes, countries, axis, name))
    return totals[0], totals[1]


def onesector_problem(
    baseline_df: pd.DataFrame, common: dict[str, Any], *, sigma: Any, variables: Sequence[str] | None,
    shock: pd.DataFrame | None, counterfactual: pd.DataFrame | None, baseline_method: str,
    reference_importer: str | None, kwargs: dict[str, Any],
) -> MonteCarloProblem:
    """Validate the one-sector inputs and pack them for the chunk tasks.

    ``kwargs`` holds the column names (``exporter``, ``importer``, ``flow``) and the
    :data:`ONE_SECTOR_KEYWORDS` given; all of them reach :func:`blocsim.solve_ge` (loop
    path and point estimate) and the batched array core alike.
    """
    countries, names = common["countries"], common["coef_names"]
    exporter, importer = kwargs["exporter"], kwargs["importer"]
    if sigma is None:
        raise DataValidationError("argument 'sigma': required for model='ge'. Fix: e.g. sigma=('normal', 7, 0.5).")
    chosen = chosen_variables(variables, ONE_SECTOR_VARIABLES)
    unknown = [v for v in chosen if v not in ONE_SECTOR_KEYS]
    if unknown:
        raise DataValidationError(f"argument 'variables': {unknown} unknown; allowed: {sorted(ONE_SECTOR_KEYS)}.")
    flows = pair_array(baseline_df, kwargs["flow"], countries, exporter=exporter, importer=importer,
                       argument="baseline_df")
    check_flows(flows, countries, "baseline_df")
    if baseline_method not in ("estimated", "observed"):
        raise DataValidationError(f"argument 'baseline_method': got {baseline_method!r}; allowed: 'estimated', "
                                  "'observed'.")
    if baseline_method == "estimated" and not names:
        raise DataValidationError("baseline_method='estimated' needs 'cost_coefficients'. Fix: pass them or "
                                  "baseline_method='observed'.")
    if reference_importer is not None and reference_importer not in countries:
        raise DataValidationError(f"argument 'reference_importer': got {reference_importer!r}; allowed: one of the "
                                  "baseline's countries.")
    if kwargs.get("compat") is not None:
        check_choice(kwargs["compat"], get_args(Compat), "compat", "Use None for the converged textbook fixed point.")
        closure = common["closure"]
        if closure != "ratio":
            raise DataValidationError(f"argument 'closure': got {closure!r} with compat={kwargs['compat']!r}; allowed: "
                                      "'ratio' (both published implementations hold E/Y fixed).")
    if baseline_method == "observed" and (kwargs.get("output") or kwargs.get("expenditure")):
        raise DataValidationError("arguments 'output'/'expenditure': not used with baseline_method='observed' (the "
                                  "observed baseline takes them from the flows). Fix: drop them or use 'estimated'.")
    shock_matrix = np.ones((len(countries),) * 2)
    if shock is not None:  # the column names solve_ge reads: the caller's if present, else the standard ones
        columns = getattr(shock, "columns", ())
        shock_matrix = pair_array(shock, "factor", countries, fill=1.0, argument="shock",
                                  exporter=exporter if exporter in columns else "exporter",
                                  importer=importer if importer in columns else "importer")
    estimated = baseline_method == "estimated"
    output, expenditure = (_country_totals(baseline_df, flows, countries, kwargs) if estimated
                           else (flows.sum(axis=1), flows.sum(axis=0)))
    return MonteCarloProblem(
        model="ge", variables=chosen, elasticities=(parameter(sigma, "sigma", 1.0),), flows=flows,
        z_base=cost_arrays(baseline_df, names, countries, exporter, importer, "baseline_df") if estimated else None,
        shock=shock_matrix, output=output, expenditure=expenditure,
        reference=None if reference_importer is None else countries.index(reference_importer),
        baseline_method=baseline_method, compat=kwargs.get("compat"),
        frames={"baseline": baseline_df, "counterfactual": counterfactual, "shock": shock}, kwargs=kwargs, **common,
    )


def multisector_problem(
    baseline_df: pd.DataFrame, common: dict[str, Any], *, theta: Any, variables: Sequence[str] | None,
    shock: pd.DataFrame | None, tariffs: pd.DataFrame | None, kwargs: dict[str, Any],
) -> MonteCarloProblem:
    """Validate the multi-sector inputs and pack them for the chunk tasks."""
    if theta is None:
        raise DataValidationError("argument 'theta': required for model='multisector'. Fix: e.g. theta=4.0.")
    sector_col = kwargs.get("sector", "sector")
    if sector_col not in baseline_df.columns:
        raise DataValidationError(f"argument 'baseline_df': no {sector_col!r} column; allowed: a multi-sector table "
                                  "exporter, importer, sector, trade. Fix: pass sector=<column name>.")
    sectors = sorted(baseline_df[sector_col].astype(str).unique())
    per = theta if isinstance(theta, Mapping) else {s: theta for s in sectors}
    missing = [s for s in sectors if s not in per]
    if missing:
        raise DataValidationError(f"argument 'theta': no value for sectors {missing}. Fix: add them.")
    extra = sorted(str(s) for s in per if s not in sectors)
    if extra:
        raise DataValidationError(f"argument 'theta': sectors {extra} are not in baseline_df; allowed: {sectors}. "
                                  "Fix: drop them or correct the names.")
    return MonteCarloProblem(
        model="multisector", variables=chosen_variables(variables, MULTISECTOR_VARIABLES),
        elasticities=tuple(parameter(per[s], f"theta[{s}]", 0.0) for s in sectors), sectors=tuple(sectors),
        frames={"baseline": baseline_df, "shock": shock, "tariffs": tariffs}, kwargs=kwargs, **common,
    )
