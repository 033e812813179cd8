"""Public entry point of the one-sector structural-gravity GE engine: :func:`solve_ge`.

``solve_ge`` validates a tidy baseline table, builds the baseline (observed flows, or fitted
flows from estimated trade costs), the trade-cost shock and then calls the batched array
core :func:`blocsim.equilibrium.equations.solve_counterfactual` (or a compatibility
algorithm from :mod:`blocsim.equilibrium.compat`). Monte Carlo code that solves many draws
at once should call the array core directly with arrays of shape ``(D, N, N)``.
"""

from __future__ import annotations

from typing import Any, get_args

import numpy as np
import pandas as pd

from blocsim.equilibrium.baseline import (
    check_flows,
    coefficient_vector,
    country_index,
    fitted_flows,
    log_trade_cost,
    pair_codes,
    pair_matrix,
)
from blocsim.equilibrium.compat import solve_gegravity, solve_yotov
from blocsim.equilibrium.diagnostics import (
    Part,
    finite_residual,
    nonfinite_columns,
    raise_unless_allowed,
    summarise,
    within_tolerance,
)
from blocsim.equilibrium.equations import (
    CounterfactualArrays,
    country_changes,
    equilibrium_residuals,
    solve_counterfactual,
)
from blocsim.equilibrium.options import (
    SIGMA_RANGE,
    BaselineMethod,
    Closure,
    Compat,
    SolverOptions,
    check_choice,
    check_elasticity,
)
from blocsim.equilibrium.results import COUNTRY_COLUMNS, FLOW_COLUMNS, GEResult
from blocsim.errors import DataValidationError


def _check_sigma(sigma: object) -> float:
    return check_elasticity(sigma, "sigma", SIGMA_RANGE,
                            "Yotov et al. (2016) use 7, gegravity's example 5 (1 < sigma; near 1 every "
                            "source is essential and prices explode).")


def _shock_matrix(
    shock: pd.DataFrame, countries: tuple[str, ...], exporter: str, importer: str
) -> np.ndarray:
    """Multiplicative factors on t^(1-sigma) from a (exporter, importer, factor) table; missing pairs = 1."""
    if not isinstance(shock, pd.DataFrame):
        raise DataValidationError(
            f"argument 'shock': got {type(shock).__name__}; allowed: a DataFrame with columns "
            f"{exporter!r}, {importer!r}, 'factor'."
        )
    exp_col = exporter if exporter in shock.columns else "exporter"
    imp_col = importer if importer in shock.columns else "importer"
    codes = pair_codes(shock, countries, exporter=exp_col, importer=imp_col, argument="shock", complete=False)
    factor = pair_matrix(shock, "factor", codes, len(countries), argument="shock", fill=1.0)
    if np.any(factor < 0):
        raise DataValidationError(
            "argument 'shock', column 'factor': negative factors; allowed: factor >= 0 "
            "(a change in t^(1-sigma); 0 is a prohibitive barrier). Fix: use exp(beta * change)."
        )
    own = np.flatnonzero(np.diagonal(factor) == 0)
    if own.size:
        raise DataValidationError(
            f"argument 'shock', column 'factor': 0 on the domestic flow of {[countries[k] for k in own[:5]]} "
            "(exporter == importer), a ban on a country's own goods; allowed: factors > 0 on domestic pairs. "
            "Fix: drop those rows (a ban closes imports from other origins)."
        )
    return factor


