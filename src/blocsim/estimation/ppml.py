"""PPML estimation of structural gravity with high-dimensional fixed effects (pyfixest ``fepois``).

The estimating equation (Yotov et al. 2016, ch. 1, eq. 1.7 and 1.10):

.. math::

    X_{ij,t} = \\exp\\big(\\pi_{i,t} + \\chi_{j,t} + \\mu_{ij} + b' z_{ij,t}\\big)\\,\\varepsilon_{ij,t}

with exporter(-year) effects :math:`\\pi`, importer(-year) effects :math:`\\chi`, optional pair
effects :math:`\\mu` and cost covariates :math:`z`. Estimated by Poisson pseudo-maximum
likelihood (Santos Silva and Tenreyro 2006); pyfixest absorbs the fixed effects and drops
separated observations (zero flows perfectly predicted by the fixed effects or by the
covariates), like Stata's ``ppmlhdfe``. A covariate that separates has no finite estimate and
is reported as a failure, never as a number. Degenerate samples are rejected before pyfixest
sees them (``_checks``); pyfixest's warnings are recorded on the result (``_fit``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from blocsim.data import schema
from blocsim.data.gravity import GravityData
from blocsim.errors import ConvergenceError, DataValidationError
from blocsim.estimation._checks import check_magnitudes, check_sample
from blocsim.estimation._fit import FitOutcome, SeparationMethod, diverging_covariates, run_fepois
from blocsim.estimation.results import GravityResults

FixedEffects = Literal[
    "exporter-importer",
    "exporter_year-importer_year",
    "exporter_year-importer_year+pair",
]
PairKind = Literal["directed", "symmetric"]
DomesticPair = Literal["separate", "shared"]
Domestic = Literal["keep", "drop"]
Missing = Literal["error", "drop"]

_SEP = "|"
_SOURCE = "estimate_gravity(df=...)"


def estimate_gravity(
    df: pd.DataFrame | GravityData,
    *,
    covariates: Sequence[str],
    flow: str = schema.FLOW,
    exporter: str = schema.EXPORTER,
    importer: str = schema.IMPORTER,
    year: str | None = None,
    fixed_effects: FixedEffects = "exporter-importer",
    pair: PairKind = "directed",
    domestic_pair: DomesticPair = "separate",
    cluster: str | None = None,
    years: Sequence[int] | None = None,
    domestic: Domestic = "keep",
    offset: str | None = None,
    missing: Missing = "error",
    tol: float = 1e-8,
    maxiter: int = 50,
    fixef_tol: float = 1e-10,
    separation_check: Sequence[SeparationMethod] = ("fe", "ir"),
    raise_on_failure: bool = True,
) -> GravityResults:
    """Estimate a gravity equation by PPML with exporter, importer and pair fixed effects.

    Parameters
    ----------
    df
        Long table, one row per (exporter, importer[, year]); or a :class:`GravityData`
        (then the column arguments default to its standard names).
    covariates
        Cost covariates z (numeric columns, e.g. ``["ln_DIST", "CNTG", "INTL_BRDR"]``).
        Transform them before the call (e.g. ``np.log(distance)``).
    flow
        Flow column (USD millions, >= 0; zeros are kept, as PPML allows).
    exporter, importer
        Country code columns.
    year
        Year column; required by the ``*_year`` fixed effects and by ``years``.
    fixed_effects
        ``"exporter-importer"`` (cross-section), ``"exporter_year-importer_year"`` (panel) or
        ``"exporter_year-importer_year+pair"`` (panel with pair effects, Baier and Bergstrand
        2007; identifies time-varying policy from within-pair changes).
    pair
        Pair effects per ``"directed"`` (exporter, importer) pair (Stata ``ppml_panel_sg``) or
        per ``"symmetric"`` unordered pair (both directions share one effect, as the guide's
        ``pair_id``).
    domestic_pair
        ``"separate"``: each domestic pair (i, i) has its own pair effect; ``"shared"``: all
        domestic pairs share one (Yotov et al. 2016, ch. 2 application 2).
    cluster
        Column to cluster standard errors on (e.g. ``"pair_id"``); the string ``"pair"``
        clusters on directed (exporter, importer) pairs when no such column exists. ``None``
        gives heteroskedasticity-robust standard errors.
    years
        Keep only these years (requires ``year``).
    domestic
        ``"keep"`` domestic flows (exporter == importer) or ``"drop"`` them.
    offset
        Column with a log offset whose coefficient is fixed at 1 (e.g. log trade costs in the
        constrained estimations of Yotov et al. 2016, ch. 2).
    missing
        ``"error"`` (default) raises on NaN in the used columns; ``"drop"`` drops those rows
        (they count in ``n_dropped``). Infinite values are always an error.
    tol, maxiter
        IRLS convergence tolerance (relative deviance change, in (0, 1)) and iteration cap
        (an int >= 1).
    fixef_tol
        Tolerance of the fixed-effect projections inside each IRLS step and of the recovery
        of the fixed effects afterwards. The default makes fitted flows add up to observed
        output and expenditure to about 1e-10 and reproduces the guide's two-stage trade
        costs (regressions on estimated pair effects) to 7 digits; pyfixest's own default,
        1e-6, moves those by up to 1e-5.
    separation_check
        Methods pyfixest uses to find observations separated (perfectly predicted zero
        flows), which are dropped before fitting: ``"fe"`` (fixed-effect groups whose flows
        are all zero) and ``"ir"`` (the iterative rectifier of Correia, Guimaraes and Zylkin
        2021, for separation by covariates). Both by default, as Stata's ``ppmlhdfe``. A
        covariate that separates has no finite estimate; so does one whose estimate keeps
        running away when the tolerance is tightened (checked whenever zero flows are fitted
        at almost nothing, so separation these methods miss is caught too).
    raise_on_failure
        ``True`` (default): a fit that did not converge or has a covariate with no finite
        estimate raises :class:`ConvergenceError`. ``False``: it is returned with
        ``converged=False``, the covariates in ``not_identified`` and NaN as their estimates.

    Returns
    -------
    GravityResults
        Coefficients, standard errors, covariance, fit statistics, fitted values and fixed
        effects.

    Raises
    ------
    DataValidationError
        Missing columns, negative or non-numeric flows, NaN values (with ``missing="error"``),
        infinite values, flows above 1e150 or covariates too large for the fixed-effect
        projections (see ``blocsim.estimation._checks``), fewer than 2 exporters or importers,
        no positive flow, no observation left after singleton and all-zero groups are dropped,
        a bad option value, or a covariate that is collinear with the fixed effects.
    ConvergenceError
        If IRLS does not converge within ``maxiter`` iterations, if the fixed-effect
        projections fail, or if a covariate has no finite estimate (separation), unless
        ``raise_on_failure=False``.

    Notes
    -----
    Standard errors follow Stata's ``ppml``/``ppmlhdfe`` conventions: robust errors scale
    the sandwich by N/(N-1), clustered errors by G/(G-1); neither counts the fixed effects
    as regressors. With them the Yotov et al. (2016) chapter-2 log's 0.0501494 for ``ln_DIST``
    is reproduced.

    Examples
    --------
    >>> from blocsim.data.samples import load_sample
    >>> res = estimate_gravity(load_sample("yotov2016_trade_without_borders_2006"),
    ...                        covariates=["ln_DIST", "CNTG", "INTL_BRDR"])
    >>> round(float(res.coefficients["INTL_BRDR"]), 3)
    -2.474
    """
    _check_option("fixed_effects", fixed_effects, FixedEffects)
    _check_option("pair", pair, PairKind)
    _check_option("domestic_pair", domestic_pair, DomesticPair)
    _check_option("domestic", domestic, Domestic)
    _check_option("missing", missing, Missing)
    separation = _check_separation(separation_check)
    tol, maxiter, fixef_tol = _check_numbers(tol, maxiter, fixef_tol, raise_on_failure)
    if isinstance(df, GravityData):
        if year is None and df.years:
            year = schema.YEAR
        df = df.frame
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(
            f"estimate_gravity(df=...): expected a pandas DataFrame or GravityData, got {type(df).__name__}"
        )
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    if not covariates:
        raise DataValidationError(
            "estimate_gravity(covariates=[]): give at least one cost covariate, e.g. covariates=['ln_DIST']"
        )
    uses_year = fixed_effects != "exporter-importer" or years is not None
    if uses_year and year is None:
        raise DataValidationError(
            f"estimate_gravity(fixed_effects={fixed_effects!r}, years={years!r}) needs the year column; "
            f"fix: pass year='<column>'"
        )

    named = {"flow": flow, "exporter": exporter, "importer": importer}
    named.update({f"covariates[{k}]": name for k, name in enumerate(covariates)})
    if year is not None:
        named["year"] = year
    if offset is not None:
        named["offset"] = offset
    cluster_column = None
    if cluster is not None:
        if cluster == "pair" and "pair" not in df.columns:
            cluster_column = None
        else:
            named["cluster"] = cluster
            cluster_column = cluster
    schema.require_columns(df, named, source=_SOURCE)

    table = df
    if years is not None:
        wanted = [int(y) for y in years]
        absent = sorted(set(wanted) - set(pd.unique(table[year]).tolist()))
        if absent:
            raise DataValidationError(
                f"estimate_gravity(years=...): years {absent} are not in column {year!r}; available: "
                f"{sorted(pd.unique(table[year]).tolist())}"
            )
        table = table[table[year].isin(wanted).to_numpy()]
    if domestic == "drop":
        table = table[(table[exporter] != table[importer]).to_numpy()]
    n_selected = len(table)

    work = _working_frame(table, named, covariates, cluster, cluster_column, source=_SOURCE)
    keep = _missing_mask(work, table, named, missing)
    work, sample = work[keep], table[keep]
    check_magnitudes(work, sample, named, covariates, source=_SOURCE)
    labels = _fixed_effect_columns(sample, exporter, importer, year, fixed_effects, pair, domestic_pair)
    singleton, fe_separated = check_sample(work["_y"].to_numpy(), labels, sample, named, source=_SOURCE)
    for k, values in enumerate(labels.values()):
        work[f"_fe{k}"] = values
    work["_row"] = np.flatnonzero(keep)

    x_names = [f"_x{k}" for k in range(len(covariates))]
    formula = f"_y ~ {' + '.join(x_names)} | {' + '.join(f'_fe{k}' for k in range(len(labels)))}"
    vcov: str | dict[str, str] = {"CRV1": "_cluster"} if cluster is not None else "hetero"
    fit_options = {
        "vcov": vcov, "has_offset": offset is not None, "separation_check": separation, "tol": tol,
        "maxiter": maxiter, "fixef_tol": fixef_tol, "names": dict(zip(x_names, covariates, strict=True)),
    }
    outcome = run_fepois(work, formula, **fit_options)  # type: ignore[arg-type]
    for message in outcome.unexplained:
        warnings.warn(f"estimate_gravity: pyfixest: {message}", UserWarning, stacklevel=2)
    estimated = set(outcome.model._coefnames) if outcome.model is not None else set()
    dropped = [covariates[k] for k, name in enumerate(x_names) if name not in estimated]
    by_covariates = outcome.n_separated > int(fe_separated.sum())
    if dropped and not by_covariates:
        raise DataValidationError(
            f"estimate_gravity: covariates {dropped} are collinear with the fixed effects and cannot be "
            f"estimated; fix: remove them or use fewer fixed effects"
        )

    show = [exporter, importer, *([year] if year is not None else []), flow]
    failure, not_identified = _diagnose(
        outcome, work, formula, table, keep, singleton | fe_separated, int(fe_separated.sum()), dropped,
        covariates, x_names, show, fit_options,
    )
    if failure is not None and raise_on_failure:
        raise ConvergenceError(failure, residual=float("nan"), iterations=maxiter, method="ppml-irls")
    return _results(
        outcome, table, covariates, x_names, labels, np.flatnonzero(keep), fixed_effects, flow, cluster,
        n_selected, fixef_tol, converged=failure is None, not_identified=tuple(not_identified),
    )


def _diagnose(
    outcome: FitOutcome,
    work: pd.DataFrame,
    formula: str,
    table: pd.DataFrame,
    keep: np.ndarray,
    pre_dropped: np.ndarray,
    n_fe_separated: int,
    dropped: list[str],
    covariates: list[str],
    x_names: list[str],
    show: list[str],
    fit_options: dict[str, Any],
) -> tuple[str | None, list[str]]:
    """Why the fit failed (``None`` if it did not) and the covariates with no finite estimate.

    ``pre_dropped`` marks the kept rows pyfixest drops before fitting (singletons and
    all-zero fixed-effect groups); ``dropped`` are covariates pyfixest left out, which here
    means that separation by covariates removed their variation.
    """
    rows = schema.format_rows
    separation = fit_options["separation_check"]
    if dropped:
        separated = np.zeros(len(table), dtype=bool)
        if outcome.model is not None:
            separated[np.flatnonzero(keep)[~pre_dropped]] = True
            separated[outcome.model._data["_row"].to_numpy()] = False
        where = f": {rows(table, separated, [*show, *dropped])}" if separated.any() else ""
        return (
            f"PPML has no finite estimate for {dropped}: with the fixed effects they perfectly predict the zero "
            f"flows of {outcome.n_separated - n_fe_separated} observation(s) (separation, found by "
            f"separation_check={list(separation)}{where}); the likelihood keeps rising as their coefficients run "
            f"to +/-infinity, so any value IRLS stops at is arbitrary; fix: drop them from covariates, drop the "
            f"separated observations (e.g. domestic='drop' when the zeros are domestic flows) or correct the flows"
        ), dropped
    if outcome.model is None:
        return None, []
    if "ir" not in separation or outcome.ir_incomplete:
        diverging, suspects = diverging_covariates(outcome, work, formula, x_names, **fit_options)
        if diverging:
            names = [covariates[x_names.index(name)] for name in diverging]
            suspect_mask = np.zeros(len(table), dtype=bool)
            suspect_mask[suspects] = True
            return (
                f"PPML has no finite estimate for {names}: their estimates keep running away when the IRLS "
                f"tolerance is tightened 100-fold, while zero flows are fitted at almost nothing in "
                f"{rows(table, suspect_mask, [*show, *names])}; this is separation that "
                f"separation_check={list(separation)} did not detect; fix: use separation_check=['fe', 'ir'], "
                f"drop those covariates or the separated observations"
            ), names
    # pyfixest sets ``_convergence`` only when IRLS met its tolerance
    if not getattr(outcome.model, "_convergence", False):
        return (
            f"PPML (pyfixest fepois) did not converge for {show[-1]} ~ {' + '.join(covariates)}; fix: raise "
            f"maxiter or check for covariates that separate zero flows"
        ), []
    return None, []


def _check_separation(separation_check: object) -> tuple[SeparationMethod, ...]:
    allowed = get_args(SeparationMethod)
    values = [separation_check] if isinstance(separation_check, str) else separation_check
    if not isinstance(values, (list, tuple)) or any(value not in allowed for value in values):
        raise DataValidationError(
            f"estimate_gravity(separation_check={separation_check!r}): not an allowed value; allowed: a list "
            f"of {list(allowed)}, e.g. ['fe', 'ir'] (the default)"
        )
    return tuple(dict.fromkeys(values))  # type: ignore[arg-type]


def _check_numbers(
    tol: object, maxiter: object, fixef_tol: object, raise_on_failure: object
) -> tuple[float, int, float]:
    """Validated ``(tol, maxiter, fixef_tol)`` as the Python types pyfixest requires."""
    def real(value: object) -> bool:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))

    if not (real(tol) and 0 < tol < 1):  # type: ignore[operator]
        raise DataValidationError(f"estimate_gravity(tol={tol!r}): allowed: a number in (0, 1), e.g. 1e-8")
    if not (real(fixef_tol) and 0 < fixef_tol < 1):  # type: ignore[operator]
        raise DataValidationError(
            f"estimate_gravity(fixef_tol={fixef_tol!r}): allowed: a number in (0, 1), e.g. 1e-10"
        )
    if not (isinstance(maxiter, (int, np.integer)) and not isinstance(maxiter, (bool, np.bool_)) and maxiter >= 1):
        raise DataValidationError(f"estimate_gravity(maxiter={maxiter!r}): allowed: an int >= 1, e.g. 50")
    if not isinstance(raise_on_failure, (bool, np.bool_)):
        raise DataValidationError(
            f"estimate_gravity(raise_on_failure={raise_on_failure!r}): allowed: True or False"
        )
    return float(tol), int(maxiter), float(fixef_tol)  # type: ignore[arg-type]


def _check_option(name: str, value: object, literal: object) -> None:
    allowed = get_args(literal)
    if value not in allowed:
        raise DataValidationError(
            f"estimate_gravity({name}={value!r}): not an allowed value; allowed: {list(allowed)}"
        )


def _working_frame(
    table: pd.DataFrame,
    named: dict[str, str],
    covariates: list[str],
    cluster: str | None,
    cluster_column: str | None,
    *,
    source: str,
) -> pd.DataFrame:
    """Copy the used columns under safe internal names (no formula parsing of user names)."""
    keys = [named["exporter"], named["importer"]] + ([named["year"]] if "year" in named else [])
    work = pd.DataFrame(index=table.index)
    flow = named["flow"]
    values = table[flow]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        schema.require_numeric(table, flow, source=source, keys=keys)
    negative = (values < 0).to_numpy()
    if negative.any():
        raise DataValidationError(
            f"{source}: column {flow!r} (flow) must be >= 0 for PPML but is negative in "
            f"{schema.format_rows(table, negative, [*keys, flow])}; fix: correct "
            f"those values"
        )
    work["_y"] = values.astype(float)
    for k, name in enumerate(covariates):
        column = table[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            schema.require_numeric(table, name, source=source, keys=keys)
        work[f"_x{k}"] = column.astype(float)
    if "offset" in named:
        work["_offset"] = table[named["offset"]].astype(float)
    if cluster is not None:
        if cluster_column is None:
            work["_cluster"] = (table[named["exporter"]].astype(str) + _SEP + table[named["importer"]].astype(str)).to_numpy()
        else:
            work["_cluster"] = table[cluster_column].to_numpy()
    return work


def _missing_mask(work: pd.DataFrame, table: pd.DataFrame, named: dict[str, str], missing: str) -> np.ndarray:
    """Rows without missing values (``missing="drop"``); raises on infinite values, and on
    missing ones with ``missing="error"``."""
    numeric = work.select_dtypes("number").to_numpy(dtype=float)
    columns = [c for c in named.values() if c in table.columns]
    infinite = np.isinf(numeric).any(axis=1)
    if infinite.any():
        raise DataValidationError(
            f"{_SOURCE}: infinite values in the used columns in {schema.format_rows(table, infinite, columns)}; "
            f"PPML needs finite flows and covariates (a log of zero gives -inf); fix: correct those values, "
            f"e.g. replace zeros before taking logs"
        )
    bad = np.isnan(numeric).any(axis=1)
    for column in (named["exporter"], named["importer"], named.get("year")):
        if column is not None:
            bad |= table[column].isna().to_numpy()
    if "_cluster" in work and not pd.api.types.is_numeric_dtype(work["_cluster"]):
        bad |= work["_cluster"].isna().to_numpy()
    if bad.any() and missing == "error":
        raise DataValidationError(
            f"{_SOURCE}: missing values in the used columns in {schema.format_rows(table, bad, columns)}; fix: "
            f"fill them (e.g. ln_MFN = 0 for domestic pairs), drop the rows, or pass missing='drop'"
        )
    return ~bad


def _fixed_effect_columns(
    table: pd.DataFrame,
    exporter: str,
    importer: str,
    year: str | None,
    fixed_effects: str,
    pair: str,
    domestic_pair: str,
) -> dict[str, np.ndarray]:
    """String labels of each fixed-effect dimension, keyed by dimension name."""
    exp = table[exporter].to_numpy().astype(str)
    imp = table[importer].to_numpy().astype(str)
    if fixed_effects == "exporter-importer":
        return {"exporter": exp, "importer": imp}
    yr = table[year].to_numpy().astype(str)
    labels = {
        "exporter_year": np.char.add(np.char.add(exp, _SEP), yr),
        "importer_year": np.char.add(np.char.add(imp, _SEP), yr),
    }
    if fixed_effects.endswith("+pair"):
        first, second = exp, imp
        if pair == "symmetric":
            first, second = np.where(exp <= imp, exp, imp), np.where(exp <= imp, imp, exp)
        pair_labels = np.char.add(np.char.add(first, _SEP), second).astype(object)
        if domestic_pair == "shared":
            pair_labels[exp == imp] = "domestic"
        labels["pair"] = pair_labels
    return labels


def _results(
    outcome: FitOutcome,
    table: pd.DataFrame,
    covariates: list[str],
    x_names: list[str],
    labels: dict[str, np.ndarray],
    keep_rows: np.ndarray,
    fixed_effects: str,
    flow: str,
    cluster: str | None,
    n_selected: int,
    fixef_tol: float,
    *,
    converged: bool,
    not_identified: tuple[str, ...],
) -> GravityResults:
    """The result object; covariates in ``not_identified`` get NaN estimates and covariances."""
    model = outcome.model
    rename = dict(zip(x_names, covariates, strict=True))
    coefficients = pd.Series(np.nan, index=pd.Index(covariates), name="coefficient")
    vcov = pd.DataFrame(np.nan, index=coefficients.index, columns=coefficients.index)
    fitted = pd.Series(np.nan, index=table.index, name=f"{flow}_fitted")
    n_obs = 0
    effects: Any = functools.partial(_no_effects, table.index)
    if model is not None:
        estimated = model.coef().rename(index=rename)
        coefficients[estimated.index] = estimated.to_numpy(dtype=float)
        n_obs = int(model._N)
        vcov_matrix = np.asarray(model._vcov, dtype=float)
        if cluster is None:
            vcov_matrix = vcov_matrix * n_obs / (n_obs - 1.0)  # Stata ppml's robust small-sample factor
        vcov.loc[estimated.index, estimated.index] = vcov_matrix
        used_rows = model._data["_row"].to_numpy()
        fitted.iloc[used_rows] = np.asarray(model._Y_hat_response, dtype=float).ravel()  # IRLS fit at convergence
        effects = functools.partial(_recover_effects, model, table.index, labels, keep_rows, used_rows, fixef_tol)
    coefficients[list(not_identified)] = np.nan
    vcov.loc[list(not_identified), :] = np.nan
    vcov.loc[:, list(not_identified)] = np.nan
    std_errors = pd.Series(np.sqrt(np.diag(vcov.to_numpy(dtype=float))), index=coefficients.index, name="std_error")

    formula = f"{flow} ~ {' + '.join(covariates)} | {' + '.join(labels)}"
    return GravityResults(
        coefficients=coefficients,
        std_errors=std_errors,
        vcov=vcov,
        n_obs=n_obs,
        n_dropped=n_selected - n_obs,
        converged=converged,
        deviance=float(model.deviance) if model is not None else float("nan"),
        pseudo_r2=float(model._pseudo_r2) if model is not None else float("nan"),
        vcov_type="robust" if cluster is None else f"cluster({cluster})",
        fixed_effects=fixed_effects,
        formula=formula,
        fitted=fitted,
        _effects=functools.cache(effects),
        n_separated=outcome.n_separated,
        not_identified=not_identified,
        fit_warnings=outcome.messages,
    )


def _no_effects(index: pd.Index) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """Fixed effects of a fit pyfixest could not run (no estimable covariate): none."""
    return {}, pd.DataFrame(index=index)


def _recover_effects(
    model: Any,
    index: pd.Index,
    labels: dict[str, np.ndarray],
    keep_rows: np.ndarray,
    used_rows: np.ndarray,
    fixef_tol: float,
) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """Fixed effects by level and by input row (log scale; NaN for rows not used)."""
    raw = model.fixef(atol=fixef_tol, btol=fixef_tol)
    effects: dict[str, pd.Series] = {}
    row_effects = pd.DataFrame(index=index)
    used_mask = np.zeros(len(index), dtype=bool)
    used_mask[used_rows] = True
    for k, (name, row_labels) in enumerate(labels.items()):
        # pyfixest normalises one level of all but the first dimension to zero and omits it
        used_levels = pd.unique(np.asarray(row_labels, dtype=object)[used_mask[keep_rows]])
        level_values = dict.fromkeys(map(str, used_levels), 0.0)
        level_values.update({str(level): float(value) for level, value in raw[f"C(_fe{k})"].items()})
        by_row = np.full(len(index), np.nan)
        by_row[keep_rows] = pd.Series(row_labels).map(level_values).to_numpy(dtype=float)
        row_effects[name] = by_row
        series = pd.Series(level_values, dtype=float, name=name)
        if name.endswith("_year"):
            parts = [label.split(_SEP) for label in series.index]
            series.index = pd.MultiIndex.from_tuples([(c, int(y)) for c, y in parts], names=["country", "year"])
        else:
            series.index = pd.Index(series.index, name="country" if name != "pair" else "pair")
        effects[name] = series.sort_index()
    return effects, row_effects