def _cost_change(
    baseline_df: pd.DataFrame,
    codes: np.ndarray,
    counterfactual: pd.DataFrame | None,
    coefficients: dict[str, float] | None,
    countries: tuple[str, ...],
    exporter: str,
    importer: str,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Baseline log costs (or None) and the cost change exp((z' - z) . beta) from coefficients."""
    n = len(countries)
    if coefficients is None:
        if counterfactual is not None:
            raise DataValidationError(
                "argument 'counterfactual' needs 'cost_coefficients' to turn changed cost columns into a "
                "trade-cost change. Fix: pass cost_coefficients={'variable': beta, ...} or use shock=."
            )
        return None, np.ones((n, n))
    log_bln = log_trade_cost(baseline_df, coefficients, codes, n, argument="baseline_df")
    if counterfactual is None:
        return log_bln, np.ones((n, n))
    if not isinstance(counterfactual, pd.DataFrame):
        raise DataValidationError(
            f"argument 'counterfactual': got {type(counterfactual).__name__}; allowed: a DataFrame like "
            "baseline_df with some cost columns changed."
        )
    cf_codes = pair_codes(counterfactual, countries, exporter=exporter, importer=importer, argument="counterfactual")
    log_cfl = log_trade_cost(counterfactual, coefficients, cf_codes, n, argument="counterfactual")
    return log_bln, np.exp(log_cfl - log_bln)


def _country_output(
    baseline_df: pd.DataFrame, column: str, codes: np.ndarray, countries: tuple[str, ...], axis: int, argument: str
) -> np.ndarray:
    """One value per country from a column constant by exporter (``axis=1``) or importer (``axis=0``)."""
    matrix = pair_matrix(baseline_df, column, codes, len(countries), argument=argument)
    high, low = matrix.max(axis=axis), matrix.min(axis=axis)
    varies = np.abs(high - low) > 1e-9 * np.abs(high)
    if varies.any():
        bad = [countries[k] for k in np.nonzero(varies)[0][:5]]
        key = "exporter" if axis == 1 else "importer"
        raise DataValidationError(
            f"argument {argument!r}: column {column!r} varies within countries {bad}; allowed: one value per "
            f"{key}. Fix: keep one year or pass the right column."
        )
    if not np.all(high > 0):
        bad = [countries[k] for k in np.nonzero(~(high > 0))[0][:5]]
        raise DataValidationError(
            f"argument {argument!r}: column {column!r} is zero or negative for {bad}; allowed: positive values."
        )
    return high


def _country_frame(countries: tuple[str, ...], changes: dict[str, np.ndarray]) -> pd.DataFrame:
    data: dict[str, Any] = {"country": list(countries)}
    data.update({name: changes[name] for name in COUNTRY_COLUMNS[1:]})
    return pd.DataFrame(data, columns=list(COUNTRY_COLUMNS))


def _flow_frame(countries: tuple[str, ...], observed: np.ndarray, arrays: CounterfactualArrays,
                cost_change: np.ndarray) -> pd.DataFrame:
    n = len(countries)
    names = np.asarray(countries, dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        data = {
            "exporter": np.repeat(names, n),
            "importer": np.tile(names, n),
            "trade_observed": observed.ravel(),
            "trade_baseline": arrays.flows_baseline.ravel(),
            "trade_conditional": arrays.flows_conditional.ravel(),
            "trade_counterfactual": arrays.flows_counterfactual.ravel(),
            "trade_cond_pct": ((arrays.flows_conditional / arrays.flows_baseline - 1.0) * 100.0).ravel(),
            "trade_pct": ((arrays.flows_counterfactual / arrays.flows_baseline - 1.0) * 100.0).ravel(),
            "cost_change": np.broadcast_to(cost_change, (n, n)).ravel(),
        }
    return pd.DataFrame(data, columns=list(FLOW_COLUMNS))


COMPAT_METHODS = {
    "yotov": "yotov-geppml (the authors' Stata loop, stopped by its own rule -- sd and max of the change in "
             "price changes <= 0.01 -- before the equilibrium; reproduces the published numbers)",
    "gegravity": "gegravity-0.3 (one-step update of factory-gate prices with baseline output shares kept in "
                 "the resistance equations, not an equilibrium; reproduces gegravity 0.3's numbers)",
}
"""``method`` of the compatibility modes: they stop before the equilibrium by design."""

_FINITE_COLUMNS = tuple(c for c in COUNTRY_COLUMNS[1:] if c not in (
    "exports_pct", "imports_pct", "exports_cond_pct", "imports_cond_pct", "intranational_pct"))
"""Country columns that are finite in every sound result (the others are NaN when their baseline is 0)."""


def _nonfinite(frame: pd.DataFrame, flows: pd.DataFrame) -> list[str]:
    """Reported columns with NaN/inf values that have no zero baseline to excuse them."""
    found = nonfinite_columns(frame, _FINITE_COLUMNS)
    for column, base in (("exports_pct", "exports_baseline"), ("imports_pct", "imports_baseline"),
                         ("exports_cond_pct", "exports_baseline"), ("imports_cond_pct", "imports_baseline")):
        found += nonfinite_columns(frame[frame[base] > 0], [column])
    domestic = flows[flows["exporter"] == flows["importer"]].set_index("exporter")["trade_baseline"]
    found += nonfinite_columns(frame[frame["country"].map(domestic).to_numpy() > 0], ["intranational_pct"])
    return found


def _diagnostics(arrays: CounterfactualArrays, nonfinite: list[str], compat: str | None,
                 options: SolverOptions | None) -> dict[str, Any]:
    """Common diagnostics (:mod:`blocsim.equilibrium.diagnostics`) of a one-sector solve.

    ``residual`` is the equilibrium residual recomputed from the returned flows (conditional
    and full endowment); ``inner_converged`` and ``inner_max_residual`` report the inner
    solves (multilateral resistances, market clearing) on their own. Compatibility modes
    stop before the equilibrium by design: ``converged`` is then False unless the
    equilibrium happens to hold, and ``method`` says why.
    """
    recs = arrays.records
    cond_res, full_res = (finite_residual(r) for r in equilibrium_residuals(arrays))
    cond_rec = recs[1] if compat == "yotov" else recs[0]
    parts = [Part("conditional", cond_rec.converged and within_tolerance(cond_res, options), cond_rec.iterations,
                  cond_res, f"resistances-{cond_rec.method}")]
    if compat is None:
        full_rec = recs[1]
        parts.append(Part("full", full_rec.converged and within_tolerance(full_res, options), full_rec.iterations,
                          full_res, f"market-clearing-{full_rec.method}"))
        method = f"textbook-{full_rec.method}"
        note = ""
    else:
        rounds = arrays.iterations if compat == "yotov" else 1
        parts.append(Part("full", within_tolerance(full_res, options), rounds, full_res, compat))
        method = COMPAT_METHODS[compat]
        note = (f"compat={compat!r} stops before the equilibrium by design (full-endowment market-clearing "
                f"residual {full_res:.2e}); use compat=None for the converged fixed point")
    return summarise(
        parts, method=method, nonfinite=nonfinite, note=note,
        inner_converged=all(r.converged for r in recs),
        inner_max_residual=max(r.max_residual for r in recs),
        solves=[{"iterations": r.iterations, "max_residual": r.max_residual, "converged": r.converged,
                 "method": r.method} for r in recs],
    )


def solve_ge(
    baseline_df: pd.DataFrame,
    *,
    exporter: str = "exporter",
    importer: str = "importer",
    flow: str = "trade",
    sigma: float,
    shock: pd.DataFrame | None = None,
    cost_coefficients: object | None = None,
    counterfactual: pd.DataFrame | None = None,
    baseline_method: BaselineMethod = "estimated",
    closure: Closure = "ratio",
    reference_importer: str | None = None,
    compat: Compat | None = None,
    output: str | None = None,
    expenditure: str | None = None,
    options: SolverOptions | None = None,
) -> GEResult:
    """Solve a one-sector structural-gravity counterfactual (conditional and full endowment).

    Parameters
    ----------
    baseline_df : pandas.DataFrame
        Square pair table (one year): every (exporter, importer) pair including domestic
        flows, the flow column (USD millions) and, for ``cost_coefficients``, the cost columns.
    exporter, importer, flow : str
        Column names.
    sigma : float
        Elasticity of substitution, in :data:`~blocsim.equilibrium.options.SIGMA_RANGE` ([1.1, 501]).
    shock : pandas.DataFrame, optional
        Columns ``exporter, importer, factor``: multiplies :math:`t^{1-\\sigma}` of the listed
        pairs (missing pairs: 1). Combines with a coefficient-based change.
    cost_coefficients : mapping, Series or estimation result, optional
        :math:`\\beta` of the cost variables, :math:`t^{1-\\sigma}=\\exp(z'\\beta)`. Required by
        ``baseline_method="estimated"``; with ``"observed"`` only together with ``counterfactual``
        (otherwise it would have no effect, which is an error).
    counterfactual : pandas.DataFrame, optional
        ``baseline_df`` with some cost columns changed; the shock is
        :math:`\\exp((z'-z)'\\beta)`.
    baseline_method : {"estimated", "observed"}
        Fitted flows from estimated costs (Yotov et al.; gegravity) or observed flows (exact
        hat algebra).
    closure : {"ratio", "level"}
        Expenditure/output ratio fixed (Yotov et al.) or deficits fixed in levels of world
        nominal output (Dekle, Eaton and Kortum 2007; Stata ``ge_gravity``).
    reference_importer : str, optional
        Country whose inward resistance (consumer price index) is the numeraire of the reported
        nominal values: its ``imr_pct`` is 0 under both closures. Real GDP and welfare changes
        do not depend on it. ``None``: world nominal output is the numeraire.
    compat : {None, "yotov", "gegravity"}
        Full-endowment algorithm: ``None`` (default) solves the textbook fixed point to
        ``options.tol``; ``"yotov"`` reproduces the authors' Stata loop (published numbers);
        ``"gegravity"`` reproduces gegravity 0.3's one-step update. Both stop before the
        equilibrium by design: the result is returned (no error) with
        ``diagnostics["converged"] = False``, the equilibrium ``residual`` and a ``method``
        that says so; ``inner_converged``/``inner_max_residual`` report their inner solves.
    output, expenditure : str, optional
        Columns with output ``Y`` (constant by exporter) and expenditure ``E`` (constant by
        importer) for the estimated baseline; default: row and column sums of the flows.
    options : SolverOptions, optional
        Solver settings (tolerance, iterations, method).

    Returns
    -------
    GEResult
        ``.countries``: one row per country, ``*_pct`` percent changes ``(CFL - BLN) / BLN * 100``
        (full-endowment and conditional ``*_cond_pct``) plus baseline/counterfactual levels
        in USD millions; ``.flows``: one row per (exporter, importer) pair, observed, baseline,
        conditional and counterfactual trade in USD millions and ``cost_change`` (a factor);
        ``.diagnostics``: ``converged``, ``iterations``, ``residual`` (the equilibrium residual
        recomputed from the returned flows, conditional and full endowment; ``max_residual`` is
        the same number), ``method``, ``parts``, ``failed``, ``message`` (see
        :mod:`blocsim.equilibrium.diagnostics`).

    Raises
    ------
    DataValidationError
        Bad arguments or data (message names the argument, field, value and a fix).
    ConvergenceError
        A solve did not reach its tolerance, or a reported number is not finite (unless
        ``options.raise_on_failure`` is False: then ``diagnostics["converged"]`` is False).

    Examples
    --------
    >>> res = solve_ge(df, sigma=7, cost_coefficients={"ln_DIST": -0.79, "INTL_BRDR": -2.47},
    ...                counterfactual=df.assign(INTL_BRDR=0), reference_importer="DEU")  # doctest: +SKIP
    >>> res.countries[["country", "real_gdp_pct"]]  # doctest: +SKIP
    """
    if not isinstance(baseline_df, pd.DataFrame):
        raise DataValidationError(
            f"argument 'baseline_df': got {type(baseline_df).__name__}; allowed: a pandas DataFrame."
        )
    sig = _check_sigma(sigma)
    check_choice(baseline_method, get_args(BaselineMethod), "baseline_method")
    check_choice(closure, get_args(Closure), "closure")
    if compat is not None:
        check_choice(compat, get_args(Compat), "compat", "Use None for the converged textbook fixed point.")
        if closure != "ratio":
            raise DataValidationError(
                f"argument 'closure': got {closure!r} with compat={compat!r}; allowed: 'ratio' (both published "
                "implementations hold E/Y fixed). Fix: drop compat or use closure='ratio'."
            )
    if options is not None and not isinstance(options, SolverOptions):
        raise DataValidationError(
            f"argument 'options': got {type(options).__name__}; allowed: blocsim.equilibrium.SolverOptions(...)."
        )
    if baseline_method == "observed" and (output or expenditure):
        raise DataValidationError(
            f"arguments 'output'/'expenditure': got {output!r}/{expenditure!r} with baseline_method='observed'; "
            "the observed baseline takes output and expenditure from the flows. Fix: drop them or use 'estimated'."
        )
    if baseline_method == "observed" and cost_coefficients is not None and counterfactual is None:
        raise DataValidationError(
            "argument 'cost_coefficients': given with baseline_method='observed' and no 'counterfactual', so it "
            "would have no effect (the observed baseline needs no trade-cost levels). Fix: drop it, pass "
            "counterfactual= (changed cost columns), or use baseline_method='estimated'."
        )
    countries = country_index(baseline_df, exporter, importer, "baseline_df")
    codes = pair_codes(baseline_df, countries, exporter=exporter, importer=importer, argument="baseline_df")
    observed = pair_matrix(baseline_df, flow, codes, len(countries), argument="baseline_df")
    check_flows(observed, countries, "baseline_df")
    reference: int | None = None
    if reference_importer is not None:
        if reference_importer not in countries:
            raise DataValidationError(
                f"argument 'reference_importer': got {reference_importer!r}; allowed: one of the baseline's "
                f"countries {list(countries)[:12]}{'...' if len(countries) > 12 else ''}."
            )
        reference = countries.index(reference_importer)
    coefficients = None if cost_coefficients is None else coefficient_vector(cost_coefficients)
    log_bln, change = _cost_change(baseline_df, codes, counterfactual, coefficients, countries, exporter, importer)
    if shock is not None:
        change = change * _shock_matrix(shock, countries, exporter, importer)

    settings: dict[str, Any] = {
        "sigma": sig, "baseline_method": baseline_method, "closure": closure, "compat": compat,
        "reference_importer": reference_importer, "countries": len(countries),
    }
    if baseline_method == "estimated":
        if log_bln is None:
            raise DataValidationError(
                "argument 'cost_coefficients': required by baseline_method='estimated' (the baseline flows are "
                "fitted from t^(1-sigma) = exp(z'beta)). Fix: pass cost_coefficients or baseline_method='observed'."
            )
        y = (_country_output(baseline_df, output, codes, countries, 1, "output") if output
             else observed.sum(axis=1))
        e = (_country_output(baseline_df, expenditure, codes, countries, 0, "expenditure") if expenditure
             else observed.sum(axis=0))
        fitted = fitted_flows(np.exp(log_bln), y, e, reference=reference, options=options)
        base = fitted.flows
        settings["baseline_resistance_iterations"] = fitted.record.iterations
    else:
        base = observed
    if compat == "yotov":
        arrays = solve_yotov(base, change, sigma=sig, reference=reference, options=options)
    elif compat == "gegravity":
        arrays = solve_gegravity(base, change, sigma=sig, reference=reference, options=options)
    else:
        arrays = solve_counterfactual(base, change, sigma=sig, reference=reference, closure=closure, options=options)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # non-finite -> reported, not warned
        country_frame = _country_frame(countries, country_changes(arrays))
    flow_frame = _flow_frame(countries, observed, arrays, change)
    nonfinite = _nonfinite(country_frame, flow_frame)
    diagnostics = _diagnostics(arrays, nonfinite, compat, options)
    if compat is None or nonfinite:  # compatibility modes stop early by design: no error for that
        raise_unless_allowed(diagnostics, options, model="solve_ge")
    return GEResult(countries=country_frame, flows=flow_frame, diagnostics=diagnostics, settings=settings)
